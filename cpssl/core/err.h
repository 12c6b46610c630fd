/* Errors: every fallible library call fills a cps_err and returns -1.
 * The message is a complete sentence meant for the administrator; callers add
 * context with cps_err_prefix() on the way up and log it once at the top. */
#ifndef CPSSL_CORE_ERR_H
#define CPSSL_CORE_ERR_H

#include <stdbool.h>

typedef enum cps_code {
	CPS_OK = 0,
	CPS_E_INVAL,     /* malformed or unacceptable input */
	CPS_E_NOTFOUND,  /* a named thing does not exist */
	CPS_E_EXISTS,    /* a named thing already exists */
	CPS_E_PERM,      /* not allowed: e.g. a name the site does not own */
	CPS_E_CONFIG,    /* config.ini is invalid */
	CPS_E_IO,        /* file system failure */
	CPS_E_DB,        /* SQLite failure */
	CPS_E_NOMEM,
	CPS_E_NET,       /* transport failure */
	CPS_E_TIMEOUT,
	CPS_E_PROTO,     /* the remote side broke the protocol */
	CPS_E_CA,        /* the CA refused, with a problem document */
	CPS_E_RATELIMIT,
	CPS_E_CRYPTO,
	CPS_E_DNS,
	CPS_E_EXEC,      /* a child process failed */
	CPS_E_INTERNAL,
} cps_code;

/* What an error means for the caller, by its code (one table, err.c). */
typedef enum cps_err_class {
	CPS_CLASS_INPUT,     /* the request or the configuration: retrying
			      * unchanged will not help */
	CPS_CLASS_TRANSIENT, /* the environment (disk, network, DNS, memory, a
			      * child process): the same request may pass later */
	CPS_CLASS_REMOTE,    /* the CA's answer; whether it is the input's fault
			      * depends on the problem type */
	CPS_CLASS_INTERNAL,  /* a broken invariant */
} cps_err_class;

typedef struct cps_err {
	cps_code code;
	bool input;      /* caused by input: retrying unchanged will not help */
	long long retry_at; /* not before this time (a rate limit); 0: no hint */
	char problem[48];   /* the CA's problem type ("rateLimited", …), "" if none */
	char msg[1024];
} cps_err;

/* Set the error (if err is non-NULL) and return -1. */
int cps_fail(cps_err *err, cps_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "context: " to the message; returns -1 for tail calls. */
int cps_err_prefix(cps_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void cps_err_clear(cps_err *err);
const char *cps_code_name(cps_code code);
cps_err_class cps_code_class(cps_code code);
/* Whether the same request may succeed later (a transient failure). */
bool cps_err_transient(const cps_err *err);

#endif
