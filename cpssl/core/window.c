#include "cpssl/core/window.h"

#define DAY 86400L

time_t cps_window_renew_at(const cps_window *w, time_t not_before,
			   time_t not_after)
{
	double life = (double)(not_after - not_before);

	if (w->fraction <= 0 || life <= 0)
		return not_after;
	return not_after - (time_t)(life * w->fraction);
}

time_t cps_window_start(const cps_window *w, time_t not_before, time_t not_after)
{
	time_t ahead = not_after - w->lookahead_days * DAY;
	time_t frac = cps_window_renew_at(w, not_before, not_after);

	return frac < ahead ? frac : ahead;
}

time_t cps_window_end(const cps_window *w, time_t not_after)
{
	return not_after - w->lookbehind_days * DAY;
}

bool cps_window_due(const cps_window *w, time_t not_before, time_t not_after,
		    time_t now)
{
	return now >= cps_window_start(w, not_before, not_after) &&
	       now <= cps_window_end(w, not_after);
}
