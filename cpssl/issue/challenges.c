/* The challenges of one issuance: which one answers each authorization,
 * publishing the responses (an http-01 file, a dns-01 TXT record) after
 * recording them, removing them again, and what a failed validation says.
 * A persist (dns-persist-01) name publishes nothing: its record is looked
 * up before anything is answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/core/log.h"
#include "cpssl/issue/persist.h"
#include "cpssl/issue/internal.h"
#include "cpssl/solvers/solvers.h"
#include "cpssl/store/acme_state.h"

cps_name_plan *cps_run_plan_of(const run *r, const char *name)
{
	for (size_t i = 0; i < r->req->n; i++)
		if (strcasecmp(r->req->plan[i].name, name) == 0)
			return &r->req->plan[i];
	return NULL;
}

int cps_run_dns(run *r, cps_err *err)
{
	if (r->dns)
		return 0;
	return cps_dns_provider_new(&r->s->set->dns, &r->dns, err);
}

/* ---- leftovers of earlier runs ------------------------------------------ */

int cps_issue_cleanup(cps_session *s, long site_id, cps_err *err)
{
	cps_challenge_row *rows = NULL;
	cps_dns_provider *dns = NULL;
	size_t n = 0;
	int rc = 0;

	if (cps_challenge_published(s->st, site_id, &rows, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cps_err e;

		if (strncmp(rows[i].published, "dns:", 4) == 0 && dns == NULL &&
		    cps_dns_provider_new(&s->set->dns, &dns, &e) != 0) {
			cps_warn("cannot remove a leftover dns-01 record for %s: %s",
				 rows[i].name, e.msg);
			continue;
		}
		if (cps_solver_unpublish(rows[i].published, dns, &e) != 0) {
			cps_warn("cannot remove a leftover challenge response for %s: %s",
				 rows[i].name, e.msg);
			rc = -1;
			continue;
		}
		cps_debug("removed a leftover challenge response for %s", rows[i].name);
		if (cps_challenge_set_published(s->st, rows[i].url, NULL, err) != 0) {
			rc = -1;
			break;
		}
	}
	cps_dns_provider_free(dns);
	cps_challenge_rows_free(rows, n);
	if (rc != 0 && err && err->msg[0] == '\0')
		cps_fail(err, CPS_E_IO, "some leftover challenge responses could not be removed");
	return rc;
}

/* ---- before ordering ----------------------------------------------------- */

int cps_run_probe_dns(run *r, cps_err *err)
{
	char rec[CPS_HOSTNAME_MAX + 32], done[8][CPS_HOSTNAME_MAX + 32];
	size_t nd = 0;

	for (size_t i = 0; i < r->req->n; i++) {
		bool seen = false;

		if (r->req->plan[i].mech != CPS_MECH_DNS)
			continue;
		if (cps_dns01_record(r->req->plan[i].name, rec, sizeof(rec), err) != 0)
			return -1;
		for (size_t j = 0; j < nd; j++)
			seen = seen || strcmp(done[j], rec) == 0;
		if (seen)
			continue;
		if (cps_dns_probe(r->dns, rec, err) != 0)
			return -1;
		if (nd < 8)
			snprintf(done[nd++], sizeof(done[0]), "%s", rec);
	}
	return 0;
}

/* ---- the authorizations -------------------------------------------------- */

static const char *mech_of_type(const char *type)
{
	return strcmp(type, "dns-01") == 0 ? "dns" : strcmp(type, "http-01") == 0 ? "http"
	       : strcmp(type, "dns-persist-01") == 0 ? "persist" : type;
}

/* The response P will publish for challenge CH (record and value). */
static int response_of(run *r, const cps_acme_authz *az, const cps_acme_challenge *ch,
		       pending *p, cps_err *err)
{
	if (p->mech == CPS_MECH_PERSIST)
		return 0; /* nothing is published */
	if (cps_acme_key_authorization(r->s->acme, ch->token, &p->keyauth, err) != 0)
		return -1;
	if (p->mech == CPS_MECH_HTTP) {
		if (cps_http01_path(r->s->set->layout.http01_root, ch->token, &p->record, err) != 0)
			return -1;
		p->value = strdup(p->keyauth);
		p->tag = cps_solver_file_tag(p->record);
	} else {
		char rec[300];

		if (cps_dns01_record(az->name, rec, sizeof(rec), err) != 0 ||
		    cps_acme_dns_value(p->keyauth, &p->value, err) != 0)
			return -1;
		p->record = strdup(rec);
		p->tag = cps_solver_dns_tag(rec, p->value);
	}
	if (p->value == NULL || p->tag == NULL || p->record == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return 0;
}

/* A persist name: 0 when its record is in place, 1 with why appended to
 * BAD when it is not. */
static int persist_ready(run *r, const cps_acme_authz *az, const cps_acme_challenge *ch,
			 char *bad, size_t badlen, cps_err *err)
{
	size_t used = strlen(bad);
	char why[900];
	int un;

	if (ch == NULL)
		return cps_fail(err, CPS_E_CA, "%s: the CA at %s offers no dns-persist-01 challenge, so "
				"%s cannot be validated with persist; use dns or http for it "
				"(letsencrypt:use-mechanism)", az->name, r->s->dir_url, az->name);
	un = cps_persist_unready(r->s, r->req->site_id ? r->req->site_name : NULL, az->name,
				 ch->issuers, ch->nissuers, why, sizeof(why), err);
	if (un == 1)
		snprintf(bad + used, badlen - used, "%s%s", used ? "; " : "", why);
	return un;
}

/* One pending authorization: its challenge for the planned mechanism. 1
 * (with why in BAD) for a persist name whose record is not in place. */
static int prepare_one(run *r, const cps_acme_authz *az, char *bad, size_t badlen,
		       cps_err *err)
{
	const cps_name_plan *plan = cps_run_plan_of(r, az->name);
	const cps_acme_challenge *ch;
	pending *p;

	if (plan == NULL)
		return cps_fail(err, CPS_E_PROTO, "the CA asked to authorize %s, which was not requested",
				az->name);
	ch = cps_acme_authz_challenge(az, cps_mech_challenge(plan->mech));
	if (plan->mech == CPS_MECH_PERSIST) {
		int un = persist_ready(r, az, ch, bad, badlen, err);

		if (un != 0)
			return un;
	} else if (ch == NULL) {
		return cps_fail(err, CPS_E_CA, "%s: the CA offers no %s challenge", az->name,
				cps_mech_challenge(plan->mech));
	}
	if (ch->token == NULL && plan->mech != CPS_MECH_PERSIST)
		return cps_fail(err, CPS_E_PROTO, "%s: the CA's %s challenge has no usable token",
				az->name, ch->type);
	p = &r->p[r->np];
	p->name = strdup(az->name);
	p->ch_url = strdup(ch->url);
	p->mech = plan->mech;
	if (p->name == NULL || p->ch_url == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	r->np++;
	if (response_of(r, az, ch, p, err) != 0)
		return -1;
	return cps_challenge_put(r->s->st, r->order_id, az->name, az->url, ch->type, ch->url,
				 ch->token ? ch->token : "",
				 cps_acme_status_name(ch->status != CPS_ACME_ABSENT ? ch->status
										    : CPS_ACME_PENDING),
				 err);
}

int cps_run_prepare(run *r, cps_err *err)
{
	char bad[sizeof(err->msg) - 64] = "";

	cps_run_pending_free(r);
	r->p = calloc(r->order.nauthz, sizeof(*r->p));
	if (r->p == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < r->order.nauthz; i++) {
		cps_acme_authz az;
		const char *how = "the CA";
		int rc = 0;

		if (cps_acme_authz_get(r->s->acme, r->order.authzs[i], &az, err) != 0)
			return -1;
		switch (az.status) {
		case CPS_ACME_VALID:
			for (size_t j = 0; j < az.nch; j++)
				if (az.ch[j].status == CPS_ACME_VALID)
					how = mech_of_type(az.ch[j].type);
			cps_debug("%s already resolved by %s", az.name, how);
			break;
		case CPS_ACME_PENDING:
			rc = prepare_one(r, &az, bad, sizeof(bad), err);
			rc = rc > 0 ? 0 : rc;
			break;
		default:
			rc = cps_fail(err, CPS_E_CA, "%s: the authorization is %s", az.name,
				      cps_acme_status_name(az.status));
			break;
		}
		cps_acme_authz_free(&az);
		if (rc != 0)
			return -1;
	}
	if (bad[0]) {
		/* nothing was answered: the authorizations stay pending */
		cps_fail(err, CPS_E_CA, "%s", bad);
		if (err)
			err->input = true;
		return -1;
	}
	return 0;
}

/* ---- publishing ---------------------------------------------------------- */

int cps_run_publish(run *r, cps_err *err)
{
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];
		int rc;

		cps_debug("SSL challenge attempt: %s (%s)", p->name, cps_mech_name(p->mech));
		if (p->mech == CPS_MECH_PERSIST)
			continue; /* its record is the owner's, published once */
		/* recorded first: a crash from here on leaves a trace to clean up */
		if (cps_challenge_set_published(r->s->st, p->ch_url, p->tag, err) != 0)
			return -1;
		p->published = true;
		if (p->mech == CPS_MECH_HTTP) {
			rc = cps_http01_publish(p->record, p->keyauth, err);
		} else {
			cps_debug("Setting DNS TXT record %s with value %s", p->record, p->value);
			rc = cps_dns_txt_add(r->dns, p->record, p->value, err);
		}
		if (rc != 0)
			return cps_err_prefix(err, "%s", p->name);
	}
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];

		if (p->mech == CPS_MECH_DNS &&
		    cps_dns_wait_txt(r->dns, p->record, p->value,
				     (int)r->s->set->dns.validation_wait, err) != 0)
			return cps_err_prefix(err, "%s", p->name);
	}
	return 0;
}

/* Failures are warnings: the record stays marked in the store and the next
 * run removes it. */
void cps_run_unpublish(run *r)
{
	for (size_t i = 0; i < r->np; i++) {
		pending *p = &r->p[i];
		cps_err e;

		if (!p->published)
			continue;
		if (cps_solver_unpublish(p->tag, r->dns, &e) != 0) {
			cps_warn("%s: %s", p->name, e.msg);
			continue;
		}
		if (cps_challenge_set_published(r->s->st, p->ch_url, NULL, &e) != 0)
			cps_warn("%s", e.msg);
		p->published = false;
	}
}

void cps_run_pending_free(run *r)
{
	for (size_t i = 0; i < r->np; i++) {
		free(r->p[i].name);
		free(r->p[i].ch_url);
		free(r->p[i].tag);
		free(r->p[i].record);
		free(r->p[i].value);
		free(r->p[i].keyauth);
	}
	free(r->p);
	r->p = NULL;
	r->np = 0;
}

/* ---- after a failed validation ------------------------------------------- */

int cps_run_failed_names(run *r, bool may_retry, bool *retry, cps_err *err)
{
	char msg[sizeof(err->msg)] = "";

	*retry = false;
	for (size_t i = 0; i < r->order.nauthz; i++) {
		cps_acme_authz az;
		cps_name_plan *plan;
		cps_err e;

		if (cps_acme_authz_get(r->s->acme, r->order.authzs[i], &az, &e) != 0)
			continue;
		plan = cps_run_plan_of(r, az.name);
		for (size_t j = 0; az.status == CPS_ACME_INVALID && j < az.nch; j++) {
			size_t used = strlen(msg);

			if (az.ch[j].error == NULL)
				continue;
			cps_debug("%s challenge failed: %s: %s", mech_of_type(az.ch[j].type), az.name,
				  az.ch[j].error);
			if (may_retry && plan && plan->can_fallback) {
				plan->mech = plan->mech == CPS_MECH_HTTP ? CPS_MECH_DNS : CPS_MECH_HTTP;
				plan->can_fallback = false;
				*retry = true;
				continue;
			}
			snprintf(msg + used, sizeof(msg) - used, "%s%s: the %s challenge failed: %s",
				 used ? "; " : "", az.name, az.ch[j].type, az.ch[j].error);
		}
		cps_acme_authz_free(&az);
	}
	if (*retry && msg[0] == '\0')
		return 0;
	*retry = false;
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "the order became %s: %s",
			 cps_acme_status_name(r->order.status),
			 r->order.error ? r->order.error : "the CA gave no reason");
	cps_fail(err, CPS_E_CA, "%s", msg);
	if (err)
		err->input = true;
	return -1;
}
