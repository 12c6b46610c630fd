#include "cpssl/store/acme_state.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cps_schema_acme_v1[] =
	"CREATE TABLE acme_accounts ("
	"  server TEXT PRIMARY KEY,"
	"  kid TEXT NOT NULL,"
	"  contact TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE acme_orders ("
	"  id INTEGER PRIMARY KEY,"
	"  site_id INTEGER NOT NULL,"
	"  server TEXT NOT NULL,"
	"  url TEXT NOT NULL UNIQUE,"
	"  names TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  purpose TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX acme_orders_by_site ON acme_orders(site_id, server, names);"
	"CREATE TABLE acme_challenges ("
	"  url TEXT PRIMARY KEY,"
	"  order_id INTEGER NOT NULL REFERENCES acme_orders(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  authz_url TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  token TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  published TEXT);"
	"CREATE INDEX acme_challenges_by_order ON acme_challenges(order_id);"
	"CREATE INDEX acme_challenges_published ON acme_challenges(order_id) "
	"  WHERE published IS NOT NULL;";

int cps_account_get(cps_store *st, const char *server, char **kid,
		    char **contact, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT kid, contact FROM acme_accounts WHERE server = ?", err);
	int rc;

	*kid = NULL;
	if (contact)
		*contact = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*kid = cps_store_text(s, 0);
		if (contact)
			*contact = cps_store_text(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "reading the ACME account");
	return 0;
}

int cps_account_put(cps_store *st, const char *server, const char *kid,
		    const char *contact, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO acme_accounts (server, kid, contact, created_at) VALUES (?, ?, ?, ?) "
		"ON CONFLICT (server) DO UPDATE SET kid = excluded.kid, contact = excluded.contact", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, contact ? contact : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	return cps_store_exec(st, s, "saving the ACME account", err);
}

int cps_account_forget(cps_store *st, const char *server, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, "DELETE FROM acme_accounts WHERE server = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "forgetting the ACME account", err);
}

int cps_account_list(cps_store *st, cps_account_row **rows, size_t *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT server, kid, contact, created_at FROM acme_accounts ORDER BY server", err);
	cps_account_row *v = NULL;
	size_t cnt = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_account_row *nv = realloc(v, (cnt + 1) * sizeof(*v));

		if (nv == NULL) {
			sqlite3_finalize(s);
			cps_account_rows_free(v, cnt);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		v = nv;
		v[cnt].server = cps_store_text(s, 0);
		v[cnt].kid = cps_store_text(s, 1);
		v[cnt].contact = cps_store_text(s, 2);
		v[cnt].created = sqlite3_column_int64(s, 3);
		cnt++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_account_rows_free(v, cnt);
		return cps_store_fail(st, err, "reading the ACME accounts");
	}
	*rows = v;
	*n = cnt;
	return 0;
}

void cps_account_rows_free(cps_account_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].server);
		free(rows[i].kid);
		free(rows[i].contact);
	}
	free(rows);
}

int cps_order_insert(cps_store *st, long site_id, const char *server,
		     const char *url, const char *names, const char *status,
		     const char *purpose, long long *id, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO acme_orders (site_id, server, url, names, status, purpose, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
		"ON CONFLICT (url) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at", err);
	sqlite3_int64 now = (sqlite3_int64)time(NULL);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, names, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, now);
	sqlite3_bind_int64(s, 8, now);
	if (cps_store_exec(st, s, "recording the order", err) != 0)
		return -1;
	s = cps_store_prepare(st, "SELECT id FROM acme_orders WHERE url = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return cps_store_fail(st, err, "recording the order");
	return 0;
}

int cps_order_set_status(cps_store *st, long long id, const char *status,
			 cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE acme_orders SET status = ?, updated_at = ? WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(s, 3, id);
	return cps_store_exec(st, s, "updating the order", err);
}

void cps_order_row_free(cps_order_row *o)
{
	free(o->server);
	free(o->url);
	free(o->names);
	free(o->status);
	free(o->purpose);
	memset(o, 0, sizeof(*o));
}

int cps_order_find(cps_store *st, long site_id, const char *server,
		   const char *names, cps_order_row *out, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT id, site_id, server, url, names, status, purpose, created_at "
		"FROM acme_orders WHERE site_id = ? AND server = ? AND names = ? "
		"AND status NOT IN ('invalid', 'done', 'abandoned') "
		"ORDER BY id DESC LIMIT 1", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, names, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->site_id = (long)sqlite3_column_int64(s, 1);
		out->server = cps_store_text(s, 2);
		out->url = cps_store_text(s, 3);
		out->names = cps_store_text(s, 4);
		out->status = cps_store_text(s, 5);
		out->purpose = cps_store_text(s, 6);
		out->created = sqlite3_column_int64(s, 7);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "looking up orders");
	return 0;
}

int cps_challenge_put(cps_store *st, long long order_id, const char *name,
		      const char *authz_url, const char *type, const char *url,
		      const char *token, const char *status, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO acme_challenges (url, order_id, name, authz_url, type, token, status) "
		"VALUES (?, ?, ?, ?, ?, ?, ?) "
		"ON CONFLICT (url) DO UPDATE SET status = excluded.status, order_id = excluded.order_id", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, order_id);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, authz_url, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, token, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, status, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "recording a challenge", err);
}

int cps_challenge_set_published(cps_store *st, const char *url,
				const char *published, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE acme_challenges SET published = ? WHERE url = ?", err);

	if (s == NULL)
		return -1;
	if (published)
		sqlite3_bind_text(s, 1, published, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_text(s, 2, url, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "recording a published challenge", err);
}

int cps_challenge_set_status(cps_store *st, const char *url, const char *status,
			     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"UPDATE acme_challenges SET status = ? WHERE url = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, url, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "updating a challenge", err);
}

void cps_challenge_row_free(cps_challenge_row *row)
{
	free(row->name);
	free(row->authz_url);
	free(row->type);
	free(row->url);
	free(row->token);
	free(row->status);
	free(row->published);
	memset(row, 0, sizeof(*row));
}

void cps_challenge_rows_free(cps_challenge_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		cps_challenge_row_free(&rows[i]);
	free(rows);
}

static void fill_challenge(sqlite3_stmt *s, cps_challenge_row *r)
{
	r->order_id = sqlite3_column_int64(s, 0);
	r->name = cps_store_text(s, 1);
	r->authz_url = cps_store_text(s, 2);
	r->type = cps_store_text(s, 3);
	r->url = cps_store_text(s, 4);
	r->token = cps_store_text(s, 5);
	r->status = cps_store_text(s, 6);
	r->published = cps_store_text(s, 7);
}

#define CHALLENGE_COLUMNS \
	"SELECT c.order_id, c.name, c.authz_url, c.type, c.url, c.token, c.status, c.published " \
	"FROM acme_challenges c JOIN acme_orders o ON o.id = c.order_id "

int cps_challenge_find(cps_store *st, long site_id, const char *server,
		       const char *name, const char *type,
		       cps_challenge_row *out, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, CHALLENGE_COLUMNS
		"WHERE o.site_id = ? AND o.server = ? AND c.name = ? AND c.type = ? "
		"AND o.status NOT IN ('invalid', 'done', 'abandoned') "
		"ORDER BY o.id DESC LIMIT 1", err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	sqlite3_bind_text(s, 2, server, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, type, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		fill_challenge(s, out);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "looking up a staged challenge");
	return 0;
}

int cps_challenge_published(cps_store *st, long site_id,
			    cps_challenge_row **rows, size_t *n, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, CHALLENGE_COLUMNS
		"WHERE o.site_id = ? AND c.published IS NOT NULL", err);
	cps_challenge_row *v = NULL;
	size_t len = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_challenge_row *nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL) {
			sqlite3_finalize(s);
			cps_challenge_rows_free(v, len);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		v = nv;
		fill_challenge(s, &v[len++]);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_challenge_rows_free(v, len);
		return cps_store_fail(st, err, "listing published challenges");
	}
	*rows = v;
	*n = len;
	return 0;
}

int cps_order_count_since(cps_store *st, const char *server, long long since, long *n,
			  cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT count(*) FROM acme_orders WHERE server = ? AND created_at >= ?", err);
	int rc;

	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return cps_store_fail(st, err, "counting new orders");
	return 0;
}
