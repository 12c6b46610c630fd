/* ssl: certificates whatever their source — imports from another CA,
 * self-signed ones, CSRs, inspection, deletion and rollback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/output.h"
#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/apache.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/deploy/import.h"
#include "cpssl/deploy/reload.h"
#include "cpssl/deploy/targets.h"
#include "cpssl/issue/names.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/server.h"
#include "modules/dispatch.h"

static json_object *info_json(const cps_cert_info *info)
{
	json_object *o = json_object_new_object(), *sans = json_object_new_array();

	for (size_t i = 0; i < info->nsans; i++)
		json_object_array_add(sans, json_object_new_string(info->sans[i]));
	json_object_object_add(o, "subject", json_object_new_string(info->subject_cn));
	json_object_object_add(o, "names", sans);
	json_object_object_add(o, "issuer", json_object_new_string(info->issuer));
	json_object_object_add(o, "not_before", cps_json_time(info->not_before));
	json_object_object_add(o, "not_after", cps_json_time(info->not_after));
	json_object_object_add(o, "serial", json_object_new_string(info->serial));
	json_object_object_add(o, "fingerprint", json_object_new_string(info->fingerprint));
	json_object_object_add(o, "key_type", json_object_new_string(info->key_type));
	json_object_object_add(o, "self_signed", json_object_new_boolean(info->self_signed));
	return o;
}

/* A PEM argument, or the current certificate when ARG is null. */
static int cert_info(cps_ctx *ctx, json_object *arg, cps_cert_info *info,
		     cps_err *err)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	char *pem = NULL, *path = NULL;
	size_t len = 0;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (arg) {
		const char *s = json_object_get_string(arg);

		rc = cps_cert_parse_pem(s, strlen(s), &leaf, &chain, err);
	} else {
		cps_cert_row row;
		cps_store *st;

		if (cps_ctx_store(ctx, &st, err) != 0 ||
		    cps_cert_current(st, ctx->has_site ? ctx->site.id : 0, &row, err) != 0)
			return -1;
		if (row.id == 0)
			rc = cps_fail(err, CPS_E_NOTFOUND, "%s has no certificate", cps_ctx_subject(ctx));
		else if ((path = cps_path_join(row.path, "cert.pem")) != NULL &&
			 cps_fs_read(path, 1 << 20, &pem, &len, err) == 0)
			rc = cps_cert_parse_pem(pem, len, &leaf, &chain, err);
		cps_cert_row_free(&row);
	}
	if (rc == 0)
		rc = cps_cert_info_get(leaf, info, err);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	free(path);
	return rc;
}

#define PEM_ARG_MAX (1024 * 1024)

/* An argument of ssl:install: the PEM itself, an absolute file path, or
 * "-" for standard input (one argument at most). A private key given
 * itself is on the command line, which every user of the server can read
 * while cpcmd runs: a WARNING says so. */
static int pem_arg(json_object *arg, const char *what, bool secret, bool *stdin_taken,
		   char **out, cps_err *err)
{
	const char *v = json_object_get_string(arg);

	*out = NULL;
	if (strcmp(v, "-") == 0) {
		if (*stdin_taken)
			return cps_fail(err, CPS_E_INVAL, "only one argument can be read from standard input ('-')");
		*stdin_taken = true;
		return cps_fs_read_fd(STDIN_FILENO, "standard input", PEM_ARG_MAX, out, NULL, err) != 0
			       ? cps_err_prefix(err, "the %s", what) : 0;
	}
	if (v[0] == '/')
		return cps_fs_read_named(v, PEM_ARG_MAX, out, NULL, err) != 0
			       ? cps_err_prefix(err, "cannot read the %s", what) : 0;
	/* anything else is PEM (the parser says what is wrong with it) */
	if (secret && strstr(v, "PRIVATE KEY-----") != NULL)
		cps_warn("the %s was given on the command line, which every user of this server can read "
			 "while cpcmd runs (/proc/PID/cmdline): give a file path or '-' (standard input) "
			 "instead", what);
	*out = strdup(v);
	return *out ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

static int cmd_install(cps_ctx *ctx, json_object **args, size_t nargs,
		       json_object **result, cps_err *err)
{
	char *key = NULL, *cert = NULL, *chain = NULL;
	bool stdin_taken = false;
	cps_cert_info info;
	int rc = -1;

	(void)nargs;
	if (pem_arg(args[0], "private key", true, &stdin_taken, &key, err) == 0 &&
	    pem_arg(args[1], "certificate", false, &stdin_taken, &cert, err) == 0 &&
	    (args[2] == NULL || pem_arg(args[2], "chain", false, &stdin_taken, &chain, err) == 0) &&
	    cps_import(ctx->store, &ctx->set, &ctx->paths, cps_ctx_site(ctx), key, cert, chain, &info,
		       err) == 0) {
		*result = info_json(&info);
		cps_cert_info_free(&info);
		rc = 0;
	}
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	free(chain);
	return rc == 0 ? 0 : cps_err_prefix(err, "%s", cps_ctx_subject(ctx));
}

static int cmd_get_certificates(cps_ctx *ctx, json_object **args, size_t nargs,
				json_object **result, cps_err *err)
{
	cps_cert_row *rows;
	long long current;
	size_t n;

	(void)args;
	(void)nargs;
	if (cps_cert_list(ctx->store, ctx->has_site ? ctx->site.id : 0, &rows, &n, &current, err) != 0)
		return -1;
	*result = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "serial", json_object_new_string(rows[i].serial));
		json_object_object_add(o, "names", cps_json_names(rows[i].names));
		json_object_object_add(o, "expires", cps_json_time((time_t)rows[i].not_after));
		json_object_object_add(o, "issuer", json_object_new_string(rows[i].issuer));
		json_object_object_add(o, "origin", json_object_new_string(rows[i].server));
		json_object_object_add(o, "profile",
				       rows[i].profile ? json_object_new_string(rows[i].profile) : NULL);
		json_object_object_add(o, "current", json_object_new_boolean(rows[i].id == current));
		json_object_array_add(*result, o);
	}
	cps_cert_rows_free(rows, n);
	return 0;
}

/* Whether the web server has FILE of the site (or the server's PEM): through
 * the links cpssl made, and nothing a site's user could plant. */
static int served_file_exists(cps_ctx *ctx, cps_apache_file file, json_object **result)
{
	cps_err e;

	*result = json_object_new_boolean(
		ctx->has_site ? cps_apache_check(&ctx->set.layout, ctx->site.name, file, NULL, 0, &e) == 0
			      : cps_target_server_pem_present(&ctx->set.layout));
	return 0;
}

static int cmd_cert_exists(cps_ctx *ctx, json_object **args, size_t nargs,
			   json_object **result, cps_err *err)
{
	(void)args;
	(void)nargs;
	(void)err;
	return served_file_exists(ctx, CPS_APACHE_CERT, result);
}

static int cmd_key_exists(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err)
{
	(void)args;
	(void)nargs;
	(void)err;
	return served_file_exists(ctx, CPS_APACHE_KEY, result);
}

static int cmd_alt_names(cps_ctx *ctx, json_object **args, size_t nargs,
			 json_object **result, cps_err *err)
{
	cps_cert_info info;

	(void)nargs;
	if (cert_info(ctx, args[0], &info, err) != 0)
		return -1;
	*result = json_object_new_array();
	for (size_t i = 0; i < info.nsans; i++)
		json_object_array_add(*result, json_object_new_string(info.sans[i]));
	cps_cert_info_free(&info);
	return 0;
}

static int cmd_is_self_signed(cps_ctx *ctx, json_object **args, size_t nargs,
			      json_object **result, cps_err *err)
{
	cps_cert_info info;

	(void)nargs;
	if (cert_info(ctx, args[0], &info, err) != 0)
		return -1;
	*result = json_object_new_boolean(info.self_signed);
	cps_cert_info_free(&info);
	return 0;
}

static int cmd_parse(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	cps_cert_info info;

	(void)nargs;
	if (cert_info(ctx, args[0], &info, err) != 0)
		return -1;
	*result = info_json(&info);
	cps_cert_info_free(&info);
	return 0;
}

static int cmd_delete(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	cps_cert_row row;
	int rc;

	(void)args;
	(void)nargs;
	if (cps_cert_current(ctx->store, ctx->site.id, &row, err) != 0)
		return -1;
	rc = row.id ? 0 : cps_fail(err, CPS_E_NOTFOUND, "%s has no certificate to delete", ctx->site.name);
	cps_cert_row_free(&row);
	if (rc != 0 ||
	    cps_undeploy(ctx->store, &ctx->set, &ctx->paths, ctx->site.id, ctx->site.name, err) != 0)
		return -1;
	cps_info("%s no longer serves a certificate; its SSL is off", ctx->site.name);
	*result = json_object_new_boolean(1);
	return 0;
}

/* The names of a self-signed certificate or CSR: checked like a request. */
static int plan_names(cps_ctx *ctx, json_object *arg, cps_name_plan **plan, size_t *np,
		      cps_err *err)
{
	const cps_name_settings *ns = &ctx->set.names;
	cps_store *st = ctx->store;
	cps_plan_opts po = { .strict = true };
	const char **in;
	size_t n;
	char **doms = NULL;
	size_t nd = 0;
	int rc;

	if (arg == NULL) {
		/* the site's domains, or the server's names */
		if (ctx->has_site ? cps_site_domains(st, ctx->site.id, &doms, &nd, err) != 0
				  : cps_server_names(st, &ns->additional_certs, &doms, &nd, err) != 0)
			return -1;
		rc = cps_names_plan(st, ns, cps_ctx_site(ctx), (const char *const *)doms, nd, &po,
				    plan, np, err);
		cps_strv_free(doms, nd);
		return rc;
	}
	n = json_object_is_type(arg, json_type_array) ? json_object_array_length(arg) : 1;
	in = calloc(n ? n : 1, sizeof(*in));
	if (in == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_is_type(arg, json_type_array)
					 ? json_object_array_get_idx(arg, i) : arg;

		in[i] = e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
	}
	rc = cps_names_plan(st, ns, cps_ctx_site(ctx), in, n, &po, plan, np, err);
	free(in);
	return rc;
}

static int cmd_sign(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	cps_name_plan *plan = NULL;
	const char **names = NULL;
	cps_cert_info info;
	size_t np = 0;
	int rc = -1;

	(void)nargs;
	if (plan_names(ctx, args[0], &plan, &np, err) != 0)
		return -1;
	if (np == 0) {
		cps_name_plans_free(plan, np);
		return cps_fail(err, CPS_E_INVAL, "no hostnames for the certificate");
	}
	names = calloc(np, sizeof(*names));
	for (size_t i = 0; names && i < np; i++)
		names[i] = plan[i].name;
	if (names && cps_deploy_selfsigned(ctx->store, &ctx->set, &ctx->paths, ctx->has_site ? ctx->site.id : 0,
					   cps_ctx_subject(ctx), names, np, false, &info, err) == 0) {
		*result = info_json(&info);
		cps_cert_info_free(&info);
		rc = 0;
	}
	free(names);
	cps_name_plans_free(plan, np);
	return rc;
}

static int cmd_generate_csr(cps_ctx *ctx, json_object **args, size_t nargs,
			    json_object **result, cps_err *err)
{
	cps_name_plan *plan = NULL;
	const char **names = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	char *pem = NULL, *dir = NULL, *kpath = NULL;
	size_t np = 0, derlen = 0;
	int rc = -1;

	(void)nargs;
	if (plan_names(ctx, args[0], &plan, &np, err) != 0)
		return -1;
	if (np == 0 || (names = calloc(np, sizeof(*names))) == NULL) {
		cps_fail(err, CPS_E_INVAL, "no hostnames for the request");
		goto out;
	}
	for (size_t i = 0; i < np; i++)
		names[i] = plan[i].name;
	if (args[1]) {
		char *k = NULL;
		bool stdin_taken = false;
		int krc = pem_arg(args[1], "private key", true, &stdin_taken, &k, err) != 0 ||
			  cps_key_from_pem(k, strlen(k), &key, err) != 0 ? -1 : 0;

		if (k) {
			explicit_bzero(k, strlen(k));
			free(k);
		}
		if (krc != 0)
			goto out;
	} else {
		char file[64];
		time_t now = cps_now();
		struct tm tm;

		/* a new key, kept where ssl:install can be given it later */
		gmtime_r(&now, &tm);
		strftime(file, sizeof(file), "%Y%m%dT%H%M%SZ.key", &tm);
		if (cps_key_generate(ctx->set.key_type, &key, err) != 0 ||
		    asprintf(&dir, "%s/csr/%s", ctx->paths.storage, cps_ctx_subject(ctx)) < 0 ||
		    cps_fs_mkdir_p(dir, 0700, err) != 0 ||
		    (kpath = cps_path_join(dir, file)) == NULL || cps_key_save(kpath, key, err) != 0)
			goto out;
	}
	if (cps_csr_create(key, names, np, &der, &derlen, err) != 0 ||
	    cps_csr_to_pem(der, derlen, &pem, err) != 0)
		goto out;
	*result = json_object_new_object();
	json_object_object_add(*result, "csr", json_object_new_string(pem));
	json_object_object_add(*result, "key", kpath ? json_object_new_string(kpath) : NULL);
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	free(pem);
	free(dir);
	free(kpath);
	free(names);
	cps_name_plans_free(plan, np);
	return rc;
}

int cps_cmd_rollback(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	cps_cert_info info;

	(void)args;
	(void)nargs;
	if (cps_deploy_rollback(ctx->store, &ctx->set, &ctx->paths, ctx->has_site ? ctx->site.id : 0,
				cps_ctx_subject(ctx), &info, err) != 0)
		return -1;
	*result = info_json(&info);
	cps_cert_info_free(&info);
	return 0;
}

const cps_command cps_mod_ssl[] = {
	{ "ssl", "install", cmd_install, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE | CPS_CMD_LOCKS,
	  { { "key", CPS_T_STRING, NULL }, { "cert", CPS_T_STRING, NULL },
	    { "chain", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Install a certificate from another CA: the key must match, the certificate must be "
	  "valid now and name only the site's hostnames; then deployed and reloaded. Each "
	  "argument is PEM, an absolute file path, or '-' for standard input." },
	{ "ssl", "get-certificates", cmd_get_certificates, CPS_SITE_OPTIONAL,
	  CPS_CMD_STORE, { { 0 } },
	  "Every certificate the site has had, newest first, the current one marked." },
	{ "ssl", "cert-exists", cmd_cert_exists, CPS_SITE_OPTIONAL, CPS_CMD_SETTINGS, { { 0 } },
	  "Whether the web server has a certificate file for the site." },
	{ "ssl", "key-exists", cmd_key_exists, CPS_SITE_OPTIONAL, CPS_CMD_SETTINGS, { { 0 } },
	  "Whether the web server has a key file for the site." },
	{ "ssl", "get-alternative-names", cmd_alt_names, CPS_SITE_OPTIONAL, 0,
	  { { "cert", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "The hostnames (SANs) of a certificate, or of the current one." },
	{ "ssl", "is-self-signed", cmd_is_self_signed, CPS_SITE_OPTIONAL, 0,
	  { { "cert", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Whether a certificate (or the current one) is self-signed." },
	{ "ssl", "parse-certificate", cmd_parse, CPS_SITE_OPTIONAL, 0,
	  { { "cert", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Subject, names, issuer, dates, serial, fingerprint and key type of a certificate." },
	{ "ssl", "delete", cmd_delete, CPS_SITE_REQUIRED,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE | CPS_CMD_LOCKS, { { 0 } },
	  "Stop serving the site's certificate (files removed, SSL off, web server reloaded); "
	  "the stored copies stay." },
	{ "ssl", "generate-csr", cmd_generate_csr, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING, NULL },
	    { "key", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "A CSR for names of the site, signed with the given key (PEM, an absolute file path, or "
	  "'-' for standard input) or a new one (stored 0600; its path is returned, never the key "
	  "itself)." },
	{ "ssl", "sign-certificate", cmd_sign, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE | CPS_CMD_LOCKS,
	  { { "names", CPS_T_ARRAY | CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Install a self-signed certificate (serverAuth) for names of the site (default: all "
	  "its domains)." },
	{ "ssl", "rollback", cps_cmd_rollback, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE | CPS_CMD_LOCKS, { { 0 } },
	  "Serve the previous certificate again." },
	{ 0 },
};
