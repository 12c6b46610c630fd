#include "cpssl/issue/request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/core/log.h"
#include "cpssl/core/sitelock.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/store/certs.h"

static const char *who(const cps_site *site)
{
	return site ? site->name : "the server";
}

/* With no certificate at all, a failed request leaves a self-signed one in
 * its place, so the web server always has something to start with. */
static void selfsigned_fallback(cps_session *s, const cps_site *site,
				const cps_name_plan *plan, size_t np)
{
	const char **names = calloc(np, sizeof(*names));
	cps_cert_row row;
	cps_err e;

	if (names == NULL || cps_cert_current(s->st, site ? site->id : 0, &row, &e) != 0) {
		free(names);
		return;
	}
	if (row.id == 0) {
		for (size_t i = 0; i < np; i++)
			names[i] = plan[i].name;
		if (cps_deploy_selfsigned(s->st, s->set, s->paths, site ? site->id : 0,
					  site ? site->name : "server", names, np, NULL, &e) == 0)
			cps_warn("%s has no certificate yet: installed a self-signed one for %s in the "
				 "interim; the next successful request replaces it", who(site), names[0]);
		else
			cps_warn("%s: no self-signed certificate could be installed either: %s",
				 who(site), e.msg);
	}
	cps_cert_row_free(&row);
	free(names);
}

static bool same_name(const char *canon, const char *input)
{
	size_t n = strlen(canon);

	return strncasecmp(canon, input, n) == 0 && (input[n] == '\0' || strcmp(input + n, ".") == 0);
}

/* Whether the plan keeps one of the names given after the first KEEP (the
 * current ones) that is not one of those already. */
static bool adds_any(const cps_name_plan *plan, size_t np, const char *const *names, size_t n,
		     size_t keep)
{
	for (size_t i = 0; i < np; i++) {
		bool current = false, added = false;

		for (size_t j = 0; j < n; j++) {
			if (j < keep)
				current = current || same_name(plan[i].name, names[j]);
			else
				added = added || same_name(plan[i].name, names[j]);
		}
		if (added && !current)
			return true;
	}
	return false;
}

static const char *lock_name(const cps_site *site)
{
	return site ? site->name : "server";
}

static int request_locked(cps_session *s, const cps_site *site, const char *const *names,
			  size_t n, const cps_request_opts *o, cps_issue_result *res,
			  cps_err *err)
{
	const cps_name_settings *ns = &s->set->names;
	cps_plan_opts po = {
		.mechanisms = true,
		.verify_ip = o->verify_ip && ns->verify_ip,
		.strict = !o->renewal && (o->strict || ns->strict_mode),
		.alternative_form = ns->alternative_form,
	};
	cps_name_plan *plan = NULL;
	size_t np = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (cps_names_plan(s->st, ns, site, names, n, &po, &plan, &np, err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	if (np == 0) {
		cps_warn("no hostnames to register");
		rc = CPS_REQUEST_NOTHING;
		goto out;
	}
	if (o->keep && !adds_any(plan, np, names, n, o->keep)) {
		cps_warn("%s: none of the names to append can be added; the certificate stays as it is",
			 who(site));
		rc = CPS_REQUEST_NOTHING;
		goto out;
	}
	if (cps_issue(s, &(cps_issue_req){ site ? site->id : 0, lock_name(site), plan, np, o->force },
		      res, err) != 0) {
		cps_err_prefix(err, "%s", who(site));
		selfsigned_fallback(s, site, plan, np);
		goto out;
	}
	rc = 0;
out:
	cps_name_plans_free(plan, np);
	return rc;
}

/* The whole request under the site's lock: the names are planned against
 * the state the issuance will find. */
int cps_request(cps_session *s, const cps_site *site, const char *const *names,
		size_t n, const cps_request_opts *o, cps_issue_result *res,
		cps_err *err)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if (cps_site_lock(s->paths, lock_name(site), err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	rc = request_locked(s, site, names, n, o, res, err);
	cps_site_unlock(lock_name(site));
	return rc;
}

/* The current certificate's names; none is an error saying what to do. */
static int current_names(cps_session *s, const cps_site *site, char ***names,
			 size_t *n, cps_err *err)
{
	cps_cert_row row;
	char *save = NULL;
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (cps_cert_current(s->st, site ? site->id : 0, &row, err) != 0)
		return -1;
	if (row.id == 0) {
		cps_cert_row_free(&row);
		return cps_fail(err, CPS_E_NOTFOUND,
				"%s has no certificate yet: order one with letsencrypt:request",
				who(site));
	}
	if (strcmp(row.server, s->dir_url) != 0)
		cps_warn("%s's current certificate is not from the configured CA %s (it came from %s)",
			 who(site), s->dir_url, row.server);
	*names = calloc(strlen(row.names) / 2 + 2, sizeof(char *));
	for (char *t = *names ? strtok_r(row.names, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save))
		if (((*names)[(*n)++] = strdup(t)) == NULL)
			rc = -1;
	if (*names == NULL || rc != 0) {
		cps_strv_free(*names, *n);
		*names = NULL;
		*n = 0;
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	cps_cert_row_free(&row);
	return rc;
}

int cps_renew(cps_session *s, const cps_site *site, bool verify_ip,
	      cps_issue_result *res, cps_err *err)
{
	cps_request_opts o = { .verify_ip = verify_ip, .renewal = true };
	char **names;
	size_t n;
	int rc;

	memset(res, 0, sizeof(*res));
	/* the names are read under the lock the issuance holds, so a renewal
	 * that waited for another command renews what that command left */
	if (cps_site_lock(s->paths, lock_name(site), err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	if (current_names(s, site, &names, &n, err) != 0) {
		cps_site_unlock(lock_name(site));
		return -1;
	}
	rc = cps_request(s, site, (const char *const *)names, n, &o, res, err);
	cps_strv_free(names, n);
	cps_site_unlock(lock_name(site));
	return rc;
}

int cps_append(cps_session *s, const cps_site *site, const char *const *add,
	       size_t nadd, bool verify_ip, cps_issue_result *res, cps_err *err)
{
	cps_request_opts o = { .verify_ip = verify_ip };
	char **names;
	const char **all;
	size_t n;
	int rc;

	memset(res, 0, sizeof(*res));
	if (cps_site_lock(s->paths, lock_name(site), err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	if (current_names(s, site, &names, &n, err) != 0) {
		cps_site_unlock(lock_name(site));
		return -1;
	}
	all = calloc(n + nadd + 1, sizeof(*all));
	if (all == NULL) {
		cps_strv_free(names, n);
		cps_site_unlock(lock_name(site));
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		all[i] = names[i];
	for (size_t i = 0; i < nadd; i++)
		all[n + i] = add[i];
	o.keep = n;
	rc = cps_request(s, site, all, n + nadd, &o, res, err);
	free(all);
	cps_strv_free(names, n);
	cps_site_unlock(lock_name(site));
	return rc;
}
