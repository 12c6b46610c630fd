/* The account requests without a network: the keyChange inner JWS (RFC 8555
 * §7.3.5) checked field by field and verified with OpenSSL, the outer
 * request through the choke point against a stand-in CA (signed by the old
 * key with the account URL, carrying the inner JWS; the session signs with
 * the new key only once the CA confirmed), the account object's status and
 * contacts, and deactivation. */
#include <openssl/ecdsa.h>

#include "cpssl/acme/account.h"
#include "cpssl/acme/client.h"
#include "cpssl/acme/jws.h"
#include "cpssl/core/b64.h"
#include "cpssl/crypto/key.h"
#include "unit.h"

#define CA "https://ca.test"
#define KID CA "/acct/7"

static json_object *b64_json(const char *b64)
{
	unsigned char *raw;
	size_t len;
	json_object *o;

	if (b64 == NULL || cps_b64url_decode(b64, &raw, &len, NULL) != 0)
		return NULL;
	o = json_tokener_parse((char *)raw);
	free(raw);
	return o;
}

static json_object *jwk_of(const EVP_PKEY *key)
{
	char *text = NULL;
	json_object *o;

	if (cps_jwk_json(key, &text, NULL) != 0)
		return NULL;
	o = json_tokener_parse(text);
	free(text);
	return o;
}

/* Verify a flattened JWS with OpenSSL directly. */
static bool jws_verifies(EVP_PKEY *key, const char *jws)
{
	json_object *o = json_tokener_parse(jws);
	const char *prot = cps_acme_str(o, "protected"), *pay = cps_acme_str(o, "payload");
	const char *sig64 = cps_acme_str(o, "signature");
	const char *alg = cps_jws_alg(key);
	unsigned char *sig = NULL, *der = NULL;
	size_t siglen = 0;
	char *input = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;
	int derlen = 0;

	if (!prot || !pay || !sig64 || !alg || cps_b64url_decode(sig64, &sig, &siglen, NULL) != 0 ||
	    asprintf(&input, "%s.%s", prot, pay) < 0)
		goto out;
	if (strcmp(alg, "RS256") != 0) {
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

/* The inner JWS of RFC 8555 §7.3.5 for one pair of key types. */
static void inner_jws_case(cps_key_type old_type, cps_key_type new_type)
{
	EVP_PKEY *old = NULL, *nk = NULL;
	json_object *o = NULL, *hdr = NULL, *pay = NULL, *want_new = NULL, *want_old = NULL, *v;
	char *jws = NULL, desc[120];
	const char *names = NULL;
	cps_err err;

	if (cps_key_generate(old_type, &old, &err) != 0 || cps_key_generate(new_type, &nk, &err) != 0) {
		CHECK(false, "key generation");
		goto out;
	}
	names = cps_jws_alg(nk);
	snprintf(desc, sizeof(desc), "inner JWS from %s to %s is made", cps_jws_alg(old), names);
	CHECK(cps_jws_key_change(nk, old, KID, CA "/key-change", &jws, &err) == 0, desc);
	if (jws == NULL)
		goto out;
	o = json_tokener_parse(jws);
	hdr = b64_json(cps_acme_str(o, "protected"));
	pay = b64_json(cps_acme_str(o, "payload"));
	want_new = jwk_of(nk);
	want_old = jwk_of(old);
	CHECK(hdr && pay, "  its protected header and payload are base64url JSON");
	CHECK_STR(cps_acme_str(hdr, "alg"), names, "  alg is the new key's");
	CHECK(json_object_object_get_ex(hdr, "jwk", &v) && json_object_equal(v, want_new),
	      "  the header carries the new key's JWK");
	CHECK(!json_object_object_get_ex(hdr, "kid", NULL), "  and no kid");
	CHECK(!json_object_object_get_ex(hdr, "nonce", NULL), "  and no nonce (§7.3.5)");
	CHECK_STR(cps_acme_str(hdr, "url"), CA "/key-change", "  url is the keyChange URL");
	CHECK_INT(json_object_object_length(hdr), 3, "  nothing else in the header");
	CHECK_STR(cps_acme_str(pay, "account"), KID, "  payload.account is the account URL");
	CHECK(json_object_object_get_ex(pay, "oldKey", &v) && json_object_equal(v, want_old),
	      "  payload.oldKey is the old key's JWK");
	CHECK_INT(json_object_object_length(pay), 2, "  nothing else in the payload");
	CHECK(jws_verifies(nk, jws), "  signed by the new key");
	CHECK(!jws_verifies(old, jws), "  not by the old one");
	CHECK(json_object_object_get_ex(hdr, "jwk", &v) && !json_object_object_get_ex(v, "d", NULL) &&
	      json_object_object_get_ex(pay, "oldKey", &v) && !json_object_object_get_ex(v, "d", NULL),
	      "  neither JWK carries a private parameter");
out:
	json_object_put(o);
	json_object_put(hdr);
	json_object_put(pay);
	json_object_put(want_new);
	json_object_put(want_old);
	free(jws);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
}

static void inner_jws_tests(void)
{
	EVP_PKEY *k = NULL;
	char *jws = NULL;
	json_object *o, *hdr;
	cps_err err;

	inner_jws_case(CPS_KEY_EC256, CPS_KEY_EC256);
	inner_jws_case(CPS_KEY_EC256, CPS_KEY_EC384);
	inner_jws_case(CPS_KEY_RSA2048, CPS_KEY_EC256);
	inner_jws_case(CPS_KEY_EC384, CPS_KEY_RSA2048);

	cps_key_generate(CPS_KEY_EC256, &k, &err);
	CHECK(cps_jws_sign(k, KID, NULL, CA "/x", "{}", &jws, &err) == 0 && jws_verifies(k, jws),
	      "a JWS without a nonce is signed");
	o = json_tokener_parse(jws);
	hdr = b64_json(cps_acme_str(o, "protected"));
	CHECK(hdr && !json_object_object_get_ex(hdr, "nonce", NULL), "  and has no nonce member");
	json_object_put(hdr);
	json_object_put(o);
	free(jws);
	EVP_PKEY_free(k);
}

/* ---- the requests against a stand-in CA ------------------------------------- */

typedef struct fake_ca {
	int status;           /* the answer to the next POST */
	const char *body;     /* and its body (JSON or a problem) */
	int posts;
	char *last_body;      /* the last POST's JWS */
	char last_url[128];
} fake_ca;

static int fake_send(void *ud, const cps_http_req *req, cps_http_resp *r, cps_err *err)
{
	static int seq;
	fake_ca *ca = ud;
	char nonce[32];

	(void)err;
	memset(r, 0, sizeof(*r));
	snprintf(nonce, sizeof(nonce), "nonce-%d", ++seq);
	r->replay_nonce = strdup(nonce);
	r->content_type = strdup("application/json");
	if (strcmp(req->method, "GET") == 0) {
		r->status = 200;
		r->body = strdup("{\"newNonce\":\"" CA "/nonce\",\"newAccount\":\"" CA "/acct\","
				 "\"newOrder\":\"" CA "/order\",\"keyChange\":\"" CA "/key-change\"}");
		return 0;
	}
	if (strcmp(req->method, "HEAD") == 0) {
		r->status = 200;
		r->body = strdup("");
		return 0;
	}
	ca->posts++;
	free(ca->last_body);
	ca->last_body = strndup(req->body, req->body_len);
	snprintf(ca->last_url, sizeof(ca->last_url), "%s", req->url);
	r->status = ca->status;
	r->body = strdup(ca->body);
	if (ca->status >= 400) {
		free(r->content_type);
		r->content_type = strdup("application/problem+json");
	}
	return 0;
}

static void key_change_tests(void)
{
	fake_ca ca = { .status = 200, .body = "" };
	EVP_PKEY *old = NULL, *nk = NULL, *nk2 = NULL;
	json_object *outer, *hdr, *inner;
	cps_acme *c = NULL;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &old, &err);
	cps_key_generate(CPS_KEY_EC256, &nk, &err);
	cps_key_generate(CPS_KEY_EC384, &nk2, &err);
	CHECK(cps_acme_new(CA "/dir", cps_http_new_custom(fake_send, &ca), &c, &err) == 0,
	      "session over a stand-in CA");
	cps_acme_use_key(c, old);
	CHECK(cps_acme_key_change(c, nk, &err) == -1, "no key change without an account URL");
	cps_acme_set_kid(c, KID, &err);

	ca.status = 409;
	ca.body = "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"New key already in use\"}";
	CHECK(cps_acme_key_change(c, nk2, &err) == -1, "a refused key change fails");
	CHECK_STR(err.problem, "malformed", "  with the CA's problem");
	CHECK_HAS(err.msg, "the account key rollover", "  naming the request");
	CHECK_HAS(err.msg, "New key already in use", "  and quoting the CA");
	CHECK(cps_acme_key(c) == old, "  the session still signs with the old key");

	ca.status = 200;
	ca.body = "";
	CHECK(cps_acme_key_change(c, nk, &err) == 0, "a confirmed key change succeeds");
	CHECK_STR(ca.last_url, CA "/key-change", "  POSTed to the directory's keyChange");
	CHECK(jws_verifies(old, ca.last_body), "  the outer JWS is signed by the old key");
	outer = json_tokener_parse(ca.last_body);
	hdr = b64_json(cps_acme_str(outer, "protected"));
	inner = b64_json(cps_acme_str(outer, "payload"));
	CHECK_STR(cps_acme_str(hdr, "kid"), KID, "  with the account URL as kid");
	CHECK(cps_acme_str(hdr, "nonce") != NULL, "  and a nonce");
	CHECK_STR(cps_acme_str(hdr, "url"), CA "/key-change", "  and the keyChange URL");
	CHECK(!json_object_object_get_ex(hdr, "jwk", NULL), "  and no jwk");
	CHECK(inner && jws_verifies(nk, json_object_to_json_string(inner)),
	      "  its payload is the inner JWS, signed by the new key");
	CHECK(cps_acme_key(c) == nk, "  the session now signs with the new key");
	json_object_put(inner);
	json_object_put(hdr);
	json_object_put(outer);
	cps_acme_free(c);
	free(ca.last_body);
	EVP_PKEY_free(old);
	EVP_PKEY_free(nk);
	EVP_PKEY_free(nk2);
}

static void account_object_tests(void)
{
	fake_ca ca = { .status = 200 };
	cps_acme_account a;
	EVP_PKEY *key = NULL;
	cps_acme *c = NULL;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	cps_acme_new(CA "/dir", cps_http_new_custom(fake_send, &ca), &c, &err);
	cps_acme_use_key(c, key);
	cps_acme_set_kid(c, KID, &err);

	ca.body = "{\"status\":\"valid\",\"contact\":[\"mailto:a@b.test\",\"mailto:x\\u001b[31m@y.test\",7]}";
	CHECK(cps_acme_account_fetch(c, &a, &err) == 0, "the account object is fetched");
	CHECK_STR(ca.last_url, KID, "  from the account URL");
	{
		json_object *o = json_tokener_parse(ca.last_body);

		CHECK_STR(cps_acme_str(o, "payload"), "", "  as POST-as-GET");
		json_object_put(o);
	}
	CHECK(a.status == CPS_ACME_ACCOUNT_VALID, "  status valid");
	CHECK_INT(a.ncontact, 2, "  two contacts (the number is ignored)");
	CHECK_STR(a.contact[0], "mailto:a@b.test", "  the first as given");
	CHECK(a.contact[1] && strchr(a.contact[1], '\x1b') == NULL, "  control characters stripped");
	cps_acme_account_free(&a);

	ca.body = "{\"status\":\"frozen\"}";
	CHECK(cps_acme_account_fetch(c, &a, &err) == -1, "an unknown account status is an error");
	CHECK_HAS(err.msg, "'frozen'", "  naming it");
	ca.body = "{\"contact\":[]}";
	CHECK(cps_acme_account_fetch(c, &a, &err) == -1, "a missing status is an error");

	ca.body = "{\"status\":\"deactivated\"}";
	CHECK(cps_acme_account_deactivate(c, &a, &err) == 0, "deactivation confirmed");
	{
		json_object *o = json_tokener_parse(ca.last_body);
		json_object *p = b64_json(cps_acme_str(o, "payload"));

		CHECK_STR(cps_acme_str(p, "status"), "deactivated", "  sent status: deactivated");
		json_object_put(p);
		json_object_put(o);
	}
	cps_acme_account_free(&a);
	ca.body = "{\"status\":\"valid\"}";
	CHECK(cps_acme_account_deactivate(c, &a, &err) == -1, "a CA answering valid did not deactivate");
	CHECK_HAS(err.msg, "status valid", "  and the error says so");
	ca.status = 401;
	ca.body = "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"Account has been deactivated\"}";
	CHECK(cps_acme_account_fetch(c, &a, &err) == -1, "a deactivated account is refused");
	CHECK_STR(err.problem, "unauthorized", "  as unauthorized (§7.3.6)");
	cps_acme_free(c);
	free(ca.last_body);
	EVP_PKEY_free(key);
}

int main(void)
{
	inner_jws_tests();
	key_change_tests();
	account_object_tests();
	return unit_done();
}
