/* ACME extensions without a network: the directory's meta (profiles,
 * externalAccountRequired), the profile in newOrder and in the CA's order,
 * the external account binding of RFC 8555 §7.3.4 (known answers for its
 * HS256 MAC and for a whole binding, then its structure as a CA checks it),
 * the choice among alternate chains by the top certificate's issuer, and IP
 * identifiers (RFC 8738) in newOrder and in an authorization. */
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cpssl/acme/account.h"
#include "cpssl/acme/client.h"
#include "cpssl/acme/jws.h"
#include "cpssl/acme/order.h"
#include "cpssl/core/b64.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "unit.h"

#define CA "https://ca.test"

static char warnings[4096];

static void sink(cps_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == CPS_LOG_WARNING)
		snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings), "%s\n", msg);
}

static json_object *b64_json(const char *b64)
{
	unsigned char *raw = NULL;
	json_object *o;

	if (b64 == NULL || cps_b64url_decode(b64, &raw, NULL, NULL) != 0)
		return NULL;
	o = json_tokener_parse((const char *)raw);
	free(raw);
	return o;
}

static char *b64_text(const char *b64)
{
	unsigned char *raw = NULL;

	if (b64 == NULL || cps_b64url_decode(b64, &raw, NULL, NULL) != 0)
		return NULL;
	return (char *)raw;
}

/* ---- a stand-in CA ------------------------------------------------------------ */

typedef struct chain {
	const char *url;
	char *pem;
	const char *links[3];
} chain;

typedef struct fake_ca {
	const char *meta;      /* the directory's meta member (JSON), or NULL */
	int nonce_seq;
	char *last_body;       /* the last POST's JWS */
	char *last_url;
	chain chains[4];
	unsigned downloads;
	const char *authz;     /* the answer for CA/authz/1, or NULL */
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
		r->status = 200;
		if (asprintf(&r->body, "{\"newNonce\":\"" CA "/nonce\",\"newAccount\":\"" CA "/acct\","
			     "\"newOrder\":\"" CA "/new-order\"%s%s}", ca->meta ? ",\"meta\":" : "",
			     ca->meta ? ca->meta : "") < 0)
			r->body = NULL;
		return 0;
	}
	r->status = 200;
	if (strcmp(req->method, "HEAD") == 0) {
		r->body = strdup("");
		return 0;
	}
	free(ca->last_body);
	free(ca->last_url);
	ca->last_body = strdup(req->body);
	ca->last_url = strdup(req->url);
	if (strcmp(req->url, CA "/acct") == 0) {
		r->status = 201;
		r->location = strdup(CA "/acct/7");
		r->body = strdup("{\"status\":\"valid\"}");
		return 0;
	}
	if (strcmp(req->url, CA "/new-order") == 0) {
		r->status = 201;
		r->location = strdup(CA "/order/1");
		r->body = strdup("{\"status\":\"pending\",\"profile\":\"shortlived\",\"authorizations\":"
				 "[\"" CA "/authz/1\"],\"finalize\":\"" CA "/order/1/finalize\"}");
		return 0;
	}
	if (ca->authz && strcmp(req->url, CA "/authz/1") == 0) {
		r->body = strdup(ca->authz);
		return 0;
	}
	for (size_t i = 0; i < 4 && ca->chains[i].url; i++) {
		const chain *c = &ca->chains[i];

		if (strcmp(req->url, c->url) != 0)
			continue;
		ca->downloads++;
		free(r->content_type);
		r->content_type = strdup("application/pem-certificate-chain");
		r->body = strdup(c->pem);
		for (size_t j = 0; j < 3 && c->links[j]; j++)
			if (asprintf(&r->links[r->nlinks++], "<%s>;rel=\"alternate\"", c->links[j]) < 0)
				r->links[--r->nlinks] = NULL;
		return 0;
	}
	r->status = 404;
	r->body = strdup("");
	return 0;
}

static cps_acme *session(fake_ca *ca, EVP_PKEY *key)
{
	cps_acme *c = NULL;
	cps_err err;

	cps_acme_new(CA "/dir", cps_http_new_custom(fake_send, ca), &c, &err);
	cps_acme_use_key(c, key);
	return c;
}

/* ---- the directory's meta ------------------------------------------------------ */

static void meta_tests(void)
{
	fake_ca ca = { .meta = "{\"externalAccountRequired\":true,\"profiles\":{\"tlsserver\":"
			       "\"https://x/tls\",\"classic\":\"90 days\",\"shortlived\":\"6 days\"}}" };
	EVP_PKEY *key = NULL;
	cps_acme *c;
	const cps_acme_meta *m;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	c = session(&ca, key);
	m = cps_acme_meta_get(c);
	CHECK(m->nprofiles == 0 && !m->eab_required, "before the directory is loaded the meta is empty");
	CHECK(cps_acme_load_directory(c, &err) == 0, "a directory with meta loads");
	CHECK(m->eab_required, "  externalAccountRequired is read");
	CHECK_INT(m->nprofiles, 3, "  three profiles");
	CHECK(m->nprofiles == 3 && strcmp(m->profiles[0], "classic") == 0 &&
	      strcmp(m->profiles[1], "shortlived") == 0 && strcmp(m->profiles[2], "tlsserver") == 0,
	      "  sorted by name");
	CHECK(cps_acme_offers_profile(c, "shortlived") && !cps_acme_offers_profile(c, "Shortlived") &&
	      !cps_acme_offers_profile(c, ""), "  offered: exactly the names listed");
	cps_acme_free(c);

	static const struct { const char *meta; size_t n; bool eab; const char *desc; } odd[] = {
		{ NULL, 0, false, "no meta: no profiles, no binding required" },
		{ "[1,2]", 0, false, "meta not an object: ignored" },
		{ "{\"profiles\":[\"classic\"],\"externalAccountRequired\":\"yes\"}", 0, false,
		  "profiles not an object, externalAccountRequired not a boolean: ignored" },
		{ "{\"profiles\":{}}", 0, false, "an empty profiles object: none offered" },
		{ "{\"profiles\":{\"a\\u0001b\":\"x\",\"\":\"empty\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxx\":\"long\"}}", 1, false,
		  "an empty or over-long name is dropped, control characters are cleaned" },
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		fake_ca o = { .meta = odd[i].meta };

		c = session(&o, key);
		CHECK(cps_acme_load_directory(c, &err) == 0 && cps_acme_meta_get(c)->nprofiles == odd[i].n &&
		      cps_acme_meta_get(c)->eab_required == odd[i].eab, odd[i].desc);
		if (odd[i].n == 1)
			CHECK(strchr(cps_acme_meta_get(c)->profiles[0], '\001') == NULL,
			      "  no control character is left in a profile's name");
		cps_acme_free(c);
	}
	EVP_PKEY_free(key);
}

/* ---- the profile in newOrder --------------------------------------------------------- */

static json_object *last_payload(const fake_ca *ca)
{
	json_object *o = json_tokener_parse(ca->last_body), *p;

	p = b64_json(cps_acme_str(o, "payload"));
	json_object_put(o);
	return p;
}

static void order_profile_tests(void)
{
	fake_ca ca = { .meta = "{\"profiles\":{\"shortlived\":\"6 days\"}}" };
	const char *names[] = { "a.example" };
	EVP_PKEY *key = NULL;
	cps_acme_order o;
	json_object *p, *v;
	cps_acme *c;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	c = session(&ca, key);
	cps_acme_set_kid(c, CA "/acct/7", &err);
	CHECK(cps_acme_order_new(c, names, 1, "shortlived", NULL, &o, &err) == 0, "a new order with a profile");
	p = last_payload(&ca);
	CHECK_STR(cps_acme_str(p, "profile"), "shortlived", "  the newOrder payload names it");
	CHECK(json_object_object_get_ex(p, "identifiers", NULL), "  beside the identifiers");
	CHECK_STR(o.profile, "shortlived", "  the profile of the CA's order is read");
	json_object_put(p);
	cps_acme_order_free(&o);
	CHECK(cps_acme_order_new(c, names, 1, NULL, NULL, &o, &err) == 0, "a new order without a profile");
	p = last_payload(&ca);
	CHECK(!json_object_object_get_ex(p, "profile", &v), "  sends no profile member");
	json_object_put(p);
	cps_acme_order_free(&o);
	CHECK(cps_acme_order_new(c, names, 1, "", NULL, &o, &err) == 0, "an empty profile");
	p = last_payload(&ca);
	CHECK(!json_object_object_get_ex(p, "profile", &v), "  is no profile either");
	json_object_put(p);
	cps_acme_order_free(&o);
	cps_acme_free(c);
	EVP_PKEY_free(key);
	free(ca.last_body);
	free(ca.last_url);
}

/* An address is an "ip" identifier, a hostname a "dns" one; an
 * authorization's address is read in the canonical form whatever text the
 * CA uses, so it matches the name it was ordered as. */
static void order_ip_tests(void)
{
	fake_ca ca = { .authz = "{\"status\":\"pending\",\"identifier\":{\"type\":\"ip\","
			       "\"value\":\"2001:0DB8:0:0:0:0:0:1\"},\"challenges\":[{\"type\":\"http-01\","
			       "\"url\":\"" CA "/chal/1\",\"token\":\"abc\",\"status\":\"pending\"}]}" };
	const char *names[] = { "a.example", "192.0.2.1", "2001:db8::1" };
	const char *want[][2] = { { "dns", "a.example" }, { "ip", "192.0.2.1" }, { "ip", "2001:db8::1" } };
	EVP_PKEY *key = NULL;
	cps_acme_order o;
	cps_acme_authz a;
	json_object *p, *ids;
	cps_acme *c;
	cps_err err;
	bool same = true;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	c = session(&ca, key);
	cps_acme_set_kid(c, CA "/acct/7", &err);
	CHECK(cps_acme_order_new(c, names, 3, NULL, NULL, &o, &err) == 0, "a new order for a hostname and two addresses");
	p = last_payload(&ca);
	CHECK(json_object_object_get_ex(p, "identifiers", &ids) && json_object_array_length(ids) == 3,
	      "  three identifiers");
	for (size_t i = 0; i < 3 && ids && json_object_array_length(ids) == 3; i++) {
		json_object *id = json_object_array_get_idx(ids, i);
		const char *t = cps_acme_str(id, "type"), *v = cps_acme_str(id, "value");

		same = same && t && v && strcmp(t, want[i][0]) == 0 && strcmp(v, want[i][1]) == 0;
	}
	CHECK(same, "  dns for the hostname, ip for IPv4 and IPv6, in order");
	json_object_put(p);
	cps_acme_order_free(&o);
	memset(&a, 0, sizeof(a));
	CHECK(cps_acme_authz_get(c, CA "/authz/1", &a, &err) == 0, "an authorization for an ip identifier");
	CHECK_STR(a.name, "2001:db8::1", "  names the address in its canonical form (RFC 5952)");
	CHECK(cps_acme_authz_challenge(&a, "http-01") != NULL, "  with its http-01 challenge");
	cps_acme_authz_free(&a);
	cps_acme_free(c);
	EVP_PKEY_free(key);
	free(ca.last_body);
	free(ca.last_url);
}

/* ---- the external account binding ------------------------------------------------------ */

/* A fixed P-256 key and the binding for it computed independently (Python's
 * hmac and base64 modules) with Pebble's example key "kid-1". */
static const char kat_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzewsT8oh/xi9dGtG\n"
	"oWwxS/w1ExlkBwU9YKJCVztslYWhRANCAASc7UfjrUOLyBNTNEMfUihRPv2jgKvd\n"
	"GX5xsRoMk+VMPbeSnI1ikUOBtGBtnx2X82DtxgcGcSoSVsFL/FKk1EHS\n"
	"-----END PRIVATE KEY-----\n";
static const char kat_mac_key[] = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
static const char kat_eab[] =
	"{\"protected\":\"eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS50ZXN0L2FjY3QifQ\","
	"\"payload\":\"eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6Im5PMUg0NjFEaThnVFV6UkRIMUlvVVQ3OW80Q3IzUmwt"
	"Y2JFYURKUGxURDAiLCJ5IjoidDVLY2pXS1JRNEcwWUcyZkhaZnpZTzNHQndaeEtoSld3VXY4VXFUVVFkSSJ9\","
	"\"signature\":\"9dNkD5PU6SQAI2nGXC3lstpSESW9ggSxDZMrB6BqbwI\"}";

static void hs256_tests(void)
{
	/* RFC 7515, Appendix A.1: the HS256 example's key, signing input and MAC */
	static const char k[] =
		"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	static const char input[] =
		"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	unsigned char *key = NULL;
	size_t len = 0;
	char *sig = NULL;
	cps_err err;

	cps_b64url_decode(k, &key, &len, &err);
	CHECK(cps_jws_hs256(key, len, input, &sig, &err) == 0, "HS256 of RFC 7515's example");
	CHECK_STR(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "  is the RFC's MAC (known answer)");
	free(sig);
	free(key);
}

static void eab_kat_tests(void)
{
	EVP_PKEY *key = NULL;
	unsigned char *mac = NULL;
	size_t len = 0;
	char *jws = NULL;
	cps_err err;

	CHECK(cps_key_from_pem(kat_key, strlen(kat_key), &key, &err) == 0, "the fixed account key loads");
	cps_b64url_decode(kat_mac_key, &mac, &len, &err);
	CHECK(cps_jws_eab(key, "kid-1", mac, len, CA "/acct", &jws, &err) == 0,
	      "a binding for the fixed key, kid-1 and Pebble's example MAC key");
	CHECK_STR(jws, kat_eab, "  is the independently computed one, byte for byte (known answer)");
	free(jws);
	CHECK(cps_jws_eab(key, "kid-1", mac, 0, CA "/acct", &jws, &err) == -1 && jws == NULL,
	      "an empty MAC key is refused");
	free(mac);
	EVP_PKEY_free(key);
}

/* The binding in a newAccount request, as RFC 8555 §7.3.4 has the CA check
 * it: a JWS with alg HS256, the CA's kid, the outer request's URL and no
 * nonce, over the JWK that signs the outer request, MACed with the key. */
static void eab_request_tests(void)
{
	fake_ca ca = { .meta = "{\"externalAccountRequired\":true}" };
	unsigned char mac[32];
	cps_acme_eab eab = { "kid-7", mac, sizeof(mac) };
	json_object *outer, *ohdr, *pay, *bind, *bhdr;
	char *kid = NULL, *jwk = NULL, *payload = NULL, *input = NULL, *sig = NULL;
	EVP_PKEY *key = NULL;
	cps_acme *c;
	cps_err err;

	for (size_t i = 0; i < sizeof(mac); i++)
		mac[i] = (unsigned char)(i * 7 + 1);
	cps_key_generate(CPS_KEY_EC256, &key, &err);
	c = session(&ca, key);
	CHECK(cps_acme_account_create(c, "admin@a.example", &eab, &kid, &err) == 0,
	      "an account registered with an external account binding");
	CHECK_STR(kid, CA "/acct/7", "  its URL");
	CHECK_STR(ca.last_url, CA "/acct", "  sent to newAccount");
	outer = json_tokener_parse(ca.last_body);
	ohdr = b64_json(cps_acme_str(outer, "protected"));
	pay = b64_json(cps_acme_str(outer, "payload"));
	CHECK(json_object_object_get_ex(pay, "externalAccountBinding", &bind) &&
	      json_object_is_type(bind, json_type_object), "  the payload carries externalAccountBinding");
	CHECK(json_object_object_get_ex(pay, "termsOfServiceAgreed", NULL) &&
	      json_object_object_get_ex(pay, "contact", NULL), "  beside the contact and the terms agreed");
	bhdr = b64_json(cps_acme_str(bind, "protected"));
	CHECK_STR(cps_acme_str(bhdr, "alg"), "HS256", "  the binding's alg is HS256");
	CHECK_STR(cps_acme_str(bhdr, "kid"), "kid-7", "  its kid is the CA's key identifier");
	CHECK_STR(cps_acme_str(bhdr, "url"), cps_acme_str(ohdr, "url"), "  its url is the outer request's");
	CHECK(!json_object_object_get_ex(bhdr, "nonce", NULL), "  it has no nonce");
	CHECK_INT(json_object_object_length(bhdr), 3, "  and nothing else in its header");
	cps_jwk_json(key, &jwk, &err);
	payload = b64_text(cps_acme_str(bind, "payload"));
	CHECK_STR(payload, jwk, "  its payload is the account key's JWK");
	CHECK(json_object_object_get_ex(ohdr, "jwk", NULL), "  the key that signs the outer request (jwk)");
	if (asprintf(&input, "%s.%s", cps_acme_str(bind, "protected"), cps_acme_str(bind, "payload")) < 0)
		input = NULL;
	CHECK(input && cps_jws_hs256(mac, sizeof(mac), input, &sig, &err) == 0 &&
	      strcmp(sig, cps_acme_str(bind, "signature")) == 0, "  its MAC verifies with the CA's key");
	free(sig);
	sig = NULL;
	mac[0] ^= 1;
	CHECK(input && cps_jws_hs256(mac, sizeof(mac), input, &sig, &err) == 0 &&
	      strcmp(sig, cps_acme_str(bind, "signature")) != 0, "  and not with another key");
	free(sig);
	free(input);
	free(payload);
	free(jwk);
	free(kid);
	json_object_put(bhdr);
	json_object_put(pay);
	json_object_put(ohdr);
	json_object_put(outer);

	CHECK(cps_acme_account_create(c, "admin@a.example", NULL, &kid, &err) == 0,
	      "an account registered without a binding");
	outer = json_tokener_parse(ca.last_body);
	pay = b64_json(cps_acme_str(outer, "payload"));
	CHECK(!json_object_object_get_ex(pay, "externalAccountBinding", NULL), "  sends none");
	json_object_put(pay);
	json_object_put(outer);
	free(kid);
	cps_acme_free(c);
	EVP_PKEY_free(key);
	free(ca.last_body);
	free(ca.last_url);
}

/* ---- alternate chains ------------------------------------------------------------- */

static char *cert_pem(EVP_PKEY *key, long serial, const char *subject, const char *issuer)
{
	X509 *x = X509_new();
	X509_NAME *s = X509_NAME_new(), *i = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *pem;
	long len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(s, "CN", MBSTRING_ASC, (const unsigned char *)subject, -1, -1, 0);
	X509_NAME_add_entry_by_txt(i, "CN", MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
	X509_set_subject_name(x, s);
	X509_set_issuer_name(x, i);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	PEM_write_bio_X509(b, x);
	len = BIO_get_mem_data(b, &data);
	pem = strndup(data, (size_t)len);
	BIO_free(b);
	X509_NAME_free(s);
	X509_NAME_free(i);
	X509_free(x);
	return pem;
}

static char *concat(char *a, char *b)
{
	char *out = NULL;

	if (asprintf(&out, "%s%s", a, b) < 0)
		out = NULL;
	free(b);
	return out;
}

static void chain_tests(void)
{
	EVP_PKEY *key = NULL;
	char *leaf, *other, *pem = NULL;
	fake_ca ca = { 0 };
	cps_acme *c;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	leaf = cert_pem(key, 1, "a.example", "Issuing CA");
	other = cert_pem(key, 2, "a.example", "Issuing CA");
	ca.chains[0] = (chain){ CA "/cert/1", concat(leaf, cert_pem(key, 10, "Issuing CA", "Root X")),
				{ CA "/cert/1/1", CA "/cert/1/2", CA "/cert/1/3" } };
	ca.chains[1] = (chain){ CA "/cert/1/1", concat(other, cert_pem(key, 11, "Issuing CA", "Root Z")),
				{ NULL } };
	ca.chains[2] = (chain){ CA "/cert/1/2", concat(leaf, cert_pem(key, 12, "Issuing CA", "Root Y")),
				{ NULL } };
	ca.chains[3] = (chain){ CA "/cert/1/3", concat(leaf, cert_pem(key, 13, "Issuing CA", "Root W")),
				{ NULL } };
	c = session(&ca, key);
	cps_acme_set_kid(c, CA "/acct/7", &err);
	cps_log_set_sink(sink, NULL);

	CHECK(cps_acme_certificate_get(c, CA "/cert/1", NULL, &pem, &err) == 0 &&
	      strcmp(pem, ca.chains[0].pem) == 0 && ca.downloads == 1,
	      "no preference: the default chain, no alternate fetched");
	free(pem);
	ca.downloads = 0;
	CHECK(cps_acme_certificate_get(c, CA "/cert/1", "Root X", &pem, &err) == 0 &&
	      strcmp(pem, ca.chains[0].pem) == 0 && ca.downloads == 1,
	      "the default chain's own root: kept, no alternate fetched");
	free(pem);
	ca.downloads = 0;
	warnings[0] = '\0';
	CHECK(cps_acme_certificate_get(c, CA "/cert/1", "Root Y", &pem, &err) == 0 &&
	      strcmp(pem, ca.chains[2].pem) == 0, "Root Y: the alternate chain whose top issuer it is");
	CHECK_HAS(warnings, "skipping the CA's alternate chain " CA "/cert/1/1: it carries another certificate",
		  "  an alternate with another certificate is skipped with a WARNING");
	CHECK_INT(ca.downloads, 3, "  the alternates after the match are not fetched");
	free(pem);
	warnings[0] = '\0';
	CHECK(cps_acme_certificate_get(c, CA "/cert/1", "Root Z", &pem, &err) == 0 &&
	      strcmp(pem, ca.chains[0].pem) == 0,
	      "Root Z, offered only with another certificate: the default chain");
	CHECK_HAS(warnings, "no chain the CA offers leads to 'Root Z' ([letsencrypt] preferred_chain; "
		  "the top issuers offered: Root X, Root Y, Root W); keeping the default chain",
		  "  with a WARNING naming the issuers offered");
	free(pem);
	ca.chains[3].url = CA "/cert/gone";
	warnings[0] = '\0';
	CHECK(cps_acme_certificate_get(c, CA "/cert/1", "Root W", &pem, &err) == 0 &&
	      strcmp(pem, ca.chains[0].pem) == 0, "an alternate that cannot be fetched: the default chain");
	CHECK_HAS(warnings, "skipping the CA's alternate chain " CA "/cert/1/3", "  the failure is a WARNING");
	free(pem);
	cps_log_set_sink(NULL, NULL);
	cps_acme_free(c);
	for (size_t i = 0; i < 4; i++)
		free(ca.chains[i].pem);
	free(leaf);
	free(other);
	free(ca.last_body);
	free(ca.last_url);
	EVP_PKEY_free(key);
}

int main(void)
{
	meta_tests();
	order_profile_tests();
	order_ip_tests();
	hs256_tests();
	eab_kat_tests();
	eab_request_tests();
	chain_tests();
	return unit_done();
}
