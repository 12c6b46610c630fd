/* Time: the wall clock (which a test build may shift with CPSSL_NOW), a
 * monotonic clock for deadlines, and sleeping. */
#ifndef CPSSL_CORE_CLOCK_H
#define CPSSL_CORE_CLOCK_H

#include <stddef.h>
#include <time.h>

/* Seconds since the epoch; CPSSL_NOW=<epoch seconds> overrides it so that
 * renewal windows can be tested without waiting for certificates to age. */
time_t cps_now(void);

/* Milliseconds on a monotonic clock. */
long long cps_monotonic_ms(void);

void cps_sleep_ms(long ms);

/* T as "YYYY-MM-DDTHH:MM:SSZ" (UTC) in BUF; returns BUF. */
#define CPS_ISO_TIME_LEN 32
const char *cps_time_iso(time_t t, char buf[CPS_ISO_TIME_LEN]);

/* The kernel's id of this boot (/proc/sys/kernel/random/boot_id; CPSSL_BOOT_ID
 * in tests), "unknown" when it cannot be read. */
void cps_boot_id(char *buf, size_t len);

#endif
