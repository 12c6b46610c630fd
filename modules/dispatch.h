/* The command table and the dispatcher: module:command lookup, argument
 * literals bound to a declared signature, site context from -d. */
#ifndef CPSSL_MODULES_DISPATCH_H
#define CPSSL_MODULES_DISPATCH_H

#include <stddef.h>
#include <json-c/json.h>

#include "modules/context.h"

/* Parameter types (a mask). ARRAY covers lists and key:value lists. */
enum {
	CPS_T_STRING = 1 << 0,
	CPS_T_BOOL = 1 << 1,
	CPS_T_INT = 1 << 2,
	CPS_T_ARRAY = 1 << 3,
	CPS_T_NULL = 1 << 4,
	CPS_T_MIXED = CPS_T_STRING | CPS_T_BOOL | CPS_T_INT | CPS_T_ARRAY | CPS_T_NULL,
};

/* Exit statuses (the README documents them). */
enum {
	CPS_EXIT_OK = 0,
	CPS_EXIT_FAIL = 1,
	CPS_EXIT_USAGE = 2,
	CPS_EXIT_NOOP = 3, /* nothing to do */
};

/* A command returns 0, CPS_EXIT_NOOP, or -1 with err set. */
typedef int (*cps_cmd_fn)(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err);

typedef enum cps_site_mode {
	CPS_SITE_NONE = 0,  /* -d is refused */
	CPS_SITE_OPTIONAL,  /* with -d for a site, without for the server */
	CPS_SITE_REQUIRED,
} cps_site_mode;

#define CPS_MAX_PARAMS 6

typedef struct cps_param {
	const char *name;  /* as shown in the signature, without '$' */
	unsigned types;
	const char *def;   /* default literal; NULL: required */
} cps_param;

typedef struct cps_command {
	const char *module, *name;
	cps_cmd_fn fn;
	cps_site_mode site;
	unsigned flags;    /* CPS_CMD_* */
	cps_param params[CPS_MAX_PARAMS];
	const char *help;
} cps_command;

/* What a command needs, opened by the dispatcher before it runs (each
 * includes what it is built on). */
#define CPS_NEED_SETTINGS (1u << 4)
#define CPS_NEED_SESSION (1u << 5)
enum {
	CPS_CMD_VARIADIC = 1 << 0, /* the last parameter takes any number of values */
	CPS_CMD_LOCKS = 1 << 1,    /* runs under the site's lock (cpssl/core/sitelock.h) */
	CPS_CMD_STORE = 1 << 2,    /* ctx->store */
	CPS_CMD_CONFIG = 1 << 3,   /* ctx->cfg */
	/* ctx->set: the settings of the site (-d) or of the server */
	CPS_CMD_SETTINGS = CPS_NEED_SETTINGS | CPS_CMD_CONFIG,
	/* ctx->session: an ACME session with those settings */
	CPS_CMD_SESSION = CPS_NEED_SESSION | CPS_CMD_SETTINGS | CPS_CMD_STORE,
};

/* Each module's table, terminated by an entry with name == NULL (a module's
 * commands may span tables: letsencrypt's account commands are in
 * cps_mod_account). */
extern const cps_command cps_mod_account[];
extern const cps_command cps_mod_common[];
extern const cps_command cps_mod_dns[];
extern const cps_command cps_mod_letsencrypt[];
extern const cps_command cps_mod_misc[];
extern const cps_command cps_mod_persist[];
extern const cps_command cps_mod_scope[];
extern const cps_command cps_mod_site[];
extern const cps_command cps_mod_ssl[];

/* Handlers two modules share (ssl:rollback and letsencrypt:rollback). */
int cps_cmd_rollback(cps_ctx *ctx, json_object **args, size_t nargs,
		     json_object **result, cps_err *err);

/* "module:command" or "module_command"; '-' and '_' are interchangeable in
 * the command part. NULL when unknown. */
const cps_command *cps_command_find(const char *name);

typedef int (*cps_command_cb)(const cps_command *cmd, void *ud);
void cps_command_foreach(cps_command_cb cb, void *ud);

/* "module:name(type $p = default, …)"; caller frees. */
char *cps_command_signature(const cps_command *cmd);

/* Parse and bind ARGV to CMD's parameters (defaults filled in). On a usage
 * error returns -1 with err set; *args has cmd's parameter count (or more
 * for a variadic command) entries. */
int cps_command_bind(const cps_command *cmd, char **argv, int argc,
		     json_object ***args, size_t *nargs, cps_err *err);
void cps_args_free(json_object **args, size_t nargs);

/* Run NAME with ARGV. SITE is the -d value or NULL. Returns an exit status;
 * *result is the value to print (NULL with *has_result false when none). */
int cps_dispatch(cps_ctx *ctx, const char *site, const char *name, char **argv,
		 int argc, json_object **result, bool *has_result);

#endif
