/* RFC 2136: one TSIG-signed UPDATE per record (dns-01 TXT records and the
 * dns module's records), over TCP
 * (no truncation, no retransmitted update, and a stopped server is seen at
 * once as a refused connection rather than after a UDP time-out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/internal.h"
#include "cpssl/dns/resolve.h"

#define UPDATE_TIMEOUT_S 5
#define TSIG_FUDGE       300

enum { TSIG_BADSIG = 16, TSIG_BADKEY = 17, TSIG_BADTIME = 18 };

/* The update of ZONE carrying RR, signed; RR belongs to the packet (or is
 * freed) from here on. */
static ldns_pkt *build_update(cps_dns_provider *p, const char *zone, ldns_rr *rr,
			      cps_err *err)
{
	ldns_rr_list *up = ldns_rr_list_new();
	ldns_rdf *zrdf = ldns_dname_new_frm_str(zone);
	ldns_pkt *pkt = NULL;
	ldns_status st;

	if (up == NULL || zrdf == NULL || !ldns_rr_list_push_rr(up, rr)) {
		ldns_rr_free(rr);
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	pkt = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, NULL, up, NULL);
	zrdf = NULL; /* owned by the packet (or freed with it) */
	if (pkt == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	ldns_pkt_set_rd(pkt, false);
	ldns_pkt_set_random_id(pkt);
	st = ldns_pkt_tsig_sign(pkt, p->key_name, p->key_secret, TSIG_FUDGE,
				p->key_algorithm, NULL);
	if (st != LDNS_STATUS_OK) {
		cps_fail(err, CPS_E_CONFIG,
			 "cannot sign the update with the TSIG key %s (%s): check [dns] rfc2136_key_secret and rfc2136_key_algorithm",
			 p->key_name, ldns_get_errorstr_by_id(st));
		ldns_pkt_free(pkt);
		pkt = NULL;
	}
out:
	if (up)
		ldns_rr_list_deep_free(up);
	ldns_rdf_deep_free(zrdf);
	return pkt;
}

/* Send the signed update over TCP; the raw answer is kept for the TSIG
 * check. */
static int send_tcp(cps_dns_provider *p, const ldns_pkt *q, uint8_t **wire,
		    size_t *wlen, cps_err *err)
{
	struct timeval tv = { UPDATE_TIMEOUT_S, 0 };
	struct sockaddr_storage *ss = NULL;
	ldns_buffer *qb = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	ldns_rdf *addr;
	size_t sslen = 0;
	ldns_status st;
	int rc = -1;

	*wire = NULL;
	addr = ldns_rdf_new_frm_str(strchr(p->update.ip, ':') ? LDNS_RDF_TYPE_AAAA :
				    LDNS_RDF_TYPE_A, p->update.ip);
	if (addr)
		ss = ldns_rdf2native_sockaddr_storage(addr, (uint16_t)p->update.port,
						      &sslen);
	if (qb == NULL || ss == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	st = ldns_pkt2buffer_wire(qb, q);
	if (st != LDNS_STATUS_OK) {
		cps_fail(err, CPS_E_INTERNAL, "cannot encode the update: %s",
			 ldns_get_errorstr_by_id(st));
		goto out;
	}
	st = ldns_tcp_send(wire, qb, ss, (socklen_t)sslen, tv, wlen);
	if (st != LDNS_STATUS_OK || *wire == NULL) {
		free(*wire);
		*wire = NULL;
		cps_fail(err, CPS_E_TIMEOUT,
			 "no answer from %s (TCP, %d s): is the DNS server running there? (check [dns] rfc2136_server)",
			 p->update.label, UPDATE_TIMEOUT_S);
		goto out;
	}
	rc = 0;
out:
	free(ss);
	ldns_rdf_deep_free(addr);
	if (qb)
		ldns_buffer_free(qb);
	return rc;
}

static int tsig_error(const ldns_pkt *a)
{
	const ldns_rr *t = ldns_pkt_tsig(a);

	if (t == NULL || ldns_rr_rd_count(t) < 6)
		return 0;
	return ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
}

/* Check the server's answer: its rcode, then its TSIG. */
static int check_answer(cps_dns_provider *p, const ldns_pkt *q, uint8_t *wire,
			size_t wlen, const char *zone, const char *name,
			cps_err *err)
{
	char rb[16], tb[16];
	ldns_pkt *a = NULL;
	ldns_rr *tsig;
	ldns_status st;
	int rcode, terr, rc = -1;
	bool ok;

	st = ldns_wire2pkt(&a, wire, wlen);
	if (st != LDNS_STATUS_OK)
		return cps_fail(err, CPS_E_PROTO,
				"the answer from %s to the update is not a DNS message (%s)",
				p->update.label, ldns_get_errorstr_by_id(st));
	if (ldns_pkt_id(a) != ldns_pkt_id(q) || !ldns_pkt_qr(a)) {
		cps_fail(err, CPS_E_PROTO,
			 "the answer from %s does not match the update sent", p->update.label);
		goto out;
	}
	rcode = ldns_pkt_get_rcode(a);
	terr = tsig_error(a);
	if (rcode == LDNS_RCODE_NOTAUTH || terr == TSIG_BADSIG ||
	    terr == TSIG_BADKEY || terr == TSIG_BADTIME) {
		cps_fail(err, CPS_E_CONFIG,
			 "the TSIG key was refused by %s for zone %s (%s%s%s): check [dns] rfc2136_key_name/rfc2136_key_secret%s",
			 p->update.label, zone, cps_dns_rcode_name(rcode, rb, sizeof(rb)),
			 terr ? ", " : "", terr ? cps_dns_rcode_name(terr, tb, sizeof(tb)) : "",
			 terr == TSIG_BADTIME ? " and that both clocks are right" : "");
		goto out;
	}
	if (rcode == LDNS_RCODE_REFUSED) {
		cps_fail(err, CPS_E_DNS,
			 "%s refused the update for zone %s (REFUSED): check its update-policy for key %s, "
			 "and its log for the reason (BIND also refuses an MX record whose host has no address)",
			 p->update.label, zone, p->key_name);
		goto out;
	}
	if (rcode == LDNS_RCODE_NOTZONE) {
		cps_fail(err, CPS_E_DNS, "%s says %.253s is not in zone %s (NOTZONE)",
			 p->update.label, name, zone);
		goto out;
	}
	if (rcode != LDNS_RCODE_NOERROR) {
		cps_fail(err, CPS_E_DNS, "%s answered %s to the update of %.253s in zone %s",
			 p->update.label, cps_dns_rcode_name(rcode, rb, sizeof(rb)),
			 name, zone);
		goto out;
	}
	tsig = ldns_pkt_tsig(a);
	if (tsig == NULL) {
		cps_fail(err, CPS_E_DNS,
			 "%s accepted the update for zone %s but did not sign its answer with the TSIG key",
			 p->update.label, zone);
		goto out;
	}
	ok = ldns_pkt_tsig_verify(a, wire, wlen, p->key_name, p->key_secret,
				  ldns_rr_rdf(ldns_pkt_tsig(q), 3));
	/* on some failures ldns leaves the TSIG detached from the packet */
	if (ldns_pkt_tsig(a) == NULL)
		ldns_pkt_set_tsig(a, tsig);
	if (!ok) {
		cps_fail(err, CPS_E_DNS,
			 "the answer from %s for zone %s carries a TSIG signature that does not verify with key %s",
			 p->update.label, zone, p->key_name);
		goto out;
	}
	rc = 0;
out:
	ldns_pkt_free(a);
	return rc;
}

/* One signed update carrying RR (freed here) to the zone of NAME as the
 * update server itself sees it (asked over TCP, like the update). */
static int send_update(cps_dns_provider *p, const char *name, ldns_rr *rr,
		       char zone[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int rc = -1;

	if (rr == NULL)
		return -1;
	if (cps_dns_zone_at(&p->update, name, CPS_DNS_Q_TCP, zone, err) < 0) {
		ldns_rr_free(rr);
		return cps_err_prefix(err, "cannot find the zone of %.253s on [dns] rfc2136_server",
				      name);
	}
	q = build_update(p, zone, rr, err);
	if (q && send_tcp(p, q, &wire, &wlen, err) == 0 &&
	    check_answer(p, q, wire, wlen, zone, name, err) == 0)
		rc = 0;
	free(wire);
	if (q)
		ldns_pkt_free(q);
	return rc;
}

int cps_dns_rfc2136_update(cps_dns_provider *p, const char *name,
			   const char *value, cps_dns_op op, cps_err *err)
{
	bool add = op == CPS_DNS_ADD;
	static const char *const doing[] = {
		[CPS_DNS_ADD] = "adding the TXT record at",
		[CPS_DNS_DEL] = "removing the TXT record at",
		[CPS_DNS_PROBE] = "checking that it accepts updates for",
	};
	char zone[CPS_HOSTNAME_MAX + 1];
	ldns_rr *rr;

	/* class NONE removes this exact record (RFC 2136 2.5.4) */
	rr = cps_dns_txt_rr(name, value, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE,
			    add ? p->txt_ttl : 0, err);
	if (send_update(p, name, rr, zone, err) < 0)
		return cps_err_prefix(err, "rfc2136: %s %.253s", doing[op], name);
	cps_debug("rfc2136: %s TXT at %s in zone %s on %s",
		  op == CPS_DNS_ADD ? "added" : op == CPS_DNS_DEL ? "deleted" : "may update",
		  name, zone, p->update.label);
	return 0;
}

int cps_dns_rfc2136_record(cps_dns_provider *p, const char *name, cps_rrtype t,
			   const char *value, long ttl, bool add, cps_err *err)
{
	char zone[CPS_HOSTNAME_MAX + 1];
	ldns_rr *rr;

	/* IN adds; NONE removes that record, ANY every record of the type
	 * (RFC 2136 2.5.4, 2.5.2) */
	rr = cps_dns_rr_new(name, t, value,
			    add ? LDNS_RR_CLASS_IN : value ? LDNS_RR_CLASS_NONE : LDNS_RR_CLASS_ANY,
			    add ? (uint32_t)ttl : 0, err);
	if (send_update(p, name, rr, zone, err) < 0)
		return cps_err_prefix(err, "rfc2136"); /* the caller names the record */
	cps_debug("rfc2136: %s %s%s%s at %s in zone %s on %s", add ? "added" : "deleted",
		  cps_rrtype_name(t), value ? " " : " records", value ? value : "", name, zone,
		  p->update.label);
	return 0;
}
