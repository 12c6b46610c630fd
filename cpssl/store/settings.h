/* Effective settings of a site or the server: config.ini and the site's own
 * values, resolved once (core/settings.h). */
#ifndef CPSSL_STORE_SETTINGS_H
#define CPSSL_STORE_SETTINGS_H

#include "cpssl/core/config.h"
#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

/* "section.key" (or the bare key when unique among per-site keys) → the
 * config key, which must be marked per site. */
const cps_config_key *cps_setting_key(const char *name, cps_err *err);

/* The settings of SITE_ID (0: the server, for which ST may be NULL): CFG
 * with the site's own values from the store. Free with cps_settings_free. */
int cps_settings_resolve(const cps_config *cfg, cps_store *st, long site_id,
			 cps_settings *out, cps_err *err);

#endif
