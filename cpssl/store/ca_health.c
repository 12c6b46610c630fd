#include "cpssl/store/ca_health.h"

#include <stdio.h>
#include <string.h>

const char cps_schema_ca_health_v1[] =
	"CREATE TABLE ca_health ("
	"  server TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  last_failure INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

int cps_ca_health_get(cps_store *st, const char *server, cps_ca_health *out, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT failures, last_failure, until, last_error FROM ca_health WHERE server = ?", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->failures = (long)sqlite3_column_int64(s, 0);
		out->last_failure = sqlite3_column_int64(s, 1);
		out->until = sqlite3_column_int64(s, 2);
		snprintf(out->last_error, sizeof(out->last_error), "%s",
			 (const char *)sqlite3_column_text(s, 3));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : cps_store_fail(st, err, "reading a CA's health");
}

int cps_ca_health_fail(cps_store *st, const char *server, long long now, const char *why,
		       long long until, long *failures, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO ca_health (server, failures, last_failure, last_error, until) "
		"VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT (server) DO UPDATE SET "
		"failures = failures + 1, last_failure = ?2, last_error = ?3, "
		"until = MAX(until, ?4) RETURNING failures", err);
	int rc;

	*failures = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, until);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*failures = (long)sqlite3_column_int64(s, 0);
	rc = rc == SQLITE_ROW ? sqlite3_step(s) : rc;
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : cps_store_fail(st, err, "recording a CA's failure");
}

static int set_until(cps_store *st, const char *server, const char *sql, long long until,
		     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, sql, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, until);
	return cps_store_exec(st, s, "recording a CA's health", err);
}

int cps_ca_health_pass_over(cps_store *st, const char *server, long long until, cps_err *err)
{
	return set_until(st, server,
			 "INSERT INTO ca_health (server, until) VALUES (?1, ?2) "
			 "ON CONFLICT (server) DO UPDATE SET until = ?2", until, err);
}

int cps_ca_health_ok(cps_store *st, const char *server, cps_err *err)
{
	return set_until(st, server,
			 "UPDATE ca_health SET failures = 0, until = ?2 WHERE server = ?1", 0, err);
}
