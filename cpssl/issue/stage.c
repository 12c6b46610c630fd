#include "cpssl/issue/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/order.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/issue/issue.h"
#include "cpssl/solvers/solvers.h"
#include "cpssl/store/acme_state.h"

#define SOLVE_TIMEOUT_MS 120000

static json_object *challenge_json(cps_session *s, const cps_acme_authz *az,
				   const cps_acme_challenge *ch, cps_err *err)
{
	json_object *o = json_object_new_object();
	const char *domain = az->name[0] == '*' ? az->name + 2 : az->name;
	char *keyauth = NULL, *value = NULL, rec[300];

	json_object_object_add(o, "domain", json_object_new_string(domain));
	json_object_object_add(o, "status", json_object_new_string(ch->status ? ch->status : ""));
	json_object_object_add(o, "type", json_object_new_string(ch->type));
	json_object_object_add(o, "url", json_object_new_string(ch->url));
	json_object_object_add(o, "token", ch->token ? json_object_new_string(ch->token) : NULL);
	if (ch->token && cps_acme_key_authorization(s->acme, ch->token, &keyauth, err) != 0) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "payload", keyauth ? json_object_new_string(keyauth) : NULL);
	if (keyauth && strcmp(ch->type, "dns-01") == 0 &&
	    cps_dns01_record(az->name, rec, sizeof(rec), err) == 0 &&
	    cps_acme_dns_value(keyauth, &value, err) == 0) {
		json_object_object_add(o, "record", json_object_new_string(rec));
		json_object_object_add(o, "value", json_object_new_string(value));
	}
	free(value);
	free(keyauth);
	return o;
}

int cps_stage(cps_session *s, long site_id, const cps_name_plan *plan,
	      size_t n, json_object **out, cps_err *err)
{
	const char **names = calloc(n ? n : 1, sizeof(*names));
	cps_acme_order order = { 0 };
	char *set = NULL;
	long long order_id;
	json_object *res = NULL;
	int rc = -1;

	*out = NULL;
	if (names == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		names[i] = plan[i].name;
	set = cps_name_set(names, n);
	if (set == NULL || cps_session_account(s, err) != 0 ||
	    cps_acme_order_new(s->acme, names, n, &order, err) != 0 ||
	    cps_order_insert(s->st, site_id, s->dir_url, order.url, set, order.status,
			     "staged", &order_id, err) != 0)
		goto out;
	res = json_object_new_object();
	for (size_t i = 0; i < order.nauthz; i++) {
		cps_acme_authz az;
		json_object *list;

		if (cps_acme_authz_get(s->acme, order.authzs[i], &az, err) != 0)
			goto out;
		list = json_object_new_array();
		json_object_object_add(res, az.name, list);
		for (size_t j = 0; j < az.nch; j++) {
			const cps_acme_challenge *ch = &az.ch[j];
			json_object *o;

			if (ch->token == NULL)
				continue;
			if (cps_challenge_put(s->st, order_id, az.name, az.url, ch->type, ch->url,
					      ch->token, ch->status ? ch->status : "pending", err) != 0 ||
			    (o = challenge_json(s, &az, ch, err)) == NULL) {
				cps_acme_authz_free(&az);
				goto out;
			}
			json_object_array_add(list, o);
		}
		cps_acme_authz_free(&az);
	}
	cps_info("staged %zu authorization%s; publish the responses, then run letsencrypt:solve",
		 order.nauthz, order.nauthz == 1 ? "" : "s");
	*out = res;
	res = NULL;
	rc = 0;
out:
	json_object_put(res);
	cps_acme_order_free(&order);
	free(set);
	free(names);
	return rc;
}

/* One name: answer its staged challenge and wait for the verdict. */
static int solve_one(cps_session *s, long site_id, const char *name,
		     cps_mech mech, json_object *res, char *bad, size_t badlen,
		     cps_err *err)
{
	const char *type = cps_mech_challenge(mech);
	json_object *o = json_object_new_object();
	cps_challenge_row row;
	cps_acme_authz az = { 0 };
	const cps_acme_challenge *ch;
	const char *detail = NULL;
	size_t used = strlen(bad);

	json_object_object_add(res, name, o);
	if (cps_challenge_find(s->st, site_id, s->dir_url, name, type, &row, err) != 0)
		return -1;
	if (row.url == NULL) {
		json_object_object_add(o, "status", json_object_new_string("missing"));
		snprintf(bad + used, badlen - used, "%s%s: no staged %s challenge (run letsencrypt:challenges first)",
			 used ? "; " : "", name, type);
		return 0;
	}
	cps_debug("SSL challenge attempt: %s (%s)", cps_mech_name(mech), name);
	if (cps_acme_challenge_respond(s->acme, row.url, err) != 0 ||
	    cps_acme_authz_poll(s->acme, row.authz_url, cps_monotonic_ms() + SOLVE_TIMEOUT_MS,
				&az, err) != 0) {
		cps_challenge_row_free(&row);
		return -1;
	}
	ch = cps_acme_authz_challenge(&az, type);
	if (ch && ch->error)
		detail = ch->error;
	json_object_object_add(o, "status", json_object_new_string(az.status));
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	cps_challenge_set_status(s->st, row.url, ch && ch->status ? ch->status : az.status, err);
	if (strcmp(az.status, "valid") == 0) {
		cps_debug("SUCCESS! SSL challenge response: %s (%s) - VALID", name, cps_mech_name(mech));
	} else {
		cps_debug("FAILED SSL challenge response: %s (%s) - %s", name, cps_mech_name(mech),
			  az.status);
		snprintf(bad + used, badlen - used, "%s%s: %s (%s)", used ? "; " : "", name,
			 az.status, detail ? detail : "no detail given");
	}
	cps_acme_authz_free(&az);
	cps_challenge_row_free(&row);
	return 0;
}

int cps_solve(cps_session *s, long site_id, const char *const *names,
	      const cps_mech *mechs, size_t n, json_object **out, cps_err *err)
{
	json_object *res = json_object_new_object();
	char bad[sizeof(err->msg) - 64] = "";

	*out = NULL;
	if (cps_session_account(s, err) != 0) {
		json_object_put(res);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (solve_one(s, site_id, names[i], mechs[i], res, bad, sizeof(bad), err) != 0) {
			json_object_put(res);
			return -1;
		}
	*out = res;
	if (bad[0])
		return cps_fail(err, CPS_E_CA, "not every challenge was solved: %s", bad);
	return 0;
}
