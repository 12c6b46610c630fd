#include "cpssl/acme/problem.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"

#define ACME_URN "urn:ietf:params:acme:error:"

/* What each problem type means for the caller. */
static const struct problem_kind {
	const char *name;
	cps_code code;
	bool input;
} kinds[] = {
	{ "accountDoesNotExist", CPS_E_CA, true },
	{ "alreadyRevoked", CPS_E_CA, true },
	{ "badCSR", CPS_E_CA, true },
	{ "badNonce", CPS_E_PROTO, false },
	{ "badPublicKey", CPS_E_CA, true },
	{ "badRevocationReason", CPS_E_CA, true },
	{ "badSignatureAlgorithm", CPS_E_CA, true },
	{ "caa", CPS_E_CA, true },
	{ "compound", CPS_E_CA, true },
	{ "connection", CPS_E_CA, true },
	{ "dns", CPS_E_CA, true },
	{ "externalAccountRequired", CPS_E_CA, true },
	{ "incorrectResponse", CPS_E_CA, true },
	{ "invalidContact", CPS_E_CA, true },
	{ "invalidProfile", CPS_E_CA, true },
	{ "malformed", CPS_E_CA, true },
	{ "orderNotReady", CPS_E_CA, false },
	{ "rateLimited", CPS_E_RATELIMIT, false },
	{ "rejectedIdentifier", CPS_E_CA, true },
	{ "serverInternal", CPS_E_CA, false },
	{ "tls", CPS_E_CA, true },
	{ "unauthorized", CPS_E_CA, true },
	{ "unsupportedContact", CPS_E_CA, true },
	{ "unsupportedIdentifier", CPS_E_CA, true },
	{ "userActionRequired", CPS_E_CA, true },
};

/* A string of the problem document, made one line of text (control
 * characters go): it is printed and stored. */
static char *dup_str(json_object *o, const char *key)
{
	json_object *v;
	char *s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if ((s = strdup(json_object_get_string(v))) != NULL)
		cps_text_clean(s);
	return s;
}

int cps_acme_problem_parse(const char *body, cps_acme_problem *p)
{
	json_object *o = json_tokener_parse(body), *v, *subs;

	memset(p, 0, sizeof(*p));
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	p->type = dup_str(o, "type");
	p->detail = dup_str(o, "detail");
	if (json_object_object_get_ex(o, "status", &v))
		p->status = (long)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "subproblems", &subs) &&
	    json_object_is_type(subs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(subs) &&
				   p->nsub < CPS_ACME_MAX_SUBPROBLEMS; i++) {
			json_object *s = json_object_array_get_idx(subs, i), *id;
			cps_acme_subproblem *sp = &p->sub[p->nsub];

			if (!json_object_is_type(s, json_type_object))
				continue;
			sp->type = dup_str(s, "type");
			sp->detail = dup_str(s, "detail");
			if (json_object_object_get_ex(s, "identifier", &id))
				sp->identifier = dup_str(id, "value");
			p->nsub++;
		}
	}
	json_object_put(o);
	if (p->type == NULL) {
		cps_acme_problem_free(p);
		return -1;
	}
	return 0;
}

void cps_acme_problem_free(cps_acme_problem *p)
{
	free(p->type);
	free(p->detail);
	for (size_t i = 0; i < p->nsub; i++) {
		free(p->sub[i].type);
		free(p->sub[i].detail);
		free(p->sub[i].identifier);
	}
	memset(p, 0, sizeof(*p));
}

const char *cps_acme_problem_name(const char *type)
{
	size_t n = strlen(ACME_URN);

	if (type && strncmp(type, ACME_URN, n) == 0)
		return type + n;
	return "";
}

bool cps_acme_problem_is(const cps_acme_problem *p, const char *name)
{
	return p->type && strcmp(cps_acme_problem_name(p->type), name) == 0;
}

int cps_acme_problem_error(const cps_acme_problem *p, const char *what,
			   cps_err *err)
{
	const char *name = cps_acme_problem_name(p->type);
	cps_code code = CPS_E_CA;
	bool input = p->status >= 400 && p->status < 500;
	char subs[600] = "";

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0) {
			code = kinds[i].code;
			input = kinds[i].input;
			break;
		}
	for (size_t i = 0; i < p->nsub; i++) {
		size_t used = strlen(subs);

		snprintf(subs + used, sizeof(subs) - used, "; %s: %s",
			 p->sub[i].identifier ? p->sub[i].identifier : "?",
			 p->sub[i].detail ? p->sub[i].detail
					  : cps_acme_problem_name(p->sub[i].type));
	}
	cps_fail(err, code, "the CA refused %s: %s (%s)%s", what,
		 p->detail && *p->detail ? p->detail : "no detail given",
		 *name ? name : (p->type ? p->type : "unknown problem"), subs);
	if (err) {
		err->input = input;
		snprintf(err->problem, sizeof(err->problem), "%s", name);
	}
	return -1;
}
