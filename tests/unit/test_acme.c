/* The ACME client without a network: base64url, JWS signatures verified
 * with OpenSSL, the RFC 7638 thumbprint, key authorizations, Retry-After,
 * Link headers, problem mapping, and the POST choke point against a
 * stand-in transport (nonce pool, badNonce, 5xx retries, rate limits,
 * origin checks), and hostile CA answers from a scripted transport. */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <time.h>

#include "cpssl/acme/account.h"
#include "cpssl/acme/client.h"
#include "cpssl/acme/jws.h"
#include "cpssl/acme/order.h"
#include "cpssl/acme/problem.h"
#include "cpssl/core/b64.h"
#include "cpssl/crypto/key.h"
#include "cpssl/solvers/solvers.h"
#include "unit.h"

/* ---- base64url --------------------------------------------------------- */

static void b64_tests(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" },
	};
	unsigned char *dec;
	size_t len;
	cps_err err;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *enc = cps_b64url_encode(v[i].in, strlen(v[i].in)), desc[64];

		snprintf(desc, sizeof(desc), "b64url('%s')", v[i].out);
		CHECK_STR(enc, v[i].out, desc);
		CHECK(cps_b64url_decode(v[i].out, &dec, &len, &err) == 0 && len == strlen(v[i].in) &&
		      memcmp(dec, v[i].in, len) == 0, "  decodes back");
		free(dec);
		free(enc);
	}
	CHECK(cps_b64url_decode("Zm9v+", &dec, &len, &err) == -1, "'+' is not base64url");
	CHECK(cps_b64url_decode("Zh", &dec, &len, &err) == -1, "non-canonical trailing bits refused");
	CHECK(cps_b64url_decode("Z", &dec, &len, &err) == -1, "impossible length refused");
	CHECK(cps_b64url_valid("JSauNS-u2QmqMZfnyljdbD9PTWF39-W7mMvBPuOf294", 16, 256), "a real token is valid");
	CHECK(!cps_b64url_valid("../../etc/passwd-aaaaaaaa", 16, 256), "a path is not a token");
	CHECK(!cps_b64url_valid("short", 16, 256), "a too-short token is refused");
}

/* ---- JWS ----------------------------------------------------------------- */

static json_object *b64_json(const char *b64)
{
	unsigned char *raw;
	size_t len;
	json_object *o;

	if (cps_b64url_decode(b64, &raw, &len, NULL) != 0)
		return NULL;
	o = json_tokener_parse((char *)raw);
	free(raw);
	return o;
}

/* Verify a flattened JWS with OpenSSL directly. */
static bool jws_verifies(EVP_PKEY *key, const char *jws, const char *alg)
{
	json_object *o = json_tokener_parse(jws), *hdr;
	const char *prot = cps_acme_str(o, "protected"), *pay = cps_acme_str(o, "payload");
	const char *sig64 = cps_acme_str(o, "signature");
	unsigned char *sig = NULL, *der = NULL;
	size_t siglen = 0;
	char *input = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	int derlen = 0;

	if (!prot || !pay || !sig64 || cps_b64url_decode(sig64, &sig, &siglen, NULL) != 0)
		goto out;
	hdr = b64_json(prot);
	ok = hdr && strcmp(cps_acme_str(hdr, "alg"), alg) == 0;
	json_object_put(hdr);
	if (!ok || asprintf(&input, "%s.%s", prot, pay) < 0)
		goto out;
	ok = false;
	if (strcmp(alg, "RS256") != 0) {
		/* r || s → DER */
		ECDSA_SIG *es = ECDSA_SIG_new();
		size_t half = siglen / 2;

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL), BN_bin2bn(sig + half, (int)half, NULL));
		derlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
	}
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, strcmp(alg, "ES384") == 0 ? "SHA384" : "SHA256",
				     NULL, NULL, key, NULL) == 1 &&
	     EVP_DigestVerify(ctx, der ? der : sig, der ? (size_t)derlen : siglen,
			      (unsigned char *)input, strlen(input)) == 1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(sig);
	free(input);
	json_object_put(o);
	return ok;
}

static void jws_tests(void)
{
	static const struct { cps_key_type t; const char *alg; } kinds[] = {
		{ CPS_KEY_EC256, "ES256" }, { CPS_KEY_EC384, "ES384" }, { CPS_KEY_RSA2048, "RS256" },
	};
	cps_err err;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *key = NULL;
		char *jws = NULL, desc[80];
		json_object *o, *hdr;

		if (cps_key_generate(kinds[i].t, &key, &err) != 0) {
			CHECK(false, "key generation");
			continue;
		}
		CHECK_STR(cps_jws_alg(key), kinds[i].alg, "JWS algorithm for the key type");
		snprintf(desc, sizeof(desc), "%s signature verifies with OpenSSL", kinds[i].alg);
		CHECK(cps_jws_sign(key, "https://ca/acct/1", "nonce-1", "https://ca/order",
				   "{\"a\":1}", &jws, &err) == 0 && jws_verifies(key, jws, kinds[i].alg), desc);
		o = json_tokener_parse(jws);
		hdr = b64_json(cps_acme_str(o, "protected"));
		CHECK(hdr && strcmp(cps_acme_str(hdr, "kid"), "https://ca/acct/1") == 0 &&
		      strcmp(cps_acme_str(hdr, "nonce"), "nonce-1") == 0 &&
		      strcmp(cps_acme_str(hdr, "url"), "https://ca/order") == 0 &&
		      !json_object_object_get_ex(hdr, "jwk", NULL), "  protected header has kid, nonce, url and no jwk");
		json_object_put(hdr);
		json_object_put(o);
		free(jws);

		CHECK(cps_jws_sign(key, NULL, "n2", "https://ca/new-acct", "", &jws, &err) == 0 &&
		      jws_verifies(key, jws, kinds[i].alg), "  JWK-signed POST-as-GET verifies");
		o = json_tokener_parse(jws);
		hdr = b64_json(cps_acme_str(o, "protected"));
		CHECK(hdr && json_object_object_get_ex(hdr, "jwk", NULL) &&
		      !json_object_object_get_ex(hdr, "kid", NULL), "  header carries the jwk");
		CHECK_STR(cps_acme_str(o, "payload"), "", "  POST-as-GET payload is empty");
		json_object_put(hdr);
		json_object_put(o);
		free(jws);
		EVP_PKEY_free(key);
	}
}

/* RFC 7638 §3.1: the example RSA key and its thumbprint. */
static void thumbprint_test(void)
{
	static const char n64[] =
		"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
		"ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
		"368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
		"M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
	unsigned char *n = NULL, *e = NULL;
	size_t nl, el;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn_n, *bn_e;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	char *tp = NULL;
	cps_err err;

	cps_b64url_decode(n64, &n, &nl, NULL);
	cps_b64url_decode("AQAB", &e, &el, NULL);
	bn_n = BN_bin2bn(n, (int)nl, NULL);
	bn_e = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
	params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_fromdata_init(ctx);
	EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
	CHECK(key && cps_jwk_thumbprint(key, &tp, &err) == 0, "thumbprint of the RFC 7638 key");
	CHECK_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "  equals the RFC's value");
	free(tp);
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
}

static void keyauth_tests(void)
{
	char *v = NULL;
	cps_err err;

	/* the value the ApisCP documentation computes with openssl for its example */
	CHECK(cps_acme_dns_value("y8SB_bt3yw-WgW9qpbsycaf5JohZJ2O4Mg5WttMXEPc."
				 "eBTzuQcWvH6qMui1h0LTUCEYFIbxlCTafdxpVRJU-KY", &v, &err) == 0,
	      "dns-01 value of a key authorization");
	CHECK_STR(v, "wA1Vss7jqjQ-FYQ3Jvs99ZWg9sg8Stafh6KjEjxY9J4", "  matches the documented value");
	free(v);
}

static void header_tests(void)
{
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
	char *l;

	CHECK_INT(cps_http_retry_after("120", now), 120, "Retry-After seconds");
	CHECK_INT(cps_http_retry_after("Tue, 14 Nov 2023 22:15:20 GMT", now), 120, "Retry-After HTTP-date");
	CHECK_INT(cps_http_retry_after("Mon, 13 Nov 2023 22:15:20 GMT", now), 0, "a date in the past is 0");
	CHECK_INT(cps_http_retry_after("soon", now), -1, "garbage is -1");
	CHECK_INT(cps_http_retry_after(NULL, now), -1, "missing is -1");
	CHECK_INT(cps_http_retry_after("-5", now), -1, "negative is -1");

	/* the wait before each poll of an order or authorization */
	CHECK_INT(cps_acme_poll_delay_ms(0, -1), 10, "first poll after a quick 10 ms");
	CHECK_INT(cps_acme_poll_delay_ms(1, -1), 40, "then 40 ms");
	CHECK_INT(cps_acme_poll_delay_ms(2, -1), 80, "  doubling");
	CHECK_INT(cps_acme_poll_delay_ms(6, -1), 1280, "  up to 1.28 s");
	CHECK_INT(cps_acme_poll_delay_ms(7, -1), 2000, "then every 2 s");
	CHECK_INT(cps_acme_poll_delay_ms(1000, -1), 2000, "  however long it takes");
	CHECK_INT(cps_acme_poll_delay_ms(0, 3), 3000, "Retry-After wins over the schedule");
	CHECK_INT(cps_acme_poll_delay_ms(2, 0), 0, "  even when it says now");
	CHECK_INT(cps_acme_poll_delay_ms(0, 86400), 60000, "  bounded to a minute");

	l = cps_http_link("<https://ca/cert/1/1>;rel=\"alternate\"", "alternate");
	CHECK_STR(l, "https://ca/cert/1/1", "Link rel=alternate");
	free(l);
	l = cps_http_link("<https://ca/dir>;rel=\"index\", <https://ca/alt/2>; rel=\"alternate\"", "alternate");
	CHECK_STR(l, "https://ca/alt/2", "second link in one header");
	free(l);
	l = cps_http_link("<https://ca/dir>;rel=\"index\"", "alternate");
	CHECK(l == NULL, "no alternate link");
	free(l);
}

static void problem_tests(void)
{
	cps_acme_problem p;
	cps_err err;

	CHECK(cps_acme_problem_parse("{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
				     "\"detail\":\"Error creating new order\",\"status\":400,"
				     "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
				     "\"detail\":\"policy forbids\",\"identifier\":{\"type\":\"dns\",\"value\":\"x.example\"}}]}",
				     &p) == 0, "problem with a subproblem parses");
	CHECK(cps_acme_problem_is(&p, "rejectedIdentifier"), "  its short type");
	cps_acme_problem_error(&p, "the new order", &err);
	CHECK(err.code == CPS_E_CA && err.input, "  input-related CA error");
	CHECK_HAS(err.msg, "the CA refused the new order: Error creating new order (rejectedIdentifier); x.example: policy forbids",
		  "  message quotes detail and subproblem");
	cps_acme_problem_free(&p);

	CHECK(cps_acme_problem_parse("{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"too many certificates already issued for: example.com\"}", &p) == 0 &&
	      cps_acme_problem_error(&p, "x", &err) == -1 && err.code == CPS_E_RATELIMIT && !err.input,
	      "rateLimited is a transient rate-limit error");
	cps_acme_problem_free(&p);
	CHECK(cps_acme_problem_parse("{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}", &p) == 0 &&
	      cps_acme_problem_error(&p, "x", &err) == -1 && !err.input, "serverInternal is transient");
	cps_acme_problem_free(&p);
	CHECK(cps_acme_problem_parse("not json", &p) == -1, "non-JSON is not a problem");
	CHECK(cps_acme_problem_parse("{\"detail\":\"x\"}", &p) == -1, "no type, not a problem");
}

/* ---- the choke point against a stand-in CA -------------------------------- */

typedef struct fake_ca {
	int bad_nonce_left;   /* answer badNonce this many times */
	int fail_5xx_left;    /* answer 503 this many times */
	bool rate_limit;
	int nonce_seq;
	int heads, posts, gets;
	char last_nonce[32];  /* the nonce the last POST was signed with */
	char issued[32];      /* the last Replay-Nonce handed out */
	bool used_issued;     /* the last POST used the last nonce handed out */
	bool no_nonce;        /* omit Replay-Nonce on POST answers */
} fake_ca;

static int fake_send(void *ud, const cps_http_req *req, cps_http_resp *r, cps_err *err)
{
	fake_ca *ca = ud;
	char nonce[32];

	(void)err;
	memset(r, 0, sizeof(*r));
	snprintf(nonce, sizeof(nonce), "nonce-%d", ++ca->nonce_seq);
	r->replay_nonce = strdup(nonce);
	r->content_type = strdup("application/json");
	if (strcmp(req->method, "GET") == 0) {
		ca->gets++;
		free(r->replay_nonce);
		r->replay_nonce = NULL;
		r->status = 200;
		r->body = strdup("{\"newNonce\":\"https://ca.test/nonce\",\"newAccount\":\"https://ca.test/acct\","
				 "\"newOrder\":\"https://ca.test/order\",\"revokeCert\":\"https://ca.test/revoke\"}");
		return 0;
	}
	if (strcmp(req->method, "HEAD") == 0) {
		ca->heads++;
		snprintf(ca->issued, sizeof(ca->issued), "%s", nonce);
		r->status = 200;
		r->body = strdup("");
		return 0;
	}
	ca->posts++;
	{
		json_object *o = json_tokener_parse(req->body);
		json_object *hdr = b64_json(cps_acme_str(o, "protected"));

		snprintf(ca->last_nonce, sizeof(ca->last_nonce), "%s", cps_acme_str(hdr, "nonce"));
		ca->used_issued = strcmp(ca->last_nonce, ca->issued) == 0;
		json_object_put(hdr);
		json_object_put(o);
	}
	if (!ca->no_nonce)
		snprintf(ca->issued, sizeof(ca->issued), "%s", nonce);
	if (ca->no_nonce) {
		free(r->replay_nonce);
		r->replay_nonce = NULL;
	}
	if (ca->bad_nonce_left > 0) {
		ca->bad_nonce_left--;
		r->status = 400;
		free(r->content_type);
		r->content_type = strdup("application/problem+json");
		r->body = strdup("{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"JWS has an invalid anti-replay nonce\"}");
		return 0;
	}
	if (ca->fail_5xx_left > 0) {
		ca->fail_5xx_left--;
		r->status = 503;
		r->retry_after = strdup("0");
		r->body = strdup("");
		return 0;
	}
	if (ca->rate_limit) {
		r->status = 429;
		free(r->content_type);
		r->content_type = strdup("application/problem+json");
		r->retry_after = strdup("3600");
		r->body = strdup("{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
				 "\"detail\":\"too many certificates (5) already issued for this exact set of domains in the last 168h0m0s\"}");
		return 0;
	}
	r->status = 201;
	r->location = strdup("https://ca.test/order/1");
	r->body = strdup("{\"status\":\"pending\"}");
	return 0;
}

static void choke_point_tests(void)
{
	fake_ca ca = { 0 };
	cps_acme *c;
	cps_acme_resp r;
	EVP_PKEY *key;
	cps_err err;
	const cps_acme_stats *st;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	CHECK(cps_acme_new("https://ca.test/dir", cps_http_new_custom(fake_send, &ca), &c, &err) == 0,
	      "session over a stand-in transport");
	cps_acme_use_key(c, key);
	cps_acme_set_kid(c, "https://ca.test/acct/1", &err);
	CHECK(cps_acme_load_directory(c, &err) == 0 && cps_acme_load_directory(c, &err) == 0 && ca.gets == 1,
	      "the directory is fetched once");

	for (int i = 0; i < 5; i++)
		cps_acme_post(c, "https://ca.test/order", "{}", 0, "a test post", &r, &err), cps_acme_resp_free(&r);
	st = cps_acme_stats_get(c);
	CHECK_INT(ca.heads, 1, "five POSTs need one newNonce: the pool is refilled from Replay-Nonce");
	CHECK_INT(st->posts, 5, "  five POSTs sent");

	ca.bad_nonce_left = 3;
	CHECK(cps_acme_post(c, "https://ca.test/order", "{}", 0, "a post", &r, &err) == 0 && r.status == 201,
	      "badNonce three times, then success");
	CHECK_INT(st->bad_nonces, 3, "  three badNonce retries counted");
	CHECK(ca.used_issued, "  the last attempt used the nonce from the previous answer");
	CHECK_STR(r.http.location, "https://ca.test/order/1", "  Location kept");
	CHECK(r.json && strcmp(cps_acme_str(r.json, "status"), "pending") == 0, "  JSON body parsed");
	cps_acme_resp_free(&r);

	ca.bad_nonce_left = 100;
	CHECK(cps_acme_post(c, "https://ca.test/order", "{}", 0, "a post", &r, &err) == -1,
	      "endless badNonce gives up (bounded)");
	CHECK_HAS(err.msg, "badNonce", "  with the CA's problem in the message");
	ca.bad_nonce_left = 0;

	ca.fail_5xx_left = 2;
	CHECK(cps_acme_post(c, "https://ca.test/order", "{}", 0, "a post", &r, &err) == 0,
	      "503 twice, then success");
	CHECK_INT(st->retries, 2, "  two retries counted");
	cps_acme_resp_free(&r);

	ca.rate_limit = true;
	CHECK(cps_acme_post(c, "https://ca.test/order", "{}", 0, "the new order for a.example", &r, &err) == -1 &&
	      err.code == CPS_E_RATELIMIT, "429 rateLimited is an error, not retried");
	CHECK_HAS(err.msg, "too many certificates (5) already issued", "  naming the limit");
	CHECK_HAS(err.msg, "retry after 3600 seconds (at ", "  and when to retry");
	CHECK(err.retry_at >= (long long)time(NULL) + 3590 && err.retry_at <= (long long)time(NULL) + 3600,
	      "  the retry time is carried for the backoff");
	CHECK_STR(err.problem, "rateLimited", "  the problem type travels in the error");
	ca.rate_limit = false;

	CHECK(cps_acme_post(c, "https://evil.test/order", "{}", 0, "the order", &r, &err) == -1,
	      "a URL outside the CA's origin is refused");
	CHECK_HAS(err.msg, "outside its own origin https://ca.test", "  saying so");
	CHECK(cps_acme_post(c, "https://ca.test.evil/x", "{}", 0, "the order", &r, &err) == -1,
	      "a look-alike host is outside the origin too");
	CHECK(cps_acme_post(c, "https://cdn.test/cert", NULL, CPS_ACME_ANY_ORIGIN, "the certificate", &r, &err) == 0,
	      "the certificate download may leave the origin");
	cps_acme_resp_free(&r);

	ca.no_nonce = true;
	ca.heads = 0;
	cps_acme_post(c, "https://ca.test/order", "{}", 0, "a", &r, &err);
	cps_acme_resp_free(&r);
	cps_acme_post(c, "https://ca.test/order", "{}", 0, "b", &r, &err);
	cps_acme_resp_free(&r);
	CHECK(ca.heads >= 1, "without Replay-Nonce answers the pool is refilled by newNonce");

	cps_acme_free(c);
	EVP_PKEY_free(key);
}

/* ---- hostile CA answers ------------------------------------------------------ */

#define HCA "https://ca.test"
#define MANY_AUTHZ 5000

/* One scripted answer: a POST to URL gets STATUS, CTYPE, LOCATION, BODY
 * ("@many": an order listing MANY_AUTHZ authorizations, built at run time). */
typedef struct script_ans {
	const char *url;
	long status;
	const char *ctype, *location, *body;
} script_ans;

typedef struct scripted_ca {
	const script_ans *rows;
	char *many;           /* the "@many" body */
	int nonce_seq;
	int unscripted;       /* POSTs to a URL the script does not know */
} scripted_ca;

static int scripted_send(void *ud, const cps_http_req *req, cps_http_resp *r, cps_err *err)
{
	scripted_ca *ca = ud;
	const script_ans *a = NULL;
	char nonce[32];

	(void)err;
	memset(r, 0, sizeof(*r));
	snprintf(nonce, sizeof(nonce), "nonce-%d", ++ca->nonce_seq);
	r->replay_nonce = strdup(nonce);
	if (strcmp(req->method, "GET") == 0) {
		r->status = 200;
		r->content_type = strdup("application/json");
		r->body = strdup("{\"newNonce\":\"" HCA "/nonce\",\"newAccount\":\"" HCA "/acct\","
				 "\"newOrder\":\"" HCA "/new-order\",\"revokeCert\":\"" HCA "/revoke\"}");
		r->body_len = strlen(r->body);
		return 0;
	}
	if (strcmp(req->method, "HEAD") == 0) {
		r->status = 200;
		r->body = strdup("");
		return 0;
	}
	for (const script_ans *x = ca->rows; x->url; x++)
		if (strcmp(x->url, req->url) == 0) {
			a = x;
			break;
		}
	if (a == NULL) {
		ca->unscripted++;
		r->status = 404;
		r->content_type = strdup("application/problem+json");
		r->body = strdup("{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"not scripted\"}");
		r->body_len = strlen(r->body);
		return 0;
	}
	r->status = a->status;
	r->content_type = a->ctype ? strdup(a->ctype) : NULL;
	r->location = a->location ? strdup(a->location) : NULL;
	r->body = strdup(strcmp(a->body, "@many") == 0 ? ca->many : a->body);
	r->body_len = strlen(r->body);
	return 0;
}

typedef enum hostile_act {
	H_NEW_ORDER,       /* cps_acme_order_new fails */
	H_FINALIZE,        /* the order reads fine; finalizing it fails */
	H_AUTHZ,           /* cps_acme_authz_get fails */
	H_HTTP01_TOKEN,    /* the authorization reads without the token; the
			    * http-01 path of the raw token is refused */
	H_RESPOND,         /* the authorization reads; answering its challenge fails */
	H_CERT,            /* cps_acme_certificate_get fails */
	H_ACCOUNT,         /* cps_acme_account_create fails */
} hostile_act;

#define J "application/json"
#define PJ "application/problem+json"
#define ORDER_OK "{\"status\":\"pending\",\"authorizations\":[\"" HCA "/authz/1\"],\"finalize\":\"" HCA "/finalize/1\"}"
#define AUTHZ_WITH_TOKEN(tok)                                                                \
	"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"   \
	"\"challenges\":[{\"type\":\"http-01\",\"url\":\"" HCA "/chall/1\",\"status\":\"pending\"," \
	"\"token\":\"" tok "\"}]}"

static const struct hostile_case {
	const char *name;
	hostile_act act;
	script_ans rows[3];
	cps_code code;
	const char *msg;
} hostile[] = {
	{ "malformed JSON for a new order", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "{\"status\":\"pending\",\"authorizations\":[\"" HCA "/authz/1\"" } },
	  CPS_E_PROTO, "the CA's order answer is not an order object" },
	{ "a new order that is a JSON array", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "[" ORDER_OK "]" } },
	  CPS_E_PROTO, "not an order object" },
	{ "an order object without \"status\"", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "{\"authorizations\":[\"" HCA "/authz/1\"],\"finalize\":\"" HCA "/finalize/1\"}" } },
	  CPS_E_PROTO, "not an order object" },
	{ "an order whose \"status\" is a number", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "{\"status\":1,\"authorizations\":[\"" HCA "/authz/1\"]}" } },
	  CPS_E_PROTO, "not an order object" },
	{ "an order served as text/html", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = "text/html", .location = HCA "/order/1",
	      .body = ORDER_OK } },
	  CPS_E_PROTO, "not an order object" },
	{ "a new order without Location", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .body = ORDER_OK } },
	  CPS_E_PROTO, "carries no order URL (Location)" },
	{ "a new order without authorizations", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "{\"status\":\"pending\",\"authorizations\":[],\"finalize\":\"" HCA "/finalize/1\"}" } },
	  CPS_E_PROTO, "has no authorizations" },
	{ "an authorization URL that is not a string", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "{\"status\":\"pending\",\"authorizations\":[\"" HCA "/authz/1\",{\"url\":1}]}" } },
	  CPS_E_PROTO, "malformed authorization URL" },
	{ "an order listing thousands of authorizations", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J, .location = HCA "/order/1",
	      .body = "@many" } },
	  CPS_E_PROTO, "the CA's order lists 5000 authorizations" },
	{ "a problem document that is not JSON", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 400, .ctype = PJ,
	      .body = "<html><body>400 Bad Request</body></html>" } },
	  CPS_E_CA, "the CA answered the new order for a.example with HTTP 400" },
	{ "a problem document without a type", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 403, .ctype = PJ,
	      .body = "{\"detail\":\"no type here\",\"status\":403}" } },
	  CPS_E_CA, "with HTTP 403" },
	{ "a Location on another origin for a new order", H_NEW_ORDER,
	  { { .url = HCA "/new-order", .status = 201, .ctype = J,
	      .location = "https://evil.test/order/1", .body = ORDER_OK } },
	  CPS_E_PROTO, "the CA's new order URL https://evil.test/order/1 is outside its own origin" },
	{ "status \"ready\" without a finalize URL", H_FINALIZE,
	  { { .url = HCA "/order/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"ready\",\"authorizations\":[\"" HCA "/authz/1\"]}" } },
	  CPS_E_PROTO, "the CA gave no URL for the finalization (CSR)" },
	{ "a finalize URL on another origin", H_FINALIZE,
	  { { .url = HCA "/order/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"ready\",\"authorizations\":[\"" HCA "/authz/1\"],"
		      "\"finalize\":\"https://evil.test/finalize/1\"}" } },
	  CPS_E_PROTO, "outside its own origin" },
	{ "a finalize answer that is not an order", H_FINALIZE,
	  { { .url = HCA "/order/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"ready\",\"finalize\":\"" HCA "/finalize/1\"}" },
	    { .url = HCA "/finalize/1", .status = 200, .ctype = J, .body = "{\"ok\":true}" } },
	  CPS_E_PROTO, "not an order object" },
	{ "an authorization without \"identifier\"", H_AUTHZ,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"pending\",\"challenges\":[]}" } },
	  CPS_E_PROTO, "the CA's authorization answer is not an authorization object" },
	{ "an authorization without \"challenges\"", H_AUTHZ,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}}" } },
	  CPS_E_PROTO, "not an authorization object" },
	{ "an authorization whose \"challenges\" is an object", H_AUTHZ,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
		      "\"challenges\":{\"type\":\"http-01\"}}" } },
	  CPS_E_PROTO, "not an authorization object" },
	{ "an identifier without a value", H_AUTHZ,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\"},\"challenges\":[]}" } },
	  CPS_E_PROTO, "not an authorization object" },
	{ "a challenge token with \"../\"", H_HTTP01_TOKEN,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = AUTHZ_WITH_TOKEN("../../../../etc/cron.d/evil") } },
	  CPS_E_PROTO, "not base64url" },
	{ "a challenge token with \"/\"", H_HTTP01_TOKEN,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = AUTHZ_WITH_TOKEN("abcdefghijkl/mnopqrstuvwx") } },
	  CPS_E_PROTO, "not base64url" },
	{ "a challenge token of dots", H_HTTP01_TOKEN,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = AUTHZ_WITH_TOKEN("................") } },
	  CPS_E_PROTO, "not base64url" },
	{ "a challenge URL on another origin", H_RESPOND,
	  { { .url = HCA "/authz/1", .status = 200, .ctype = J,
	      .body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
		      "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://evil.test/chall/1\","
		      "\"token\":\"DGyRejmCefe7v4NfDGDKfA\"}]}" } },
	  CPS_E_PROTO, "outside its own origin" },
	{ "a certificate download that is not PEM", H_CERT,
	  { { .url = HCA "/cert/1", .status = 200, .ctype = "application/pem-certificate-chain",
	      .body = "this is not a certificate\n" } },
	  CPS_E_PROTO, "the CA's certificate download is not a PEM chain" },
	{ "a certificate download that is JSON", H_CERT,
	  { { .url = HCA "/cert/1", .status = 200, .ctype = J, .body = "{\"certificate\":\"MIIB\"}" } },
	  CPS_E_PROTO, "not a PEM chain" },
	{ "an account answer without Location", H_ACCOUNT,
	  { { .url = HCA "/acct", .status = 201, .ctype = J, .body = "{\"status\":\"valid\"}" } },
	  CPS_E_PROTO, "carries no account URL (Location)" },
	{ "an account URL on another origin", H_ACCOUNT,
	  { { .url = HCA "/acct", .status = 201, .ctype = J, .location = "https://evil.test/acct/1",
	      .body = "{\"status\":\"valid\"}" } },
	  CPS_E_PROTO, "the CA's account URL https://evil.test/acct/1 is outside its own origin" },
};

static char *many_authz_order(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fputs("{\"status\":\"pending\",\"finalize\":\"" HCA "/finalize/1\",\"authorizations\":[", f);
	for (int i = 0; i < MANY_AUTHZ; i++)
		fprintf(f, "%s\"" HCA "/authz/%d\"", i ? "," : "", i);
	fputs("]}", f);
	fclose(f);
	return buf;
}

/* Run one hostile case; -1 with ERR set is what every case must end in. */
static int hostile_run(const struct hostile_case *hc, cps_acme *c, cps_err *err)
{
	static const char *const names[] = { "a.example" };
	static const unsigned char csr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	cps_acme_order o;
	cps_acme_authz a;
	const cps_acme_challenge *ch;
	json_object *raw, *chs = NULL;
	char *s = NULL;
	int rc;

	switch (hc->act) {
	case H_NEW_ORDER:
		if (cps_acme_order_new(c, names, 1, NULL, NULL, &o, err) == 0) {
			cps_acme_order_free(&o);
			return 0;
		}
		CHECK(o.url == NULL && o.authzs == NULL && o.nauthz == 0, "  no order is left behind");
		return -1;
	case H_FINALIZE:
		if (cps_acme_order_get(c, HCA "/order/1", &o, err) != 0)
			return 0; /* the wrong place to fail: the message check says so */
		rc = cps_acme_order_finalize(c, &o, csr, sizeof(csr), err);
		cps_acme_order_free(&o);
		return rc;
	case H_AUTHZ:
		if (cps_acme_authz_get(c, HCA "/authz/1", &a, err) == 0) {
			cps_acme_authz_free(&a);
			return 0;
		}
		CHECK(a.ch == NULL && a.nch == 0 && a.name == NULL, "  no authorization is left behind");
		return -1;
	case H_HTTP01_TOKEN:
		if (cps_acme_authz_get(c, HCA "/authz/1", &a, err) != 0)
			return 0;
		ch = cps_acme_authz_challenge(&a, "http-01");
		CHECK(ch != NULL && ch->token == NULL, "  the unsafe token is dropped from the challenge");
		cps_acme_authz_free(&a);
		/* the token as the CA sent it */
		raw = json_tokener_parse(hc->rows[0].body);
		json_object_object_get_ex(raw, "challenges", &chs);
		rc = cps_http01_path("/var/www/acme",
				     cps_acme_str(json_object_array_get_idx(chs, 0), "token"), &s, err);
		json_object_put(raw);
		CHECK(s == NULL, "  cps_http01_path gives no path for it");
		free(s);
		return rc;
	case H_RESPOND:
		if (cps_acme_authz_get(c, HCA "/authz/1", &a, err) != 0)
			return 0;
		ch = cps_acme_authz_challenge(&a, "http-01");
		rc = ch ? cps_acme_challenge_respond(c, ch->url, err) : 0;
		cps_acme_authz_free(&a);
		return rc;
	case H_CERT:
		rc = cps_acme_certificate_get(c, HCA "/cert/1", NULL, &s, err);
		CHECK(s == NULL, "  no chain is returned");
		free(s);
		return rc;
	case H_ACCOUNT:
		rc = cps_acme_account_create(c, "admin@a.example", NULL, &s, err);
		CHECK(s == NULL, "  no account URL is returned");
		free(s);
		return rc;
	}
	return 0;
}

static void hostile_tests(void)
{
	char *many = many_authz_order();
	EVP_PKEY *key = NULL;
	cps_err err;

	if (cps_key_generate(CPS_KEY_EC256, &key, &err) != 0 || many == NULL) {
		CHECK(false, "hostile CA answers: setup");
		free(many);
		return;
	}
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const struct hostile_case *hc = &hostile[i];
		scripted_ca ca = { .rows = hc->rows, .many = many };
		cps_acme *c = NULL;
		char desc[160];
		int rc;

		if (cps_acme_new(HCA "/dir", cps_http_new_custom(scripted_send, &ca), &c, &err) != 0) {
			CHECK(false, "hostile CA answers: session");
			continue;
		}
		cps_acme_use_key(c, key);
		cps_acme_set_kid(c, HCA "/acct/1", &err);
		cps_err_clear(&err);
		printf("# hostile CA answer: %s\n", hc->name);
		rc = hostile_run(hc, c, &err);
		snprintf(desc, sizeof(desc), "hostile CA: %s gives a clear error", hc->name);
		CHECK(rc == -1, desc);
		snprintf(desc, sizeof(desc), "  error code %s", cps_code_name(hc->code));
		if (!CHECK(err.code == hc->code, desc))
			printf("#   got: %s\n", cps_code_name(err.code));
		CHECK_HAS(err.msg, hc->msg, "  the message says what is wrong");
		CHECK_INT(ca.unscripted, 0, "  no request went anywhere unscripted");
		cps_acme_free(c);
	}
	EVP_PKEY_free(key);
	free(many);
}

int main(void)
{
	b64_tests();
	jws_tests();
	thumbprint_test();
	keyauth_tests();
	header_tests();
	problem_tests();
	choke_point_tests();
	hostile_tests();
	return unit_done();
}
