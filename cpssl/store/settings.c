#include "cpssl/store/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/store/sites.h"

static char *site_keys(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool first = true;

	if (f == NULL)
		return NULL;
	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (!(k->flags & CPS_CK_SITE))
			continue;
		fprintf(f, "%s%s.%s", first ? "" : ", ", k->section, k->key);
		first = false;
	}
	fclose(f);
	return buf;
}

/* Whether NAME ("section.key", or a bare key) names K. */
static bool names_key(const char *name, const cps_config_key *k)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL)
		return strcmp(k->key, name) == 0;
	return strlen(k->section) == (size_t)(dot - name) &&
	       strncmp(k->section, name, (size_t)(dot - name)) == 0 && strcmp(k->key, dot + 1) == 0;
}

const cps_config_key *cps_setting_key(const char *name, cps_err *err)
{
	const cps_config_key *found = NULL, *server_only = NULL;
	int matches = 0;
	char *list;

	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (!names_key(name, k))
			continue;
		if (!(k->flags & CPS_CK_SITE)) {
			server_only = k;
			continue;
		}
		found = k;
		matches++;
	}
	if (matches == 1)
		return found;
	list = site_keys();
	if (matches == 0 && server_only)
		cps_fail(err, CPS_E_PERM,
			 "%s.%s is a server-only setting: a site may not choose a program, a server or "
			 "a secret that root uses, or a limit of the whole server; set it in config.ini "
			 "with cpcmd scope:set cp.config %s %s VALUE (per-site settings: %s)",
			 server_only->section, server_only->key, server_only->section, server_only->key,
			 list ? list : "?");
	else
		cps_fail(err, CPS_E_NOTFOUND,
			 "'%.80s' is not a per-site setting%s; per-site settings: %s",
			 name, matches > 1 ? " (ambiguous: give section.key)" : "",
			 list ? list : "?");
	free(list);
	return NULL;
}

int cps_settings_resolve(const cps_config *cfg, cps_store *st, long site_id,
			 cps_settings *out, cps_err *err)
{
	cps_override *ov = NULL;
	char **kv = NULL;
	size_t n = 0;
	int rc;

	if (site_id > 0 && st == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "site%ld's settings need the store", site_id);
	if (site_id > 0 && cps_site_settings_all(st, site_id, &kv, &n, err) != 0)
		return -1;
	if (n > 0 && (ov = calloc(n, sizeof(*ov))) == NULL) {
		cps_strv_free(kv, 2 * n);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		ov[i] = (cps_override){ kv[2 * i], kv[2 * i + 1] };
	rc = cps_settings_parse(cfg, site_id, ov, n, out, err);
	free(ov);
	cps_strv_free(kv, 2 * n);
	return rc;
}
