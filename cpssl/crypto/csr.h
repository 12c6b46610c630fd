/* Certificate signing requests for ACME finalize. */
#ifndef CPSSL_CRYPTO_CSR_H
#define CPSSL_CRYPTO_CSR_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

/* DER CSR signed by KEY (SHA-256) with every hostname as a dNSName SAN and
 * every IP address as an iPAddress SAN (RFC 8738), in the given order; the
 * subject CN is the first hostname when it fits in 64 characters, otherwise
 * (and for IP addresses only) the subject is empty. Names are canonical
 * hostnames (wildcards allowed) or IP addresses. *der is freed with
 * OPENSSL_free. */
int cps_csr_create(EVP_PKEY *key, const char *const *names, size_t n,
		   unsigned char **der, size_t *derlen, cps_err *err);

/* The DER CSR as PEM ("CERTIFICATE REQUEST"); caller frees. */
int cps_csr_to_pem(const unsigned char *der, size_t len, char **pem,
		   cps_err *err);

/* A client's certificate request, read and checked (csr_read.c). */
typedef struct cps_csr_info {
	unsigned char *der;     /* the request as sent to the CA (DER) */
	size_t len;
	char **names;           /* canonical (lower case), each once: the
				 * subject CN first when it has one, then the
				 * dNSName SANs */
	size_t n;
	bool wildcard;          /* one of them is "*.…" */
	unsigned char key_id[32]; /* SHA-256 of its public key (SPKI DER) */
} cps_csr_info;

/* Read a PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST") or DER
 * request of at most LEN bytes: its self-signature must verify, it must
 * name at least one and at most 100 valid hostnames (a wildcard only as the
 * leftmost label) and nothing else (no IP address, e-mail or URI SAN). The
 * error says what is wrong (CPS_E_INVAL). */
int cps_csr_read(const char *in, size_t len, cps_csr_info *out, cps_err *err);
void cps_csr_info_free(cps_csr_info *info);

#endif
