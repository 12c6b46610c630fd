/* Renewal window arithmetic with fixed clocks: lookahead, lookbehind
 * (negative and the 999 / -999 ends), and min(lookahead, fraction x lifetime). */
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
	CHECK(cps_window_due(&w, nb, na, nb), "999 / -999 with the fraction off: due from the start");
	CHECK(cps_window_due(&w, nb, na, na + 900 * DAY), "  and long after expiry");

	/* the documented rule: not_after - min(lookahead, fraction x lifetime) */
	w = (cps_window){ .lookahead_days = 10, .lookbehind_days = 0, .fraction = 1.0 / 3 };
	CHECK_INT(cps_window_start(&w, nb, na), na - 10 * DAY,
		  "90-day certificate, 10 and 1/3: due 10 days before expiry (not 30)");
	CHECK(!cps_window_due(&w, nb, na, na - 30 * DAY), "  not with 30 days left");
	CHECK(!cps_window_due(&w, nb, na, na - 10 * DAY - 1), "  not a second before 10 days");
	CHECK(cps_window_due(&w, nb, na, na - 10 * DAY), "  due at 10 days");
	CHECK_INT(cps_window_start(&w, nb, nb + 6 * DAY), nb + 4 * DAY,
		  "6-day certificate: due 2 days before expiry");
	CHECK_INT(cps_window_start(&w, nb, nb + 5 * 365 * DAY), nb + 5 * 365 * DAY - 10 * DAY,
		  "5-year certificate: due 10 days before expiry");
	w.lookahead_days = 20;
	CHECK_INT(cps_window_start(&w, nb, na), na - 20 * DAY,
		  "lookahead 20 (the documentation's example): 20 days before a 90-day expiry");
	w.lookahead_days = 999;
	CHECK_INT(cps_window_start(&w, nb, na), na - 30 * DAY,
		  "lookahead 999 with 1/3: the fraction is the shorter lead (30 days)");
	w.lookahead_days = 10;
	w.fraction = 0;
	CHECK_INT(cps_window_start(&w, nb, nb + 6 * DAY), nb + 6 * DAY - 10 * DAY,
		  "fraction 0: lookahead alone (a 6-day certificate is due at once)");
	{
		cps_window sw = { .lookahead_days = 1, .lookbehind_days = 0, .fraction = 1.0 / 3 };
		time_t s_na = nb + 6 * DAY;

		CHECK(cps_window_due(&sw, nb, s_na, s_na - DAY), "lookahead 1, 6-day certificate: due with a day left");
		CHECK(!cps_window_due(&sw, nb, s_na, s_na - 2 * DAY), "  not with 2 days left (1 < 2)");
	}
	CHECK_INT(cps_fraction_value("1/3") * 3 + 0.5, 1, "fraction 1/3");
	CHECK(cps_fraction_value("0.25") == 0.25, "fraction 0.25");
	CHECK(cps_fraction_value("0") == 0, "fraction 0 (off)");
	CHECK(cps_fraction_value("1") < 0 && cps_fraction_value("2/1") < 0, "1 and above refused");
	CHECK(cps_fraction_value("x") < 0 && cps_fraction_value("1/0") < 0, "garbage refused");
	return unit_done();
}
