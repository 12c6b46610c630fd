/* Sites: the panel's view that SSL needs — a site id (siteN), its IP
 * addresses, contact, domains, and per-site setting overrides. */
#ifndef CPSSL_STORE_SITES_H
#define CPSSL_STORE_SITES_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/db.h"

#define CPS_SITE_NAME_MAX 16 /* "site" + up to 9 digits */
#define CPS_IP_MAX 46

typedef struct cps_site {
	long id;
	char name[CPS_SITE_NAME_MAX];
	char ip[CPS_IP_MAX];   /* IPv4 or IPv6 */
	char ip6[CPS_IP_MAX];  /* optional second (IPv6) address */
	char email[CPS_EMAIL_MAX + 1];
	char domain[CPS_HOSTNAME_MAX + 1]; /* primary domain */
	long long created;
	bool ssl_enabled;      /* Apache serves the site over TLS */
} cps_site;

typedef struct cps_site_new {
	const char *domain, *ip, *ip6, *email; /* ip6/email may be NULL */
} cps_site_new;

/* "siteN" → N; anything else (site0, site01, site1/../x) is refused. */
int cps_site_name_parse(const char *name, long *id, cps_err *err);

/* Validate and create; the site gets the next unused id (ids are never
 * reused, so a deleted site's leftovers never belong to a new one). */
int cps_site_create(cps_store *st, const cps_site_new *in, cps_site *out,
		    cps_err *err);
int cps_site_get(cps_store *st, long id, cps_site *out, cps_err *err);
/* SPEC is "siteN" or one of a site's domains. */
int cps_site_resolve(cps_store *st, const char *spec, cps_site *out,
		     cps_err *err);
int cps_site_delete(cps_store *st, long id, cps_err *err);

typedef int (*cps_site_cb)(const cps_site *site, void *ud);
int cps_site_foreach(cps_store *st, cps_site_cb cb, void *ud, cps_err *err);

/* Domains of a site, primary first; free with cps_strv_free. */
int cps_site_domains(cps_store *st, long id, char ***out, size_t *n,
		     cps_err *err);
int cps_site_add_domain(cps_store *st, long id, const char *domain,
			cps_err *err);
int cps_site_remove_domain(cps_store *st, long id, const char *domain,
			   cps_err *err);

/* The site owning HOSTNAME (canonical; "*.D" counts as D): the site with the
 * longest of its domains equal to or a parent of the name. *id = 0 when no
 * site owns it. */
int cps_site_owner(cps_store *st, const char *hostname, long *id,
		   cps_err *err);
/* The hosted domain HOSTNAME falls under ("" when none): what the rate
 * limits count as its registered domain. */
int cps_site_domain_of(cps_store *st, const char *hostname,
		       char domain[CPS_HOSTNAME_MAX + 1], cps_err *err);
/* Ownership check with a clear refusal naming the owner (or nobody). */
int cps_site_check_owns(cps_store *st, const cps_site *site,
			const char *hostname, cps_err *err);

/* Per-site overrides of config keys, by "section.key". All of a site's:
 * *kv holds key, value, key, value, … (2 * *n strings; cps_strv_free). */
int cps_site_settings_all(cps_store *st, long id, char ***kv, size_t *n,
			  cps_err *err);
int cps_site_setting_set(cps_store *st, long id, const char *key,
			 const char *value, cps_err *err);
int cps_site_setting_unset(cps_store *st, long id, const char *key,
			   cps_err *err);

/* The site's SSL flag (set when a certificate is deployed). */
int cps_site_set_ssl(cps_store *st, long id, bool on, cps_err *err);

void cps_strv_free(char **v, size_t n);

#endif
