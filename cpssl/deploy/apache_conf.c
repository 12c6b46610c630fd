#include "cpssl/deploy/apache_conf.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/walk.h"

#define CONF_MAX (2 * PATH_MAX + 1024) /* more than the fragment ever holds */
#define ENTRIES_MAX 4096    /* names looked at for leftover temporaries */

/* A path Apache's configuration can carry between double quotes as it is:
 * absolute, printable ASCII, without a quote, a backslash or a '$' (Apache
 * expands ${VAR} in its configuration). */
static bool quotable(const char *p)
{
	if (p[0] != '/' || strlen(p) > PATH_MAX - 32)
		return false;
	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\' || *p == '$')
			return false;
	return true;
}

/* The file's text for VERSION of SITE, stored in STORED (caller frees). */
static char *fragment(const char *site, const char *version, const char *stored, cps_err *err)
{
	char *text = NULL;

	if (!quotable(stored)) {
		cps_fail(err, CPS_E_INVAL,
			 "the stored certificate's path %.200s cannot be named in Apache's configuration "
			 "(it must be absolute, printable, without a quote, a backslash or a '$'): "
			 "move CPSSL_HOME", stored);
		return NULL;
	}
	if (asprintf(&text,
		     "# cpssl: %s's certificate in service, version %s.\n"
		     "# cpssl replaces this file at each deployment and removes it when the site\n"
		     "# no longer serves a certificate; put your own directives in another file.\n"
		     "SSLEngine on\n"
		     "SSLCertificateFile \"%s/fullchain.pem\"\n"
		     "SSLCertificateKeyFile \"%s/privkey.pem\"\n",
		     site, version, stored, stored) < 0) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		return NULL;
	}
	return text;
}

/* The files the fragment names, as Apache will read them (as root): in
 * directories of root's that no one else can change, each a regular file of
 * root's that no one else can write, the key readable by root alone. */
static int check_stored(const char *stored, cps_err *err)
{
	static const char *const files[] = { "fullchain.pem", "privkey.pem" };
	struct stat st;
	int fd, rc = 0;

	if (cps_walk_open(stored, CPS_WALK_TRUSTED, 0, &fd, err) != 0)
		return cps_err_prefix(err, "the stored certificate");
	for (size_t i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		bool key = i == 1;

		if (fstatat(fd, files[i], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size == 0)
			rc = cps_fail(err, CPS_E_NOTFOUND, "%s/%s is missing or not a file", stored,
				      files[i]);
		else if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
			 (st.st_mode & (key ? 077 : 022)))
			rc = cps_fail(err, CPS_E_PERM,
				      "%s/%s (uid %lu, mode %04o) is not root's alone: Apache reads it "
				      "as root", stored, files[i], (unsigned long)st.st_uid,
				      (unsigned)(st.st_mode & 07777));
	}
	close(fd);
	return rc;
}

/* fs_root/etc/httpd/conf/SITE.ssl, for messages. */
static int conf_shown(const cps_layout *l, const char *site, char *shown, size_t len,
		      cps_err *err)
{
	char *conf = cps_layout_path(l, CPS_APACHE_CONF_DIR);

	shown[0] = '\0';
	if (conf == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(shown, len, "%s/%s.ssl", conf, site);
	free(conf);
	if (site[0] == '\0' || site[0] == '.' || strchr(site, '/'))
		return cps_fail(err, CPS_E_INVAL, "'%.100s' is not a site's name", site);
	return 0;
}

/* SITE.ssl below fs_root/etc/httpd/conf, every directory root's and not
 * writable by others; CREATE makes what is missing, 0755. */
static int conf_open(const cps_layout *l, const char *site, bool create, int *fd, cps_err *err)
{
	char *conf = cps_layout_path(l, CPS_APACHE_CONF_DIR), name[128];
	unsigned flags = CPS_WALK_TRUSTED | (create ? CPS_WALK_CREATE : 0);
	int cfd = -1, rc = -1;

	*fd = -1;
	if (conf == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(name, sizeof(name), "%s.ssl", site);
	if (cps_walk_open(conf, flags, 0755, &cfd, err) == 0)
		rc = cps_walk_open_at(cfd, conf, name, flags, 0755, fd, err);
	if (cfd >= 0)
		close(cfd);
	free(conf);
	return rc;
}

/* How many temporaries of cpssl.conf a killed write left in DIR (an
 * `Include` of the whole directory would read them); REMOVE removes them.
 * No one but root can write in DIR, so such a name is cpssl's. */
static int leftovers(int dir, bool remove)
{
	int fd = dup(dir), n = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	for (int seen = 0; seen < ENTRIES_MAX && (e = readdir(d)) != NULL; seen++) {
		if (!cps_fs_is_temp_of(e->d_name, CPS_APACHE_CONF_NAME))
			continue;
		n++;
		if (remove)
			unlinkat(dir, e->d_name, 0);
	}
	closedir(d);
	return n;
}

int cps_apache_conf_write(const cps_layout *l, const char *site, const char *version,
			  const cps_cert_files *f, cps_err *err)
{
	char shown[PATH_MAX], *text = NULL;
	int fd = -1, rc = -1;

	if (conf_shown(l, site, shown, sizeof(shown), err) != 0)
		;
	else if (f->stored == NULL)
		cps_fail(err, CPS_E_INTERNAL, "no stored version to name");
	else if ((text = fragment(site, version, f->stored, err)) != NULL &&
		 check_stored(f->stored, err) == 0 && conf_open(l, site, true, &fd, err) == 0) {
		leftovers(fd, true);
		rc = cps_fs_write_at(fd, shown, CPS_APACHE_CONF_NAME, text, strlen(text), 0644, err);
	}
	if (rc != 0)
		cps_err_prefix(err, "the Apache configuration (%s/%s)", shown, CPS_APACHE_CONF_NAME);
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

int cps_apache_conf_remove(const cps_layout *l, const char *site, cps_err *err)
{
	char shown[PATH_MAX];
	cps_err e;
	int fd, rc;

	if (conf_shown(l, site, shown, sizeof(shown), err) != 0)
		return -1;
	if (conf_open(l, site, false, &fd, &e) != 0) {
		if (e.code == CPS_E_NOTFOUND)
			return 0; /* nothing was written there */
		*err = e;
		return cps_err_prefix(err, "the Apache configuration");
	}
	leftovers(fd, true);
	rc = cps_fs_unlink_at(fd, shown, CPS_APACHE_CONF_NAME, err) == 0 &&
	     cps_fs_fsync_at(fd, shown, err) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

/* Up to LEN bytes of NAME in DIR, a regular file of root's no one else can
 * write (a link or anything else is refused, never followed). */
static ssize_t read_conf(int dir, const char *shown, const char *name, char *buf, size_t len,
			 cps_err *err)
{
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;

	if (fd < 0)
		return cps_fail(err, CPS_E_NOTFOUND, "%s/%s is missing or a link", shown, name);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(fd);
		return cps_fail(err, CPS_E_PERM, "%s/%s is not a file of root's alone", shown, name);
	}
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0)
		return cps_fail(err, CPS_E_IO, "cannot read %s/%s", shown, name);
	return (ssize_t)got;
}

int cps_apache_conf_check(const cps_layout *l, const char *site, const char *version,
			  const char *stored, cps_err *err)
{
	char shown[PATH_MAX], *want = NULL, have[CONF_MAX];
	ssize_t n;
	int fd = -1, rc = -1;

	if (conf_shown(l, site, shown, sizeof(shown), err) != 0 ||
	    (want = fragment(site, version, stored, err)) == NULL ||
	    conf_open(l, site, false, &fd, err) != 0 ||
	    (n = read_conf(fd, shown, CPS_APACHE_CONF_NAME, have, sizeof(have), err)) < 0)
		;
	else if ((size_t)n != strlen(want) || memcmp(have, want, (size_t)n) != 0)
		cps_fail(err, CPS_E_INVAL, "%s/%s is not what cpssl wrote for version %s", shown,
			 CPS_APACHE_CONF_NAME, version);
	else if (leftovers(fd, false) > 0)
		cps_fail(err, CPS_E_INVAL, "%s holds a temporary of an interrupted write", shown);
	else if (check_stored(stored, err) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	free(want);
	return rc;
}
