/* The three ways to ask for a certificate, as ApisCP has them:
 *   request: exactly these names (the set is replaced);
 *   renew:   the current certificate's names again (never strict, so a
 *            lapsed domain cannot block a site's renewal);
 *   append:  the current names and these new ones.
 * Each plans the names (ownership, IP verification, strict mode,
 * alternative form, mechanisms) and issues. */
#ifndef CPSSL_ISSUE_REQUEST_H
#define CPSSL_ISSUE_REQUEST_H

#include "cpssl/issue/issue.h"

#define CPS_REQUEST_NOTHING 1 /* every name was dropped: nothing to do */

typedef struct cps_request_opts {
	bool verify_ip;  /* the command's $verifyip (and'ed with the setting) */
	bool strict;     /* the command's $strict (or'ed with the setting) */
	bool force;      /* past the duplicate limit */
	bool renewal;    /* never strict, whatever the setting */
	size_t keep;     /* append: the first KEEP names are the current ones;
			  * nothing is ordered unless a name beyond them stays */
} cps_request_opts;

/* SITE NULL: the server's own certificate; S is a session with SITE's
 * settings. 0 issued, CPS_REQUEST_NOTHING, or -1 with err set. */
int cps_request(cps_session *s, const cps_site *site, const char *const *names,
		size_t n, const cps_request_opts *o, cps_issue_result *res,
		cps_err *err);
int cps_renew(cps_session *s, const cps_site *site, bool verify_ip,
	      cps_issue_result *res, cps_err *err);
int cps_append(cps_session *s, const cps_site *site, const char *const *names,
	       size_t n, bool verify_ip, cps_issue_result *res, cps_err *err);

/* Take the current certificate out of service (WHY says why, in a
 * WARNING): a new one for the names the site still owns, from the CA the
 * current one came from; a self-signed one when that fails or it came from
 * elsewhere; none at all (undeployed) when no name is left. */
int cps_replace_current(cps_session *s, const cps_site *site, const char *why, cps_err *err);

/* After names left the site: when the current certificate names one (in
 * its subject CN or a subjectAltName) the site no longer owns, replace it
 * as cps_replace_current does. */
int cps_serve_owned_only(cps_session *s, const cps_site *site, cps_err *err);

#endif
