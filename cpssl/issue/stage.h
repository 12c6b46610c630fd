/* Staged issuance: letsencrypt:challenges creates an order and hands the
 * operator every challenge the CA offered, raw; letsencrypt:solve answers
 * them once the operator has published the responses; a later request for
 * the same names finishes that very order. */
#ifndef CPSSL_ISSUE_STAGE_H
#define CPSSL_ISSUE_STAGE_H

#include "cpssl/acme/order.h"
#include "cpssl/issue/names.h"
#include "cpssl/issue/session.h"

/* One challenge as the CA offered it, with what to publish for it. */
typedef struct cps_staged_challenge {
	char *domain;          /* the name without a wildcard label */
	cps_acme_status status;
	char *type, *url, *token;
	char *payload;         /* the key authorization */
	char *record, *value;  /* dns-01: the TXT record and its value; else NULL */
} cps_staged_challenge;

typedef struct cps_staged {
	char *name;            /* the authorization's name ("*.d" for a wildcard) */
	cps_staged_challenge *ch;
	size_t nch;
} cps_staged;

/* Order NAMES (already planned) for SITE_ID and record the order and all
 * its challenges; *out gets one entry per authorization. */
int cps_stage(cps_session *s, long site_id, const cps_name_plan *plan,
	      size_t n, cps_staged **out, size_t *nout, cps_err *err);
void cps_staged_free(cps_staged *v, size_t n);

/* The CA's verdict on one staged name. */
typedef struct cps_solved {
	char *name;
	const char *status;    /* the authorization's status, or "missing" */
	char *detail;          /* the CA's detail, or NULL */
} cps_solved;

/* Answer the staged challenge of MECHS[i] for NAMES[i] and wait for the
 * CA's verdict; *out gets one entry per name (also on failure). The return
 * is -1 when any name is not valid (err names them). */
int cps_solve(cps_session *s, long site_id, const char *const *names,
	      const cps_mech *mechs, size_t n, cps_solved **out, cps_err *err);
void cps_solved_free(cps_solved *v, size_t n);

#endif
