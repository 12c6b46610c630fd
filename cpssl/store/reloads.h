/* Web-server reloads owed after deployments: one row per service, kept
 * durably so a crash or reboot before the reload fires does not lose it,
 * and a short log of what each reload did. */
#ifndef CPSSL_STORE_RELOADS_H
#define CPSSL_STORE_RELOADS_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

typedef struct cps_reload_row {
	char *service;         /* "apache", "haproxy" */
	long long due;         /* when it fires */
	long long generation;  /* bumped by every deployment that asks for it */
	long deployments;      /* deployments it covers */
} cps_reload_row;

/* Ask for a reload of SERVICE at NOW + DELAY; a reload already pending keeps
 * its time (the window does not slide), so every deployment inside it is
 * served by that one reload. *due gets when it fires. */
int cps_reload_request(cps_store *st, const char *service, long long now,
		       long delay, long long *due, cps_err *err);
int cps_reload_pending(cps_store *st, cps_reload_row **rows, size_t *n,
		       cps_err *err);
void cps_reload_rows_free(cps_reload_row *rows, size_t n);
/* Is any reload due at NOW? */
int cps_reload_any_due(cps_store *st, long long now, int *due, cps_err *err);
/* Done: drop the row unless a deployment asked again since GENERATION was
 * read, in which case it fires again after DELAY. */
int cps_reload_done(cps_store *st, const char *service, long long generation,
		    long long now, long delay, cps_err *err);
int cps_reload_log(cps_store *st, const char *service, long long at, int ok,
		   const char *detail, cps_err *err);

typedef struct cps_reload_result {
	char *service, *detail;
	long long at;
	int ok;
} cps_reload_result;

/* The latest logged result per service. */
int cps_reload_last(cps_store *st, cps_reload_result **out, size_t *n,
		    cps_err *err);
void cps_reload_results_free(cps_reload_result *r, size_t n);

#endif
