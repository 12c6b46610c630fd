#include "cpssl/names/hostname.h"

#include <libpsl.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A printable, bounded copy of untrusted input for error messages. */
static const char *shown(const char *in, char *buf, size_t len)
{
	size_t i = 0;

	for (; in[i] && i + 4 < len; i++) {
		unsigned char c = (unsigned char)in[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (in[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static int bad(cps_err *err, const char *in, const char *why)
{
	char s[80];

	return cps_fail(err, CPS_E_INVAL, "'%s' is not a valid hostname: %s",
			shown(in, s, sizeof(s)), why);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

int cps_hostname_normalize(const char *in, unsigned flags,
			   char out[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	size_t n = strlen(in), labels = 0;
	char buf[CPS_HOSTNAME_MAX + 2];
	unsigned char a6[16];
	const char *p;

	if (n == 0)
		return cps_fail(err, CPS_E_INVAL, "empty hostname");
	if ((flags & CPS_NAME_ALLOW_IP) && cps_name_is_ip(in))
		return cps_ip_normalize(in, out, err);
	if (strchr(in, ':') && inet_pton(AF_INET6, in, a6) == 1)
		return bad(err, in, "it is an IP address; certificates here are for hostnames");
	if (n > 1 && in[n - 1] == '.')
		n--; /* the root label of an FQDN */
	if (n > CPS_HOSTNAME_MAX)
		return bad(err, in, "it is longer than 253 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f)
			return bad(err, in, "it contains control characters");
		if (c >= 0x80)
			return bad(err, in,
				   "it contains non-ASCII characters; write an "
				   "internationalized name in its A-label form (xn--...)");
		if (!isalnum(c) && c != '-' && c != '.' && c != '*') {
			char why[80];

			snprintf(why, sizeof(why),
				 "'%c' is not allowed (letters, digits, '-' and '.' only)",
				 c);
			return bad(err, in, why);
		}
		buf[i] = (char)tolower(c);
	}
	buf[n] = '\0';

	p = buf;
	if (p[0] == '*') {
		if (!(flags & CPS_NAME_ALLOW_WILDCARD))
			return bad(err, in, "a wildcard is not allowed here");
		if (p[1] != '.')
			return bad(err, in, "a wildcard must be the whole leftmost label, as in *.example.com");
		p += 2;
	}
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len == 0)
			return bad(err, in, "it has an empty label");
		if (len > 63)
			return bad(err, in, "a label is longer than 63 characters");
		if (memchr(p, '*', len))
			return bad(err, in, "a wildcard must be the whole leftmost label, as in *.example.com");
		if (p[0] == '-' || p[len - 1] == '-')
			return bad(err, in, "a label starts or ends with a hyphen");
		if (len >= 4 && p[2] == '-' && p[3] == '-' && strncmp(p, "xn", 2) != 0)
			return bad(err, in, "a label has '--' in positions 3 and 4, which is reserved for xn-- labels");
		labels++;
		if (dot == NULL) {
			if (all_digits(p, len))
				return bad(err, in, (flags & CPS_NAME_ALLOW_IP) && labels == 4
							    ? "nor a valid IP address (write IPv4 as 192.0.2.1, "
							      "without leading zeros)"
						    : labels == 4 ? "it is an IP address; certificates here are for hostnames"
								  : "the top-level label is numeric");
			break;
		}
		p = dot + 1;
	}
	if (labels < 2)
		return bad(err, in, "it is not a fully qualified domain name (add the domain, e.g. name.example.com)");
	memcpy(out, buf, n + 1);
	return 0;
}

bool cps_hostname_is_wildcard(const char *name)
{
	return name[0] == '*' && name[1] == '.';
}

bool cps_name_is_ip(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

int cps_ip_normalize(const char *in, char out[CPS_IP_TEXT_MAX], cps_err *err)
{
	static const unsigned char zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned char a[16];
	int af = strchr(in, ':') ? AF_INET6 : AF_INET;
	char s[80];

	if (inet_pton(af, in, a) != 1)
		return cps_fail(err, CPS_E_INVAL,
				"'%s' is not a valid IP address (write IPv4 as 192.0.2.1, IPv6 as 2001:db8::1, "
				"without a prefix or zone)", shown(in, s, sizeof(s)));
	if (memcmp(a, zero, af == AF_INET6 ? 16 : 4) == 0)
		return cps_fail(err, CPS_E_INVAL, "'%s' is the unspecified address, which no certificate can name",
				shown(in, s, sizeof(s)));
	if (af == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		return cps_fail(err, CPS_E_INVAL,
				"'%s' is an IPv4 address written as IPv6: write it as %u.%u.%u.%u",
				shown(in, s, sizeof(s)), a[12], a[13], a[14], a[15]);
	if (inet_ntop(af, a, out, CPS_IP_TEXT_MAX) == NULL)
		return cps_fail(err, CPS_E_INVAL, "'%s' is not a valid IP address", shown(in, s, sizeof(s)));
	return 0;
}

bool cps_hostname_within(const char *name, const char *domain)
{
	size_t n, d = strlen(domain);

	if (cps_hostname_is_wildcard(name))
		name += 2;
	n = strlen(name);
	if (n == d)
		return strcmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' && strcmp(name + n - d, domain) == 0;
}

int cps_email_normalize(const char *in, char out[CPS_EMAIL_MAX + 1],
			cps_err *err)
{
	const char *at = strchr(in, '@');
	char dom[CPS_HOSTNAME_MAX + 1], s[80];
	size_t local;

	if (strlen(in) > CPS_EMAIL_MAX || at == NULL || strchr(at + 1, '@'))
		return cps_fail(err, CPS_E_INVAL,
				"'%s' is not a valid e-mail address (expected user@domain)",
				shown(in, s, sizeof(s)));
	local = (size_t)(at - in);
	if (local == 0 || local > 64)
		return cps_fail(err, CPS_E_INVAL,
				"'%s' is not a valid e-mail address: the part before '@' must be 1-64 characters",
				shown(in, s, sizeof(s)));
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>()[]\\,;:", c))
			return cps_fail(err, CPS_E_INVAL,
					"'%s' is not a valid e-mail address: the part before '@' has a character that is not allowed",
					shown(in, s, sizeof(s)));
	}
	if (cps_hostname_normalize(at + 1, 0, dom, err) != 0)
		return cps_err_prefix(err, "invalid e-mail address domain");
	snprintf(out, CPS_EMAIL_MAX + 1, "%.*s@%s", (int)local, in, dom);
	return 0;
}

int cps_hostport_parse(const char *in, int default_port, char *host,
		       size_t hostlen, int *port, cps_err *err)
{
	const char *colon, *hend;
	char s[80], tmp[CPS_HOSTNAME_MAX + 1];
	unsigned char addr[16];
	size_t hlen;

	if (strchr(in, ':') != strrchr(in, ':') && in[0] != '[') {
		/* a bare IPv6 address: no port */
		if (strlen(in) >= hostlen || inet_pton(AF_INET6, in, addr) != 1 ||
		    default_port <= 0)
			goto invalid;
		strcpy(host, in);
		*port = default_port;
		return 0;
	}
	if (in[0] == '[') {
		hend = strchr(in, ']');
		if (hend == NULL)
			goto invalid;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && colon == NULL)
			goto invalid;
		in++;
	} else {
		colon = strrchr(in, ':');
		hend = colon ? colon : in + strlen(in);
	}
	hlen = (size_t)(hend - in);
	if (hlen == 0 || hlen >= hostlen || hlen > CPS_HOSTNAME_MAX)
		goto invalid;
	memcpy(host, in, hlen);
	host[hlen] = '\0';
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || v < 1 || v > 65535)
			goto invalid;
		*port = (int)v;
	} else if (default_port > 0) {
		*port = default_port;
	} else {
		goto invalid;
	}
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		return 0;
	if (cps_hostname_normalize(host, 0, tmp, NULL) == 0) {
		snprintf(host, hostlen, "%s", tmp);
		return 0;
	}
	if (strcmp(host, "localhost") == 0)
		return 0;
invalid:
	return cps_fail(err, CPS_E_INVAL,
			"'%s' is not a valid server address (expected host:port, e.g. 127.0.0.1:53)",
			shown(in, s, sizeof(s)));
}

bool cps_hostname_is_public_suffix(const char *name)
{
	static const psl_ctx_t *psl;

	if (psl == NULL)
		psl = psl_latest(NULL); /* Debian's publicsuffix list, or the built-in one */
	/* no "*" rule: an unlisted TLD (.test, say) is not a suffix */
	return psl && psl_is_public_suffix2(psl, name, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}
