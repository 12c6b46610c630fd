#include "cpssl/issue/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/clock.h"
#include "cpssl/acme/persist.h"
#include "cpssl/core/log.h"
#include "cpssl/dns/record.h"
#include "cpssl/issue/issue.h"
#include "cpssl/issue/persist.h"
#include "cpssl/solvers/solvers.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/sites.h"

#define SOLVE_TIMEOUT_MS 120000

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void challenge_free(cps_staged_challenge *c)
{
	free(c->domain);
	free(c->type);
	free(c->url);
	free(c->token);
	free(c->payload);
	free(c->record);
	free(c->value);
}

void cps_staged_free(cps_staged *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t j = 0; j < v[i].nch; j++)
			challenge_free(&v[i].ch[j]);
		free(v[i].ch);
		free(v[i].name);
	}
	free(v);
}

/* CH of AZ as the operator needs it. */
static int staged_of(cps_session *s, const cps_acme_authz *az,
		     const cps_acme_challenge *ch, cps_staged_challenge *out,
		     cps_err *err)
{
	char rec[300];

	out->domain = strdup(az->name[0] == '*' ? az->name + 2 : az->name);
	out->status = ch->status;
	out->type = strdup(ch->type);
	out->url = strdup(ch->url);
	out->token = dup_or_null(ch->token);
	if (out->domain == NULL || out->type == NULL || out->url == NULL ||
	    (ch->token && out->token == NULL))
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (ch->token && cps_acme_key_authorization(s->acme, ch->token, &out->payload, err) != 0)
		return -1;
	if (strcmp(ch->type, "dns-persist-01") == 0 && ch->nissuers) {
		if (cps_persist_record(az->name, rec, sizeof(rec), err) != 0 ||
		    cps_persist_value(ch->issuers[0], cps_acme_kid(s->acme), az->name[0] == '*',
				      &out->value, err) != 0)
			return -1;
		if ((out->record = strdup(rec)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	if (out->payload && strcmp(ch->type, "dns-01") == 0 &&
	    cps_dns01_record(az->name, rec, sizeof(rec), err) == 0 &&
	    cps_acme_dns_value(out->payload, &out->value, err) == 0 &&
	    (out->record = strdup(rec)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return 0;
}

/* Every challenge of the authorization at URL, recorded. */
static int stage_authz(cps_session *s, long long order_id, const char *url,
		       cps_staged *out, cps_err *err)
{
	cps_acme_authz az;
	int rc = 0;

	if (cps_acme_authz_get(s->acme, url, &az, err) != 0)
		return -1;
	out->name = strdup(az.name);
	out->ch = calloc(az.nch ? az.nch : 1, sizeof(*out->ch));
	if (out->name == NULL || out->ch == NULL)
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t j = 0; rc == 0 && j < az.nch; j++) {
		const cps_acme_challenge *ch = &az.ch[j];

		/* dns-persist-01 has no token */
		if (ch->token == NULL && strcmp(ch->type, "dns-persist-01") != 0)
			continue;
		rc = cps_challenge_put(s->st, order_id, az.name, az.url, ch->type, ch->url,
				       ch->token ? ch->token : "",
				       cps_acme_status_name(ch->status != CPS_ACME_ABSENT
								    ? ch->status : CPS_ACME_PENDING),
				       err);
		if (rc == 0)
			rc = staged_of(s, &az, ch, &out->ch[out->nch++], err);
	}
	cps_acme_authz_free(&az);
	return rc;
}

int cps_stage(cps_session *s, long site_id, const cps_name_plan *plan,
	      size_t n, cps_staged **out, size_t *nout, cps_err *err)
{
	const char **names = calloc(n ? n : 1, sizeof(*names));
	cps_acme_order order = { 0 };
	cps_staged *res = NULL;
	const char *profile = NULL;
	char *set = NULL;
	long long order_id;
	size_t nres = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (names == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = plan[i].name;
	set = cps_name_set(names, n);
	if (set == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (cps_session_profile(s, &profile, err) != 0 || cps_session_account(s, err) != 0) {
		cps_err_prefix(err, "cannot order a certificate for %s", set);
		goto out;
	}
	if (cps_acme_order_new(s->acme, names, n, profile, NULL, &order, err) != 0 ||
	    cps_order_insert(s->st, site_id, s->dir_url, order.url, set,
			     cps_acme_status_name(order.status), "staged", &order_id, err) != 0)
		goto out;
	if ((res = calloc(order.nauthz ? order.nauthz : 1, sizeof(*res))) == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	for (; nres < order.nauthz; nres++)
		if (stage_authz(s, order_id, order.authzs[nres], &res[nres], err) != 0) {
			nres++;
			goto out;
		}
	cps_info("staged %zu authorization%s; publish the responses, then run letsencrypt:solve",
		 order.nauthz, order.nauthz == 1 ? "" : "s");
	*out = res;
	*nout = nres;
	res = NULL;
	rc = 0;
out:
	cps_staged_free(res, nres);
	cps_acme_order_free(&order);
	free(set);
	free(names);
	return rc;
}

void cps_solved_free(cps_solved *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].detail);
	}
	free(v);
}

/* Whether NAME (or, with VALUE NULL, anything) holds the TXT VALUE, as the
 * zone's authoritative servers answer. -1 when they cannot be asked. */
static int txt_holds(const cps_settings *set, const char *name, const char *value)
{
	cps_dns_record *r = NULL;
	size_t n = 0;
	cps_err e;
	int found = 0;

	if (cps_dns_records_lookup(&set->dns, name, CPS_RR_BIT(CPS_RR_TXT), &r, &n, &e) != 0) {
		cps_debug("cannot look up %s TXT before answering: %s", name, e.msg);
		return -1;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(r[i].value, value) == 0;
	cps_dns_records_free(r, n);
	return found;
}

/* A dns-01 answer the CA cannot see would make the authorization invalid
 * for good, so the record is looked up first, where the CA will look. 0
 * when it is there (or cannot be looked up: the CA decides); 1 with WHY
 * (where it must go) when it is not. */
static int dns_unpublished(cps_session *s, const char *name, const char *token,
			   char *why, size_t len, cps_err *err)
{
	const char *base = name[0] == '*' ? name + 2 : name;
	char rec[300], zone[CPS_HOSTNAME_MAX + 1] = "", sub[320];
	char *keyauth = NULL, *value = NULL;
	size_t zl, bl = strlen(base);
	int rc = 0, at;

	if (cps_dns01_record(name, rec, sizeof(rec), err) != 0 ||
	    cps_acme_key_authorization(s->acme, token, &keyauth, err) != 0 ||
	    cps_acme_dns_value(keyauth, &value, err) != 0) {
		rc = -1;
		goto out;
	}
	if ((at = txt_holds(s->set, rec, value)) != 0)
		goto out; /* there, or the CA decides */
	/* the dns:add-record to run: the record relative to the hosted domain */
	if (cps_site_domain_of(s->st, base, zone, err) != 0) {
		rc = -1;
		goto out;
	}
	if (zone[0] == '\0')
		snprintf(zone, sizeof(zone), "%s", base);
	zl = strlen(zone);
	/* "_acme-challenge" for the domain itself, "_acme-challenge.www" below it */
	snprintf(sub, sizeof(sub), "_acme-challenge%s%.*s", bl > zl ? "." : "",
		 (int)(bl > zl ? bl - zl - 1 : 0), base);
	snprintf(why, len, "%s does not hold the TXT value %s%s; publish it (cpcmd -d %s "
		 "dns:add-record %s %s TXT '%s'), then solve again", rec, value,
		 txt_holds(s->set, base, value) == 1
			 ? " (it is at the name itself, but the CA asks _acme-challenge)" : "",
		 zone, zone, sub, value);
	rc = 1;
out:
	free(keyauth);
	free(value);
	return rc;
}

/* A persist name's record, looked up before its challenge is answered:
 * 0 when in place (or the CA decides), 1 with WHY. */
static int persist_unpublished(cps_session *s, long site_id, const cps_challenge_row *row,
			       char *why, size_t len, cps_err *err)
{
	cps_acme_authz az;
	const cps_acme_challenge *ch;
	cps_site site;
	bool have = false;
	int rc;

	if (cps_acme_authz_get(s->acme, row->authz_url, &az, err) != 0)
		return -1;
	if (site_id && cps_site_get(s->st, site_id, &site, err) == 0)
		have = true;
	ch = cps_acme_authz_challenge(&az, "dns-persist-01");
	rc = ch ? cps_persist_unready(s, have ? site.name : NULL, az.name, ch->issuers,
				      ch->nissuers, why, len, err)
		: 0;
	cps_acme_authz_free(&az);
	return rc;
}

/* One name: answer its staged challenge and wait for the verdict. */
static int solve_one(cps_session *s, long site_id, cps_mech mech, cps_solved *o,
		     char *bad, size_t badlen, cps_err *err)
{
	const char *type = cps_mech_challenge(mech), *name = o->name;
	cps_challenge_row row;
	cps_acme_authz az = { 0 };
	const cps_acme_challenge *ch;
	size_t used = strlen(bad);

	if (cps_challenge_find(s->st, site_id, s->dir_url, name, type, &row, err) != 0)
		return -1;
	if (row.url == NULL) {
		o->status = "missing";
		snprintf(bad + used, badlen - used,
			 "%s%s: no staged %s challenge (run letsencrypt:challenges first)",
			 used ? "; " : "", name, type);
		return 0;
	}
	cps_debug("SSL challenge attempt: %s (%s)", cps_mech_name(mech), name);
	if ((mech == CPS_MECH_DNS && row.token) || mech == CPS_MECH_PERSIST) {
		char why[900];
		int un = mech == CPS_MECH_DNS
				 ? dns_unpublished(s, name, row.token, why, sizeof(why), err)
				 : persist_unpublished(s, site_id, &row, why, sizeof(why), err);

		if (un != 0) {
			cps_challenge_row_free(&row);
			if (un < 0)
				return -1;
			o->status = "unpublished";
			cps_debug("FAILED SSL challenge response: %s (dns) - not published", name);
			snprintf(bad + used, badlen - used, "%s%s: %s (the authorization stays pending)",
				 used ? "; " : "", name, why);
			return 0;
		}
	}
	if (cps_acme_challenge_respond(s->acme, row.url, err) != 0 ||
	    cps_acme_authz_poll(s->acme, row.authz_url, cps_monotonic_ms() + SOLVE_TIMEOUT_MS,
				&az, err) != 0) {
		cps_challenge_row_free(&row);
		return -1;
	}
	ch = cps_acme_authz_challenge(&az, type);
	o->status = cps_acme_status_name(az.status);
	o->detail = ch ? dup_or_null(ch->error) : NULL;
	cps_challenge_set_status(s->st, row.url,
				 cps_acme_status_name(ch && ch->status != CPS_ACME_ABSENT ? ch->status
											  : az.status),
				 err);
	if (az.status == CPS_ACME_VALID) {
		cps_debug("SUCCESS! SSL challenge response: %s (%s) - VALID", name, cps_mech_name(mech));
	} else {
		cps_debug("FAILED SSL challenge response: %s (%s) - %s", name, cps_mech_name(mech),
			  o->status);
		snprintf(bad + used, badlen - used, "%s%s: %s (%s)", used ? "; " : "", name,
			 o->status, o->detail ? o->detail : "no detail given");
	}
	cps_acme_authz_free(&az);
	cps_challenge_row_free(&row);
	return 0;
}

int cps_solve(cps_session *s, long site_id, const char *const *names,
	      const cps_mech *mechs, size_t n, cps_solved **out, cps_err *err)
{
	cps_solved *res = calloc(n ? n : 1, sizeof(*res));
	char bad[sizeof(err->msg) - 64] = "";

	*out = NULL;
	if (res == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (cps_session_account(s, err) != 0) {
		free(res);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((res[i].name = strdup(names[i])) == NULL) {
			cps_solved_free(res, n);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		if (solve_one(s, site_id, mechs[i], &res[i], bad, sizeof(bad), err) != 0) {
			cps_solved_free(res, n);
			return -1;
		}
	}
	*out = res;
	if (bad[0])
		return cps_fail(err, CPS_E_CA, "not every challenge was solved: %s", bad);
	return 0;
}
