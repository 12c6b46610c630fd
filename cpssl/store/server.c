#include "cpssl/store/server.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/names/hostname.h"
#include "cpssl/store/sites.h"

const char cps_schema_server_v1[] =
	"CREATE TABLE server_settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;";

int cps_server_get(cps_store *st, const char *key, char **value, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT value FROM server_settings WHERE key = ?", err);

	*value = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return cps_store_get_text(st, s, value, "reading a server setting", err);
}

int cps_server_set(cps_store *st, const char *key, const char *value,
		   cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO server_settings (key, value) VALUES (?, ?) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "saving a server setting", err);
}

static int push_new(char ***v, size_t *n, const char *s)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

int cps_server_names(cps_store *st, const cps_strlist *additional, char ***out,
		     size_t *n, cps_err *err)
{
	char *host = NULL, sys[HOST_NAME_MAX + 1], canon[CPS_HOSTNAME_MAX + 1];
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (cps_server_get(st, CPS_SERVER_HOSTNAME, &host, err) != 0)
		return -1;
	if (host == NULL && gethostname(sys, sizeof(sys)) == 0) {
		sys[sizeof(sys) - 1] = '\0';
		host = strdup(sys);
	}
	if (host && cps_hostname_normalize(host, 0, canon, NULL) == 0)
		rc = push_new(out, n, canon);
	for (size_t i = 0; rc == 0 && i < additional->n; i++)
		rc = push_new(out, n, additional->v[i]);
	free(host);
	if (rc != 0) {
		cps_strv_free(*out, *n);
		*out = NULL;
		*n = 0;
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}
