/* ACME problem documents (RFC 8555 §6.7, RFC 7807): parsing, and the map to
 * the product's error codes with an "input-related" flag (retrying without a
 * change will not help) — after mod_md's table. */
#ifndef CPSSL_ACME_PROBLEM_H
#define CPSSL_ACME_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

#define CPS_ACME_MAX_SUBPROBLEMS 16

typedef struct cps_acme_subproblem {
	char *type, *detail, *identifier;
} cps_acme_subproblem;

typedef struct cps_acme_problem {
	char *type;   /* full URN, e.g. urn:ietf:params:acme:error:badNonce */
	char *detail;
	long status;
	cps_acme_subproblem sub[CPS_ACME_MAX_SUBPROBLEMS];
	size_t nsub;
} cps_acme_problem;

/* Parse BODY as a problem document; 0 when it is one (a type is present). */
int cps_acme_problem_parse(const char *body, cps_acme_problem *p);
void cps_acme_problem_free(cps_acme_problem *p);

/* The short name after "urn:ietf:params:acme:error:" ("" for other types). */
const char *cps_acme_problem_name(const char *type);

bool cps_acme_problem_is(const cps_acme_problem *p, const char *name);

/* Fill ERR from P: the code and input flag from the table, the short
 * problem type, a message that says what was refused (WHAT) and quotes the
 * CA's detail and subproblems. */
int cps_acme_problem_error(const cps_acme_problem *p, const char *what,
			   cps_err *err);

#endif
