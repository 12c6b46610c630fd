/* One issuance, end to end: clean up what an interrupted run published,
 * check the rate limits, order (or take up a recorded order for the same
 * names that is still pending or ready, such as a staged one), record the
 * order and challenges, publish each response (http-01 file or dns-01 TXT
 * record), wait for DNS to propagate, answer, poll, remove every published
 * response, retry failed names once with the other mechanism where the plan
 * allows, finalize with a fresh key, download, check, store, and record the
 * certificate as the site's current one. Success and failure are recorded
 * for the site's status. */
#ifndef CPSSL_ISSUE_ISSUE_H
#define CPSSL_ISSUE_ISSUE_H

#include <stddef.h>

#include "cpssl/crypto/cert.h"
#include "cpssl/issue/names.h"
#include "cpssl/issue/session.h"

/* Let's Encrypt's weekly limits, checked against the issuance log. */
#define CPS_LIMIT_DUPLICATES 5   /* certificates for the same name set */
#define CPS_LIMIT_PER_DOMAIN 50  /* certificates per registered domain */
#define CPS_LIMIT_WINDOW (7 * 24 * 3600)

typedef struct cps_issue_req {
	long site_id;           /* 0: the server's own certificate */
	const char *site_name;  /* "siteN" or "server": the storage directory */
	cps_name_plan *plan;    /* the names (the first is the CN) and mechanisms */
	size_t n;
	bool force;             /* order even past the duplicate limit */
} cps_issue_req;

typedef struct cps_issue_result {
	cps_cert_info info;     /* of the new certificate */
	char *dir;              /* its storage directory (…/current) */
	unsigned requests;      /* HTTP requests this issuance sent */
	unsigned bad_nonces;    /* of which badNonce answers retried */
	long long elapsed_ms;
} cps_issue_result;

int cps_issue(cps_session *s, const cps_issue_req *req, cps_issue_result *res,
	      cps_err *err);
void cps_issue_result_free(cps_issue_result *res);

/* Remove whatever earlier, interrupted runs left published for SITE_ID
 * (the session's subject). */
int cps_issue_cleanup(cps_session *s, long site_id, cps_err *err);

/* Names joined with ',' in sorted order: the key of a name set. */
char *cps_name_set(const char *const *names, size_t n);

#endif
