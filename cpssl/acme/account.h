/* ACME accounts (RFC 8555 §7.3): lookup by key, registration, contact. */
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

#endif
