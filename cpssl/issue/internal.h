/* One issuance in progress, shared by the files that carry it out:
 * issue.c (the order loop), challenges.c (authorizations, publishing the
 * responses and removing them), limits.c (rate limits and the issuance log)
 * and resume.c (orders and deployments an interrupted run left). */
#ifndef CPSSL_ISSUE_INTERNAL_H
#define CPSSL_ISSUE_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpssl/acme/order.h"
#include "cpssl/dns/provider.h"
#include "cpssl/issue/issue.h"

/* A challenge this run answers. */
typedef struct pending {
	char *name, *ch_url, *tag, *record, *value, *keyauth;
	cps_mech mech;
	bool published;
} pending;

typedef struct run {
	cps_session *s;
	const cps_issue_req *req;
	const char **names;
	char *name_set;
	cps_acme_order order;
	const char *profile;    /* the profile ordered (checked), or NULL */
	long long order_id;     /* the order's row in the store */
	bool authorized;        /* the authorizations were answered or recalled */
	bool finalized;         /* the CSR was sent */
	bool retried;           /* the other mechanism was tried */
	pending *p;
	size_t np;
	cps_dns_provider *dns;
	EVP_PKEY *key;          /* the certificate's key */
} run;

/* challenges.c */
cps_name_plan *cps_run_plan_of(const run *r, const char *name);
/* The subject's DNS provider, made once for the run. */
int cps_run_dns(run *r, cps_err *err);
/* Every dns-01 record name once, through the provider, before ordering. */
int cps_run_probe_dns(run *r, cps_err *err);
/* Fetch the authorizations, choose a challenge per name, record them. */
int cps_run_prepare(run *r, cps_err *err);
/* Publish every response (recorded first), then wait for DNS. */
int cps_run_publish(run *r, cps_err *err);
/* Remove every published response; failures are warnings. */
void cps_run_unpublish(run *r);
/* After an invalid order: switch the names whose plan allows it to the
 * other mechanism (*retry set), or fail naming each failed name with the
 * CA's detail. */
int cps_run_failed_names(run *r, bool may_retry, bool *retry, cps_err *err);
void cps_run_pending_free(run *r);

/* limits.c */
int cps_run_check_limits(run *r, cps_err *err);
int cps_run_log_issuance(run *r, const char *serial, cps_err *err);

/* resume.c */
/* Whether what the CA sent names exactly the requested hostnames. */
bool cps_run_same_names(const cps_cert_info *info, const cps_issue_req *req);
/* A certificate an interrupted run stored but did not deploy is deployed;
 * 1 when it is the answer to this request (nothing to order). */
int cps_run_resume_deployment(run *r, cps_issue_result *res, cps_err *err);
/* Continue a recorded order for the same names, or place a new one. */
int cps_run_open_order(run *r, cps_err *err);
/* The order's key, kept 0600 from finalize until the certificate is
 * deployed. */
int cps_run_pending_key_save(run *r, cps_err *err);
void cps_run_pending_key_drop(run *r, long long order_id);

#endif
