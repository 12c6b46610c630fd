/* What a command gets: installation paths, and — as its table row declares
 * (modules/dispatch.h: CPS_CMD_CONFIG, _STORE, _SETTINGS, _SESSION) — the
 * config, the store, the settings of its subject (the site selected with -d,
 * or the server) and an ACME session, opened by the dispatcher before the
 * command runs. A command that needs one of them only sometimes asks for it
 * with the cps_ctx_* functions, which open it on first use. */
#ifndef CPSSL_MODULES_CONTEXT_H
#define CPSSL_MODULES_CONTEXT_H

#include <stdbool.h>

#include "cpssl/core/config.h"
#include "cpssl/core/err.h"
#include "cpssl/core/paths.h"
#include "cpssl/core/settings.h"
#include "cpssl/issue/session.h"
#include "cpssl/store/db.h"
#include "cpssl/store/sites.h"

typedef struct cps_ctx {
	cps_paths paths;
	cps_config *cfg;
	cps_store *store;
	bool has_site;
	cps_site site;
	bool has_settings;
	cps_settings set;       /* of the site, or of the server */
	cps_session *session;
} cps_ctx;

int cps_ctx_init(cps_ctx *ctx, cps_err *err);
void cps_ctx_free(cps_ctx *ctx);

int cps_ctx_config(cps_ctx *ctx, cps_config **out, cps_err *err);
int cps_ctx_store(cps_ctx *ctx, cps_store **out, cps_err *err);
int cps_ctx_settings(cps_ctx *ctx, cps_err *err);
int cps_ctx_session(cps_ctx *ctx, cps_err *err);
/* Forget the loaded config and what was resolved from it (after an edit). */
void cps_ctx_config_reload(cps_ctx *ctx);

/* The subject: the selected site, or NULL for the server. */
const cps_site *cps_ctx_site(const cps_ctx *ctx);
/* "siteN" or "server". */
const char *cps_ctx_subject(const cps_ctx *ctx);

#endif
