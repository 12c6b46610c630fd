/* site: the sites SSL serves — creation, domains, per-site settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpssl/core/log.h"
#include "cpssl/core/output.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/deploy/storage.h"
#include "cpssl/issue/request.h"
#include "cpssl/store/settings.h"
#include "modules/dispatch.h"

static int site_json(cps_store *st, const cps_site *s, json_object **out,
		     cps_err *err)
{
	json_object *o = json_object_new_object(), *doms = json_object_new_array();
	char **v;
	size_t n;

	if (cps_site_domains(st, s->id, &v, &n, err) != 0) {
		json_object_put(o);
		json_object_put(doms);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(doms, json_object_new_string(v[i]));
	cps_strv_free(v, n);
	json_object_object_add(o, "site", json_object_new_string(s->name));
	json_object_object_add(o, "domain", json_object_new_string(s->domain));
	json_object_object_add(o, "domains", doms);
	json_object_object_add(o, "ip", json_object_new_string(s->ip));
	json_object_object_add(o, "ip6", s->ip6[0] ? json_object_new_string(s->ip6) : NULL);
	json_object_object_add(o, "email", s->email[0] ? json_object_new_string(s->email) : NULL);
	json_object_object_add(o, "ssl", json_object_new_boolean(s->ssl_enabled));
	json_object_object_add(o, "created", cps_json_time(s->created));
	*out = o;
	return 0;
}

static const char *opt_string(json_object *opts, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(opts, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static int cmd_add(cps_ctx *ctx, json_object **args, size_t nargs,
		   json_object **result, cps_err *err)
{
	static const char *const known[] = { "ip", "ip6", "email" };
	json_object *opts = args[1];
	cps_site_new in = { 0 };
	cps_site site;

	(void)nargs;
	if (json_object_is_type(opts, json_type_array)) {
		if (json_object_array_length(opts) != 0)
			return cps_fail(err, CPS_E_INVAL,
					"options must be a key:value list, e.g. \"['ip':'192.0.2.10','email':'admin@example.com']\"");
	} else {
		json_object_object_foreach(opts, key, val) {
			bool ok = false;

			for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
				ok = ok || strcmp(key, known[i]) == 0;
			if (!ok)
				return cps_fail(err, CPS_E_INVAL,
						"unknown site option '%.64s' (known: ip, ip6, email)", key);
			if (val && !json_object_is_type(val, json_type_string))
				return cps_fail(err, CPS_E_INVAL,
						"site option '%s' must be a string", key);
		}
	}
	in.domain = json_object_get_string(args[0]);
	in.ip = opt_string(opts, "ip");
	in.ip6 = opt_string(opts, "ip6");
	in.email = opt_string(opts, "email");
	if (cps_site_create(ctx->store, &in, &site, err) != 0)
		return -1;
	*result = json_object_new_string(site.name);
	return 0;
}

static int cmd_add_domain(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err)
{
	(void)nargs;
	if (cps_site_add_domain(ctx->store, ctx->site.id,
				json_object_get_string(args[0]), err) != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

/* A certificate naming the domain stops being served from the site: it is
 * reissued without it, replaced by a self-signed one, or taken down. */
static int cmd_remove_domain(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	(void)nargs;
	if (cps_site_remove_domain(ctx->store, ctx->site.id,
				   json_object_get_string(args[0]), err) != 0 ||
	    cps_serve_owned_only(ctx->session, &ctx->site, err) != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

typedef struct list_ud {
	cps_store *st;
	json_object *out;
	cps_err *err;
} list_ud;

static int list_one(const cps_site *s, void *ud)
{
	list_ud *l = ud;
	json_object *o;

	if (site_json(l->st, s, &o, l->err) != 0)
		return -1;
	json_object_array_add(l->out, o);
	return 0;
}

static int cmd_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	list_ud l = { .err = err };

	(void)args;
	(void)nargs;
	l.st = ctx->store;
	l.out = json_object_new_array();
	if (cps_site_foreach(l.st, list_one, &l, err) != 0) {
		json_object_put(l.out);
		return -1;
	}
	*result = l.out;
	return 0;
}

static int cmd_info(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	(void)args;
	(void)nargs;
	return site_json(ctx->store, &ctx->site, result, err);
}

/* Nothing of the site stays served: its files leave every target before it
 * goes; its stored certificates stay unless PURGE. */
static int cmd_delete(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	bool purge = json_object_get_boolean(args[0]);

	(void)nargs;
	if (cps_undeploy(ctx->store, &ctx->set, &ctx->paths, ctx->site.id, ctx->site.name, err) != 0 ||
	    (purge && cps_storage_purge(&ctx->paths, ctx->site.name, err) != 0) ||
	    cps_site_delete(ctx->store, ctx->site.id, err) != 0)
		return cps_err_prefix(err, "%s", ctx->site.name);
	cps_info("%s is deleted; %s", ctx->site.name,
		 purge ? "its stored certificates and keys are removed"
		       : "its stored certificates stay (site:delete true removes them)");
	*result = json_object_new_boolean(1);
	return 0;
}

static int cmd_owns(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	char name[CPS_HOSTNAME_MAX + 1];
	long owner;

	(void)nargs;
	if (cps_hostname_normalize(json_object_get_string(args[0]),
				   CPS_NAME_ALLOW_WILDCARD, name, err) != 0 ||
	    cps_site_owner(ctx->store, name, &owner, err) != 0)
		return -1;
	*result = json_object_new_boolean(owner == ctx->site.id);
	return 0;
}

static int cmd_set_setting(cps_ctx *ctx, json_object **args, size_t nargs,
			   json_object **result, cps_err *err)
{
	const cps_config_key *k = cps_setting_key(json_object_get_string(args[0]), err);
	char key[128], *canon = NULL;
	int rc;

	(void)nargs;
	if (k == NULL)
		return -1;
	snprintf(key, sizeof(key), "%s.%s", k->section, k->key);
	if (args[1] == NULL) {
		rc = cps_site_setting_unset(ctx->store, ctx->site.id, key, err);
	} else {
		if (cps_config_normalize(k, args[1], &canon, err) != 0)
			return -1;
		rc = cps_site_setting_set(ctx->store, ctx->site.id, key, canon, err);
		free(canon);
	}
	if (rc != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

static int cmd_get_settings(cps_ctx *ctx, json_object **args, size_t nargs,
			    json_object **result, cps_err *err)
{
	(void)args;
	(void)nargs;
	(void)err;
	*result = json_object_new_object();
	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);
		json_object *o;
		char key[128];

		if (!(k->flags & CPS_CK_SITE))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "value", cps_config_typed(k, ctx->set.text[i]));
		json_object_object_add(o, "source",
				       json_object_new_string(cps_source_name(ctx->set.src[i])));
		snprintf(key, sizeof(key), "%s.%s", k->section, k->key);
		json_object_object_add(*result, key, o);
	}
	return 0;
}

const cps_command cps_mod_site[] = {
	{ "site", "add", cmd_add, CPS_SITE_NONE, CPS_CMD_STORE,
	  { { "domain", CPS_T_STRING, NULL }, { "options", CPS_T_ARRAY, "[]" } },
	  "Create a site for DOMAIN with options ip (required), ip6, email; prints the new site's id (siteN)." },
	{ "site", "add-domain", cmd_add_domain, CPS_SITE_REQUIRED, 0,
	  { { "domain", CPS_T_STRING, NULL } },
	  "Add a domain to the site; refused when another site hosts it, a parent of it, or a name below it." },
	{ "site", "remove-domain", cmd_remove_domain, CPS_SITE_REQUIRED,
	  CPS_CMD_SESSION | CPS_CMD_LOCKS,
	  { { "domain", CPS_T_STRING, NULL } },
	  "Remove a domain (not the primary one) from the site; a certificate naming it is "
	  "reissued without it, replaced by a self-signed one, or taken down." },
	{ "site", "list", cmd_list, CPS_SITE_NONE, CPS_CMD_STORE, { { 0 } },
	  "List every site with its domains and addresses." },
	{ "site", "info", cmd_info, CPS_SITE_REQUIRED, 0, { { 0 } },
	  "Show the site's domains, addresses and contact." },
	{ "site", "delete", cmd_delete, CPS_SITE_REQUIRED, CPS_CMD_SETTINGS | CPS_CMD_LOCKS,
	  { { "purge", CPS_T_BOOL, "false" } },
	  "Delete the site, its domains and its settings; its certificate leaves every place it was "
	  "served from. purge: its stored certificates and keys are removed too." },
	{ "site", "owns", cmd_owns, CPS_SITE_REQUIRED, 0,
	  { { "hostname", CPS_T_STRING, NULL } },
	  "Whether the site owns HOSTNAME (one of its domains or a name below one; *.D when it owns D)." },
	{ "site", "set-setting", cmd_set_setting, CPS_SITE_REQUIRED, 0,
	  { { "key", CPS_T_STRING, NULL }, { "value", CPS_T_MIXED, NULL } },
	  "Override a per-site setting (section.key, e.g. letsencrypt.verify_ip); null reverts to the global value." },
	{ "site", "get-settings", cmd_get_settings, CPS_SITE_REQUIRED, CPS_CMD_SETTINGS, { { 0 } },
	  "Each per-site setting's effective value and where it comes from (site, config.ini, built-in)." },
	{ 0 },
};
