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

#include "cpssl/core/config.h"
#include "cpssl/core/err.h"
#include "cpssl/deploy/storage.h"

#define CPS_APACHE_VERSIONS_KEPT 3

/* SITE "siteN", or "server". */
int cps_target_apache(const cps_config *cfg, const char *site,
		      const char *version, const cps_cert_files *f, cps_err *err);
int cps_target_haproxy(const cps_config *cfg, const char *site,
		       const cps_cert_files *f, cps_err *err);
int cps_target_server_pem(const cps_config *cfg, const cps_cert_files *f,
			  cps_err *err);

/* The Apache certificate and key paths of SITE (caller frees). */
char *cps_target_apache_dir(const cps_config *cfg, const char *site);

/* Remove a site's served files (its certificate was deleted). */
int cps_target_remove(const cps_config *cfg, const char *site, cps_err *err);

#endif
