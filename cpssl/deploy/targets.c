#include "cpssl/deploy/targets.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/paths.h"

char *cps_target_apache_dir(const cps_layout *l, const char *site)
{
	char *rel, *out;

	if (asprintf(&rel, "/home/virtual/%s/fst/etc/httpd/conf", site) < 0)
		return NULL;
	out = cps_layout_path(l, rel);
	free(rel);
	return out;
}

char *cps_target_server_pem(const cps_layout *l)
{
	return cps_layout_path(l, "/etc/pki/tls/certs/server.pem");
}

/* Whether the symlink LINK reads TARGET. */
static bool links_to(const char *link, const char *target)
{
	char buf[4096];
	ssize_t n = link && target ? readlink(link, buf, sizeof(buf) - 1) : -1;

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static void remove_version(const char *dir)
{
	static const char *const files[] = { "server.key", "server.crt", "bundle.crt" };
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		cps_warn("could not remove the old version %s: %s", dir, strerror(errno));
}

static void prune_versions(const char *versions, const char *keep)
{
	struct dirent **list = NULL;
	int n = cps_fs_list(versions, &list);

	for (int i = 0; i < n; i++) {
		if (i < n - CPS_APACHE_VERSIONS_KEPT && strcmp(list[i]->d_name, keep) != 0) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", versions, list[i]->d_name);
			remove_version(path);
		}
		free(list[i]);
	}
	free(list);
}

static int apache_write(const cps_layout *l, const char *site, const char *version,
			const cps_cert_files *f, cps_err *err)
{
	static const struct { const char *path, *target; } fixed[] = {
		{ "ssl.crt/server.crt", "../ssl.live/server.crt" },
		{ "ssl.crt/bundle.crt", "../ssl.live/bundle.crt" },
		{ "ssl.key/server.key", "../ssl.live/server.key" },
	};
	char *base = cps_target_apache_dir(l, site), *versions = NULL, *dir = NULL;
	char *live = NULL, *crtdir = NULL, *keydir = NULL, *p = NULL, *target = NULL;
	bool switched = false;
	int rc = -1;

	if (base == NULL || (versions = cps_path_join(base, "ssl.versions")) == NULL ||
	    (dir = cps_path_join(versions, version)) == NULL ||
	    (live = cps_path_join(base, "ssl.live")) == NULL ||
	    (crtdir = cps_path_join(base, "ssl.crt")) == NULL ||
	    (keydir = cps_path_join(base, "ssl.key")) == NULL ||
	    asprintf(&target, "ssl.versions/%s", version) < 0) {
		target = NULL;
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	/* the complete new version first; nothing points at it yet */
	if (cps_fs_mkdir_p(base, 0755, err) != 0 || cps_fs_mkdir_p(dir, 0700, err) != 0 ||
	    cps_fs_write_in(dir, "server.key", f->key, f->key_len, 0600, err) != 0)
		goto fail;
	CPS_FAULT("deploy-apache-between-key-and-cert");
	/* Apache refuses an empty SSLCertificateChainFile: without a chain (a
	 * self-signed certificate) the bundle holds the certificate itself */
	if (cps_fs_write_in(dir, "server.crt", f->cert, strlen(f->cert), 0644, err) != 0 ||
	    cps_fs_write_in(dir, "bundle.crt", f->chain[0] ? f->chain : f->cert,
		     strlen(f->chain[0] ? f->chain : f->cert), 0644, err) != 0 ||
	    cps_fs_fsync_dir(versions, err) != 0 ||
	    cps_fs_mkdir_p(crtdir, 0755, err) != 0 || cps_fs_mkdir_p(keydir, 0700, err) != 0)
		goto fail;
	/* the switch: key, certificate and chain change together */
	if (cps_fs_symlink_swap(live, target, err) != 0)
		goto fail;
	switched = true;
	if (cps_fs_fsync_dir(base, err) != 0)
		goto fail;
	CPS_FAULT("deploy-apache-after-switch");
	/* the fixed paths Apache reads lead into ssl.live (made once) */
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		p = cps_path_join(base, fixed[i].path);
		if (p == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory");
			goto fail;
		}
		if (cps_fs_symlink_swap(p, fixed[i].target, err) != 0)
			goto fail;
		free(p);
		p = NULL;
	}
	if (cps_fs_fsync_dir(crtdir, err) != 0 || cps_fs_fsync_dir(keydir, err) != 0)
		goto fail;
	prune_versions(versions, version);
	rc = 0;
	goto out;
fail:
	cps_err_prefix(err, "Apache (%s)", base);
	/* ssl.live still names the previous version: drop the partial one */
	if (!switched && dir && !links_to(live, target))
		remove_version(dir);
out:
	free(p);
	free(base);
	free(versions);
	free(dir);
	free(live);
	free(crtdir);
	free(keydir);
	free(target);
	return rc;
}

static char *pem_bundle(const cps_cert_files *f, size_t *len)
{
	char *out;
	int n = asprintf(&out, "%s%s%.*s", f->cert, f->chain, (int)f->key_len, f->key);

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static int write_bundle(const char *path, const cps_cert_files *f, cps_err *err)
{
	size_t len = 0;
	char *pem = pem_bundle(f, &len);
	int rc;

	if (pem == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = cps_fs_write_atomic(path, pem, len, 0600, err);
	explicit_bzero(pem, len);
	free(pem);
	return rc;
}

static int haproxy_write(const cps_layout *l, const char *site, const char *version,
			 const cps_cert_files *f, cps_err *err)
{
	char *dir = cps_layout_path(l, "/etc/haproxy/ssl.d"), *path;
	int rc;

	(void)version;
	path = dir ? cps_path_join(dir, site) : NULL;
	if (path == NULL) {
		free(dir);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	rc = cps_fs_mkdir_p(dir, 0700, err) == 0 ? write_bundle(path, f, err) : -1;
	if (rc != 0)
		cps_err_prefix(err, "haproxy (%s)", path);
	free(path);
	free(dir);
	return rc;
}

static int server_pem_write(const cps_layout *l, const char *site, const char *version,
			    const cps_cert_files *f, cps_err *err)
{
	char *dir = cps_layout_path(l, "/etc/pki/tls/certs"), *path = cps_target_server_pem(l);
	int rc;

	(void)site;
	(void)version;
	if (dir == NULL || path == NULL)
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	else if ((rc = cps_fs_mkdir_p(dir, 0755, err) == 0 ? write_bundle(path, f, err) : -1) != 0)
		cps_err_prefix(err, "the server certificate (%s)", path);
	free(path);
	free(dir);
	return rc;
}

static int apache_remove(const cps_layout *l, const char *site, cps_err *err)
{
	static const char *const links[] = { "ssl.crt/server.crt", "ssl.crt/bundle.crt",
					     "ssl.key/server.key", "ssl.live" };
	char *base = cps_target_apache_dir(l, site), *p;
	struct dirent **list = NULL;
	int n;

	if (base == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		p = cps_path_join(base, links[i]);
		if (p)
			unlink(p);
		free(p);
	}
	p = cps_path_join(base, "ssl.versions");
	n = p ? cps_fs_list(p, &list) : -1;
	for (int i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", p, list[i]->d_name);
		remove_version(path);
		free(list[i]);
	}
	free(list);
	free(p);
	free(base);
	return 0;
}

static int unlink_below(const cps_layout *l, const char *dir, const char *name, cps_err *err)
{
	char *d = cps_layout_path(l, dir), *p = d ? cps_path_join(d, name) : NULL;
	int rc = p ? cps_fs_unlink(p, err) : cps_fail(err, CPS_E_NOMEM, "out of memory");

	free(p);
	free(d);
	return rc;
}

static int haproxy_remove(const cps_layout *l, const char *site, cps_err *err)
{
	return unlink_below(l, "/etc/haproxy/ssl.d", site, err);
}

static int server_pem_remove(const cps_layout *l, const char *site, cps_err *err)
{
	(void)site;
	return unlink_below(l, "/etc/pki/tls/certs", "server.pem", err);
}

static bool haproxy_enabled(const cps_settings *set)
{
	return set->haproxy;
}

const cps_target cps_targets[] = {
	{ "Apache", CPS_SVC_APACHE, true, false, NULL, apache_write, apache_remove,
	  "deploy-after-apache" },
	{ "the server certificate", CPS_SVC_APACHE, false, true, NULL, server_pem_write,
	  server_pem_remove, "deploy-after-apache" },
	{ "haproxy", CPS_SVC_HAPROXY, true, true, haproxy_enabled, haproxy_write,
	  haproxy_remove, "deploy-after-haproxy" },
};
const size_t cps_ntargets = sizeof(cps_targets) / sizeof(cps_targets[0]);

bool cps_target_applies(const cps_target *t, const cps_settings *set, long site_id,
			bool any_setting)
{
	if (!(site_id > 0 ? t->for_sites : t->for_server))
		return false;
	return any_setting || t->enabled == NULL || t->enabled(set);
}
