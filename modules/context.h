/* What a command gets: installation paths, config (loaded on first use), the
 * store (opened on first use), and the site selected with -d, if any. */
#ifndef CPSSL_MODULES_CONTEXT_H
#define CPSSL_MODULES_CONTEXT_H

#include <stdbool.h>

#include "cpssl/core/config.h"
#include "cpssl/core/err.h"
#include "cpssl/core/paths.h"
#include "cpssl/store/db.h"
#include "cpssl/store/sites.h"

typedef struct cps_ctx {
	cps_paths paths;
	cps_config *cfg;
	cps_store *store;
	bool has_site;
	cps_site site;
} cps_ctx;

int cps_ctx_init(cps_ctx *ctx, cps_err *err);
void cps_ctx_free(cps_ctx *ctx);

int cps_ctx_config(cps_ctx *ctx, cps_config **out, cps_err *err);
int cps_ctx_store(cps_ctx *ctx, cps_store **out, cps_err *err);
/* Forget the loaded config (after an edit). */
void cps_ctx_config_reload(cps_ctx *ctx);

#endif
