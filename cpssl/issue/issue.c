#include "cpssl/issue/issue.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cpssl/acme/order.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/sitelock.h"
#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/solvers/solvers.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/settings.h"
#include "cpssl/store/ssl_state.h"

#define VALIDATION_TIMEOUT_MS 120000
#define FINALIZE_TIMEOUT_MS 120000

/* ---- DNS provider settings ---------------------------------------------- */

static const cps_cfg_id dns_keys[] = {
	CPS_CFG_DNS_PROVIDER, CPS_CFG_DNS_RFC2136_SERVER, CPS_CFG_DNS_RFC2136_KEY_NAME,
	CPS_CFG_DNS_RFC2136_KEY_ALGORITHM, CPS_CFG_DNS_RFC2136_KEY_SECRET,
	CPS_CFG_DNS_HOOK, CPS_CFG_DNS_AUTHORITATIVE_NS, CPS_CFG_DNS_RESOLVERS,
};
#define NDNS (sizeof(dns_keys) / sizeof(dns_keys[0]))

int cps_dns_settings_load(cps_store *st, const cps_config *cfg, long site_id,
			  cps_dns_settings *out, cps_err *err)
{
	char *v[NDNS] = { 0 };
	cps_source src;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < NDNS; i++)
		if (cps_setting_get(st, cfg, site_id, dns_keys[i], &v[i], &src, err) != 0) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			return -1;
		}
	out->provider = v[0];
	out->rfc2136_server = v[1];
	out->key_name = v[2];
	out->key_algorithm = v[3];
	out->key_secret = v[4];
	out->hook = v[5];
	out->authoritative_ns = v[6];
	out->resolvers = v[7];
	return 0;
}

void cps_dns_settings_free(cps_dns_settings *s)
{
	free((char *)s->provider);
	free((char *)s->rfc2136_server);
	free((char *)s->key_name);
	free((char *)s->key_algorithm);
	free((char *)s->key_secret);
	free((char *)s->hook);
	free((char *)s->authoritative_ns);
	free((char *)s->resolvers);
	memset(s, 0, sizeof(*s));
}

static int dns_provider(cps_session *s, long site_id, cps_dns_provider **out,
			cps_err *err)
{
	cps_dns_settings ds;
	int rc;

	*out = NULL;
	if (cps_dns_settings_load(s->st, s->cfg, site_id, &ds, err) != 0)
		return -1;
	rc = cps_dns_provider_new(&ds, out, err);
	cps_dns_settings_free(&ds);
	return rc;
}

/* ---- cleanup of earlier runs ---------------------------------------------- */

int cps_issue_cleanup(cps_session *s, long site_id, cps_err *err)
{
	cps_challenge_row *rows = NULL;
	cps_dns_provider *dns = NULL;
	size_t n = 0;
	int rc = 0;

	if (cps_challenge_published(s->st, site_id, &rows, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cps_err e;

		if (strncmp(rows[i].published, "dns:", 4) == 0 && dns == NULL &&
		    dns_provider(s, site_id, &dns, &e) != 0) {
			cps_warn("cannot remove a leftover dns-01 record for %s: %s",
				 rows[i].name, e.msg);
			continue;
		}
		if (cps_solver_unpublish(rows[i].published, dns, &e) != 0) {
			cps_warn("cannot remove a leftover challenge response for %s: %s",
				 rows[i].name, e.msg);
			rc = -1;
			continue;
		}
		cps_debug("removed a leftover challenge response for %s", rows[i].name);
		if (cps_challenge_set_published(s->st, rows[i].url, NULL, err) != 0) {
			rc = -1;
			break;
		}
	}
	cps_dns_provider_free(dns);
	cps_challenge_rows_free(rows, n);
	if (rc != 0 && err && err->msg[0] == '\0')
		cps_fail(err, CPS_E_IO, "some leftover challenge responses could not be removed");
	return rc;
}

/* ---- one issuance ------------------------------------------------------------ */

typedef struct pending {
	char *name, *ch_url, *tag, *record, *value, *keyauth;
	cps_mech mech;
	bool published;
} pending;

typedef struct run {
	cps_session *s;
	const cps_issue_req *req;
	const char **names;
	char *name_set;
	cps_acme_order order;
	long long order_id;
	pending *p;
	size_t np;
	cps_dns_provider *dns;
	char *http_root;
	EVP_PKEY *key;          /* the certificate's key */
} run;

static cps_name_plan *plan_of(const cps_issue_req *req, const char *name)
{
	for (size_t i = 0; i < req->n; i++)
		if (strcasecmp(req->plan[i].name, name) == 0)
			return &req->plan[i];
	return NULL;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *join_names(const char *const *names, size_t n)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; out && i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
	}
	return out;
}

char *cps_name_set(const char *const *names, size_t n)
{
	const char **v = malloc((n ? n : 1) * sizeof(*v));
	char *out;

	if (v == NULL)
		return NULL;
	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), by_str);
	out = join_names(v, n);
	free(v);
	return out;
}

/* Fetch the authorizations, choose a challenge per name, record them. */
static int prepare(run *r, cps_err *err)
{
	cps_acme *acme = r->s->acme;

	r->p = calloc(r->order.nauthz, sizeof(*r->p));
	if (r->p == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->order.nauthz; i++) {
		const cps_acme_challenge *ch;
		cps_acme_authz az;
		pending *p;
		cps_mech mech;
		int rc = -1;

		if (cps_acme_authz_get(acme, r->order.authzs[i], &az, err) != 0)
			return -1;
		if (strcmp(az.status, "valid") == 0) {
			const char *how = "the CA";

			for (size_t j = 0; j < az.nch; j++)
				if (az.ch[j].status && strcmp(az.ch[j].status, "valid") == 0)
					how = strcmp(az.ch[j].type, "dns-01") == 0 ? "dns"
					      : strcmp(az.ch[j].type, "http-01") == 0 ? "http" : az.ch[j].type;
			cps_debug("%s already resolved by %s", az.name, how);
			cps_acme_authz_free(&az);
			continue;
		}
		if (plan_of(r->req, az.name) == NULL) {
			cps_fail(err, CPS_E_PROTO, "the CA asked to authorize %s, which was not requested", az.name);
			goto next;
		}
		mech = plan_of(r->req, az.name)->mech;
		if (strcmp(az.status, "pending") != 0) {
			cps_fail(err, CPS_E_CA, "%s: the authorization is %s", az.name, az.status);
			goto next;
		}
		ch = cps_acme_authz_challenge(&az, cps_mech_challenge(mech));
		if (ch == NULL) {
			cps_fail(err, CPS_E_CA, "%s: the CA offers no %s challenge", az.name,
				 cps_mech_challenge(mech));
			goto next;
		}
		if (ch->token == NULL) {
			cps_fail(err, CPS_E_PROTO, "%s: the CA's %s challenge has no usable token",
				 az.name, ch->type);
			goto next;
		}
		p = &r->p[r->np];
		p->name = strdup(az.name);
		p->ch_url = strdup(ch->url);
		p->mech = mech;
		if (p->name == NULL || p->ch_url == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto next;
		}
		r->np++;
		if (cps_acme_key_authorization(acme, ch->token, &p->keyauth, err) != 0)
			goto next;
		if (mech == CPS_MECH_HTTP) {
			if (cps_http01_path(r->http_root, ch->token, &p->record, err) != 0)
				goto next;
			p->value = strdup(p->keyauth);
			p->tag = cps_solver_file_tag(p->record);
		} else {
			char rec[300];

			if (cps_dns01_record(az.name, rec, sizeof(rec), err) != 0 ||
			    cps_acme_dns_value(p->keyauth, &p->value, err) != 0)
				goto next;
			p->record = strdup(rec);
			p->tag = cps_solver_dns_tag(rec, p->value);
		}
		if (p->value == NULL || p->tag == NULL || p->record == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto next;
		}
		rc = cps_challenge_put(r->s->st, r->order_id, az.name, az.url, ch->type,
				       ch->url, ch->token, ch->status ? ch->status : "pending", err);
next:
		cps_acme_authz_free(&az);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int publish(run *r, cps_err *err)
{
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];
		int rc;

		cps_debug("SSL challenge attempt: %s (%s)", p->name, cps_mech_name(p->mech));
		/* recorded first: a crash from here on leaves a trace to clean up */
		if (cps_challenge_set_published(r->s->st, p->ch_url, p->tag, err) != 0)
			return -1;
		p->published = true;
		if (p->mech == CPS_MECH_HTTP) {
			rc = cps_http01_publish(p->record, p->keyauth, err);
		} else {
			cps_debug("Setting DNS TXT record %s with value %s", p->record, p->value);
			rc = cps_dns_txt_add(r->dns, p->record, p->value, err);
		}
		if (rc != 0)
			return cps_err_prefix(err, "%s", p->name);
	}
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];
		long wait = cps_config_int(r->s->cfg, CPS_CFG_LE_DNS_VALIDATION_WAIT);

		if (p->mech == CPS_MECH_DNS &&
		    cps_dns_wait_txt(r->dns, p->record, p->value, (int)wait, err) != 0)
			return cps_err_prefix(err, "%s", p->name);
	}
	return 0;
}

/* Remove every published response; failures are warnings (the record stays
 * marked in the store and the next run removes it). */
static void unpublish(run *r)
{
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];
		cps_err e;

		if (!p->published)
			continue;
		if (cps_solver_unpublish(p->tag, r->dns, &e) != 0) {
			cps_warn("%s: %s", p->name, e.msg);
			continue;
		}
		if (cps_challenge_set_published(r->s->st, p->ch_url, NULL, &e) != 0)
			cps_warn("%s", e.msg);
		p->published = false;
	}
}

/* After an invalid order: which names failed, and why in the CA's words.
 * Names whose plan allows the other mechanism are switched to it and
 * *retry set; the rest go into ERR's message. */
static int failed_names(run *r, bool may_retry, bool *retry, cps_err *err)
{
	char msg[sizeof(err->msg)] = "";

	*retry = false;
	for (size_t i = 0; i < r->order.nauthz; i++) {
		cps_acme_authz az;
		cps_name_plan *plan;
		cps_err e;

		if (cps_acme_authz_get(r->s->acme, r->order.authzs[i], &az, &e) != 0)
			continue;
		plan = plan_of(r->req, az.name);
		for (size_t j = 0; strcmp(az.status, "invalid") == 0 && j < az.nch; j++) {
			size_t used = strlen(msg);

			if (az.ch[j].error == NULL)
				continue;
			cps_debug("%s challenge failed: %s: %s",
				  strcmp(az.ch[j].type, "dns-01") == 0 ? "dns" : "http",
				  az.name, az.ch[j].error);
			if (may_retry && plan && plan->can_fallback) {
				plan->mech = plan->mech == CPS_MECH_HTTP ? CPS_MECH_DNS : CPS_MECH_HTTP;
				plan->can_fallback = false;
				*retry = true;
				continue;
			}
			snprintf(msg + used, sizeof(msg) - used, "%s%s: the %s challenge failed: %s",
				 used ? "; " : "", az.name, az.ch[j].type, az.ch[j].error);
		}
		cps_acme_authz_free(&az);
	}
	if (*retry && msg[0] == '\0')
		return 0;
	*retry = false;
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "the order became %s: %s", r->order.status,
			 r->order.error ? r->order.error : "the CA gave no reason");
	cps_fail(err, CPS_E_CA, "%s", msg);
	if (err)
		err->input = true;
	return -1;
}

static bool same_name_set(const cps_cert_info *info, const cps_issue_req *req)
{
	if (info->nsans != req->n)
		return false;
	for (size_t i = 0; i < req->n; i++) {
		bool found = false;

		for (size_t j = 0; j < info->nsans && !found; j++)
			found = strcasecmp(info->sans[j], req->plan[i].name) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Check what the CA sent, then deploy it everywhere it is served. */
static int keep(run *r, const char *pem, EVP_PKEY *key, cps_issue_result *res,
		cps_err *err)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info;
	int rc = -1;

	if (cps_cert_parse_pem(pem, strlen(pem), &leaf, &chain, err) != 0 ||
	    cps_cert_info_get(leaf, &info, err) != 0)
		goto out;
	if (!same_name_set(&info, r->req)) {
		cps_cert_info_free(&info);
		cps_fail(err, CPS_E_PROTO, "the CA's certificate does not name exactly the requested hostnames");
		goto out;
	}
	cps_cert_info_free(&info);
	rc = cps_deploy(r->s->st, r->s->cfg, r->s->paths,
			&(cps_deploy_req){ r->req->site_id, r->req->site_name, r->s->dir_url,
					   leaf, chain, key },
			&res->info, &res->dir, err);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* Forget the pending challenges of one attempt (after cleanup). */
static void pending_free(run *r)
{
	for (size_t i = 0; i < r->np; i++) {
		free(r->p[i].name);
		free(r->p[i].ch_url);
		free(r->p[i].tag);
		free(r->p[i].record);
		free(r->p[i].value);
		free(r->p[i].keyauth);
	}
	free(r->p);
	r->p = NULL;
	r->np = 0;
}

static void run_free(run *r)
{
	pending_free(r);
	cps_acme_order_free(&r->order);
	cps_dns_provider_free(r->dns);
	free(r->http_root);
	free(r->name_set);
	free(r->names);
	EVP_PKEY_free(r->key);
}

/* The registered domain a name counts against: the hosted domain it falls
 * under, else (the server's names) its last two labels. */
static void registered_domain(cps_store *st, const char *name,
			      char out[CPS_HOSTNAME_MAX + 1])
{
	const char *p = name + strlen(name);
	int dots = 0;

	if (cps_site_domain_of(st, name, out, NULL) == 0 && out[0])
		return;
	while (p > name && dots < 2)
		if (*--p == '.' && ++dots == 2)
			p++;
	snprintf(out, CPS_HOSTNAME_MAX + 1, "%s", p);
}

/* Refuse what the CA would refuse anyway; warn when getting close. */
static int check_limits(run *r, cps_err *err)
{
	long long since = (long long)cps_now() - CPS_LIMIT_WINDOW;
	char dom[CPS_HOSTNAME_MAX + 1], seen[8][CPS_HOSTNAME_MAX + 1];
	size_t nseen = 0;
	long n;

	if (cps_issuance_count_set(r->s->st, r->s->dir_url, r->name_set, since, &n, err) != 0)
		return -1;
	if (n >= CPS_LIMIT_DUPLICATES && !r->req->force)
		return cps_fail(err, CPS_E_RATELIMIT,
				"%ld certificates for exactly these names (%s) were issued in the last 7 days; "
				"a CA with Let's Encrypt's duplicate limit (%d a week) would refuse another. "
				"Change the names, wait, or order anyway with force",
				n, r->name_set, CPS_LIMIT_DUPLICATES);
	if (n == CPS_LIMIT_DUPLICATES - 1)
		cps_warn("this is the %ldth certificate for %s in 7 days: the last one Let's Encrypt's duplicate limit allows",
			 n + 1, r->name_set);
	for (size_t i = 0; i < r->req->n; i++) {
		bool dup = false;

		registered_domain(r->s->st, r->names[i], dom);
		for (size_t j = 0; j < nseen; j++)
			dup = dup || strcmp(seen[j], dom) == 0;
		if (dup)
			continue;
		if (nseen < 8)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", dom);
		if (cps_issuance_count_domain(r->s->st, r->s->dir_url, dom, since, &n, err) != 0)
			return -1;
		if (n >= CPS_LIMIT_PER_DOMAIN && !r->req->force)
			return cps_fail(err, CPS_E_RATELIMIT,
					"%ld certificates naming %s were issued in the last 7 days; Let's Encrypt "
					"allows %d per registered domain a week. Wait, or order anyway with force",
					n, dom, CPS_LIMIT_PER_DOMAIN);
		if (n >= CPS_LIMIT_PER_DOMAIN * 9 / 10)
			cps_warn("%ld certificates naming %s were issued in the last 7 days: near Let's Encrypt's limit of %d",
				 n, dom, CPS_LIMIT_PER_DOMAIN);
	}
	return 0;
}

static int log_issuance(run *r, const char *serial, cps_err *err)
{
	char **doms = calloc(r->req->n, sizeof(char *));
	size_t nd = 0;
	int rc;

	if (doms == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->req->n; i++) {
		char dom[CPS_HOSTNAME_MAX + 1];
		bool dup = false;

		registered_domain(r->s->st, r->names[i], dom);
		for (size_t j = 0; j < nd; j++)
			dup = dup || strcmp(doms[j], dom) == 0;
		if (!dup && (doms[nd] = strdup(dom)) != NULL)
			nd++;
	}
	rc = cps_issuance_log(r->s->st, r->s->dir_url, r->req->site_id, serial, r->name_set,
			      doms, nd, (long long)cps_now(), err);
	cps_strv_free(doms, nd);
	return rc;
}

/* The key of an order about to be finalized, kept 0600 until its
 * certificate is deployed, so a run killed after finalize can still fetch
 * and use that certificate instead of ordering another one. */
static char *pending_key_path(run *r, long long order_id)
{
	char *rel, *out;

	if (asprintf(&rel, "pending/%s/%s/order-%lld.key", r->s->server_dir, r->req->site_name,
		     order_id) < 0)
		return NULL;
	out = cps_session_data_path(r->s, rel);
	free(rel);
	return out;
}

static int pending_key_save(run *r, cps_err *err)
{
	char *path = pending_key_path(r, r->order_id), dir[4096];
	int rc;

	if (path == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	rc = cps_fs_mkdir_p(dir, 0700, err) == 0 ? cps_key_save(path, r->key, err) : -1;
	free(path);
	return rc;
}

static void pending_key_drop(run *r, long long order_id)
{
	char *path = pending_key_path(r, order_id);

	if (path)
		cps_fs_unlink(path, NULL);
	free(path);
}

/* A certificate an interrupted run stored but did not finish deploying is
 * deployed first. When it came from this CA for these very names, it is the
 * answer: the run's bookkeeping is finished and nothing is ordered (1). */
static int resume_deployment(run *r, cps_issue_result *res, cps_err *err)
{
	cps_session *s = r->s;
	cps_cert_row row;
	cps_order_row o;
	bool ours;
	int rc;

	if (cps_cert_undeployed(s->st, r->req->site_id, &row, err) != 0)
		return -1;
	ours = row.id && strcmp(row.server, s->dir_url) == 0;
	cps_cert_row_free(&row);
	rc = cps_deploy_resume(s->st, s->cfg, s->paths, r->req->site_id, r->req->site_name,
			       &res->info, &res->dir, err);
	if (rc != 1)
		return rc;
	if (!ours || !same_name_set(&res->info, r->req)) {
		cps_issue_result_free(res);
		memset(res, 0, sizeof(*res));
		return 0;
	}
	cps_info("%s: certificate %s for %s was issued by the interrupted run; not ordering another",
		 r->req->site_name, res->info.serial, r->name_set);
	if (cps_order_find(s->st, r->req->site_id, s->dir_url, r->name_set, &o, err) != 0)
		return -1;
	if (o.id) {
		if (cps_order_set_status(s->st, o.id, "done", err) != 0) {
			cps_order_row_free(&o);
			return -1;
		}
		pending_key_drop(r, o.id);
	}
	cps_order_row_free(&o);
	if (log_issuance(r, res->info.serial, err) != 0 ||
	    cps_ssl_status_succeeded(s->st, r->req->site_id, (long long)cps_now(), err) != 0)
		return -1;
	return 1;
}

static bool finalized(const run *r)
{
	return r->order.status && (strcmp(r->order.status, "valid") == 0 ||
				   strcmp(r->order.status, "processing") == 0);
}

static bool transient(cps_code c)
{
	return c == CPS_E_IO || c == CPS_E_NET || c == CPS_E_TIMEOUT || c == CPS_E_DB ||
	       c == CPS_E_NOMEM || c == CPS_E_EXEC;
}

/* Every dns-01 record name once, through the provider, before ordering. */
static int probe_dns(run *r, cps_err *err)
{
	char rec[CPS_HOSTNAME_MAX + 32], done[8][CPS_HOSTNAME_MAX + 32];
	size_t nd = 0;

	for (size_t i = 0; i < r->req->n; i++) {
		bool seen = false;

		if (r->req->plan[i].mech != CPS_MECH_DNS)
			continue;
		if (cps_dns01_record(r->req->plan[i].name, rec, sizeof(rec), err) != 0)
			return -1;
		for (size_t j = 0; j < nd; j++)
			seen = seen || strcmp(done[j], rec) == 0;
		if (seen)
			continue;
		if (cps_dns_probe(r->dns, rec, err) != 0)
			return -1;
		if (nd < 8)
			snprintf(done[nd++], sizeof(done[0]), "%s", rec);
	}
	return 0;
}

/* A recorded order for the same names that can still be finished: a staged
 * one, or one an interrupted run left — pending or ready (validate it), or
 * processing or valid when its key was kept (fetch its certificate). Else a
 * new order. */
static int open_order(run *r, cps_err *err)
{
	cps_session *s = r->s;
	cps_order_row row;

	if (cps_order_find(s->st, r->req->site_id, s->dir_url, r->name_set, &row, err) != 0)
		return -1;
	if (row.id) {
		char *kp = NULL;
		EVP_PKEY *kept = NULL;
		cps_err e;
		bool ok = false;

		if (cps_acme_order_get(s->acme, row.url, &r->order, &e) == 0) {
			const char *st = r->order.status;

			if (strcmp(st, "pending") == 0 || strcmp(st, "ready") == 0) {
				ok = true;
			} else if ((strcmp(st, "processing") == 0 || strcmp(st, "valid") == 0) &&
				   (kp = pending_key_path(r, row.id)) != NULL &&
				   cps_key_load(kp, &kept, &e) == 0) {
				EVP_PKEY_free(r->key);
				r->key = kept;
				ok = true;
			}
		}
		free(kp);
		if (ok) {
			cps_debug("continuing the %s order %s (%s)", row.purpose, row.url, r->order.status);
			r->order_id = row.id;
			cps_order_row_free(&row);
			return cps_order_set_status(s->st, r->order_id, r->order.status, err);
		}
		cps_acme_order_free(&r->order);
		cps_order_set_status(s->st, row.id, "abandoned", &e);
		pending_key_drop(r, row.id);
		cps_order_row_free(&row);
	}
	if (cps_acme_order_new(s->acme, r->names, r->req->n, &r->order, err) != 0 &&
	    (strcmp(cps_acme_last_problem(s->acme), "accountDoesNotExist") != 0 ||
	     cps_session_account_lost(s, err) != 0 ||
	     cps_acme_order_new(s->acme, r->names, r->req->n, &r->order, err) != 0))
		return -1;
	if (cps_order_insert(s->st, r->req->site_id, s->dir_url, r->order.url, r->name_set,
			     r->order.status, "request", &r->order_id, err) != 0)
		return -1;
	CPS_FAULT("issue-after-neworder");
	return 0;
}

/* Publish, answer and wait; on failure, retry once with the other mechanism
 * for the names that allow it (a new order: a failed authorization is
 * final). */
static int validate(run *r, cps_err *err)
{
	for (int attempt = 0;; attempt++) {
		bool retry = false;
		int rc = -1;

		if (open_order(r, err) != 0)
			return -1;
		if (strcmp(r->order.status, "processing") == 0 || strcmp(r->order.status, "valid") == 0)
			return 0; /* finalized by an earlier run */
		if (prepare(r, err) != 0 || publish(r, err) != 0)
			return -1;
		CPS_FAULT("issue-after-publish");
		for (size_t i = 0; i < r->np; i++)
			if (cps_acme_challenge_respond(r->s->acme, r->p[i].ch_url, err) != 0)
				return -1;
		if (cps_acme_order_poll(r->s->acme, &r->order, "pending",
					cps_monotonic_ms() + VALIDATION_TIMEOUT_MS, err) != 0)
			return -1;
		unpublish(r);
		if (strcmp(r->order.status, "ready") == 0 || strcmp(r->order.status, "valid") == 0) {
			for (size_t i = 0; i < r->np; i++)
				cps_debug("SUCCESS! SSL challenge response: %s (%s) - VALID", r->p[i].name,
					  cps_mech_name(r->p[i].mech));
			return 0;
		}
		rc = failed_names(r, attempt == 0, &retry, err);
		cps_order_set_status(r->s->st, r->order_id, "invalid", NULL);
		if (rc != 0 || !retry)
			return -1;
		pending_free(r);
		cps_acme_order_free(&r->order);
		r->order_id = 0;
		if (r->dns == NULL) {
			for (size_t i = 0; i < r->req->n; i++)
				if (r->req->plan[i].mech == CPS_MECH_DNS &&
				    dns_provider(r->s, r->req->site_id, &r->dns, err) != 0)
					return -1;
		}
	}
}

int cps_issue(cps_session *s, const cps_issue_req *req, cps_issue_result *res,
	      cps_err *err)
{
	run r = { .s = s, .req = req };
	long long t0 = cps_monotonic_ms();
	unsigned req0 = cps_acme_stats_get(s->acme)->requests;
	unsigned bad0 = cps_acme_stats_get(s->acme)->bad_nonces;
	cps_key_type kt;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	char *kts = NULL, *pem = NULL;
	bool any_dns = false;
	cps_source src;
	cps_err e;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (req->n == 0)
		return cps_fail(err, CPS_E_INVAL, "no hostnames to register");
	/* one order per site at a time, across processes */
	if (cps_site_lock(s->paths, req->site_name, err) != 0)
		return -1;
	if (cps_issue_cleanup(s, req->site_id, &e) != 0)
		cps_warn("%s", e.msg);
	r.names = calloc(req->n, sizeof(*r.names));
	for (size_t i = 0; r.names && i < req->n; i++) {
		r.names[i] = req->plan[i].name;
		any_dns = any_dns || req->plan[i].mech == CPS_MECH_DNS;
	}
	r.name_set = r.names ? cps_name_set(r.names, req->n) : NULL;
	r.http_root = cps_http01_root(s->cfg);
	if (r.names == NULL || r.name_set == NULL || r.http_root == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	switch (resume_deployment(&r, res, err)) {
	case -1:
		goto out;
	case 1:
		rc = 0;
		goto out;
	}
	/* everything that can be checked locally is checked before ordering */
	if (any_dns && (dns_provider(s, req->site_id, &r.dns, err) != 0 || probe_dns(&r, err) != 0)) {
		cps_err_prefix(err, "dns-01 validation is needed for %s", r.name_set);
		goto out;
	}
	if (check_limits(&r, err) != 0 ||
	    cps_setting_get(s->st, s->cfg, req->site_id, CPS_CFG_LE_KEY_TYPE, &kts, &src, err) != 0 ||
	    cps_key_type_parse(kts, &kt, err) != 0 ||
	    cps_session_account(s, err) != 0 ||
	    cps_key_generate(kt, &r.key, err) != 0)
		goto out;
	CPS_FAULT("issue-after-keygen");
	if (validate(&r, err) != 0)
		goto out;

	if (strcmp(r.order.status, "ready") == 0) {
		if (pending_key_save(&r, err) != 0 ||
		    cps_csr_create(r.key, r.names, req->n, &csr, &csr_len, err) != 0 ||
		    cps_acme_order_finalize(s->acme, &r.order, csr, csr_len, err) != 0)
			goto out;
		CPS_FAULT("issue-after-finalize");
	}
	if (strcmp(r.order.status, "processing") == 0 &&
	    cps_acme_order_poll(s->acme, &r.order, "processing,ready",
				cps_monotonic_ms() + FINALIZE_TIMEOUT_MS, err) != 0)
		goto out;
	if (strcmp(r.order.status, "valid") != 0 || r.order.certificate == NULL) {
		cps_fail(err, CPS_E_CA, "the order for %s ended %s: %s", r.name_set, r.order.status,
			 r.order.error ? r.order.error : "the CA gave no reason");
		goto out;
	}
	if (cps_acme_certificate_get(s->acme, r.order.certificate,
				     cps_config_str(s->cfg, CPS_CFG_LE_PREFERRED_CHAIN), &pem, err) != 0)
		goto out;
	CPS_FAULT("issue-after-download");
	if (keep(&r, pem, r.key, res, err) != 0 ||
	    cps_order_set_status(s->st, r.order_id, "done", err) != 0 ||
	    log_issuance(&r, res->info.serial, err) != 0 ||
	    cps_ssl_status_succeeded(s->st, req->site_id, (long long)cps_now(), err) != 0)
		goto out;
	pending_key_drop(&r, r.order_id);
	res->requests = cps_acme_stats_get(s->acme)->requests - req0;
	res->bad_nonces = cps_acme_stats_get(s->acme)->bad_nonces - bad0;
	res->elapsed_ms = cps_monotonic_ms() - t0;
	rc = 0;
out:
	if (rc != 0) {
		const char *problem = cps_acme_last_problem(s->acme);

		unpublish(&r);
		/* a finalized order that failed on this side (disk, network)
		 * stays open, its key kept: the next run fetches its certificate
		 * instead of ordering another */
		if (r.order_id && !(finalized(&r) && transient(err->code))) {
			cps_order_set_status(s->st, r.order_id, "invalid", &e);
			pending_key_drop(&r, r.order_id);
		}
		cps_ssl_status_failed(s->st, req->site_id,
				      *problem ? problem : cps_code_name(err->code), err->msg,
				      (long long)cps_now(), err->input, arc4random_uniform(1000) / 1000.0,
				      err->retry_at, &e);
		cps_issue_result_free(res);
	}
	OPENSSL_free(csr);
	free(pem);
	free(kts);
	run_free(&r);
	cps_site_unlock(req->site_name);
	return rc;
}

void cps_issue_result_free(cps_issue_result *res)
{
	cps_cert_info_free(&res->info);
	free(res->dir);
	memset(res, 0, sizeof(*res));
}
