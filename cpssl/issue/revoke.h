/* Revocation of a site's current certificate with the account key. */
#ifndef CPSSL_ISSUE_REVOKE_H
#define CPSSL_ISSUE_REVOKE_H

#include "cpssl/issue/session.h"

#define CPS_REVOKE_KEY_COMPROMISE 1

/* RFC 5280 reason codes by name ("unspecified", "keyCompromise",
 * "superseded", …) or number; -1 when unknown. */
int cps_revoke_reason(const char *name);

/* Revoke the current certificate of SITE_ID (0: the server) issued by the
 * session's CA, and record when. *serial gets its serial (caller frees). */
int cps_revoke_current(cps_session *s, long site_id, const char *site_name,
		       int reason, char **serial, cps_err *err);

#endif
