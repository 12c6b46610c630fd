/* letsencrypt:status and letsencrypt:list (modules/status.c). */
#ifndef CPSSL_MODULES_STATUS_H
#define CPSSL_MODULES_STATUS_H

#include "modules/dispatch.h"

int cps_cmd_le_status(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err);
int cps_cmd_le_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err);

#endif
