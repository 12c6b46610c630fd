#include "cpssl/store/ssl_state.h"

#include <stdlib.h>
#include <string.h>

const char cps_schema_ssl_state_v1[] =
	"CREATE TABLE forced_mechanisms ("
	"  site_id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  mechanism TEXT NOT NULL CHECK (mechanism IN ('http', 'dns')),"
	"  PRIMARY KEY (site_id, name)) WITHOUT ROWID;"
	"CREATE TABLE ssl_status ("
	"  site_id INTEGER PRIMARY KEY,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  last_problem TEXT,"
	"  last_detail TEXT,"
	"  last_failure INTEGER,"
	"  last_success INTEGER);"
	"CREATE TABLE issuance_log ("
	"  id INTEGER PRIMARY KEY,"
	"  server TEXT NOT NULL,"
	"  site_id INTEGER NOT NULL,"
	"  serial TEXT NOT NULL,"
	"  name_set TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL);"
	"CREATE INDEX issuance_log_by_set ON issuance_log(server, name_set, issued_at);"
	"CREATE INDEX issuance_log_by_domain ON issuance_log(server, domain, issued_at);";

const char cps_schema_ssl_state_v2[] =
	"ALTER TABLE ssl_status ADD COLUMN next_attempt INTEGER NOT NULL DEFAULT 0;";

/* attempts to replace an interim certificate since the boot named, and
 * when the last expiry warning went out */
const char cps_schema_ssl_state_v3[] =
	"ALTER TABLE ssl_status ADD COLUMN boot_id TEXT;"
	"ALTER TABLE ssl_status ADD COLUMN boot_attempts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE ssl_status ADD COLUMN warned_at INTEGER NOT NULL DEFAULT 0;";

/* a name may be forced to persist (dns-persist-01): the table is made again
 * with the wider CHECK, its rows kept */
const char cps_schema_ssl_state_v4[] =
	"CREATE TABLE forced_mechanisms_new ("
	"  site_id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  mechanism TEXT NOT NULL CHECK (mechanism IN ('http', 'dns', 'persist')),"
	"  PRIMARY KEY (site_id, name)) WITHOUT ROWID;"
	"INSERT INTO forced_mechanisms_new (site_id, name, mechanism)"
	"  SELECT site_id, name, mechanism FROM forced_mechanisms;"
	"DROP TABLE forced_mechanisms;"
	"ALTER TABLE forced_mechanisms_new RENAME TO forced_mechanisms;";

int cps_mech_force(cps_store *st, long site_id, const char *name,
		   const char *mech, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, mech
		? "INSERT INTO forced_mechanisms (site_id, name, mechanism) VALUES (?, ?, ?) "
		  "ON CONFLICT (site_id, name) DO UPDATE SET mechanism = excluded.mechanism"
		: "DELETE FROM forced_mechanisms WHERE site_id = ? AND name = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (mech)
		sqlite3_bind_text(s, 3, mech, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "saving a forced mechanism", err);
}

int cps_mech_forced(cps_store *st, long site_id, const char *name, char **mech,
		    cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT mechanism FROM forced_mechanisms WHERE site_id = ? AND name = ?", err);

	*mech = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	return cps_store_get_text(st, s, mech, "reading a forced mechanism", err);
}

int cps_mech_forced_all(cps_store *st, long site_id, char ***names,
			char ***mechs, size_t *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT name, mechanism FROM forced_mechanisms WHERE site_id = ? ORDER BY name", err);
	char **nv = NULL, **mv = NULL;
	size_t len = 0;
	int rc;

	*names = *mechs = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **a = realloc(nv, (len + 1) * sizeof(char *));
		char **b = a ? realloc(mv, (len + 1) * sizeof(char *)) : NULL;

		if (a)
			nv = a;
		if (b)
			mv = b;
		if (a == NULL || b == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		nv[len] = cps_store_text(s, 0);
		mv[len] = cps_store_text(s, 1);
		len++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < len; i++) {
			free(nv[i]);
			free(mv[i]);
		}
		free(nv);
		free(mv);
		return cps_store_fail(st, err, "listing forced mechanisms");
	}
	*names = nv;
	*mechs = mv;
	*n = len;
	return 0;
}

int cps_ssl_status_get(cps_store *st, long site_id, cps_ssl_status *out,
		       cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT failures, last_problem, last_detail, last_failure, last_success, next_attempt, "
		"boot_id, boot_attempts, warned_at FROM ssl_status WHERE site_id = ?", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->failures = (long)sqlite3_column_int64(s, 0);
		out->last_problem = cps_store_text(s, 1);
		out->last_detail = cps_store_text(s, 2);
		out->last_failure = sqlite3_column_int64(s, 3);
		out->last_success = sqlite3_column_int64(s, 4);
		out->next_attempt = sqlite3_column_int64(s, 5);
		out->boot_id = cps_store_text(s, 6);
		out->boot_attempts = (long)sqlite3_column_int64(s, 7);
		out->warned_at = sqlite3_column_int64(s, 8);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "reading the SSL status");
	return 0;
}

void cps_ssl_status_free(cps_ssl_status *s)
{
	free(s->last_problem);
	free(s->last_detail);
	free(s->boot_id);
	memset(s, 0, sizeof(*s));
}

int cps_ssl_bootstrap_try(cps_store *st, long site_id, const char *boot_id,
			  long max, long long now, long *attempts, cps_err *err)
{
	cps_ssl_status ss;
	bool fresh;
	sqlite3_stmt *s;

	if (cps_ssl_status_get(st, site_id, &ss, err) != 0)
		return -1;
	fresh = ss.boot_id == NULL || strcmp(ss.boot_id, boot_id) != 0;
	*attempts = fresh ? 0 : ss.boot_attempts;
	/* the first pass after a boot tries at once; later ones wait out the
	 * backoff, up to MAX attempts a boot */
	if (*attempts >= max || (!fresh && ss.next_attempt > now)) {
		cps_ssl_status_free(&ss);
		return 0;
	}
	cps_ssl_status_free(&ss);
	s = cps_store_prepare(st,
		"INSERT INTO ssl_status (site_id, boot_id, boot_attempts) VALUES (?1, ?2, ?3) "
		"ON CONFLICT (site_id) DO UPDATE SET boot_id = ?2, boot_attempts = ?3", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, ++*attempts);
	return cps_store_exec(st, s, "counting an attempt", err) == 0 ? 1 : -1;
}

int cps_ssl_warned(cps_store *st, long site_id, long long now, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO ssl_status (site_id, warned_at) VALUES (?1, ?2) "
		"ON CONFLICT (site_id) DO UPDATE SET warned_at = ?2", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_int64(s, 2, now);
	return cps_store_exec(st, s, "recording a warning", err);
}

int cps_ssl_status_failed(cps_store *st, long site_id, const char *problem,
			  const char *detail, long long now, bool input,
			  double jitter, long long retry_at, cps_err *err)
{
	/* backoff: an hour, doubling per failure up to a day; a day at once
	 * when the problem is the input's (retrying unchanged will not help);
	 * JITTER (0..1) spreads sites that failed together; never before
	 * RETRY_AT, the time a rate limit named */
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO ssl_status (site_id, failures, last_problem, last_detail, last_failure, next_attempt) "
		"VALUES (?1, 1, ?2, ?3, ?4, max(?7, ?4 + CAST((CASE WHEN ?5 THEN 86400 ELSE 3600 END) * (1 + ?6 / 10) AS INTEGER))) "
		"ON CONFLICT (site_id) DO UPDATE SET "
		"failures = failures + 1, last_problem = excluded.last_problem, "
		"last_detail = excluded.last_detail, last_failure = excluded.last_failure, "
		"next_attempt = max(?7, ?4 + CAST((CASE WHEN ?5 THEN 86400 ELSE min(86400, 3600 << min(failures, 5)) END) "
		"* (1 + ?6 / 10) AS INTEGER))", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, problem, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int(s, 5, input);
	sqlite3_bind_double(s, 6, jitter);
	sqlite3_bind_int64(s, 7, retry_at);
	return cps_store_exec(st, s, "recording a failure", err);
}

int cps_ssl_status_succeeded(cps_store *st, long site_id, long long now,
			     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO ssl_status (site_id, failures, last_success) VALUES (?, 0, ?) "
		"ON CONFLICT (site_id) DO UPDATE SET failures = 0, next_attempt = 0, "
		"last_success = excluded.last_success", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_int64(s, 2, now);
	return cps_store_exec(st, s, "recording a success", err);
}

int cps_issuance_log(cps_store *st, const char *server, long site_id,
		     const char *serial, const char *name_set,
		     char *const *domains, size_t ndomains, long long now,
		     cps_err *err)
{
	for (size_t i = 0; i < ndomains; i++) {
		sqlite3_stmt *s = cps_store_prepare(st,
			"INSERT INTO issuance_log (server, site_id, serial, name_set, domain, issued_at) "
			"VALUES (?, ?, ?, ?, ?, ?)", err);

		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, site_id);
		sqlite3_bind_text(s, 3, serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, name_set, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, domains[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, now);
		if (cps_store_exec(st, s, "logging an issuance", err) != 0)
			return -1;
	}
	return 0;
}

static int count(cps_store *st, const char *sql, const char *server,
		 const char *key, long long since, long *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, sql, err);
	int rc;

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, since);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return cps_store_fail(st, err, "counting issuances");
	return 0;
}

int cps_issuance_count_set(cps_store *st, const char *server,
			   const char *name_set, long long since, long *n,
			   cps_err *err)
{
	return count(st, "SELECT count(DISTINCT serial) FROM issuance_log "
			 "WHERE server = ? AND name_set = ? AND issued_at >= ?",
		     server, name_set, since, n, err);
}

int cps_issuance_count_domain(cps_store *st, const char *server,
			      const char *domain, long long since, long *n,
			      cps_err *err)
{
	return count(st, "SELECT count(DISTINCT serial) FROM issuance_log "
			 "WHERE server = ? AND domain = ? AND issued_at >= ?",
		     server, domain, since, n, err);
}
