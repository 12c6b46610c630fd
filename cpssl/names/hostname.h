/* Hostname, e-mail and host:port validation. Every name is validated and
 * normalized here before it is stored, compared, or becomes part of a path. */
#ifndef CPSSL_NAMES_HOSTNAME_H
#define CPSSL_NAMES_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

#define CPS_HOSTNAME_MAX 253
#define CPS_EMAIL_MAX    254

enum {
	CPS_NAME_ALLOW_WILDCARD = 1 << 0, /* "*.d.example" is acceptable */
	CPS_NAME_ALLOW_IP = 1 << 1,       /* an IP address (RFC 8738) is acceptable */
};

/* Room for an IP address's text (INET6_ADDRSTRLEN). */
#define CPS_IP_TEXT_MAX 46

/* Validate IN and write its canonical form (lower case, no trailing dot) to
 * OUT. Rules: LDH labels of 1-63 characters, no leading/trailing hyphen, no
 * "--" in positions 3-4 unless "xn--", at most 253 characters, at least two
 * labels, ASCII only (IDNs in A-label form), a wildcard only as the whole
 * leftmost label and only with CPS_NAME_ALLOW_WILDCARD. An IP address only
 * with CPS_NAME_ALLOW_IP, and then in its canonical form (cps_ip_normalize). */
int cps_hostname_normalize(const char *in, unsigned flags,
			   char out[CPS_HOSTNAME_MAX + 1], cps_err *err);

bool cps_hostname_is_wildcard(const char *name);

/* Whether NAME is an IPv4 or IPv6 address (an ACME "ip" identifier). */
bool cps_name_is_ip(const char *name);

/* Validate the IPv4 or IPv6 address IN and write its canonical text to OUT:
 * dotted decimal, or RFC 5952 for IPv6 (lower case, the longest run of zero
 * groups compressed). Refused: zone ids ("%eth0"), prefixes, leading zeros in
 * IPv4, the unspecified address, and IPv4-mapped IPv6 (write the IPv4 address). */
int cps_ip_normalize(const char *in, char out[CPS_IP_TEXT_MAX], cps_err *err);

/* NAME equals DOMAIN or is a subdomain of it (both canonical). A wildcard
 * "*.D" is within DOMAIN when D is. */
bool cps_hostname_within(const char *name, const char *domain);

/* Whether NAME (canonical) is a public suffix — "com", "co.uk", "github.io"
 * — under which unrelated owners register their domains (the Public Suffix
 * List as Debian ships it, through libpsl). */
bool cps_hostname_is_public_suffix(const char *name);

/* A deliberately plain check: one '@', a non-empty local part of printable
 * ASCII without spaces, quotes or angle brackets, and a valid domain. */
int cps_email_normalize(const char *in, char out[CPS_EMAIL_MAX + 1],
			cps_err *err);

/* "host:port" or "[v6]:port" (port 1-65535); HOST is an IP address or a
 * hostname. DEFAULT_PORT is used when the port is omitted (0: required). */
int cps_hostport_parse(const char *in, int default_port, char *host,
		       size_t hostlen, int *port, cps_err *err);

#endif
