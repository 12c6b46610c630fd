#include "cpssl/issue/account.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/acme/jws.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/server.h"

/* The account files of the session's CA (see account.h). */
typedef struct acct_files {
	char *dir, *key, *next, *deactivating;
} acct_files;

static void files_free(acct_files *f)
{
	free(f->dir);
	free(f->key);
	free(f->next);
	free(f->deactivating);
}

static int files_of(const cps_session *s, acct_files *f, cps_err *err)
{
	f->dir = cps_session_account_file(s, NULL);
	f->key = cps_session_account_file(s, CPS_ACCOUNT_KEY);
	f->next = cps_session_account_file(s, CPS_ACCOUNT_KEY_NEXT);
	f->deactivating = cps_session_account_file(s, CPS_ACCOUNT_KEY_DEACTIVATING);
	if (f->dir && f->key && f->next && f->deactivating)
		return 0;
	files_free(f);
	return cps_fail(err, CPS_E_NOMEM, "out of memory");
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* One rename in the account directory, made durable. */
static int move(const acct_files *f, const char *from, const char *to, cps_err *err)
{
	if (rename(from, to) != 0)
		return cps_fail(err, CPS_E_IO, "cannot rename %s to %s: %s", from, to, strerror(errno));
	return cps_fs_fsync_dir(f->dir, err);
}

static int drop(const acct_files *f, const char *path, cps_err *err)
{
	if (cps_fs_unlink(path, err) != 0)
		return -1;
	return cps_fs_fsync_dir(f->dir, err);
}

/* The key the session signs with from now on (taking ownership of KEY). */
static void use_key(cps_session *s, EVP_PKEY *key)
{
	if (s->account_key != key)
		EVP_PKEY_free(s->account_key);
	s->account_key = key;
	cps_acme_use_key(s->acme, key);
}

static char *thumbprint(const EVP_PKEY *key)
{
	char *tp = NULL;

	return cps_jwk_thumbprint(key, &tp, NULL) == 0 ? tp : NULL;
}

/* ---- key rollover ------------------------------------------------------- */

/* Which key the CA knows the account by, asked with the new key. */
typedef enum settled {
	SETTLED_NEW,       /* the new key: it is account.key now */
	SETTLED_OLD,       /* not the new key (no account for it): dropped */
	SETTLED_OTHER,     /* the new key is another account's: dropped */
} settled;

/* Which key does the CA know for the account KID (NULL: not recorded)? Asked
 * with NEXT (onlyReturnExisting): when it names the account, NEXT becomes
 * account.key and the session's key; otherwise the CA still knows the old
 * key and NEXT is dropped. -1 when the CA cannot say: both files stay for
 * the next step to ask again. Takes ownership of NEXT. A CA's answer to
 * keyChange is never taken alone: one that answers success without
 * switching (Pebble does, for a key another account has) is found out. */
static int settle_rollover(cps_session *s, const acct_files *f, EVP_PKEY *next,
			   const char *kid, settled *out, cps_err *err)
{
	char *found = NULL;
	cps_err e;
	int rc;

	cps_acme_use_key(s->acme, next);
	rc = cps_acme_account_lookup(s->acme, &found, &e);
	cps_acme_use_key(s->acme, s->account_key);
	if (rc != 0) {
		EVP_PKEY_free(next);
		return cps_fail(err, e.code,
				"cannot tell which key the CA %s knows for the ACME account %s: %s; "
				"both keys are kept (%s and %s) and the next command that uses the "
				"account asks the CA again", s->dir_url, kid ? kid : "(not recorded)",
				e.msg, CPS_ACCOUNT_KEY, CPS_ACCOUNT_KEY_NEXT);
	}
	*out = found == NULL ? SETTLED_OLD
	       : kid == NULL || strcmp(found, kid) == 0 ? SETTLED_NEW : SETTLED_OTHER;
	free(found);
	if (*out != SETTLED_NEW) {
		EVP_PKEY_free(next);
		return drop(f, f->next, err);
	}
	if (move(f, f->next, f->key, err) != 0) {
		EVP_PKEY_free(next);
		return -1;
	}
	use_key(s, next);
	return 0;
}

static int recover_rollover(cps_session *s, const acct_files *f, cps_err *err)
{
	EVP_PKEY *next = NULL;
	char *kid = NULL;
	settled how;
	int rc = -1;

	if (cps_account_get(s->st, s->dir_url, &kid, NULL, err) != 0 ||
	    cps_key_load(f->next, &next, err) != 0)
		goto out;
	if (settle_rollover(s, f, next, kid, &how, err) != 0)
		goto out;
	if (how == SETTLED_NEW)
		cps_info("an interrupted key rollover of the ACME account %s at %s is finished: the CA "
			 "uses the new key", kid ? kid : "(not recorded)", s->dir_url);
	else
		cps_info("an interrupted key rollover of the ACME account %s at %s is undone: the CA "
			 "still uses the old key", kid ? kid : "(not recorded)", s->dir_url);
	rc = 0;
out:
	free(kid);
	return rc;
}

static int new_key_type(const cps_session *s, const char *name, cps_key_type *type, cps_err *err)
{
	char have[16];

	if (name)
		return cps_key_type_parse(name, type, err);
	/* the type of the current key, or the default account key type */
	if (cps_key_describe(s->account_key, have, sizeof(have)) != 0 ||
	    cps_key_type_parse(have, type, NULL) != 0)
		*type = CPS_KEY_EC256;
	return 0;
}

/* After keyChange (E: its error, NULL when the CA confirmed): settle which
 * key the CA knows, and say what that means. */
static int rollover_settle(cps_session *s, const acct_files *f, EVP_PKEY *next, const cps_err *e,
			   const char *old_tp, cps_err *err)
{
	char kid[512];
	settled how;

	snprintf(kid, sizeof(kid), "%s", cps_acme_kid(s->acme));
	if (settle_rollover(s, f, next, kid, &how, err) != 0)
		return cps_err_prefix(err, "the key rollover of the ACME account %s at %s %s%s%s",
				      kid, s->dir_url, e ? "got no answer (" : "was confirmed",
				      e ? e->msg : "", e ? ")" : "");
	if (how == SETTLED_NEW) {
		if (e)
			cps_warn("the CA %s took the new key of the ACME account %s, though its answer "
				 "was: %s", s->dir_url, kid, e->msg);
		return 0;
	}
	if (e) {
		cps_fail(err, e->code, "the CA %s refused the key rollover of the ACME account %s: %s; "
			 "the old key (thumbprint %s) stays the account key and nothing changed",
			 s->dir_url, kid, e->msg, old_tp ? old_tp : "?");
		snprintf(err->problem, sizeof(err->problem), "%s", e->problem);
		return -1;
	}
	return cps_fail(err, CPS_E_CA, "the CA %s answered the key rollover of the ACME account %s "
			"with success, but does not know the account by the new key (%s); the old key "
			"(thumbprint %s) stays the account key and nothing changed", s->dir_url, kid,
			how == SETTLED_OTHER ? "it is another account's key" : "no account has it",
			old_tp ? old_tp : "?");
}

/* An account to act on needs its key (one without a record is looked up);
 * a record whose key is gone is no account of ours any more. */
static bool has_account(const acct_files *f)
{
	return exists(f->key);
}

static int rollover_locked(cps_session *s, const acct_files *f, const char *type_name,
			   cps_err *err)
{
	EVP_PKEY *next = NULL;
	char *old_tp = NULL, *new_tp = NULL;
	cps_key_type type;
	cps_err e;
	int rc = -1;

	if (cps_session_account_locked(s, err) != 0 ||
	    new_key_type(s, type_name, &type, err) != 0 ||
	    cps_acme_load_directory(s->acme, err) != 0)
		goto out;
	if (cps_acme_endpoint(s->acme, "keyChange") == NULL) {
		cps_fail(err, CPS_E_CA, "the CA %s offers no account key rollover (its directory has "
			 "no keyChange); the account keeps its key", s->dir_url);
		goto out;
	}
	if (cps_key_generate(type, &next, err) != 0)
		goto out;
	old_tp = thumbprint(s->account_key);
	new_tp = thumbprint(next);
	/* 0600 from the moment it exists, beside the key it is to replace */
	if (cps_key_save(f->next, next, err) != 0) {
		cps_err_prefix(err, "the key rollover at %s did not start (the old key stays)",
			       s->dir_url);
		goto out;
	}
	CPS_FAULT("account-rollover-after-newkey");
	if (cps_acme_key_change(s->acme, next, &e) != 0) {
		rc = rollover_settle(s, f, next, &e, old_tp, err);
	} else {
		cps_acme_use_key(s->acme, s->account_key);
		CPS_FAULT("account-rollover-after-keychange");
		rc = rollover_settle(s, f, next, NULL, old_tp, err);
	}
	next = NULL; /* settled: account.key, or dropped */
	if (rc == 0)
		cps_info("rolled the key of the ACME account %s at %s over: thumbprint %s, before %s",
			 cps_acme_kid(s->acme), s->dir_url, new_tp ? new_tp : "?", old_tp ? old_tp : "?");
out:
	EVP_PKEY_free(next);
	free(old_tp);
	free(new_tp);
	return rc;
}

int cps_account_rollover(cps_session *s, const char *key_type, cps_err *err)
{
	acct_files f;
	bool has = false;
	int fd = -1, rc = -1;

	if (files_of(s, &f, err) != 0)
		return -1;
	if (cps_session_account_lock(s, &fd, err) != 0 || cps_account_recover(s, err) != 0)
		goto out;
	has = has_account(&f);
	rc = has ? rollover_locked(s, &f, key_type, err) : 1;
out:
	if (fd >= 0)
		close(fd);
	files_free(&f);
	return rc;
}

/* ---- deactivation -------------------------------------------------------- */

typedef enum deact_outcome {
	STILL_ACTIVE,
	GONE,            /* deactivated, revoked, or unknown to the CA */
} deact_outcome;

/* Ask the CA about the account KID (NULL: look it up by KEY) signed with
 * KEY; the session's own key and account URL are put back afterwards. */
static int deactivation_outcome(cps_session *s, EVP_PKEY *key, const char *kid,
				deact_outcome *out, cps_err *err)
{
	char *saved = cps_acme_kid(s->acme) ? strdup(cps_acme_kid(s->acme)) : NULL, *found = NULL;
	cps_acme_account a;
	cps_err e;
	int rc = 0;

	cps_acme_use_key(s->acme, key);
	if (kid == NULL) {
		rc = cps_acme_account_lookup(s->acme, &found, &e);
		kid = found;
	}
	if (rc == 0 && kid == NULL) {
		*out = GONE; /* the CA knows no account for the key */
	} else if (rc == 0 && (rc = cps_acme_set_kid(s->acme, kid, &e)) == 0 &&
		   (rc = cps_acme_account_fetch(s->acme, &a, &e)) == 0) {
		*out = a.status == CPS_ACME_ACCOUNT_VALID ? STILL_ACTIVE : GONE;
		cps_acme_account_free(&a);
	}
	cps_acme_set_kid(s->acme, saved, NULL);
	cps_acme_use_key(s->acme, s->account_key);
	free(saved);
	free(found);
	if (rc == 0)
		return 0;
	if (strcmp(e.problem, "unauthorized") == 0 || strcmp(e.problem, "accountDoesNotExist") == 0) {
		*out = GONE; /* §7.3.6: a deactivated account is refused as unauthorized */
		return 0;
	}
	if (err)
		*err = e;
	return -1;
}

/* The key of a deactivated account goes aside, and its record with it. */
static int retire(cps_session *s, const acct_files *f, char **kept, cps_err *err)
{
	char name[80], stamp[32], *to = NULL;
	time_t now = cps_now();
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "%s%s", CPS_ACCOUNT_KEY_DEACTIVATED, stamp);
		else
			snprintf(name, sizeof(name), "%s%s-%d", CPS_ACCOUNT_KEY_DEACTIVATED, stamp, i);
		free(to);
		if ((to = cps_session_account_file(s, name)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		if (!exists(to))
			break;
	}
	if (move(f, f->deactivating, to, err) != 0 ||
	    cps_account_forget(s->st, s->dir_url, err) != 0) {
		free(to);
		return -1;
	}
	s->account_ready = false;
	cps_acme_set_kid(s->acme, NULL, NULL);
	use_key(s, NULL);
	if (kept)
		*kept = to;
	else
		free(to);
	return 0;
}

static int recover_deactivation(cps_session *s, const acct_files *f, cps_err *err)
{
	EVP_PKEY *key = NULL;
	char *kid = NULL;
	deact_outcome out;
	int rc = -1;

	if (cps_account_get(s->st, s->dir_url, &kid, NULL, err) != 0 ||
	    cps_key_load(f->deactivating, &key, err) != 0)
		goto out;
	if (deactivation_outcome(s, key, kid, &out, err) != 0) {
		cps_err_prefix(err, "cannot tell whether the CA %s deactivated the ACME account %s "
			       "(an interrupted letsencrypt:deactivate-account; its key is kept as %s "
			       "and the next command asks again)", s->dir_url,
			       kid ? kid : "(not recorded)", f->deactivating);
		goto out;
	}
	if (out == STILL_ACTIVE) {
		if (move(f, f->deactivating, f->key, err) != 0)
			goto out;
		cps_warn("an interrupted deactivation of the ACME account %s at %s did not reach the "
			 "CA: the account stays active and in use (cpcmd letsencrypt:deactivate-account "
			 "true deactivates it)", kid ? kid : "(not recorded)", s->dir_url);
	} else {
		char *kept = NULL;

		if (retire(s, f, &kept, err) != 0)
			goto out;
		cps_info("an interrupted deactivation of the ACME account %s at %s is finished: its key "
			 "is kept as %s", kid ? kid : "(not recorded)", s->dir_url, kept);
		free(kept);
	}
	rc = 0;
out:
	EVP_PKEY_free(key);
	free(kid);
	return rc;
}

static int deactivate_locked(cps_session *s, const acct_files *f, char **url, char **kept,
			     cps_err *err)
{
	cps_acme_account a;
	deact_outcome out = GONE;
	char kid[512];
	cps_err e;

	if (cps_session_account_locked(s, err) != 0)
		return -1;
	snprintf(kid, sizeof(kid), "%s", cps_acme_kid(s->acme));
	/* from here the key is not the account key: an interrupted run is
	 * settled by the next one, which asks the CA */
	if (move(f, f->key, f->deactivating, err) != 0)
		return -1;
	if (cps_acme_account_deactivate(s->acme, &a, &e) == 0) {
		cps_acme_account_free(&a);
	} else if (deactivation_outcome(s, s->account_key, kid, &out, err) != 0) {
		return cps_err_prefix(err, "the deactivation of the ACME account %s at %s got no answer "
				      "(%s), and the account cannot be asked; its key is kept as %s "
				      "and the next command asks again", kid, s->dir_url, e.msg,
				      f->deactivating);
	} else if (out == STILL_ACTIVE) {
		if (move(f, f->deactivating, f->key, err) != 0)
			return -1;
		cps_fail(err, e.code, "the CA %s refused to deactivate the ACME account %s: %s; the "
			 "account stays active and in use", s->dir_url, kid, e.msg);
		snprintf(err->problem, sizeof(err->problem), "%s", e.problem);
		return -1;
	}
	CPS_FAULT("account-deactivate-after-post");
	if (retire(s, f, kept, err) != 0)
		return cps_err_prefix(err, "the CA %s deactivated the ACME account %s, but", s->dir_url,
				      kid);
	cps_info("deactivated the ACME account %s at %s; its key is kept as %s; the next request "
		 "registers a new account", kid, s->dir_url, *kept);
	if ((*url = strdup(kid)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return 0;
}

int cps_account_deactivate(cps_session *s, char **url, char **kept, cps_err *err)
{
	acct_files f;
	bool has = false;
	int fd = -1, rc = -1;

	*url = NULL;
	*kept = NULL;
	if (files_of(s, &f, err) != 0)
		return -1;
	if (cps_session_account_lock(s, &fd, err) != 0 || cps_account_recover(s, err) != 0)
		goto out;
	has = has_account(&f);
	rc = has ? deactivate_locked(s, &f, url, kept, err) : 1;
out:
	if (fd >= 0)
		close(fd);
	files_free(&f);
	return rc;
}

/* ---- recovery and contact --------------------------------------------------- */

int cps_account_recover(cps_session *s, cps_err *err)
{
	acct_files f;
	int rc = 0;

	if (files_of(s, &f, err) != 0)
		return -1;
	if (exists(f.deactivating))
		rc = recover_deactivation(s, &f, err);
	if (rc == 0 && exists(f.next))
		rc = recover_rollover(s, &f, err);
	files_free(&f);
	return rc;
}

int cps_account_update_contact(cps_session *s, cps_err *err)
{
	acct_files f;
	char *kid = NULL, *contact = NULL, *email = NULL;
	bool sent;
	int fd = -1, rc = -1;

	if (files_of(s, &f, err) != 0)
		return -1;
	if (cps_session_account_lock(s, &fd, err) != 0 || cps_account_recover(s, err) != 0)
		goto out;
	if (!has_account(&f)) {
		rc = 1;
		goto out;
	}
	if (cps_account_get(s->st, s->dir_url, &kid, &contact, err) != 0 ||
	    cps_server_get(s->st, CPS_SERVER_EMAIL, &email, err) != 0)
		goto out;
	/* the session sends a contact that differs from the recorded one */
	sent = !s->account_ready && !(kid && contact && email && strcmp(contact, email) == 0);
	if (cps_session_account_locked(s, err) != 0)
		goto out;
	if (!sent && (cps_acme_account_set_contact(s->acme, email, err) != 0 ||
		      cps_account_put(s->st, s->dir_url, cps_acme_kid(s->acme), email, err) != 0))
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(kid);
	free(contact);
	free(email);
	files_free(&f);
	return rc;
}
