/* Staged issuance: letsencrypt:challenges creates an order and hands the
 * operator every challenge the CA offered, raw; letsencrypt:solve answers
 * them once the operator has published the responses; a later request for
 * the same names finishes that very order. */
#ifndef CPSSL_ISSUE_STAGE_H
#define CPSSL_ISSUE_STAGE_H

#include <json-c/json.h>

#include "cpssl/issue/names.h"
#include "cpssl/issue/session.h"

/* Order NAMES (already planned) for SITE_ID and record the order and all
 * its challenges. *out: name → list of {domain, status, type, url, token,
 * payload} (plus record and value for dns-01) as the CA sent them. */
int cps_stage(cps_session *s, long site_id, const cps_name_plan *plan,
	      size_t n, json_object **out, cps_err *err);

/* Answer the staged challenge of MECHS[i] for NAMES[i] and wait for the
 * CA's verdict. *out: name → {status, detail}; the return is -1 when any
 * name is not valid (err names them). */
int cps_solve(cps_session *s, long site_id, const char *const *names,
	      const cps_mech *mechs, size_t n, json_object **out, cps_err *err);

#endif
