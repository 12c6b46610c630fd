#include "cpssl/deploy/storage.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/walk.h"

char *cps_storage_ca_dir(const cps_paths *paths, const char *server_dir)
{
	char *rel, *out;

	if (asprintf(&rel, "certificates/data/certs/%s", server_dir) < 0)
		return NULL;
	out = cps_path_join(paths->storage, rel);
	free(rel);
	return out;
}

char *cps_storage_site_dir(const cps_paths *paths, const char *server_dir,
			   const char *site)
{
	char *ca = cps_storage_ca_dir(paths, server_dir), *out;

	out = ca ? cps_path_join(ca, site) : NULL;
	free(ca);
	return out;
}

/* Point SITE_DIR/current at archive/VERSION with one rename. */
static int swap_current(const char *site_dir, const char *version, cps_err *err)
{
	char *target = NULL, *cur = cps_path_join(site_dir, "current");
	int rc = -1;

	if (cur == NULL || asprintf(&target, "archive/%s", version) < 0) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		target = NULL;
	} else if (cps_fs_symlink_swap(cur, target, err) == 0) {
		rc = cps_fs_fsync_dir(site_dir, err);
	}
	free(cur);
	free(target);
	return rc;
}

static void remove_version(const char *archive, const char *name)
{
	static const char *const files[] = { "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem" };
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", archive, name, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", archive, name);
	if (rmdir(path) != 0)
		cps_warn("could not remove the old certificate version %s: %s", path,
			 strerror(errno));
}

/* Whether SITE_DIR/current names archive/VERSION. */
static bool current_is(const char *site_dir, const char *version)
{
	char link[4096], buf[4096], want[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/current", site_dir);
	snprintf(want, sizeof(want), "archive/%s", version);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

/* Keep the newest CPS_STORAGE_KEEP versions (names sort by time). */
static void prune(const char *archive, const char *keep)
{
	struct dirent **list = NULL;
	int n = cps_fs_list(archive, &list);

	for (int i = 0; i < n; i++) {
		if (i < n - CPS_STORAGE_KEEP && strcmp(list[i]->d_name, keep) != 0)
			remove_version(archive, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

int cps_storage_save(const char *site_dir, const char *version,
		     const cps_cert_files *files, char **current, cps_err *err)
{
	char *archive = cps_path_join(site_dir, "archive"), *dir = NULL, *full = NULL;
	bool made = false;
	int rc = -1;

	*current = NULL;
	if (strchr(version, '/') || version[0] == '.' || archive == NULL ||
	    (dir = cps_path_join(archive, version)) == NULL ||
	    asprintf(&full, "%s%s", files->cert, files->chain) < 0) {
		full = NULL;
		cps_fail(err, CPS_E_INTERNAL, "cannot name the certificate version '%s'", version);
		goto out;
	}
	if (cps_fs_mkdir_p(dir, 0700, err) != 0 || !(made = true) ||
	    cps_fs_write_in(dir, "privkey.pem", files->key, files->key_len, 0600, err) != 0 ||
	    cps_fs_write_in(dir, "cert.pem", files->cert, strlen(files->cert), 0644, err) != 0 ||
	    cps_fs_write_in(dir, "chain.pem", files->chain, strlen(files->chain), 0644, err) != 0 ||
	    cps_fs_write_in(dir, "fullchain.pem", full, strlen(full), 0644, err) != 0 ||
	    cps_fs_fsync_dir(archive, err) != 0 ||
	    swap_current(site_dir, version, err) != 0) {
		cps_err_prefix(err, "certificate storage");
		/* current still names the previous version: drop the partial one */
		if (made && !current_is(site_dir, version))
			remove_version(archive, version);
		goto out;
	}
	prune(archive, version);
	*current = cps_path_join(site_dir, "current");
	rc = *current ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
out:
	free(archive);
	free(dir);
	free(full);
	return rc;
}

/* Remove SITE from every directory below REL (one per CA) in the storage. */
static int purge_below(const cps_paths *paths, const char *rel, const char *site, cps_err *err)
{
	char *dir = cps_path_join(paths->storage, rel), **cas = NULL;
	int fd = -1, n, rc = 0;
	cps_err e;

	if (dir == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_walk_open(dir, CPS_WALK_TRUSTED, 0, &fd, &e) != 0) {
		free(dir);
		if (e.code == CPS_E_NOTFOUND)
			return 0;
		*err = e;
		return -1;
	}
	n = cps_fs_list_at(fd, &cas);
	for (int i = 0; i < n && rc == 0; i++) {
		char shown[PATH_MAX];
		int ca;

		snprintf(shown, sizeof(shown), "%s/%s", dir, cas[i]);
		if (cps_walk_open_at(fd, dir, cas[i], 0, 0, &ca, NULL) != 0)
			continue;
		rc = cps_fs_rmtree_at(ca, shown, site, err);
		close(ca);
	}
	cps_fs_names_free(cas, n);
	close(fd);
	free(dir);
	return rc;
}

int cps_storage_purge(const cps_paths *paths, const char *site, cps_err *err)
{
	char *csr = cps_path_join(paths->storage, "csr");
	int fd, rc;
	cps_err e;

	if (csr == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = purge_below(paths, "certificates/data/certs", site, err) == 0 &&
	     purge_below(paths, "certificates/data/pending", site, err) == 0 ? 0 : -1;
	if (rc == 0 && cps_walk_open(csr, CPS_WALK_TRUSTED, 0, &fd, &e) == 0) {
		rc = cps_fs_rmtree_at(fd, csr, site, err);
		close(fd);
	} else if (rc == 0 && e.code != CPS_E_NOTFOUND) {
		*err = e;
		rc = -1;
	}
	free(csr);
	return rc;
}
