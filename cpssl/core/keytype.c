#include "cpssl/core/keytype.h"

#include <string.h>

static const char *const names[] = {
	[CPS_KEY_EC256] = "ec-256",
	[CPS_KEY_EC384] = "ec-384",
	[CPS_KEY_RSA2048] = "rsa-2048",
	[CPS_KEY_RSA3072] = "rsa-3072",
	[CPS_KEY_RSA4096] = "rsa-4096",
};

int cps_key_type_parse(const char *name, cps_key_type *out, cps_err *err)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (cps_key_type)i;
			return 0;
		}
	}
	return cps_fail(err, CPS_E_INVAL,
			"'%.32s' is not a key type; use ec-256, ec-384, rsa-2048, "
			"rsa-3072 or rsa-4096", name);
}

const char *cps_key_type_name(cps_key_type type)
{
	if ((unsigned)type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return NULL;
}
