/* ACME Renewal Information (RFC 9773) for the certificates cpssl keeps.
 *
 * Before it decides what is due, the housekeeping pass asks the CA for the
 * suggested renewal window of each current certificate whose time to ask
 * has come — at most CPS_ARI_PER_PASS a pass, within a time budget, each
 * claimed in the store first so that two passes never ask twice — and
 * then waits for the CA's Retry-After (a minute to a day; six hours
 * without one) before asking about it again: a pass over 10,000
 * certificates asks only about those whose time has come. Inside a new
 * window a time is chosen uniformly, once per window; the certificate is
 * due from that time (store/certs.h), even when it is in the past — a CA
 * that moves a window forward (a mass revocation) gets its renewal at the
 * next pass. An issuance asks at once about its new certificate, and an
 * order names the certificate it replaces.
 *
 * Nothing here fails a pass or an issuance: a CA without renewalInfo is
 * never asked (the configured window applies), and one that does not
 * answer is asked again later (DEBUG per certificate, one WARNING a pass),
 * its last suggested window, or the configured one, applying meanwhile. */
#ifndef CPSSL_ISSUE_ARI_H
#define CPSSL_ISSUE_ARI_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/issue/session.h"

#define CPS_ARI_PER_PASS 1000

/* What a pass did. */
typedef struct cps_ari_pass {
	bool offered;      /* ARI is on and the CA offers renewalInfo */
	size_t asked;      /* requests sent to renewalInfo */
	size_t failed;     /* of which failed (asked again later) */
	size_t changed;    /* certificates whose window the CA moved */
	long waiting;      /* still to be asked, left for the next pass */
} cps_ari_pass;

/* The pass's asking, with the server's session S, at NOW. */
void cps_ari_refresh(cps_session *s, long long now, cps_ari_pass *out);

/* Ask at once about SITE_ID's new current certificate (RFC 9773 §4.3.1). */
void cps_ari_after_issue(cps_session *s, long site_id);

/* The CertID of SITE_ID's current certificate when an order for NAMES
 * replaces it (RFC 9773 §5): ARI on, the CA offers it, the certificate came
 * from this CA and shares a name with the order. NULL otherwise. Caller
 * frees. */
char *cps_ari_replaces(cps_session *s, long site_id, const char *const *names,
		       size_t n);

/* The time to renew inside the window [START, END): PREV_RENEW_AT when
 * the window is the one it was chosen in (PREV_START, PREV_END), else a
 * uniformly random time inside it. */
long long cps_ari_choose(long long start, long long end, long long prev_start,
			 long long prev_end, long long prev_renew_at);

/* When to ask again after an answer with RETRY_AFTER seconds (-1: none):
 * bounded to a minute .. a day, six hours without one. */
long cps_ari_recheck_s(long retry_after);

#endif
