#include "cpssl/core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct code_row {
	const char *name;
	cps_err_class cls;
} codes[] = {
	[CPS_OK] = { "ok", CPS_CLASS_INTERNAL },
	[CPS_E_INVAL] = { "invalid", CPS_CLASS_INPUT },
	[CPS_E_NOTFOUND] = { "not-found", CPS_CLASS_INPUT },
	[CPS_E_EXISTS] = { "exists", CPS_CLASS_INPUT },
	[CPS_E_PERM] = { "not-permitted", CPS_CLASS_INPUT },
	[CPS_E_CONFIG] = { "config", CPS_CLASS_INPUT },
	[CPS_E_IO] = { "io", CPS_CLASS_TRANSIENT },
	[CPS_E_DB] = { "database", CPS_CLASS_TRANSIENT },
	[CPS_E_NOMEM] = { "no-memory", CPS_CLASS_TRANSIENT },
	[CPS_E_NET] = { "network", CPS_CLASS_TRANSIENT },
	[CPS_E_TIMEOUT] = { "timeout", CPS_CLASS_TRANSIENT },
	[CPS_E_PROTO] = { "protocol", CPS_CLASS_REMOTE },
	[CPS_E_CA] = { "ca", CPS_CLASS_REMOTE },
	[CPS_E_RATELIMIT] = { "rate-limited", CPS_CLASS_REMOTE },
	[CPS_E_CRYPTO] = { "crypto", CPS_CLASS_INTERNAL },
	[CPS_E_DNS] = { "dns", CPS_CLASS_TRANSIENT },
	[CPS_E_EXEC] = { "exec", CPS_CLASS_TRANSIENT },
	[CPS_E_INTERNAL] = { "internal", CPS_CLASS_INTERNAL },
};

static const struct code_row *row_of(cps_code code)
{
	if ((unsigned)code < sizeof(codes) / sizeof(codes[0]) && codes[code].name)
		return &codes[code];
	return NULL;
}

const char *cps_code_name(cps_code code)
{
	return row_of(code) ? row_of(code)->name : "unknown";
}

cps_err_class cps_code_class(cps_code code)
{
	return row_of(code) ? row_of(code)->cls : CPS_CLASS_INTERNAL;
}

bool cps_err_transient(const cps_err *err)
{
	return err && cps_code_class(err->code) == CPS_CLASS_TRANSIENT;
}

int cps_fail(cps_err *err, cps_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->input = cps_code_class(code) == CPS_CLASS_INPUT;
	err->retry_at = 0;
	err->problem[0] = '\0';
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
	err->problem[0] = '\0';
	err->msg[0] = '\0';
}
