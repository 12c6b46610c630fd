/* Effective settings: a site's override, else config.ini, else built-in. */
#ifndef CPSSL_STORE_SETTINGS_H
#define CPSSL_STORE_SETTINGS_H

#include "cpssl/core/config.h"
#include "cpssl/store/db.h"

/* "section.key" (or the bare key when unique among per-site keys) → the
 * config key, which must be marked per site. */
const cps_config_key *cps_setting_key(const char *name, cps_err *err);

/* The effective canonical text of ID for SITE_ID (0: no site). *text is a
 * fresh string; *src says where it came from. */
int cps_setting_get(cps_store *st, const cps_config *cfg, long site_id,
		    cps_cfg_id id, char **text, cps_source *src, cps_err *err);
int cps_setting_bool(cps_store *st, const cps_config *cfg, long site_id,
		     cps_cfg_id id, bool *out, cps_err *err);

#endif
