/* One order for a client's CSR: the order loop of issue/drive.c with steps
 * that publish through the caller (or the challenge directory, or DNS),
 * finalize with the client's CSR and check that the certificate is for
 * exactly its names and key. Every published response is removed again,
 * whatever happens. */
#include "cpssl/issue/csr.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/dns/provider.h"
#include "cpssl/issue/drive.h"
#include "cpssl/issue/failover.h"
#include "cpssl/issue/issue.h"
#include "cpssl/solvers/solvers.h"

typedef struct published {
	char *token, *record, *value, *tag, *ch_url, *name;
	bool up;
} published;

typedef struct csr_run {
	cps_session *s;
	const cps_csr_issue *req;
	cps_csr_result *res;
	cps_acme_order order;
	char *name_set;
	bool authorized, finalized;
	cps_dns_provider *dns;
	published *p;
	size_t np;
} csr_run;

static void unpublish_all(csr_run *r)
{
	for (size_t i = 0; i < r->np; i++) {
		published *p = &r->p[i];
		cps_err e;

		if (p->up && r->req->mech == CPS_MECH_HTTP && r->req->http)
			r->req->http->unpublish(r->req->http->arg, p->token);
		else if (p->up && r->req->mech == CPS_MECH_DNS)
			(void)(cps_dns_txt_del(r->dns, p->record, p->value, &e) == 0 ||
			       (cps_warn("%s: %s", p->name, e.msg), 0));
		else if (p->up && cps_solver_unpublish(p->tag, NULL, &e) != 0)
			cps_warn("%s: %s", p->name, e.msg);
		free(p->token);
		free(p->record);
		free(p->value);
		free(p->tag);
		free(p->ch_url);
		free(p->name);
	}
	free(r->p);
	r->p = NULL;
	r->np = 0;
}

static int publish_one(csr_run *r, published *p, const char *keyauth, cps_err *err)
{
	const cps_csr_issue *q = r->req;
	char rec[CPS_HOSTNAME_MAX + 32];

	if (q->mech == CPS_MECH_DNS) {
		if (cps_dns01_record(p->name, rec, sizeof(rec), err) != 0 ||
		    cps_acme_dns_value(keyauth, &p->value, err) != 0 ||
		    (p->record = strdup(rec)) == NULL)
			return p->value ? cps_fail(err, CPS_E_NOMEM, "out of memory") : -1;
		if (cps_dns_txt_add(r->dns, p->record, p->value, err) != 0)
			return -1;
	} else if (q->http) {
		if (q->http->publish(q->http->arg, p->token, keyauth, err) != 0)
			return -1;
	} else {
		if (cps_http01_path(r->s->set->layout.http01_root, p->token, &p->record, err) != 0)
			return -1;
		if ((p->tag = cps_solver_file_tag(p->record)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		if (cps_http01_publish(p->record, keyauth, err) != 0)
			return -1;
	}
	p->up = true;
	return 0;
}

/* One pending authorization: publish the response of its challenge. */
static int prepare_one(csr_run *r, const cps_acme_authz *az, cps_err *err)
{
	const char *type = cps_mech_challenge(r->req->mech);
	const cps_acme_challenge *ch = cps_acme_authz_challenge(az, type);
	published *p = &r->p[r->np];
	char *keyauth = NULL;
	int rc;

	if (ch == NULL || ch->token == NULL)
		return cps_fail(err, CPS_E_CA, "%s: the CA offers no usable %s challenge", az->name,
				type);
	p->token = strdup(ch->token);
	p->ch_url = strdup(ch->url);
	p->name = strdup(az->name);
	r->np++;
	if (p->token == NULL || p->ch_url == NULL || p->name == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_acme_key_authorization(r->s->acme, ch->token, &keyauth, err) != 0)
		return -1;
	cps_debug("SSL challenge attempt: %s (%s)", az->name, cps_mech_name(r->req->mech));
	rc = publish_one(r, p, keyauth, err);
	free(keyauth);
	return rc == 0 ? 0 : cps_err_prefix(err, "%s", az->name);
}

static int prepare(csr_run *r, cps_err *err)
{
	r->p = calloc(r->order.nauthz ? r->order.nauthz : 1, sizeof(*r->p));
	if (r->p == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->order.nauthz; i++) {
		cps_acme_authz az;
		int rc = 0;

		if (cps_acme_authz_get(r->s->acme, r->order.authzs[i], &az, err) != 0)
			return -1;
		if (az.status == CPS_ACME_PENDING)
			rc = prepare_one(r, &az, err);
		else if (az.status != CPS_ACME_VALID)
			rc = cps_fail(err, CPS_E_CA, "%s: the authorization is %s", az.name,
				      cps_acme_status_name(az.status));
		cps_acme_authz_free(&az);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; r->req->mech == CPS_MECH_DNS && i < r->np; i++)
		if (cps_dns_wait_txt(r->dns, r->p[i].record, r->p[i].value,
				     (int)r->s->set->dns.validation_wait, err) != 0)
			return cps_err_prefix(err, "%s", r->p[i].name);
	return 0;
}

/* The CA's reasons for the failed authorizations, in one message. */
static int why_invalid(csr_run *r, cps_err *err)
{
	char msg[sizeof(err->msg)] = "";

	for (size_t i = 0; i < r->order.nauthz; i++) {
		cps_acme_authz az;
		cps_err e;

		if (cps_acme_authz_get(r->s->acme, r->order.authzs[i], &az, &e) != 0)
			continue;
		for (size_t j = 0; az.status == CPS_ACME_INVALID && j < az.nch; j++) {
			size_t used = strlen(msg);

			if (az.ch[j].error)
				snprintf(msg + used, sizeof(msg) - used, "%s%s: the %s challenge failed: %s",
					 used ? "; " : "", az.name, az.ch[j].type, az.ch[j].error);
		}
		cps_acme_authz_free(&az);
	}
	cps_fail(err, CPS_E_CA, "%s", msg[0] ? msg : "the order became invalid");
	err->input = true; /* the names' validation: not the CA's fault */
	return -1;
}

static int authorize(void *ctx, cps_err *err)
{
	csr_run *r = ctx;

	if (prepare(r, err) != 0)
		return -1;
	for (size_t i = 0; i < r->np; i++)
		if (cps_acme_challenge_respond(r->s->acme, r->p[i].ch_url, err) != 0)
			return -1;
	if (cps_acme_order_poll(r->s->acme, &r->order, CPS_ACME_IN(CPS_ACME_PENDING),
				cps_monotonic_ms() + CPS_VALIDATION_TIMEOUT_MS, err) != 0)
		return -1;
	unpublish_all(r);
	r->authorized = true;
	if (r->order.status == CPS_ACME_INVALID)
		return why_invalid(r, err);
	return 0;
}

static int finalize(void *ctx, cps_err *err)
{
	csr_run *r = ctx;

	if (cps_acme_order_finalize(r->s->acme, &r->order, r->req->csr->der, r->req->csr->len,
				    err) != 0)
		return -1;
	r->finalized = true;
	return 0;
}

/* The certificate names exactly the request's names and carries its key. */
static int check(const cps_csr_info *csr, X509 *leaf, cps_cert_info *info, cps_err *err)
{
	unsigned char *spki = NULL, id[32];
	unsigned int mdlen = 0;
	int len = i2d_PUBKEY(X509_get0_pubkey(leaf), &spki);
	bool same = len > 0 && EVP_Digest(spki, (size_t)len, id, &mdlen, EVP_sha256(), NULL) == 1 &&
		    memcmp(id, csr->key_id, sizeof(id)) == 0;

	OPENSSL_free(spki);
	if (!same)
		return cps_fail(err, CPS_E_PROTO, "the CA's certificate is not for the request's key");
	if (cps_cert_info_get(leaf, info, err) != 0)
		return -1;
	same = info->nsans == csr->n && info->nip_sans == 0;
	for (size_t i = 0; same && i < csr->n; i++) {
		bool found = false;

		for (size_t j = 0; j < info->nsans && !found; j++)
			found = strcmp(info->sans[j], csr->names[i]) == 0;
		same = found;
	}
	if (!same)
		return cps_fail(err, CPS_E_PROTO,
				"the CA's certificate does not name exactly the requested hostnames");
	return 0;
}

static int download(void *ctx, cps_err *err)
{
	csr_run *r = ctx;
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info = { 0 };
	X509 *leaf = NULL;
	char *pem = NULL;
	int rc = -1;

	if (r->order.certificate == NULL)
		return cps_fail(err, CPS_E_CA, "the order for %s ended valid: %s", r->name_set,
				"the CA gave no certificate URL");
	if (cps_acme_certificate_get(r->s->acme, r->order.certificate,
				     r->s->set->ca.preferred_chain, &pem, err) != 0)
		return -1;
	if (cps_cert_parse_pem(pem, strlen(pem), &leaf, &chain, err) == 0 &&
	    check(r->req->csr, leaf, &info, err) == 0) {
		r->res->chain = pem;
		r->res->not_after = info.not_after;
		snprintf(r->res->serial, sizeof(r->res->serial), "%s", info.serial);
		pem = NULL;
		rc = 0;
	}
	cps_cert_info_free(&info);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	return rc;
}

static int before_ordering(csr_run *r, cps_err *err)
{
	const cps_csr_issue *q = r->req;

	if (q->mech != CPS_MECH_HTTP && q->mech != CPS_MECH_DNS)
		return cps_fail(err, CPS_E_INVAL, "a request is validated by http-01 or dns-01 only");
	if (q->mech == CPS_MECH_HTTP && q->csr->wildcard)
		return cps_fail(err, CPS_E_INVAL, "%s names a wildcard, which only dns-01 can validate",
				r->name_set);
	if (q->mech == CPS_MECH_DNS &&
	    cps_dns_provider_new(q->dns ? q->dns : &r->s->set->dns, &r->dns, err) != 0)
		return cps_err_prefix(err, "dns-01 validation is needed for %s", r->name_set);
	if (cps_session_account(r->s, err) != 0)
		return cps_err_prefix(err, "cannot order a certificate for %s", r->name_set);
	return 0;
}

/* One attempt at the session's CA; *MOVABLE: whether the request may go on
 * at another CA after a failure (nothing was finalized here). */
static int attempt(cps_session *s, const cps_csr_issue *req, cps_csr_result *res,
		   bool *movable, cps_err *err)
{
	static const cps_drive_steps steps = { authorize, NULL, finalize, download, NULL };
	csr_run r = { .s = s, .req = req, .res = res };
	unsigned req0 = cps_acme_stats_get(s->acme)->requests;
	int rc = -1;

	r.name_set = cps_name_set((const char *const *)req->csr->names, req->csr->n);
	if (r.name_set == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (before_ordering(&r, err) == 0 &&
	    cps_acme_order_new(s->acme, (const char *const *)req->csr->names, req->csr->n, NULL,
			       NULL, &r.order, err) == 0 &&
	    cps_drive_order(&(cps_drive){ s->acme, &r.order, r.name_set, &r.authorized,
					  &r.finalized },
			    &steps, &r, err) == 0)
		rc = 0;
	unpublish_all(&r);
	res->requests += cps_acme_stats_get(s->acme)->requests - req0;
	res->ca = s->dir_url;
	*movable = !r.finalized;
	cps_acme_order_free(&r.order);
	cps_dns_provider_free(r.dns);
	free(r.name_set);
	return rc;
}

int cps_issue_csr(cps_session *s, const cps_csr_issue *req, cps_csr_result *res,
		  cps_err *err)
{
	unsigned tried = 0;
	bool movable = true;
	int rc;

	memset(res, 0, sizeof(*res));
	if (req->csr == NULL || req->csr->n == 0)
		return cps_fail(err, CPS_E_INVAL, "no hostnames to register");
	if ((rc = cps_failover_choose(s, err)) != 0)
		return rc;
	while ((rc = attempt(s, req, res, &movable, err)) != 0 && movable &&
	       cps_failover_after_failure(s, err, &tried)) {
		free(res->chain);
		res->chain = NULL;
	}
	if (rc == 0)
		cps_failover_succeeded(s);
	else
		cps_csr_result_free(res);
	return rc;
}

void cps_csr_result_free(cps_csr_result *res)
{
	free(res->chain);
	memset(res, 0, sizeof(*res));
}
