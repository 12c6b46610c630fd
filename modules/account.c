/* letsencrypt: the ACME account — shown as the CA has it, its key rolled
 * over, its contact sent, its deactivation. Server-wide: one account per CA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/core/output.h"
#include "cpssl/issue/account.h"
#include "cpssl/store/acme_state.h"
#include "modules/dispatch.h"

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *key_json(const cps_account_view *v)
{
	json_object *o;

	if (v->key_path == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(v->key_path));
	json_object_object_add(o, "type", json_object_new_string(v->key_type));
	json_object_object_add(o, "thumbprint", str_or_null(v->thumbprint));
	json_object_object_add(o, "created", cps_json_time((time_t)v->key_created));
	return o;
}

/* Never a key itself: its path, type and thumbprint. */
static json_object *view_json(const cps_account_view *v)
{
	json_object *o = json_object_new_object(), *contact = json_object_new_array();

	for (size_t i = 0; i < v->ca.ncontact; i++)
		json_object_array_add(contact, json_object_new_string(v->ca.contact[i]));
	json_object_object_add(o, "directory", str_or_null(v->directory));
	json_object_object_add(o, "storage", str_or_null(v->server_dir));
	json_object_object_add(o, "configured", json_object_new_boolean(v->configured));
	json_object_object_add(o, "account", str_or_null(v->url));
	json_object_object_add(o, "status", json_object_new_string(cps_account_state_name(v->state)));
	json_object_object_add(o, "contact", contact);
	json_object_object_add(o, "recorded_contact",
			       v->recorded_contact && *v->recorded_contact
				       ? json_object_new_string(v->recorded_contact) : NULL);
	json_object_object_add(o, "registered",
			       v->registered ? cps_json_time((time_t)v->registered) : NULL);
	json_object_object_add(o, "key", key_json(v));
	if (v->nretired) {
		json_object *r = json_object_new_array();

		for (size_t i = 0; i < v->nretired; i++)
			json_object_array_add(r, json_object_new_string(v->retired[i]));
		json_object_object_add(o, "deactivated_keys", r);
	}
	if (v->error)
		json_object_object_add(o, "error", json_object_new_string(v->error));
	return o;
}

static int show(cps_ctx *ctx, json_object **result, cps_err *err)
{
	cps_account_view v;

	if (cps_account_show(ctx->session, &v, err) != 0)
		return -1;
	*result = view_json(&v);
	cps_account_view_free(&v);
	return 0;
}

static int cmd_account(cps_ctx *ctx, json_object **args, size_t nargs,
		       json_object **result, cps_err *err)
{
	cps_account_view *v = NULL;
	size_t n = 0;

	(void)nargs;
	if (!json_object_get_boolean(args[0]))
		return show(ctx, result, err);
	if (cps_account_show_all(ctx->session, &v, &n, err) != 0)
		return -1;
	*result = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(*result, view_json(&v[i]));
	cps_account_views_free(v, n);
	return 0;
}

/* No account yet: the first request (or housekeeping) registers one. */
static int no_account(cps_ctx *ctx, const char *what, json_object **result)
{
	cps_warn("there is no ACME account at %s yet, so there is no %s; the first "
		 "letsencrypt:request registers one", ctx->set.ca.url, what);
	*result = NULL;
	return CPS_EXIT_NOOP;
}

static int cmd_rollover_key(cps_ctx *ctx, json_object **args, size_t nargs,
			    json_object **result, cps_err *err)
{
	int rc;

	(void)nargs;
	rc = cps_account_rollover(ctx->session, args[0] ? json_object_get_string(args[0]) : NULL,
				  err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return no_account(ctx, "key to roll over", result);
	return show(ctx, result, err);
}

static int cmd_update_contact(cps_ctx *ctx, json_object **args, size_t nargs,
			      json_object **result, cps_err *err)
{
	int rc;

	(void)args;
	(void)nargs;
	if ((rc = cps_account_update_contact(ctx->session, err)) < 0)
		return -1;
	if (rc == 1)
		return no_account(ctx, "contact to update", result);
	return show(ctx, result, err);
}

static int cmd_deactivate(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err)
{
	char *url = NULL, *kept = NULL;
	int rc;

	(void)nargs;
	if (!json_object_get_boolean(args[0])) {
		if (cps_account_get(ctx->store, ctx->set.ca.url, &url, NULL, err) != 0)
			return -1;
		cps_fail(err, CPS_E_INVAL,
			 "deactivating the ACME account %s at %s cannot be undone: the CA will refuse "
			 "it for good (its certificates stay valid, and the next request registers a "
			 "new account); to go ahead, run cpcmd letsencrypt:deactivate-account true",
			 url ? url : "(none recorded)", ctx->set.ca.url);
		free(url);
		return -1;
	}
	if ((rc = cps_account_deactivate(ctx->session, &url, &kept, err)) < 0)
		return -1;
	if (rc == 1)
		return no_account(ctx, "account to deactivate", result);
	*result = json_object_new_object();
	json_object_object_add(*result, "directory", json_object_new_string(ctx->set.ca.url));
	json_object_object_add(*result, "account", json_object_new_string(url));
	json_object_object_add(*result, "status", json_object_new_string("deactivated"));
	json_object_object_add(*result, "key_kept", json_object_new_string(kept));
	free(url);
	free(kept);
	return 0;
}

const cps_command cps_mod_account[] = {
	{ "letsencrypt", "account", cmd_account, CPS_SITE_NONE, CPS_CMD_SESSION,
	  { { "all", CPS_T_BOOL, "false" } },
	  "The ACME account at the configured CA as the CA has it (URL, status, contact) and as "
	  "kept here (key path, type, JWK thumbprint, when the key was made); all: every CA "
	  "with an account record or directory. Registers nothing; never shows a key." },
	{ "letsencrypt", "rollover-key", cmd_rollover_key, CPS_SITE_NONE, CPS_CMD_SESSION,
	  { { "key_type", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Replace the account key (RFC 8555 key change) with a new one of key_type (ec-256, "
	  "ec-384, rsa-2048, …; null: the current type); the old key stays until the CA "
	  "confirms." },
	{ "letsencrypt", "update-contact", cmd_update_contact, CPS_SITE_NONE, CPS_CMD_SESSION,
	  { { 0 } },
	  "Send the administrator's e-mail (common:set-email) to the CA as the account's "
	  "contact now." },
	{ "letsencrypt", "deactivate-account", cmd_deactivate, CPS_SITE_NONE, CPS_CMD_SESSION,
	  { { "confirm", CPS_T_BOOL, "false" } },
	  "Deactivate the account at the CA for good (give true to confirm); its key is kept "
	  "aside and the next request registers a new account." },
	{ 0 },
};
