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

const char *cps_acme_account_status_name(cps_acme_account_status status)
{
	switch (status) {
	case CPS_ACME_ACCOUNT_VALID:
		return "valid";
	case CPS_ACME_ACCOUNT_DEACTIVATED:
		return "deactivated";
	case CPS_ACME_ACCOUNT_REVOKED:
		return "revoked";
	}
	return "?";
}

void cps_acme_account_free(cps_acme_account *a)
{
	for (size_t i = 0; i < a->ncontact; i++)
		free(a->contact[i]);
	memset(a, 0, sizeof(*a));
}

/* The CA's account object → OUT; what the CA said is checked first. */
static int account_parse(json_object *o, const char *what, cps_acme_account *out,
			 cps_err *err)
{
	static const struct { const char *name; cps_acme_account_status status; } map[] = {
		{ "valid", CPS_ACME_ACCOUNT_VALID },
		{ "deactivated", CPS_ACME_ACCOUNT_DEACTIVATED },
		{ "revoked", CPS_ACME_ACCOUNT_REVOKED },
	};
	const char *status = cps_acme_str(o, "status");
	json_object *contact;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (status == NULL)
		return cps_fail(err, CPS_E_PROTO, "the CA answered %s without an account status", what);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].name) == 0)
			break;
	if (i == sizeof(map) / sizeof(map[0]))
		return cps_fail(err, CPS_E_PROTO,
				"the CA answered %s with the account status '%.40s', which RFC 8555 "
				"does not define", what, status);
	out->status = map[i].status;
	if (!json_object_object_get_ex(o, "contact", &contact) ||
	    !json_object_is_type(contact, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(contact) && out->ncontact < CPS_ACME_MAX_CONTACTS;
	     i++) {
		json_object *v = json_object_array_get_idx(contact, i);
		char *s;

		if (!json_object_is_type(v, json_type_string))
			continue;
		if ((s = strndup(json_object_get_string(v), 320)) == NULL) {
			cps_acme_account_free(out);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		cps_text_clean(s);
		out->contact[out->ncontact++] = s;
	}
	return 0;
}

static int account_post(cps_acme *c, const char *payload, const char *what,
			cps_acme_account *out, cps_err *err)
{
	cps_acme_resp r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cps_acme_post(c, cps_acme_kid(c), payload, 0, what, &r, err) != 0)
		return -1;
	if (r.json == NULL || !json_object_is_type(r.json, json_type_object))
		rc = cps_fail(err, CPS_E_PROTO, "the CA's answer to %s is not an account object", what);
	else
		rc = account_parse(r.json, what, out, err);
	cps_acme_resp_free(&r);
	return rc;
}

int cps_acme_account_fetch(cps_acme *c, cps_acme_account *out, cps_err *err)
{
	return account_post(c, NULL, "the account request", out, err);
}

int cps_acme_account_deactivate(cps_acme *c, cps_acme_account *out, cps_err *err)
{
	if (account_post(c, "{\"status\":\"deactivated\"}", "the account deactivation", out,
			 err) != 0)
		return -1;
	if (out->status != CPS_ACME_ACCOUNT_DEACTIVATED) {
		cps_fail(err, CPS_E_PROTO, "the CA answered the account deactivation with the status %s",
			 cps_acme_account_status_name(out->status));
		cps_acme_account_free(out);
		return -1;
	}
	return 0;
}

int cps_acme_key_change(cps_acme *c, EVP_PKEY *new_key, cps_err *err)
{
	const char *url;
	char *inner = NULL;
	cps_acme_resp r;
	int rc;

	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	if ((url = cps_acme_endpoint(c, "keyChange")) == NULL)
		return cps_fail(err, CPS_E_CA, "the CA %s offers no account key rollover "
				"(its directory has no keyChange)", cps_acme_directory_url(c));
	if (cps_acme_kid(c) == NULL || cps_acme_key(c) == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "no ACME account for the key rollover");
	if (cps_jws_key_change(new_key, cps_acme_key(c), cps_acme_kid(c), url, &inner, err) != 0)
		return -1;
	rc = cps_acme_post(c, url, inner, 0, "the account key rollover", &r, err);
	free(inner);
	if (rc != 0)
		return -1;
	cps_acme_resp_free(&r);
	cps_acme_use_key(c, new_key);
	return 0;
}
