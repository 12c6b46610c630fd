#include "cpssl/core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool code_is_input(cps_code code)
{
	return code == CPS_E_INVAL || code == CPS_E_NOTFOUND ||
	       code == CPS_E_EXISTS || code == CPS_E_PERM || code == CPS_E_CONFIG;
}

int cps_fail(cps_err *err, cps_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->input = code_is_input(code);
	err->retry_at = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int cps_err_prefix(cps_err *err, const char *fmt, ...)
{
	char head[512], old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
	return -1;
}

void cps_err_clear(cps_err *err)
{
	if (err == NULL)
		return;
	err->code = CPS_OK;
	err->input = false;
	err->retry_at = 0;
	err->msg[0] = '\0';
}

const char *cps_code_name(cps_code code)
{
	static const char *const names[] = {
		[CPS_OK] = "ok",
		[CPS_E_INVAL] = "invalid",
		[CPS_E_NOTFOUND] = "not-found",
		[CPS_E_EXISTS] = "exists",
		[CPS_E_PERM] = "not-permitted",
		[CPS_E_CONFIG] = "config",
		[CPS_E_IO] = "io",
		[CPS_E_DB] = "database",
		[CPS_E_NOMEM] = "no-memory",
		[CPS_E_NET] = "network",
		[CPS_E_TIMEOUT] = "timeout",
		[CPS_E_PROTO] = "protocol",
		[CPS_E_CA] = "ca",
		[CPS_E_RATELIMIT] = "rate-limited",
		[CPS_E_CRYPTO] = "crypto",
		[CPS_E_DNS] = "dns",
		[CPS_E_EXEC] = "exec",
		[CPS_E_INTERNAL] = "internal",
	};

	if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown";
}
