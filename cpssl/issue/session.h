/* An issuance session: the configured ACME server, its HTTPS transport with
 * the extra trust of [letsencrypt] ca_bundle, and the account — its key kept
 * 0600 under storage/certificates/data/accounts/<server-dir>/, its URL and
 * contact in the store, registered (with the external account binding of
 * [letsencrypt] eab_kid and eab_hmac_key when set, or when the CA requires
 * one) or looked up on first use and its contact updated when the
 * administrator's e-mail changes. */
#ifndef CPSSL_ISSUE_SESSION_H
#define CPSSL_ISSUE_SESSION_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "cpssl/acme/client.h"
#include "cpssl/core/paths.h"
#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

typedef struct cps_session {
	cps_store *st;
	const cps_settings *set; /* of the site (or the server) being served:
				  * the session's own copy, its CA the one in
				  * use (cps_session_use_ca) */
	cps_settings own;        /* that copy (the strings stay the caller's) */
	const cps_settings *given; /* the caller's */
	const char *primary;     /* [letsencrypt] server (or staging_server) */
	const cps_paths *paths;
	const char *dir_url;     /* the ACME directory in use (set->ca.url) */
	const char *server_dir;  /* its storage name (set->ca.dir_name) */
	cps_acme *acme;
	EVP_PKEY *account_key;
	bool account_ready;
} cps_session;

/* No request is sent until one is needed. SET must outlive the session. */
int cps_session_open(cps_store *st, const cps_settings *set,
		     const cps_paths *paths, cps_session **out, cps_err *err);

/* Move the session to the CA at URL (the primary or one of [letsencrypt]
 * fallback_servers): its own client, account and storage directory; the
 * external account binding is sent to the primary only. */
int cps_session_use_ca(cps_session *s, const char *url, cps_err *err);
void cps_session_free(cps_session *s);

/* Make sure the account exists and matches the administrator's e-mail,
 * first finishing what an interrupted key rollover or deactivation left
 * (cps_account_recover). */
int cps_session_account(cps_session *s, cps_err *err);

/* The account key's name in the CA's account directory. */
#define CPS_ACCOUNT_KEY "account.key"

/* storage/certificates/data/accounts/<server-dir>/NAME, or the directory
 * itself for NAME NULL (caller frees). */
char *cps_session_account_file(const cps_session *s, const char *name);

/* The lock on the CA's account directory (made 0700 when missing): every
 * change of the account's key or record happens under it. *fd holds it
 * until closed. */
int cps_session_account_lock(cps_session *s, int *fd, cps_err *err);

/* cps_session_account, with that lock held by the caller. */
int cps_session_account_locked(cps_session *s, cps_err *err);

/* The CA no longer knows the account (e.g. a reset test CA, a wiped
 * staging database): forget it and register the key again. */
int cps_session_account_lost(cps_session *s, cps_err *err);

/* The profile to order with (draft-ietf-acme-profiles): [letsencrypt]
 * profile of the session's subject when the CA's directory offers it, NULL
 * when none is set; a profile the CA does not offer (or a CA that offers
 * none) is an error naming what it offers and the setting to change. */
int cps_session_profile(cps_session *s, const char **profile, cps_err *err);

/* storage/certificates/data/REL (caller frees). */
char *cps_session_data_path(const cps_session *s, const char *rel);

#endif
