/* Helpers shared by the crypto files (not part of the library's API). */
#ifndef CPSSL_CRYPTO_INTERNAL_H
#define CPSSL_CRYPTO_INTERNAL_H

#include <openssl/x509v3.h>
#include <stddef.h>

#include "cpssl/core/err.h"

#define CPS_CRYPTO_NAME_MAX 253

/* cps_fail(CPS_E_CRYPTO) with OpenSSL's last reason appended; clears
 * OpenSSL's error queue. */
int cps_ossl_fail(cps_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Skip whitespace from *off and require a well-formed "-----BEGIN LABEL-----"
 * line there (OpenSSL would silently skip text before it). Returns 1 with
 * LABEL filled, 0 at the end of the input, -1 on stray text (the message
 * says "give only EXPECTED"). */
int cps_pem_block_start(const char *pem, size_t len, size_t *off, char *label,
			size_t labelsz, const char *expected, cps_err *err);

/* The line number (1-based) of byte OFF in PEM, for messages. */
size_t cps_pem_line_of(const char *pem, size_t off);

/* Names for a certificate or CSR (WHAT, for messages): at least one, each
 * 1-253 printable characters without spaces or commas. */
int cps_crypto_check_names(const char *const *names, size_t n, const char *what,
			   cps_err *err);

/* RFC 5280's upper bound for a commonName. */
#define CPS_CRYPTO_CN_MAX 64

/* The subject CN for a certificate or CSR of NAMES: the first hostname when
 * it fits in a CN, NULL (an empty subject) otherwise and when every name is
 * an IP address — Let's Encrypt puts no IP address in the CN. */
const char *cps_crypto_cn_name(const char *const *names, size_t n);

/* subjectAltName with one dNSName per hostname and one iPAddress per IP
 * address (RFC 8738), in order (NULL: out of memory). */
GENERAL_NAMES *cps_crypto_dns_names(const char *const *names, size_t n);

#endif
