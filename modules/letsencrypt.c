/* letsencrypt: certificates from an ACME CA for a site (-d) or for the
 * server itself (no -d). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/core/output.h"
#include "cpssl/deploy/storage.h"
#include "cpssl/issue/housekeeping.h"
#include "cpssl/issue/request.h"
#include "cpssl/issue/revoke.h"
#include "cpssl/issue/stage.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/reloads.h"
#include "cpssl/store/ssl_state.h"
#include "modules/dispatch.h"
#include "modules/metrics.h"
#include "modules/passlog.h"
#include "modules/status.h"

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

/* request, renew and append share their ending: the certificate, or false. */
static int issued(cps_ctx *ctx, int rc, cps_issue_result *res,
		  json_object **result, cps_err *err)
{
	const char *site = cps_ctx_subject(ctx);

	if (rc == CPS_REQUEST_NOTHING) {
		*result = NULL;
		return CPS_EXIT_NOOP;
	}
	if (rc != 0) {
		*result = json_object_new_boolean(0);
		return -1;
	}
	cps_debug("issued in %lld ms with %u HTTP requests (%u badNonce retries)",
		  res->elapsed_ms, res->requests, res->bad_nonces);
	cps_info(RATE_LIMIT_REMINDER);
	*result = cert_json(site, res);
	cps_issue_result_free(res);
	(void)err;
	return 0;
}

static int cmd_request(cps_ctx *ctx, json_object **args, size_t nargs,
		       json_object **result, cps_err *err)
{
	cps_request_opts o = {
		.verify_ip = json_object_get_boolean(args[1]),
		.strict = json_object_get_boolean(args[2]),
		.force = json_object_get_boolean(args[3]),
	};
	cps_issue_result res = { 0 };
	const char **in = NULL;
	size_t nin;
	int rc;

	(void)nargs;
	if (names_arg(args[0], &in, &nin, err) != 0)
		return -1;
	rc = cps_request(ctx->session, cps_ctx_site(ctx), in, nin, &o, &res, err);
	free(in);
	return issued(ctx, rc, &res, result, err);
}

static int cmd_renew(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	cps_issue_result res = { 0 };
	int rc;

	(void)nargs;
	rc = cps_renew(ctx->session, cps_ctx_site(ctx), json_object_get_boolean(args[0]), &res, err);
	return issued(ctx, rc, &res, result, err);
}

static int cmd_append(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	cps_issue_result res = { 0 };
	const char **in = NULL;
	size_t nin;
	int rc;

	(void)nargs;
	if (names_arg(args[0], &in, &nin, err) != 0)
		return -1;
	rc = cps_append(ctx->session, cps_ctx_site(ctx), in, nin, json_object_get_boolean(args[1]),
			&res, err);
	free(in);
	return issued(ctx, rc, &res, result, err);
}

static json_object *staged_json(const cps_staged *v, size_t n)
{
	json_object *res = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		json_object *list = json_object_new_array();

		for (size_t j = 0; j < v[i].nch; j++) {
			const cps_staged_challenge *c = &v[i].ch[j];
			json_object *o = json_object_new_object();

			json_object_object_add(o, "domain", json_object_new_string(c->domain));
			json_object_object_add(o, "status",
					       json_object_new_string(cps_acme_status_name(c->status)));
			json_object_object_add(o, "type", json_object_new_string(c->type));
			json_object_object_add(o, "url", json_object_new_string(c->url));
			json_object_object_add(o, "token", c->token ? json_object_new_string(c->token) : NULL);
			json_object_object_add(o, "payload",
					       c->payload ? json_object_new_string(c->payload) : NULL);
			if (c->record && c->value) {
				json_object_object_add(o, "record", json_object_new_string(c->record));
				json_object_object_add(o, "value", json_object_new_string(c->value));
			}
			json_object_array_add(list, o);
		}
		json_object_object_add(res, v[i].name, list);
	}
	return res;
}

static int cmd_challenges(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	cps_plan_opts po = { .strict = ctx->set.names.strict_mode };
	cps_name_plan *plan = NULL;
	cps_staged *staged = NULL;
	const char **in = NULL;
	size_t nin, np = 0, ns = 0;
	int rc = -1;

	(void)nargs;
	if (names_arg(args[0], &in, &nin, err) != 0)
		return -1;
	if (cps_names_plan(ctx->store, &ctx->set.names, site, in, nin, &po, &plan, &np, err) != 0)
		goto out;
	if (np == 0) {
		cps_warn("no hostnames to register");
		rc = CPS_EXIT_NOOP;
		goto out;
	}
	if (cps_stage(ctx->session, site ? site->id : 0, plan, np, &staged, &ns, err) != 0)
		goto out;
	*result = staged_json(staged, ns);
	rc = 0;
out:
	cps_staged_free(staged, ns);
	cps_name_plans_free(plan, np);
	free(in);
	return rc;
}

static json_object *solved_json(const cps_solved *v, size_t n)
{
	json_object *res = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(v[i].status));
		if (v[i].detail)
			json_object_object_add(o, "detail", json_object_new_string(v[i].detail));
		json_object_object_add(res, v[i].name, o);
	}
	return res;
}

static int cmd_solve(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	size_t n = 0, cap = (size_t)json_object_object_length(args[0]);
	char (*names)[CPS_HOSTNAME_MAX + 1] = calloc(cap ? cap : 1, sizeof(*names));
	const char **ptrs = calloc(cap ? cap : 1, sizeof(*ptrs));
	cps_mech *mechs = calloc(cap ? cap : 1, sizeof(*mechs));
	cps_solved *solved = NULL;
	int rc = -1;

	(void)nargs;
	if (names == NULL || ptrs == NULL || mechs == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (!json_object_is_type(args[0], json_type_object)) {
		cps_fail(err, CPS_E_INVAL,
			 "give each name with its mechanism, e.g. \"['*.d.example':'dns','d.example':'http']\"");
		goto out;
	}
	json_object_object_foreach(args[0], key, val) {
		if (cps_hostname_normalize(key, CPS_NAME_ALLOW_WILDCARD, names[n], err) != 0)
			goto out;
		if (val == NULL || !json_object_is_type(val, json_type_string) ||
		    cps_mech_parse(json_object_get_string(val), &mechs[n]) != 0) {
			cps_fail(err, CPS_E_INVAL, "the mechanism for %s must be 'http', 'dns' or 'persist'", key);
			goto out;
		}
		if ((site && cps_site_check_owns(ctx->store, site, names[n], err) != 0))
			goto out;
		ptrs[n] = names[n];
		n++;
	}
	rc = cps_solve(ctx->session, site ? site->id : 0, ptrs, mechs, n, &solved, err);
	if (solved)
		*result = solved_json(solved, n);
out:
	cps_solved_free(solved, n);
	free(names);
	free(ptrs);
	free(mechs);
	return rc;
}

static int cmd_use_mechanism(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	char name[CPS_HOSTNAME_MAX + 1];
	const char *mech = args[1] ? json_object_get_string(args[1]) : NULL;
	cps_store *st = ctx->store;
	cps_mech m;

	(void)nargs;
	if (cps_hostname_normalize(json_object_get_string(args[0]),
				   CPS_NAME_ALLOW_WILDCARD | CPS_NAME_ALLOW_IP, name, err) != 0)
		return -1;
	if (mech && cps_mech_parse(mech, &m) != 0)
		return cps_fail(err, CPS_E_INVAL, "'%.40s' is not a mechanism: use http, dns, persist, or null", mech);
	if (mech && m != CPS_MECH_HTTP && cps_name_is_ip(name))
		return cps_fail(err, CPS_E_INVAL,
				"%s is an IP address, which only http-01 can validate: %s cannot be "
				"forced for it (use http, or null)", name, mech);
	/* the same ownership rules as a request */
	if (cps_names_may_name(st, &ctx->set.names, site, name, err) != 0)
		return -1;
	if (mech && m == CPS_MECH_HTTP && cps_hostname_is_wildcard(name))
		cps_warn("forcing http for %s will never succeed: a wildcard can only be validated by dns",
			 name);
	if (cps_mech_force(st, site ? site->id : 0, name, mech ? cps_mech_name(m) : NULL, err) != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

static int cmd_exists(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	cps_cert_row row;

	(void)args;
	(void)nargs;
	if (cps_cert_current(ctx->store, ctx->has_site ? ctx->site.id : 0, &row, err) != 0)
		return -1;
	*result = json_object_new_boolean(row.id != 0);
	cps_cert_row_free(&row);
	return 0;
}

static int cmd_storage_path(cps_ctx *ctx, json_object **args, size_t nargs,
			    json_object **result, cps_err *err)
{
	char *path;

	(void)args;
	(void)nargs;
	path = cps_storage_site_dir(&ctx->paths, ctx->set.ca.dir_name, cps_ctx_subject(ctx));
	if (path == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	*result = json_object_new_string(path);
	free(path);
	return 0;
}

static int cmd_revoke(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	const char *how = json_object_get_string(args[0]);
	int reason = cps_revoke_reason(how);
	char *serial = NULL;

	(void)nargs;
	if (reason < 0)
		return cps_fail(err, CPS_E_INVAL,
				"'%.40s' is not a revocation reason (unspecified, keyCompromise, "
				"affiliationChanged, superseded, cessationOfOperation, or 0-5 but 2)", how);
	if (cps_revoke_current(ctx->session, site ? site->id : 0, site ? site->name : "the server",
			       reason, &serial, err) != 0)
		return -1;
	/* a compromised key must not stay in service */
	if (reason == CPS_REVOKE_KEY_COMPROMISE &&
	    cps_replace_current(ctx->session, site, "its key was compromised and it is revoked",
				err) != 0) {
		free(serial);
		return -1;
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "revoked", json_object_new_string(serial));
	free(serial);
	return 0;
}

static int cmd_reload_status(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	cps_reload_row *rows = NULL;
	cps_reload_result *last = NULL;
	size_t n = 0, nl = 0;
	json_object *pending, *done;
	cps_store *st = ctx->store;

	(void)args;
	(void)nargs;
	if (cps_reload_pending(st, &rows, &n, err) != 0)
		return -1;
	if (cps_reload_last(st, &last, &nl, err) != 0) {
		cps_reload_rows_free(rows, n);
		return -1;
	}
	pending = json_object_new_object();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "due", cps_json_time((time_t)rows[i].due));
		json_object_object_add(o, "deployments", json_object_new_int64(rows[i].deployments));
		json_object_object_add(pending, rows[i].service, o);
	}
	done = json_object_new_object();
	for (size_t i = 0; i < nl; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "at", cps_json_time((time_t)last[i].at));
		json_object_object_add(o, "ok", json_object_new_boolean(last[i].ok));
		json_object_object_add(o, "detail", json_object_new_string(last[i].detail));
		json_object_object_add(done, last[i].service, o);
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "pending", pending);
	json_object_object_add(*result, "last", done);
	cps_reload_rows_free(rows, n);
	cps_reload_results_free(last, nl);
	return 0;
}

static json_object *pass_table(const cps_hk_result *r)
{
	json_object *t = json_object_new_array();

	for (size_t i = 0; i < r->n; i++) {
		const cps_hk_row *row = &r->rows[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "site", json_object_new_string(row->site));
		json_object_object_add(o, "names", cps_json_names(row->names));
		json_object_object_add(o, "result", json_object_new_string(row->result));
		json_object_object_add(o, "expires", row->expires ? cps_json_time((time_t)row->expires)
								  : NULL);
		if (row->detail)
			json_object_object_add(o, "detail", json_object_new_string(row->detail));
		json_object_array_add(t, o);
	}
	return t;
}

static int pass(cps_ctx *ctx, bool everything, const char *dir, json_object **result,
		cps_err *err)
{
	cps_progress prog;
	cps_hk_opts o = {
		.everything = everything, .dir = dir,
		.progress = isatty(STDERR_FILENO), .progress_cb = cps_progress_draw,
		.progress_ud = &prog,
	};
	cps_hk_result r;
	time_t started = cps_now();
	struct timespec t1;
	double secs;
	cps_err merr;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	if (cps_housekeeping(ctx->store, ctx->cfg, &ctx->set, &ctx->paths, &o, &r, err) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - prog.start.tv_sec) +
	       (double)(t1.tv_nsec - prog.start.tv_nsec) / 1e9;
	if (ctx->set.syslog)
		cps_passlog_syslog(everything ? "reissue-all" : "housekeeping", &r, secs);
	if (!everything && cps_metrics_write(ctx, &r, started, secs, &merr) != 0)
		cps_warn("%s", merr.msg);
	*result = pass_table(&r);
	cps_info("%zu renewed, %zu failed, %zu skipped", r.renewed, r.failed, r.skipped);
	if (r.failed)
		rc = cps_fail(err, CPS_E_CA, "%zu of %zu certificates could not be renewed; "
			      "each is retried after a backoff (letsencrypt:status)",
			      r.failed, r.renewed + r.failed + r.skipped);
	else
		rc = r.renewed ? 0 : CPS_EXIT_NOOP;
	cps_hk_result_free(&r);
	return rc;
}

static int cmd_housekeeping(cps_ctx *ctx, json_object **args, size_t nargs,
			    json_object **result, cps_err *err)
{
	(void)args;
	(void)nargs;
	return pass(ctx, false, NULL, result, err);
}

static int cmd_reissue_all(cps_ctx *ctx, json_object **args, size_t nargs,
			   json_object **result, cps_err *err)
{
	(void)nargs;
	return pass(ctx, true, args[0] ? json_object_get_string(args[0]) : NULL, result, err);
}

const cps_command cps_mod_letsencrypt[] = {
	{ "letsencrypt", "request", cmd_request, CPS_SITE_OPTIONAL, CPS_CMD_SESSION,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING, NULL },
	    { "verifyip", CPS_T_BOOL, "true" },
	    { "strict", CPS_T_BOOL, "false" },
	    { "force", CPS_T_BOOL, "false" } },
	  "Order a certificate for exactly these names (replacing the set). Names the site does "
	  "not own or (with IP verification) that do not resolve to its IP are dropped with a "
	  "WARNING; strict: nothing is ordered. force: order even past the duplicate limit." },
	{ "letsencrypt", "renew", cmd_renew, CPS_SITE_OPTIONAL, CPS_CMD_SESSION,
	  { { "verifyip", CPS_T_BOOL, "true" } },
	  "Order the current certificate's names again (never strict: a lapsed name is dropped)." },
	{ "letsencrypt", "append", cmd_append, CPS_SITE_OPTIONAL, CPS_CMD_SESSION,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING, NULL },
	    { "verifyip", CPS_T_BOOL, "true" } },
	  "Order the current names plus these." },
	{ "letsencrypt", "challenges", cmd_challenges, CPS_SITE_OPTIONAL,
	  CPS_CMD_SESSION | CPS_CMD_LOCKS,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING, NULL } },
	  "Stage an order: every challenge the CA offers per name, raw (domain, status, type, url, "
	  "token, payload; record and value for dns-01 and dns-persist-01), for the operator to "
	  "publish." },
	{ "letsencrypt", "solve", cmd_solve, CPS_SITE_OPTIONAL, CPS_CMD_SESSION | CPS_CMD_LOCKS,
	  { { "mechanisms", CPS_T_ARRAY, NULL } },
	  "Answer staged challenges, e.g. \"['*.d.example':'dns','d.example':'http']\"; a later "
	  "request for the same names finishes the staged order." },
	{ "letsencrypt", "use-mechanism", cmd_use_mechanism, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "name", CPS_T_STRING, NULL }, { "mechanism", CPS_T_STRING | CPS_T_NULL, NULL } },
	  "Force http, dns or persist (dns-persist-01: see persist-record) for a name; null "
	  "reverts to automatic." },
	{ "letsencrypt", "status", cps_cmd_le_status, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE, { { 0 } },
	  "Names, expiry, issuer, days left, the CA it came from, renewal window, whether it is an "
	  "interim self-signed one (and the attempts this boot), forced mechanisms, failures, last "
	  "error, next attempt and next renewal." },
	{ "letsencrypt", "list", cps_cmd_le_list, CPS_SITE_NONE,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE, { { "sort", CPS_T_STRING, "site" } },
	  "Every certificate: the server and each site with names, issuer, CA, expiry, days left, "
	  "next renewal, failures and the last error; sorted by site (default), expires, "
	  "next_renewal or failures." },
	{ "letsencrypt", "exists", cmd_exists, CPS_SITE_OPTIONAL, CPS_CMD_STORE, { { 0 } },
	  "Whether there is a current certificate." },
	{ "letsencrypt", "storage-path", cmd_storage_path, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS, { { 0 } },
	  "Where the certificates of the configured CA are stored." },
	{ "letsencrypt", "housekeeping", cmd_housekeeping, CPS_SITE_NONE,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE, { { 0 } },
	  "The hourly pass: account, owed reloads, the server's certificate, interim ones, and every certificate "
	  "inside its renewal window, [letsencrypt] concurrency at a time; one reload at the end." },
	{ "letsencrypt", "reissue-all", cmd_reissue_all, CPS_SITE_NONE,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "dir", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Reissue every site stored in DIR (default: the configured CA's certificate directory), "
	  "whatever its window; prints what was reissued, failed or skipped and why." },
	{ "letsencrypt", "rollback", cps_cmd_rollback, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE | CPS_CMD_LOCKS, { { 0 } },
	  "Serve the previous certificate again." },
	{ "letsencrypt", "reload-status", cmd_reload_status, CPS_SITE_NONE,
	  CPS_CMD_STORE, { { 0 } },
	  "Web-server reloads pending (service, when, deployments covered) and the last result of each." },
	{ "letsencrypt", "revoke", cmd_revoke, CPS_SITE_OPTIONAL, CPS_CMD_SESSION | CPS_CMD_LOCKS,
	  { { "reason", CPS_T_STRING | CPS_T_INT, "unspecified" } },
	  "Revoke the current certificate with the account key; reason by name or RFC 5280 code." },
	{ 0 },
};
