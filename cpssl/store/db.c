#include "cpssl/store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/store/schema.h"

#define BUSY_TIMEOUT_MS 15000

struct cps_store {
	sqlite3 *db;
	int version;
};

/* Every migration, in order; the array index + 1 is the schema version.
 * Append only: a released migration is never edited. */
static const char *const migrations[] = {
	cps_schema_sites_v1,
	cps_schema_server_v1,
	cps_schema_acme_v1,
	cps_schema_certs_v1,
	cps_schema_ssl_state_v1,
	cps_schema_reloads_v1,
	cps_schema_sites_v2,
	cps_schema_certs_v2,
	cps_schema_ssl_state_v2,
	cps_schema_certs_v3,
	cps_schema_ssl_state_v3,
	cps_schema_certs_v4,
	cps_schema_ari_v1,
	cps_schema_ca_health_v1,
	cps_schema_ssl_state_v4,
};

sqlite3 *cps_store_db(cps_store *st)
{
	return st->db;
}

int cps_store_fail(cps_store *st, cps_err *err, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);

	return cps_fail(err, CPS_E_DB, "database error while %s: %s%s", what,
			sqlite3_errmsg(st->db),
			(rc & 0xff) == SQLITE_BUSY
				? " (another cpcmd held the database too long; try again)"
				: "");
}

int cps_store_exec(cps_store *st, sqlite3_stmt *s, const char *what,
		   cps_err *err)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cps_store_fail(st, err, what);
	return 0;
}

int cps_store_get_text(cps_store *st, sqlite3_stmt *s, char **value,
		       const char *what, cps_err *err)
{
	int rc;

	*value = NULL;
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*value = cps_store_text(s, 0);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW && *value == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, what);
	return 0;
}

char *cps_store_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? strdup((const char *)t) : NULL;
}

sqlite3_stmt *cps_store_prepare(cps_store *st, const char *sql, cps_err *err)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		cps_store_fail(st, err, "preparing a query");
		return NULL;
	}
	return stmt;
}

static int exec(cps_store *st, const char *sql, cps_err *err, const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return cps_store_fail(st, err, what);
	return 0;
}

int cps_store_begin(cps_store *st, cps_err *err)
{
	return exec(st, "BEGIN IMMEDIATE", err, "starting a transaction");
}

int cps_store_commit(cps_store *st, cps_err *err)
{
	if (exec(st, "COMMIT", err, "committing") != 0) {
		cps_store_rollback(st);
		return -1;
	}
	return 0;
}

void cps_store_rollback(cps_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int read_version(cps_store *st, int *v, cps_err *err)
{
	sqlite3_stmt *stmt = cps_store_prepare(st, "PRAGMA user_version", err);

	if (stmt == NULL)
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return cps_store_fail(st, err, "reading the schema version");
	}
	*v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

static int migrate(cps_store *st, cps_err *err)
{
	const int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
	int v;

	if (read_version(st, &v, err) != 0)
		return -1;
	if (v == latest)
		goto done;
	/* Re-read inside the write lock: another process may have migrated. */
	if (cps_store_begin(st, err) != 0 || read_version(st, &v, err) != 0)
		goto fail;
	if (v > latest) {
		cps_fail(err, CPS_E_DB,
			 "the database schema (version %d) is newer than this cpcmd understands (version %d); use the newer cpcmd",
			 v, latest);
		goto fail;
	}
	for (; v < latest; v++) {
		char sql[64];

		if (exec(st, migrations[v], err, "upgrading the database schema") != 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(st, sql, err, "recording the schema version") != 0)
			goto fail;
	}
	if (cps_store_commit(st, err) != 0)
		return -1;
done:
	st->version = latest;
	return 0;
fail:
	cps_store_rollback(st);
	return -1;
}

int cps_store_open(const char *path, cps_store **out, cps_err *err)
{
	char dir[PATH_MAX];
	cps_store *st;
	int fd;

	*out = NULL;
	if (strlen(path) >= sizeof(dir))
		return cps_fail(err, CPS_E_IO, "database path too long");
	strcpy(dir, path);
	if (cps_fs_mkdir_p(dirname(dir), 0700, err) != 0)
		return -1;
	/* Create the file ourselves so it is 0600 from the start; SQLite gives
	 * its -wal and -shm files the same mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cps_fail(err, CPS_E_IO, "cannot open the database %s: %s",
				path, strerror(errno));
	close(fd);

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		cps_fail(err, CPS_E_DB, "cannot open the database %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		cps_store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if (exec(st, "PRAGMA journal_mode = WAL", err, "enabling WAL") != 0 ||
	    exec(st, "PRAGMA synchronous = FULL", err, "setting durability") != 0 ||
	    exec(st, "PRAGMA foreign_keys = ON", err, "enabling foreign keys") != 0 ||
	    migrate(st, err) != 0) {
		cps_err_prefix(err, "%s", path);
		cps_store_close(st);
		return -1;
	}
	cps_debug("database %s (schema version %d)", path, st->version);
	*out = st;
	return 0;
}

void cps_store_close(cps_store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st);
}

int cps_store_version(cps_store *st)
{
	return st->version;
}
