#include "modules/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/literal.h"
#include "cpssl/core/log.h"
#include "cpssl/core/sitelock.h"

static const cps_command *const modules[] = {
	cps_mod_common,
	cps_mod_dns,
	cps_mod_letsencrypt,
	cps_mod_account,
	cps_mod_persist,
	cps_mod_misc,
	cps_mod_scope,
	cps_mod_site,
	cps_mod_ssl,
};

#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static bool same_command(const char *want, size_t n, const char *have)
{
	if (strlen(have) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = want[i] == '_' ? '-' : want[i];

		if (a != have[i])
			return false;
	}
	return true;
}

const cps_command *cps_command_find(const char *name)
{
	size_t mlen = strcspn(name, ":_");
	const char *cmd;

	if (name[mlen] == '\0')
		return NULL;
	cmd = name + mlen + 1;
	for (size_t m = 0; m < NMODULES; m++) {
		const cps_command *t = modules[m];

		if (strlen(t->module) != mlen || strncmp(t->module, name, mlen) != 0)
			continue;
		for (; t->name; t++)
			if (same_command(cmd, strlen(cmd), t->name))
				return t;
	}
	return NULL;
}

void cps_command_foreach(cps_command_cb cb, void *ud)
{
	for (size_t m = 0; m < NMODULES; m++)
		for (const cps_command *t = modules[m]; t->name; t++)
			if (cb(t, ud) != 0)
				return;
}

static size_t nparams(const cps_command *cmd)
{
	size_t n = 0;

	while (n < CPS_MAX_PARAMS && cmd->params[n].name)
		n++;
	return n;
}

static void type_name(unsigned types, FILE *f)
{
	static const struct { unsigned t; const char *name; } names[] = {
		{ CPS_T_ARRAY, "array" }, { CPS_T_STRING, "string" },
		{ CPS_T_BOOL, "bool" }, { CPS_T_INT, "int" },
	};
	unsigned base = types & ~(unsigned)CPS_T_NULL;
	int count = 0;

	if (types == CPS_T_MIXED) {
		fputs("mixed", f);
		return;
	}
	for (size_t i = 0; i < 4; i++)
		count += (base & names[i].t) != 0;
	if ((types & CPS_T_NULL) && count == 1)
		fputc('?', f);
	count = 0;
	for (size_t i = 0; i < 4; i++)
		if (base & names[i].t)
			fprintf(f, "%s%s", count++ ? "|" : "", names[i].name);
	if ((types & CPS_T_NULL) && count != 1)
		fputs("|null", f);
}

char *cps_command_signature(const cps_command *cmd)
{
	char *buf = NULL;
	size_t len = 0, n = nparams(cmd);
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "%s:%s(", cmd->module, cmd->name);
	for (size_t i = 0; i < n; i++) {
		const cps_param *p = &cmd->params[i];

		if (i)
			fputs(", ", f);
		type_name(p->types, f);
		fprintf(f, " %s$%s", (cmd->flags & CPS_CMD_VARIADIC) && i + 1 == n ? "..." : "",
			p->name);
		if (p->def)
			fprintf(f, " = %s", p->def);
	}
	fputc(')', f);
	fclose(f);
	return buf;
}

static const char *value_kind(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_int: return "an integer";
	case json_type_double: return "a number";
	case json_type_string: return "a string";
	case json_type_array: return "a list";
	case json_type_object: return "a key:value list";
	}
	return "?";
}

/* Check V against P's types, converting where the intent is plain: a
 * number or boolean given for a string parameter keeps its text, 0/1 for a
 * boolean parameter. */
static int coerce(const cps_param *p, const char *raw, json_object **v,
		  size_t pos, cps_err *err)
{
	json_type t = json_object_get_type(*v);
	char want[64], *wbuf = NULL;
	size_t wlen = 0;
	FILE *f;

	switch (t) {
	case json_type_null:
		if (p->types & CPS_T_NULL)
			return 0;
		break;
	case json_type_boolean:
		if (p->types & CPS_T_BOOL)
			return 0;
		break;
	case json_type_int:
		if (p->types & CPS_T_INT)
			return 0;
		if ((p->types & CPS_T_BOOL) &&
		    (json_object_get_int64(*v) == 0 || json_object_get_int64(*v) == 1)) {
			int b = json_object_get_int64(*v) == 1;

			json_object_put(*v);
			*v = json_object_new_boolean(b);
			return 0;
		}
		break;
	case json_type_double:
		break;
	case json_type_string:
		if (p->types & CPS_T_STRING)
			return 0;
		break;
	case json_type_array:
	case json_type_object:
		if (p->types & CPS_T_ARRAY)
			return 0;
		break;
	}
	if ((p->types & CPS_T_STRING) && raw &&
	    (t == json_type_int || t == json_type_double || t == json_type_boolean)) {
		json_object_put(*v);
		*v = json_object_new_string(raw);
		return 0;
	}
	f = open_memstream(&wbuf, &wlen);
	if (f) {
		type_name(p->types, f);
		fclose(f);
	}
	snprintf(want, sizeof(want), "%s", wbuf ? wbuf : "?");
	free(wbuf);
	return cps_fail(err, CPS_E_INVAL,
			"argument %zu ($%s) must be %s, not %s", pos + 1, p->name,
			want, value_kind(*v));
}

void cps_args_free(json_object **args, size_t nargs)
{
	if (args == NULL)
		return;
	for (size_t i = 0; i < nargs; i++)
		json_object_put(args[i]);
	free(args);
}

int cps_command_bind(const cps_command *cmd, char **argv, int argc,
		     json_object ***out, size_t *nout, cps_err *err)
{
	size_t n = nparams(cmd), total, given = argc > 0 ? (size_t)argc : 0;
	json_object **args;

	*out = NULL;
	*nout = 0;
	if (given > n && !((cmd->flags & CPS_CMD_VARIADIC) && n > 0))
		return cps_fail(err, CPS_E_INVAL,
				"too many arguments: %zu given, at most %zu accepted",
				given, n);
	total = given > n ? given : n;
	args = calloc(total ? total : 1, sizeof(*args));
	if (args == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < total; i++) {
		const cps_param *p = &cmd->params[i < n ? i : n - 1];
		bool variadic_tail = (cmd->flags & CPS_CMD_VARIADIC) && i + 1 >= n;

		if (i < given) {
			if (cps_literal_parse(argv[i], &args[i], err) != 0) {
				cps_err_prefix(err, "argument %zu ($%s)", i + 1, p->name);
				goto fail;
			}
			if (coerce(p, argv[i], &args[i], i, err) != 0)
				goto fail;
		} else if (variadic_tail) {
			total = i; /* no values for the variadic tail */
			break;
		} else if (p->def) {
			if (cps_literal_parse(p->def, &args[i], err) != 0)
				goto fail;
		} else {
			cps_fail(err, CPS_E_INVAL, "missing argument %zu ($%s)",
				 i + 1, p->name);
			goto fail;
		}
	}
	*out = args;
	*nout = total;
	return 0;
fail:
	cps_args_free(args, total);
	return -1;
}

/* What the command's row says it needs. */
static int open_needs(cps_ctx *ctx, unsigned flags, cps_err *err)
{
	if ((flags & CPS_CMD_STORE) && cps_ctx_store(ctx, NULL, err) != 0)
		return -1;
	if ((flags & CPS_CMD_CONFIG) && cps_ctx_config(ctx, NULL, err) != 0)
		return -1;
	if ((flags & CPS_NEED_SETTINGS) && cps_ctx_settings(ctx, err) != 0)
		return -1;
	if ((flags & CPS_NEED_SESSION) && cps_ctx_session(ctx, err) != 0)
		return -1;
	return 0;
}

int cps_dispatch(cps_ctx *ctx, const char *site, const char *name, char **argv,
		 int argc, json_object **result, bool *has_result)
{
	const cps_command *cmd = cps_command_find(name);
	json_object **args = NULL;
	size_t nargs = 0;
	cps_store *st;
	cps_err err;
	char *sig;
	int rc;

	*result = NULL;
	*has_result = false;
	cps_err_clear(&err);
	if (cmd == NULL) {
		cps_error("unknown command '%.100s' (cpcmd -l lists every command)", name);
		return CPS_EXIT_USAGE;
	}
	if (cps_command_bind(cmd, argv, argc, &args, &nargs, &err) != 0) {
		sig = cps_command_signature(cmd);
		cps_error("%s; usage: cpcmd %s%s", err.msg,
			  cmd->site == CPS_SITE_REQUIRED ? "-d SITE " : "", sig ? sig : "");
		free(sig);
		return CPS_EXIT_USAGE;
	}
	if (site && cmd->site == CPS_SITE_NONE) {
		cps_error("%s:%s does not take a site; run it without -d", cmd->module, cmd->name);
		rc = CPS_EXIT_USAGE;
		goto out;
	}
	if (!site && cmd->site == CPS_SITE_REQUIRED) {
		cps_error("%s:%s needs a site: cpcmd -d SITE|DOMAIN %s:%s …",
			  cmd->module, cmd->name, cmd->module, cmd->name);
		rc = CPS_EXIT_USAGE;
		goto out;
	}
	if (site) {
		if (cps_ctx_store(ctx, &st, &err) != 0 ||
		    cps_site_resolve(st, site, &ctx->site, &err) != 0) {
			cps_error("%s", err.msg);
			rc = CPS_EXIT_FAIL;
			goto out;
		}
		ctx->has_site = true;
	}
	if (open_needs(ctx, cmd->flags, &err) != 0 ||
	    ((cmd->flags & CPS_CMD_LOCKS) && cps_site_lock(&ctx->paths, cps_ctx_subject(ctx), &err) != 0)) {
		cps_error("%s", err.msg);
		rc = CPS_EXIT_FAIL;
		goto out;
	}
	rc = cmd->fn(ctx, args, nargs, result, &err);
	if (cmd->flags & CPS_CMD_LOCKS)
		cps_site_unlock(cps_ctx_subject(ctx));
	if (rc < 0) {
		cps_error("%s", err.msg);
		*has_result = *result != NULL;
		rc = CPS_EXIT_FAIL;
	} else {
		*has_result = true;
		rc = rc == CPS_EXIT_NOOP ? CPS_EXIT_NOOP : CPS_EXIT_OK;
	}
out:
	cps_args_free(args, nargs);
	return rc;
}
