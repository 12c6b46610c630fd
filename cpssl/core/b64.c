#include "cpssl/core/b64.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cps_b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i = 0;

	if (out == NULL)
		return NULL;
	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		*o++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int value_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int cps_b64url_decode(const char *in, unsigned char **out, size_t *len,
		      cps_err *err)
{
	size_t n = strlen(in), o = 0;
	unsigned acc = 0;
	int bits = 0;
	unsigned char *buf;

	*out = NULL;
	if (n % 4 == 1)
		return cps_fail(err, CPS_E_INVAL, "invalid base64url length");
	buf = malloc(n / 4 * 3 + 3);
	if (buf == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int v = value_of(in[i]);

		if (v < 0) {
			free(buf);
			return cps_fail(err, CPS_E_INVAL,
					"invalid base64url character at offset %zu", i);
		}
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* leftover bits must be zero (canonical encoding) */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return cps_fail(err, CPS_E_INVAL, "non-canonical base64url");
	}
	buf[o] = '\0';
	*out = buf;
	if (len)
		*len = o;
	return 0;
}

bool cps_b64url_valid(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, alphabet);

	return s[n] == '\0' && n >= min && n <= max;
}
