/* Per-site SSL state that is not a certificate: mechanisms forced for
 * names (use-mechanism), the last failure and failure count (status and
 * backoff), and the issuance log the rate-limit checks count from. Site id
 * 0 is the server's own certificate. */
#ifndef CPSSL_STORE_SSL_STATE_H
#define CPSSL_STORE_SSL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

/* MECH "http" or "dns"; NULL removes the forced mechanism. */
int cps_mech_force(cps_store *st, long site_id, const char *name,
		   const char *mech, cps_err *err);
/* *mech NULL when none is forced. */
int cps_mech_forced(cps_store *st, long site_id, const char *name, char **mech,
		    cps_err *err);
/* Every forced mechanism of the site: names[i] → mechs[i]. */
int cps_mech_forced_all(cps_store *st, long site_id, char ***names,
			char ***mechs, size_t *n, cps_err *err);

typedef struct cps_ssl_status {
	long failures;
	char *last_problem, *last_detail;
	long long last_failure, last_success;
	long long next_attempt; /* housekeeping waits until then (backoff) */
	char *boot_id;          /* the boot boot_attempts were counted in */
	long boot_attempts;     /* to replace an interim certificate */
	long long warned_at;    /* the last expiry warning */
} cps_ssl_status;

int cps_ssl_status_get(cps_store *st, long site_id, cps_ssl_status *out,
		       cps_err *err);
void cps_ssl_status_free(cps_ssl_status *s);
/* Count a failure and set the backoff: an hour doubling per failure up to a
 * day, or a day at once for an INPUT-related problem, stretched by up to
 * 10% by JITTER (0..1). */
int cps_ssl_status_failed(cps_store *st, long site_id, const char *problem,
			  const char *detail, long long now, bool input,
			  double jitter, long long retry_at, cps_err *err);
/* Whether to try replacing SITE_ID's interim certificate now: at once on
 * the first pass since BOOT_ID, later once the backoff is over, and at most
 * MAX times a boot. 1 (and the attempt counted), 0 (not now), -1;
 * *ATTEMPTS gets the count this boot. */
int cps_ssl_bootstrap_try(cps_store *st, long site_id, const char *boot_id,
			  long max, long long now, long *attempts, cps_err *err);
/* An expiry warning went out at NOW. */
int cps_ssl_warned(cps_store *st, long site_id, long long now, cps_err *err);
int cps_ssl_status_succeeded(cps_store *st, long site_id, long long now,
			     cps_err *err);

/* One certificate issued: a row per registered domain it names. */
int cps_issuance_log(cps_store *st, const char *server, long site_id,
		     const char *serial, const char *name_set,
		     char *const *domains, size_t ndomains, long long now,
		     cps_err *err);
/* Certificates issued by SERVER since SINCE for exactly NAME_SET. */
int cps_issuance_count_set(cps_store *st, const char *server,
			   const char *name_set, long long since, long *n,
			   cps_err *err);
/* Certificates issued by SERVER since SINCE naming DOMAIN. */
int cps_issuance_count_domain(cps_store *st, const char *server,
			      const char *domain, long long since, long *n,
			      cps_err *err);

#endif
