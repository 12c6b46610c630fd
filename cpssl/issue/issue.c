/* One issuance: the checks made before anything is ordered, then the order
 * loop, a switch on the order's status until its certificate is deployed:
 *
 *   (a recorded order for the same names, or newOrder)
 *        |
 *     pending --authorize: publish, answer, wait, remove--> ready
 *        |                                                    |
 *        +--> invalid: the names that allow it switch      finalize (CSR;
 *             mechanism, once, in a new order              a taken-up order
 *                                                          first says how its
 *                                                          names were resolved)
 *                                                             |
 *                                                        processing: wait
 *                                                             |
 *                                                        valid: download,
 *                                                        check, deploy
 *
 * Any other status (or invalid after the CSR) ends the order with the CA's
 * reason; a bounded number of steps ends a CA that never finishes. */
#include "cpssl/issue/issue.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/log.h"
#include "cpssl/core/sitelock.h"
#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/issue/ari.h"
#include "cpssl/issue/drive.h"
#include "cpssl/issue/failover.h"
#include "cpssl/issue/internal.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/ssl_state.h"


static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *cps_name_set(const char *const *names, size_t n)
{
	const char **v = malloc((n ? n : 1) * sizeof(*v));
	size_t len = 1;
	char *out;

	if (v == NULL)
		return NULL;
	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), by_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; out && i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, v[i]);
	}
	free(v);
	return out;
}

/* ---- the steps of the loop ------------------------------------------------ */

typedef struct step_ctx {
	run *r;
	cps_issue_result *res;
} step_ctx;

/* pending: answer every authorization and wait for the CA's verdict. */
static int authorize(void *ctx, cps_err *err)
{
	run *r = ((step_ctx *)ctx)->r;

	if (cps_run_prepare(r, err) != 0 || cps_run_publish(r, err) != 0)
		return -1;
	CPS_FAULT("issue-after-publish");
	for (size_t i = 0; i < r->np; i++)
		if (cps_acme_challenge_respond(r->s->acme, r->p[i].ch_url, err) != 0)
			return -1;
	if (cps_acme_order_poll(r->s->acme, &r->order, CPS_ACME_IN(CPS_ACME_PENDING),
				cps_monotonic_ms() + CPS_VALIDATION_TIMEOUT_MS, err) != 0)
		return -1;
	cps_run_unpublish(r);
	if (r->order.status == CPS_ACME_READY || r->order.status == CPS_ACME_VALID)
		for (size_t i = 0; i < r->np; i++)
			cps_debug("SUCCESS! SSL challenge response: %s (%s) - VALID", r->p[i].name,
				  cps_mech_name(r->p[i].mech));
	r->authorized = true;
	return 0;
}

/* ready when taken up (a staged order, say): say how each name was
 * resolved before it is finalized. */
static int recall(void *ctx, cps_err *err)
{
	run *r = ((step_ctx *)ctx)->r;

	if (cps_run_prepare(r, err) != 0)
		return -1;
	r->authorized = true;
	return 0;
}

/* invalid before finalize: the failed names, and once, a new order with the
 * other mechanism for those whose plan allows it (a failed authorization is
 * final). */
static int after_invalid(void *ctx, cps_err *err)
{
	run *r = ((step_ctx *)ctx)->r;
	bool retry = false;
	int rc = cps_run_failed_names(r, !r->retried, &retry, err);

	cps_order_set_status(r->s->st, r->order_id, "invalid", NULL);
	if (rc != 0 || !retry)
		return -1;
	r->retried = true;
	cps_run_pending_free(r);
	cps_acme_order_free(&r->order);
	r->order_id = 0;
	for (size_t i = 0; i < r->req->n; i++)
		if (r->req->plan[i].mech == CPS_MECH_DNS && cps_run_dns(r, err) != 0)
			return -1;
	return cps_run_open_order(r, err);
}

/* ready: the CSR of the new key, its key kept until the certificate is
 * deployed. */
static int finalize(void *ctx, cps_err *err)
{
	run *r = ((step_ctx *)ctx)->r;
	unsigned char *csr = NULL;
	size_t len = 0;
	int rc = -1;

	if (cps_run_pending_key_save(r, err) == 0 &&
	    cps_csr_create(r->key, r->names, r->req->n, &csr, &len, err) == 0 &&
	    cps_acme_order_finalize(r->s->acme, &r->order, csr, len, err) == 0)
		rc = 0;
	OPENSSL_free(csr);
	if (rc == 0) {
		r->finalized = true;
		CPS_FAULT("issue-after-finalize");
	}
	return rc;
}

/* Check what the CA sent, then deploy it everywhere it is served. */
static int keep(run *r, const char *pem, cps_issue_result *res, cps_err *err)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info;
	int rc = -1;

	if (cps_cert_parse_pem(pem, strlen(pem), &leaf, &chain, err) != 0 ||
	    cps_cert_info_get(leaf, &info, err) != 0)
		goto out;
	if (!cps_run_same_names(&info, r->req)) {
		cps_cert_info_free(&info);
		cps_fail(err, CPS_E_PROTO, "the CA's certificate does not name exactly the requested hostnames");
		goto out;
	}
	cps_cert_info_free(&info);
	/* the profile the CA says it issued under, else the one asked for */
	rc = cps_deploy(r->s->st, r->s->set, r->s->paths,
			&(cps_deploy_req){ r->req->site_id, r->req->site_name, r->s->dir_url,
					   leaf, chain, r->key,
					   r->order.profile ? r->order.profile : r->profile },
			&res->info, &res->dir, err);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* valid: download, check, deploy, and record the issuance. */
static int download(void *ctx, cps_err *err)
{
	run *r = ((step_ctx *)ctx)->r;
	cps_issue_result *res = ((step_ctx *)ctx)->res;
	cps_session *s = r->s;
	char *pem = NULL;
	int rc = -1;

	if (r->order.certificate == NULL)
		return cps_fail(err, CPS_E_CA, "the order for %s ended valid: %s", r->name_set,
				"the CA gave no certificate URL");
	if (cps_acme_certificate_get(s->acme, r->order.certificate, s->set->ca.preferred_chain,
				     &pem, err) != 0)
		return -1;
	CPS_FAULT("issue-after-download");
	if (keep(r, pem, res, err) == 0 &&
	    cps_order_set_status(s->st, r->order_id, "done", err) == 0 &&
	    cps_run_log_issuance(r, res->info.serial, err) == 0 &&
	    cps_ssl_status_succeeded(s->st, r->req->site_id, (long long)cps_now(), err) == 0) {
		cps_run_pending_key_drop(r, r->order_id);
		rc = 0;
	}
	free(pem);
	return rc;
}

/* The loop: one step per status until the certificate is deployed (0) or
 * the order cannot go on (-1). */
static int drive(run *r, cps_issue_result *res, cps_err *err)
{
	static const cps_drive_steps steps = { authorize, recall, finalize, download,
					       after_invalid };
	step_ctx ctx = { r, res };

	if (cps_run_open_order(r, err) != 0)
		return -1;
	return cps_drive_order(&(cps_drive){ r->s->acme, &r->order, r->name_set, &r->authorized,
					     &r->finalized },
			       &steps, &ctx, err);
}

/* ---- one issuance ---------------------------------------------------------- */

static void run_free(run *r)
{
	cps_run_pending_free(r);
	cps_acme_order_free(&r->order);
	cps_dns_provider_free(r->dns);
	free(r->name_set);
	free(r->names);
	EVP_PKEY_free(r->key);
}

/* Everything that can be checked locally is checked before ordering. */
static int before_ordering(run *r, cps_err *err)
{
	bool any_dns = false;

	for (size_t i = 0; i < r->req->n; i++)
		any_dns = any_dns || r->req->plan[i].mech == CPS_MECH_DNS;
	if (any_dns && (cps_run_dns(r, err) != 0 || cps_run_probe_dns(r, err) != 0))
		return cps_err_prefix(err, "dns-01 validation is needed for %s", r->name_set);
	if (cps_run_check_limits(r, err) != 0)
		return -1;
	if (cps_session_profile(r->s, &r->profile, err) != 0 ||
	    cps_session_account(r->s, err) != 0)
		return cps_err_prefix(err, "cannot order a certificate for %s", r->name_set);
	if (cps_key_generate(r->s->set->key_type, &r->key, err) != 0)
		return -1;
	CPS_FAULT("issue-after-keygen");
	return 0;
}

/* After a failure: nothing stays published; the order is given up unless it
 * was finalized and only this side failed (disk, network), in which case it
 * stays open, its key kept, and the next run fetches its certificate instead
 * of ordering another; the failure is recorded for the backoff. */
static void failed(run *r, cps_issue_result *res, const cps_err *err)
{
	cps_session *s = r->s;
	bool finalized = r->order.status == CPS_ACME_VALID || r->order.status == CPS_ACME_PROCESSING;
	cps_err e;

	cps_run_unpublish(r);
	if (r->order_id && !(finalized && cps_err_transient(err))) {
		cps_order_set_status(s->st, r->order_id, "invalid", &e);
		cps_run_pending_key_drop(r, r->order_id);
	}
	cps_ssl_status_failed(s->st, r->req->site_id,
			      *err->problem ? err->problem : cps_code_name(err->code), err->msg,
			      (long long)cps_now(), err->input, arc4random_uniform(1000) / 1000.0,
			      err->retry_at, &e);
	cps_issue_result_free(res);
}

/* One attempt at the session's CA, under the site's lock; *MOVABLE tells
 * whether the request may go on at another CA after a failure (nothing
 * was finalized here that a later run would fetch). */
static int attempt(cps_session *s, const cps_issue_req *req, cps_issue_result *res,
		   bool *movable, cps_err *err)
{
	run r = { .s = s, .req = req };
	long long t0 = cps_monotonic_ms();
	unsigned req0 = cps_acme_stats_get(s->acme)->requests;
	unsigned bad0 = cps_acme_stats_get(s->acme)->bad_nonces;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	r.names = calloc(req->n, sizeof(*r.names));
	for (size_t i = 0; r.names && i < req->n; i++)
		r.names[i] = req->plan[i].name;
	r.name_set = r.names ? cps_name_set(r.names, req->n) : NULL;
	if (r.names == NULL || r.name_set == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	switch (cps_run_resume_deployment(&r, res, err)) {
	case -1:
		goto out;
	case 1:
		rc = 0;
		goto out;
	}
	if (before_ordering(&r, err) != 0 || drive(&r, res, err) != 0)
		goto out;
	res->requests = cps_acme_stats_get(s->acme)->requests - req0;
	res->bad_nonces = cps_acme_stats_get(s->acme)->bad_nonces - bad0;
	res->elapsed_ms = cps_monotonic_ms() - t0;
	/* the new certificate's window, at once (not counted above: the
	 * issuance itself is done) */
	cps_ari_after_issue(s, req->site_id);
	rc = 0;
out:
	*movable = !r.finalized;
	if (rc != 0)
		failed(&r, res, err);
	run_free(&r);
	return rc;
}

int cps_issue(cps_session *s, const cps_issue_req *req, cps_issue_result *res,
	      cps_err *err)
{
	unsigned tried = 0;
	bool movable = true;
	cps_err e;
	int rc;

	memset(res, 0, sizeof(*res));
	if (req->n == 0)
		return cps_fail(err, CPS_E_INVAL, "no hostnames to register");
	/* one order per site at a time, across processes */
	if (cps_site_lock(s->paths, req->site_name, err) != 0)
		return -1;
	/* the CA the failover rule picks; at most each CA once */
	if ((rc = cps_failover_choose(s, err)) == 0) {
		if (cps_issue_cleanup(s, req->site_id, &e) != 0)
			cps_warn("%s", e.msg);
		while ((rc = attempt(s, req, res, &movable, err)) != 0 && movable &&
		       cps_failover_after_failure(s, err, &tried))
			;
		if (rc == 0)
			cps_failover_succeeded(s);
	}
	cps_site_unlock(req->site_name);
	return rc;
}

void cps_issue_result_free(cps_issue_result *res)
{
	cps_cert_info_free(&res->info);
	free(res->dir);
	memset(res, 0, sizeof(*res));
}
