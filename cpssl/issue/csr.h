/* Issuance for a client's certificate request (cpssl-acmems): the client
 * keeps its key; the names are the request's (cps_csr_read, checked by the
 * caller against what the client may have); the order runs through the
 * same loop as a site's (issue/drive.h) with the session's CA and account,
 * answering http-01 through the caller's publisher (or files under the
 * session's http-01 root) or dns-01 through an RFC 2136 / hook provider.
 * Nothing is deployed and no site's state is touched; the answer is the
 * chain PEM, the leaf first. The CA is chosen, and left for the next one
 * on its failures, by the same failover rule as a site's request
 * (issue/failover.h). A session is used by one request at a time. */
#ifndef CPSSL_ISSUE_CSR_H
#define CPSSL_ISSUE_CSR_H

#include "cpssl/crypto/csr.h"
#include "cpssl/issue/names.h"
#include "cpssl/issue/session.h"

/* Serves TOKEN's key authorization at /.well-known/acme-challenge/TOKEN
 * from publish until unpublish. */
typedef struct cps_csr_http {
	int (*publish)(void *arg, const char *token, const char *keyauth, cps_err *err);
	void (*unpublish)(void *arg, const char *token);
	void *arg;
} cps_csr_http;

typedef struct cps_csr_issue {
	const cps_csr_info *csr;
	cps_mech mech;                /* CPS_MECH_HTTP or CPS_MECH_DNS */
	const cps_csr_http *http;     /* NULL: files under set->layout.http01_root */
	const cps_dns_settings *dns;  /* NULL: the session's [dns] */
} cps_csr_issue;

typedef struct cps_csr_result {
	char *chain;                  /* PEM: leaf, then the chain */
	time_t not_after;             /* of the leaf */
	char serial[128];
	unsigned requests;            /* HTTP requests to the CAs */
	const char *ca;               /* the directory URL of the CA that signed */
} cps_csr_result;

int cps_issue_csr(cps_session *s, const cps_csr_issue *req, cps_csr_result *res,
		  cps_err *err);
void cps_csr_result_free(cps_csr_result *res);

#endif
