#include "cpssl/acme/order.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/jws.h"
#include "cpssl/acme/persist.h"
#include "cpssl/core/b64.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/names/hostname.h"

/* Polling without Retry-After: a quick first look (a CA on the same network
 * has often validated or issued by then), then 40 ms doubling up to 2 s. A
 * slow CA costs one request more than starting at 40 ms; a fast one answers
 * the first poll. */
#define POLL_QUICK_MS 10
#define POLL_FIRST_MS 40
#define POLL_MAX_MS 2000
#define RETRY_AFTER_MAX_S 60 /* a CA asking for longer still hits our deadline */
#define MAX_AUTHZ 100        /* RFC-wise no limit; Let's Encrypt allows 100 names */

static const char *const status_names[] = {
	[CPS_ACME_ABSENT] = "",
	[CPS_ACME_PENDING] = "pending",
	[CPS_ACME_READY] = "ready",
	[CPS_ACME_PROCESSING] = "processing",
	[CPS_ACME_VALID] = "valid",
	[CPS_ACME_INVALID] = "invalid",
	[CPS_ACME_DEACTIVATED] = "deactivated",
	[CPS_ACME_EXPIRED] = "expired",
	[CPS_ACME_REVOKED] = "revoked",
	[CPS_ACME_UNKNOWN] = "unknown",
};

const char *cps_acme_status_name(cps_acme_status st)
{
	return (unsigned)st <= CPS_ACME_UNKNOWN ? status_names[st] : "unknown";
}

cps_acme_status cps_acme_status_parse(const char *s)
{
	if (s == NULL)
		return CPS_ACME_ABSENT;
	for (int i = CPS_ACME_PENDING; i < CPS_ACME_UNKNOWN; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (cps_acme_status)i;
	return CPS_ACME_UNKNOWN;
}

/* S made one line of text (core/log.h). */
static char *dup_text(const char *s)
{
	char *d = strdup(s);

	if (d)
		cps_text_clean(d);
	return d;
}

/* A string of the CA's answer, made one line of text: it may be printed
 * and stored. */
static char *dup_member(json_object *o, const char *key)
{
	const char *s = cps_acme_str(o, key);

	return s ? dup_text(s) : NULL;
}

static char *problem_detail(json_object *o)
{
	json_object *e;
	const char *d;

	if (!json_object_object_get_ex(o, "error", &e))
		return NULL;
	d = cps_acme_str(e, "detail");
	return dup_text(d ? d : (cps_acme_str(e, "type") ? cps_acme_str(e, "type") : "unknown error"));
}

void cps_acme_order_free(cps_acme_order *o)
{
	if (o == NULL)
		return;
	free(o->url);
	free(o->finalize);
	free(o->certificate);
	for (size_t i = 0; i < o->nauthz; i++)
		free(o->authzs[i]);
	free(o->authzs);
	free(o->error);
	free(o->profile);
	memset(o, 0, sizeof(*o));
}

/* Refresh O from an order object (the URL is kept). */
static int order_from_json(cps_acme_order *o, json_object *j, cps_err *err)
{
	json_object *arr;
	size_t n;

	if (j == NULL || cps_acme_str(j, "status") == NULL)
		return cps_fail(err, CPS_E_PROTO, "the CA's order answer is not an order object");
	free(o->finalize);
	free(o->certificate);
	free(o->error);
	free(o->profile);
	o->status = cps_acme_status_parse(cps_acme_str(j, "status"));
	o->finalize = dup_member(j, "finalize");
	o->certificate = dup_member(j, "certificate");
	o->error = problem_detail(j);
	o->profile = dup_member(j, "profile");
	if (json_object_object_get_ex(j, "authorizations", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		if (n > MAX_AUTHZ)
			return cps_fail(err, CPS_E_PROTO, "the CA's order lists %zu authorizations", n);
		for (size_t i = 0; i < o->nauthz; i++)
			free(o->authzs[i]);
		free(o->authzs);
		o->authzs = calloc(n ? n : 1, sizeof(char *));
		o->nauthz = 0;
		if (o->authzs == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			json_object *u = json_object_array_get_idx(arr, i);

			if (!json_object_is_type(u, json_type_string))
				return cps_fail(err, CPS_E_PROTO, "the CA's order has a malformed authorization URL");
			o->authzs[o->nauthz++] = strdup(json_object_get_string(u));
		}
	}
	return 0;
}

static char *order_payload(const char *const *names, size_t n, const char *profile,
			   const char *replaces)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char *out;

	for (size_t i = 0; i < n; i++) {
		json_object *id = json_object_new_object();

		/* RFC 8738: an address is an "ip" identifier */
		json_object_object_add(id, "type",
				       json_object_new_string(cps_name_is_ip(names[i]) ? "ip" : "dns"));
		json_object_object_add(id, "value", json_object_new_string(names[i]));
		json_object_array_add(ids, id);
	}
	json_object_object_add(o, "identifiers", ids);
	if (profile && *profile)
		json_object_object_add(o, "profile", json_object_new_string(profile));
	if (replaces)
		json_object_object_add(o, "replaces", json_object_new_string(replaces));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

int cps_acme_order_new(cps_acme *c, const char *const *names, size_t n,
		       const char *profile, const char *replaces, cps_acme_order *out,
		       cps_err *err)
{
	char *payload, what[300];
	cps_acme_resp r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	payload = order_payload(names, n, profile, replaces);
	if (payload == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(what, sizeof(what), "the new order for %s%s", names[0],
		 n > 1 ? " and more" : "");
	rc = cps_acme_post(c, cps_acme_endpoint(c, "newOrder"), payload, 0, what, &r, err);
	free(payload);
	if (rc != 0)
		return -1;
	if (r.http.location == NULL) {
		cps_acme_resp_free(&r);
		return cps_fail(err, CPS_E_PROTO, "the CA's new order carries no order URL (Location)");
	}
	if (!cps_acme_same_origin(c, r.http.location)) {
		cps_fail(err, CPS_E_PROTO, "the CA's new order URL %.200s is outside its own origin; refusing",
			 r.http.location);
		cps_acme_resp_free(&r);
		return -1;
	}
	out->url = strdup(r.http.location);
	rc = order_from_json(out, r.json, err);
	cps_acme_resp_free(&r);
	if (rc == 0 && out->nauthz == 0)
		rc = cps_fail(err, CPS_E_PROTO, "the CA's new order has no authorizations");
	if (rc != 0)
		cps_acme_order_free(out);
	return rc;
}

static int order_refresh(cps_acme *c, cps_acme_order *o, cps_acme_resp *r,
			 cps_err *err)
{
	int rc;

	if (cps_acme_post(c, o->url, NULL, 0, "the order status", r, err) != 0)
		return -1;
	rc = order_from_json(o, r->json, err);
	return rc;
}

int cps_acme_order_get(cps_acme *c, const char *url, cps_acme_order *out,
		       cps_err *err)
{
	cps_acme_resp r;
	int rc;

	memset(out, 0, sizeof(*out));
	out->url = strdup(url);
	if (out->url == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = order_refresh(c, out, &r, err);
	cps_acme_resp_free(&r);
	if (rc != 0)
		cps_acme_order_free(out);
	return rc;
}

void cps_acme_authz_free(cps_acme_authz *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nch; i++) {
		free(a->ch[i].type);
		free(a->ch[i].url);
		free(a->ch[i].token);
		free(a->ch[i].error);
		for (size_t k = 0; k < a->ch[i].nissuers; k++)
			free(a->ch[i].issuers[k]);
		free(a->ch[i].issuers);
		free(a->ch[i].accounturi);
	}
	free(a->ch);
	free(a->url);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

/* dns-persist-01's "issuer-domain-names" (at most 10, each a hostname,
 * kept lower case) and "accounturi" (printable ASCII without ';'). */
static int persist_from_json(cps_acme_challenge *x, json_object *ch)
{
	json_object *v;
	const char *acct = cps_acme_str(ch, "accounturi");
	size_t n;

	if (acct && *acct && strlen(acct) < 1024 && strspn(acct, CPS_PERSIST_URI_CHARS) == strlen(acct) &&
	    (x->accounturi = strdup(acct)) == NULL)
		return -1;
	if (!json_object_object_get_ex(ch, "issuer-domain-names", &v) ||
	    !json_object_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	if ((x->issuers = calloc(n ? n : 1, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < n && i < 10; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(v, i));
		char name[CPS_HOSTNAME_MAX + 1];
		cps_err e;

		if (s == NULL || cps_hostname_normalize(s, 0, name, &e) != 0)
			continue;
		if ((x->issuers[x->nissuers] = strdup(name)) == NULL)
			return -1;
		x->nissuers++;
	}
	return 0;
}

static int authz_from_json(cps_acme_authz *a, json_object *j, cps_err *err)
{
	json_object *id, *chs, *wild;
	const char *value;
	size_t n;

	if (j == NULL || cps_acme_str(j, "status") == NULL ||
	    !json_object_object_get_ex(j, "identifier", &id) ||
	    (value = cps_acme_str(id, "value")) == NULL ||
	    !json_object_object_get_ex(j, "challenges", &chs) ||
	    !json_object_is_type(chs, json_type_array))
		return cps_fail(err, CPS_E_PROTO,
				"the CA's authorization answer is not an authorization object");
	a->status = cps_acme_status_parse(cps_acme_str(j, "status"));
	if (json_object_object_get_ex(j, "wildcard", &wild) && json_object_get_boolean(wild)) {
		if (asprintf(&a->name, "*.%s", value) < 0)
			a->name = NULL;
	} else if (cps_name_is_ip(value)) {
		char ip[CPS_IP_TEXT_MAX];

		/* the form the order was placed with, whatever text the CA uses */
		a->name = strdup(cps_ip_normalize(value, ip, NULL) == 0 ? ip : value);
	} else {
		a->name = strdup(value);
	}
	if (a->name)
		cps_text_clean(a->name);
	n = json_object_array_length(chs);
	a->ch = calloc(n ? n : 1, sizeof(*a->ch));
	if (a->name == NULL || a->ch == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && i < 16; i++) {
		json_object *ch = json_object_array_get_idx(chs, i);
		cps_acme_challenge *x = &a->ch[a->nch];
		const char *tok = cps_acme_str(ch, "token");

		if (cps_acme_str(ch, "type") == NULL || cps_acme_str(ch, "url") == NULL)
			continue;
		x->type = dup_member(ch, "type");
		x->url = dup_member(ch, "url");
		x->status = cps_acme_status_parse(cps_acme_str(ch, "status"));
		/* the token becomes a file name: only base64url is accepted */
		x->token = tok && cps_b64url_valid(tok, 16, 256) ? strdup(tok) : NULL;
		x->error = problem_detail(ch);
		a->nch++;
		if (strcmp(x->type, "dns-persist-01") == 0 && persist_from_json(x, ch) != 0)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}

int cps_acme_authz_get(cps_acme *c, const char *url, cps_acme_authz *out,
		       cps_err *err)
{
	cps_acme_resp r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cps_acme_post(c, url, NULL, 0, "the authorization", &r, err) != 0)
		return -1;
	out->url = strdup(url);
	rc = authz_from_json(out, r.json, err);
	cps_acme_resp_free(&r);
	if (rc != 0)
		cps_acme_authz_free(out);
	return rc;
}

const cps_acme_challenge *cps_acme_authz_challenge(const cps_acme_authz *a,
						   const char *type)
{
	for (size_t i = 0; i < a->nch; i++)
		if (strcmp(a->ch[i].type, type) == 0)
			return &a->ch[i];
	return NULL;
}

int cps_acme_challenge_respond(cps_acme *c, const char *url, cps_err *err)
{
	cps_acme_resp r;

	if (cps_acme_post(c, url, "{}", 0, "the challenge response", &r, err) != 0)
		return -1;
	cps_acme_resp_free(&r);
	return 0;
}

long long cps_acme_poll_delay_ms(int attempt, long retry_after_s)
{
	if (retry_after_s >= 0)
		return (retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : retry_after_s) * 1000LL;
	if (attempt <= 0)
		return POLL_QUICK_MS;
	if (attempt > 6)
		return POLL_MAX_MS;
	return (long long)POLL_FIRST_MS << (attempt - 1);
}

/* Sleep before the next poll (cps_acme_poll_delay_ms); never past the
 * deadline. */
static int poll_sleep(const cps_acme_resp *r, int attempt, long long deadline_ms,
		      const char *what, cps_err *err)
{
	long long now = cps_monotonic_ms(),
		  ms = cps_acme_poll_delay_ms(attempt, cps_http_retry_after(r->http.retry_after, cps_now()));

	if (now + ms > deadline_ms)
		return cps_fail(err, CPS_E_TIMEOUT,
				"gave up waiting for %s: the CA did not finish in time", what);
	cps_sleep_ms((long)ms);
	return 0;
}

int cps_acme_order_poll(cps_acme *c, cps_acme_order *o, unsigned while_in,
			long long deadline_ms, cps_err *err)
{
	cps_acme_resp r = { 0 };

	for (int attempt = 0; while_in & CPS_ACME_IN(o->status); attempt++) {
		int rc = poll_sleep(&r, attempt, deadline_ms, "the order", err);

		cps_acme_resp_free(&r);
		if (rc != 0 || order_refresh(c, o, &r, err) != 0)
			return -1;
	}
	cps_acme_resp_free(&r);
	return 0;
}

int cps_acme_authz_poll(cps_acme *c, const char *url, long long deadline_ms,
			cps_acme_authz *out, cps_err *err)
{
	cps_acme_resp r = { 0 };

	memset(out, 0, sizeof(*out));
	for (int attempt = 0;; attempt++) {
		int rc;

		if (attempt > 0 && poll_sleep(&r, attempt - 1, deadline_ms,
					      "the authorization", err) != 0) {
			cps_acme_resp_free(&r);
			return -1;
		}
		cps_acme_resp_free(&r);
		cps_acme_authz_free(out);
		if (cps_acme_post(c, url, NULL, 0, "the authorization", &r, err) != 0)
			return -1;
		out->url = strdup(url);
		rc = authz_from_json(out, r.json, err);
		if (rc != 0) {
			cps_acme_resp_free(&r);
			cps_acme_authz_free(out);
			return -1;
		}
		if (out->status != CPS_ACME_PENDING)
			break;
	}
	cps_acme_resp_free(&r);
	return 0;
}

int cps_acme_order_finalize(cps_acme *c, cps_acme_order *o,
			    const unsigned char *csr, size_t len, cps_err *err)
{
	char *b64 = cps_b64url_encode(csr, len), *payload = NULL;
	cps_acme_resp r;
	int rc;

	if (b64 == NULL || asprintf(&payload, "{\"csr\":\"%s\"}", b64) < 0) {
		free(b64);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	free(b64);
	rc = cps_acme_post(c, o->finalize, payload, 0, "the finalization (CSR)", &r, err);
	free(payload);
	if (rc != 0)
		return -1;
	rc = order_from_json(o, r.json, err);
	cps_acme_resp_free(&r);
	return rc;
}

/* What a downloaded chain is chosen by: its first certificate (DER) and
 * the issuer CN of its last ("" when it has none). */
typedef struct chain_facts {
	unsigned char *leaf;
	int leaf_len;
	char top_issuer[256];
} chain_facts;

static void chain_facts_get(const char *pem, chain_facts *f)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x, *first = NULL, *last = NULL;

	memset(f, 0, sizeof(*f));
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (first == NULL)
			first = x;
		else if (last != first)
			X509_free(last);
		last = x;
	}
	BIO_free(bio);
	if (last && X509_NAME_get_text_by_NID(X509_get_issuer_name(last), NID_commonName,
					      f->top_issuer, sizeof(f->top_issuer)) < 0)
		f->top_issuer[0] = '\0';
	cps_text_clean(f->top_issuer);
	if (first)
		f->leaf_len = i2d_X509(first, &f->leaf);
	if (last != first)
		X509_free(last);
	X509_free(first);
}

static void chain_facts_free(chain_facts *f)
{
	OPENSSL_free(f->leaf);
	memset(f, 0, sizeof(*f));
}

static int download(cps_acme *c, const char *url, cps_acme_resp *r, cps_err *err)
{
	/* RFC 8555 lets the certificate live elsewhere than the API */
	if (cps_acme_post(c, url, NULL, CPS_ACME_PEM | CPS_ACME_ANY_ORIGIN,
			  "the certificate download", r, err) != 0)
		return -1;
	if (strstr(r->http.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		cps_acme_resp_free(r);
		return cps_fail(err, CPS_E_PROTO, "the CA's certificate download is not a PEM chain");
	}
	return 0;
}

#define MAX_ALTERNATES 8 /* alternate chains looked at; more are ignored */

/* The alternate chain (Link rel="alternate" of DEF_RESP) whose top issuer is
 * WANT and whose certificate is the default chain's, or NULL; OFFERED
 * collects the top issuers seen. */
static char *alternate_chain(cps_acme *c, const cps_acme_resp *def_resp,
			     const chain_facts *def, const char *want, char *offered,
			     size_t len)
{
	char *found = NULL;
	size_t tried = 0;

	for (size_t i = 0; found == NULL && i < def_resp->http.nlinks && tried < MAX_ALTERNATES; i++) {
		char *alt = cps_http_link(def_resp->http.links[i], "alternate");
		cps_acme_resp ar;
		chain_facts f;
		cps_err e;

		if (alt == NULL)
			continue;
		tried++;
		if (download(c, alt, &ar, &e) != 0) {
			cps_warn("skipping the CA's alternate chain %.200s: %s", alt, e.msg);
			free(alt);
			continue;
		}
		chain_facts_get(ar.http.body, &f);
		if (f.leaf_len != def->leaf_len || f.leaf_len <= 0 ||
		    memcmp(f.leaf, def->leaf, (size_t)f.leaf_len) != 0) {
			cps_warn("skipping the CA's alternate chain %.200s: it carries another "
				 "certificate than the default chain", alt);
		} else {
			size_t used = strlen(offered);

			snprintf(offered + used, len - used, ", %s", f.top_issuer);
			if (strcmp(f.top_issuer, want) == 0) {
				cps_debug("using the alternate chain issued by %s", want);
				found = strdup(ar.http.body);
			}
		}
		chain_facts_free(&f);
		cps_acme_resp_free(&ar);
		free(alt);
	}
	return found;
}

int cps_acme_certificate_get(cps_acme *c, const char *url,
			     const char *preferred_issuer, char **pem,
			     cps_err *err)
{
	cps_acme_resp r;
	chain_facts def;
	char offered[1024];

	*pem = NULL;
	if (download(c, url, &r, err) != 0)
		return -1;
	if (preferred_issuer && *preferred_issuer) {
		chain_facts_get(r.http.body, &def);
		snprintf(offered, sizeof(offered), "%s", def.top_issuer);
		if (strcmp(def.top_issuer, preferred_issuer) != 0)
			*pem = alternate_chain(c, &r, &def, preferred_issuer, offered, sizeof(offered));
		if (*pem == NULL && strcmp(def.top_issuer, preferred_issuer) != 0)
			cps_warn("no chain the CA offers leads to '%s' ([letsencrypt] preferred_chain; "
				 "the top issuers offered: %s); keeping the default chain",
				 preferred_issuer, offered);
		chain_facts_free(&def);
	}
	if (*pem == NULL)
		*pem = strdup(r.http.body);
	cps_acme_resp_free(&r);
	return *pem ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

int cps_acme_revoke(cps_acme *c, const unsigned char *der, size_t len,
		    int reason, cps_err *err)
{
	char *b64 = cps_b64url_encode(der, len), *payload = NULL;
	cps_acme_resp r;
	int rc;

	if (cps_acme_load_directory(c, err) != 0) {
		free(b64);
		return -1;
	}
	if (b64 == NULL ||
	    asprintf(&payload, "{\"certificate\":\"%s\",\"reason\":%d}", b64, reason) < 0) {
		free(b64);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	free(b64);
	rc = cps_acme_post(c, cps_acme_endpoint(c, "revokeCert"), payload, 0,
			   "the revocation", &r, err);
	free(payload);
	if (rc != 0)
		return -1;
	cps_acme_resp_free(&r);
	return 0;
}

int cps_acme_key_authorization(cps_acme *c, const char *token, char **out,
			       cps_err *err)
{
	char *tp;
	int n;

	*out = NULL;
	if (cps_jwk_thumbprint(cps_acme_key(c), &tp, err) != 0)
		return -1;
	n = asprintf(out, "%s.%s", token, tp);
	free(tp);
	if (n < 0) {
		*out = NULL;
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}

int cps_acme_dns_value(const char *keyauth, char **out, cps_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	*out = NULL;
	if (!EVP_Digest(keyauth, strlen(keyauth), md, &len, EVP_sha256(), NULL) ||
	    (*out = cps_b64url_encode(md, len)) == NULL)
		return cps_fail(err, CPS_E_CRYPTO, "cannot hash the key authorization");
	return 0;
}
