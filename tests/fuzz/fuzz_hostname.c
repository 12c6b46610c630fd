/* libFuzzer target: hostname validation never crashes, and what it accepts
 * is canonical (normalizing it again gives the same name). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/names/hostname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[CPS_HOSTNAME_MAX + 1];
	char again[CPS_HOSTNAME_MAX + 1];
	cps_err err;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cps_hostname_normalize(text, CPS_NAME_ALLOW_WILDCARD, out, &err) == 0) {
		if (cps_hostname_normalize(out, CPS_NAME_ALLOW_WILDCARD, again, &err) != 0 ||
		    strcmp(out, again) != 0 || strlen(out) > CPS_HOSTNAME_MAX)
			abort();
		for (const char *c = out; *c; c++)
			if (*c == '/' || (*c >= 'A' && *c <= 'Z'))
				abort();
	}
	free(text);
	return 0;
}
