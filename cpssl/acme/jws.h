/* JSON Web Signatures for ACME (RFC 7515, RFC 8555 §6.2): the account key's
 * JWK and thumbprint, flattened JWS objects signed with ES256, ES384 or
 * RS256, and the HS256 external account binding (RFC 8555 §7.3.4). */
#ifndef CPSSL_ACME_JWS_H
#define CPSSL_ACME_JWS_H

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cpssl/core/err.h"

/* "ES256" (P-256), "ES384" (P-384), "RS256" (RSA), or NULL. */
const char *cps_jws_alg(const EVP_PKEY *key);

/* The public JWK with members in lexicographic order, as RFC 7638 needs. */
int cps_jwk_json(const EVP_PKEY *key, char **out, cps_err *err);

/* base64url(SHA-256(JWK)), RFC 7638. */
int cps_jwk_thumbprint(const EVP_PKEY *key, char **out, cps_err *err);

/* Flattened JWS: protected header {alg, kid or jwk, nonce, url}, PAYLOAD
 * ("" for POST-as-GET), signature. KID NULL puts the JWK in the header;
 * NONCE NULL leaves the nonce out. */
int cps_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
		 const char *url, const char *payload, char **out, cps_err *err);

/* base64url(HMAC-SHA256(KEY, INPUT)): the signature of an HS256 JWS. */
int cps_jws_hs256(const unsigned char *key, size_t len, const char *input, char **out,
		  cps_err *err);

/* The externalAccountBinding of a newAccount request (RFC 8555 §7.3.4):
 * a flattened JWS over the account key's JWK, protected header {alg
 * "HS256", kid EAB_KID, url NEW_ACCOUNT_URL} (no nonce), MACed with HMAC
 * SHA-256 under MAC_KEY (the CA's key, already base64url-decoded). */
int cps_jws_eab(const EVP_PKEY *account_key, const char *eab_kid,
		const unsigned char *mac_key, size_t mac_len,
		const char *new_account_url, char **out, cps_err *err);
/* The inner JWS of a key change (RFC 8555 §7.3.5), the payload of the outer
 * request the old key signs with KID: protected header {alg, jwk of NEW_KEY,
 * url} (no nonce, no kid), payload {"account": KID, "oldKey": the JWK of
 * OLD_KEY}, signed by NEW_KEY. */
int cps_jws_key_change(EVP_PKEY *new_key, const EVP_PKEY *old_key, const char *kid,
		       const char *url, char **out, cps_err *err);

#endif
