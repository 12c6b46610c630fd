/* What the housekeeping pass finds in the store: certificates due by the
 * window (min(lookahead, fraction x lifetime), computed with the settings of
 * the moment), interim self-signed ones and their attempts per boot, and
 * expiring certificates whose renewals fail (a warning a day); the profile a
 * certificate was issued under is kept with it. */
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/sites.h"
#include "cpssl/store/ssl_state.h"
#include "unit.h"

#define DAY 86400LL
#define NOW 1800000000LL

static char dir[] = "/tmp/cpssl-test-due-XXXXXX";

static void add_cert(cps_store *st, long site, const char *server, long long nb, long long na)
{
	/* the 6-day ones as a "shortlived" profile issues them */
	cps_cert_row r = { .site_id = site, .server = (char *)server, .names = "a.test",
			   .serial = "01", .fingerprint = "ff", .issuer = "CA", .key_type = "ec-256",
			   .not_before = nb, .not_after = na, .path = "/x",
			   .profile = na - nb == 6 * DAY ? "shortlived" : NULL };
	long long id;
	cps_err e;

	if (cps_cert_record(st, &r, &id, &e) != 0)
		printf("# cannot record: %s\n", e.msg);
}

static int collect(const cps_due_cert *c, void *ud)
{
	char *out = ud;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s%ld", len ? " " : "", c->site_id);
	return 0;
}

static const char *due(cps_store *st, const cps_window *w, long long now)
{
	static char out[256];
	cps_err e;

	out[0] = '\0';
	if (cps_cert_due(st, now, w, false, collect, out, &e) != 0)
		snprintf(out, sizeof(out), "error: %s", e.msg);
	return out;
}

int main(void)
{
	cps_store *st = NULL;
	cps_window w = { .lookahead_days = 10, .lookbehind_days = 0, .fraction = 1.0 / 3 };
	const char *ca = "https://ca.test/dir";
	char out[256] = "";
	cps_site s;
	cps_err err;
	long attempts;
	char *db;

	if (mkdtemp(dir) == NULL)
		return 1;
	db = cps_path_join(dir, "cpssl.db");
	CHECK(cps_store_open(db, &st, &err) == 0, "open the store");
	for (int i = 1; i <= 6; i++) {
		char d[32];

		snprintf(d, sizeof(d), "s%d.test", i);
		cps_site_create(st, &(cps_site_new){ d, "127.0.0.1", NULL, NULL }, &s, &err);
	}
	/* 1: 90 days, 20 left; 2: 90 days, 9 left; 3: 6 days, 3 left; 4: 6 days,
	 * 1 left; 5: interim, 1 left; 6: imported, 1 left */
	add_cert(st, 1, ca, NOW - 70 * DAY, NOW + 20 * DAY);
	add_cert(st, 2, ca, NOW - 81 * DAY, NOW + 9 * DAY);
	add_cert(st, 3, ca, NOW - 3 * DAY, NOW + 3 * DAY);
	add_cert(st, 4, ca, NOW - 5 * DAY, NOW + 1 * DAY);
	add_cert(st, 5, CPS_ORIGIN_INTERIM, NOW - 89 * DAY, NOW + 1 * DAY);
	add_cert(st, 6, CPS_ORIGIN_IMPORT, NOW - 89 * DAY, NOW + 1 * DAY);

	{
		cps_cert_row r3, r1;

		CHECK(cps_cert_current(st, 3, &r3, &err) == 0 && cps_cert_current(st, 1, &r1, &err) == 0,
		      "the current certificates read back");
		CHECK_STR(r3.profile, "shortlived", "  with the profile each was issued under");
		CHECK(r1.profile == NULL, "  none for one issued without");
		cps_cert_row_free(&r3);
		cps_cert_row_free(&r1);
	}
	CHECK_STR(due(st, &w, NOW), "2 4",
		  "10 days and 1/3: the 90-day one with 9 days left, the 6-day one with 1 left "
		  "(not 20 left, not a 6-day one with 3 left, not interim or imported)");
	w.lookahead_days = 20;
	CHECK_STR(due(st, &w, NOW), "1 2 4", "lookahead 20: the one with 20 days left too");
	w.lookahead_days = 10;
	w.fraction = 0.5;
	CHECK_STR(due(st, &w, NOW), "2 3 4",
		  "fraction 1/2 applies to certificates already issued: the 6-day one with 3 left");
	w.fraction = 0;
	CHECK_STR(due(st, &w, NOW), "2 3 4", "fraction 0: lookahead alone");
	w.fraction = 1.0 / 3;
	CHECK(cps_ssl_status_failed(st, 2, "p", "d", NOW, false, 0, 0, &err) == 0, "site 2 fails");
	CHECK_STR(due(st, &w, NOW), "4", "  and waits out its backoff");
	CHECK_STR(due(st, &w, NOW + 2 * 3600), "2 4", "  then it is due again");

	out[0] = '\0';
	CHECK(cps_cert_fallbacks(st, collect, out, &err) == 0 && strcmp(out, "5") == 0,
	      "interim certificates: site 5 only");

	CHECK(cps_ssl_bootstrap_try(st, 5, "boot-a", 2, NOW, &attempts, &err) == 1 && attempts == 1,
	      "first pass of a boot: attempt 1");
	CHECK(cps_ssl_status_failed(st, 5, "p", "d", NOW, false, 0, 0, &err) == 0, "  it fails");
	CHECK(cps_ssl_bootstrap_try(st, 5, "boot-a", 2, NOW + 60, &attempts, &err) == 0 && attempts == 1,
	      "  the next pass waits out the backoff");
	CHECK(cps_ssl_bootstrap_try(st, 5, "boot-a", 2, NOW + 2 * 3600, &attempts, &err) == 1 &&
	      attempts == 2, "  after it: attempt 2");
	CHECK(cps_ssl_bootstrap_try(st, 5, "boot-a", 2, NOW + 9 * DAY, &attempts, &err) == 0 &&
	      attempts == 2, "  then none: bootstrap_attempts 2 reached this boot");
	CHECK(cps_ssl_bootstrap_try(st, 5, "boot-b", 2, NOW + 9 * DAY, &attempts, &err) == 1 &&
	      attempts == 1, "a new boot: at once, backoff or not, counting from 1");

	out[0] = '\0';
	CHECK(cps_cert_expiring_failing(st, NOW, 7 * DAY, 23 * 3600, collect, out, &err) == 0 &&
	      strcmp(out, "5") == 0, "expiring within 7 days with failures: site 5 (site 2 has 9 days)");
	CHECK(cps_ssl_warned(st, 5, NOW, &err) == 0, "  warned");
	out[0] = '\0';
	cps_cert_expiring_failing(st, NOW + 3600, 7 * DAY, 23 * 3600, collect, out, &err);
	CHECK_STR(out, "", "  not again within the day");
	out[0] = '\0';
	cps_cert_expiring_failing(st, NOW + DAY, 7 * DAY, 23 * 3600, collect, out, &err);
	CHECK_STR(out, "5", "  again the next day");
	CHECK(cps_ssl_status_succeeded(st, 5, NOW + DAY, &err) == 0, "  a success");
	out[0] = '\0';
	cps_cert_expiring_failing(st, NOW + 2 * DAY, 7 * DAY, 23 * 3600, collect, out, &err);
	CHECK_STR(out, "2", "  stops site 5's warnings (site 2, 7 days out now, gets its first)");

	cps_store_close(st);
	free(db);
	unit_rmtree(dir);
	return unit_done();
}
