/* Importing a certificate from another CA (ssl:install): the key must be
 * the certificate's, the certificate valid now, every PEM well formed; then
 * the same checks (every name the site's), fan-out and reload as an issued
 * one. Imported certificates are never renewed by ACME
 * unless asked. */
#ifndef CPSSL_DEPLOY_IMPORT_H
#define CPSSL_DEPLOY_IMPORT_H

#include "cpssl/core/settings.h"
#include "cpssl/core/paths.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/store/sites.h"

/* SITE NULL: the server (its names: net.hostname, additional_certs). CHAIN
 * may be NULL or empty; the certificate PEM may carry the chain too. */
int cps_import(cps_store *st, const cps_settings *set, const cps_paths *paths,
	       const cps_site *site, const char *key_pem, const char *cert_pem,
	       const char *chain_pem, cps_cert_info *info, cps_err *err);

#endif
