#include "cpssl/store/certs.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cps_schema_certs_v1[] =
	"CREATE TABLE certificates ("
	"  id INTEGER PRIMARY KEY,"
	"  site_id INTEGER NOT NULL,"
	"  server TEXT NOT NULL,"
	"  names TEXT NOT NULL,"
	"  serial TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  key_type TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  is_current INTEGER NOT NULL DEFAULT 0,"
	"  revoked_at INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX certificates_current ON certificates(site_id) WHERE is_current = 1;"
	"CREATE INDEX certificates_expiry ON certificates(not_after) WHERE is_current = 1;";

int cps_cert_record(cps_store *st, const cps_cert_row *in, long long *id,
		    cps_err *err)
{
	sqlite3_stmt *s = NULL;

	if (cps_store_begin(st, err) != 0)
		return -1;
	s = cps_store_prepare(st,
		"UPDATE certificates SET is_current = 0 WHERE site_id = ? AND is_current = 1", err);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, in->site_id);
	if (sqlite3_step(s) != SQLITE_DONE) {
		cps_store_fail(st, err, "replacing the current certificate");
		goto fail;
	}
	sqlite3_finalize(s);
	s = cps_store_prepare(st,
		"INSERT INTO certificates (site_id, server, names, serial, fingerprint, issuer, "
		"key_type, not_before, not_after, path, is_current, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)", err);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, in->site_id);
	sqlite3_bind_text(s, 2, in->server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, in->names, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, in->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, in->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, in->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, in->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, in->not_before);
	sqlite3_bind_int64(s, 9, in->not_after);
	sqlite3_bind_text(s, 10, in->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE) {
		cps_store_fail(st, err, "recording the certificate");
		goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	*id = sqlite3_last_insert_rowid(cps_store_db(st));
	return cps_store_commit(st, err);
fail:
	sqlite3_finalize(s);
	cps_store_rollback(st);
	return -1;
}

int cps_cert_current(cps_store *st, long site_id, cps_cert_row *out,
		     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT id, site_id, server, names, serial, fingerprint, issuer, key_type, "
		"not_before, not_after, path, created_at, revoked_at FROM certificates "
		"WHERE site_id = ? AND is_current = 1", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->site_id = (long)sqlite3_column_int64(s, 1);
		out->server = cps_store_text(s, 2);
		out->names = cps_store_text(s, 3);
		out->serial = cps_store_text(s, 4);
		out->fingerprint = cps_store_text(s, 5);
		out->issuer = cps_store_text(s, 6);
		out->key_type = cps_store_text(s, 7);
		out->not_before = sqlite3_column_int64(s, 8);
		out->not_after = sqlite3_column_int64(s, 9);
		out->path = cps_store_text(s, 10);
		out->created = sqlite3_column_int64(s, 11);
		out->revoked = sqlite3_column_int64(s, 12);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "reading the current certificate");
	return 0;
}

void cps_cert_row_free(cps_cert_row *r)
{
	free(r->server);
	free(r->names);
	free(r->serial);
	free(r->fingerprint);
	free(r->issuer);
	free(r->key_type);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

int cps_cert_set_revoked(cps_store *st, long long id, long long when,
			 cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET revoked_at = ? WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, when);
	sqlite3_bind_int64(s, 2, id);
	return cps_store_exec(st, s, "recording the revocation", err);
}
