/* Server-wide state kept in the store: the server hostname (net.hostname)
 * and the administrator's e-mail address (ACME account contact). */
#ifndef CPSSL_STORE_SERVER_H
#define CPSSL_STORE_SERVER_H

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

#define CPS_SERVER_HOSTNAME "net.hostname"
#define CPS_SERVER_EMAIL    "admin.email"
/* "true": every later command logs DEBUG lines, as env DEBUG=1 does */
#define CPS_SERVER_DEBUG    "cp.debug"

/* *value is NULL when unset. */
int cps_server_get(cps_store *st, const char *key, char **value, cps_err *err);
int cps_server_set(cps_store *st, const char *key, const char *value,
		   cps_err *err);

/* The names the server's own certificate may carry: net.hostname (or the
 * machine's hostname), then ADDITIONAL ([letsencrypt] additional_certs);
 * free with cps_strv_free. */
int cps_server_names(cps_store *st, const cps_strlist *additional, char ***out,
		     size_t *n, cps_err *err);

#endif
