/* What a housekeeping pass or reissue-all tells as it goes and when done
 * (modules/passlog.c): the progress line on a terminal, one syslog line per
 * certificate. */
#ifndef CPSSL_MODULES_PASSLOG_H
#define CPSSL_MODULES_PASSLOG_H

#include <stdbool.h>
#include <time.h>

#include "cpssl/issue/housekeeping.h"

typedef struct cps_progress {
	struct timespec start; /* CLOCK_MONOTONIC, set before the pass */
} cps_progress;

/* A cps_hk_progress callback (UD: a cps_progress): "\r[####....] 3/10
 * done, 0 failed, 1.5/s, about 5s left" on standard error. */
void cps_progress_draw(size_t done, size_t total, size_t failed, long long eta_ms, void *ud);

/* One line per row of R to syslog (ident cpssl, facility daemon): the site,
 * its names and what happened (renewed: info, skipped: notice, failed:
 * err, with the reason), then the counts and SECONDS. WHAT: "housekeeping"
 * or "reissue-all". */
void cps_passlog_syslog(const char *what, const cps_hk_result *r, double seconds);

#endif
