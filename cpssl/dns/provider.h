/* DNS records added and removed through a provider — rfc2136 (TSIG-signed
 * dynamic update with ldns) or hook (an executable run as HOOK
 * setup|teardown NAME VALUE for dns-01, HOOK add|delete … for other
 * records) — and a bounded wait until the zone's authoritative servers
 * answer a dns-01 record. */
#ifndef CPSSL_DNS_PROVIDER_H
#define CPSSL_DNS_PROVIDER_H

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/dns/record.h"

typedef struct cps_dns_provider cps_dns_provider;

/* Validates the settings (a missing server, key or hook is a clear error
 * naming the config key to set). */
int cps_dns_provider_new(const cps_dns_settings *s, cps_dns_provider **out,
			 cps_err *err);
void cps_dns_provider_free(cps_dns_provider *p);
const char *cps_dns_provider_name(const cps_dns_provider *p);

/* Add one TXT record VALUE at NAME (e.g. "_acme-challenge.example.com"),
 * TTL the settings' txt_ttl (60 s by default). Other TXT records at NAME are kept (two challenges for d and *.d
 * coexist). Errors name the provider, the zone and the server's answer
 * (e.g. NOTAUTH for a wrong TSIG key, REFUSED, a timeout). */
int cps_dns_txt_add(cps_dns_provider *p, const char *name, const char *value,
		    cps_err *err);
/* Remove exactly that record; removing a record that is not there is not
 * an error. */
int cps_dns_txt_del(cps_dns_provider *p, const char *name, const char *value,
		    cps_err *err);

/* Add R (a canonical value, see record.h) keeping the other records at its
 * name. rfc2136: one signed update; a CNAME is refused where the name has
 * another CNAME, and the update server is asked afterwards whether it
 * serves the record (a server ignores a CNAME beside other data, or other
 * data beside a CNAME, without an error). hook: HOOK add NAME TYPE VALUE
 * TTL. */
int cps_dns_record_add(cps_dns_provider *p, const cps_dns_record *r,
		       cps_err *err);
/* Remove NAME T VALUE, or every T record at NAME when VALUE is NULL.
 * *REMOVED: how many records went (rfc2136 asks the update server first,
 * and sends nothing when there is nothing to remove); a hook (HOOK delete
 * NAME TYPE [VALUE]) cannot tell: 1. */
int cps_dns_record_del(cps_dns_provider *p, const char *name, cps_rrtype t,
		       const char *value, size_t *removed, cps_err *err);

/* Before anything is ordered: prove the provider will take an update at
 * NAME (rfc2136: a signed update removing a record that is not there, so
 * an unreachable server, an unknown zone or a refused key is found now,
 * naming the provider, server and zone). A hook is not probed. */
int cps_dns_probe(cps_dns_provider *p, const char *name, cps_err *err);

/* Wait (polling, bounded by TIMEOUT_S seconds) until every authoritative
 * server answers NAME TXT including VALUE. 0 when seen everywhere; -1 with
 * CPS_E_TIMEOUT naming the servers that did not answer it. */
int cps_dns_wait_txt(cps_dns_provider *p, const char *name, const char *value,
		     int timeout_s, cps_err *err);

#endif
