/* What a zone's authoritative servers answer at one name, type by type
 * (record.h), and which servers those are: [dns] authoritative_ns or the
 * zone's NS records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/dns/internal.h"
#include "cpssl/dns/resolve.h"

/* Short: a lookup is one step of a command an administrator waits for. */
#define LOOKUP_TIMEOUT_MS 2000
#define LOOKUP_TRIES      2

int cps_dns_auth_servers(const char *auth_ns, const char *resolvers,
			 const char *name, cps_dns_server **sv, size_t *n,
			 cps_err *err)
{
	char zone[CPS_HOSTNAME_MAX + 1];

	if (auth_ns && *auth_ns)
		return cps_dns_servers_parse(auth_ns, sv, n, err);
	if (cps_dns_zone_of(resolvers ? resolvers : "", name, zone, err) < 0 ||
	    cps_dns_ns_servers(resolvers ? resolvers : "", zone, sv, n, err) < 0)
		return cps_err_prefix(err,
				      "cannot find the authoritative servers for %.253s (list them in [dns] authoritative_ns)",
				      name);
	return 0;
}

/* The records of type T owned by NAME in PKT's answer, appended to *V.
 * Other owners and types (the target of a CNAME, say) are left out. */
static int collect(const ldns_pkt *pkt, const char *name, cps_rrtype t,
		   cps_dns_record **v, size_t *n, cps_err *err)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		cps_dns_record *nv, *r;

		if (ldns_rr_get_type(rr) != cps_rrtype_ldns(t) || !cps_dns_owner_is(rr, name))
			continue;
		nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (nv == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		*v = nv;
		r = &nv[*n];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->type = t;
		r->ttl = (long)ldns_rr_ttl(rr);
		if ((r->value = cps_dns_rr_value(rr, t)) == NULL)
			return cps_fail(err, CPS_E_PROTO,
					"the %s record at %.253s in the answer is malformed",
					cps_rrtype_name(t), name);
		(*n)++;
	}
	return 0;
}

/* An answer from a server that does not hold the zone (a referral, a
 * resolver's cache) says nothing about the zone's records. */
static int authoritative(const cps_dns_server *s, const ldns_pkt *pkt,
			 const char *name, cps_err *err)
{
	if (ldns_pkt_aa(pkt))
		return 0;
	return cps_fail(err, CPS_E_DNS,
			"%s is not authoritative for %.253s (its answer is not flagged authoritative): "
			"list the zone's own servers in [dns] authoritative_ns",
			s->label, name);
}

int cps_dns_values_at(const cps_dns_server *s, const char *name, cps_rrtype t,
		      unsigned flags, cps_dns_record **v, size_t *n, cps_err *err)
{
	ldns_pkt *pkt = NULL;
	int rc;

	if (cps_dns_query(s, name, cps_rrtype_ldns(t), flags, LOOKUP_TIMEOUT_MS,
			  LOOKUP_TRIES, &pkt, err) < 0)
		return -1;
	rc = authoritative(s, pkt, name, err);
	if (rc == 0)
		rc = collect(pkt, name, t, v, n, err);
	ldns_pkt_free(pkt);
	return rc;
}

/* Type T at NAME from the servers in turn, starting with *FIRST (left on
 * the one that answered, so a dead server costs one time-out per lookup,
 * not one per type). On failure every server's reason is in the message. */
static int ask(const cps_dns_server *sv, size_t nsv, size_t *first,
	       const char *name, cps_rrtype t, cps_dns_record **v, size_t *n,
	       cps_err *err)
{
	char all[sizeof(err->msg)] = "";
	size_t used = 0;
	cps_err one;

	for (size_t k = 0; k < nsv; k++) {
		size_t i = (*first + k) % nsv, before = *n;

		cps_err_clear(&one);
		if (cps_dns_values_at(&sv[i], name, t, 0, v, n, &one) == 0) {
			*first = i;
			return 0;
		}
		if (one.code == CPS_E_NOMEM)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		/* nothing half-collected from a server that failed */
		for (size_t j = before; j < *n; j++)
			free((*v)[j].value);
		*n = before;
		if (used < sizeof(all))
			used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s",
						 k ? "; " : "", one.msg);
		if (k + 1 == nsv)
			return cps_fail(err, one.code, "%s", all);
	}
	return -1;
}

int cps_dns_records_lookup(const cps_dns_settings *s, const char *name,
			   unsigned types, cps_dns_record **out, size_t *n,
			   cps_err *err)
{
	cps_dns_server *sv = NULL;
	cps_dns_record *v = NULL;
	size_t nsv = 0, count = 0, first = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (cps_dns_auth_servers(s->authoritative_ns, s->resolvers, name, &sv, &nsv, err) < 0)
		return -1;
	if (nsv == 0) {
		free(sv);
		return cps_fail(err, CPS_E_CONFIG,
				"no authoritative server to ask for %.253s: set [dns] authoritative_ns", name);
	}
	for (int t = 0; t < CPS_RR__COUNT; t++)
		if ((types & CPS_RR_BIT(t)) &&
		    ask(sv, nsv, &first, name, (cps_rrtype)t, &v, &count, err) < 0)
			goto out;
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	cps_dns_records_free(v, count);
	free(sv);
	return rc;
}
