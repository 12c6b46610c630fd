#include "cpssl/store/reloads.h"

#include <stdlib.h>
#include <string.h>

const char cps_schema_reloads_v1[] =
	"CREATE TABLE pending_reloads ("
	"  service TEXT PRIMARY KEY,"
	"  due_at INTEGER NOT NULL,"
	"  generation INTEGER NOT NULL,"
	"  deployments INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE reload_log ("
	"  id INTEGER PRIMARY KEY,"
	"  service TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  ok INTEGER NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX reload_log_by_service ON reload_log(service, id);";

int cps_reload_request(cps_store *st, const char *service, long long now,
		       long delay, long long *due, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO pending_reloads (service, due_at, generation, deployments) "
		"VALUES (?, ?, 1, 1) ON CONFLICT (service) DO UPDATE SET "
		"generation = generation + 1, deployments = deployments + 1", err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now + delay);
	if (cps_store_exec(st, s, "recording a pending reload", err) != 0)
		return -1;
	s = cps_store_prepare(st, "SELECT due_at FROM pending_reloads WHERE service = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*due = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : now + delay;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : cps_store_fail(st, err, "reading a pending reload");
}

void cps_reload_rows_free(cps_reload_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].service);
	free(rows);
}

int cps_reload_pending(cps_store *st, cps_reload_row **rows, size_t *n,
		       cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT service, due_at, generation, deployments FROM pending_reloads ORDER BY due_at", err);
	cps_reload_row *v = NULL;
	size_t len = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_reload_row *nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		v[len].service = cps_store_text(s, 0);
		v[len].due = sqlite3_column_int64(s, 1);
		v[len].generation = sqlite3_column_int64(s, 2);
		v[len].deployments = (long)sqlite3_column_int64(s, 3);
		len++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_reload_rows_free(v, len);
		return cps_store_fail(st, err, "reading pending reloads");
	}
	*rows = v;
	*n = len;
	return 0;
}

int cps_reload_any_due(cps_store *st, long long now, int *due, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT 1 FROM pending_reloads WHERE due_at <= ? LIMIT 1", err);
	int rc;

	*due = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	rc = sqlite3_step(s);
	*due = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "checking pending reloads");
	return 0;
}

int cps_reload_done(cps_store *st, const char *service, long long generation,
		    long long now, long delay, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"DELETE FROM pending_reloads WHERE service = ? AND generation = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, generation);
	if (cps_store_exec(st, s, "clearing a pending reload", err) != 0)
		return -1;
	/* asked again while reloading: its files may be newer than the reload */
	s = cps_store_prepare(st,
		"UPDATE pending_reloads SET due_at = ?, deployments = 1 WHERE service = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now + delay);
	sqlite3_bind_text(s, 2, service, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "rescheduling a reload", err);
}

int cps_reload_log(cps_store *st, const char *service, long long at, int ok,
		   const char *detail, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO reload_log (service, at, ok, detail) VALUES (?, ?, ?, ?)", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at);
	sqlite3_bind_int(s, 3, ok);
	sqlite3_bind_text(s, 4, detail, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "logging a reload", err);
}

void cps_reload_results_free(cps_reload_result *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].service);
		free(r[i].detail);
	}
	free(r);
}

int cps_reload_last(cps_store *st, cps_reload_result **out, size_t *n,
		    cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT service, at, ok, detail FROM reload_log WHERE id IN "
		"(SELECT max(id) FROM reload_log GROUP BY service) ORDER BY service", err);
	cps_reload_result *v = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_reload_result *nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		v[len].service = cps_store_text(s, 0);
		v[len].at = sqlite3_column_int64(s, 1);
		v[len].ok = sqlite3_column_int(s, 2);
		v[len].detail = cps_store_text(s, 3);
		len++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_reload_results_free(v, len);
		return cps_store_fail(st, err, "reading the reload log");
	}
	*out = v;
	*n = len;
	return 0;
}
