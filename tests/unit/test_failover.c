/* Failover between CAs: the keys (fallback_servers checked as https URLs),
 * which CA a request uses, what counts against a CA (its own failures, not a
 * site's), a CA passed over at once when unreachable or after
 * failover_after failures, the session moved to the next one with its own
 * storage name and no external account binding, and back to the primary
 * after failover_retry_hours. */
#include <unistd.h>

#include "cpssl/core/config.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/settings.h"
#include "cpssl/issue/failover.h"
#include "cpssl/store/ca_health.h"
#include "unit.h"

#define P1 "https://ca1.test:14000/dir"
#define P2 "https://ca2.test:14000/dir"
#define P3 "https://ca3.test/acme/directory"

static char dir[] = "/tmp/cpssl-test-failover-XXXXXX";
static char warnings[8192];

static void sink(cps_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == CPS_LOG_WARNING)
		snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings), "%s\n",
			 msg);
}

static cps_config *load(const char *text)
{
	char *path = cps_path_join(dir, "config.ini");
	cps_config *cfg = NULL;
	cps_err err;

	cps_fs_write_atomic(path, text, strlen(text), 0600, NULL);
	if (cps_config_load(path, &cfg, &err) != 0)
		printf("# %s\n", err.msg);
	free(path);
	return cfg;
}

static void keys(void)
{
	cps_config *cfg = load("[letsencrypt]\nserver = " P1 "\nfallback_servers = http://ca2.test/dir\n");
	cps_settings s;
	cps_err err;

	CHECK(cfg == NULL, "an http:// fallback is refused when config.ini is read");
	cps_config_free(cfg);
	cfg = load("[letsencrypt]\nserver = " P1 "\nfallback_servers = " P2 ", " P3 ", " P2 "\n");
	CHECK(cfg && cps_settings_parse(cfg, 0, NULL, 0, &s, &err) == 0, "two fallbacks resolve");
	if (cfg == NULL)
		return;
	CHECK_INT(s.ca.fallbacks.n, 2, "  in order, the repeat dropped");
	CHECK_STR(s.ca.fallbacks.v[1], P3, "  the second");
	CHECK_INT(s.ca.failover_after, 3, "  failover_after defaults to 3");
	CHECK_INT(s.ca.failover_retry_hours, 24, "  failover_retry_hours to 24");
	{
		const char *cas[CPS_FAILOVER_MAX];

		CHECK_INT(cps_failover_cas(&s, cas), 3, "  three CAs: the primary first");
		CHECK_STR(cas[0], P1, "  the primary");
	}
	CHECK(cps_failover_configured(&s, P3) && !cps_failover_configured(&s, "import"),
	      "  a fallback is a configured CA, an import is not");
	cps_settings_free(&s);
	cps_config_free(cfg);
}

static cps_err fault(cps_code code, const char *problem, bool input)
{
	cps_err e = { .code = code, .input = input };

	snprintf(e.problem, sizeof(e.problem), "%s", problem);
	snprintf(e.msg, sizeof(e.msg), "a test failure (%s)", *problem ? problem : "none");
	return e;
}

static void failover(void)
{
	cps_config *cfg = load("[letsencrypt]\nserver = " P1 "\nfallback_servers = " P2 "\n"
			       "failover_after = 2\nfailover_retry_hours = 5\n"
			       "eab_kid = kid-1\neab_hmac_key = c2VjcmV0\n");
	char *db = cps_path_join(dir, "cpssl.db");
	cps_paths paths = { .home = dir, .storage = dir, .db = db };
	cps_session *s = NULL;
	cps_store *st = NULL;
	cps_failover_view v;
	cps_ca_health h;
	cps_settings set = { 0 };
	unsigned tried = 0;
	long long now = (long long)time(NULL);
	cps_err err, e;

	if (!CHECK(cfg && cps_settings_parse(cfg, 0, NULL, 0, &set, &err) == 0 &&
		   cps_store_open(db, &st, &err) == 0 &&
		   cps_session_open(st, &set, &paths, &s, &err) == 0, "a session on the primary"))
		goto out;
	CHECK_STR(s->dir_url, P1, "  its CA is the primary");
	/* a site's own failures never count */
	e = fault(CPS_E_CA, "caa", true);
	CHECK(!cps_failover_after_failure(s, &e, &tried), "a CAA refusal: the request ends");
	e = fault(CPS_E_CA, "incorrectResponse", true);
	CHECK(!cps_failover_after_failure(s, &e, &tried), "a failed validation: the request ends");
	e = fault(CPS_E_RATELIMIT, "", false);
	CHECK(!cps_failover_after_failure(s, &e, &tried), "a local rate limit: the request ends");
	e = fault(CPS_E_DNS, "", false);
	CHECK(!cps_failover_after_failure(s, &e, &tried), "a DNS publication failure: the request ends");
	CHECK(cps_ca_health_get(st, P1, &h, &err) == 0 && h.failures == 0, "  none is counted");
	/* the CA's own: counted, the second passes it over */
	e = fault(CPS_E_CA, "serverInternal", false);
	tried = 0;
	CHECK(!cps_failover_after_failure(s, &e, &tried), "serverInternal: 1 of 2, the request ends");
	CHECK(cps_ca_health_get(st, P1, &h, &err) == 0 && h.failures == 1 && h.until == 0,
	      "  counted, not passed over");
	CHECK_HAS(h.last_error, "serverInternal", "  its error kept");
	tried = 0;
	e = fault(CPS_E_PROTO, "badNonce", false);
	CHECK(cps_failover_after_failure(s, &e, &tried), "badNonce, the second: on to the fallback");
	CHECK_STR(s->dir_url, P2, "  the session is at the fallback");
	CHECK_STR(s->server_dir, "ca2.test:14000.dir", "  with its storage name");
	CHECK_STR(s->set->ca.dir_name, "ca2.test:14000.dir", "  in the session's settings too");
	CHECK_STR(s->set->ca.eab_kid, "", "  and no external account binding");
	CHECK_HAS(warnings, "the CA " P1 " keeps failing; it is passed over until", "  a WARNING");
	CHECK_HAS(warnings, "the CA " P2 " is used instead", "  naming both CAs");
	CHECK(cps_ca_health_get(st, P1, &h, &err) == 0 && h.until >= now + 5 * 3600 &&
	      h.until <= now + 5 * 3600 + 60, "  passed over for failover_retry_hours");
	CHECK(cps_failover_view_get(st, &set, now, &v, &err) == 0 && strcmp(v.in_use, P2) == 0 &&
	      v.failed_over_from && strcmp(v.failed_over_from, P1) == 0 && v.failures == 2,
	      "the view: the fallback in use, failed over from the primary (2 failures)");
	/* the fallback unreachable too: no CA left in this request */
	e = fault(CPS_E_NET, "", false);
	CHECK(!cps_failover_after_failure(s, &e, &tried), "the fallback unreachable: none is left");
	CHECK(cps_ca_health_get(st, P2, &h, &err) == 0 && h.until > now, "  passed over at once");
	CHECK(cps_failover_view_get(st, &set, now, &v, &err) == 0 && strcmp(v.in_use, P1) == 0,
	      "  every CA passed over: the primary is tried");
	/* later: both back in service */
	CHECK(cps_failover_view_get(st, &set, now + 6 * 3600, &v, &err) == 0 &&
	      strcmp(v.in_use, P1) == 0 && v.failed_over_from == NULL,
	      "after failover_retry_hours the primary is in use");
	CHECK(cps_session_use_ca(s, P1, &err) == 0 && strcmp(s->set->ca.eab_kid, "kid-1") == 0,
	      "  back at the primary, its binding again");
	cps_failover_succeeded(s);
	CHECK(cps_ca_health_get(st, P1, &h, &err) == 0 && h.failures == 0 && h.until == 0,
	      "  a success clears its count");
out:
	cps_session_free(s);
	cps_store_close(st);
	cps_settings_free(&set);
	cps_config_free(cfg);
	free(db);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 99;
	cps_log_set_sink(sink, NULL);
	keys();
	failover();
	unit_rmtree(dir);
	return unit_done();
}
