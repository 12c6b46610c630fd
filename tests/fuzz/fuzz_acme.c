/* libFuzzer target: hostile ACME CA answers. A stand-in transport serves a
 * valid directory and nonces, and answers every POST with the input: the
 * first byte picks the status and the Retry-After, Replay-Nonce and Link
 * headers, the second the content type and Location, the rest is the body.
 * One session then walks the whole client API: account lookup, registration
 * and contact, new order, order, authorization, challenge response, both
 * polls (deadline already past, so nothing sleeps), finalize, certificate
 * download with alternate chains, revocation; the body is also parsed as a
 * problem document, as renewal information (RFC 9773), and as the
 * directory's meta in a second session. Nothing may crash, leak or loop;
 * every failure must carry a message, and whatever is accepted must be
 * sane: an order has a URL, a status and 1..100 authorizations and a
 * profile that is one line of text, an accepted challenge token is
 * base64url and gives an http-01 path below the challenge root, a
 * downloaded chain is PEM, the meta's profiles are sorted, non-empty, at
 * most 64 of at most 64 characters, without control characters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/account.h"
#include "cpssl/acme/ari.h"
#include "cpssl/acme/order.h"
#include "cpssl/acme/persist.h"
#include "cpssl/acme/problem.h"
#include "cpssl/core/b64.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/solvers/solvers.h"

#define CA "https://ca.test"
#define ROOT "/nonexistent/cpssl-fuzz/acme"
#define MAX_REQUESTS 1000 /* far above what one walk needs: more is a loop */

typedef struct fuzz_ca {
	const char *meta;  /* the directory's meta member, or NULL */
	const char *body;
	size_t len;
	long status;
	const char *ctype, *location, *retry_after;
	bool nonce, link;
	unsigned seq, requests;
} fuzz_ca;

/* status: 5xx answers always carry a Retry-After the client will not wait
 * for (or one of 0), so it gives up or retries at once instead of sleeping */
static const long statuses[8] = { 200, 201, 200, 201, 202, 400, 429, 503 };
static const struct {
	const char *value;
	bool for_5xx; /* parses to 0 or more than 10 seconds */
} retry_afters[8] = {
	{ NULL, false },
	{ "3600", true },
	{ "Wed, 21 Oct 2037 07:28:00 GMT", true },
	{ "Mon, 01 Jan 2001 00:00:00 GMT", true },
	{ "0", true },
	{ " 120", false },
	{ "99999999999999999999", true },  /* beyond a long */
	{ "9223372036854776", true },      /* overflows when made milliseconds */
};
static const char *const ctypes[8] = {
	"application/json", "application/problem+json",
	"application/pem-certificate-chain", "text/html", NULL,
	"application/json; charset=utf-8", "application/jsonx", "application/json",
};
static const char *const locations[4] = {
	CA "/order/1", "https://evil.test/order/1", NULL, "http://ca.test/acct/1",
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int fuzz_send(void *ud, const cps_http_req *req, cps_http_resp *r,
		     cps_err *err)
{
	fuzz_ca *ca = ud;
	char nonce[32];

	(void)err;
	memset(r, 0, sizeof(*r));
	if (++ca->requests > MAX_REQUESTS)
		abort();
	snprintf(nonce, sizeof(nonce), "nonce-%u", ++ca->seq);
	if (strcmp(req->method, "GET") == 0) {
		if (strcmp(req->url, CA "/dir") != 0)
			abort(); /* the only plain GET is the directory */
		r->status = 200;
		r->content_type = strdup("application/json");
		if (asprintf(&r->body, "{\"newNonce\":\"" CA "/nonce\",\"newAccount\":\"" CA "/acct\","
			     "\"newOrder\":\"" CA "/new-order\",\"revokeCert\":\"" CA "/revoke\"%s%s}",
			     ca->meta ? ",\"meta\":" : "", ca->meta ? ca->meta : "") < 0)
			abort();
		r->body_len = strlen(r->body);
		return 0;
	}
	if (strcmp(req->method, "HEAD") == 0) {
		r->status = 200;
		r->replay_nonce = strdup(nonce);
		r->body = strdup("");
		return 0;
	}
	if (strcmp(req->method, "POST") != 0 || req->body == NULL)
		abort();
	r->status = ca->status;
	r->content_type = dup_or_null(ca->ctype);
	r->location = dup_or_null(ca->location);
	r->retry_after = dup_or_null(ca->retry_after);
	if (ca->nonce)
		r->replay_nonce = strdup(nonce);
	if (ca->link) {
		r->links[r->nlinks++] = strdup("<" CA "/cert/1/alt>;rel=\"alternate\"");
		r->links[r->nlinks++] = strdup("<https://cdn.test/cert/1/alt2>; rel=alternate, <" CA "/dir>;rel=\"index\"");
	}
	r->body = malloc(ca->len + 1);
	if (r->body == NULL)
		abort();
	memcpy(r->body, ca->body, ca->len);
	r->body[ca->len] = '\0';
	r->body_len = ca->len;
	return 0;
}

/* A failed call says why. */
static void failed(const cps_err *err)
{
	if (err->msg[0] == '\0')
		abort();
}

static bool has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void check_order(const cps_acme_order *o)
{
	if (o->url == NULL || o->status == CPS_ACME_ABSENT || o->status > CPS_ACME_UNKNOWN ||
	    o->nauthz > 100 || has_control(o->profile))
		abort();
	for (size_t i = 0; i < o->nauthz; i++)
		if (o->authzs[i] == NULL)
			abort();
}

static void check_authz(cps_acme *c, const cps_acme_authz *a)
{
	cps_err err;

	if (a->url == NULL || a->name == NULL || a->status == CPS_ACME_ABSENT ||
	    a->status > CPS_ACME_UNKNOWN || a->nch > 16)
		abort();
	for (size_t i = 0; i < a->nch; i++) {
		const cps_acme_challenge *ch = &a->ch[i];
		char *path = NULL, *keyauth = NULL, *txt = NULL;

		if (ch->type == NULL || ch->url == NULL)
			abort();
		if (cps_acme_authz_challenge(a, ch->type) == NULL)
			abort();
		/* dns-persist-01: issuer names and account URL fit a TXT value */
		if (ch->accounturi && strspn(ch->accounturi, CPS_PERSIST_URI_CHARS) != strlen(ch->accounturi))
			abort();
		for (size_t k = 0; k < ch->nissuers; k++) {
			if (cps_persist_value(ch->issuers[k], "https://ca.test/acct/1", true, &txt, &err) != 0 ||
			    cps_persist_check(txt, ch->issuers, ch->nissuers, "https://ca.test/acct/1", true,
					      0) != CPS_PERSIST_OK)
				abort();
			free(txt);
			txt = NULL;
		}
		if (ch->token == NULL)
			continue;
		/* an accepted token is safe as a file name below the root */
		if (!cps_b64url_valid(ch->token, 16, 256) ||
		    cps_http01_path(ROOT, ch->token, &path, &err) != 0 ||
		    strncmp(path, ROOT "/", strlen(ROOT) + 1) != 0 ||
		    strstr(path, "/..") != NULL || strchr(ch->token, '/') != NULL)
			abort();
		if (cps_acme_key_authorization(c, ch->token, &keyauth, &err) != 0 ||
		    cps_acme_dns_value(keyauth, &txt, &err) != 0 ||
		    !cps_b64url_valid(txt, 43, 43))
			abort();
		free(txt);
		free(keyauth);
		free(path);
	}
}

static void problem(const char *body)
{
	cps_acme_problem p;
	cps_err err;

	if (cps_acme_problem_parse(body, &p) != 0) {
		if (p.type != NULL || p.nsub != 0)
			abort();
		return;
	}
	if (p.type == NULL || p.nsub > CPS_ACME_MAX_SUBPROBLEMS)
		abort();
	cps_err_clear(&err);
	if (cps_acme_problem_error(&p, "the fuzzed request", &err) != -1 ||
	    err.code == CPS_OK || strstr(err.msg, "the fuzzed request") == NULL)
		abort();
	(void)cps_acme_problem_is(&p, "badNonce");
	cps_acme_problem_free(&p);
}

/* A RenewalInfo: accepted, a window that ends after it starts and an
 * explanation of one line; refused, nothing kept and a message. */
static void renewal_info(const char *body)
{
	cps_acme_ari a = { .retry_after = -1 };
	cps_err err;

	cps_err_clear(&err);
	if (cps_acme_ari_parse(body, &a, &err) == 0) {
		if (a.end <= a.start || (a.explanation && strpbrk(a.explanation, "\r\n\t\x1b")))
			abort();
	} else if (a.start || a.end || a.explanation || err.msg[0] == '\0') {
		abort();
	}
	cps_acme_ari_free(&a);
}

/* A ready order of our own, for the calls that need one when the CA's
 * answer did not give one. */
static void own_order(cps_acme_order *o)
{
	memset(o, 0, sizeof(*o));
	o->url = strdup(CA "/order/1");
	o->status = CPS_ACME_READY;
	o->finalize = strdup(CA "/finalize/1");
	if (o->url == NULL || o->finalize == NULL)
		abort();
}

static void walk(cps_acme *c, bool wildcard, bool preferred, bool extensions)
{
	static const unsigned char mac[] = "0123456789abcdef0123456789abcdef";
	const cps_acme_eab eab = { "kid-1", mac, sizeof(mac) - 1 };
	static const char *const names[] = { "a.example", "*.a.example", "www.a.example" };
	static const unsigned char csr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	cps_acme_order o;
	cps_acme_authz a;
	char *kid = NULL, *pem = NULL;
	long long past = cps_monotonic_ms() - 1;
	cps_err err;

	cps_err_clear(&err);
	if (cps_acme_account_lookup(c, &kid, &err) == 0) {
		if (kid != NULL && strncmp(kid, "https://", 8) != 0)
			abort();
		free(kid);
	} else {
		failed(&err);
	}
	if (cps_acme_account_create(c, "admin@a.example", extensions ? &eab : NULL, &kid, &err) == 0) {
		if (kid == NULL || strncmp(kid, "https://", 8) != 0)
			abort();
		free(kid);
	} else {
		failed(&err);
		if (kid != NULL)
			abort();
	}
	cps_acme_set_kid(c, CA "/acct/1", &err);
	if (cps_acme_account_set_contact(c, "admin@a.example", &err) != 0)
		failed(&err);

	/* new order; its URL (Location) and the body's URLs come from the CA */
	if (cps_acme_order_new(c, wildcard ? names + 1 : names, 2, extensions ? "shortlived" : NULL,
			       NULL, &o, &err) == 0) {
		check_order(&o);
		cps_acme_order_free(&o);
	} else {
		failed(&err);
		if (o.url != NULL || o.nauthz != 0)
			abort();
	}
	if (cps_acme_order_get(c, CA "/order/1", &o, &err) == 0) {
		check_order(&o);
		if (cps_acme_order_poll(c, &o, CPS_ACME_IN(CPS_ACME_PENDING) | CPS_ACME_IN(CPS_ACME_PROCESSING),
					past, &err) != 0)
			failed(&err);
		if (cps_acme_order_finalize(c, &o, csr, sizeof(csr), &err) != 0)
			failed(&err);
		check_order(&o);
		cps_acme_order_free(&o);
	} else {
		failed(&err);
	}
	own_order(&o);
	if (cps_acme_order_finalize(c, &o, csr, sizeof(csr), &err) == 0)
		check_order(&o);
	else
		failed(&err);
	cps_acme_order_free(&o);

	if (cps_acme_authz_get(c, CA "/authz/1", &a, &err) == 0) {
		check_authz(c, &a);
		cps_acme_authz_free(&a);
	} else {
		failed(&err);
		if (a.nch != 0 || a.ch != NULL || a.url != NULL)
			abort();
	}
	if (cps_acme_challenge_respond(c, CA "/chall/1", &err) != 0)
		failed(&err);
	if (cps_acme_authz_poll(c, CA "/authz/1", past, &a, &err) == 0)
		check_authz(c, &a);
	else
		failed(&err);
	cps_acme_authz_free(&a);

	if (cps_acme_certificate_get(c, CA "/cert/1", preferred ? "ISRG Root X1" : NULL,
				     &pem, &err) == 0) {
		if (pem == NULL || strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL)
			abort();
		free(pem);
	} else {
		failed(&err);
		if (pem != NULL)
			abort();
	}
	if (cps_acme_revoke(c, csr, sizeof(csr), 4, &err) != 0)
		failed(&err);
}

/* The input as the directory's meta: what is taken of its profiles. */
static void meta_walk(const char *body)
{
	fuzz_ca ca = { .meta = body };
	const cps_acme_meta *m;
	cps_acme *c = NULL;
	cps_err err;

	if (cps_acme_new(CA "/dir", cps_http_new_custom(fuzz_send, &ca), &c, &err) != 0)
		abort();
	if (cps_acme_load_directory(c, &err) == 0) {
		m = cps_acme_meta_get(c);
		if (m->nprofiles > 64)
			abort();
		for (size_t i = 0; i < m->nprofiles; i++)
			if (*m->profiles[i] == '\0' || strlen(m->profiles[i]) > 64 ||
			    has_control(m->profiles[i]) || !cps_acme_offers_profile(c, m->profiles[i]) ||
			    (i > 0 && strcmp(m->profiles[i - 1], m->profiles[i]) > 0))
				abort();
	} else {
		failed(&err);
		if (cps_acme_meta_get(c)->nprofiles != 0)
			abort();
	}
	cps_acme_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *key; /* generated once: key generation is slow */
	uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
	fuzz_ca ca = { 0 };
	cps_acme *c = NULL;
	cps_err err;
	char *body;
	unsigned i;

	if (key == NULL && cps_key_generate(CPS_KEY_EC256, &key, &err) != 0)
		abort();
	ca.len = size > 2 ? size - 2 : 0;
	body = malloc(ca.len + 1);
	if (body == NULL)
		return 0;
	if (ca.len)
		memcpy(body, data + 2, ca.len);
	body[ca.len] = '\0';
	ca.body = body;
	ca.status = statuses[b0 & 7];
	i = ((b0 >> 3) & 3) | ((b0 >> 5) & 4);
	ca.retry_after = retry_afters[i].value;
	if (ca.status >= 500 && !retry_afters[i].for_5xx)
		ca.retry_after = "3600";
	ca.nonce = !(b0 & 0x20);
	ca.link = b0 & 0x40;
	ca.ctype = ctypes[b1 & 7];
	ca.location = locations[(b1 >> 3) & 3];

	problem(body);
	renewal_info(body);
	if (cps_acme_new(CA "/dir", cps_http_new_custom(fuzz_send, &ca), &c, &err) != 0)
		abort();
	cps_acme_use_key(c, key);
	walk(c, b1 & 0x40, b1 & 0x20, b1 & 0x80);
	cps_acme_free(c);
	meta_walk(body);
	free(body);
	cps_report_reset();
	return 0;
}
