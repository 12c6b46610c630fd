/* Renewal window arithmetic with fixed clocks: lookahead, lookbehind
 * (negative and the 999 / -999 ends), and the remaining-lifetime fraction. */
#include "cpssl/core/config.h"
#include "cpssl/core/window.h"
#include "unit.h"

#define DAY 86400L

int main(void)
{
	const time_t nb = 1700000000, na = nb + 90 * DAY; /* a 90-day certificate */
	cps_window w = { .lookahead_days = 10, .lookbehind_days = 0, .fraction = 0 };

	CHECK(!cps_window_due(&w, nb, na, na - 11 * DAY), "11 days before expiry: not due (lookahead 10)");
	CHECK(cps_window_due(&w, nb, na, na - 10 * DAY), "10 days before: due");
	CHECK(cps_window_due(&w, nb, na, na - 1), "a second before expiry: due");
	CHECK(cps_window_due(&w, nb, na, na), "at expiry: due (lookbehind 0)");
	CHECK(!cps_window_due(&w, nb, na, na + 1), "after expiry: not due (lookbehind 0)");

	w.lookbehind_days = -1;
	CHECK(cps_window_due(&w, nb, na, na + DAY - 1), "lookbehind -1: due up to a day after expiry");
	CHECK(!cps_window_due(&w, nb, na, na + DAY + 1), "  not later");
	w.lookbehind_days = 2;
	CHECK(!cps_window_due(&w, nb, na, na - DAY), "lookbehind 2: not due in the last 2 days");
	CHECK(cps_window_due(&w, nb, na, na - 3 * DAY), "  due before that");

	w.lookahead_days = 999;
	w.lookbehind_days = -999;
	CHECK(cps_window_due(&w, nb, na, nb), "999 / -999: due from the start");
	CHECK(cps_window_due(&w, nb, na, na + 900 * DAY), "  and long after expiry");

	/* a third of the lifetime: 30 days of 90 remain at day 60 */
	w = (cps_window){ .lookahead_days = 10, .lookbehind_days = 0, .fraction = 1.0 / 3 };
	CHECK_INT(cps_window_renew_at(&w, nb, na), na - 30 * DAY, "renew_at of a 90-day certificate with 1/3");
	CHECK(cps_window_due(&w, nb, na, na - 30 * DAY), "1/3: due when 30 days remain, before lookahead");
	CHECK(!cps_window_due(&w, nb, na, na - 31 * DAY), "  not a day earlier");
	/* a 6-day certificate: lookahead 10 would make it due at once; the
	 * fraction matters when lookahead is short */
	{
		time_t s_nb = nb, s_na = nb + 6 * DAY;
		cps_window sw = { .lookahead_days = 1, .lookbehind_days = 0, .fraction = 1.0 / 3 };

		CHECK(cps_window_due(&sw, s_nb, s_na, s_na - 2 * DAY), "6-day certificate: due with 2 days left (1/3)");
		CHECK(!cps_window_due(&sw, s_nb, s_na, s_na - 3 * DAY), "  not with 3 days left");
		sw.fraction = 0;
		CHECK(!cps_window_due(&sw, s_nb, s_na, s_na - 2 * DAY), "  with the fraction off, only lookahead (1 day)");
	}
	CHECK_INT(cps_fraction_value("1/3") * 3 + 0.5, 1, "fraction 1/3");
	CHECK(cps_fraction_value("0.25") == 0.25, "fraction 0.25");
	CHECK(cps_fraction_value("0") == 0, "fraction 0 (off)");
	CHECK(cps_fraction_value("1") < 0 && cps_fraction_value("2/1") < 0, "1 and above refused");
	CHECK(cps_fraction_value("x") < 0 && cps_fraction_value("1/0") < 0, "garbage refused");
	return unit_done();
}
