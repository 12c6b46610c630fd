/* letsencrypt: certificates from an ACME CA for a site (-d) or for the
 * server itself (no -d). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpssl/core/log.h"
#include "cpssl/issue/issue.h"
#include "cpssl/issue/names.h"
#include "cpssl/issue/revoke.h"
#include "cpssl/store/settings.h"
#include "cpssl/core/output.h"
#include "modules/dispatch.h"

#define RATE_LIMIT_REMINDER \
	"reminder: only 5 duplicate certificates and 50 unique certificates may be issued per week per account"

/* A list (or one string) of names → a C array borrowed from ARG. */
static int names_arg(json_object *arg, const char ***out, size_t *n, cps_err *err)
{
	size_t len = json_object_is_type(arg, json_type_string) ? 1
		     : json_object_is_type(arg, json_type_array) ? json_object_array_length(arg) : 0;
	const char **v = calloc(len ? len : 1, sizeof(*v));

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (json_object_is_type(arg, json_type_string)) {
		v[0] = json_object_get_string(arg);
	} else if (json_object_is_type(arg, json_type_array)) {
		for (size_t i = 0; i < len; i++) {
			json_object *e = json_object_array_get_idx(arg, i);

			if (!json_object_is_type(e, json_type_string)) {
				free(v);
				return cps_fail(err, CPS_E_INVAL,
						"every hostname must be a string, as in '[a.example,*.a.example]'");
			}
			v[i] = json_object_get_string(e);
		}
	} else {
		free(v);
		return cps_fail(err, CPS_E_INVAL, "hostnames must be a list such as '[a.example,www.a.example]'");
	}
	*out = v;
	*n = len;
	return 0;
}

static json_object *cert_json(const char *site, const cps_issue_result *res)
{
	json_object *o = json_object_new_object(), *names = json_object_new_array();

	for (size_t i = 0; i < res->info.nsans; i++)
		json_object_array_add(names, json_object_new_string(res->info.sans[i]));
	json_object_object_add(o, "site", json_object_new_string(site));
	json_object_object_add(o, "names", names);
	json_object_object_add(o, "expires", cps_json_time(res->info.not_after));
	json_object_object_add(o, "fingerprint", json_object_new_string(res->info.fingerprint));
	json_object_object_add(o, "serial", json_object_new_string(res->info.serial));
	json_object_object_add(o, "issuer", json_object_new_string(res->info.issuer));
	json_object_object_add(o, "key_type", json_object_new_string(res->info.key_type));
	json_object_object_add(o, "path", json_object_new_string(res->dir));
	return o;
}

static int cmd_request(cps_ctx *ctx, json_object **args, size_t nargs,
		       json_object **result, cps_err *err)
{
	const cps_site *site = ctx->has_site ? &ctx->site : NULL;
	long site_id = site ? site->id : 0;
	const char **in = NULL;
	char **names = NULL;
	size_t nin = 0, n = 0;
	cps_mech *mechs = NULL;
	cps_session *s = NULL;
	cps_issue_result res = { 0 };
	cps_config *cfg;
	cps_store *st;
	bool verify = json_object_get_boolean(args[1]), verify_setting;
	bool strict = json_object_get_boolean(args[2]), strict_setting;
	int rc = -1;

	(void)nargs;
	if (names_arg(args[0], &in, &nin, err) != 0)
		return -1;
	if (cps_ctx_config(ctx, &cfg, err) != 0 || cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_setting_bool(st, cfg, site_id, CPS_CFG_LE_STRICT_MODE, &strict_setting, err) != 0 ||
	    cps_setting_bool(st, cfg, site_id, CPS_CFG_LE_VERIFY_IP, &verify_setting, err) != 0)
		goto out;
	if (cps_names_prepare(st, cfg, site, in, nin, strict || strict_setting,
			      verify && verify_setting, &names, &n, err) != 0)
		goto out;
	if (n == 0) {
		cps_warn("no hostnames to register");
		rc = CPS_EXIT_NOOP;
		goto out;
	}
	mechs = calloc(n, sizeof(*mechs));
	if (mechs == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		mechs[i] = cps_hostname_is_wildcard(names[i]) ? CPS_MECH_DNS : CPS_MECH_HTTP;
	if (cps_session_open(st, cfg, &ctx->paths, &s, err) != 0 ||
	    cps_issue(s, &(cps_issue_req){ site_id, site ? site->name : "server",
					   (const char *const *)names, mechs, n },
		      &res, err) != 0) {
		cps_err_prefix(err, "%s", site ? site->name : "server certificate");
		goto out;
	}
	cps_debug("issued in %lld ms with %u HTTP requests (%u badNonce retries)",
		  res.elapsed_ms, res.requests, res.bad_nonces);
	cps_info(RATE_LIMIT_REMINDER);
	*result = cert_json(site ? site->name : "server", &res);
	rc = 0;
out:
	cps_issue_result_free(&res);
	cps_session_free(s);
	cps_strv_free(names, n);
	free(mechs);
	free(in);
	return rc;
}

static int cmd_revoke(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	const cps_site *site = ctx->has_site ? &ctx->site : NULL;
	const char *how = json_object_get_string(args[0]);
	int reason = cps_revoke_reason(how);
	cps_session *s = NULL;
	char *serial = NULL;
	cps_config *cfg;
	cps_store *st;
	int rc;

	(void)nargs;
	if (reason < 0)
		return cps_fail(err, CPS_E_INVAL,
				"'%.40s' is not a revocation reason (unspecified, keyCompromise, "
				"affiliationChanged, superseded, cessationOfOperation, or 0-5 but 2)", how);
	if (cps_ctx_config(ctx, &cfg, err) != 0 || cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_session_open(st, cfg, &ctx->paths, &s, err) != 0)
		return -1;
	rc = cps_revoke_current(s, site ? site->id : 0, site ? site->name : "the server",
				reason, &serial, err);
	cps_session_free(s);
	if (rc != 0)
		return -1;
	*result = json_object_new_object();
	json_object_object_add(*result, "revoked", json_object_new_string(serial));
	free(serial);
	return 0;
}

const cps_command cps_mod_letsencrypt[] = {
	{ "letsencrypt", "request", cmd_request, CPS_SITE_OPTIONAL, 0,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING, NULL },
	    { "verifyip", CPS_T_BOOL, "true" },
	    { "strict", CPS_T_BOOL, "false" } },
	  "Order a certificate for exactly these names (replacing the set): http-01 for plain "
	  "names, dns-01 for wildcards; names the site does not own, or (with IP verification) "
	  "that do not resolve to its IP, are dropped with a WARNING (strict: nothing is ordered)." },
	{ "letsencrypt", "revoke", cmd_revoke, CPS_SITE_OPTIONAL, 0,
	  { { "reason", CPS_T_STRING | CPS_T_INT, "unspecified" } },
	  "Revoke the current certificate with the account key; reason by name or RFC 5280 code." },
	{ 0 },
};
