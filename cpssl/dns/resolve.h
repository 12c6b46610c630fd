/* DNS lookups with ldns against explicit servers (or /etc/resolv.conf):
 * addresses for IP verification, the zone of a name, its NS servers. */
#ifndef CPSSL_DNS_RESOLVE_H
#define CPSSL_DNS_RESOLVE_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/names/hostname.h"

/* A and AAAA of NAME, in text form, asking SERVERS ("host:port,…", "" for
 * /etc/resolv.conf) with recursion desired. A name with no address is not
 * an error (*n = 0); a server failure or timeout is. Free with
 * cps_dns_strv_free. */
int cps_dns_addresses(const char *servers, const char *name, char ***addrs,
		      size_t *n, cps_err *err);

/* The zone NAME belongs to, from the SOA in the answer or authority section
 * of an SOA query for NAME sent to SERVERS. */
int cps_dns_zone_of(const char *servers, const char *name,
		    char zone[CPS_HOSTNAME_MAX + 1], cps_err *err);

/* TXT strings at NAME as answered by one server "host:port" (no
 * recursion). */
int cps_dns_txt_lookup(const char *server, const char *name, char ***values,
		       size_t *n, cps_err *err);

/* The mail exchangers of NAME (MX targets in answer order), asking SERVERS
 * like cps_dns_addresses. A null MX (RFC 7505, "0 .") is returned as ".";
 * none is *n = 0, not an error. */
int cps_dns_mx(const char *servers, const char *name, char ***hosts, size_t *n,
	       cps_err *err);

/* The CAA records at NAME exactly (no climbing; RFC 8659's tree climb is
 * the caller's), asking SERVERS like cps_dns_addresses, each as "FLAGS TAG
 * VALUE" with VALUE unquoted ("0 issue letsencrypt.org"). None (no data,
 * NXDOMAIN) is *n = 0, not an error. */
int cps_dns_caa(const char *servers, const char *name, char ***records, size_t *n,
		cps_err *err);

void cps_dns_strv_free(char **v, size_t n);

#endif
