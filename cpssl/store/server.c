#include "cpssl/store/server.h"

#include <stdlib.h>
#include <string.h>

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
