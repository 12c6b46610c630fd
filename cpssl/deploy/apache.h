/* A site's certificate for Apache, in the site's own tree (below
 * [cpssl] fs_root), /home/virtual/siteN/fst/etc/httpd/conf/:
 *   ssl.crt/server.crt -> ../ssl.live/server.crt   (certificate, then chain)
 *   ssl.crt/bundle.crt -> ../ssl.live/bundle.crt   (the chain)
 *   ssl.key/server.key -> ../ssl.live/server.key
 *   ssl.live -> ssl.versions/<version>       (switched with one rename)
 * so that every path resolves into one version: no reader, and no reload,
 * can pair a key with a certificate it does not belong to. The version is
 * written completely (the key 0600 in a 0700 directory) before the switch.
 * server.crt carries the chain after the certificate, so a virtual host
 * that names it alone (Apache >= 2.4.8 reads the chain from the
 * SSLCertificateFile) serves the whole chain.
 *
 * These files are for virtual hosts that name them; the site's user can
 * change what they lead to. cpssl's own TLS configuration for the site
 * (deploy/apache_conf.h) names root's storage instead.
 *
 * The site's user may write in that tree. Everything here walks it from
 * fs_root/home/virtual (root's, checked like OpenSSH's StrictModes) without
 * following a link, and changes it only through the descriptors walked
 * (core/walk.h): a link, file or FIFO a customer plants in cpssl's place is
 * removed or refused, never followed, so the customer can break only their
 * own site, and gets an error naming it. */
#ifndef CPSSL_DEPLOY_APACHE_H
#define CPSSL_DEPLOY_APACHE_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/deploy/storage.h"

#define CPS_APACHE_VERSIONS_KEPT 3

/* SITE is "siteN". */
int cps_apache_write(const cps_layout *l, const char *site, const char *version,
		     const cps_cert_files *f, cps_err *err);
int cps_apache_remove(const cps_layout *l, const char *site, cps_err *err);

/* The file a served path leads to, by cpssl's own links only. */
typedef enum cps_apache_file {
	CPS_APACHE_CERT,   /* ssl.crt/server.crt */
	CPS_APACHE_CHAIN,  /* ssl.crt/bundle.crt */
	CPS_APACHE_KEY,    /* ssl.key/server.key */
} cps_apache_file;

/* 0 when the served path of FILE leads, through the links cpssl made and
 * nothing else, to a regular file of the live version (*version, when
 * VERSION is not NULL, gets its name); -1 with the first thing that is
 * wrong otherwise. Nothing is followed that cpssl did not make. */
int cps_apache_check(const cps_layout *l, const char *site, cps_apache_file file,
		     char *version, size_t len, cps_err *err);

/* 0 when every served path of SITE leads, by cpssl's links alone, to
 * VERSION (STORED is not used: the target table's check signature). */
int cps_apache_serves(const cps_layout *l, const char *site, const char *version,
		      const char *stored, cps_err *err);

#endif
