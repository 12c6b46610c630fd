/* Let's Encrypt's weekly limits, checked against the issuance log before
 * anything is ordered, and the log itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/issue/internal.h"
#include "cpssl/store/sites.h"
#include "cpssl/store/ssl_state.h"

/* The registered domain a name counts against: the hosted domain it falls
 * under, else (the server's names) its last two labels. */
static void registered_domain(cps_store *st, const char *name,
			      char out[CPS_HOSTNAME_MAX + 1])
{
	const char *p = name + strlen(name);
	int dots = 0;

	if (cps_name_is_ip(name)) { /* an address counts as itself */
		snprintf(out, CPS_HOSTNAME_MAX + 1, "%s", name);
		return;
	}
	if (cps_site_domain_of(st, name, out, NULL) == 0 && out[0])
		return;
	while (p > name && dots < 2)
		if (*--p == '.' && ++dots == 2)
			p++;
	snprintf(out, CPS_HOSTNAME_MAX + 1, "%s", p);
}

/* Refuse what the CA would refuse anyway; warn when getting close. */
int cps_run_check_limits(run *r, cps_err *err)
{
	long long since = (long long)cps_now() - CPS_LIMIT_WINDOW;
	char dom[CPS_HOSTNAME_MAX + 1], seen[8][CPS_HOSTNAME_MAX + 1];
	size_t nseen = 0;
	long n;

	if (cps_issuance_count_set(r->s->st, r->s->dir_url, r->name_set, since, &n, err) != 0)
		return -1;
	if (n >= CPS_LIMIT_DUPLICATES && !r->req->force)
		return cps_fail(err, CPS_E_RATELIMIT,
				"%ld certificates for exactly these names (%s) were issued in the last 7 days; "
				"a CA with Let's Encrypt's duplicate limit (%d a week) would refuse another. "
				"Change the names, wait, or order anyway with force",
				n, r->name_set, CPS_LIMIT_DUPLICATES);
	if (n == CPS_LIMIT_DUPLICATES - 1)
		cps_warn("this is the %ldth certificate for %s in 7 days: the last one Let's Encrypt's duplicate limit allows",
			 n + 1, r->name_set);
	for (size_t i = 0; i < r->req->n; i++) {
		bool dup = false;

		registered_domain(r->s->st, r->names[i], dom);
		for (size_t j = 0; j < nseen; j++)
			dup = dup || strcmp(seen[j], dom) == 0;
		if (dup)
			continue;
		if (nseen < 8)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", dom);
		if (cps_issuance_count_domain(r->s->st, r->s->dir_url, dom, since, &n, err) != 0)
			return -1;
		if (n >= CPS_LIMIT_PER_DOMAIN && !r->req->force)
			return cps_fail(err, CPS_E_RATELIMIT,
					"%ld certificates naming %s were issued in the last 7 days; Let's Encrypt "
					"allows %d per registered domain a week. Wait, or order anyway with force",
					n, dom, CPS_LIMIT_PER_DOMAIN);
		if (n >= CPS_LIMIT_PER_DOMAIN * 9 / 10)
			cps_warn("%ld certificates naming %s were issued in the last 7 days: near Let's Encrypt's limit of %d",
				 n, dom, CPS_LIMIT_PER_DOMAIN);
	}
	return 0;
}

int cps_run_log_issuance(run *r, const char *serial, cps_err *err)
{
	char **doms = calloc(r->req->n, sizeof(char *));
	size_t nd = 0;
	int rc;

	if (doms == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->req->n; i++) {
		char dom[CPS_HOSTNAME_MAX + 1];
		bool dup = false;

		registered_domain(r->s->st, r->names[i], dom);
		for (size_t j = 0; j < nd; j++)
			dup = dup || strcmp(doms[j], dom) == 0;
		if (!dup && (doms[nd] = strdup(dom)) != NULL)
			nd++;
	}
	rc = cps_issuance_log(r->s->st, r->s->dir_url, r->req->site_id, serial, r->name_set,
			      doms, nd, (long long)cps_now(), err);
	cps_strv_free(doms, nd);
	return rc;
}
