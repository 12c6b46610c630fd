/* The renewal window of a certificate. It is due from whichever comes first
 * of lookahead_days before expiry and the moment less than renew_fraction of
 * its lifetime remains, until lookbehind_days before expiry (a negative
 * lookbehind keeps it due after expiry; 999 / -999 make either end open). */
#ifndef CPSSL_CORE_WINDOW_H
#define CPSSL_CORE_WINDOW_H

#include <stdbool.h>
#include <time.h>

typedef struct cps_window {
	long lookahead_days, lookbehind_days;
	double fraction; /* 0: off */
} cps_window;

/* When less than the fraction of [NOT_BEFORE, NOT_AFTER] remains
 * (NOT_AFTER itself when the fraction is off). */
time_t cps_window_renew_at(const cps_window *w, time_t not_before,
			   time_t not_after);
time_t cps_window_start(const cps_window *w, time_t not_before, time_t not_after);
time_t cps_window_end(const cps_window *w, time_t not_after);
bool cps_window_due(const cps_window *w, time_t not_before, time_t not_after,
		    time_t now);

#endif
