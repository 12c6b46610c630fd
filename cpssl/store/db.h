/* The SQLite store: one database under storage/, WAL, foreign keys, a busy
 * timeout, and versioned migrations (PRAGMA user_version). Each table family
 * has its own file (sites.c, server.c, …) and contributes its migrations. */
#ifndef CPSSL_STORE_DB_H
#define CPSSL_STORE_DB_H

#include <sqlite3.h>

#include "cpssl/core/err.h"

typedef struct cps_store cps_store;

/* Open (creating it 0600 in a 0700 directory when missing) and migrate. */
int cps_store_open(const char *path, cps_store **out, cps_err *err);
void cps_store_close(cps_store *st);

/* Schema version after migrations. */
int cps_store_version(cps_store *st);

/* Write transactions take the lock at BEGIN so that two processes never
 * deadlock on an upgrade from read to write. */
int cps_store_begin(cps_store *st, cps_err *err);
int cps_store_commit(cps_store *st, cps_err *err);
void cps_store_rollback(cps_store *st);

/* For the table-family files only. */
sqlite3 *cps_store_db(cps_store *st);
int cps_store_fail(cps_store *st, cps_err *err, const char *what);
/* Step S once, finalize it, and fail (naming WHAT) unless it is done. */
int cps_store_exec(cps_store *st, sqlite3_stmt *s, const char *what,
		   cps_err *err);
/* Step S, take column 0 of the first row as a fresh string (*value NULL
 * when there is no row), finalize it. */
int cps_store_get_text(cps_store *st, sqlite3_stmt *s, char **value,
		       const char *what, cps_err *err);
/* A text column as a fresh string (NULL for SQL NULL or out of memory). */
char *cps_store_text(sqlite3_stmt *s, int col);
/* Prepare SQL; on failure sets err and returns NULL. */
sqlite3_stmt *cps_store_prepare(cps_store *st, const char *sql, cps_err *err);

#endif
