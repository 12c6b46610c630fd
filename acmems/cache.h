/* [storage "NAME"] type = file: a signed chain kept per CSR (its key and
 * names) in DIRECTORY/KEY.pem, given back until renew-within days before
 * the certificate expires. */
#ifndef ACMEMS_CACHE_H
#define ACMEMS_CACHE_H

#include <time.h>

#include "acmems/conf.h"
#include "cpssl/crypto/csr.h"

#define AM_CACHE_KEY_LEN 65

/* Hex SHA-256 over the CSR's public key and its sorted names. */
void am_cache_key(const cps_csr_info *csr, char key[AM_CACHE_KEY_LEN]);

/* 1 with *PEM (caller frees) when a fresh chain is stored, else 0. */
int am_cache_get(const am_storage *s, const char *key, char **pem, time_t *not_after);
int am_cache_put(const am_storage *s, const char *key, const char *pem, cps_err *err);

#endif
