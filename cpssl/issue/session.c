#include "cpssl/issue/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/acme/account.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/issue/account.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/server.h"

#define ACCOUNT_LOCK_WAIT_MS (2 * 60 * 1000L)

char *cps_session_data_path(const cps_session *s, const char *rel)
{
	char *base = cps_path_join(s->paths->storage, "certificates/data"), *out;

	if (base == NULL)
		return NULL;
	out = cps_path_join(base, rel);
	free(base);
	return out;
}

int cps_session_open(cps_store *st, const cps_settings *set,
		     const cps_paths *paths, cps_session **out, cps_err *err)
{
	cps_session *s = calloc(1, sizeof(*s));
	cps_http *http;

	*out = NULL;
	if (s == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	s->st = st;
	s->set = set;
	s->paths = paths;
	s->dir_url = set->ca.url;
	s->server_dir = set->ca.dir_name;
	if (cps_http_new(set->ca.ca_bundle, &http, err) != 0 ||
	    cps_acme_new(s->dir_url, http, &s->acme, err) != 0) {
		cps_session_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void cps_session_free(cps_session *s)
{
	if (s == NULL)
		return;
	cps_acme_free(s->acme);
	EVP_PKEY_free(s->account_key);
	free(s);
}

char *cps_session_account_file(const cps_session *s, const char *name)
{
	char rel[300], *dir, *out;

	snprintf(rel, sizeof(rel), "accounts/%s", s->server_dir);
	if ((dir = cps_session_data_path(s, rel)) == NULL)
		return NULL;
	out = name ? cps_path_join(dir, name) : strdup(dir);
	free(dir);
	return out;
}

/* Load the account key, or create it (0600, in a 0700 directory). */
static int account_key(cps_session *s, bool *created, cps_err *err)
{
	char *dir = cps_session_account_file(s, NULL);
	char *path = cps_session_account_file(s, CPS_ACCOUNT_KEY);
	struct stat sb;
	int rc = -1;

	if (path == NULL || dir == NULL) {
		free(dir);
		free(path);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	*created = false;
	if (s->account_key) {
		rc = 0; /* loaded already (the account is being registered again) */
	} else if (stat(path, &sb) == 0) {
		rc = cps_key_load(path, &s->account_key, err);
	} else if (cps_fs_mkdir_p(dir, 0700, err) == 0 &&
		   cps_key_generate(CPS_KEY_EC256, &s->account_key, err) == 0 &&
		   cps_key_save(path, s->account_key, err) == 0) {
		*created = true;
		cps_debug("created the ACME account key %s", path);
		rc = 0;
	}
	if (rc != 0)
		cps_err_prefix(err, "ACME account key");
	free(path);
	free(dir);
	return rc;
}

static int account_locked(cps_session *s, const char *email, cps_err *err)
{
	char *kid = NULL, *contact = NULL;
	bool created = false;
	int rc = -1;

	if (cps_account_recover(s, err) != 0 || account_key(s, &created, err) != 0)
		goto out;
	cps_acme_use_key(s->acme, s->account_key);
	if (cps_account_get(s->st, s->dir_url, &kid, &contact, err) != 0)
		goto out;
	if (kid && created) {
		/* the key of the recorded account is gone: a new key has no account */
		cps_warn("the key of the ACME account %s at %s is missing; registering a new account",
			 kid, s->dir_url);
		free(kid);
		kid = NULL;
	}
	if (kid == NULL && !created) {
		/* a key without a record (e.g. a restored machine): ask the CA */
		if (cps_acme_account_lookup(s->acme, &kid, err) != 0)
			goto out;
		if (kid)
			cps_debug("found the existing ACME account %s", kid);
	}
	if (kid == NULL) {
		if (cps_acme_account_create(s->acme, email, &kid, err) != 0)
			goto out;
		free(contact);
		contact = strdup(email);
	}
	if (cps_acme_set_kid(s->acme, kid, err) != 0)
		goto out;
	if (contact == NULL || strcmp(contact, email) != 0) {
		if (cps_acme_account_set_contact(s->acme, email, err) != 0)
			goto out;
	}
	if (cps_account_put(s->st, s->dir_url, kid, email, err) != 0)
		goto out;
	s->account_ready = true;
	rc = 0;
out:
	free(kid);
	free(contact);
	return rc;
}

int cps_session_account_lock(cps_session *s, int *fd, cps_err *err)
{
	char *dir = cps_session_account_file(s, NULL);
	char *key = cps_session_account_file(s, CPS_ACCOUNT_KEY);
	int rc = -1;

	*fd = -1;
	if (dir == NULL || key == NULL)
		cps_fail(err, CPS_E_NOMEM, "out of memory");
	else if (cps_fs_mkdir_p(dir, 0700, err) == 0)
		rc = cps_fs_lock_dir_of(key, ACCOUNT_LOCK_WAIT_MS, fd, err);
	free(key);
	free(dir);
	return rc;
}

int cps_session_account_locked(cps_session *s, cps_err *err)
{
	char *email = NULL;
	int rc;

	if (s->account_ready)
		return 0;
	if (cps_server_get(s->st, CPS_SERVER_EMAIL, &email, err) != 0)
		return -1;
	if (email == NULL)
		return cps_fail(err, CPS_E_CONFIG,
				"no administrator e-mail is set, and the ACME account needs one: "
				"set it with cpcmd common:set-email ADDRESS");
	rc = account_locked(s, email, err);
	free(email);
	return rc;
}

/* Under a lock on the CA's account directory: two first runs make one key
 * and register one account, the second finding what the first made. */
int cps_session_account(cps_session *s, cps_err *err)
{
	int fd, rc;

	if (s->account_ready)
		return 0;
	if (cps_session_account_lock(s, &fd, err) != 0)
		return -1;
	rc = cps_session_account_locked(s, err);
	close(fd);
	return rc;
}

int cps_session_account_lost(cps_session *s, cps_err *err)
{
	cps_warn("the CA %s no longer knows the ACME account %s; registering again",
		 s->dir_url, cps_acme_kid(s->acme) ? cps_acme_kid(s->acme) : "?");
	s->account_ready = false;
	if (cps_acme_set_kid(s->acme, NULL, err) != 0 ||
	    cps_account_forget(s->st, s->dir_url, err) != 0)
		return -1;
	return cps_session_account(s, err);
}
