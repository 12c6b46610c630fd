/* ACME accounts (RFC 8555 §7.3): lookup by key, registration, contact. */
#ifndef CPSSL_ACME_ACCOUNT_H
#define CPSSL_ACME_ACCOUNT_H

#include "cpssl/acme/client.h"

/* The account URL of the session's key (onlyReturnExisting), or *kid NULL
 * when the CA knows no account for it. */
int cps_acme_account_lookup(cps_acme *c, char **kid, cps_err *err);

/* Register the session's key with contact mailto:EMAIL, agreeing to the
 * terms of service; an existing account for the key is returned as is. */
int cps_acme_account_create(cps_acme *c, const char *email, char **kid,
			    cps_err *err);

/* Replace the account's contact with mailto:EMAIL. */
int cps_acme_account_set_contact(cps_acme *c, const char *email, cps_err *err);

#endif
