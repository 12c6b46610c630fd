#include "cpssl/issue/request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/core/log.h"
#include "cpssl/core/sitelock.h"
#include "cpssl/acme/client.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/issue/caa.h"
#include "cpssl/issue/failover.h"
#include "cpssl/core/fs.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/server.h"

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
					  site ? site->name : "server", names, np, true, NULL, &e) == 0)
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

/* Names (not IP addresses) whose CAA records forbid the CA (cps_caa_check) leave the plan
 * before anything is ordered, with a WARNING; in strict mode nothing is
 * ordered. A CA that names no caaIdentities is not second-guessed. */
static int caa_prune(cps_session *s, const cps_site *site, cps_name_plan *plan, size_t *np,
		     bool strict, cps_err *err)
{
	const cps_acme_meta *meta;
	size_t kept = 0;
	char why[512];

	/* nothing to order: the CA is not asked */
	if (*np == 0)
		return 0;
	if (cps_acme_load_directory(s->acme, err) != 0)
		return -1;
	meta = cps_acme_meta_get(s->acme);
	if (meta->ncaa_ids == 0) {
		cps_debug("the CA names no caaIdentities: CAA is left to it");
		return 0;
	}
	for (size_t i = 0; i < *np; i++) {
		/* CAA (RFC 8659) is about domain names; an IP address has none */
		if (cps_name_is_ip(plan[i].name) ||
		    cps_caa_check(s->set->names.resolvers, (const char *const *)meta->caa_ids,
				  meta->ncaa_ids, plan[i].name, why, sizeof(why), err) == 0) {
			plan[kept++] = plan[i];
			continue;
		}
		if (strict) {
			for (size_t k = i; k < *np; k++)
				plan[kept++] = plan[k];
			*np = kept;
			return cps_fail(err, CPS_E_PERM, "strict mode: nothing was ordered because %s",
					why);
		}
		cps_warn("%s: %s; skipping request for it", who(site), why);
		free(plan[i].name);
	}
	*np = kept;
	return 0;
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
	/* the CA the failover rule picks, reachable; its caaIdentities decide */
	if ((np && cps_failover_reach(s, err) != 0) ||
	    caa_prune(s, site, plan, &np, po.strict, err) != 0) {
		cps_err_prefix(err, "%s", who(site));
		goto out;
	}
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

/* The current certificate's names; none is an error saying what to do, and
 * so is RENEWING one from another CA than the configured one (staging and
 * production: the documented way back is a new request). */
static int current_names(cps_session *s, const cps_site *site, bool renewing, char ***names,
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
	/* any configured CA's (server or a fallback) renews, through the CA
	 * the failover rule picks */
	if (renewing && cps_origin_is_ca(row.server) &&
	    !cps_failover_configured(s->given, row.server)) {
		rc = cps_fail(err, CPS_E_INVAL,
			      "%s's current certificate came from %s, not from the configured CA %s "
			      "or a fallback_servers one (was [letsencrypt] debug or server changed?); "
			      "renew keeps the CA: order it from the configured one with cpcmd%s%s "
			      "letsencrypt:request '[%s]'",
			      who(site), row.server, s->primary, site ? " -d " : "",
			      site ? site->name : "", row.names);
		cps_cert_row_free(&row);
		return rc;
	}
	if (!cps_failover_configured(s->given, row.server))
		cps_warn("%s's current certificate is not from the configured CA %s (it came from %s)",
			 who(site), s->primary, row.server);
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
	if (current_names(s, site, true, &names, &n, err) != 0) {
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
	if (current_names(s, site, false, &names, &n, err) != 0) {
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

/* Of NAMES (the current certificate's), those SITE (NULL: the server) may
 * name now — the ownership rule of a request, addresses included; the rest
 * dropped with an INFO saying why. */
static int owned_now(cps_session *s, const cps_site *site, char **names, size_t n,
		     const char **out, size_t *nout, cps_err *err)
{
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		cps_err e;

		if (cps_names_may_name(s->st, &s->set->names, site, names[i], &e) == 0) {
			out[(*nout)++] = names[i];
		} else if (e.code != CPS_E_PERM) {
			*err = e;
			return -1;
		} else {
			cps_info("%s: %s is no longer %s's; the new certificate leaves it out", who(site),
				 names[i], who(site));
		}
	}
	return 0;
}

static int replace_locked(cps_session *s, const cps_site *site, const char *why, cps_err *err)
{
	const char *subject = lock_name(site), **keep = NULL;
	cps_request_opts o = { .renewal = true };
	cps_issue_result res;
	cps_cert_row row;
	char **names = NULL;
	size_t n = 0, nkeep = 0;
	cps_err e;
	int rc = -1;

	if (cps_cert_current(s->st, site ? site->id : 0, &row, err) != 0)
		return -1;
	if (row.id == 0 || current_names(s, site, false, &names, &n, err) != 0 ||
	    (keep = calloc(n ? n : 1, sizeof(*keep))) == NULL ||
	    owned_now(s, site, names, n, keep, &nkeep, err) != 0) {
		rc = row.id == 0 ? 0 : -1;
		goto out;
	}
	cps_warn("%s: certificate %s is taken out of service: %s", who(site), row.serial, why);
	if (nkeep == 0) {
		cps_info("%s: no name of it is left to serve; the site serves no certificate", who(site));
		rc = cps_undeploy(s->st, s->set, s->paths, site ? site->id : 0, subject, err);
		goto out;
	}
	/* from the CA it came from, a new one (with a new key) */
	if (cps_failover_configured(s->given, row.server)) {
		rc = cps_request(s, site, keep, nkeep, &o, &res, &e);
		if (rc == 0) {
			cps_info("%s: replaced by certificate %s", who(site), res.info.serial);
			cps_issue_result_free(&res);
			goto out;
		}
		cps_warn("%s: no new certificate could be ordered (%s)", who(site), e.msg);
	}
	rc = cps_deploy_selfsigned(s->st, s->set, s->paths, site ? site->id : 0, subject, keep,
				   nkeep, true, NULL, err);
	if (rc == 0)
		cps_warn("%s: a self-signed certificate for %s serves in the interim; install or order "
			 "a new one", who(site), keep[0]);
out:
	free(keep);
	cps_strv_free(names, n);
	cps_cert_row_free(&row);
	return rc;
}

int cps_replace_current(cps_session *s, const cps_site *site, const char *why, cps_err *err)
{
	int rc;

	if (cps_site_lock(s->paths, lock_name(site), err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	rc = replace_locked(s, site, why, err);
	cps_site_unlock(lock_name(site));
	return rc;
}

/* The facts of the stored certificate ROW (its subject CN among them). */
static int stored_info(const cps_cert_row *row, cps_cert_info *info, cps_err *err)
{
	char *path = cps_path_join(row->path, "cert.pem"), *pem = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	size_t len = 0;
	int rc = -1;

	if (path && cps_fs_read(path, 1 << 20, &pem, &len, err) == 0 &&
	    cps_cert_parse_pem(pem, len, &leaf, &chain, err) == 0 &&
	    cps_cert_info_get(leaf, info, err) == 0)
		rc = 0;
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	free(path);
	return rc;
}

int cps_serve_owned_only(cps_session *s, const cps_site *site, cps_err *err)
{
	cps_cert_info info = { 0 };
	cps_cert_row row;
	cps_err why;
	int rc = 0;

	if (cps_site_lock(s->paths, lock_name(site), err) != 0)
		return cps_err_prefix(err, "%s", who(site));
	if (cps_cert_current(s->st, site ? site->id : 0, &row, err) != 0)
		rc = -1;
	else if (row.id && stored_info(&row, &info, err) != 0)
		rc = -1;
	else if (row.id && cps_deploy_check_names(s->st, s->set, site ? site->id : 0, &info, &why) != 0)
		rc = why.code == CPS_E_PERM ? replace_locked(s, site, why.msg, err)
					    : (*err = why, -1);
	cps_cert_info_free(&info);
	cps_cert_row_free(&row);
	cps_site_unlock(lock_name(site));
	return rc;
}
