#include "cpssl/dns/resolve.h"

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/internal.h"

/* Short: a lookup is one step of a command an administrator waits for. */
#define QUERY_TIMEOUT_MS 2000
#define QUERY_TRIES      2

const char *cps_dns_rcode_name(int rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE", NULL, NULL, NULL, NULL, NULL,
		"BADSIG", "BADKEY", "BADTIME",
	};

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]) &&
	    names[rcode])
		return names[rcode];
	snprintf(buf, len, "RCODE %d", rcode);
	return buf;
}

static const char *type_name(ldns_rr_type type)
{
	switch (type) {
	case LDNS_RR_TYPE_A:    return "A";
	case LDNS_RR_TYPE_AAAA: return "AAAA";
	case LDNS_RR_TYPE_NS:   return "NS";
	case LDNS_RR_TYPE_SOA:  return "SOA";
	case LDNS_RR_TYPE_TXT:  return "TXT";
	default:                return "?";
	}
}

int cps_dns_server_parse(const char *hostport, cps_dns_server *s, cps_err *err)
{
	char host[CPS_HOSTNAME_MAX + 1];
	unsigned char buf[16];
	struct addrinfo hints, *ai = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if (cps_hostport_parse(hostport, 53, host, sizeof(host), &s->port, err) < 0)
		return -1;
	snprintf(s->label, sizeof(s->label), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
		 host, s->port);
	if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) {
		snprintf(s->ip, sizeof(s->ip), "%s", host);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		if (ai)
			freeaddrinfo(ai);
		return cps_fail(err, CPS_E_DNS,
				"cannot resolve the DNS server name %s: %s (use its IP address)",
				host, rc ? gai_strerror(rc) : "no address");
	}
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
			  s->ip, sizeof(s->ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			  s->ip, sizeof(s->ip));
	freeaddrinfo(ai);
	return 0;
}

int cps_dns_servers_parse(const char *list, cps_dns_server **out, size_t *n,
			  cps_err *err)
{
	cps_dns_server *v = NULL, *nv;
	const char *p = list ? list : "";
	size_t count = 0;

	*out = NULL;
	*n = 0;
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *a = p, *b = end;
		char one[CPS_HOSTNAME_MAX + 16];

		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		p = *end ? end + 1 : end;
		if (a == b)
			continue;
		if ((size_t)(b - a) >= sizeof(one)) {
			free(v);
			return cps_fail(err, CPS_E_INVAL,
					"'%.40s...' is not a valid server address", a);
		}
		memcpy(one, a, (size_t)(b - a));
		one[b - a] = '\0';
		nv = realloc(v, (count + 1) * sizeof(*v));
		if (nv == NULL) {
			free(v);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		v = nv;
		if (cps_dns_server_parse(one, &v[count], err) < 0) {
			free(v);
			return -1;
		}
		count++;
	}
	*out = v;
	*n = count;
	return 0;
}

static ldns_resolver *resolver_for(const cps_dns_server *s, cps_err *err)
{
	ldns_resolver *r = NULL;
	ldns_rdf *ns;
	ldns_status st;

	if (s == NULL) {
		st = ldns_resolver_new_frm_file(&r, NULL);
		if (st != LDNS_STATUS_OK) {
			cps_fail(err, CPS_E_DNS,
				 "cannot read /etc/resolv.conf (%s): set [dns] resolvers",
				 ldns_get_errorstr_by_id(st));
			return NULL;
		}
		if (ldns_resolver_nameserver_count(r) == 0) {
			ldns_resolver_deep_free(r);
			cps_fail(err, CPS_E_DNS,
				 "/etc/resolv.conf lists no nameserver: set [dns] resolvers");
			return NULL;
		}
		return r;
	}
	ns = ldns_rdf_new_frm_str(strchr(s->ip, ':') ? LDNS_RDF_TYPE_AAAA :
				  LDNS_RDF_TYPE_A, s->ip);
	r = ldns_resolver_new();
	if (ns == NULL || r == NULL ||
	    ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		if (r)
			ldns_resolver_deep_free(r);
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		return NULL;
	}
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(r, (uint16_t)s->port);
	return r;
}

int cps_dns_query(const cps_dns_server *s, const char *name,
		  ldns_rr_type type, unsigned flags, int timeout_ms, int tries,
		  ldns_pkt **pkt, cps_err *err)
{
	bool recursive = flags & CPS_DNS_Q_RD;
	const char *who = s ? s->label : "the resolvers of /etc/resolv.conf";
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	ldns_resolver *r = NULL;
	ldns_rdf *dname = NULL;
	ldns_pkt *q = NULL, *a = NULL;
	ldns_status st;
	char rbuf[16];
	int rc = -1, rcode;

	*pkt = NULL;
	dname = ldns_dname_new_frm_str(name);
	if (dname == NULL)
		return cps_fail(err, CPS_E_INVAL, "'%.253s' is not a valid DNS name",
				name);
	r = resolver_for(s, err);
	if (r == NULL)
		goto out;
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, (uint8_t)tries);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_recursive(r, recursive);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_usevc(r, (flags & CPS_DNS_Q_TCP) != 0);
	ldns_resolver_set_fallback(r, true); /* TCP when truncated */
	st = ldns_resolver_prepare_query_pkt(&q, r, dname, type, LDNS_RR_CLASS_IN,
					     recursive ? LDNS_RD : 0);
	if (st != LDNS_STATUS_OK) {
		cps_fail(err, CPS_E_DNS, "cannot build a query for %.253s: %s", name,
			 ldns_get_errorstr_by_id(st));
		goto out;
	}
	st = ldns_resolver_send_pkt(&a, r, q);
	if (a == NULL) {
		/* a time-out, a refused TCP connection (which ldns reports
		 * as a general error): no answer either way */
		if (st == LDNS_STATUS_MEM_ERR)
			cps_fail(err, CPS_E_NOMEM, "out of memory");
		else
			cps_fail(err, CPS_E_TIMEOUT,
				 "no answer from %s to %.253s %s over %s (%d x %.1f s): is a DNS server running there?",
				 who, name, type_name(type),
				 flags & CPS_DNS_Q_TCP ? "TCP" : "UDP", tries,
				 timeout_ms / 1000.0);
		goto out;
	}
	if (ldns_pkt_id(a) != ldns_pkt_id(q) || !ldns_pkt_qr(a)) {
		cps_fail(err, CPS_E_PROTO,
			 "the answer from %s does not match the query for %.253s %s",
			 who, name, type_name(type));
		goto out;
	}
	rcode = ldns_pkt_get_rcode(a);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		cps_fail(err, CPS_E_DNS, "%s answered %s to %.253s %s", who,
			 cps_dns_rcode_name(rcode, rbuf, sizeof(rbuf)), name,
			 type_name(type));
		goto out;
	}
	*pkt = a;
	a = NULL;
	rc = 0;
out:
	if (a)
		ldns_pkt_free(a);
	if (q)
		ldns_pkt_free(q);
	if (r)
		ldns_resolver_deep_free(r);
	ldns_rdf_deep_free(dname);
	return rc;
}

/* Ask the servers in turn, starting with *FIRST, until one answers, and
 * leave *FIRST on it (a dead server then costs one time-out per lookup, not
 * one per query). No server means /etc/resolv.conf. On failure every
 * server's reason is in the message. */
static int ask(const cps_dns_server *sv, size_t n, size_t *first,
	       const char *name, ldns_rr_type type, ldns_pkt **pkt,
	       cps_err *err)
{
	char all[sizeof(err->msg)] = "";
	cps_err one;
	size_t used = 0;

	if (n == 0)
		return cps_dns_query(NULL, name, type, CPS_DNS_Q_RD,
				     QUERY_TIMEOUT_MS, QUERY_TRIES, pkt, err);
	for (size_t k = 0; k < n; k++) {
		size_t i = (*first + k) % n;

		cps_err_clear(&one);
		if (cps_dns_query(&sv[i], name, type, CPS_DNS_Q_RD, QUERY_TIMEOUT_MS,
				  QUERY_TRIES, pkt, &one) == 0) {
			*first = i;
			return 0;
		}
		if (used < sizeof(all))
			used += (size_t)snprintf(all + used, sizeof(all) - used,
						 "%s%s", k ? "; " : "", one.msg);
		if (k + 1 == n)
			return cps_fail(err, one.code, "%s", all);
	}
	return -1;
}

void cps_dns_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_push(char ***v, size_t *n, char *s, cps_err *err)
{
	char **nv;

	if (s == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL) {
		free(s);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

int cps_dns_addresses(const char *servers, const char *name, char ***addrs,
		      size_t *n, cps_err *err)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	cps_dns_server *sv = NULL;
	size_t nsv = 0, first = 0;
	char **v = NULL;
	size_t count = 0;
	int rc = -1;

	*addrs = NULL;
	*n = 0;
	if (cps_dns_servers_parse(servers, &sv, &nsv, err) < 0)
		return -1;
	for (size_t t = 0; t < 2; t++) {
		ldns_pkt *pkt = NULL;
		ldns_rr_list *ans;

		if (ask(sv, nsv, &first, name, types[t], &pkt, err) < 0)
			goto out;
		/* NXDOMAIN or no data: no address, not an error */
		ans = ldns_pkt_answer(pkt);
		for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			ldns_rr *rr = ldns_rr_list_rr(ans, i);

			if (ldns_rr_get_type(rr) != types[t] || ldns_rr_rd_count(rr) < 1)
				continue;
			if (strv_push(&v, &count, ldns_rdf2str(ldns_rr_rdf(rr, 0)), err) < 0) {
				ldns_pkt_free(pkt);
				goto out;
			}
		}
		ldns_pkt_free(pkt);
	}
	*addrs = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	cps_dns_strv_free(v, count);
	free(sv);
	return rc;
}

/* "Example.COM." -> "example.com" */
static int owner_to_zone(const ldns_rr *rr, char zone[CPS_HOSTNAME_MAX + 1],
			 cps_err *err)
{
	char *s = ldns_rdf2str(ldns_rr_owner(rr));
	size_t len;

	if (s == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len == 0 || len > CPS_HOSTNAME_MAX) {
		free(s);
		return cps_fail(err, CPS_E_DNS, "the SOA found is for the root zone");
	}
	for (size_t i = 0; i < len; i++)
		zone[i] = (char)tolower((unsigned char)s[i]);
	zone[len] = '\0';
	free(s);
	return 0;
}

static const ldns_rr *find_soa(const ldns_rr_list *l)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_SOA)
			return ldns_rr_list_rr(l, i);
	return NULL;
}

static int zone_from(const ldns_pkt *pkt, const char *name,
		     char zone[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	/* at the apex the SOA is the answer; below it, in the authority */
	const ldns_rr *soa = find_soa(ldns_pkt_answer(pkt));

	if (soa == NULL)
		soa = find_soa(ldns_pkt_authority(pkt));
	if (soa == NULL)
		return cps_fail(err, CPS_E_DNS,
				"no zone found for %.253s: the answer to its SOA query has no SOA record",
				name);
	return owner_to_zone(soa, zone, err);
}

int cps_dns_zone_of(const char *servers, const char *name,
		    char zone[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	cps_dns_server *sv = NULL;
	ldns_pkt *pkt = NULL;
	size_t nsv = 0, first = 0;
	int rc = -1;

	zone[0] = '\0';
	if (cps_dns_servers_parse(servers, &sv, &nsv, err) < 0)
		return -1;
	if (ask(sv, nsv, &first, name, LDNS_RR_TYPE_SOA, &pkt, err) == 0)
		rc = zone_from(pkt, name, zone, err);
	if (pkt)
		ldns_pkt_free(pkt);
	free(sv);
	return rc;
}

int cps_dns_zone_at(const cps_dns_server *s, const char *name, unsigned flags,
		    char zone[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	ldns_pkt *pkt = NULL;
	int rc;

	zone[0] = '\0';
	if (cps_dns_query(s, name, LDNS_RR_TYPE_SOA, flags, QUERY_TIMEOUT_MS,
			  QUERY_TRIES, &pkt, err) < 0)
		return -1;
	rc = zone_from(pkt, name, zone, err);
	ldns_pkt_free(pkt);
	return rc;
}

int cps_dns_txt_lookup_at(const cps_dns_server *s, const char *name,
			  int timeout_ms, int tries, char ***values, size_t *n,
			  cps_err *err)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	char **v = NULL;
	size_t count = 0;

	*values = NULL;
	*n = 0;
	if (cps_dns_query(s, name, LDNS_RR_TYPE_TXT, 0, timeout_ms, tries,
			  &pkt, err) < 0)
		return -1;
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		if (strv_push(&v, &count, cps_dns_txt_joined(rr), err) < 0) {
			cps_dns_strv_free(v, count);
			ldns_pkt_free(pkt);
			return -1;
		}
	}
	ldns_pkt_free(pkt);
	*values = v;
	*n = count;
	return 0;
}

int cps_dns_txt_lookup(const char *server, const char *name, char ***values,
		       size_t *n, cps_err *err)
{
	cps_dns_server s;

	*values = NULL;
	*n = 0;
	if (cps_dns_server_parse(server, &s, err) < 0)
		return -1;
	return cps_dns_txt_lookup_at(&s, name, QUERY_TIMEOUT_MS, QUERY_TRIES,
				     values, n, err);
}

/* The zone's NS names, asked of RESOLVERS, and their addresses, port 53. */
int cps_dns_ns_servers(const char *resolvers, const char *zone,
		       cps_dns_server **out, size_t *n, cps_err *err)
{
	cps_dns_server *sv = NULL, *v = NULL;
	size_t nsv = 0, count = 0, first = 0;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (cps_dns_servers_parse(resolvers, &sv, &nsv, err) < 0)
		return -1;
	if (ask(sv, nsv, &first, zone, LDNS_RR_TYPE_NS, &pkt, err) < 0)
		goto out;
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		char *host, **addrs = NULL;
		size_t na = 0;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || ldns_rr_rd_count(rr) < 1)
			continue;
		host = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		if (host == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto out;
		}
		if (cps_dns_addresses(resolvers, host, &addrs, &na, err) < 0) {
			free(host);
			goto out;
		}
		for (size_t j = 0; j < na; j++) {
			cps_dns_server s, *nv;
			bool dup = false;

			memset(&s, 0, sizeof(s));
			s.port = 53;
			snprintf(s.ip, sizeof(s.ip), "%s", addrs[j]);
			snprintf(s.label, sizeof(s.label),
				 strchr(s.ip, ':') ? "[%s]:53" : "%s:53", s.ip);
			for (size_t k = 0; k < count && !dup; k++)
				dup = strcmp(v[k].ip, s.ip) == 0;
			if (dup)
				continue;
			nv = realloc(v, (count + 1) * sizeof(*v));
			if (nv == NULL) {
				cps_dns_strv_free(addrs, na);
				free(host);
				cps_fail(err, CPS_E_NOMEM, "out of memory");
				goto out;
			}
			v = nv;
			v[count++] = s;
		}
		cps_dns_strv_free(addrs, na);
		free(host);
	}
	if (count == 0) {
		cps_fail(err, CPS_E_DNS, "zone %s has no NS record with an address", zone);
		goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	free(v);
	if (pkt)
		ldns_pkt_free(pkt);
	free(sv);
	return rc;
}

/* The records of TYPE (with at least MIN_RD fields) at NAME as SERVERS
 * answer, each made text by TEXT; none is *n = 0, not an error. */
static int answers(const char *servers, const char *name, ldns_rr_type type, size_t min_rd,
		   char *(*text)(const ldns_rr *), char ***out, size_t *n, cps_err *err)
{
	cps_dns_server *sv = NULL;
	size_t nsv = 0, first = 0, count = 0;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	char **v = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (cps_dns_servers_parse(servers, &sv, &nsv, err) < 0)
		return -1;
	if (ask(sv, nsv, &first, name, type, &pkt, err) < 0)
		goto out;
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != type || ldns_rr_rd_count(rr) < min_rd)
			continue;
		if (strv_push(&v, &count, text(rr), err) < 0)
			goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	ldns_pkt_free(pkt);
	cps_dns_strv_free(v, count);
	free(sv);
	return rc;
}

/* An MX record's exchange host. */
static char *mx_text(const ldns_rr *rr)
{
	return ldns_rdf2str(ldns_rr_rdf(rr, 1));
}

int cps_dns_mx(const char *servers, const char *name, char ***hosts, size_t *n,
	       cps_err *err)
{
	return answers(servers, name, LDNS_RR_TYPE_MX, 2, mx_text, hosts, n, err);
}

/* One CAA record's text: "FLAGS TAG VALUE", the value without its quotes. */
static char *caa_text(const ldns_rr *rr)
{
	char *f = ldns_rdf2str(ldns_rr_rdf(rr, 0)), *t = ldns_rdf2str(ldns_rr_rdf(rr, 1));
	char *v = ldns_rdf2str(ldns_rr_rdf(rr, 2)), *out = NULL;
	size_t vl = v ? strlen(v) : 0;

	if (f && t && v) {
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v[vl - 1] = '\0';
			memmove(v, v + 1, vl - 1);
		}
		if (asprintf(&out, "%s %s %s", f, t, v) < 0)
			out = NULL;
	}
	free(f);
	free(t);
	free(v);
	return out;
}

int cps_dns_caa(const char *servers, const char *name, char ***records, size_t *n,
		cps_err *err)
{
	return answers(servers, name, LDNS_RR_TYPE_CAA, 3, caa_text, records, n, err);
}
