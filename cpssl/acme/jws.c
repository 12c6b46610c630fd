#include "cpssl/acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/b64.h"

typedef struct alg_info {
	const char *alg;
	const char *md;
	size_t coord; /* EC coordinate size in bytes; 0 for RSA */
} alg_info;

static const alg_info *alg_of(const EVP_PKEY *key)
{
	static const alg_info es256 = { "ES256", "SHA256", 32 };
	static const alg_info es384 = { "ES384", "SHA384", 48 };
	static const alg_info rs256 = { "RS256", "SHA256", 0 };
	char group[64];

	if (EVP_PKEY_is_a(key, "RSA"))
		return &rs256;
	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL))
		return NULL;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return &es256;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return &es384;
	return NULL;
}

const char *cps_jws_alg(const EVP_PKEY *key)
{
	const alg_info *a = alg_of(key);

	return a ? a->alg : NULL;
}

/* A key parameter as base64url of its big-endian bytes (PAD > 0: fixed). */
static char *param_b64(const EVP_PKEY *key, const char *name, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *out = NULL;

	if (!EVP_PKEY_get_bn_param(key, name, &bn))
		return NULL;
	n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	if (n > 0 && (size_t)n <= sizeof(buf))
		out = cps_b64url_encode(buf, (size_t)n);
	BN_free(bn);
	return out;
}

int cps_jwk_json(const EVP_PKEY *key, char **out, cps_err *err)
{
	const alg_info *a = alg_of(key);
	char *p1 = NULL, *p2 = NULL;
	int n = -1;

	*out = NULL;
	if (a == NULL)
		return cps_fail(err, CPS_E_CRYPTO,
				"the account key type is not supported (use EC P-256, P-384 or RSA)");
	if (a->coord) {
		p1 = param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, a->coord);
		p2 = param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, a->coord);
		if (p1 && p2)
			n = asprintf(out, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				     a->coord == 32 ? "P-256" : "P-384", p1, p2);
	} else {
		p1 = param_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
		p2 = param_b64(key, OSSL_PKEY_PARAM_RSA_N, 0);
		if (p1 && p2)
			n = asprintf(out, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", p1, p2);
	}
	free(p1);
	free(p2);
	if (n < 0) {
		*out = NULL;
		return cps_fail(err, CPS_E_CRYPTO, "cannot read the account key's public parameters");
	}
	return 0;
}

int cps_jwk_thumbprint(const EVP_PKEY *key, char **out, cps_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *jwk;
	int ok;

	*out = NULL;
	if (cps_jwk_json(key, &jwk, err) != 0)
		return -1;
	ok = EVP_Digest(jwk, strlen(jwk), md, &mdlen, EVP_sha256(), NULL);
	free(jwk);
	if (!ok || (*out = cps_b64url_encode(md, mdlen)) == NULL)
		return cps_fail(err, CPS_E_CRYPTO, "cannot compute the JWK thumbprint");
	return 0;
}

/* DER ECDSA-Sig-Value → r || s, each COORD bytes (RFC 7518 §3.4). */
static int ecdsa_raw(const unsigned char *der, size_t len, size_t coord,
		     unsigned char *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
	     BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

static int sign(EVP_PKEY *key, const alg_info *a, const char *input,
		char **sig_b64, cps_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL, raw[96];
	size_t siglen = 0;
	int rc = -1;

	if (ctx == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
			   strlen(input)) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
			   strlen(input)) != 1) {
		cps_fail(err, CPS_E_CRYPTO, "cannot sign the ACME request");
		goto out;
	}
	if (a->coord) {
		if (ecdsa_raw(sig, siglen, a->coord, raw) != 0) {
			cps_fail(err, CPS_E_CRYPTO, "cannot encode the ECDSA signature");
			goto out;
		}
		*sig_b64 = cps_b64url_encode(raw, 2 * a->coord);
	} else {
		*sig_b64 = cps_b64url_encode(sig, siglen);
	}
	rc = *sig_b64 ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* What signs a JWS's input: the account key, or an external account
 * binding's HMAC key. */
typedef struct signer {
	EVP_PKEY *key;              /* with alg */
	const alg_info *alg;
	const unsigned char *mac;   /* or HS256 with this key */
	size_t mac_len;
} signer;

/* The flattened JSON serialization of HDR over PAYLOAD (RFC 7515 §7.2.2). */
static int flatten(json_object *hdr, const char *payload, const signer *by,
		   char **out, cps_err *err)
{
	const char *h = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *prot = cps_b64url_encode(h, strlen(h));
	char *pay = cps_b64url_encode(payload, strlen(payload));
	char *input = NULL, *sig = NULL;
	int rc = -1;

	*out = NULL;
	if (prot == NULL || pay == NULL || asprintf(&input, "%s.%s", prot, pay) < 0) {
		input = NULL;
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if ((by->key ? sign(by->key, by->alg, input, &sig, err)
		     : cps_jws_hs256(by->mac, by->mac_len, input, &sig, err)) != 0)
		goto out;
	if (asprintf(out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
		     prot, pay, sig) < 0) {
		*out = NULL;
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(prot);
	free(pay);
	free(input);
	free(sig);
	return rc;
}

int cps_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
		 const char *url, const char *payload, char **out, cps_err *err)
{
	const alg_info *a = alg_of(key);
	json_object *hdr = json_object_new_object();
	char *jwk_text = NULL;
	int rc = -1;

	*out = NULL;
	if (a == NULL) {
		cps_fail(err, CPS_E_CRYPTO, "the account key type is not supported");
		goto out;
	}
	json_object_object_add(hdr, "alg", json_object_new_string(a->alg));
	if (kid) {
		json_object_object_add(hdr, "kid", json_object_new_string(kid));
	} else {
		if (cps_jwk_json(key, &jwk_text, err) != 0)
			goto out;
		json_object_object_add(hdr, "jwk", json_tokener_parse(jwk_text));
	}
	if (nonce) /* none in the inner JWS of a key change (RFC 8555 §7.3.5) */
		json_object_object_add(hdr, "nonce", json_object_new_string(nonce));
	json_object_object_add(hdr, "url", json_object_new_string(url));
	rc = flatten(hdr, payload, &(signer){ .key = key, .alg = a }, out, err);
out:
	json_object_put(hdr);
	free(jwk_text);
	return rc;
}

int cps_jws_hs256(const unsigned char *key, size_t len, const char *input, char **out,
		  cps_err *err)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	int rc = -1;

	*out = NULL;
	if (ctx && EVP_MAC_init(ctx, key, len, params) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)input, strlen(input)) == 1 &&
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1)
		rc = (*out = cps_b64url_encode(md, mdlen)) ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
	else
		cps_fail(err, CPS_E_CRYPTO, "cannot compute an HMAC-SHA256");
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int cps_jws_eab(const EVP_PKEY *account_key, const char *eab_kid,
		const unsigned char *mac_key, size_t mac_len,
		const char *new_account_url, char **out, cps_err *err)
{
	json_object *hdr = json_object_new_object();
	char *jwk = NULL;
	int rc = -1;

	*out = NULL;
	if (mac_len == 0) {
		cps_fail(err, CPS_E_CONFIG, "the external account binding's HMAC key is empty");
		goto out;
	}
	if (cps_jwk_json(account_key, &jwk, err) != 0)
		goto out;
	json_object_object_add(hdr, "alg", json_object_new_string("HS256"));
	json_object_object_add(hdr, "kid", json_object_new_string(eab_kid));
	json_object_object_add(hdr, "url", json_object_new_string(new_account_url));
	rc = flatten(hdr, jwk, &(signer){ .mac = mac_key, .mac_len = mac_len }, out, err);
out:
	json_object_put(hdr);
	free(jwk);
	return rc;
}

int cps_jws_key_change(EVP_PKEY *new_key, const EVP_PKEY *old_key, const char *kid,
		       const char *url, char **out, cps_err *err)
{
	json_object *payload = json_object_new_object(), *old = NULL;
	char *old_text = NULL;
	int rc = -1;

	*out = NULL;
	if (cps_jwk_json(old_key, &old_text, err) != 0)
		goto out;
	if (payload == NULL || (old = json_tokener_parse(old_text)) == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	json_object_object_add(payload, "account", json_object_new_string(kid));
	json_object_object_add(payload, "oldKey", old);
	rc = cps_jws_sign(new_key, NULL, NULL, url,
			  json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
			  out, err);
out:
	json_object_put(payload);
	free(old_text);
	return rc;
}
