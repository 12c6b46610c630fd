#include "cpssl/issue/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/acme/account.h"
#include "cpssl/core/b64.h"
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
	s->own = *set;
	s->set = &s->own;
	s->given = set;
	s->primary = set->ca.url;
	s->paths = paths;
	s->dir_url = s->own.ca.url;
	s->server_dir = s->own.ca.dir_name;
	if (cps_http_new(set->ca.ca_bundle, &http, err) != 0 ||
	    cps_acme_new(s->dir_url, http, &s->acme, err) != 0) {
		cps_session_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int cps_session_use_ca(cps_session *s, const char *url, cps_err *err)
{
	char dir[sizeof(s->own.ca.dir_name)];
	cps_acme *acme = NULL;
	cps_http *http;

	if (strcmp(url, s->dir_url) == 0)
		return 0;
	if (cps_server_dirname(url, dir, sizeof(dir), err) != 0 ||
	    cps_http_new(s->own.ca.ca_bundle, &http, err) != 0 ||
	    cps_acme_new(url, http, &acme, err) != 0)
		return -1;
	cps_acme_free(s->acme);
	s->acme = acme;
	EVP_PKEY_free(s->account_key);
	s->account_key = NULL;
	s->account_ready = false;
	s->own.ca.url = url;
	memcpy(s->own.ca.dir_name, dir, sizeof(dir));
	s->dir_url = s->own.ca.url;
	s->server_dir = s->own.ca.dir_name;
	/* the binding the CA gave is the primary's */
	s->own.ca.eab_kid = strcmp(url, s->primary) == 0 ? s->given->ca.eab_kid : "";
	s->own.ca.eab_hmac_key = strcmp(url, s->primary) == 0 ? s->given->ca.eab_hmac_key : "";
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

/* Append "; WHY" to the error's message. */
static void explain(cps_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void explain(cps_err *err, const char *fmt, ...)
{
	size_t used = strlen(err->msg);
	va_list ap;

	if (used + 2 >= sizeof(err->msg))
		return;
	memcpy(err->msg + used, "; ", 3);
	va_start(ap, fmt);
	vsnprintf(err->msg + used + 2, sizeof(err->msg) - used - 2, fmt, ap);
	va_end(ap);
}

/* How to set the external account binding (the key without putting it on
 * the command line). */
#define EAB_HOW "set them to the key ID and HMAC key the CA gave with cpcmd scope:set cp.config " \
	"letsencrypt eab_kid KID and cpcmd scope:set cp.config letsencrypt eab_hmac_key - <FILE " \
	"(the key from standard input, or @FILE; never on the command line)"

#define EAB_NOT_B64 "[letsencrypt] eab_hmac_key is not base64url (the HMAC key as the CA gave " \
	"it): set it again with cpcmd scope:set cp.config letsencrypt eab_hmac_key - <FILE"

/* The external account binding configured for the CA in EAB, its key
 * decoded into *KEY (*USE false when none is configured); a CA that
 * requires one and gets none, half a binding, or a key that is not
 * base64url is an error. */
static int account_eab(cps_session *s, cps_acme_eab *eab, unsigned char **key, bool *use,
		       cps_err *err)
{
	const cps_ca_settings *ca = &s->set->ca;
	char text[1024];
	size_t n;

	*use = false;
	*key = NULL;
	if (*ca->eab_kid == '\0' && *ca->eab_hmac_key == '\0') {
		if (cps_acme_meta_get(s->acme)->eab_required)
			return cps_fail(err, CPS_E_CONFIG,
					"the CA %s registers ACME accounts only with an external account "
					"binding (RFC 8555, section 7.3.4), and [letsencrypt] eab_kid and "
					"eab_hmac_key are not set: %s", s->dir_url, EAB_HOW);
		return 0;
	}
	if (*ca->eab_kid == '\0' || *ca->eab_hmac_key == '\0')
		return cps_fail(err, CPS_E_CONFIG,
				"[letsencrypt] %s is set but %s is not; an external account binding "
				"needs both: %s", *ca->eab_kid ? "eab_kid" : "eab_hmac_key",
				*ca->eab_kid ? "eab_hmac_key" : "eab_kid", EAB_HOW);
	/* as the CA gave it: base64url, with or without padding */
	n = strcspn(ca->eab_hmac_key, "=");
	if (n >= sizeof(text) || ca->eab_hmac_key[n + strspn(ca->eab_hmac_key + n, "=")] != '\0')
		return cps_fail(err, CPS_E_CONFIG, EAB_NOT_B64);
	memcpy(text, ca->eab_hmac_key, n);
	text[n] = '\0';
	if (cps_b64url_decode(text, key, &eab->len, NULL) != 0 || eab->len == 0) {
		explicit_bzero(text, sizeof(text));
		free(*key);
		*key = NULL;
		return cps_fail(err, CPS_E_CONFIG, EAB_NOT_B64);
	}
	explicit_bzero(text, sizeof(text));
	eab->kid = ca->eab_kid;
	eab->key = *key;
	*use = true;
	return 0;
}

/* Register the session's key, with the external account binding when one
 * is configured; the CA refusing the binding is explained. */
static int account_register(cps_session *s, const char *email, char **kid, cps_err *err)
{
	cps_acme_eab eab = { 0 };
	unsigned char *key = NULL;
	bool use;
	int rc;

	if (cps_acme_load_directory(s->acme, err) != 0 ||
	    account_eab(s, &eab, &key, &use, err) != 0)
		return -1;
	rc = cps_acme_account_create(s->acme, email, use ? &eab : NULL, kid, err);
	if (key) {
		explicit_bzero(key, eab.len);
		free(key);
	}
	if (rc != 0 && err && strcmp(err->problem, "externalAccountRequired") == 0 && !use)
		explain(err, "the CA registers ACME accounts only with an external account binding, "
			"and [letsencrypt] eab_kid and eab_hmac_key are not set: " EAB_HOW);
	else if (rc != 0 && err && use && *err->problem && err->input)
		explain(err, "the CA did not accept the external account binding: check that "
			"[letsencrypt] eab_kid ('%s') and eab_hmac_key are the key ID and HMAC key the "
			"CA gave for this account (set the key again with cpcmd scope:set cp.config "
			"letsencrypt eab_hmac_key - <FILE)", s->set->ca.eab_kid);
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
		if (account_register(s, email, &kid, err) != 0)
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

/* "a, b and c" of the CA's profiles. */
static void profile_list(const cps_acme_meta *m, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < m->nprofiles && used < len; i++) {
		snprintf(out + used, len - used, "%s%s", i == 0 ? "" : i + 1 == m->nprofiles ? " and " : ", ",
			 m->profiles[i]);
		used = strlen(out);
	}
}

int cps_session_profile(cps_session *s, const char **profile, cps_err *err)
{
	const char *want = s->set->ca.profile;
	bool own = s->set->src[CPS_CFG_LE_PROFILE] == CPS_SRC_SITE;
	long id = s->set->site_id;
	char offered[600], whose[64];

	*profile = NULL;
	if (*want == '\0')
		return 0;
	if (cps_acme_load_directory(s->acme, err) != 0)
		return -1;
	if (cps_acme_offers_profile(s->acme, want)) {
		*profile = want;
		return 0;
	}
	if (own)
		snprintf(whose, sizeof(whose), "site%ld's own value", id);
	else
		snprintf(whose, sizeof(whose), "config.ini");
	profile_list(cps_acme_meta_get(s->acme), offered, sizeof(offered));
	if (*offered == '\0' && own)
		return cps_fail(err, CPS_E_CONFIG,
				"the CA %s offers no certificate profiles, and [letsencrypt] profile is "
				"'%s' (%s): order the CA's default with cpcmd -d site%ld site:set-setting "
				"letsencrypt.profile \"''\"", s->dir_url, want, whose, id);
	if (*offered == '\0')
		return cps_fail(err, CPS_E_CONFIG,
				"the CA %s offers no certificate profiles, and [letsencrypt] profile is "
				"'%s' (%s): order the CA's default with cpcmd scope:set cp.config "
				"letsencrypt profile \"''\"", s->dir_url, want, whose);
	if (own)
		return cps_fail(err, CPS_E_CONFIG,
				"the CA %s does not offer the certificate profile '%s' ([letsencrypt] "
				"profile, %s); it offers %s: choose one with cpcmd -d site%ld "
				"site:set-setting letsencrypt.profile NAME (null: config.ini's)",
				s->dir_url, want, whose, offered, id);
	return cps_fail(err, CPS_E_CONFIG,
			"the CA %s does not offer the certificate profile '%s' ([letsencrypt] profile, "
			"%s); it offers %s: choose one with cpcmd scope:set cp.config letsencrypt "
			"profile NAME (\"''\": the CA's default)", s->dir_url, want, whose, offered);
}
