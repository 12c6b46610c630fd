#include "cpssl/deploy/targets.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/walk.h"
#include "cpssl/deploy/apache.h"
#include "cpssl/deploy/apache_conf.h"

#define HAPROXY_DIR "/etc/haproxy/ssl.d"
#define SERVER_PEM_DIR "/etc/pki/tls/certs"

/* One PEM with certificate, chain and key, 0600, as NAME in DIR below
 * fs_root: a directory of root's (checked like OpenSSH's StrictModes), made
 * with MODE when missing. WHAT names the target in errors. */
static int write_bundle(const char *what, const cps_layout *l, const char *dir, mode_t mode,
			const char *name, const cps_cert_files *f, cps_err *err)
{
	char *shown = cps_layout_path(l, dir), *pem = NULL;
	int fd = -1, rc = -1, n;

	if (shown == NULL || (n = asprintf(&pem, "%s%s%.*s", f->cert, f->chain, (int)f->key_len,
					   f->key)) < 0) {
		pem = NULL;
		cps_fail(err, CPS_E_NOMEM, "out of memory");
	} else if (cps_walk_open(shown, CPS_WALK_CREATE | CPS_WALK_TRUSTED, mode, &fd, err) == 0) {
		rc = cps_fs_write_at(fd, shown, name, pem, (size_t)n, 0600, err);
		close(fd);
	}
	if (pem) {
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
	if (rc != 0 && shown)
		cps_err_prefix(err, "%s (%s/%s)", what, shown, name);
	free(shown);
	return rc;
}

/* Remove NAME from DIR below fs_root; nothing there is not an error. */
static int remove_from(const cps_layout *l, const char *dir, const char *name, cps_err *err)
{
	char *shown = cps_layout_path(l, dir);
	cps_err e;
	int fd, rc = 0;

	if (shown == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_walk_open(shown, CPS_WALK_TRUSTED, 0, &fd, &e) != 0) {
		if (e.code != CPS_E_NOTFOUND) {
			*err = e;
			rc = -1;
		}
	} else {
		rc = cps_fs_unlink_at(fd, shown, name, err);
		close(fd);
	}
	free(shown);
	return rc;
}

static int haproxy_write(const cps_layout *l, const char *site, const char *version,
			 const cps_cert_files *f, cps_err *err)
{
	(void)version;
	return write_bundle("haproxy", l, HAPROXY_DIR, 0700, site, f, err);
}

static int haproxy_remove(const cps_layout *l, const char *site, cps_err *err)
{
	return remove_from(l, HAPROXY_DIR, site, err);
}

static int server_pem_write(const cps_layout *l, const char *site, const char *version,
			    const cps_cert_files *f, cps_err *err)
{
	(void)site;
	(void)version;
	return write_bundle("the server certificate", l, SERVER_PEM_DIR, 0755, "server.pem", f, err);
}

static int server_pem_remove(const cps_layout *l, const char *site, cps_err *err)
{
	(void)site;
	return remove_from(l, SERVER_PEM_DIR, "server.pem", err);
}

bool cps_target_server_pem_present(const cps_layout *l)
{
	char *shown = cps_layout_path(l, SERVER_PEM_DIR);
	struct stat st;
	bool ok = false;
	int fd;

	if (shown && cps_walk_open(shown, CPS_WALK_TRUSTED, 0, &fd, NULL) == 0) {
		ok = fstatat(fd, "server.pem", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
		close(fd);
	}
	free(shown);
	return ok;
}

static bool haproxy_enabled(const cps_settings *set)
{
	return set->haproxy;
}

const cps_target cps_targets[] = {
	{ "Apache", CPS_SVC_APACHE, true, false, NULL, cps_apache_write, cps_apache_remove,
	  cps_apache_serves, "deploy-after-apache" },
	{ "the Apache configuration", CPS_SVC_APACHE, true, false, NULL, cps_apache_conf_write,
	  cps_apache_conf_remove, cps_apache_conf_check, "deploy-after-apache-conf" },
	{ "the server certificate", CPS_SVC_APACHE, false, true, NULL, server_pem_write,
	  server_pem_remove, NULL, "deploy-after-apache" },
	{ "haproxy", CPS_SVC_HAPROXY, true, true, haproxy_enabled, haproxy_write,
	  haproxy_remove, NULL, "deploy-after-haproxy" },
};
const size_t cps_ntargets = sizeof(cps_targets) / sizeof(cps_targets[0]);

bool cps_target_applies(const cps_target *t, const cps_settings *set, long site_id,
			bool any_setting)
{
	if (!(site_id > 0 ? t->for_sites : t->for_server))
		return false;
	return any_setting || t->enabled == NULL || t->enabled(set);
}
