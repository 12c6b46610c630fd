/* Whose names a certificate carries, checked at the moment it goes live:
 * its subject CN and every DNS and IP subjectAltName must be the site's (or
 * the server's). haproxy selects a certificate by CN as well as by SAN, so a
 * certificate naming another site's hostname anywhere would be served for
 * that site; a domain that moved to another site since the certificate was
 * made is refused the same way. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/deploy/deploy.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/addresses.h"
#include "cpssl/store/server.h"
#include "cpssl/store/sites.h"

/* Who may be named: a site, or the server's own names. */
typedef struct owner {
	const cps_site *site;
	char **server;
	size_t nserver;
	const char *who;
} owner;

static bool same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	int af = strchr(a, ':') ? AF_INET6 : AF_INET;

	if (*a == '\0' || *b == '\0' || (strchr(b, ':') != NULL) != (af == AF_INET6))
		return false;
	return inet_pton(af, a, x) == 1 && inet_pton(af, b, y) == 1 &&
	       memcmp(x, y, af == AF_INET6 ? 16 : 4) == 0;
}

/* NAME (from the certificate, WHERE it stands) must be a hostname of O's. */
static int check_name(cps_store *st, const owner *o, const char *name, const char *where,
		      cps_err *err)
{
	char canon[CPS_HOSTNAME_MAX + 1];
	bool ok = false;
	cps_err e;

	if (cps_hostname_normalize(name, CPS_NAME_ALLOW_WILDCARD, canon, &e) != 0)
		return cps_fail(err, CPS_E_PERM, "the certificate's %s %.253s is not a hostname: %s; "
				"refusing to serve it", where, name, e.msg);
	if (o->site) {
		ok = cps_site_check_owns(st, o->site, canon, &e) == 0;
	} else {
		snprintf(e.msg, sizeof(e.msg), "%s is not one of the server's names", canon);
		for (size_t j = 0; j < o->nserver && !ok; j++)
			ok = strcmp(o->server[j], canon) == 0;
	}
	if (!ok)
		return cps_fail(err, CPS_E_PERM,
				"the certificate names %s, which is not %s's: %s; refusing to serve it "
				"(a certificate may name only the hostnames of the site it is for)",
				canon, o->who, e.msg);
	return 0;
}

/* IP (from the certificate) must be an address O may name: the site's own
 * and no other site's, or one of the server's names and own addresses. */
static int check_ip(cps_store *st, const cps_settings *set, const owner *o, const char *ip,
		    cps_err *err)
{
	char canon[CPS_IP_TEXT_MAX];
	bool listed = false;
	cps_err e;

	if (cps_ip_normalize(ip, canon, &e) != 0)
		return cps_fail(err, CPS_E_PERM, "the certificate names the IP address %.64s: %s; "
				"refusing to serve it", ip, e.msg);
	if (o->site && (same_ip(canon, o->site->ip) || same_ip(canon, o->site->ip6)) &&
	    cps_site_check_owns_ip(st, o->site, canon, &e) == 0)
		return 0;
	for (size_t j = 0; !o->site && j < o->nserver && !listed; j++)
		listed = strcmp(o->server[j], canon) == 0;
	if (listed && cps_server_check_owns_ip(&set->names.server_addresses, canon, &e) == 0)
		return 0;
	if (!o->site && !listed)
		snprintf(e.msg, sizeof(e.msg), "it is not in [letsencrypt] additional_certs");
	else if (o->site && !same_ip(canon, o->site->ip) && !same_ip(canon, o->site->ip6))
		snprintf(e.msg, sizeof(e.msg), "%s's address is %s%s%s", o->site->name, o->site->ip,
			 o->site->ip6[0] ? " or " : "", o->site->ip6);
	return cps_fail(err, CPS_E_PERM,
			"the certificate names the IP address %s, which is not %s's address (%s); "
			"refusing to serve it", canon, o->who, e.msg);
}

int cps_deploy_check_names(cps_store *st, const cps_settings *set, long site_id,
			   const cps_cert_info *info, cps_err *err)
{
	owner o = { .who = "the server" };
	cps_site site;
	int rc = 0;

	if (site_id > 0) {
		if (cps_site_get(st, site_id, &site, err) != 0)
			return -1;
		o.site = &site;
		o.who = site.name;
	} else if (cps_server_names(st, &set->names.additional_certs, &o.server, &o.nserver, err) != 0) {
		return -1;
	}
	if (info->nsans == 0 && info->nip_sans == 0)
		rc = cps_fail(err, CPS_E_PERM,
			      "the certificate names no hostname (no subjectAltName); refusing to serve it");
	/* a CN may hold an address too (a self-signed certificate's) */
	if (rc == 0 && info->subject_cn[0])
		rc = cps_name_is_ip(info->subject_cn)
			     ? check_ip(st, set, &o, info->subject_cn, err)
			     : check_name(st, &o, info->subject_cn, "subject CN", err);
	/* the addresses among the names are checked as addresses */
	for (size_t i = 0; rc == 0 && i < info->nsans; i++)
		if (!cps_name_is_ip(info->sans[i]))
			rc = check_name(st, &o, info->sans[i], "subjectAltName", err);
	for (size_t i = 0; rc == 0 && i < info->nip_sans; i++)
		rc = check_ip(st, set, &o, info->ip_sans[i], err);
	cps_strv_free(o.server, o.nserver);
	return rc;
}
