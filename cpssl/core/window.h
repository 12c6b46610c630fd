/* The renewal window of a certificate: due from
 *   not_after − min(lookahead_days, renew_fraction × lifetime)
 * (a 90-day certificate 10 days before expiry with the defaults, a 6-day
 * one 2 days before, a 5-year one 10 days before; a fraction of 0 leaves
 * lookahead_days alone) until lookbehind_days before expiry (a negative
 * lookbehind keeps it due after expiry). Computed from the settings of the
 * moment, so a changed setting applies to every certificate. Where the CA
 * suggests a window (ACME ARI) and ari is on, a time inside the CA's window
 * replaces the start (the end stays). */
#ifndef CPSSL_CORE_WINDOW_H
#define CPSSL_CORE_WINDOW_H

#include <stdbool.h>
#include <time.h>

typedef struct cps_window {
	long lookahead_days, lookbehind_days;
	double fraction; /* 0: off */
	bool ari;        /* the CA's suggested window, where it has one, wins
			  * over this one (ACME ARI, RFC 9773) */
} cps_window;

time_t cps_window_start(const cps_window *w, time_t not_before, time_t not_after);
time_t cps_window_end(const cps_window *w, time_t not_after);
bool cps_window_due(const cps_window *w, time_t not_before, time_t not_after,
		    time_t now);

#endif
