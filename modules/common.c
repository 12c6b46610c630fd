/* common: the administrator's e-mail address (the ACME account contact). */
#include <stdlib.h>

#include "cpssl/names/hostname.h"
#include "cpssl/store/server.h"
#include "modules/dispatch.h"

static int cmd_get_email(cps_ctx *ctx, json_object **args, size_t nargs,
			 json_object **result, cps_err *err)
{
	char *email;

	(void)args;
	(void)nargs;
	if (cps_server_get(ctx->store, CPS_SERVER_EMAIL, &email, err) != 0)
		return -1;
	*result = email ? json_object_new_string(email) : NULL;
	free(email);
	return 0;
}

static int cmd_set_email(cps_ctx *ctx, json_object **args, size_t nargs,
			 json_object **result, cps_err *err)
{
	char email[CPS_EMAIL_MAX + 1];

	(void)nargs;
	if (cps_email_normalize(json_object_get_string(args[0]), email, err) != 0 ||
	    cps_server_set(ctx->store, CPS_SERVER_EMAIL, email, err) != 0)
		return -1;
	*result = json_object_new_boolean(1);
	return 0;
}

const cps_command cps_mod_common[] = {
	{ "common", "get-email", cmd_get_email, CPS_SITE_NONE, CPS_CMD_STORE, { { 0 } },
	  "The administrator's e-mail address, used as the ACME account contact (null when unset)." },
	{ "common", "set-email", cmd_set_email, CPS_SITE_NONE, CPS_CMD_STORE,
	  { { "email", CPS_T_STRING, NULL } },
	  "Set the administrator's e-mail address (validated)." },
	{ 0 },
};
