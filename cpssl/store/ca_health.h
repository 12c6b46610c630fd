/* Each configured CA's health, for failover between [letsencrypt] server
 * and fallback_servers: its consecutive failures, the last one, and until
 * when it is passed over (keyed by the CA's directory URL). */
#ifndef CPSSL_STORE_CA_HEALTH_H
#define CPSSL_STORE_CA_HEALTH_H

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

typedef struct cps_ca_health {
	long failures;          /* consecutive, since its last success */
	long long last_failure; /* 0: none */
	long long until;        /* passed over until then; 0: in service */
	char last_error[512];   /* "" when none */
} cps_ca_health;

/* SERVER's row, zeros when it has none. */
int cps_ca_health_get(cps_store *st, const char *server, cps_ca_health *out, cps_err *err);
/* One more failure of SERVER at NOW (WHY: the error), passed over until
 * UNTIL (0: not); *failures gets the count. */
int cps_ca_health_fail(cps_store *st, const char *server, long long now, const char *why,
		       long long until, long *failures, cps_err *err);
/* Passed over until UNTIL, its count kept. */
int cps_ca_health_pass_over(cps_store *st, const char *server, long long until, cps_err *err);
/* A success: the count and the pass-over are cleared. */
int cps_ca_health_ok(cps_store *st, const char *server, cps_err *err);

#endif
