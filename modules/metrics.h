/* The housekeeping pass's metrics file (modules/metrics.c). */
#ifndef CPSSL_MODULES_METRICS_H
#define CPSSL_MODULES_METRICS_H

#include <time.h>

#include "cpssl/issue/housekeeping.h"
#include "modules/context.h"

/* Write <metrics_root>/cpssl.prom atomically (0644): every site's and the
 * server's certificate (info, expiry, last renewal, failures, next
 * attempt) and the pass R that STARTED and took SECONDS. Nothing when
 * [cpssl] metrics is off or the directory does not exist. */
int cps_metrics_write(const cps_ctx *ctx, const cps_hk_result *r, time_t started,
		      double seconds, cps_err *err);

#endif
