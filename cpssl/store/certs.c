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
		"key_type, not_before, not_after, path, is_current, created_at, renew_at, deployed, "
		"profile, ari_check_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?9, 0, ?12, ?13)", err);
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
	if (in->profile)
		sqlite3_bind_text(s, 12, in->profile, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 12);
	/* a CA's certificate: its renewal information is asked at once */
	if (cps_origin_is_ca(in->server))
		sqlite3_bind_int64(s, 13, 0);
	else
		sqlite3_bind_null(s, 13);
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

#define CERT_COLUMNS \
	"SELECT id, site_id, server, names, serial, fingerprint, issuer, key_type, " \
	"not_before, not_after, path, created_at, revoked_at, is_current, profile, ari_id, " \
	"ari_start, ari_end, ari_renew_at, ari_explanation, coalesce(ari_check_at, -1) " \
	"FROM certificates "

/* renew_at: when a certificate became due by its remaining lifetime, as
 * computed at issuance. No longer read (the window is computed from the
 * settings of the moment, so a changed renew_fraction applies to every
 * certificate); written as not_after for databases that still have it. */
const char cps_schema_certs_v2[] =
	"ALTER TABLE certificates ADD COLUMN renew_at INTEGER NOT NULL DEFAULT 0;"
	"UPDATE certificates SET renew_at = not_after;"
	"CREATE INDEX certificates_renew ON certificates(renew_at) WHERE is_current = 1;";

static void fill_cert(sqlite3_stmt *s, cps_cert_row *out)
{
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
		out->profile = cps_store_text(s, 14);
		out->ari_id = cps_store_text(s, 15);
		out->ari_start = sqlite3_column_int64(s, 16);
		out->ari_end = sqlite3_column_int64(s, 17);
		out->ari_renew_at = sqlite3_column_int64(s, 18);
		out->ari_explanation = cps_store_text(s, 19);
		out->ari_check_at = sqlite3_column_int64(s, 20);
}

static int one_cert(cps_store *st, sqlite3_stmt *s, cps_cert_row *out,
		    cps_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		fill_cert(s, out);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "reading a certificate");
	return 0;
}

int cps_cert_current(cps_store *st, long site_id, cps_cert_row *out,
		     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, CERT_COLUMNS
		"WHERE site_id = ? AND is_current = 1", err);

	if (s)
		sqlite3_bind_int64(s, 1, site_id);
	return one_cert(st, s, out, err);
}

int cps_cert_previous(cps_store *st, long site_id, cps_cert_row *out,
		      cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, CERT_COLUMNS
		"WHERE site_id = ? AND is_current = 0 AND fingerprint != "
		"(SELECT fingerprint FROM certificates WHERE site_id = ? AND is_current = 1) "
		"ORDER BY id DESC LIMIT 1", err);

	if (s) {
		sqlite3_bind_int64(s, 1, site_id);
		sqlite3_bind_int64(s, 2, site_id);
	}
	return one_cert(st, s, out, err);
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
	free(r->profile);
	free(r->ari_id);
	free(r->ari_explanation);
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

void cps_cert_rows_free(cps_cert_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		cps_cert_row_free(&rows[i]);
	free(rows);
}

int cps_cert_list(cps_store *st, long site_id, cps_cert_row **rows, size_t *n,
		  long long *current_id, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, CERT_COLUMNS
		"WHERE site_id = ? ORDER BY id DESC LIMIT 100", err);
	cps_cert_row *v = NULL;
	size_t len = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	*current_id = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_cert_row *nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		memset(&v[len], 0, sizeof(v[len]));
		fill_cert(s, &v[len]);
		if (sqlite3_column_int(s, 13))
			*current_id = v[len].id;
		len++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_cert_rows_free(v, len);
		return cps_store_fail(st, err, "listing certificates");
	}
	*rows = v;
	*n = len;
	return 0;
}

/* Whether a recorded certificate has reached every target: a run killed
 * between storage and the reload leaves 0, and the next run finishes it. */
const char cps_schema_certs_v3[] =
	"ALTER TABLE certificates ADD COLUMN deployed INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX certificates_undeployed ON certificates(site_id) WHERE deployed = 0;";

/* The ACME profile a certificate was issued under (draft-ietf-acme-profiles),
 * NULL when none was named: older rows, imports, self-signed ones. */
const char cps_schema_certs_v4[] =
	"ALTER TABLE certificates ADD COLUMN profile TEXT;";

int cps_cert_set_deployed(cps_store *st, long long id, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET deployed = 1 WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return cps_store_exec(st, s, "recording the deployment", err);
}

int cps_cert_undeployed(cps_store *st, long site_id, cps_cert_row *out,
			cps_err *err)
{
	sqlite3_stmt *s;

	/* an older certificate left undeployed was superseded: nothing to finish */
	s = cps_store_prepare(st,
		"UPDATE certificates SET deployed = 1 WHERE site_id = ? AND deployed = 0 "
		"AND is_current = 0", err);
	if (s)
		sqlite3_bind_int64(s, 1, site_id);
	if (cps_store_exec(st, s, "settling superseded deployments", err) != 0)
		return -1;
	s = cps_store_prepare(st, CERT_COLUMNS
		"WHERE site_id = ? AND is_current = 1 AND deployed = 0", err);
	if (s)
		sqlite3_bind_int64(s, 1, site_id);
	return one_cert(st, s, out, err);
}

int cps_cert_undeployed_sites(cps_store *st, long **sites, size_t *n,
			      cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT DISTINCT site_id FROM certificates WHERE deployed = 0 ORDER BY site_id", err);
	long *v = NULL;
	size_t len = 0;
	int rc;

	*sites = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long *nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		v[len++] = (long)sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(v);
		return cps_store_fail(st, err, "listing unfinished deployments");
	}
	*sites = v;
	*n = len;
	return 0;
}

int cps_cert_clear_current(cps_store *st, long site_id, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET is_current = 0 WHERE site_id = ? AND is_current = 1", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	return cps_store_exec(st, s, "clearing the current certificate", err);
}

static int each_due(cps_store *st, sqlite3_stmt *s, cps_due_cb cb, void *ud,
		    const char *what, cps_err *err)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_due_cert d = {
			.site_id = (long)sqlite3_column_int64(s, 0),
			.server = (const char *)sqlite3_column_text(s, 1),
			.names = (const char *)sqlite3_column_text(s, 2),
			.not_before = sqlite3_column_int64(s, 3),
			.not_after = sqlite3_column_int64(s, 4),
		};

		if (cb(&d, ud) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return cps_store_fail(st, err, what);
	return 0;
}

/* The lead before expiry (core/window.h) in SQL: min(lookahead, fraction ×
 * lifetime), lookahead alone with the fraction off. */
#define WINDOW_LEAD "(CASE WHEN ?4 > 0 THEN min(?2, CAST(?4 * (c.not_after - c.not_before) AS INTEGER)) ELSE ?2 END)"

#define DUE_COLUMNS_FROM "SELECT c.site_id, c.server, c.names, c.not_before, c.not_after FROM certificates "
#define DUE_COLUMNS DUE_COLUMNS_FROM "c "
#define DUE_RENEWABLE \
	"c.is_current = 1 AND c.server NOT IN ('" CPS_ORIGIN_IMPORT "', '" CPS_ORIGIN_INTERIM "') " \
	"AND c.not_after >= ?1 + ?3 "
#define DUE_NO_BACKOFF \
	"AND NOT EXISTS (SELECT 1 FROM ssl_status t WHERE t.site_id = c.site_id AND t.next_attempt > ?1) "

int cps_cert_due(cps_store *st, long long now, const cps_window *w,
		 bool everything, cps_due_cb cb, void *ud, cps_err *err)
{
	/* two indexed ranges: the time chosen inside the CA's window where
	 * there is one (named: sorting by site, the planner would rather walk
	 * every current certificate); else the expiry range (the lead is never
	 * longer than lookahead), then the lead; minus sites waiting out a
	 * backoff */
	sqlite3_stmt *s = cps_store_prepare(st, everything
		? DUE_COLUMNS "WHERE c.is_current = 1 AND c.server != '" CPS_ORIGIN_IMPORT "' ORDER BY c.site_id"
		: DUE_COLUMNS_FROM "c INDEXED BY certificates_ari_renew "
		  "WHERE ?5 AND c.ari_renew_at <= ?1 AND " DUE_RENEWABLE DUE_NO_BACKOFF
		  "UNION ALL "
		  DUE_COLUMNS "WHERE c.not_after <= ?1 + ?2 AND c.not_after - " WINDOW_LEAD " <= ?1 "
		  "AND (NOT ?5 OR c.ari_renew_at IS NULL) AND " DUE_RENEWABLE DUE_NO_BACKOFF
		  "ORDER BY 1", err);

	if (s == NULL)
		return -1;
	if (!everything) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, w->lookahead_days * 86400LL);
		sqlite3_bind_int64(s, 3, w->lookbehind_days * 86400LL);
		sqlite3_bind_double(s, 4, w->fraction);
		sqlite3_bind_int(s, 5, w->ari ? 1 : 0);
	}
	return each_due(st, s, cb, ud, "finding due certificates", err);
}

int cps_cert_fallbacks(cps_store *st, cps_due_cb cb, void *ud, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT c.site_id, c.server, c.names, c.not_before, c.not_after FROM certificates c "
		"WHERE c.is_current = 1 AND c.server = '" CPS_ORIGIN_INTERIM "' ORDER BY c.site_id", err);

	if (s == NULL)
		return -1;
	return each_due(st, s, cb, ud, "finding self-signed certificates", err);
}

int cps_cert_expiring_failing(cps_store *st, long long now, long long within,
			      long long quiet, cps_due_cb cb, void *ud, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT c.site_id, c.server, c.names, c.not_before, c.not_after FROM certificates c "
		"JOIN ssl_status t ON t.site_id = c.site_id "
		"WHERE c.is_current = 1 AND c.server != '" CPS_ORIGIN_IMPORT "' "
		"AND c.not_after <= ?1 + ?2 AND t.failures > 0 AND t.warned_at <= ?1 - ?3 "
		"ORDER BY c.not_after, c.site_id", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, within);
	sqlite3_bind_int64(s, 3, quiet);
	return each_due(st, s, cb, ud, "finding expiring certificates", err);
}

bool cps_origin_is_ca(const char *server)
{
	return strcmp(server, CPS_ORIGIN_IMPORT) != 0 && strcmp(server, CPS_ORIGIN_SELFSIGNED) != 0 &&
	       strcmp(server, CPS_ORIGIN_INTERIM) != 0;
}
