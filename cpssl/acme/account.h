/* ACME accounts (RFC 8555 §7.3): lookup by key, registration, the account
 * object (§7.3.2), contact, key change (§7.3.5) and deactivation (§7.3.6). */
#ifndef CPSSL_ACME_ACCOUNT_H
#define CPSSL_ACME_ACCOUNT_H

#include "cpssl/acme/client.h"

/* The account URL of the session's key (onlyReturnExisting), or *kid NULL
 * when the CA knows no account for it. */
int cps_acme_account_lookup(cps_acme *c, char **kid, cps_err *err);

/* An external account binding (RFC 8555 §7.3.4): the key identifier and
 * the MAC key (decoded) the CA gave. */
typedef struct cps_acme_eab {
	const char *kid;
	const unsigned char *key;
	size_t len;
} cps_acme_eab;

/* Register the session's key with contact mailto:EMAIL, agreeing to the
 * terms of service, bound to the external account EAB when not NULL; an
 * existing account for the key is returned as is. */
int cps_acme_account_create(cps_acme *c, const char *email, const cps_acme_eab *eab,
			    char **kid, cps_err *err);

/* Replace the account's contact with mailto:EMAIL. */
int cps_acme_account_set_contact(cps_acme *c, const char *email, cps_err *err);

/* An account's status as the CA states it (§7.1.2), parsed once. */
typedef enum cps_acme_account_status {
	CPS_ACME_ACCOUNT_VALID,
	CPS_ACME_ACCOUNT_DEACTIVATED, /* by its holder */
	CPS_ACME_ACCOUNT_REVOKED,     /* by the CA */
} cps_acme_account_status;

const char *cps_acme_account_status_name(cps_acme_account_status status);

#define CPS_ACME_MAX_CONTACTS 16

/* The account object: its status and contact URLs (text made safe to print). */
typedef struct cps_acme_account {
	cps_acme_account_status status;
	char *contact[CPS_ACME_MAX_CONTACTS];
	size_t ncontact;
} cps_acme_account;

void cps_acme_account_free(cps_acme_account *a);

/* The account object of the session's account (POST-as-GET to its URL). A
 * deactivated account is refused by the CA with an "unauthorized" problem
 * (§7.3.6): err->problem says so. */
int cps_acme_account_fetch(cps_acme *c, cps_acme_account *out, cps_err *err);

/* Deactivate the session's account (§7.3.6); OUT is the CA's answer, whose
 * status is deactivated. */
int cps_acme_account_deactivate(cps_acme *c, cps_acme_account *out, cps_err *err);

/* Move the session's account to NEW_KEY (§7.3.5): the inner JWS signed by
 * NEW_KEY, the outer by the current key with the account URL. When the CA
 * confirms, the session signs with NEW_KEY (borrowed, as cps_acme_use_key). */
int cps_acme_key_change(cps_acme *c, EVP_PKEY *new_key, cps_err *err);

#endif
