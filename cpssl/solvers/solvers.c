#include "cpssl/solvers/solvers.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/b64.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/walk.h"

#define WELL_KNOWN ".well-known/acme-challenge"

int cps_http01_path(const char *root, const char *token, char **path,
		    cps_err *err)
{
	char *dir;

	*path = NULL;
	if (!cps_b64url_valid(token, 16, 256))
		return cps_fail(err, CPS_E_PROTO,
				"the CA sent a challenge token that is not base64url; refusing to use it as a file name");
	dir = cps_path_join(root, WELL_KNOWN);
	*path = dir ? cps_path_join(dir, token) : NULL;
	free(dir);
	return *path ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

/* PATH's directory, walked from / with StrictModes (made when missing),
 * and the file's name in it. */
static int challenge_dir(const char *path, bool create, int *fd, const char **name,
			 char *dir, size_t len, cps_err *err)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (size_t)(slash - path) >= len)
		return cps_fail(err, CPS_E_INTERNAL, "not a challenge file path: %.200s", path);
	snprintf(dir, len, "%.*s", (int)(slash - path), path);
	*name = slash + 1;
	return cps_walk_open(dir, CPS_WALK_TRUSTED | (create ? CPS_WALK_CREATE : 0), 0755, fd, err);
}

int cps_http01_publish(const char *path, const char *keyauth, cps_err *err)
{
	char dir[PATH_MAX];
	const char *name;
	int fd, rc;

	if (challenge_dir(path, true, &fd, &name, dir, sizeof(dir), err) != 0)
		return cps_err_prefix(err, "cannot publish the http-01 response");
	rc = cps_fs_write_at(fd, dir, name, keyauth, strlen(keyauth), 0644, err);
	close(fd);
	if (rc != 0)
		return cps_err_prefix(err, "cannot publish the http-01 response");
	cps_debug("SSL: setting `%s' in `%s'", keyauth, path);
	return 0;
}

int cps_dns01_record(const char *name, char *out, size_t len, cps_err *err)
{
	if (name[0] == '*' && name[1] == '.')
		name += 2;
	if ((size_t)snprintf(out, len, "_acme-challenge.%s", name) >= len)
		return cps_fail(err, CPS_E_INVAL, "the name %s is too long for a dns-01 record", name);
	return 0;
}

char *cps_solver_file_tag(const char *path)
{
	char *tag;

	return asprintf(&tag, "file:%s", path) < 0 ? NULL : tag;
}

char *cps_solver_dns_tag(const char *record, const char *value)
{
	char *tag;

	return asprintf(&tag, "dns:%s %s", record, value) < 0 ? NULL : tag;
}

/* Only ever remove a token file inside a .well-known/acme-challenge dir,
 * reached without following a link. */
static int unpublish_file(const char *path, cps_err *err)
{
	const char *base = strrchr(path, '/'), *name;
	size_t wl = strlen(WELL_KNOWN);
	char dir[PATH_MAX];
	cps_err e;
	int fd, rc;

	if (base == NULL || (size_t)(base - path) < wl ||
	    strncmp(base - wl, WELL_KNOWN, wl) != 0 ||
	    !cps_b64url_valid(base + 1, 16, 256))
		return cps_fail(err, CPS_E_INTERNAL,
				"refusing to remove %s: not a challenge file", path);
	if (challenge_dir(path, false, &fd, &name, dir, sizeof(dir), &e) != 0) {
		if (e.code == CPS_E_NOTFOUND)
			return 0; /* the directory is gone: so is the file */
		if (err)
			*err = e;
		return -1;
	}
	rc = cps_fs_unlink_at(fd, dir, name, err);
	close(fd);
	return rc;
}

int cps_solver_unpublish(const char *tag, cps_dns_provider *dns, cps_err *err)
{
	if (strncmp(tag, "file:", 5) == 0)
		return unpublish_file(tag + 5, err);
	if (strncmp(tag, "dns:", 4) == 0) {
		const char *sp = strchr(tag + 4, ' ');
		char record[300];
		int rc;

		if (sp == NULL || (size_t)(sp - tag - 4) >= sizeof(record))
			return cps_fail(err, CPS_E_INTERNAL, "malformed publication '%.100s'", tag);
		snprintf(record, sizeof(record), "%.*s", (int)(sp - tag - 4), tag + 4);
		if (dns == NULL)
			return cps_fail(err, CPS_E_CONFIG,
					"cannot remove the TXT record %s: no DNS provider is configured",
					record);
		rc = cps_dns_txt_del(dns, record, sp + 1, err);
		if (rc == 0)
			cps_debug("removed DNS TXT record %s", record);
		return rc;
	}
	return cps_fail(err, CPS_E_INTERNAL, "unknown publication '%.100s'", tag);
}
