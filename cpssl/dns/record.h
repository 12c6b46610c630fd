/* DNS records as the dns module adds, removes and reads them: the types it
 * supports, each VALUE checked and written in one canonical form (so what
 * is added, what is asked for and what a server answers compare equal), the
 * name a zone and a subdomain make, and what a zone's authoritative servers
 * answer at a name. */
#ifndef CPSSL_DNS_RECORD_H
#define CPSSL_DNS_RECORD_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/names/hostname.h"

typedef enum cps_rrtype {
	CPS_RR_A = 0,
	CPS_RR_AAAA,
	CPS_RR_TXT,
	CPS_RR_CNAME,
	CPS_RR_MX,
	CPS_RR_CAA,
	CPS_RR__COUNT
} cps_rrtype;

#define CPS_RR_BIT(t) (1u << (t))
#define CPS_RR_ALL ((1u << CPS_RR__COUNT) - 1)

#define CPS_DNS_TXT_MAX 2048          /* bytes in one TXT value */
#define CPS_DNS_TTL_MAX 2147483647L   /* RFC 2181 */
#define CPS_DNS_TTL_DEFAULT 3600

/* "A", "TXT", … */
const char *cps_rrtype_name(cps_rrtype t);
/* Case-insensitive; an unsupported type is refused with the list. */
int cps_rrtype_parse(const char *s, cps_rrtype *out, cps_err *err);

/* VALUE checked for TYPE and written canonically (*out: caller frees):
 *   A      an IPv4 address            192.0.2.10
 *   AAAA   an IPv6 address            2001:db8::10 (compressed, lower case)
 *   TXT    1-2048 bytes of printable ASCII, as given
 *   CNAME  a host name                www.example.com (no trailing dot)
 *   MX     PRIORITY HOST              10 mail.example.com
 *   CAA    FLAGS TAG VALUE            0 issue "letsencrypt.org" */
int cps_dns_value_canonical(cps_rrtype t, const char *value, char **out,
			    cps_err *err);

/* ZONE (a host name) and SUBDOMAIN ("" or "@": the zone's apex; else
 * labels of letters, digits, '-' and '_', with '*' only as the whole first
 * label) → *ZONE_OUT (canonical) and the record's name, lower case, without
 * a trailing dot. */
int cps_dns_record_name(const char *zone, const char *subdomain,
			char zone_out[CPS_HOSTNAME_MAX + 1],
			char name[CPS_HOSTNAME_MAX + 1], cps_err *err);

typedef struct cps_dns_record {
	char name[CPS_HOSTNAME_MAX + 1];
	cps_rrtype type;
	long ttl;
	char *value;                 /* canonical */
} cps_dns_record;

void cps_dns_records_free(cps_dns_record *v, size_t n);

/* The records of the types in TYPES (CPS_RR_BIT mask) at NAME, as the
 * zone's authoritative servers answer: [dns] authoritative_ns, else the
 * zone's NS servers found through [dns] resolvers. Each type is asked on
 * its own (never ANY), without recursion; an answer without the
 * authoritative flag (a referral, a cache) is not taken. Free *OUT with
 * cps_dns_records_free. */
int cps_dns_records_lookup(const cps_dns_settings *s, const char *name,
			   unsigned types, cps_dns_record **out, size_t *n,
			   cps_err *err);

#endif
