#include "cpssl/deploy/deploy.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"
#include "cpssl/core/sitelock.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/reload.h"
#include "cpssl/deploy/storage.h"
#include "cpssl/deploy/targets.h"
#include "cpssl/core/window.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/sites.h"

#define HOOK_TIMEOUT_S 120

/* The certificate files of one deployment, in PEM. */
typedef struct pems {
	char *cert, *chain, *key;
	size_t key_len;
} pems;

static void pems_free(pems *p)
{
	free(p->cert);
	free(p->chain);
	if (p->key)
		cps_key_pem_free(p->key, p->key_len);
	memset(p, 0, sizeof(*p));
}

static int check_pair(const cps_deploy_req *req, cps_err *err)
{
	if (cps_cert_key_match(req->leaf, req->key, err) != 0)
		return -1;
	if (sk_X509_num(req->chain) > 0 &&
	    X509_verify(req->leaf, X509_get0_pubkey(sk_X509_value(req->chain, 0))) != 1)
		return cps_fail(err, CPS_E_INVAL,
				"the chain does not link: its first certificate did not sign the certificate");
	return 0;
}

static char *names_of(const cps_cert_info *info, char sep)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < info->nsans; i++)
		len += strlen(info->sans[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; out && i < info->nsans; i++) {
		size_t used = strlen(out);

		snprintf(out + used, len - used, "%s%s", i ? (char[]){ sep, 0 } : "", info->sans[i]);
	}
	return out;
}

static void run_hook(const char *hook, const char *site, const cps_cert_info *info,
		     const char *dir)
{
	char *domains = NULL;
	char *env[6] = { 0 };
	char *argv[2] = { 0 };
	cps_proc_result r;
	cps_err e;

	if (hook[0] == '\0' || (domains = names_of(info, ' ')) == NULL)
		goto out;
	if (asprintf(&env[0], "CPSSL_SITE=%s", site) < 0 ||
	    asprintf(&env[1], "CPSSL_DOMAINS=%s", domains) < 0 ||
	    asprintf(&env[2], "CPSSL_CERT=%s/cert.pem", dir) < 0 ||
	    asprintf(&env[3], "CPSSL_KEY=%s/privkey.pem", dir) < 0 ||
	    asprintf(&env[4], "CPSSL_CHAIN=%s/chain.pem", dir) < 0) {
		cps_warn("deploy hook %s not run: out of memory", hook);
		goto out;
	}
	argv[0] = (char *)hook;
	if (cps_proc_run(argv, env, HOOK_TIMEOUT_S, 16 * 1024, &r, &e) != 0) {
		cps_warn("deploy hook %s could not run: %s", hook, e.msg);
		goto out;
	}
	if (r.timed_out || r.exit_status != 0)
		cps_warn("deploy hook %s failed (%s %d): %.300s", hook,
			 r.timed_out ? "timed out; status" : "exit status", r.exit_status,
			 r.output && *r.output ? r.output : "no output");
	else
		cps_debug("deploy hook %s done", hook);
	cps_proc_result_free(&r);
out:
	for (size_t i = 0; i < 5; i++)
		free(env[i]);
	free(domains);
}

static int load_version(const char *dir, X509 **leaf, STACK_OF(X509) **chain,
			EVP_PKEY **key, cps_err *err);

/* Steps 2 to 5 of a deployment whose storage version VERSION (directory
 * ARCHIVE) is written and recorded: every target that serves the site, the
 * SSL flag, the hook, one reload per service the targets use. Every step
 * may be done again: a run killed part-way is finished by
 * cps_deploy_resume. */
static int fan_out(cps_store *st, const cps_settings *set, const cps_paths *paths,
		   long site_id, const char *site_name,
		   const char *version, const cps_cert_files *files, const cps_cert_info *info,
		   const char *archive, cps_err *err)
{
	bool reload[CPS_SVC__COUNT] = { false };

	for (size_t i = 0; i < cps_ntargets; i++) {
		const cps_target *t = &cps_targets[i];

		if (!cps_target_applies(t, set, site_id, false))
			continue;
		if (t->write(&set->layout, site_name, version, files, err) != 0)
			return cps_err_prefix(err, "deployment failed");
		reload[t->service] = true;
		CPS_FAULT(t->fault_after);
	}
	if (site_id > 0 && cps_site_set_ssl(st, site_id, true, err) != 0)
		return -1;
	run_hook(set->deploy_hook, site_name, info, archive);
	CPS_FAULT("deploy-before-reload");
	for (int svc = 0; svc < CPS_SVC__COUNT; svc++)
		if (reload[svc] &&
		    cps_reload_schedule(st, set, paths, (cps_service)svc, err) != 0)
			return cps_err_prefix(err, "the certificate %s is deployed, but the reload failed",
					      info->serial);
	return 0;
}

static int deploy_locked(cps_store *st, const cps_settings *set, const cps_paths *paths,
			 const cps_deploy_req *req, cps_cert_info *out_info, char **out_dir,
			 cps_err *err)
{
	char version[64], *site_dir = NULL, *current = NULL, *archive = NULL;
	cps_cert_info info = { 0 };
	cps_cert_row row = { 0 };
	pems p = { 0 };
	struct timespec ts;
	struct tm tm;
	long long id;
	size_t len;
	int rc = -1;

	if (out_dir)
		*out_dir = NULL;
	if (check_pair(req, err) != 0 || cps_cert_info_get(req->leaf, &info, err) != 0 ||
	    cps_deploy_check_names(st, set, req->site_id, &info, err) != 0 ||
	    cps_cert_to_pem(req->leaf, &p.cert, &len, err) != 0 ||
	    cps_cert_chain_to_pem(req->chain, &p.chain, &len, err) != 0 ||
	    cps_key_to_pem(req->key, &p.key, &p.key_len, err) != 0)
		goto out;
	/* versions sort in the order they were made (pruning keeps the newest) */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(version, 20, "%Y%m%dT%H%M%S", &tm);
	snprintf(version + strlen(version), sizeof(version) - strlen(version), ".%09ldZ-%.16s",
		 ts.tv_nsec, info.serial);
	site_dir = cps_storage_site_dir(paths, set->ca.dir_name, req->site_name);
	if (site_dir == NULL || asprintf(&archive, "%s/archive/%s", site_dir, version) < 0) {
		archive = NULL;
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	cps_cert_files files = { p.cert, p.chain, p.key, p.key_len, archive };

	/* 1. storage and the store */
	if (cps_storage_save(site_dir, version, &files, &current, err) != 0)
		goto out;
	row.site_id = req->site_id;
	row.server = (char *)req->origin;
	row.names = names_of(&info, ',');
	row.serial = info.serial;
	row.fingerprint = info.fingerprint;
	row.issuer = info.issuer;
	row.key_type = info.key_type;
	row.not_before = info.not_before;
	row.not_after = info.not_after;
	row.path = archive;
	row.profile = (char *)req->profile;
	if (row.names == NULL || cps_cert_record(st, &row, &id, err) != 0)
		goto out;
	CPS_FAULT("deploy-after-storage");
	if (fan_out(st, set, paths, req->site_id, req->site_name, version, &files, &info, archive,
		    err) != 0 ||
	    cps_cert_set_deployed(st, id, err) != 0)
		goto out;
	if (out_dir) {
		*out_dir = current;
		current = NULL;
	}
	if (out_info) {
		*out_info = info;
		memset(&info, 0, sizeof(info));
	}
	rc = 0;
out:
	cps_cert_info_free(&info);
	pems_free(&p);
	free(row.names);
	free(site_dir);
	free(current);
	free(archive);
	return rc;
}

static int load_version(const char *dir, X509 **leaf, STACK_OF(X509) **chain,
			EVP_PKEY **key, cps_err *err)
{
	char *cp = cps_path_join(dir, "fullchain.pem"), *kp = cps_path_join(dir, "privkey.pem");
	char *pem = NULL;
	size_t len = 0;
	int rc = -1;

	if (cp && kp && cps_fs_read(cp, 1 << 20, &pem, &len, err) == 0 &&
	    cps_cert_parse_pem(pem, len, leaf, chain, err) == 0 &&
	    cps_key_load(kp, key, err) == 0)
		rc = 0;
	free(pem);
	free(cp);
	free(kp);
	return rc;
}

/* One deployment of a site at a time (storage, the store and the targets
 * change together); the lock is the one issuance holds. */
int cps_deploy(cps_store *st, const cps_settings *set, const cps_paths *paths,
	       const cps_deploy_req *req, cps_cert_info *out_info, char **out_dir,
	       cps_err *err)
{
	int rc;

	if (cps_site_lock(paths, req->site_name, err) != 0)
		return -1;
	rc = deploy_locked(st, set, paths, req, out_info, out_dir, err);
	cps_site_unlock(req->site_name);
	return rc;
}

static int resume_locked(cps_store *st, const cps_settings *set, const cps_paths *paths,
			 long site_id, const char *site_name, cps_cert_info *out_info,
			 char **out_dir, cps_err *err);

int cps_deploy_resume(cps_store *st, const cps_settings *set, const cps_paths *paths,
		      long site_id, const char *site_name, cps_cert_info *out_info,
		      char **out_dir, cps_err *err)
{
	int rc;

	if (cps_site_lock(paths, site_name, err) != 0)
		return -1;
	rc = resume_locked(st, set, paths, site_id, site_name, out_info, out_dir, err);
	cps_site_unlock(site_name);
	return rc;
}

static int resume_locked(cps_store *st, const cps_settings *set, const cps_paths *paths,
			 long site_id, const char *site_name, cps_cert_info *out_info,
			 char **out_dir, cps_err *err)
{
	cps_cert_row row;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	cps_cert_info info = { 0 };
	pems p = { 0 };
	const char *version;
	char *current = NULL;
	size_t len;
	int rc = -1;

	if (out_dir)
		*out_dir = NULL;
	if (cps_cert_undeployed(st, site_id, &row, err) != 0)
		return -1;
	if (row.id == 0) {
		cps_cert_row_free(&row);
		return 0;
	}
	/* row.path is <site dir>/archive/<version> */
	version = strrchr(row.path, '/');
	if (version == NULL || version - row.path < 9 || strncmp(version - 8, "/archive", 8) != 0 ||
	    version[1] == '.' ||
	    asprintf(&current, "%.*s/current", (int)(version - 8 - row.path), row.path) < 0) {
		current = NULL;
		cps_fail(err, CPS_E_IO, "the stored path %s is not a storage version", row.path);
		goto fail;
	}
	version++;
	if (load_version(row.path, &leaf, &chain, &key, err) != 0 ||
	    cps_cert_info_get(leaf, &info, err) != 0)
		goto fail;
	if (cps_deploy_check_names(st, set, site_id, &info, err) != 0) {
		/* a name moved to another site since: it never goes live */
		cps_warn("%s: the interrupted deployment of certificate %s is dropped: %s", site_name,
			 row.serial, err->msg);
		rc = cps_cert_clear_current(st, site_id, err) == 0 ? 0 : -1;
		goto out;
	}
	if (cps_cert_to_pem(leaf, &p.cert, &len, err) != 0 ||
	    cps_cert_chain_to_pem(chain, &p.chain, &len, err) != 0 ||
	    cps_key_to_pem(key, &p.key, &p.key_len, err) != 0)
		goto fail;
	cps_info("%s: finishing the interrupted deployment of certificate %s", site_name, row.serial);
	if (fan_out(st, set, paths, site_id, site_name, version,
		    &(cps_cert_files){ p.cert, p.chain, p.key, p.key_len, row.path }, &info, row.path,
		    err) != 0 ||
	    cps_cert_set_deployed(st, row.id, err) != 0)
		goto fail;
	if (out_info) {
		*out_info = info;
		memset(&info, 0, sizeof(info));
	}
	if (out_dir) {
		*out_dir = current;
		current = NULL;
	}
	rc = 1;
	goto out;
fail:
	cps_err_prefix(err, "%s: finishing the deployment of certificate %s", site_name, row.serial);
out:
	cps_cert_info_free(&info);
	pems_free(&p);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	cps_cert_row_free(&row);
	free(current);
	return rc;
}

int cps_deploy_rollback(cps_store *st, const cps_settings *set,
			const cps_paths *paths, long site_id,
			const char *site_name, cps_cert_info *info,
			cps_err *err)
{
	cps_cert_row prev;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (cps_cert_previous(st, site_id, &prev, err) != 0)
		return -1;
	if (prev.id == 0) {
		cps_cert_row_free(&prev);
		return cps_fail(err, CPS_E_NOTFOUND,
				"%s has no earlier certificate to roll back to", site_name);
	}
	/* what goes live again is checked as anything new is: its names (by
	 * cps_deploy), and here that it is still valid and not revoked */
	if (prev.revoked || prev.not_after <= (long long)cps_now() ||
	    prev.not_before > (long long)cps_now()) {
		cps_fail(err, CPS_E_PERM, "%s's previous certificate %s is %s; not rolling back to it",
			 site_name, prev.serial, prev.revoked ? "revoked" : "not valid now");
		goto out;
	}
	if (load_version(prev.path, &leaf, &chain, &key, err) != 0) {
		cps_err_prefix(err, "the previous certificate (%s)", prev.serial);
		goto out;
	}
	rc = cps_deploy(st, set, paths,
			&(cps_deploy_req){ site_id, site_name, prev.server, leaf, chain, key,
					   prev.profile },
			info, NULL, err);
	if (rc == 0)
		cps_info("%s is back on certificate %s", site_name, prev.serial);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	cps_cert_row_free(&prev);
	return rc;
}

int cps_deploy_selfsigned(cps_store *st, const cps_settings *set,
			  const cps_paths *paths, long site_id,
			  const char *site_name, const char *const *names,
			  size_t n, bool interim, cps_cert_info *info, cps_err *err)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc = -1;

	if (chain == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_key_generate(CPS_KEY_EC256, &key, err) == 0 &&
	    cps_cert_selfsigned(key, names, n, 90, &cert, err) == 0)
		rc = cps_deploy(st, set, paths,
				&(cps_deploy_req){ site_id, site_name,
					interim ? CPS_ORIGIN_INTERIM : CPS_ORIGIN_SELFSIGNED,
					cert, chain, key, NULL },
				info, NULL, err);
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_free(chain);
	return rc;
}

static int undeploy_locked(cps_store *st, const cps_settings *set, const cps_paths *paths,
			   long site_id, const char *site_name, cps_err *err)
{
	bool reload[CPS_SVC__COUNT] = { false };

	/* every target that may hold the site's files, whatever the settings
	 * say now: an earlier configuration may have deployed there */
	for (size_t i = 0; i < cps_ntargets; i++) {
		const cps_target *t = &cps_targets[i];

		if (!cps_target_applies(t, set, site_id, true))
			continue;
		if (t->remove(&set->layout, site_name, err) != 0)
			return cps_err_prefix(err, "%s: removing the certificate from %s", site_name,
					      t->name);
		reload[t->service] = reload[t->service] || cps_target_applies(t, set, site_id, false);
	}
	if (cps_cert_clear_current(st, site_id, err) != 0 ||
	    (site_id > 0 && cps_site_set_ssl(st, site_id, false, err) != 0))
		return -1;
	for (int svc = 0; svc < CPS_SVC__COUNT; svc++)
		if (reload[svc] &&
		    cps_reload_schedule(st, set, paths, (cps_service)svc, err) != 0)
			return -1;
	return 0;
}

int cps_undeploy(cps_store *st, const cps_settings *set, const cps_paths *paths,
		 long site_id, const char *site_name, cps_err *err)
{
	int rc;

	if (cps_site_lock(paths, site_name, err) != 0)
		return -1;
	rc = undeploy_locked(st, set, paths, site_id, site_name, err);
	cps_site_unlock(site_name);
	return rc;
}

/* Sites with SSL on, collected before any is repaired. */
typedef struct site_list {
	cps_site *v;
	size_t n;
} site_list;

static int collect_ssl_site(const cps_site *site, void *ud)
{
	site_list *l = ud;
	cps_site *nv;

	if (!site->ssl_enabled)
		return 0;
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	l->v = nv;
	l->v[l->n++] = *site;
	return 0;
}

/* The rows of the Apache service that serve sites and can be checked. */
static bool apache_row(const cps_target *t)
{
	return t->service == CPS_SVC_APACHE && t->for_sites && t->check != NULL;
}

/* SITE's Apache rows that no longer serve ROW's version: bit i for
 * cps_targets[i]. */
static unsigned long broken_rows(const cps_settings *set, const cps_site *site,
				 const cps_cert_row *row)
{
	const char *version = strrchr(row->path, '/') + 1;
	unsigned long broken = 0;

	for (size_t i = 0; i < cps_ntargets && i < sizeof(broken) * 8; i++) {
		const cps_target *t = &cps_targets[i];
		cps_err e;

		if (apache_row(t) && cps_target_applies(t, set, site->id, false) &&
		    t->check(&set->layout, site->name, version, row->path, &e) != 0) {
			cps_debug("%s: %s", site->name, e.msg);
			broken |= 1UL << i;
		}
	}
	return broken;
}

/* Those rows written again from storage. */
static int restore_apache(const cps_settings *set, const cps_site *site, const cps_cert_row *row,
			  unsigned long broken, cps_err *err)
{
	const char *version = strrchr(row->path, '/') + 1;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	pems p = { 0 };
	size_t len;
	int rc = -1;

	if (load_version(row->path, &leaf, &chain, &key, err) == 0 &&
	    cps_cert_to_pem(leaf, &p.cert, &len, err) == 0 &&
	    cps_cert_chain_to_pem(chain, &p.chain, &len, err) == 0 &&
	    cps_key_to_pem(key, &p.key, &p.key_len, err) == 0) {
		cps_cert_files files = { p.cert, p.chain, p.key, p.key_len, row->path };

		rc = 0;
		for (size_t i = 0; rc == 0 && i < cps_ntargets && i < sizeof(broken) * 8; i++)
			if (broken & (1UL << i))
				rc = cps_targets[i].write(&set->layout, site->name, version, &files, err);
	}
	pems_free(&p);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

/* What of SITE's Apache rows is broken, from its current row; 0 when
 * nothing is (or it has no certificate in service). */
static unsigned long site_broken(cps_store *st, const cps_settings *set, const cps_site *site,
				 cps_cert_row *row)
{
	cps_err e;

	if (cps_cert_current(st, site->id, row, &e) != 0)
		return 0;
	if (row->id == 0 || strrchr(row->path, '/') == NULL)
		return 0;
	return broken_rows(set, site, row);
}

/* SITE restored when broken: 1 when it was, 0 when nothing was to do or
 * it is being deployed right now (left to that). The check is made again
 * under the site's lock, from the row current then. */
static int repair_site(cps_store *st, const cps_settings *set, const cps_paths *paths,
		       const cps_site *site)
{
	cps_cert_row row = { 0 };
	unsigned long broken = site_broken(st, set, site, &row);
	cps_err e;
	int rc = 0;

	cps_cert_row_free(&row);
	if (broken == 0 || cps_site_trylock(paths, site->name) != 1)
		return 0;
	if ((broken = site_broken(st, set, site, &row)) == 0)
		rc = 0;
	else if (restore_apache(set, site, &row, broken, &e) == 0)
		rc = 1;
	else
		cps_error("%s's Apache files are broken and could not be restored: %s", site->name,
			  e.msg);
	cps_cert_row_free(&row);
	cps_site_unlock(site->name);
	return rc;
}

int cps_deploy_repair_apache(cps_store *st, const cps_settings *set, const cps_paths *paths,
			     char *sites, size_t len, cps_err *err)
{
	site_list l = { 0 };
	int repaired = 0;

	sites[0] = '\0';
	if (cps_site_foreach(st, collect_ssl_site, &l, err) != 0) {
		free(l.v);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (repair_site(st, set, paths, &l.v[i]) == 1) {
			size_t used = strlen(sites);

			snprintf(sites + used, len - used, "%s%s", used ? ", " : "", l.v[i].name);
			repaired++;
		}
	}
	free(l.v);
	return repaired;
}
