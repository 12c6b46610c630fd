/* misc: help about commands. */
#include <stdlib.h>
#include <string.h>

#include "modules/dispatch.h"

static json_object *describe(const cps_command *cmd)
{
	json_object *o = json_object_new_object();
	char *sig = cps_command_signature(cmd);

	json_object_object_add(o, "signature", json_object_new_string(sig ? sig : ""));
	json_object_object_add(o, "site",
			       json_object_new_string(cmd->site == CPS_SITE_REQUIRED ? "required"
						      : cmd->site == CPS_SITE_OPTIONAL ? "optional"
						      : "none"));
	json_object_object_add(o, "help", json_object_new_string(cmd->help));
	free(sig);
	return o;
}

static int cmd_i(cps_ctx *ctx, json_object **args, size_t nargs,
		 json_object **result, cps_err *err)
{
	const char *name = json_object_get_string(args[0]);
	const cps_command *cmd = cps_command_find(name);

	(void)ctx;
	(void)nargs;
	if (cmd == NULL)
		return cps_fail(err, CPS_E_NOTFOUND,
				"unknown command '%.100s' (cpcmd -l lists every command)",
				name);
	*result = describe(cmd);
	return 0;
}

static int add_signature(const cps_command *cmd, void *ud)
{
	char *sig = cps_command_signature(cmd);

	json_object_array_add(ud, json_object_new_string(sig ? sig : cmd->name));
	free(sig);
	return 0;
}

static int cmd_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	(void)ctx;
	(void)args;
	(void)nargs;
	(void)err;
	*result = json_object_new_array();
	cps_command_foreach(add_signature, *result);
	return 0;
}

const cps_command cps_mod_misc[] = {
	{ "misc", "i", cmd_i, CPS_SITE_NONE, 0,
	  { { "command", CPS_T_STRING, NULL } },
	  "Show a command's signature, whether it takes a site, and what it does." },
	{ "misc", "list-commands", cmd_list, CPS_SITE_NONE, 0, { { 0 } },
	  "List every command with its signature (same as cpcmd -l)." },
	{ 0 },
};
