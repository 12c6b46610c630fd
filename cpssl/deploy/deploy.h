/* A finished certificate, from any source (ACME, an import, a self-signed
 * fallback, a rollback), reaches every place that serves it, in order:
 * storage (archive + atomic `current` switch, a row in the store), Apache
 * (the site's files and its TLS configuration, or the server PEM), haproxy
 * when [mail] proxy = haproxy; then the site's
 * SSL flag, the deploy hook, and one delayed, coalesced reload per service.
 * The key and certificate are checked to match, and the chain to link,
 * before anything is written. A failing target is named in the error; the
 * targets written before it stay written, the ones after it keep their
 * previous files. SET is the settings of the site (or the server) the
 * certificate is for. */
#ifndef CPSSL_DEPLOY_DEPLOY_H
#define CPSSL_DEPLOY_DEPLOY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cpssl/core/settings.h"
#include "cpssl/core/paths.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/store/db.h"

typedef struct cps_deploy_req {
	long site_id;            /* 0: the server */
	const char *site_name;   /* "siteN" or "server" */
	const char *origin;      /* the ACME directory URL or a CPS_ORIGIN_* */
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	const char *profile;     /* the ACME profile it was issued under, or NULL */
} cps_deploy_req;

/* Deploy; *info (optional) gets the certificate's facts and *dir (optional)
 * its storage directory. Refused unless every name it carries is the
 * site's now (cps_deploy_check_names). */
int cps_deploy(cps_store *st, const cps_settings *set, const cps_paths *paths,
	       const cps_deploy_req *req, cps_cert_info *info, char **dir,
	       cps_err *err);

/* Finish a deployment a killed run left between storage and the reload
 * (the site's current certificate not yet marked deployed): write the
 * targets again from storage and schedule the reloads. Returns 1 when one
 * was finished (*info, *dir as for cps_deploy), 0 when there was none, -1
 * on error. */
int cps_deploy_resume(cps_store *st, const cps_settings *set, const cps_paths *paths,
		      long site_id, const char *site_name, cps_cert_info *info,
		      char **dir, cps_err *err);

/* Deploy the version before the current one again (rollback). */
int cps_deploy_rollback(cps_store *st, const cps_settings *set,
			const cps_paths *paths, long site_id,
			const char *site_name, cps_cert_info *info,
			cps_err *err);

/* A self-signed certificate for NAMES, deployed so Apache can always start;
 * INTERIM when it stands in for a CA certificate that could not be had
 * (the housekeeping pass retries those), not when it was asked for. */
int cps_deploy_selfsigned(cps_store *st, const cps_settings *set,
			  const cps_paths *paths, long site_id,
			  const char *site_name, const char *const *names,
			  size_t n, bool interim, cps_cert_info *info, cps_err *err);

/* Whether every name INFO carries — subject CN, DNS and IP subjectAltNames —
 * belongs to SITE_ID now (0: is one of the server's names); -1 naming the
 * first that does not. */
int cps_deploy_check_names(cps_store *st, const cps_settings *set, long site_id,
			   const cps_cert_info *info, cps_err *err);

/* Stop serving the certificate of SITE_ID: its files are removed from every
 * target, it is no longer current (the stored copies stay), the site's SSL
 * flag is off, and the services reload. */
int cps_undeploy(cps_store *st, const cps_settings *set, const cps_paths *paths,
		 long site_id, const char *site_name, cps_err *err);

/* Each site with a certificate in service whose Apache files do not lead,
 * by cpssl's own links, to that certificate, or whose Apache configuration
 * (cpssl.conf) is not the one for it — every row of the Apache service in
 * the target table with a check — gets what is broken written again from
 * storage (a site whose lock another process holds is being deployed, and
 * is left to it). Returns how many sites were restored (named in SITES,
 * comma-separated), -1 when the sites could not be listed. */
int cps_deploy_repair_apache(cps_store *st, const cps_settings *set, const cps_paths *paths,
			     char *sites, size_t len, cps_err *err);

#endif
