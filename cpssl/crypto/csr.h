/* Certificate signing requests for ACME finalize. */
#ifndef CPSSL_CRYPTO_CSR_H
#define CPSSL_CRYPTO_CSR_H

#include <openssl/evp.h>
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

#endif
