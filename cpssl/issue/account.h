/* The ACME account's life (RFC 8555 §7.3): what the CA has for it, its key
 * rolled over, its contact, its deactivation. Each step runs under the lock
 * of the CA's account directory (cps_session_account_lock), whose files say
 * how far an interrupted step got:
 *
 *   account.key               the key the account uses
 *   account.key.next          a new key sent to the CA (keyChange) before its
 *                             answer was in: the next step asks the CA which
 *                             key it knows, then keeps that one
 *   account.key.deactivating  the key of an account whose deactivation was
 *                             sent: the next step asks the CA whether the
 *                             account is still active
 *   account.key.deactivated-YYYYMMDDTHHMMSSZ
 *                             the key of a deactivated account, kept
 *
 * Every key is 0600 from the moment it exists; every switch is one rename,
 * followed by an fsync of the directory. */
#ifndef CPSSL_ISSUE_ACCOUNT_H
#define CPSSL_ISSUE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/acme/account.h"
#include "cpssl/issue/session.h"

#define CPS_ACCOUNT_KEY_NEXT CPS_ACCOUNT_KEY ".next"
#define CPS_ACCOUNT_KEY_DEACTIVATING CPS_ACCOUNT_KEY ".deactivating"
#define CPS_ACCOUNT_KEY_DEACTIVATED CPS_ACCOUNT_KEY ".deactivated-"

/* What is known of an account, parsed once. */
typedef enum cps_account_state {
	CPS_ACCOUNT_NONE,        /* no account here for the CA */
	CPS_ACCOUNT_VALID,
	CPS_ACCOUNT_DEACTIVATED, /* by its holder (the CA refuses it: unauthorized) */
	CPS_ACCOUNT_REVOKED,     /* by the CA */
	CPS_ACCOUNT_MISSING,     /* the CA knows no such account (accountDoesNotExist) */
	CPS_ACCOUNT_ERROR,       /* the CA could not be asked, or did not say: see error */
} cps_account_state;

/* "none", "valid", "deactivated", "revoked", "missing", "error". */
const char *cps_account_state_name(cps_account_state state);

typedef struct cps_account_view {
	char *directory;         /* the CA's directory URL; NULL when only its
				  * storage name is known */
	char *server_dir;        /* the account directory's name */
	bool configured;         /* the CA in use */
	char *url;               /* the account URL, or NULL */
	cps_account_state state;
	cps_acme_account ca;     /* the CA's account object (contacts) */
	char *recorded_contact;  /* the e-mail last sent to the CA */
	long long registered;    /* when this machine recorded the account; 0: never */
	char *key_path;          /* NULL when there is no key */
	char key_type[16];
	char *thumbprint;        /* the key's RFC 7638 JWK thumbprint */
	long long key_created;   /* when the key file was written */
	char **retired;          /* kept keys of deactivated accounts */
	size_t nretired;
	char *error;             /* why the CA's answer is missing */
} cps_account_view;

void cps_account_view_free(cps_account_view *v);
void cps_account_views_free(cps_account_view *v, size_t n);

/* With the lock held: finish or undo what an interrupted rollover or
 * deactivation left, asking the CA which way it went. Nothing to do (the
 * usual case) costs two stat calls. */
int cps_account_recover(cps_session *s, cps_err *err);

/* The session's CA: what is kept here, and what the CA says of the account
 * (POST-as-GET to its URL, or a lookup by key when there is no record).
 * Registers nothing. */
int cps_account_show(cps_session *s, cps_account_view *out, cps_err *err);

/* The same for every CA with an account record or directory, the session's
 * first. */
int cps_account_show_all(cps_session *s, cps_account_view **out, size_t *n, cps_err *err);

/* Roll the account key over (§7.3.5) to a new key of KEY_TYPE (NULL: the
 * type of the current one). 1 when there is no account (nothing done). */
int cps_account_rollover(cps_session *s, const char *key_type, cps_err *err);

/* Send the administrator's e-mail to the CA as the account's contact now.
 * 1 when there is no account (the registration will carry it). */
int cps_account_update_contact(cps_session *s, cps_err *err);

/* Deactivate the account (§7.3.6) and keep its key aside; *url is the
 * account's URL, *kept where its key is. The next registration makes a new
 * account. 1 when there is none. */
int cps_account_deactivate(cps_session *s, char **url, char **kept, cps_err *err);

#endif
