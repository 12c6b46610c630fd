#include "cpssl/crypto/internal.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpssl/names/hostname.h"

/* Fail with OpenSSL's most recent reason appended, and leave its error
 * queue empty so the next failure does not report a stale reason. */
int cps_ossl_fail(cps_err *err, const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	char what[512], why[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	if (why[0] == '\0')
		return cps_fail(err, CPS_E_CRYPTO, "%s", what);
	return cps_fail(err, CPS_E_CRYPTO, "%s (OpenSSL: %s)", what, why);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t cps_pem_line_of(const char *pem, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += pem[i] == '\n';
	return line;
}

int cps_pem_block_start(const char *pem, size_t len, size_t *off, char *label,
			size_t labelsz, const char *expected, cps_err *err)
{
	static const char begin[] = "-----BEGIN ";
	size_t i = *off, j, n;

	while (i < len && is_space(pem[i]))
		i++;
	*off = i;
	if (i == len)
		return 0;
	if (len - i < sizeof(begin) - 1 ||
	    memcmp(pem + i, begin, sizeof(begin) - 1) != 0)
		goto stray;
	j = i + sizeof(begin) - 1;
	for (n = 0; j + n < len && pem[j + n] != '-' && pem[j + n] != '\n'; n++) {
		unsigned char c = (unsigned char)pem[j + n];

		if (c < 0x20 || c >= 0x7f)
			goto stray;
	}
	if (n == 0 || n >= labelsz || len - (j + n) < 5 ||
	    memcmp(pem + j + n, "-----", 5) != 0)
		goto stray;
	memcpy(label, pem + j, n);
	label[n] = '\0';
	for (j += n + 5; j < len && pem[j] != '\n'; j++)
		if (pem[j] != ' ' && pem[j] != '\t' && pem[j] != '\r')
			goto stray;
	return 1;
stray:
	return cps_fail(err, CPS_E_INVAL,
			"the PEM data has unexpected text at line %zu; give only %s",
			cps_pem_line_of(pem, i), expected);
}

int cps_crypto_check_names(const char *const *names, size_t n, const char *what,
			   cps_err *err)
{
	if (names == NULL || n == 0)
		return cps_fail(err, CPS_E_INVAL,
				"a %s needs at least one name", what);
	for (size_t i = 0; i < n; i++) {
		size_t len = names[i] ? strlen(names[i]) : 0;

		if (len == 0 || len > CPS_CRYPTO_NAME_MAX)
			return cps_fail(err, CPS_E_INVAL,
					"name %zu of the %s is empty or longer than %d characters",
					i + 1, what, CPS_CRYPTO_NAME_MAX);
		for (size_t j = 0; j < len; j++) {
			unsigned char c = (unsigned char)names[i][j];

			if (c <= 0x20 || c >= 0x7f || c == ',')
				return cps_fail(err, CPS_E_INVAL,
						"name %zu of the %s is not a hostname",
						i + 1, what);
		}
	}
	return 0;
}

const char *cps_crypto_cn_name(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!cps_name_is_ip(names[i]))
			return strlen(names[i]) <= CPS_CRYPTO_CN_MAX ? names[i] : NULL;
	return NULL;
}

/* subjectAltName with one dNSName per hostname and one iPAddress per
 * address (RFC 8738), in order. */
GENERAL_NAMES *cps_crypto_dns_names(const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	if (gens == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_STRING *s = ASN1_STRING_new();
		unsigned char a[16];
		bool v6 = strchr(names[i], ':') != NULL;
		bool ip = inet_pton(v6 ? AF_INET6 : AF_INET, names[i], a) == 1;

		if (g == NULL || s == NULL ||
		    (ip ? ASN1_OCTET_STRING_set(s, a, v6 ? 16 : 4)
			: ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) != 1) {
			GENERAL_NAME_free(g);
			ASN1_STRING_free(s);
			goto fail;
		}
		if (!ip)
			s->type = V_ASN1_IA5STRING;
		GENERAL_NAME_set0_value(g, ip ? GEN_IPADD : GEN_DNS, s);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto fail;
		}
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}
