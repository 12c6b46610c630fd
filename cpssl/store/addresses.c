#include "cpssl/store/addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int cps_site_check_owns_ip(cps_store *st, const cps_site *site, const char *ip, cps_err *err)
{
	char mine[2 * CPS_IP_MAX + 8];
	sqlite3_stmt *s;
	long other = 0;
	int rc;

	snprintf(mine, sizeof(mine), "%s%s%s", site->ip, site->ip6[0] ? " or " : "", site->ip6);
	if (strcmp(ip, site->ip) != 0 && strcmp(ip, site->ip6) != 0)
		return cps_fail(err, CPS_E_PERM,
				"%s may not name the IP address %s: a site may name only its own "
				"address (%s)", site->name, ip, mine);
	s = cps_store_prepare(st, "SELECT id FROM sites WHERE id != ? AND (ip = ? OR ip6 = ?) "
				  "ORDER BY id LIMIT 1", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, site->id);
	sqlite3_bind_text(s, 2, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ip, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		other = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cps_store_fail(st, err, "looking up who else has an IP address");
	if (other)
		return cps_fail(err, CPS_E_PERM,
				"%s may not name the IP address %s: site%ld has the same address, and "
				"only a site with an address of its own may name it", site->name, ip, other);
	return 0;
}

/* Whether IP is the address of one of this machine's interfaces; the
 * addresses seen go to SEEN for the message. */
static bool on_interface(const char *ip, char *seen, size_t len)
{
	struct ifaddrs *all = NULL;
	bool found = false;

	if (getifaddrs(&all) != 0)
		return false;
	for (struct ifaddrs *i = all; i; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		const void *a;
		size_t used = strlen(seen);

		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, a, text, sizeof(text)) == NULL)
			continue;
		found = found || strcmp(text, ip) == 0;
		if (!strstr(seen, text) && used + strlen(text) + 3 < len)
			snprintf(seen + used, len - used, "%s%s", used ? ", " : "", text);
	}
	freeifaddrs(all);
	return found;
}

int cps_server_check_owns_ip(const cps_strlist *configured, const char *ip, cps_err *err)
{
	char seen[512] = "";

	for (size_t i = 0; i < configured->n; i++)
		if (strcmp(configured->v[i], ip) == 0)
			return 0;
	if (on_interface(ip, seen, sizeof(seen)))
		return 0;
	return cps_fail(err, CPS_E_PERM,
			"the server certificate may name only the server's own IP addresses, and %s is "
			"not one: it is on none of this machine's interfaces (%s) nor in [letsencrypt] "
			"server_addresses (add it there if it reaches this server through NAT)",
			ip, seen[0] ? seen : "none found");
}
