#include "cpssl/store/ari.h"

#include <stdlib.h>
#include <string.h>

#include "cpssl/store/certs.h"

/* ari_check_at: when to ask the CA next; NULL never (not from an ACME CA,
 * expired). A certificate recorded from a CA starts at 0: ask at once.
 * ari_renew_at: the time chosen inside the CA's window; NULL while the CA
 * has suggested none, and then the configured window applies. */
const char cps_schema_ari_v1[] =
	"ALTER TABLE certificates ADD COLUMN ari_id TEXT;"
	"ALTER TABLE certificates ADD COLUMN ari_start INTEGER;"
	"ALTER TABLE certificates ADD COLUMN ari_end INTEGER;"
	"ALTER TABLE certificates ADD COLUMN ari_renew_at INTEGER;"
	"ALTER TABLE certificates ADD COLUMN ari_explanation TEXT;"
	"ALTER TABLE certificates ADD COLUMN ari_check_at INTEGER;"
	"UPDATE certificates SET ari_check_at = 0 WHERE is_current = 1 AND server NOT IN ('"
	CPS_ORIGIN_IMPORT "', '" CPS_ORIGIN_SELFSIGNED "', '" CPS_ORIGIN_INTERIM "');"
	"CREATE INDEX certificates_ari_renew ON certificates(ari_renew_at) "
	"WHERE is_current = 1 AND ari_renew_at IS NOT NULL;"
	"CREATE INDEX certificates_ari_check ON certificates(server, ari_check_at) "
	"WHERE is_current = 1 AND ari_check_at IS NOT NULL;";

void cps_cert_ari_claims_free(cps_ari_claim *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].path);
		free(v[i].cert_id);
	}
	free(v);
}

static int select_claims(cps_store *st, const char *server, long long now, size_t max,
			 cps_ari_claim **out, size_t *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT id, site_id, path, ari_id, not_after, ari_start, ari_end, ari_renew_at "
		"FROM certificates WHERE is_current = 1 AND ari_check_at <= ?1 AND server = ?2 "
		"ORDER BY ari_check_at LIMIT ?3", err);
	cps_ari_claim *v;
	int rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	v = calloc(max ? max : 1, sizeof(*v));
	if (v == NULL) {
		sqlite3_finalize(s);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_ari_claim *c = &v[(*n)++];

		c->id = sqlite3_column_int64(s, 0);
		c->site_id = (long)sqlite3_column_int64(s, 1);
		c->path = cps_store_text(s, 2);
		c->cert_id = cps_store_text(s, 3);
		c->not_after = sqlite3_column_int64(s, 4);
		c->start = sqlite3_column_int64(s, 5);
		c->end = sqlite3_column_int64(s, 6);
		c->renew_at = sqlite3_column_int64(s, 7);
	}
	if (*n < max && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		cps_cert_ari_claims_free(v, *n);
		*n = 0;
		return cps_store_fail(st, err, "finding certificates to ask the CA about");
	}
	sqlite3_finalize(s);
	*out = v;
	return 0;
}

int cps_cert_ari_claim(cps_store *st, const char *server, long long now,
		       long long lease, size_t max, cps_ari_claim **out,
		       size_t *n, cps_err *err)
{
	sqlite3_stmt *s;

	*out = NULL;
	*n = 0;
	if (cps_store_begin(st, err) != 0)
		return -1;
	/* RFC 9773 §4.3: no more asking about an expired certificate */
	s = cps_store_prepare(st,
		"UPDATE certificates SET ari_check_at = NULL WHERE is_current = 1 "
		"AND server = ?2 AND ari_check_at <= ?1 AND not_after <= ?1", err);
	if (s) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	}
	if (cps_store_exec(st, s, "retiring expired certificates", err) != 0 ||
	    select_claims(st, server, now, max, out, n, err) != 0)
		goto fail;
	for (size_t i = 0; i < *n; i++) {
		s = cps_store_prepare(st, "UPDATE certificates SET ari_check_at = ? WHERE id = ?", err);
		if (s) {
			sqlite3_bind_int64(s, 1, lease);
			sqlite3_bind_int64(s, 2, (*out)[i].id);
		}
		if (cps_store_exec(st, s, "claiming a certificate to ask the CA about", err) != 0)
			goto fail;
	}
	if (cps_store_commit(st, err) == 0)
		return 0;
fail:
	cps_store_rollback(st);
	cps_cert_ari_claims_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

int cps_cert_ari_postpone(cps_store *st, const char *server, long long now, long long until,
			  cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET ari_check_at = ?3 WHERE is_current = 1 "
		"AND ari_check_at <= ?1 AND server = ?2", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, until);
	return cps_store_exec(st, s, "postponing the renewal information checks", err);
}

int cps_cert_ari_waiting(cps_store *st, const char *server, long long now,
			 long *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT count(*) FROM certificates WHERE is_current = 1 AND ari_check_at <= ?1 "
		"AND server = ?2", err);
	int rc;

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return cps_store_fail(st, err, "counting certificates to ask the CA about");
	return 0;
}

int cps_cert_ari_set_id(cps_store *st, long long id, const char *cert_id,
			cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET ari_id = ? WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, cert_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	return cps_store_exec(st, s, "recording a certificate's CertID", err);
}

int cps_cert_ari_save(cps_store *st, long long id, const cps_ari_state *a,
		      cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET ari_start = ?, ari_end = ?, ari_renew_at = ?, "
		"ari_explanation = ?, ari_check_at = ? WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->start);
	sqlite3_bind_int64(s, 2, a->end);
	sqlite3_bind_int64(s, 3, a->renew_at);
	if (a->explanation)
		sqlite3_bind_text(s, 4, a->explanation, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, a->check_at);
	sqlite3_bind_int64(s, 6, id);
	return cps_store_exec(st, s, "recording the CA's renewal window", err);
}

int cps_cert_ari_retry(cps_store *st, long long id, long long check_at,
		       cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE certificates SET ari_check_at = ? WHERE id = ? AND ari_check_at IS NOT NULL", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, check_at);
	sqlite3_bind_int64(s, 2, id);
	return cps_store_exec(st, s, "recording when to ask the CA again", err);
}
