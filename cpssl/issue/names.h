/* Which names a request may order, and how each will be validated.
 *
 * Each name is validated and normalized and repeats are dropped; it must be
 * owned by the site (or, for the server's own certificate, be the server
 * hostname or in [letsencrypt] additional_certs); with IP verification its
 * A and AAAA records, resolved through [dns] resolvers, must include the
 * site's address (wildcards are exempt). An IP address (RFC 8738) must be
 * the site's own ip or ip6, shared with no other site (for the server: in
 * additional_certs and one of its own addresses, store/addresses.h); it is
 * never resolved and only http can validate it. A failing name fails the request
 * in strict mode and is dropped with a WARNING otherwise; with
 * alternative_form, www.D is added for D and D for www.D when it passes
 * (a failing alternative is dropped with INFO; strict: fails).
 *
 * The mechanism per name: the one forced with use-mechanism; else dns for
 * a wildcard; else http, or dns when IP verification is off and the name
 * does not resolve to the site; never one listed in disabled_challenges, and
 * dns only with a DNS provider; persist (dns-persist-01) only when forced.
 * When the chosen mechanism fails and the
 * other one is possible (and none was forced), the other is tried. */
#ifndef CPSSL_ISSUE_NAMES_H
#define CPSSL_ISSUE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/settings.h"
#include "cpssl/store/sites.h"

/* The most names one certificate may carry (Let's Encrypt's limit). */
#define CPS_MAX_NAMES 100

typedef enum cps_mech {
	CPS_MECH_HTTP = 0,
	CPS_MECH_DNS,
	CPS_MECH_PERSIST,   /* dns-persist-01: a TXT record published once by the
			     * name's owner; only when forced (use-mechanism) */
} cps_mech;

const char *cps_mech_name(cps_mech m);          /* "http", "dns", "persist" */
const char *cps_mech_challenge(cps_mech m);     /* "http-01", "dns-01", "dns-persist-01" */
/* "http" / "dns" / "persist" (also "http-01" / "dns-01" / "dns-persist-01")
 * → mechanism; -1 if none. */
int cps_mech_parse(const char *s, cps_mech *out);

typedef struct cps_name_plan {
	char *name;
	cps_mech mech;
	bool forced;        /* set with use-mechanism */
	bool can_fallback;  /* the other mechanism may be tried if this one fails */
} cps_name_plan;

typedef struct cps_plan_opts {
	bool strict;
	bool verify_ip;
	bool alternative_form;
	bool mechanisms;    /* choose a mechanism (false when staging) */
} cps_plan_opts;

/* SITE NULL: the server (its names: cps_server_names with NS's
 * additional_certs). NS gives the mechanisms the subject can use and the
 * resolvers; OPTS what this request asks for. *out gets the names that may
 * be ordered, in the given order (possibly none). */
int cps_names_plan(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		   const char *const *in, size_t n, const cps_plan_opts *opts,
		   cps_name_plan **out, size_t *nout, cps_err *err);
void cps_name_plans_free(cps_name_plan *p, size_t n);

/* 0 when SITE (NULL: the server) may name NAME (canonical) in a
 * certificate — the ownership rule of a request, without resolving it;
 * -1 saying why not. */
int cps_names_may_name(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		       const char *name, cps_err *err);

/* 0 when NAME resolves (through SERVERS) to the site's IP or IPv6 address
 * (an IP address NAME: is one of them, without a lookup); -1 with the
 * resolved addresses in the message otherwise. */
int cps_names_verify_ip(const char *servers, const cps_site *site,
			const char *name, cps_err *err);

#endif
