#include "cpssl/acme/account.h"

#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/jws.h"
#include "cpssl/core/log.h"

/* The account's contact; for a new account also the agreement to the
 * terms of service and, when given, the external account binding (a JWS,
 * JSON text). */
static char *contact_payload(const char *email, bool new_account, const char *eab_jws)
{
	json_object *o = json_object_new_object(), *contact = json_object_new_array();
	char mailto[300];
	char *out;

	snprintf(mailto, sizeof(mailto), "mailto:%s", email);
	json_object_array_add(contact, json_object_new_string(mailto));
	if (new_account)
		json_object_object_add(o, "termsOfServiceAgreed", json_object_new_boolean(1));
	json_object_object_add(o, "contact", contact);
	if (eab_jws) {
		json_object *eab = json_tokener_parse(eab_jws);

		if (eab == NULL) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, "externalAccountBinding", eab);
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static int kid_from(cps_acme *c, cps_acme_resp *r, char **kid, cps_err *err)
{
	if (r->http.location == NULL || strncmp(r->http.location, "https://", 8) != 0) {
		cps_acme_resp_free(r);
		return cps_fail(err, CPS_E_PROTO,
				"the CA's account answer carries no account URL (Location)");
	}
	if (!cps_acme_same_origin(c, r->http.location)) {
		cps_fail(err, CPS_E_PROTO, "the CA's account URL %.200s is outside its own origin; refusing",
			 r->http.location);
		cps_acme_resp_free(r);
		return -1;
	}
	*kid = strdup(r->http.location);
	cps_acme_resp_free(r);
	return *kid ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

int cps_acme_account_lookup(cps_acme *c, char **kid, cps_err *err)
{
	cps_acme_resp r;
	cps_err e;

	*kid = NULL;
	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	if (cps_acme_post(c, cps_acme_endpoint(c, "newAccount"),
			  "{\"onlyReturnExisting\":true}", CPS_ACME_JWK,
			  "the account lookup", &r, &e) != 0) {
		if (strcmp(e.problem, "accountDoesNotExist") == 0)
			return 0;
		if (err)
			*err = e;
		return -1;
	}
	return kid_from(c, &r, kid, err);
}

int cps_acme_account_create(cps_acme *c, const char *email, const cps_acme_eab *eab,
			    char **kid, cps_err *err)
{
	const char *url;
	char *payload, *jws = NULL;
	cps_acme_resp r;
	int rc;

	*kid = NULL;
	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	url = cps_acme_endpoint(c, "newAccount");
	/* the binding names the very URL the outer JWS is sent to */
	if (eab && cps_jws_eab(cps_acme_key(c), eab->kid, eab->key, eab->len, url, &jws, err) != 0)
		return -1;
	payload = contact_payload(email, true, jws);
	free(jws);
	if (payload == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = cps_acme_post(c, url, payload, CPS_ACME_JWK,
			   eab ? "the account registration with an external account binding"
			       : "the account registration",
			   &r, err);
	free(payload);
	if (rc != 0)
		return -1;
	cps_info("registered an ACME account with %s for %s%s%s", cps_acme_directory_url(c),
		 email, eab ? ", bound to the external account " : "", eab ? eab->kid : "");
	return kid_from(c, &r, kid, err);
}

int cps_acme_account_set_contact(cps_acme *c, const char *email, cps_err *err)
{
	char *payload = contact_payload(email, false, NULL);
	cps_acme_resp r;
	int rc;

	if (payload == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = cps_acme_post(c, cps_acme_kid(c), payload, 0,
			   "the account contact update", &r, err);
	free(payload);
	if (rc != 0)
		return -1;
	cps_acme_resp_free(&r);
	cps_info("ACME account contact changed to %s", email);
	return 0;
}
