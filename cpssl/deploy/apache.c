#include "cpssl/deploy/apache.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fault.h"
#include "cpssl/core/log.h"
#include "cpssl/core/walk.h"

static const char *const version_files[] = { "server.key", "server.crt", "bundle.crt", NULL };

/* An Apache tree being worked on: its directories, open. */
typedef struct tree {
	char conf[PATH_MAX];     /* …/siteN/fst/etc/httpd/conf, for messages */
	char versions[PATH_MAX]; /* conf/ssl.versions */
	int cfd, vers;
} tree;

static void tree_close(tree *t)
{
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->vers >= 0)
		close(t->vers);
	t->cfd = t->vers = -1;
}

/* The site's conf/: fs_root/home/virtual walked as root's directories, the
 * site's own part without following a link. Only CREATE changes anything
 * (a link or file in place of ssl.versions is removed then); without it a
 * missing ssl.versions leaves t->vers -1. */
static int tree_open(const cps_layout *l, const char *site, bool create, tree *t, cps_err *err)
{
	char *virt = cps_layout_path(l, "/home/virtual"), rel[128];
	unsigned mk = create ? CPS_WALK_CREATE : 0;
	int vfd = -1, rc = -1;

	t->cfd = t->vers = -1;
	if (virt == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(t->conf, sizeof(t->conf), "%s/%s/fst/etc/httpd/conf", virt, site);
	snprintf(t->versions, sizeof(t->versions), "%s/ssl.versions", t->conf);
	snprintf(rel, sizeof(rel), "%s/fst/etc/httpd/conf", site);
	if (cps_walk_open(virt, CPS_WALK_TRUSTED | mk, 0755, &vfd, err) == 0 &&
	    cps_walk_open_at(vfd, virt, rel, mk, 0755, &t->cfd, err) == 0) {
		cps_err e;

		rc = cps_walk_open_at(t->cfd, t->conf, "ssl.versions",
				      create ? mk | CPS_WALK_REPLACE : 0, 0700, &t->vers, &e);
		if (rc != 0 && !create && e.code == CPS_E_NOTFOUND)
			rc = 0;
		else if (rc != 0 && err)
			*err = e;
	}
	if (vfd >= 0)
		close(vfd);
	free(virt);
	if (rc != 0)
		tree_close(t);
	return rc;
}

static void prune(tree *t, const char *keep)
{
	char **names = NULL;
	int n = cps_fs_list_at(t->vers, &names);

	for (int i = 0; i < n - CPS_APACHE_VERSIONS_KEPT; i++) {
		cps_err e;

		if (strcmp(names[i], keep) != 0 &&
		    cps_fs_rmdir_at(t->vers, t->versions, names[i], version_files, &e) != 0)
			cps_warn("could not remove the old version: %s", e.msg);
	}
	cps_fs_names_free(names, n);
}

/* The version's files: server.crt is the certificate followed by its chain
 * (what Apache >= 2.4.8 serves from an SSLCertificateFile); Apache refuses
 * an empty SSLCertificateChainFile, so without a chain (a self-signed
 * certificate) the bundle holds the certificate itself. */
static int write_version(tree *t, const char *version, const cps_cert_files *f, cps_err *err)
{
	const char *bundle = f->chain[0] ? f->chain : f->cert;
	char shown[PATH_MAX], *full = NULL;
	int vfd, n, rc = -1;

	snprintf(shown, sizeof(shown), "%s/%s", t->versions, version);
	if ((n = asprintf(&full, "%s%s", f->cert, f->chain)) < 0)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_walk_open_at(t->vers, t->versions, version, CPS_WALK_CREATE | CPS_WALK_REPLACE, 0700,
			     &vfd, err) != 0) {
		free(full);
		return -1;
	}
	if (cps_fs_write_at(vfd, shown, "server.key", f->key, f->key_len, 0600, err) == 0) {
		CPS_FAULT("deploy-apache-between-key-and-cert");
		if (cps_fs_write_at(vfd, shown, "server.crt", full, (size_t)n, 0644, err) == 0 &&
		    cps_fs_write_at(vfd, shown, "bundle.crt", bundle, strlen(bundle), 0644, err) == 0 &&
		    cps_fs_fsync_at(t->vers, t->versions, err) == 0)
			rc = 0;
	}
	close(vfd);
	free(full);
	return rc;
}

/* The fixed paths Apache reads lead into ssl.live. */
static int fixed_links(tree *t, cps_err *err)
{
	static const struct { const char *dir, *name; mode_t mode; } links[] = {
		{ "ssl.crt", "server.crt", 0755 },
		{ "ssl.crt", "bundle.crt", 0755 },
		{ "ssl.key", "server.key", 0700 },
	};
	char shown[PATH_MAX], target[64];

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		int fd, rc;

		snprintf(shown, sizeof(shown), "%s/%s", t->conf, links[i].dir);
		snprintf(target, sizeof(target), "../ssl.live/%s", links[i].name);
		if (cps_walk_open_at(t->cfd, t->conf, links[i].dir, CPS_WALK_CREATE | CPS_WALK_REPLACE,
				     links[i].mode, &fd, err) != 0)
			return -1;
		rc = cps_fs_symlink_swap_at(fd, shown, links[i].name, target, err) != 0 ||
		     cps_fs_fsync_at(fd, shown, err) != 0 ? -1 : 0;
		close(fd);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int cps_apache_write(const cps_layout *l, const char *site, const char *version,
		     const cps_cert_files *f, cps_err *err)
{
	char target[300];
	bool switched = false;
	tree t = { .conf = "", .cfd = -1, .vers = -1 };
	int rc = -1;

	snprintf(target, sizeof(target), "ssl.versions/%s", version);
	if (tree_open(l, site, true, &t, err) != 0)
		goto fail;
	/* the complete new version first; nothing points at it yet */
	if (write_version(&t, version, f, err) != 0)
		goto fail;
	/* the switch: key, certificate and chain change together */
	if (cps_fs_symlink_swap_at(t.cfd, t.conf, "ssl.live", target, err) != 0)
		goto fail;
	switched = true;
	if (cps_fs_fsync_at(t.cfd, t.conf, err) != 0)
		goto fail;
	CPS_FAULT("deploy-apache-after-switch");
	if (fixed_links(&t, err) != 0)
		goto fail;
	prune(&t, version);
	rc = 0;
	goto out;
fail:
	cps_err_prefix(err, "Apache (%s)", t.conf);
	/* ssl.live still names the previous version: drop the partial one */
	if (!switched && t.vers >= 0 && !cps_fs_link_is_at(t.cfd, "ssl.live", target))
		cps_fs_rmdir_at(t.vers, t.versions, version, version_files, NULL);
out:
	tree_close(&t);
	return rc;
}

int cps_apache_remove(const cps_layout *l, const char *site, cps_err *err)
{
	static const struct { const char *dir, *name; } links[] = {
		{ "ssl.crt", "server.crt" }, { "ssl.crt", "bundle.crt" }, { "ssl.key", "server.key" },
	};
	char **names = NULL;
	cps_err e;
	tree t;
	int n;

	if (tree_open(l, site, false, &t, &e) != 0) {
		if (e.code == CPS_E_NOTFOUND)
			return 0; /* nothing was deployed there */
		*err = e;
		return cps_err_prefix(err, "Apache");
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		int fd;

		if (cps_walk_open_at(t.cfd, t.conf, links[i].dir, 0, 0, &fd, NULL) == 0) {
			unlinkat(fd, links[i].name, 0);
			close(fd);
		}
	}
	cps_fs_unlink_at(t.cfd, t.conf, "ssl.live", NULL);
	n = t.vers >= 0 ? cps_fs_list_at(t.vers, &names) : 0;
	for (int i = 0; i < n; i++)
		if (cps_fs_rmdir_at(t.vers, t.versions, names[i], version_files, &e) != 0)
			cps_warn("could not remove the version: %s", e.msg);
	cps_fs_names_free(names, n);
	tree_close(&t);
	return 0;
}

int cps_apache_check(const cps_layout *l, const char *site, cps_apache_file file,
		     char *version, size_t len, cps_err *err)
{
	const char *dir = file == CPS_APACHE_KEY ? "ssl.key" : "ssl.crt";
	const char *name = file == CPS_APACHE_KEY ? "server.key"
			   : file == CPS_APACHE_CERT ? "server.crt" : "bundle.crt";
	char target[64], live[300];
	struct stat st;
	ssize_t n;
	int fd = -1, vfd = -1, rc = -1;
	tree t;

	if (tree_open(l, site, false, &t, err) != 0)
		return -1;
	snprintf(target, sizeof(target), "../ssl.live/%s", name);
	n = readlinkat(t.cfd, "ssl.live", live, sizeof(live) - 1);
	if (n > 0)
		live[n] = '\0';
	if (cps_walk_open_at(t.cfd, t.conf, dir, 0, 0, &fd, err) != 0)
		goto out;
	if (!cps_fs_link_is_at(fd, name, target))
		cps_fail(err, CPS_E_NOTFOUND, "%s/%s/%s is not the link cpssl made", t.conf, dir, name);
	else if (n <= 13 || strncmp(live, "ssl.versions/", 13) != 0 || strchr(live + 13, '/') ||
		 live[13] == '.')
		cps_fail(err, CPS_E_NOTFOUND, "%s/ssl.live does not lead to one of cpssl's versions",
			 t.conf);
	else if (t.vers < 0)
		cps_fail(err, CPS_E_NOTFOUND, "%s does not exist", t.versions);
	else if (cps_walk_open_at(t.vers, t.versions, live + 13, 0, 0, &vfd, err) != 0)
		;
	else if (fstatat(vfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		 st.st_size == 0)
		cps_fail(err, CPS_E_NOTFOUND, "%s/%s/%s is missing or not a file", t.versions,
			 live + 13, name);
	else
		rc = 0;
	if (rc == 0 && version)
		snprintf(version, len, "%s", live + 13);
out:
	if (fd >= 0)
		close(fd);
	if (vfd >= 0)
		close(vfd);
	tree_close(&t);
	return rc;
}

int cps_apache_serves(const cps_layout *l, const char *site, const char *version,
		      const char *stored, cps_err *err)
{
	static const cps_apache_file files[] = { CPS_APACHE_CERT, CPS_APACHE_CHAIN, CPS_APACHE_KEY };
	char live[256];

	(void)stored;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (cps_apache_check(l, site, files[i], live, sizeof(live), err) != 0)
			return -1;
		if (strcmp(live, version) != 0)
			return cps_fail(err, CPS_E_NOTFOUND, "%s's Apache files serve version %s, not %s",
					site, live, version);
	}
	return 0;
}
