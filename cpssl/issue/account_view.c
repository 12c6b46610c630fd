/* What is known of the ACME accounts: kept here (key, record, kept keys of
 * deactivated accounts) and said by each CA. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/acme/jws.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/issue/account.h"
#include "cpssl/store/acme_state.h"

const char *cps_account_state_name(cps_account_state state)
{
	switch (state) {
	case CPS_ACCOUNT_NONE:
		return "none";
	case CPS_ACCOUNT_VALID:
		return "valid";
	case CPS_ACCOUNT_DEACTIVATED:
		return "deactivated";
	case CPS_ACCOUNT_REVOKED:
		return "revoked";
	case CPS_ACCOUNT_MISSING:
		return "missing";
	case CPS_ACCOUNT_ERROR:
		return "error";
	}
	return "?";
}

void cps_account_view_free(cps_account_view *v)
{
	if (v == NULL)
		return;
	free(v->directory);
	free(v->server_dir);
	free(v->url);
	cps_acme_account_free(&v->ca);
	free(v->recorded_contact);
	free(v->key_path);
	free(v->thumbprint);
	for (size_t i = 0; i < v->nretired; i++)
		free(v->retired[i]);
	free(v->retired);
	free(v->error);
	memset(v, 0, sizeof(*v));
}

void cps_account_views_free(cps_account_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cps_account_view_free(&v[i]);
	free(v);
}

/* The kept keys of deactivated accounts in DIR. */
static void list_retired(const char *dir, cps_account_view *v)
{
	struct dirent **ents = NULL;
	size_t plen = strlen(CPS_ACCOUNT_KEY_DEACTIVATED);
	int n = cps_fs_list(dir, &ents);

	for (int i = 0; i < n; i++) {
		char **nv;

		if (strncmp(ents[i]->d_name, CPS_ACCOUNT_KEY_DEACTIVATED, plen) == 0 &&
		    (nv = realloc(v->retired, (v->nretired + 1) * sizeof(*nv))) != NULL) {
			v->retired = nv;
			if ((nv[v->nretired] = cps_path_join(dir, ents[i]->d_name)) != NULL)
				v->nretired++;
		}
		free(ents[i]);
	}
	free(ents);
}

/* The key's file, type and thumbprint into V; *key loaded (NULL: none). */
static int local_key(const char *path, cps_account_view *v, EVP_PKEY **key, cps_err *err)
{
	struct stat sb;

	*key = NULL;
	if (lstat(path, &sb) != 0)
		return 0;
	if (cps_key_load(path, key, err) != 0)
		return cps_err_prefix(err, "ACME account key");
	if ((v->key_path = strdup(path)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	v->key_created = (long long)sb.st_mtime;
	if (cps_key_describe(*key, v->key_type, sizeof(v->key_type)) != 0)
		snprintf(v->key_type, sizeof(v->key_type), "unknown");
	return cps_jwk_thumbprint(*key, &v->thumbprint, err);
}

/* E, an error of the CA's about the account, as a state. */
static void state_of_error(cps_account_view *v, const cps_err *e)
{
	if (strcmp(e->problem, "unauthorized") == 0)
		v->state = CPS_ACCOUNT_DEACTIVATED; /* §7.3.6 */
	else if (strcmp(e->problem, "accountDoesNotExist") == 0)
		v->state = CPS_ACCOUNT_MISSING;
	else
		v->state = CPS_ACCOUNT_ERROR;
	v->error = strdup(e->msg);
}

/* Ask the CA about the account, signing with KEY; the session's own key
 * and account URL are put back afterwards. */
static void ask_ca(cps_session *s, EVP_PKEY *key, cps_account_view *v)
{
	char *saved = cps_acme_kid(s->acme) ? strdup(cps_acme_kid(s->acme)) : NULL;
	cps_err e;

	cps_acme_use_key(s->acme, key);
	if (v->url == NULL && cps_acme_account_lookup(s->acme, &v->url, &e) != 0)
		state_of_error(v, &e);
	else if (v->url == NULL)
		v->state = CPS_ACCOUNT_MISSING;
	else if (cps_acme_set_kid(s->acme, v->url, &e) != 0 ||
		 cps_acme_account_fetch(s->acme, &v->ca, &e) != 0)
		state_of_error(v, &e);
	else
		v->state = v->ca.status == CPS_ACME_ACCOUNT_VALID       ? CPS_ACCOUNT_VALID
			   : v->ca.status == CPS_ACME_ACCOUNT_DEACTIVATED ? CPS_ACCOUNT_DEACTIVATED
									  : CPS_ACCOUNT_REVOKED;
	cps_acme_set_kid(s->acme, saved, NULL);
	cps_acme_use_key(s->acme, s->account_key);
	free(saved);
}

/* The store's record of the account: URL, contact, when it was made. */
static int recorded(cps_session *s, cps_account_view *v, cps_err *err)
{
	cps_account_row *rows = NULL;
	size_t n = 0;
	int rc = 0;

	if (cps_account_list(s->st, &rows, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].server, s->dir_url) != 0)
			continue;
		v->url = rows[i].kid;
		v->recorded_contact = rows[i].contact;
		v->registered = rows[i].created;
		rows[i].kid = rows[i].contact = NULL;
	}
	cps_account_rows_free(rows, n);
	return rc;
}

static int show_locked(cps_session *s, cps_account_view *v, cps_err *err)
{
	char *dir = cps_session_account_file(s, NULL);
	char *path = cps_session_account_file(s, CPS_ACCOUNT_KEY);
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (dir == NULL || path == NULL || (v->directory = strdup(s->dir_url)) == NULL ||
	    (v->server_dir = strdup(s->server_dir)) == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (cps_account_recover(s, err) != 0 || recorded(s, v, err) != 0 ||
	    local_key(path, v, &key, err) != 0)
		goto out;
	list_retired(dir, v);
	if (key)
		ask_ca(s, key, v);
	else if (v->url) /* the session registers a new account when asked */
		v->error = strdup("the account's key is missing; the next request registers a new "
				  "account");
	rc = 0;
out:
	EVP_PKEY_free(key);
	free(path);
	free(dir);
	return rc;
}

int cps_account_show(cps_session *s, cps_account_view *out, cps_err *err)
{
	int fd = -1, rc = -1;

	memset(out, 0, sizeof(*out));
	out->configured = true;
	if (cps_session_account_lock(s, &fd, err) == 0)
		rc = show_locked(s, out, err);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		cps_account_view_free(out);
	return rc;
}

/* Another CA's account, through a session of its own (SET with its URL). */
static int show_other(cps_session *s, const char *url, cps_account_view *v, cps_err *err)
{
	cps_settings other = *s->set;
	cps_session *o = NULL;
	int rc;

	other.ca.url = url;
	if (cps_server_dirname(url, other.ca.dir_name, sizeof(other.ca.dir_name), err) != 0 ||
	    cps_session_open(s->st, &other, s->paths, &o, err) != 0)
		return -1;
	rc = cps_account_show(o, v, err);
	v->configured = false;
	cps_session_free(o);
	return rc;
}

/* An account directory of no recorded CA: what is kept in it. */
static int show_dir_only(const char *base, const char *name, cps_account_view *v, cps_err *err)
{
	char *dir = cps_path_join(base, name), *path = dir ? cps_path_join(dir, CPS_ACCOUNT_KEY) : NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (path == NULL || (v->server_dir = strdup(name)) == NULL)
		cps_fail(err, CPS_E_NOMEM, "out of memory");
	else if (local_key(path, v, &key, err) == 0)
		rc = 0;
	if (rc == 0) {
		list_retired(dir, v);
		if (key) {
			v->state = CPS_ACCOUNT_ERROR;
			v->error = strdup("no record says which CA this key is for, so no CA was asked");
		}
	}
	EVP_PKEY_free(key);
	free(path);
	free(dir);
	return rc;
}

static int push(cps_account_view **v, size_t *n, cps_err *err)
{
	cps_account_view *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	memset(&nv[*n], 0, sizeof(nv[*n]));
	*v = nv;
	(*n)++;
	return 0;
}

static bool listed(const cps_account_view *v, size_t n, const char *dir_name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].server_dir && strcmp(v[i].server_dir, dir_name) == 0)
			return true;
	return false;
}

int cps_account_show_all(cps_session *s, cps_account_view **out, size_t *n, cps_err *err)
{
	cps_account_row *rows = NULL;
	struct dirent **ents = NULL;
	size_t nrows = 0;
	char *base = cps_session_data_path(s, "accounts");
	int nents = -1, rc = -1;

	*out = NULL;
	*n = 0;
	if (base == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_account_list(s->st, &rows, &nrows, err) != 0 || push(out, n, err) != 0 ||
	    cps_account_show(s, &(*out)[0], err) != 0)
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		if (strcmp(rows[i].server, s->dir_url) == 0)
			continue;
		if (push(out, n, err) != 0 || show_other(s, rows[i].server, &(*out)[*n - 1], err) != 0)
			goto out;
	}
	nents = cps_fs_list(base, &ents);
	for (int i = 0; i < nents; i++) {
		if (!listed(*out, *n, ents[i]->d_name) &&
		    (push(out, n, err) != 0 ||
		     show_dir_only(base, ents[i]->d_name, &(*out)[*n - 1], err) != 0))
			goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	cps_account_rows_free(rows, nrows);
	free(base);
	if (rc != 0) {
		cps_account_views_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
