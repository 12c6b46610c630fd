#include "cpssl/issue/names.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/resolve.h"
#include "cpssl/store/server.h"

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static bool contains(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int cps_names_server(cps_store *st, const cps_config *cfg, char ***out,
		     size_t *n, cps_err *err)
{
	char *host = NULL, sys[HOST_NAME_MAX + 1], canon[CPS_HOSTNAME_MAX + 1];
	char *extra, *save = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (cps_server_get(st, CPS_SERVER_HOSTNAME, &host, err) != 0)
		return -1;
	if (host == NULL && gethostname(sys, sizeof(sys)) == 0) {
		sys[sizeof(sys) - 1] = '\0';
		host = strdup(sys);
	}
	if (host && cps_hostname_normalize(host, 0, canon, NULL) == 0 &&
	    push(out, n, canon) != 0)
		goto nomem;
	extra = strdup(cps_config_str(cfg, CPS_CFG_LE_ADDITIONAL_CERTS));
	if (extra == NULL)
		goto nomem;
	for (char *t = strtok_r(extra, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!contains(*out, *n, t) && push(out, n, t) != 0) {
			free(extra);
			goto nomem;
		}
	free(extra);
	rc = 0;
	goto out;
nomem:
	cps_fail(err, CPS_E_NOMEM, "out of memory");
	cps_strv_free(*out, *n);
	*out = NULL;
	*n = 0;
out:
	free(host);
	return rc;
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

/* Why NAME may not be ordered, or 0 when it may. */
static int check_one(cps_store *st, const cps_site *site, char **server,
		     size_t nserver, const char *name, cps_err *err)
{
	if (site)
		return cps_site_check_owns(st, site, name, err);
	if (contains(server, nserver, name))
		return 0;
	return cps_fail(err, CPS_E_PERM,
			"the server certificate may only name the server hostname and "
			"[letsencrypt] additional_certs, and %s is neither (use -d SITE for a site's names)",
			name);
}

int cps_names_prepare(cps_store *st, const cps_config *cfg,
		      const cps_site *site, const char *const *in, size_t n,
		      bool strict, bool verify_ip, char ***out, size_t *nout,
		      cps_err *err)
{
	char **server = NULL, canon[CPS_HOSTNAME_MAX + 1];
	size_t nserver = 0, failed = 0;
	char failures[sizeof(err->msg)] = "";
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (site == NULL && cps_names_server(st, cfg, &server, &nserver, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cps_err e;

		if (cps_hostname_normalize(in[i], CPS_NAME_ALLOW_WILDCARD, canon, &e) != 0 ||
		    check_one(st, site, server, nserver, canon, &e) != 0 ||
		    (verify_ip && site && !cps_hostname_is_wildcard(canon) &&
		     cps_names_verify_ip(cps_config_str(cfg, CPS_CFG_DNS_RESOLVERS), site,
					 canon, &e) != 0)) {
			size_t used = strlen(failures);

			/* a broken resolver or store is not the name's fault */
			if (e.code == CPS_E_DB || e.code == CPS_E_NOMEM || e.code == CPS_E_DNS ||
			    e.code == CPS_E_TIMEOUT || e.code == CPS_E_NET) {
				*err = e;
				goto out;
			}
			failed++;
			if (!strict)
				cps_warn("%s; skipping request for it", e.msg);
			snprintf(failures + used, sizeof(failures) - used, "%s%s",
				 used ? "; " : "", e.msg);
			continue;
		}
		if (!contains(*out, *nout, canon) && push(out, nout, canon) != 0) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (strict && failed > 0) {
		cps_fail(err, CPS_E_PERM, "strict mode: nothing was ordered because %s", failures);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		cps_strv_free(*out, *nout);
		*out = NULL;
		*nout = 0;
	}
	cps_strv_free(server, nserver);
	return rc;
}
