/* Certificates: parsing a PEM chain, facts about a certificate, key match,
 * chain verification against a bundle, and self-signed certificates. */
#ifndef CPSSL_CRYPTO_CERT_H
#define CPSSL_CRYPTO_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cpssl/core/err.h"

#define CPS_FINGERPRINT_LEN 96 /* "AB:CD:…" for SHA-256 plus NUL */

typedef struct cps_cert_info {
	char **sans;            /* every name: the dNSName SANs, lower case, in
				 * certificate order, then the iPAddress SANs */
	size_t nsans;
	char **ip_sans;         /* iPAddress SANs alone, as canonical text */
	size_t nip_sans;
	char subject_cn[256];   /* "" when none */
	char issuer[512];       /* one line, RFC 2253 */
	char issuer_cn[256];    /* "" when none */
	char serial[128];       /* upper-case hex, no separators */
	char fingerprint[CPS_FINGERPRINT_LEN]; /* SHA-256, "AB:CD:…" as openssl prints */
	time_t not_before, not_after;
	char key_type[16];      /* cps_key_describe() of the public key */
	bool self_signed;       /* issuer == subject and signature verifies with own key */
	bool is_ca;
} cps_cert_info;

/* A PEM bundle: the first certificate is the leaf, the rest its chain.
 * Refuses input with no certificate, a truncated or corrupt block, or more
 * than 16 certificates; ignores nothing silently except whitespace between
 * blocks. *chain may be empty (never NULL on success). */
int cps_cert_parse_pem(const char *pem, size_t len, X509 **leaf,
		       STACK_OF(X509) **chain, cps_err *err);

int cps_cert_info_get(X509 *cert, cps_cert_info *info, cps_err *err);
void cps_cert_info_free(cps_cert_info *info);

/* 0 when KEY is the private key of CERT's public key. */
int cps_cert_key_match(X509 *cert, EVP_PKEY *key, cps_err *err);

/* Verify LEAF via CHAIN up to a root in the PEM file ROOTS (or, with ROOTS
 * NULL, the system trust store) at time AT (0: now). The error names the
 * failing certificate and OpenSSL's reason. */
int cps_cert_verify_chain(X509 *leaf, STACK_OF(X509) *chain, const char *roots,
			  time_t at, cps_err *err);

/* Self-signed certificate for NAMES (SANs; CN = first name when it fits),
 * valid for DAYS from now, basicConstraints CA:FALSE,
 * extendedKeyUsage=serverAuth, keyUsage digitalSignature (+keyEncipherment
 * for RSA), random 128-bit serial, SHA-256. */
int cps_cert_selfsigned(EVP_PKEY *key, const char *const *names, size_t n,
			int days, X509 **out, cps_err *err);

/* PEM of one certificate, or of a leaf followed by its chain. Caller frees. */
int cps_cert_to_pem(X509 *cert, char **pem, size_t *len, cps_err *err);
int cps_cert_chain_to_pem(STACK_OF(X509) *chain, char **pem, size_t *len,
			  cps_err *err);

/* DER of a certificate (for revocation); freed with OPENSSL_free. */
int cps_cert_to_der(X509 *cert, unsigned char **der, size_t *len,
		    cps_err *err);

#endif
