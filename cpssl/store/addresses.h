/* Who may name an IP address in a certificate (RFC 8738).
 *
 * A site: only its own configured address (ip or ip6), and only while no
 * other site has the same address — a shared address belongs to no site.
 * The server: only its own addresses, those on this machine's interfaces
 * (getifaddrs) and the administrator's [letsencrypt] server_addresses; a
 * site's address is not the server's for being a site's. */
#ifndef CPSSL_STORE_ADDRESSES_H
#define CPSSL_STORE_ADDRESSES_H

#include "cpssl/core/settings.h"
#include "cpssl/store/sites.h"

/* 0 when SITE may name IP (canonical); -1 saying why not and which
 * address it may use. */
int cps_site_check_owns_ip(cps_store *st, const cps_site *site, const char *ip, cps_err *err);

/* 0 when IP (canonical) is one of the server's own addresses: on an
 * interface, or in CONFIGURED; -1 saying why not. */
int cps_server_check_owns_ip(const cps_strlist *configured, const char *ip, cps_err *err);

#endif
