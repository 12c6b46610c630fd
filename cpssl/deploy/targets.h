/* Where a certificate is served from, below [cpssl] fs_root:
 *
 * Apache, per site, in /home/virtual/siteN/fst/etc/httpd/conf/:
 *   ssl.crt/server.crt -> ../ssl.live/server.crt
 *   ssl.crt/bundle.crt -> ../ssl.live/bundle.crt
 *   ssl.key/server.key -> ../ssl.live/server.key
 *   ssl.live -> ssl.versions/<version>       (switched with one rename)
 * so that every path resolves into one version: no reader, and no reload,
 * can pair a key with a certificate it does not belong to. The version is
 * written completely (the key 0600 in a 0700 directory) before the switch.
 *
 * haproxy, when [mail] proxy = haproxy: /etc/haproxy/ssl.d/siteN, one PEM
 * (certificate, chain, key), 0600, replaced atomically.
 *
 * The server's own certificate: /etc/pki/tls/certs/server.pem (certificate,
 * chain, key; 0600), and ssl.d/server for haproxy. */
#ifndef CPSSL_DEPLOY_TARGETS_H
#define CPSSL_DEPLOY_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/deploy/storage.h"

#define CPS_APACHE_VERSIONS_KEPT 3

/* A place a certificate is served from. SITE is "siteN" or "server". */
typedef struct cps_target {
	const char *name;        /* in errors: "Apache", "haproxy", … */
	cps_service service;     /* reloaded after the target changed */
	bool for_sites, for_server;
	/* whether the settings turn it on (NULL: always) */
	bool (*enabled)(const cps_settings *set);
	int (*write)(const cps_layout *l, const char *site, const char *version,
		     const cps_cert_files *f, cps_err *err);
	/* stop serving: remove what write made */
	int (*remove)(const cps_layout *l, const char *site, cps_err *err);
	const char *fault_after; /* fault-injection point after the write */
} cps_target;

/* In deployment order; a loop over this table is the fan-out, the
 * undeployment and the choice of services to reload. */
extern const cps_target cps_targets[];
extern const size_t cps_ntargets;

/* Whether T serves SITE_ID (0: the server) with SET; ANY_SETTING ignores
 * the settings (to remove what an earlier configuration deployed). */
bool cps_target_applies(const cps_target *t, const cps_settings *set,
			long site_id, bool any_setting);

/* The directory holding a site's Apache certificate and key (caller frees). */
char *cps_target_apache_dir(const cps_layout *l, const char *site);
/* The PEM the server's own certificate is served from (caller frees). */
char *cps_target_server_pem(const cps_layout *l);

#endif
