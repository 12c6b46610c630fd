/* The key types cpssl generates, by their [letsencrypt] key_type names. */
#ifndef CPSSL_CORE_KEYTYPE_H
#define CPSSL_CORE_KEYTYPE_H

#include "cpssl/core/err.h"

typedef enum cps_key_type {
	CPS_KEY_EC256 = 0,
	CPS_KEY_EC384,
	CPS_KEY_RSA2048,
	CPS_KEY_RSA3072,
	CPS_KEY_RSA4096,
} cps_key_type;

/* "ec-256" … "rsa-4096" (the [letsencrypt] key_type values). */
int cps_key_type_parse(const char *name, cps_key_type *out, cps_err *err);
/* NULL for a value outside the enum. */
const char *cps_key_type_name(cps_key_type type);

#endif
