/* Where a certificate is served from, below [cpssl] fs_root, a row each:
 *
 * Apache, per site, in the site's tree (deploy/apache.h), and the site's
 * TLS configuration for Apache, /etc/httpd/conf/siteN.ssl/cpssl.conf,
 * naming the version in cpssl's storage (deploy/apache_conf.h).
 *
 * haproxy, when [mail] proxy = haproxy: /etc/haproxy/ssl.d/siteN, one PEM
 * (certificate, chain, key), 0600, replaced atomically.
 *
 * The server's own certificate: /etc/pki/tls/certs/server.pem (certificate,
 * chain, key; 0600), and ssl.d/server for haproxy.
 *
 * The directories of root's are checked like OpenSSH's StrictModes and
 * walked without following a link (core/walk.h). */
#ifndef CPSSL_DEPLOY_TARGETS_H
#define CPSSL_DEPLOY_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/deploy/storage.h"

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
	/* 0 when what write made still serves VERSION, stored in STORED; the
	 * repair after a failed Apache configuration test writes the rows whose
	 * check fails again (NULL: not checked) */
	int (*check)(const cps_layout *l, const char *site, const char *version,
		     const char *stored, cps_err *err);
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

/* Whether the server's own certificate is in place (a regular file). */
bool cps_target_server_pem_present(const cps_layout *l);

#endif
