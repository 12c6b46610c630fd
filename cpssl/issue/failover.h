/* Failover between CAs (like mod_md's MDRetryFailover): [letsencrypt]
 * server, then each of fallback_servers in order. A CA that cannot be
 * reached is passed over at once, one that fails failover_after times in a
 * row (its errors, rate limits, timeouts, broken answers) then; a site's
 * own failures (validation, CAA, names, input) never count. A passed-over
 * CA is tried again after failover_retry_hours; a success clears its
 * count. Each request uses the first CA not passed over, and moves on to
 * the next within the same request (each CA at most once) when the one in
 * use is passed over by its failure. */
#ifndef CPSSL_ISSUE_FAILOVER_H
#define CPSSL_ISSUE_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/issue/session.h"

#define CPS_FAILOVER_MAX 16 /* CAs considered: the primary and 15 fallbacks */

/* The configured CAs in order, without repeats; returns how many. */
size_t cps_failover_cas(const cps_settings *set, const char **out);

/* Whether URL is one of them. */
bool cps_failover_configured(const cps_settings *set, const char *url);

/* The CA to use at NOW: the first not passed over (the primary when all
 * are). */
int cps_failover_pick(cps_store *st, const cps_settings *set, long long now, const char **url,
		      cps_err *err);

/* The state shown by letsencrypt:status: the CA in use, and when it is not
 * the primary, the first passed-over CA before it and until when. */
typedef struct cps_failover_view {
	const char *in_use;
	const char *failed_over_from; /* NULL: the primary is in use */
	long long until;
	long failures;                /* the primary's consecutive failures */
	char last_error[512];         /* the primary's last failure, "" */
} cps_failover_view;
int cps_failover_view_get(cps_store *st, const cps_settings *set, long long now,
			  cps_failover_view *v, cps_err *err);

/* Move the session S to the CA to use (cps_failover_pick). */
int cps_failover_choose(cps_session *s, cps_err *err);

/* Move the session S to the CA to use and read its directory; a CA that
 * cannot be reached (or is passed over by its failure) gives way to the
 * next at once, each at most once. */
int cps_failover_reach(cps_session *s, cps_err *err);

/* After an attempt that failed with ERR: record it against the session's
 * CA; when the CA is passed over by it and another not yet tried in this
 * request (*TRIED: a bit per CA, the current one's set here) can be used,
 * move the session there with a WARNING naming both, and return true. */
bool cps_failover_after_failure(cps_session *s, const cps_err *err, unsigned *tried);

/* After a success at the session's CA. */
void cps_failover_succeeded(cps_session *s);

/* Ask each configured CA not passed over about the renewal information of
 * its own certificates (cps_ari_refresh). The session ends at the CA in
 * use. */
void cps_failover_ari_refresh(cps_session *s, long long now);

#endif
