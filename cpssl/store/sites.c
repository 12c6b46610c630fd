#include "cpssl/store/sites.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cps_schema_sites_v1[] =
	"CREATE TABLE sites ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ip TEXT NOT NULL,"
	"  ip6 TEXT NOT NULL DEFAULT '',"
	"  email TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE site_domains ("
	"  domain TEXT PRIMARY KEY,"
	"  site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,"
	"  is_primary INTEGER NOT NULL DEFAULT 0,"
	"  added_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX site_domains_by_site ON site_domains(site_id, is_primary);"
	"CREATE TABLE site_settings ("
	"  site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (site_id, key)) WITHOUT ROWID;";

const char cps_schema_sites_v2[] =
	"ALTER TABLE sites ADD COLUMN ssl_enabled INTEGER NOT NULL DEFAULT 0;";

void cps_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cps_site_name_parse(const char *name, long *id, cps_err *err)
{
	const char *d = name + 4;
	size_t n;
	char s[40];

	if (strncmp(name, "site", 4) != 0)
		goto bad;
	n = strlen(d);
	if (n == 0 || n > 9 || d[0] == '0')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)d[i]))
			goto bad;
	*id = strtol(d, NULL, 10);
	return 0;
bad:
	for (n = 0; name[n] && n < sizeof(s) - 1; n++)
		s[n] = isprint((unsigned char)name[n]) ? name[n] : '?';
	s[n] = '\0';
	return cps_fail(err, CPS_E_INVAL,
			"'%s' is not a site name (expected siteN, e.g. site12)", s);
}

static int check_ip(const char *ip, const char *what, char *out, cps_err *err)
{
	unsigned char buf[16];
	int af = strchr(ip, ':') ? AF_INET6 : AF_INET;

	if (strlen(ip) >= CPS_IP_MAX || inet_pton(af, ip, buf) != 1)
		return cps_fail(err, CPS_E_INVAL,
				"'%.64s' is not a valid IP address for %s", ip,
				what);
	/* canonical text form, e.g. ::1 for 0:0:0:0:0:0:0:1 */
	if (inet_ntop(af, buf, out, CPS_IP_MAX) == NULL)
		return cps_fail(err, CPS_E_INVAL, "'%.64s' is not a valid IP address", ip);
	return 0;
}

static void fill_site(sqlite3_stmt *s, cps_site *out)
{
	memset(out, 0, sizeof(*out));
	out->id = (long)sqlite3_column_int64(s, 0);
	snprintf(out->name, sizeof(out->name), "site%ld", out->id);
	snprintf(out->ip, sizeof(out->ip), "%s", (const char *)sqlite3_column_text(s, 1));
	snprintf(out->ip6, sizeof(out->ip6), "%s", (const char *)sqlite3_column_text(s, 2));
	snprintf(out->email, sizeof(out->email), "%s", (const char *)sqlite3_column_text(s, 3));
	out->created = sqlite3_column_int64(s, 4);
	if (sqlite3_column_type(s, 5) != SQLITE_NULL)
		snprintf(out->domain, sizeof(out->domain), "%s",
			 (const char *)sqlite3_column_text(s, 5));
	out->ssl_enabled = sqlite3_column_int(s, 6) != 0;
}

#define SITE_COLUMNS                                                        \
	"SELECT s.id, s.ip, s.ip6, s.email, s.created_at, d.domain, s.ssl_enabled FROM sites s " \
	"LEFT JOIN site_domains d ON d.site_id = s.id AND d.is_primary = 1 "

int cps_site_get(cps_store *st, long id, cps_site *out, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, SITE_COLUMNS "WHERE s.id = ?", err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		fill_site(s, out);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return cps_fail(err, CPS_E_NOTFOUND,
				"site%ld does not exist (see site:list)", id);
	return cps_store_fail(st, err, "reading a site");
}

/* The site owning HOSTNAME and the domain of it that matched: walk from the
 * name towards its parents, one indexed query per label. */
static int owner_lookup(cps_store *st, const char *hostname, long *id,
			char domain[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	sqlite3_stmt *s;
	const char *p = hostname;
	int rc = SQLITE_DONE;

	*id = 0;
	if (domain)
		domain[0] = '\0';
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	s = cps_store_prepare(st, "SELECT site_id FROM site_domains WHERE domain = ?", err);
	if (s == NULL)
		return -1;
	while (p && *p) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*id = (long)sqlite3_column_int64(s, 0);
			if (domain)
				snprintf(domain, CPS_HOSTNAME_MAX + 1, "%s", p);
			break;
		}
		if (rc != SQLITE_DONE)
			break;
		sqlite3_reset(s);
		p = strchr(p, '.');
		if (p)
			p++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "looking up a domain's owner");
	return 0;
}

int cps_site_owner(cps_store *st, const char *hostname, long *id, cps_err *err)
{
	return owner_lookup(st, hostname, id, NULL, err);
}

int cps_site_domain_of(cps_store *st, const char *hostname,
		       char domain[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	long id;

	return owner_lookup(st, hostname, &id, domain, err);
}

int cps_site_check_owns(cps_store *st, const cps_site *site,
			const char *hostname, cps_err *err)
{
	long owner;

	if (cps_site_owner(st, hostname, &owner, err) != 0)
		return -1;
	if (owner == site->id)
		return 0;
	if (owner == 0)
		return cps_fail(err, CPS_E_PERM,
				"%s does not own %s: no site has this domain (add it with site:add-domain first)",
				site->name, hostname);
	return cps_fail(err, CPS_E_PERM,
			"%s does not own %s: it belongs to another site",
			site->name, hostname);
}

/* A domain may join a site only when no other site owns it, a parent of it,
 * or a name below it: ownership never nests across sites, so a wildcard for
 * one site can never cover another site's names. */
static int check_domain_free(cps_store *st, long id, const char *domain,
			     cps_err *err)
{
	sqlite3_stmt *s;
	long owner;
	int rc;

	/* hosting a public suffix would claim every domain under it */
	if (cps_hostname_is_public_suffix(domain))
		return cps_fail(err, CPS_E_PERM,
				"%s is a public suffix, under which unrelated owners register their domains: "
				"a site can host a domain under it, never the suffix itself", domain);
	if (cps_site_owner(st, domain, &owner, err) != 0)
		return -1;
	if (owner == id && id != 0) {
		s = cps_store_prepare(st, "SELECT 1 FROM site_domains WHERE domain = ?", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc == SQLITE_ROW)
			return cps_fail(err, CPS_E_EXISTS,
					"site%ld already has the domain %s", id, domain);
	} else if (owner != 0) {
		return cps_fail(err, CPS_E_EXISTS,
				"%s belongs to site%ld (it is that site's domain or under one); "
				"add it there, or remove it from site%ld first",
				domain, owner, owner);
	}
	s = cps_store_prepare(st,
			      "SELECT site_id, domain FROM site_domains "
			      "WHERE site_id != ? AND substr(domain, -length(?) - 1) = '.' || ? "
			      "LIMIT 1", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		cps_fail(err, CPS_E_EXISTS,
			 "%s cannot be added: its subdomain %s is hosted by site%lld",
			 domain, (const char *)sqlite3_column_text(s, 1),
			 (long long)sqlite3_column_int64(s, 0));
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cps_store_fail(st, err, "checking domain ownership");
	return 0;
}

static int insert_domain(cps_store *st, long id, const char *domain,
			 bool primary, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO site_domains (domain, site_id, is_primary, added_at) "
		"VALUES (?, ?, ?, ?)", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int(s, 3, primary);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	return cps_store_exec(st, s, "adding a domain", err);
}

int cps_site_create(cps_store *st, const cps_site_new *in, cps_site *out,
		    cps_err *err)
{
	char domain[CPS_HOSTNAME_MAX + 1], email[CPS_EMAIL_MAX + 1] = "";
	char ip[CPS_IP_MAX], ip6[CPS_IP_MAX] = "";
	sqlite3_stmt *s;
	long id;

	if (cps_hostname_normalize(in->domain, 0, domain, err) != 0)
		return -1;
	if (in->ip == NULL)
		return cps_fail(err, CPS_E_INVAL,
				"a new site needs an IP address: give ['ip':'ADDRESS']");
	if (check_ip(in->ip, "the site", ip, err) != 0)
		return -1;
	if (in->ip6 && *in->ip6 &&
	    (check_ip(in->ip6, "the site's ip6", ip6, err) != 0))
		return -1;
	if (in->ip6 && *in->ip6 && !strchr(ip6, ':'))
		return cps_fail(err, CPS_E_INVAL, "ip6 must be an IPv6 address");
	if (in->email && *in->email && cps_email_normalize(in->email, email, err) != 0)
		return -1;

	if (cps_store_begin(st, err) != 0)
		return -1;
	if (check_domain_free(st, 0, domain, err) != 0)
		goto fail;
	s = cps_store_prepare(st,
		"INSERT INTO sites (ip, ip6, email, created_at) VALUES (?, ?, ?, ?)", err);
	if (s == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ip6, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		cps_store_fail(st, err, "creating a site");
		goto fail;
	}
	sqlite3_finalize(s);
	id = (long)sqlite3_last_insert_rowid(cps_store_db(st));
	if (insert_domain(st, id, domain, true, err) != 0 ||
	    cps_store_commit(st, err) != 0)
		goto fail;
	return cps_site_get(st, id, out, err);
fail:
	cps_store_rollback(st);
	return -1;
}

int cps_site_resolve(cps_store *st, const char *spec, cps_site *out,
		     cps_err *err)
{
	char domain[CPS_HOSTNAME_MAX + 1];
	sqlite3_stmt *s;
	long id;
	int rc;

	if (strncmp(spec, "site", 4) == 0 && isdigit((unsigned char)spec[4])) {
		if (cps_site_name_parse(spec, &id, err) != 0)
			return -1;
		return cps_site_get(st, id, out, err);
	}
	if (cps_hostname_normalize(spec, 0, domain, err) != 0)
		return cps_err_prefix(err, "-d expects siteN or a site's domain");
	s = cps_store_prepare(st, "SELECT site_id FROM site_domains WHERE domain = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	id = rc == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return cps_site_get(st, id, out, err);
	if (rc == SQLITE_DONE)
		return cps_fail(err, CPS_E_NOTFOUND,
				"no site has the domain %s (see site:list)", domain);
	return cps_store_fail(st, err, "looking up a domain");
}

int cps_site_delete(cps_store *st, long id, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, "DELETE FROM sites WHERE id = ?", err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cps_store_fail(st, err, "deleting a site");
	if (sqlite3_changes(cps_store_db(st)) == 0)
		return cps_fail(err, CPS_E_NOTFOUND, "site%ld does not exist", id);
	return 0;
}

int cps_site_foreach(cps_store *st, cps_site_cb cb, void *ud, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, SITE_COLUMNS "ORDER BY s.id", err);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cps_site site;

		fill_site(s, &site);
		if (cb(&site, ud) != 0) {
			sqlite3_finalize(s);
			return -1;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return cps_store_fail(st, err, "listing sites");
	return 0;
}

int cps_site_domains(cps_store *st, long id, char ***out, size_t *n,
		     cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT domain FROM site_domains WHERE site_id = ? "
		"ORDER BY is_primary DESC, domain", err);
	char **v = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **nv = realloc(v, (len + 1) * sizeof(*v));

		if (nv == NULL || (nv[len] = strdup((const char *)sqlite3_column_text(s, 0))) == NULL) {
			v = nv ? nv : v;
			sqlite3_finalize(s);
			cps_strv_free(v, len);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		v = nv;
		len++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_strv_free(v, len);
		return cps_store_fail(st, err, "listing domains");
	}
	*out = v;
	*n = len;
	return 0;
}

int cps_site_add_domain(cps_store *st, long id, const char *in, cps_err *err)
{
	char domain[CPS_HOSTNAME_MAX + 1];

	if (cps_hostname_normalize(in, 0, domain, err) != 0)
		return -1;
	if (cps_store_begin(st, err) != 0)
		return -1;
	if (check_domain_free(st, id, domain, err) != 0 ||
	    insert_domain(st, id, domain, false, err) != 0 ||
	    cps_store_commit(st, err) != 0) {
		cps_store_rollback(st);
		return -1;
	}
	return 0;
}

int cps_site_remove_domain(cps_store *st, long id, const char *in, cps_err *err)
{
	char domain[CPS_HOSTNAME_MAX + 1];
	sqlite3_stmt *s;
	int rc, primary;

	if (cps_hostname_normalize(in, 0, domain, err) != 0)
		return -1;
	s = cps_store_prepare(st,
		"SELECT is_primary FROM site_domains WHERE site_id = ? AND domain = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	primary = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return cps_fail(err, CPS_E_NOTFOUND,
				"site%ld has no domain %s (see site:info)", id, domain);
	if (rc != SQLITE_ROW)
		return cps_store_fail(st, err, "reading a domain");
	if (primary)
		return cps_fail(err, CPS_E_INVAL,
				"%s is the primary domain of site%ld and cannot be removed; delete the site instead",
				domain, id);
	s = cps_store_prepare(st,
		"DELETE FROM site_domains WHERE site_id = ? AND domain = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "removing a domain", err);
}

int cps_site_settings_all(cps_store *st, long id, char ***kv, size_t *n,
			  cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"SELECT key, value FROM site_settings WHERE site_id = ? ORDER BY key", err);
	char **v = NULL;
	size_t len = 0;
	int rc;

	*kv = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **nv = realloc(v, (len + 2) * sizeof(*v));

		if (nv == NULL) {
			sqlite3_finalize(s);
			cps_strv_free(v, len);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		v = nv;
		v[len] = cps_store_text(s, 0);
		v[len + 1] = cps_store_text(s, 1);
		len += 2;
		if (v[len - 2] == NULL || v[len - 1] == NULL) {
			sqlite3_finalize(s);
			cps_strv_free(v, len);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		cps_strv_free(v, len);
		return cps_store_fail(st, err, "reading the site's settings");
	}
	*kv = v;
	*n = len / 2;
	return 0;
}

int cps_site_setting_set(cps_store *st, long id, const char *key,
			 const char *value, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"INSERT INTO site_settings (site_id, key, value) VALUES (?, ?, ?) "
		"ON CONFLICT (site_id, key) DO UPDATE SET value = excluded.value", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "saving a site setting", err);
}

int cps_site_setting_unset(cps_store *st, long id, const char *key,
			   cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st,
		"DELETE FROM site_settings WHERE site_id = ? AND key = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
	return cps_store_exec(st, s, "removing a site setting", err);
}

int cps_site_set_ssl(cps_store *st, long id, bool on, cps_err *err)
{
	sqlite3_stmt *s = cps_store_prepare(st, "UPDATE sites SET ssl_enabled = ? WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, on);
	sqlite3_bind_int64(s, 2, id);
	return cps_store_exec(st, s, "setting the site's SSL flag", err);
}
