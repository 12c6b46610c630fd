/* base64url (RFC 4648 §5, no padding) as ACME uses it, and its validation
 * for tokens that become file names. */
#ifndef CPSSL_CORE_B64_H
#define CPSSL_CORE_B64_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

/* Fresh NUL-terminated string; NULL when out of memory. */
char *cps_b64url_encode(const void *data, size_t len);

/* Decode unpadded base64url; *out is NUL-terminated for convenience. */
int cps_b64url_decode(const char *in, unsigned char **out, size_t *len,
		      cps_err *err);

/* Only [A-Za-z0-9_-], length within [min, max]: safe as a file name. */
bool cps_b64url_valid(const char *s, size_t min, size_t max);

#endif
