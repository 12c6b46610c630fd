/* Private to cpssl/dns: server lists, single-server queries with ldns, and
 * the provider internals shared by provider.c, rfc2136.c and hook.c. */
#ifndef CPSSL_DNS_INTERNAL_H
#define CPSSL_DNS_INTERNAL_H

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdbool.h>

#include "cpssl/core/err.h"
#include "cpssl/dns/provider.h"
#include "cpssl/dns/record.h"
#include "cpssl/names/hostname.h"

/* One DNS server: as configured (for messages) and as an address. */
typedef struct cps_dns_server {
	char label[CPS_HOSTNAME_MAX + 16]; /* "host:port" / "[v6]:port" */
	char ip[INET6_ADDRSTRLEN];
	int port;
} cps_dns_server;

/* "host:port" (default port 53); a host name is resolved with
 * getaddrinfo, an IP address is taken as it is. */
int cps_dns_server_parse(const char *hostport, cps_dns_server *s, cps_err *err);
/* "host:port,host:port" (spaces around entries allowed); an empty list
 * gives *n = 0. Free *out with free(). */
int cps_dns_servers_parse(const char *list, cps_dns_server **out, size_t *n,
			  cps_err *err);

enum {
	CPS_DNS_Q_RD = 1 << 0,  /* recursion desired */
	CPS_DNS_Q_TCP = 1 << 1, /* TCP only (a dead server fails at once) */
};

/* Ask one server (S, or /etc/resolv.conf when S is NULL) for NAME TYPE,
 * TIMEOUT_MS per try. 0 with *pkt when the answer is NOERROR or NXDOMAIN;
 * -1 naming the server for no answer (CPS_E_TIMEOUT) or another rcode
 * (CPS_E_DNS). */
int cps_dns_query(const cps_dns_server *s, const char *name,
		  ldns_rr_type type, unsigned flags, int timeout_ms, int tries,
		  ldns_pkt **pkt, cps_err *err);

/* cps_dns_zone_of asking one server with FLAGS. */
int cps_dns_zone_at(const cps_dns_server *s, const char *name, unsigned flags,
		    char zone[CPS_HOSTNAME_MAX + 1], cps_err *err);

/* cps_dns_txt_lookup with an explicit time budget. */
int cps_dns_txt_lookup_at(const cps_dns_server *s, const char *name,
			  int timeout_ms, int tries, char ***values, size_t *n,
			  cps_err *err);

/* The addresses (port 53) of ZONE's NS records, found through RESOLVERS
 * ("" = /etc/resolv.conf). Free *out with free(). */
int cps_dns_ns_servers(const char *resolvers, const char *zone,
		       cps_dns_server **out, size_t *n, cps_err *err);

/* [dns] authoritative_ns (AUTH_NS), or the addresses of the NS records of
 * NAME's zone found through RESOLVERS. Free *sv with free(). */
int cps_dns_auth_servers(const char *auth_ns, const char *resolvers,
			 const char *name, cps_dns_server **sv, size_t *n,
			 cps_err *err);

/* The records of type T at NAME that server S answers (FLAGS as for
 * cps_dns_query; an answer must be authoritative), appended to *V / *N. */
int cps_dns_values_at(const cps_dns_server *s, const char *name, cps_rrtype t,
		      unsigned flags, cps_dns_record **v, size_t *n, cps_err *err);

/* Wire form (record.c). The ldns type of T. */
ldns_rr_type cps_rrtype_ldns(cps_rrtype t);
/* NAME T VALUE (canonical, see record.h) with class CLS and TTL; VALUE
 * NULL gives a record without data (removing a whole RRset, RFC 2136
 * 2.5.2). */
ldns_rr *cps_dns_rr_new(const char *name, cps_rrtype t, const char *value,
			ldns_rr_class cls, uint32_t ttl, cps_err *err);
/* A TXT record holding VALUE's bytes as they are (up to CPS_DNS_TXT_MAX,
 * in strings of 255). */
ldns_rr *cps_dns_txt_rr(const char *name, const char *value, ldns_rr_class cls,
			uint32_t ttl, cps_err *err);
/* The canonical value of an answered record of type T; NULL when out of
 * memory or malformed. One TXT record's strings joined. */
char *cps_dns_rr_value(const ldns_rr *rr, cps_rrtype t);
char *cps_dns_txt_joined(const ldns_rr *rr);
/* Whether RR's owner is NAME (canonical). */
bool cps_dns_owner_is(const ldns_rr *rr, const char *name);

/* Name of an rcode ("SERVFAIL"), or "RCODE n". BUF holds the latter. */
const char *cps_dns_rcode_name(int rcode, char *buf, size_t len);

typedef enum cps_dns_kind {
	CPS_DNS_RFC2136,
	CPS_DNS_HOOK,
} cps_dns_kind;

struct cps_dns_provider {
	cps_dns_kind kind;
	cps_dns_server update;   /* rfc2136: the primary server */
	char *key_name, *key_secret;
	const char *key_algorithm; /* ldns' name for it, static */
	char *hook;
	char *authoritative_ns;  /* "" = the zone's NS */
	char *resolvers;         /* "" = /etc/resolv.conf */
	long txt_ttl;            /* of the challenge TXT records it adds */
};

typedef enum cps_dns_op {
	CPS_DNS_ADD,
	CPS_DNS_DEL,
	CPS_DNS_PROBE, /* remove a record that is not there: a no-op update */
} cps_dns_op;

int cps_dns_rfc2136_update(cps_dns_provider *p, const char *name,
			   const char *value, cps_dns_op op, cps_err *err);
/* Add NAME T VALUE with TTL, or (ADD false) remove it — every T record at
 * NAME when VALUE is NULL — in one signed update. */
int cps_dns_rfc2136_record(cps_dns_provider *p, const char *name, cps_rrtype t,
			   const char *value, long ttl, bool add, cps_err *err);
/* HOOK setup|teardown NAME VALUE (dns-01). */
int cps_dns_hook_run(cps_dns_provider *p, const char *action,
		     const char *name, const char *value, cps_err *err);
/* HOOK add NAME TYPE VALUE TTL, or HOOK delete NAME TYPE [VALUE]. */
int cps_dns_hook_record(cps_dns_provider *p, bool add, const char *name,
			cps_rrtype t, const char *value, long ttl, cps_err *err);

/* Name, algorithm and secret of the first key in the BIND key file PATH
 * (tsigkey.c). */
int cps_tsig_key_file(const char *path, char **name, char **alg, char **secret, cps_err *err);

#endif
