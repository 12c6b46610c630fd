/* A site's TLS configuration for Apache, outside the site's tree, below
 * [cpssl] fs_root: /etc/httpd/conf/siteN.ssl/cpssl.conf (the directory
 * ApisCP keeps for a site's SSL directives, beside the administrator's own
 * `custom` file, which cpssl never touches):
 *
 *   SSLEngine on
 *   SSLCertificateFile "<storage>/…/siteN/archive/<version>/fullchain.pem"
 *   SSLCertificateKeyFile "<storage>/…/siteN/archive/<version>/privkey.pem"
 *
 * A virtual host that includes the directory serves the certificate with
 * its chain (Apache >= 2.4.8 reads the chain from the SSLCertificateFile).
 * Apache reads those files as root when it starts; they are a version in
 * cpssl's storage, which only root can change, never files in the site's
 * tree, so the site's user cannot point Apache elsewhere. The version is
 * named, not `current`, so the file says exactly what is served.
 *
 * /etc/httpd/conf and siteN.ssl are walked as root's directories (made 0755
 * when missing; one that is not root's, or is writable by others, is
 * refused), the file is replaced atomically (temporary, fsync, rename in the
 * directory's descriptor, directory fsynced), and it is removed, alone, when
 * the site stops serving a certificate. */
#ifndef CPSSL_DEPLOY_APACHE_CONF_H
#define CPSSL_DEPLOY_APACHE_CONF_H

#include "cpssl/core/err.h"
#include "cpssl/core/settings.h"
#include "cpssl/deploy/storage.h"

#define CPS_APACHE_CONF_DIR "/etc/httpd/conf"
#define CPS_APACHE_CONF_NAME "cpssl.conf"

/* SITE is "siteN"; F->stored names the stored version. */
int cps_apache_conf_write(const cps_layout *l, const char *site, const char *version,
			  const cps_cert_files *f, cps_err *err);
/* Remove cpssl.conf (and a temporary a killed write left); nothing else. */
int cps_apache_conf_remove(const cps_layout *l, const char *site, cps_err *err);
/* 0 when cpssl.conf is, byte for byte, what cps_apache_conf_write writes
 * for VERSION in STORED, no temporary is left beside it, and the files it
 * names are there; -1 with the first thing that is wrong. */
int cps_apache_conf_check(const cps_layout *l, const char *site, const char *version,
			  const char *stored, cps_err *err);

#endif
