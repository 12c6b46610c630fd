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

const cps_config_key *cps_setting_key(const char *name, cps_err *err)
{
	const cps_config_key *found = NULL;
	const char *dot = strchr(name, '.');
	int matches = 0;
	char *list;

	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);
		bool hit;

		if (!(k->flags & CPS_CK_SITE))
			continue;
		if (dot)
			hit = strlen(k->section) == (size_t)(dot - name) &&
			      strncmp(k->section, name, (size_t)(dot - name)) == 0 &&
			      strcmp(k->key, dot + 1) == 0;
		else
			hit = strcmp(k->key, name) == 0;
		if (hit) {
			found = k;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	list = site_keys();
	cps_fail(err, CPS_E_NOTFOUND,
		 "'%.80s' is not a per-site setting%s; per-site settings: %s",
		 name, matches > 1 ? " (ambiguous: give section.key)" : "",
		 list ? list : "?");
	free(list);
	return NULL;
}

int cps_setting_get(cps_store *st, const cps_config *cfg, long site_id,
		    cps_cfg_id id, char **text, cps_source *src, cps_err *err)
{
	const cps_config_key *k = cps_config_key_get(id);

	*text = NULL;
	if (site_id > 0 && (k->flags & CPS_CK_SITE)) {
		char key[128];

		snprintf(key, sizeof(key), "%s.%s", k->section, k->key);
		if (cps_site_setting_get(st, site_id, key, text, err) != 0)
			return -1;
		if (*text) {
			*src = CPS_SRC_SITE;
			return 0;
		}
	}
	*text = strdup(cps_config_str(cfg, id));
	if (*text == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	*src = cps_config_source(cfg, id);
	return 0;
}

int cps_setting_bool(cps_store *st, const cps_config *cfg, long site_id,
		     cps_cfg_id id, bool *out, cps_err *err)
{
	cps_source src;
	char *text;

	if (cps_setting_get(st, cfg, site_id, id, &text, &src, err) != 0)
		return -1;
	*out = cps_bool_text(text);
	free(text);
	return 0;
}
