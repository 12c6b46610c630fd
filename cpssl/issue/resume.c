/* What an interrupted run left is finished rather than done again: a
 * certificate stored but not deployed, an order still pending or ready (a
 * staged one too), an order finalized with its key kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/issue/ari.h"
#include "cpssl/issue/internal.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/ssl_state.h"

bool cps_run_same_names(const cps_cert_info *info, const cps_issue_req *req)
{
	if (info->nsans != req->n)
		return false;
	for (size_t i = 0; i < req->n; i++) {
		bool found = false;

		for (size_t j = 0; j < info->nsans && !found; j++)
			found = strcasecmp(info->sans[j], req->plan[i].name) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* The key of an order about to be finalized, kept 0600 until its
 * certificate is deployed, so a run killed after finalize can still fetch
 * and use that certificate instead of ordering another one. */
static char *pending_key_path(run *r, long long order_id)
{
	char *rel, *out;

	if (asprintf(&rel, "pending/%s/%s/order-%lld.key", r->s->server_dir, r->req->site_name,
		     order_id) < 0)
		return NULL;
	out = cps_session_data_path(r->s, rel);
	free(rel);
	return out;
}

int cps_run_pending_key_save(run *r, cps_err *err)
{
	char *path = pending_key_path(r, r->order_id), dir[4096];
	int rc;

	if (path == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	rc = cps_fs_mkdir_p(dir, 0700, err) == 0 ? cps_key_save(path, r->key, err) : -1;
	free(path);
	return rc;
}

void cps_run_pending_key_drop(run *r, long long order_id)
{
	char *path = pending_key_path(r, order_id);

	if (path)
		cps_fs_unlink(path, NULL);
	free(path);
}

/* A certificate an interrupted run stored but did not finish deploying is
 * deployed first. When it came from this CA for these very names, it is the
 * answer: the run's bookkeeping is finished and nothing is ordered (1). */
int cps_run_resume_deployment(run *r, cps_issue_result *res, cps_err *err)
{
	cps_session *s = r->s;
	cps_cert_row row;
	cps_order_row o;
	bool ours;
	int rc;

	if (cps_cert_undeployed(s->st, r->req->site_id, &row, err) != 0)
		return -1;
	ours = row.id && strcmp(row.server, s->dir_url) == 0;
	cps_cert_row_free(&row);
	rc = cps_deploy_resume(s->st, s->set, s->paths, r->req->site_id, r->req->site_name,
			       &res->info, &res->dir, err);
	if (rc != 1)
		return rc;
	if (!ours || !cps_run_same_names(&res->info, r->req)) {
		cps_issue_result_free(res);
		memset(res, 0, sizeof(*res));
		return 0;
	}
	cps_info("%s: certificate %s for %s was issued by the interrupted run; not ordering another",
		 r->req->site_name, res->info.serial, r->name_set);
	if (cps_order_find(s->st, r->req->site_id, s->dir_url, r->name_set, &o, err) != 0)
		return -1;
	if (o.id) {
		if (cps_order_set_status(s->st, o.id, "done", err) != 0) {
			cps_order_row_free(&o);
			return -1;
		}
		cps_run_pending_key_drop(r, o.id);
	}
	cps_order_row_free(&o);
	if (cps_run_log_issuance(r, res->info.serial, err) != 0 ||
	    cps_ssl_status_succeeded(s->st, r->req->site_id, (long long)cps_now(), err) != 0)
		return -1;
	return 1;
}

/* Whether the recorded order ROW, now in R->order, can be finished: pending
 * or ready (validate it), processing or valid when its key was kept (fetch
 * its certificate with that key). */
static bool can_continue(run *r, const cps_order_row *row)
{
	EVP_PKEY *kept = NULL;
	char *kp = NULL;
	cps_err e;
	bool ok = false;

	/* an order of another profile than the one now configured is not
	 * what this request asks for */
	if (r->profile && r->order.profile && strcmp(r->profile, r->order.profile) != 0) {
		cps_debug("the recorded order %s is for the profile %s, not %s", row->url,
			  r->order.profile, r->profile);
		return false;
	}
	switch (r->order.status) {
	case CPS_ACME_PENDING:
	case CPS_ACME_READY:
		ok = true;
		break;
	case CPS_ACME_PROCESSING:
	case CPS_ACME_VALID:
		if ((kp = pending_key_path(r, row->id)) != NULL && cps_key_load(kp, &kept, &e) == 0) {
			EVP_PKEY_free(r->key);
			r->key = kept;
			r->finalized = true;
			ok = true;
		}
		break;
	default:
		break;
	}
	free(kp);
	return ok;
}

/* Whether the CA refused an order over its "replaces" (RFC 9773 §5: the
 * certificate is already replaced, or not one the CA connects with this
 * account or these names); ordering without it may still pass. */
static bool refused_replaces(const cps_err *e)
{
	static const char *const problems[] = { "alreadyReplaced", "conflict", "malformed",
						"unauthorized", "serverInternal" };

	for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++)
		if (strcmp(e->problem, problems[i]) == 0)
			return true;
	return false;
}

/* newOrder naming the certificate it replaces when there is one; without
 * it, once, when the CA refuses that. */
static int place(run *r, const char *replaces, cps_err *err)
{
	cps_acme *c = r->s->acme;
	cps_err e;

	if (replaces == NULL)
		return cps_acme_order_new(c, r->names, r->req->n, r->profile, NULL, &r->order, err);
	cps_debug("the new order for %s replaces certificate %s", r->name_set, replaces);
	if (cps_acme_order_new(c, r->names, r->req->n, r->profile, replaces, &r->order, &e) == 0)
		return 0;
	if (!refused_replaces(&e)) {
		if (err)
			*err = e;
		return -1;
	}
	cps_debug("the CA refused the order naming the certificate it replaces (%s); ordering "
		  "without replaces", e.msg);
	return cps_acme_order_new(c, r->names, r->req->n, r->profile, NULL, &r->order, err);
}

/* A CA that refuses an order naming an IP address most likely issues none
 * (RFC 8738 is optional; Let's Encrypt issues them only in its shortlived
 * profile): the message says so. */
static void ip_refused(const run *r, cps_err *e)
{
	bool ip = false;

	for (size_t i = 0; i < r->req->n && !ip; i++)
		ip = cps_name_is_ip(r->names[i]);
	if (ip && (strcmp(e->problem, "rejectedIdentifier") == 0 ||
		   strcmp(e->problem, "unsupportedIdentifier") == 0 ||
		   strcmp(e->problem, "malformed") == 0))
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg), " (the order names an IP address: this CA may not issue certificates "
			       "for IP addresses, or only in a profile such as Let's Encrypt's shortlived — "
			       "set [letsencrypt] profile, or leave the address out)");
}

/* A CA that lost the account (a reset test CA) gets it registered again,
 * once. */
static int new_order(run *r, cps_err *err)
{
	cps_session *s = r->s;
	char *replaces = cps_ari_replaces(s, r->req->site_id, r->names, r->req->n);
	cps_err e;
	int rc = -1;

	if (place(r, replaces, &e) != 0) {
		if (strcmp(e.problem, "accountDoesNotExist") != 0) {
			ip_refused(r, &e);
			if (err)
				*err = e;
			goto out;
		}
		if (cps_session_account_lost(s, err) != 0) {
			cps_err_prefix(err, "cannot order a certificate for %s", r->name_set);
			goto out;
		}
		if (place(r, replaces, err) != 0)
			goto out;
	}
	if (cps_order_insert(s->st, r->req->site_id, s->dir_url, r->order.url, r->name_set,
			     cps_acme_status_name(r->order.status), "request", &r->order_id, err) != 0)
		goto out;
	CPS_FAULT("issue-after-neworder");
	rc = 0;
out:
	free(replaces);
	return rc;
}

/* A recorded order for the same names that can still be finished (a staged
 * one, or one an interrupted run left), else a new order. */
int cps_run_open_order(run *r, cps_err *err)
{
	cps_session *s = r->s;
	cps_order_row row;
	cps_err e;

	if (cps_order_find(s->st, r->req->site_id, s->dir_url, r->name_set, &row, err) != 0)
		return -1;
	if (row.id) {
		if (cps_acme_order_get(s->acme, row.url, &r->order, &e) == 0 && can_continue(r, &row)) {
			cps_debug("continuing the %s order %s (%s)", row.purpose, row.url,
				  cps_acme_status_name(r->order.status));
			r->order_id = row.id;
			cps_order_row_free(&row);
			return cps_order_set_status(s->st, r->order_id,
						    cps_acme_status_name(r->order.status), err);
		}
		cps_acme_order_free(&r->order);
		cps_order_set_status(s->st, row.id, "abandoned", &e);
		cps_run_pending_key_drop(r, row.id);
		cps_order_row_free(&row);
	}
	return new_order(r, err);
}
