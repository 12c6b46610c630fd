/* A BIND key file, as tsig-keygen writes it:
 *
 *   key "cpssl-update" {
 *           algorithm hmac-sha256;
 *           secret "base64…";
 *   };
 *
 * read from a file of root's that no one else can write or read, so the
 * secret never has to be typed or kept in config.ini. */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/walk.h"
#include "cpssl/dns/internal.h"

#define KEY_FILE_MAX (64 * 1024)
#define TOKEN_MAX 512

typedef struct lexer {
	const char *p;
	char tok[TOKEN_MAX];
} lexer;

/* The next token: a quoted string (without its quotes), a word, or one of
 * "{};"; comments (#, //, slash-star) are skipped. 0 at the end. */
static int next(lexer *lx)
{
	size_t n = 0;

	for (;;) {
		while (isspace((unsigned char)*lx->p))
			lx->p++;
		if (*lx->p == '#' || (lx->p[0] == '/' && lx->p[1] == '/'))
			lx->p += strcspn(lx->p, "\n");
		else if (lx->p[0] == '/' && lx->p[1] == '*')
			lx->p = strstr(lx->p + 2, "*/") ? strstr(lx->p + 2, "*/") + 2 : lx->p + strlen(lx->p);
		else
			break;
	}
	if (*lx->p == '\0')
		return 0;
	if (strchr("{};", *lx->p)) {
		lx->tok[0] = *lx->p++;
		lx->tok[1] = '\0';
		return 1;
	}
	if (*lx->p == '"') {
		for (lx->p++; *lx->p && *lx->p != '"' && n + 1 < TOKEN_MAX; lx->p++)
			lx->tok[n++] = *lx->p;
		if (*lx->p != '"')
			return -1;
		lx->p++;
	} else {
		while (*lx->p && !isspace((unsigned char)*lx->p) && !strchr("{};\"", *lx->p) &&
		       n + 1 < TOKEN_MAX)
			lx->tok[n++] = *lx->p++;
	}
	lx->tok[n] = '\0';
	return 1;
}

/* key NAME { algorithm ALG; secret "SECRET"; }; — the first one. */
static int parse(const char *text, char **name, char **alg, char **secret)
{
	lexer lx = { .p = text };

	while (next(&lx) == 1)
		if (strcmp(lx.tok, "key") == 0)
			break;
	if (strcmp(lx.tok, "key") != 0 || next(&lx) != 1 || (*name = strdup(lx.tok)) == NULL ||
	    next(&lx) != 1 || strcmp(lx.tok, "{") != 0)
		return -1;
	while (next(&lx) == 1 && strcmp(lx.tok, "}") != 0) {
		char **dst = strcmp(lx.tok, "algorithm") == 0 ? alg
			     : strcmp(lx.tok, "secret") == 0 ? secret : NULL;

		if (dst == NULL || *dst != NULL || next(&lx) != 1 || (*dst = strdup(lx.tok)) == NULL ||
		    next(&lx) != 1 || strcmp(lx.tok, ";") != 0)
			return -1;
	}
	return strcmp(lx.tok, "}") == 0 && *alg && *secret ? 0 : -1;
}

/* PATH, opened without following a link below directories of root's; the
 * file itself root's and neither writable nor readable by others. */
static int read_key_file(const char *path, char **text, cps_err *err)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;
	int dfd, fd = -1, rc = -1;

	if (slash == NULL || path[0] != '/' || (size_t)(slash - path) >= sizeof(dir))
		return cps_fail(err, CPS_E_CONFIG, "it must be an absolute path");
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (cps_walk_open(*dir ? dir : "/", CPS_WALK_TRUSTED, 0, &dfd, err) != 0)
		return -1;
	fd = openat(dfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		cps_fail(err, CPS_E_CONFIG, "it is missing, a link, or not a regular file");
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		cps_fail(err, CPS_E_CONFIG, "it is owned by uid %lu, not by root", (unsigned long)st.st_uid);
	else if (st.st_mode & 026)
		cps_fail(err, CPS_E_CONFIG,
			 "its mode %04o lets others read the secret or anyone but root change it "
			 "(chmod 0600, or 0640 for a group such as bind)",
			 (unsigned)(st.st_mode & 07777));
	else
		rc = cps_fs_read_fd(fd, path, KEY_FILE_MAX, text, NULL, err);
	if (fd >= 0)
		close(fd);
	return rc;
}

int cps_tsig_key_file(const char *path, char **name, char **alg, char **secret, cps_err *err)
{
	char *text = NULL;
	int rc;

	*name = *alg = *secret = NULL;
	if (read_key_file(path, &text, err) != 0)
		return cps_err_prefix(err, "[dns] rfc2136_key_file %.200s", path);
	rc = parse(text, name, alg, secret);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc != 0) {
		free(*name);
		free(*alg);
		if (*secret) {
			explicit_bzero(*secret, strlen(*secret));
			free(*secret);
		}
		*name = *alg = *secret = NULL;
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_file %.200s is not a BIND key file (key \"NAME\" { "
				"algorithm ALG; secret \"BASE64\"; };, as tsig-keygen writes it)",
				path);
	}
	return 0;
}
