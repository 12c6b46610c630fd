/* The SQLite store: migrations, file modes, sites and domains, ownership
 * (never nested across sites), per-site settings and their precedence. */
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/store/server.h"
#include "cpssl/store/settings.h"
#include "cpssl/store/sites.h"
#include "cpssl/store/ssl_state.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-store-XXXXXX";

/* Schema 15: a store made before it (forced_mechanisms allowing http and
 * dns only) keeps its forced names and takes persist afterwards. */
static void forced_migration(void)
{
	char *db = cps_path_join(dir, "old.db"), *m = NULL;
	cps_store *st = NULL;
	sqlite3 *h;
	cps_err err;

	CHECK(cps_store_open(db, &st, &err) == 0, "a store for the forced-mechanism migration");
	h = cps_store_db(st);
	CHECK(sqlite3_exec(h, "DROP TABLE forced_mechanisms;"
			   "CREATE TABLE forced_mechanisms (site_id INTEGER NOT NULL, name TEXT NOT NULL,"
			   " mechanism TEXT NOT NULL CHECK (mechanism IN ('http', 'dns')),"
			   " PRIMARY KEY (site_id, name)) WITHOUT ROWID;"
			   "INSERT INTO forced_mechanisms VALUES (1, 'a.test', 'dns');"
			   "PRAGMA user_version = 14;", NULL, NULL, NULL) == SQLITE_OK,
	      "  set back to schema 14 with a forced name");
	CHECK(cps_mech_force(st, 1, "b.test", "persist", &err) == -1, "  where persist is refused");
	cps_store_close(st);
	CHECK(cps_store_open(db, &st, &err) == 0 && cps_store_version(st) == 15, "  migrated to 15");
	CHECK(cps_mech_forced(st, 1, "a.test", &m, &err) == 0 && m && strcmp(m, "dns") == 0,
	      "  the forced name is kept");
	free(m);
	m = NULL;
	CHECK(cps_mech_force(st, 1, "b.test", "persist", &err) == 0 &&
	      cps_mech_forced(st, 1, "b.test", &m, &err) == 0 && m && strcmp(m, "persist") == 0,
	      "  persist can be forced");
	free(m);
	CHECK(cps_mech_force(st, 1, "c.test", "tls-alpn", &err) == -1, "  anything else still cannot");
	cps_store_close(st);
	free(db);
}

static long owner_of(cps_store *st, const char *name)
{
	long id = -1;

	cps_site_owner(st, name, &id, NULL);
	return id;
}

int main(void)
{
	cps_store *st = NULL, *st2 = NULL;
	cps_site s1, s2, s3, got;
	cps_err err;
	char *db, *v, **doms, **kv;
	size_t n, nkv;
	struct stat sb;
	cps_config *cfg;
	cps_settings set;
	long id;

	if (mkdtemp(dir) == NULL)
		return 1;
	umask(022);
	db = cps_path_join(dir, "storage/cpssl.db");

	CHECK(cps_store_open(db, &st, &err) == 0, "open creates the database");
	CHECK_INT(cps_store_version(st), 15, "  migrated to the latest schema");
	CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600, "  database file is 0600");
	{
		char *sd = cps_path_join(dir, "storage");

		CHECK(stat(sd, &sb) == 0 && (sb.st_mode & 0777) == 0700, "  storage dir is 0700");
		free(sd);
	}
	CHECK(cps_store_open(db, &st2, &err) == 0 && cps_store_version(st2) == 15,
	      "a second open finds it migrated");

	/* sites */
	CHECK(cps_site_create(st, &(cps_site_new){ "A.test", "127.0.0.1", NULL, "admin@a.test" },
			      &s1, &err) == 0, "create site for A.test");
	CHECK_STR(s1.name, "site1", "  first site is site1");
	CHECK_STR(s1.domain, "a.test", "  domain stored canonical");
	CHECK(cps_site_create(st, &(cps_site_new){ "b.test", "0:0::1", "::1", NULL }, &s2, &err) == 0,
	      "create site for b.test with IPv6");
	CHECK_STR(s2.ip, "::1", "  IPv6 stored in canonical text");
	CHECK(cps_site_create(st, &(cps_site_new){ "a.test", "127.0.0.1", NULL, NULL }, &got, &err) == -1,
	      "a second site for a.test is refused");
	CHECK_HAS(err.msg, "belongs to site1", "  naming the owner");
	CHECK(cps_site_create(st, &(cps_site_new){ "x.a.test", "127.0.0.1", NULL, NULL }, &got, &err) == -1,
	      "a site for a subdomain of another site's domain is refused");
	CHECK(cps_site_create(st, &(cps_site_new){ "c.test", "300.1.1.1", NULL, NULL }, &got, &err) == -1,
	      "a bad IP is refused");
	CHECK_HAS(err.msg, "not a valid IP address", "  clearly");
	CHECK(cps_site_create(st, &(cps_site_new){ "c.test", NULL, NULL, NULL }, &got, &err) == -1,
	      "a site without an IP is refused");
	CHECK(cps_site_create(st, &(cps_site_new){ "c.test", "127.0.0.3", NULL, "bad" }, &got, &err) == -1,
	      "a bad e-mail is refused");
	CHECK(cps_site_create(st, &(cps_site_new){ "../c", "127.0.0.3", NULL, NULL }, &got, &err) == -1,
	      "a bad domain is refused");

	/* domains and ownership */
	CHECK(cps_site_add_domain(st, s1.id, "www.a.test", &err) == 0, "add www.a.test to site1");
	CHECK(cps_site_add_domain(st, s1.id, "other.test", &err) == 0, "add other.test to site1");
	CHECK(cps_site_add_domain(st, s1.id, "other.test", &err) == -1, "adding it twice is refused");
	CHECK_HAS(err.msg, "already has the domain", "  clearly");
	CHECK(cps_site_add_domain(st, s2.id, "x.other.test", &err) == -1,
	      "site2 cannot take a name under site1's domain");
	CHECK(cps_site_add_domain(st, s2.id, "test.", &err) == -1,
	      "site2 cannot take a single-label parent");
	CHECK(cps_site_create(st, &(cps_site_new){ "deep.c.test", "127.0.0.3", NULL, NULL }, &s3, &err) == 0,
	      "create site3 for deep.c.test");
	CHECK(cps_site_add_domain(st, s2.id, "c.test", &err) == -1,
	      "site2 cannot take a parent of site3's domain");
	CHECK_HAS(err.msg, "its subdomain deep.c.test is hosted by site3", "  naming the subdomain and site");

	CHECK_INT(owner_of(st, "a.test"), s1.id, "owner of a.test is site1");
	CHECK_INT(owner_of(st, "deep.www.a.test"), s1.id, "owner of a name below is site1");
	CHECK_INT(owner_of(st, "*.a.test"), s1.id, "owner of *.a.test is site1");
	CHECK_INT(owner_of(st, "b.test"), s2.id, "owner of b.test is site2");
	CHECK_INT(owner_of(st, "ba.test"), 0, "nobody owns ba.test");
	CHECK_INT(owner_of(st, "c.test"), 0, "nobody owns c.test (site3 owns only deep.c.test)");
	CHECK(cps_site_check_owns(st, &s1, "b.test", &err) == -1 && err.code == CPS_E_PERM,
	      "site1 does not own b.test");
	CHECK_HAS(err.msg, "belongs to another site", "  refusal says so");
	CHECK(cps_site_check_owns(st, &s1, "nobody.example", &err) == -1,
	      "site1 does not own an unhosted name");
	CHECK_HAS(err.msg, "no site has this domain", "  refusal says so");

	CHECK(cps_site_domains(st, s1.id, &doms, &n, &err) == 0 && n == 3 &&
	      strcmp(doms[0], "a.test") == 0, "domains listed, primary first");
	cps_strv_free(doms, n);
	CHECK(cps_site_remove_domain(st, s1.id, "a.test", &err) == -1,
	      "the primary domain cannot be removed");
	CHECK(cps_site_remove_domain(st, s1.id, "other.test", &err) == 0, "remove other.test");
	CHECK_INT(owner_of(st, "other.test"), 0, "  nobody owns it now");
	CHECK(cps_site_remove_domain(st, s1.id, "other.test", &err) == -1 && err.code == CPS_E_NOTFOUND,
	      "removing it again says not found");

	/* public suffixes are nobody's to host */
	CHECK(cps_site_add_domain(st, s1.id, "co.uk", &err) == -1 && err.code == CPS_E_PERM,
	      "a public suffix (co.uk) cannot be a site's domain");
	CHECK_HAS(err.msg, "co.uk is a public suffix", "  saying so");
	CHECK(cps_site_add_domain(st, s1.id, "github.io", &err) == -1, "  nor a private one (github.io)");
	CHECK(cps_site_add_domain(st, s1.id, "example.co.uk", &err) == 0, "a domain under one can");
	cps_site_remove_domain(st, s1.id, "example.co.uk", &err);

	/* resolution of -d */
	CHECK(cps_site_resolve(st, "site2", &got, &err) == 0 && got.id == s2.id, "resolve site2");
	CHECK(cps_site_resolve(st, "WWW.A.TEST", &got, &err) == 0 && got.id == s1.id,
	      "resolve by any domain of the site");
	CHECK(cps_site_resolve(st, "site9", &got, &err) == -1 && err.code == CPS_E_NOTFOUND,
	      "unknown site9");
	CHECK(cps_site_resolve(st, "site1/../site2", &got, &err) == -1 && err.code == CPS_E_INVAL,
	      "site1/../site2 is refused as a site name");
	CHECK(cps_site_resolve(st, "site01", &got, &err) == -1, "site01 is refused");
	CHECK(cps_site_resolve(st, "nothere.test", &got, &err) == -1 && err.code == CPS_E_NOTFOUND,
	      "an unhosted domain is not a site");
	CHECK(cps_site_name_parse("site12", &id, &err) == 0 && id == 12, "site12 parses");
	CHECK(cps_site_name_parse("site", &id, &err) == -1, "'site' alone is refused");

	/* settings precedence */
	CHECK(cps_config_load("/nonexistent/config.ini", &cfg, &err) == 0, "defaults");
	CHECK(cps_settings_resolve(cfg, st, s1.id, &set, &err) == 0 &&
	      strcmp(set.text[CPS_CFG_LE_VERIFY_IP], "true") == 0 &&
	      set.src[CPS_CFG_LE_VERIFY_IP] == CPS_SRC_BUILTIN && set.names.verify_ip,
	      "verify_ip: built-in true");
	cps_settings_free(&set);
	CHECK(cps_setting_key("verify_ip", &err) != NULL, "bare key name accepted");
	CHECK(cps_setting_key("letsencrypt.verify_ip", &err) != NULL, "section.key accepted");
	CHECK(cps_setting_key("letsencrypt.lookahead_days", &err) == NULL,
	      "a global-only key is not a site setting");
	CHECK_HAS(err.msg, "per-site settings: letsencrypt.verify_ip", "  error lists them");
	CHECK(cps_site_setting_set(st, s1.id, "letsencrypt.verify_ip", "false", &err) == 0,
	      "site1 overrides verify_ip");
	CHECK(cps_settings_resolve(cfg, st, s1.id, &set, &err) == 0 &&
	      strcmp(set.text[CPS_CFG_LE_VERIFY_IP], "false") == 0 &&
	      set.src[CPS_CFG_LE_VERIFY_IP] == CPS_SRC_SITE && !set.names.verify_ip,
	      "  site1 sees false from site");
	cps_settings_free(&set);
	CHECK(cps_settings_resolve(cfg, st, s2.id, &set, &err) == 0 && set.names.verify_ip,
	      "  site2 still sees true");
	cps_settings_free(&set);
	CHECK(cps_settings_resolve(cfg, st, 0, &set, &err) == 0 && set.names.verify_ip,
	      "  the server (no site) sees true");
	cps_settings_free(&set);
	CHECK(cps_site_setting_unset(st, s1.id, "letsencrypt.verify_ip", &err) == 0 &&
	      cps_settings_resolve(cfg, st, s1.id, &set, &err) == 0 && set.names.verify_ip,
	      "unset reverts to the global value");
	cps_settings_free(&set);
	cps_config_free(cfg);

	/* server settings */
	CHECK(cps_server_get(st, CPS_SERVER_EMAIL, &v, &err) == 0 && v == NULL, "no admin email yet");
	CHECK(cps_server_set(st, CPS_SERVER_EMAIL, "a@b.test", &err) == 0 &&
	      cps_server_get(st2, CPS_SERVER_EMAIL, &v, &err) == 0 && v && strcmp(v, "a@b.test") == 0,
	      "admin email saved and seen by another connection");
	free(v);

	/* failure backoff: an hour doubling up to a day; a day for input problems */
	{
		cps_ssl_status ss;
		long long t = 1000000;
		long long want[] = { 3600, 7200, 14400, 28800, 57600, 86400, 86400 };

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char desc[80];

			cps_ssl_status_failed(st, s2.id, "serverInternal", "x", t, false, 0, 0, &err);
			cps_ssl_status_get(st, s2.id, &ss, &err);
			snprintf(desc, sizeof(desc), "transient failure %zu: next attempt after %llds", i + 1, want[i]);
			CHECK_INT(ss.next_attempt - t, want[i], desc);
			cps_ssl_status_free(&ss);
		}
		cps_ssl_status_failed(st, s2.id, "serverInternal", "x", t, false, 1, 0, &err);
		cps_ssl_status_get(st, s2.id, &ss, &err);
		CHECK_INT(ss.next_attempt - t, 95040, "  jitter stretches it by up to 10%");
		CHECK_INT(ss.failures, 8, "  failures counted");
		cps_ssl_status_free(&ss);
		cps_ssl_status_succeeded(st, s2.id, t, &err);
		cps_ssl_status_failed(st, s2.id, "unauthorized", "y", t, true, 0, 0, &err);
		cps_ssl_status_get(st, s2.id, &ss, &err);
		CHECK_INT(ss.next_attempt - t, 86400, "an input-related failure waits a day at once");
		CHECK_INT(ss.failures, 1, "  after a success the count starts again");
		CHECK_STR(ss.last_problem, "unauthorized", "  the problem recorded");
		cps_ssl_status_free(&ss);
		cps_ssl_status_failed(st, s2.id, "rateLimited", "z", t, false, 0, t + 5 * 86400, &err);
		cps_ssl_status_get(st, s2.id, &ss, &err);
		CHECK_INT(ss.next_attempt - t, 5 * 86400, "a rate limit's retry time defers the site that long");
		cps_ssl_status_free(&ss);
		cps_ssl_status_failed(st, s2.id, "rateLimited", "z", t, false, 0, t + 60, &err);
		cps_ssl_status_get(st, s2.id, &ss, &err);
		CHECK(ss.next_attempt - t >= 3600, "  but never less than the backoff");
		cps_ssl_status_free(&ss);
	}

	/* deletion: cascades, ids never reused */
	CHECK(cps_site_setting_set(st, s3.id, "dns.provider", "hook", &err) == 0, "site3 setting");
	CHECK(cps_site_delete(st, s3.id, &err) == 0, "delete site3");
	CHECK_INT(owner_of(st, "deep.c.test"), 0, "  its domain is free again");
	CHECK(cps_site_settings_all(st, s3.id, &kv, &nkv, &err) == 0 && nkv == 0,
	      "  its settings are gone");
	cps_strv_free(kv, 2 * nkv);
	CHECK(cps_site_delete(st, s3.id, &err) == -1 && err.code == CPS_E_NOTFOUND,
	      "deleting it again says not found");
	CHECK(cps_site_create(st, &(cps_site_new){ "new.test", "127.0.0.4", NULL, NULL }, &got, &err) == 0 &&
	      strcmp(got.name, "site4") == 0, "the next site is site4, not a reused site3");

	cps_store_close(st2);
	cps_store_close(st);
	free(db);
	forced_migration();
	unit_rmtree(dir);
	return unit_done();
}
