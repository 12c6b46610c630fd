#include "cpssl/issue/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/resolve.h"
#include "cpssl/store/addresses.h"
#include "cpssl/store/server.h"
#include "cpssl/store/ssl_state.h"

const char *cps_mech_name(cps_mech m)
{
	return m == CPS_MECH_PERSIST ? "persist" : m == CPS_MECH_DNS ? "dns" : "http";
}

const char *cps_mech_challenge(cps_mech m)
{
	return m == CPS_MECH_PERSIST ? "dns-persist-01" : m == CPS_MECH_DNS ? "dns-01" : "http-01";
}

int cps_mech_parse(const char *s, cps_mech *out)
{
	if (strcmp(s, "http") == 0 || strcmp(s, "http-01") == 0)
		*out = CPS_MECH_HTTP;
	else if (strcmp(s, "dns") == 0 || strcmp(s, "dns-01") == 0)
		*out = CPS_MECH_DNS;
	else if (strcmp(s, "persist") == 0 || strcmp(s, "dns-persist-01") == 0)
		*out = CPS_MECH_PERSIST;
	else
		return -1;
	return 0;
}

static bool contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	int af = strchr(a, ':') ? AF_INET6 : AF_INET;

	if (*a == '\0' || *b == '\0' || (strchr(b, ':') != NULL) != (af == AF_INET6))
		return false;
	return inet_pton(af, a, x) == 1 && inet_pton(af, b, y) == 1 &&
	       memcmp(x, y, af == AF_INET6 ? 16 : 4) == 0;
}

int cps_names_verify_ip(const char *servers, const cps_site *site,
			const char *name, cps_err *err)
{
	char **addrs = NULL, list[400] = "";
	size_t n = 0;

	if (cps_name_is_ip(name)) /* the identifier is the address: no lookup */
		return same_ip(name, site->ip) || same_ip(name, site->ip6)
			       ? 0
			       : cps_fail(err, CPS_E_PERM, "%s is not %s's address (%s%s%s)", name,
					  site->name, site->ip, site->ip6[0] ? " or " : "", site->ip6);
	if (cps_dns_addresses(servers, name, &addrs, &n, err) != 0)
		return cps_err_prefix(err, "cannot verify the IP address of %s", name);
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(list);

		if (same_ip(addrs[i], site->ip) || same_ip(addrs[i], site->ip6)) {
			cps_dns_strv_free(addrs, n);
			return 0;
		}
		snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", addrs[i]);
	}
	cps_dns_strv_free(addrs, n);
	if (n == 0)
		return cps_fail(err, CPS_E_PERM,
				"%s does not resolve to any address, so it doesn't match hosting IP %s%s%s "
				"(turn IP verification off for NAT setups)",
				name, site->ip, site->ip6[0] ? " or " : "", site->ip6);
	return cps_fail(err, CPS_E_PERM,
			"%s resolves to %s, which doesn't match hosting IP %s%s%s "
			"(turn IP verification off for NAT setups)",
			name, list, site->ip, site->ip6[0] ? " or " : "", site->ip6);
}

/* Why NAME may not be ordered, or 0 when it may. An IP address (RFC 8738)
 * must be the site's own, or one of the server's own addresses listed in
 * additional_certs. */
static int check_one(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		     char **server, size_t nserver, const char *name, cps_err *err)
{
	bool ip = cps_name_is_ip(name);

	if (site)
		return ip ? cps_site_check_owns_ip(st, site, name, err)
			  : cps_site_check_owns(st, site, name, err);
	if (contains(server, nserver, name))
		return ip ? cps_server_check_owns_ip(&ns->server_addresses, name, err) : 0;
	return cps_fail(err, CPS_E_PERM,
			"the server certificate may only name the server hostname and "
			"[letsencrypt] additional_certs, and %s is neither (use -d SITE for a site's names)",
			name);
}

static int choose_mech(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		       bool verify_ip, cps_name_plan *p, cps_err *err)
{
	bool wild = cps_hostname_is_wildcard(p->name);
	char *forced = NULL;
	cps_err e;

	if (cps_mech_forced(st, site ? site->id : 0, p->name, &forced, err) != 0)
		return -1;
	if (cps_name_is_ip(p->name)) {
		/* RFC 8738: only http-01 (and tls-alpn-01) can validate an address */
		bool other = forced && strcmp(forced, "http") != 0;
		char how[16];

		snprintf(how, sizeof(how), "%s", forced ? forced : "");
		p->forced = forced != NULL;
		free(forced);
		p->mech = CPS_MECH_HTTP;
		if (other)
			return cps_fail(err, CPS_E_CONFIG,
					"%s is an IP address, which only http-01 can validate, and it is "
					"forced to %s (undo it with letsencrypt:use-mechanism %s null)",
					p->name, how, p->name);
		if (!ns->http_ok)
			return cps_fail(err, CPS_E_CONFIG,
					"%s is an IP address, which only http-01 can validate, and http is "
					"listed in [letsencrypt] disabled_challenges", p->name);
		return 0;
	}
	if (forced) {
		cps_mech_parse(forced, &p->mech);
		free(forced);
		p->forced = true;
		if (p->mech == CPS_MECH_PERSIST && !ns->persist_ok)
			return cps_fail(err, CPS_E_CONFIG, "%s is forced to persist, which is listed "
					"in [letsencrypt] disabled_challenges", p->name);
		if ((p->mech == CPS_MECH_HTTP && !ns->http_ok) ||
		    (p->mech == CPS_MECH_DNS && !ns->dns_ok))
			return cps_fail(err, CPS_E_CONFIG,
					"%s is forced to %s, which %s", p->name, cps_mech_name(p->mech),
					p->mech == CPS_MECH_DNS && ns->http_ok
						? "needs a DNS provider ([dns] provider) and must not be disabled"
						: "is listed in [letsencrypt] disabled_challenges");
		return 0;
	}
	if (wild) {
		if (!ns->dns_ok)
			return cps_fail(err, CPS_E_CONFIG,
					"%s is a wildcard, which only dns-01 can validate, and dns is "
					"not available (set [dns] provider, or remove dns from disabled_challenges)",
					p->name);
		p->mech = CPS_MECH_DNS;
		return 0;
	}
	p->mech = ns->http_ok ? CPS_MECH_HTTP : CPS_MECH_DNS;
	/* not verified, and the CA would reach another server over http */
	if (ns->http_ok && ns->dns_ok && !verify_ip && site &&
	    cps_names_verify_ip(ns->resolvers, site, p->name, &e) != 0) {
		cps_debug("%s: %s; using dns", p->name, e.msg);
		p->mech = CPS_MECH_DNS;
	}
	if ((p->mech == CPS_MECH_HTTP && !ns->http_ok) ||
	    (p->mech == CPS_MECH_DNS && !ns->dns_ok))
		return cps_fail(err, CPS_E_CONFIG,
				"no challenge mechanism is available for %s (http is disabled, "
				"and dns needs a DNS provider)", p->name);
	p->can_fallback = p->mech == CPS_MECH_HTTP ? ns->dns_ok : ns->http_ok;
	return 0;
}

/* www.D for D, D for www.D; "" when there is none (wildcards, a bare
 * "www.tld"). */
static void alternative(const char *name, char alt[CPS_HOSTNAME_MAX + 1])
{
	alt[0] = '\0';
	if (cps_hostname_is_wildcard(name) || cps_name_is_ip(name))
		return;
	if (strncmp(name, "www.", 4) == 0) {
		if (strchr(name + 4, '.'))
			snprintf(alt, CPS_HOSTNAME_MAX + 1, "%s", name + 4);
	} else if (strlen(name) + 4 <= CPS_HOSTNAME_MAX) {
		snprintf(alt, CPS_HOSTNAME_MAX + 1, "www.%s", name);
	}
}

void cps_name_plans_free(cps_name_plan *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].name);
	free(p);
}

static bool planned(const cps_name_plan *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return true;
	return false;
}

/* Errors that are not the name's fault stop the whole request. */
static bool fatal(const cps_err *e)
{
	return cps_code_class(e->code) != CPS_CLASS_INPUT;
}

/* One request's names on their way to a plan. */
typedef struct planning {
	const cps_plan_opts *opts;
	char **cand;        /* each valid name, then its alternative form */
	bool *is_alt;
	size_t ncand;
	size_t failed;
	char failures[1024];
} planning;

/* A name that cannot be ordered: dropped with a WARNING, or (strict)
 * remembered for the refusal. */
static void refuse(planning *pl, const cps_err *e)
{
	size_t used = strlen(pl->failures);

	pl->failed++;
	if (!pl->opts->strict)
		cps_warn("%s; skipping request for it", e->msg);
	snprintf(pl->failures + used, sizeof(pl->failures) - used, "%s%s", used ? "; " : "", e->msg);
}

static int candidates(planning *pl, const char *const *in, size_t n, cps_err *err)
{
	char canon[CPS_HOSTNAME_MAX + 1], alt[CPS_HOSTNAME_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		cps_err e;

		if (cps_hostname_normalize(in[i], CPS_NAME_ALLOW_WILDCARD | CPS_NAME_ALLOW_IP, canon,
					   &e) != 0) {
			refuse(pl, &e);
			continue;
		}
		if (!contains(pl->cand, pl->ncand, canon) &&
		    (pl->cand[pl->ncand++] = strdup(canon)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		alternative(canon, alt);
		if (pl->opts->alternative_form && alt[0] && !contains(pl->cand, pl->ncand, alt)) {
			pl->is_alt[pl->ncand] = true;
			if ((pl->cand[pl->ncand++] = strdup(alt)) == NULL)
				return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
	}
	return 0;
}

int cps_names_plan(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		   const char *const *in, size_t n, const cps_plan_opts *opts,
		   cps_name_plan **out, size_t *nout, cps_err *err)
{
	planning pl = { .opts = opts };
	char **server = NULL;
	size_t nserver = 0, cap = 2 * n + 1, len = 0;
	cps_name_plan *plan = NULL;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	/* before any name is looked at: nothing is resolved or reported for a
	 * request that cannot be met */
	if (n > CPS_MAX_NAMES)
		return cps_fail(err, CPS_E_INVAL,
				"%zu names were given, but a certificate can carry at most %d: "
				"split them over several certificates",
				n, CPS_MAX_NAMES);
	pl.cand = calloc(cap, sizeof(*pl.cand));
	pl.is_alt = calloc(cap, sizeof(*pl.is_alt));
	plan = calloc(cap, sizeof(*plan));
	if (pl.cand == NULL || pl.is_alt == NULL || plan == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if ((site == NULL && cps_server_names(st, &ns->additional_certs, &server, &nserver, err) != 0) ||
	    candidates(&pl, in, n, err) != 0)
		goto out;
	for (size_t i = 0; i < pl.ncand; i++) {
		cps_name_plan p = { .name = pl.cand[i] };
		cps_err e;

		if (planned(plan, len, p.name))
			continue;
		/* an IP address is its own address: nothing to resolve */
		if (check_one(st, ns, site, server, nserver, p.name, &e) != 0 ||
		    (opts->verify_ip && site && !cps_hostname_is_wildcard(p.name) &&
		     !cps_name_is_ip(p.name) &&
		     cps_names_verify_ip(ns->resolvers, site, p.name, &e) != 0) ||
		    (opts->mechanisms && choose_mech(st, ns, site, opts->verify_ip, &p, &e) != 0)) {
			if (fatal(&e)) {
				*err = e;
				goto out;
			}
			if (pl.is_alt[i] && !opts->strict)
				cps_info("not adding the alternative form %s: %s", p.name, e.msg);
			else
				refuse(&pl, &e);
			continue;
		}
		if ((p.name = strdup(p.name)) == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto out;
		}
		plan[len++] = p;
	}
	if (opts->strict && pl.failed > 0) {
		cps_fail(err, CPS_E_PERM, "strict mode: nothing was ordered because %s", pl.failures);
		goto out;
	}
	if (len > CPS_MAX_NAMES) {
		cps_fail(err, CPS_E_INVAL,
			 "with their alternative forms the request names %zu hostnames, but a certificate "
			 "can carry at most %d: give fewer names", len, CPS_MAX_NAMES);
		goto out;
	}
	*out = plan;
	*nout = len;
	plan = NULL;
	rc = 0;
out:
	cps_name_plans_free(plan, len);
	cps_strv_free(pl.cand, pl.ncand);
	free(pl.is_alt);
	cps_strv_free(server, nserver);
	return rc;
}

int cps_names_may_name(cps_store *st, const cps_name_settings *ns, const cps_site *site,
		       const char *name, cps_err *err)
{
	char **server = NULL;
	size_t nserver = 0;
	int rc;

	if (site == NULL && cps_server_names(st, &ns->additional_certs, &server, &nserver, err) != 0)
		return -1;
	rc = check_one(st, ns, site, server, nserver, name, err);
	cps_strv_free(server, nserver);
	return rc;
}
