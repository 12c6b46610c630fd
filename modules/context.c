#include "modules/context.h"

#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/deploy/reload.h"
#include "cpssl/store/server.h"
#include "cpssl/store/settings.h"

int cps_ctx_init(cps_ctx *ctx, cps_err *err)
{
	memset(ctx, 0, sizeof(*ctx));
	return cps_paths_init(&ctx->paths, NULL, err);
}

void cps_ctx_free(cps_ctx *ctx)
{
	cps_ctx_config_reload(ctx);
	cps_store_close(ctx->store);
	cps_paths_free(&ctx->paths);
	memset(ctx, 0, sizeof(*ctx));
}

int cps_ctx_config(cps_ctx *ctx, cps_config **out, cps_err *err)
{
	if (ctx->cfg == NULL &&
	    cps_config_load(ctx->paths.config, &ctx->cfg, err) != 0)
		return -1;
	if (out)
		*out = ctx->cfg;
	return 0;
}

/* scope:set cp.debug true: DEBUG lines for every later command, unless the
 * environment says otherwise (DEBUG=0 turns them off for one command). */
static void debug_from_store(cps_store *st)
{
	const char *env = getenv("DEBUG");
	char *v = NULL;
	cps_err e;

	if (env && *env)
		return;
	if (cps_server_get(st, CPS_SERVER_DEBUG, &v, &e) == 0 && v && strcmp(v, "true") == 0)
		cps_log_set_debug(true);
	free(v);
}

int cps_ctx_store(cps_ctx *ctx, cps_store **out, cps_err *err)
{
	cps_err e;

	if (ctx->store == NULL) {
		if (cps_store_open(ctx->paths.db, &ctx->store, err) != 0)
			return -1;
		debug_from_store(ctx->store);
		/* a reload that a crash or reboot left owed is started now */
		if (cps_reload_overdue(ctx->store, &ctx->paths, &e) != 0)
			cps_warn("%s", e.msg);
	}
	if (out)
		*out = ctx->store;
	return 0;
}

int cps_ctx_settings(cps_ctx *ctx, cps_err *err)
{
	if (ctx->has_settings)
		return 0;
	if (cps_ctx_config(ctx, NULL, err) != 0 ||
	    cps_settings_resolve(ctx->cfg, ctx->store, ctx->has_site ? ctx->site.id : 0,
				 &ctx->set, err) != 0)
		return -1;
	ctx->has_settings = true;
	return 0;
}

int cps_ctx_session(cps_ctx *ctx, cps_err *err)
{
	if (ctx->session)
		return 0;
	if (cps_ctx_store(ctx, NULL, err) != 0 || cps_ctx_settings(ctx, err) != 0)
		return -1;
	return cps_session_open(ctx->store, &ctx->set, &ctx->paths, &ctx->session, err);
}

void cps_ctx_config_reload(cps_ctx *ctx)
{
	cps_session_free(ctx->session);
	ctx->session = NULL;
	if (ctx->has_settings)
		cps_settings_free(&ctx->set);
	ctx->has_settings = false;
	cps_config_free(ctx->cfg);
	ctx->cfg = NULL;
}

const cps_site *cps_ctx_site(const cps_ctx *ctx)
{
	return ctx->has_site ? &ctx->site : NULL;
}

const char *cps_ctx_subject(const cps_ctx *ctx)
{
	return ctx->has_site ? ctx->site.name : "server";
}
