/* The housekeeping pass (at boot and hourly) and mass reissue.
 *
 * The pass makes sure the ACME account exists, starts reloads left owed,
 * asks the CA for the renewal windows whose time has come (issue/ari.h),
 * obtains the server's own certificate when it has none, and renews every
 * certificate inside its window — the CA's where it suggested one, else
 * the configured one (an indexed query: the cost grows with what is due,
 * not with the number of sites). Each renewal runs as its own
 * `cpcmd [-d siteN] letsencrypt:renew` process, [letsencrypt] concurrency
 * at a time, so one site's failure — or crash — never stops the pass; the
 * failure is recorded with a backoff (see ssl_state.h) and, with
 * notify_failure, sent through notify_command. Certificates of deleted
 * sites are skipped with a WARNING. An interim self-signed certificate
 * (the server's or a site's, left when no CA certificate could be had) is
 * ordered again at once on the first pass after a boot, then after its
 * backoff, [letsencrypt] bootstrap_attempts times a boot. All deployments
 * of a pass share one reload per service, done at its end. */
#ifndef CPSSL_ISSUE_HOUSEKEEPING_H
#define CPSSL_ISSUE_HOUSEKEEPING_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/config.h"
#include "cpssl/core/paths.h"
#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

/* Called after each renewal: done of total, failed so far, and an estimate
 * of the time left (-1: none yet). */
typedef void (*cps_hk_progress)(size_t done, size_t total, size_t failed,
				long long eta_ms, void *ud);

typedef struct cps_hk_opts {
	bool everything;      /* reissue regardless of the window (reissue-all) */
	const char *dir;      /* with everything: the directory listing the sites */
	bool progress;        /* call progress_cb */
	cps_hk_progress progress_cb;
	void *progress_ud;
} cps_hk_opts;

/* One certificate the pass considered. */
typedef struct cps_hk_row {
	char site[32];        /* "siteN" or "server" */
	char *names;          /* comma-joined; after a renewal, the new names */
	const char *result;   /* "renewed", "failed", "skipped" */
	char *detail;         /* why it failed or was skipped; NULL */
	long long expires;    /* 0 when unknown */
} cps_hk_row;

typedef struct cps_hk_result {
	cps_hk_row *rows;
	size_t n;
	size_t renewed, failed, skipped;
} cps_hk_result;

/* SET: the server's settings; CFG resolves a site's own when a deployment
 * of that site is finished. 0 when the pass ran (even if some renewals
 * failed: see the counts), -1 when it could not run. */
int cps_housekeeping(cps_store *st, const cps_config *cfg, const cps_settings *set,
		     const cps_paths *paths, const cps_hk_opts *opts,
		     cps_hk_result *out, cps_err *err);
void cps_hk_result_free(cps_hk_result *r);

/* Expiry warnings (expiry.c), sent by each pass after its renewals: a
 * certificate expiring within [letsencrypt] warn_days whose renewals fail
 * gets one notice a day through notify_command until fixed. *SENT counts
 * them. */
/* Pacing (pacing.c): of WAITING certificates to order, how many the CA's
 * order limit ([letsencrypt] order_limit per order_limit_hours, counted
 * from the orders recorded for the CA) lets this pass order (*LET); when
 * fewer than all, a WARNING says so and WHY gets the detail for the rest. */
int cps_pace(cps_store *st, const cps_settings *set, long long now, size_t waiting,
	     size_t *let, char *why, size_t len, cps_err *err);

int cps_expiry_warnings(cps_store *st, const cps_settings *set, long long now,
			size_t *sent, cps_err *err);

#endif
