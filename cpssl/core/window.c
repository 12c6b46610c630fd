#include "cpssl/core/window.h"

#define DAY 86400L

time_t cps_window_start(const cps_window *w, time_t not_before, time_t not_after)
{
	double lead = (double)w->lookahead_days * DAY;
	double life = (double)(not_after - not_before);

	/* a short-lived certificate cannot wait for lookahead_days: the
	 * fraction of its lifetime is the earlier of the two leads only when
	 * it is the shorter one (90 days → 10, 6 days → 2, 5 years → 10) */
	if (w->fraction > 0 && life > 0 && life * w->fraction < lead)
		lead = life * w->fraction;
	return not_after - (time_t)lead;
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
