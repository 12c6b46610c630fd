/* scope: server-wide settings by name — cp.config (config.ini) and
 * net.hostname. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/server.h"
#include "modules/dispatch.h"

typedef int (*scope_fn)(cps_ctx *ctx, json_object **args, size_t nargs,
			json_object **result, cps_err *err);

typedef struct scope {
	const char *name;
	scope_fn get, set;
	const char *get_usage, *set_usage, *help;
} scope;

static int want_strings(json_object **args, size_t nargs, const char *usage,
			cps_err *err)
{
	for (size_t i = 0; i < nargs; i++)
		if (!json_object_is_type(args[i], json_type_string))
			return cps_fail(err, CPS_E_INVAL,
					"argument %zu must be a name; usage: %s",
					i + 2, usage);
	return 0;
}

static json_object *section_values(const cps_config *cfg, const char *section)
{
	json_object *o = json_object_new_object();

	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (strcmp(k->section, section) != 0)
			continue;
		/* a secret is shown only when asked for by its own name */
		if (k->type == CPS_CT_SECRET && *cps_config_str(cfg, k->id))
			json_object_object_add(o, k->key, json_object_new_string("(set; ask for this key to see it)"));
		else
			json_object_object_add(o, k->key,
					       cps_config_typed(k, cps_config_str(cfg, k->id)));
	}
	return o;
}

static int config_get(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	static const char usage[] = "scope:get cp.config [SECTION [KEY]]";
	const cps_config_key *k;
	cps_config *cfg;

	if (nargs > 2)
		return cps_fail(err, CPS_E_INVAL, "too many arguments; usage: %s", usage);
	if (want_strings(args, nargs, usage, err) != 0 ||
	    cps_ctx_config(ctx, &cfg, err) != 0)
		return -1;
	if (nargs == 0) {
		*result = json_object_new_object();
		for (int i = 0; i < CPS_CFG__COUNT; i++) {
			k = cps_config_key_get((cps_cfg_id)i);
			if (!json_object_object_get_ex(*result, k->section, NULL))
				json_object_object_add(*result, k->section,
						       section_values(cfg, k->section));
		}
		return 0;
	}
	if (nargs == 1) {
		if (cps_config_section_check(json_object_get_string(args[0]), err) != 0)
			return -1;
		*result = section_values(cfg, json_object_get_string(args[0]));
		return 0;
	}
	k = cps_config_key_find(json_object_get_string(args[0]),
				json_object_get_string(args[1]), err);
	if (k == NULL)
		return -1;
	*result = cps_config_typed(k, cps_config_str(cfg, k->id));
	return 0;
}

#define SECRET_MAX 4096

/* A secret's value: "-" reads it from standard input, "@FILE" from a file
 * (one line; a trailing newline is dropped); given itself, it was on the
 * command line, where every user can read it: a WARNING says so. */
static int secret_value(const cps_config_key *k, json_object *arg, json_object **out,
			cps_err *err)
{
	const char *v = json_object_get_string(arg);
	char *text = NULL;
	int rc;

	*out = NULL;
	if (!json_object_is_type(arg, json_type_string) || (strcmp(v, "-") != 0 && v[0] != '@')) {
		if (json_object_is_type(arg, json_type_string) && *v)
			cps_warn("the value of [%s] %s was given on the command line, which every user of "
				 "this server can read while cpcmd runs: give '-' (standard input) or "
				 "@FILE instead", k->section, k->key);
		return 0;
	}
	if (strcmp(v, "-") == 0)
		rc = cps_fs_read_fd(STDIN_FILENO, "standard input", SECRET_MAX, &text, NULL, err);
	else
		rc = cps_fs_read_named(v + 1, SECRET_MAX, &text, NULL, err);
	if (rc != 0)
		return cps_err_prefix(err, "[%s] %s", k->section, k->key);
	text[strcspn(text, "\r\n")] = '\0';
	*out = json_object_new_string(text);
	explicit_bzero(text, strlen(text));
	free(text);
	return 0;
}

static int config_set(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	static const char usage[] = "scope:set cp.config SECTION KEY VALUE";
	const cps_config_key *k;
	json_object *secret = NULL;
	char *canon = NULL, *etc;
	int rc;

	if (nargs != 3)
		return cps_fail(err, CPS_E_INVAL, "expected SECTION KEY VALUE; usage: %s", usage);
	if (want_strings(args, 2, usage, err) != 0)
		return -1;
	k = cps_config_key_find(json_object_get_string(args[0]),
				json_object_get_string(args[1]), err);
	if (k == NULL || (k->type == CPS_CT_SECRET && secret_value(k, args[2], &secret, err) != 0))
		return -1;
	rc = cps_config_normalize(k, secret ? secret : args[2], &canon, err);
	json_object_put(secret);
	if (rc != 0)
		return -1;
	etc = strdup(ctx->paths.config);
	if (etc && strrchr(etc, '/'))
		*strrchr(etc, '/') = '\0'; /* config.ini's directory */
	rc = etc ? cps_fs_mkdir_p(etc, 0755, err)
		 : cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc == 0)
		rc = cps_config_edit(ctx->paths.config, k, canon, err);
	free(etc);
	explicit_bzero(canon, strlen(canon));
	free(canon);
	if (rc != 0)
		return -1;
	cps_ctx_config_reload(ctx);
	*result = json_object_new_boolean(1);
	return 0;
}

static int hostname_get(cps_ctx *ctx, json_object **args, size_t nargs,
			json_object **result, cps_err *err)
{
	char host[HOST_NAME_MAX + 1];
	cps_store *st;
	char *value;

	(void)args;
	if (nargs != 0)
		return cps_fail(err, CPS_E_INVAL, "usage: scope:get net.hostname");
	if (cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_server_get(st, CPS_SERVER_HOSTNAME, &value, err) != 0)
		return -1;
	if (value == NULL) {
		/* not set here: the machine's own name */
		if (gethostname(host, sizeof(host)) != 0)
			return cps_fail(err, CPS_E_NOTFOUND,
					"the server hostname is not set; set it with scope:set net.hostname NAME");
		host[sizeof(host) - 1] = '\0';
		*result = json_object_new_string(host);
		return 0;
	}
	*result = json_object_new_string(value);
	free(value);
	return 0;
}

static int hostname_set(cps_ctx *ctx, json_object **args, size_t nargs,
			json_object **result, cps_err *err)
{
	char host[CPS_HOSTNAME_MAX + 1];
	cps_store *st;

	if (nargs != 1 || !json_object_is_type(args[0], json_type_string))
		return cps_fail(err, CPS_E_INVAL, "usage: scope:set net.hostname NAME");
	if (cps_hostname_normalize(json_object_get_string(args[0]), 0, host, err) != 0 ||
	    cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_server_set(st, CPS_SERVER_HOSTNAME, host, err) != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

static int debug_get(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	cps_store *st;
	char *value = NULL;

	(void)args;
	if (nargs != 0)
		return cps_fail(err, CPS_E_INVAL, "usage: scope:get cp.debug");
	if (cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_server_get(st, CPS_SERVER_DEBUG, &value, err) != 0)
		return -1;
	*result = json_object_new_boolean(value && strcmp(value, "true") == 0);
	free(value);
	return 0;
}

static int debug_set(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err)
{
	cps_store *st;
	bool on;

	if (nargs != 1 || !json_object_is_type(args[0], json_type_boolean))
		return cps_fail(err, CPS_E_INVAL, "usage: scope:set cp.debug true|false");
	on = json_object_get_boolean(args[0]);
	if (cps_ctx_store(ctx, &st, err) != 0 ||
	    cps_server_set(st, CPS_SERVER_DEBUG, on ? "true" : "false", err) != 0)
		return -1;
	cps_info("DEBUG lines are %s for later commands%s", on ? "on" : "off",
		 on ? " (env DEBUG=0 turns them off for one)" : "");
	*result = json_object_new_boolean(1);
	return 0;
}

static const scope scopes[] = {
	{ "cp.config", config_get, config_set,
	  "scope:get cp.config [SECTION [KEY]]",
	  "scope:set cp.config SECTION KEY VALUE",
	  "config.ini: read a key, a section or everything; set a key (type-checked, "
	  "written in place keeping comments and order)." },
	{ "net.hostname", hostname_get, hostname_set,
	  "scope:get net.hostname", "scope:set net.hostname NAME",
	  "The server hostname, the first name of the server's own certificate." },
	{ "cp.debug", debug_get, debug_set,
	  "scope:get cp.debug", "scope:set cp.debug true|false",
	  "Verbose operation: DEBUG lines for every later command, as env DEBUG=1 gives one." },
};

static const scope *find_scope(json_object *name, cps_err *err)
{
	const char *n = json_object_get_string(name);
	char list[256] = "";

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		if (strcmp(scopes[i].name, n) == 0)
			return &scopes[i];
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? ", " : "", scopes[i].name);
	}
	cps_fail(err, CPS_E_NOTFOUND, "unknown scope '%.80s'; scopes: %s", n, list);
	return NULL;
}

static int cmd_get(cps_ctx *ctx, json_object **args, size_t nargs,
		   json_object **result, cps_err *err)
{
	const scope *s = find_scope(args[0], err);

	return s ? s->get(ctx, args + 1, nargs - 1, result, err) : -1;
}

static int cmd_set(cps_ctx *ctx, json_object **args, size_t nargs,
		   json_object **result, cps_err *err)
{
	const scope *s = find_scope(args[0], err);

	return s ? s->set(ctx, args + 1, nargs - 1, result, err) : -1;
}

static int cmd_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	(void)ctx;
	(void)args;
	(void)nargs;
	(void)err;
	*result = json_object_new_object();
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "get", json_object_new_string(scopes[i].get_usage));
		json_object_object_add(o, "set", json_object_new_string(scopes[i].set_usage));
		json_object_object_add(o, "help", json_object_new_string(scopes[i].help));
		json_object_object_add(*result, scopes[i].name, o);
	}
	return 0;
}

const cps_command cps_mod_scope[] = {
	{ "scope", "get", cmd_get, CPS_SITE_NONE, CPS_CMD_VARIADIC,
	  { { "name", CPS_T_STRING, NULL }, { "args", CPS_T_MIXED, NULL } },
	  "Read a server-wide setting: cp.config [SECTION [KEY]], net.hostname, cp.debug." },
	{ "scope", "set", cmd_set, CPS_SITE_NONE, CPS_CMD_VARIADIC,
	  { { "name", CPS_T_STRING, NULL }, { "args", CPS_T_MIXED, NULL } },
	  "Change a server-wide setting: cp.config SECTION KEY VALUE, net.hostname NAME, cp.debug true|false." },
	{ "scope", "list", cmd_list, CPS_SITE_NONE, 0, { { 0 } },
	  "List the scopes and how to read and change them." },
	{ 0 },
};
