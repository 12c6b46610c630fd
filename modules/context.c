#include "modules/context.h"

#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/deploy/reload.h"

int cps_ctx_init(cps_ctx *ctx, cps_err *err)
{
	memset(ctx, 0, sizeof(*ctx));
	return cps_paths_init(&ctx->paths, NULL, err);
}

void cps_ctx_free(cps_ctx *ctx)
{
	cps_store_close(ctx->store);
	cps_config_free(ctx->cfg);
	cps_paths_free(&ctx->paths);
	memset(ctx, 0, sizeof(*ctx));
}

int cps_ctx_config(cps_ctx *ctx, cps_config **out, cps_err *err)
{
	if (ctx->cfg == NULL &&
	    cps_config_load(ctx->paths.config, &ctx->cfg, err) != 0)
		return -1;
	*out = ctx->cfg;
	return 0;
}

int cps_ctx_store(cps_ctx *ctx, cps_store **out, cps_err *err)
{
	cps_err e;

	if (ctx->store == NULL) {
		if (cps_store_open(ctx->paths.db, &ctx->store, err) != 0)
			return -1;
		/* a reload that a crash or reboot left owed is started now */
		if (cps_reload_overdue(ctx->store, &ctx->paths, &e) != 0)
			cps_warn("%s", e.msg);
	}
	*out = ctx->store;
	return 0;
}

void cps_ctx_config_reload(cps_ctx *ctx)
{
	cps_config_free(ctx->cfg);
	ctx->cfg = NULL;
}
