/* cpssl-acmems's configuration: an ACMEMS INI file ([account], [mgmt],
 * [verification "NAME"], [storage "NAME"], [auth "NAME"], keys that may
 * repeat), parsed with inih into typed blocks; every reference between
 * blocks is resolved and every value checked when the file is read. */
#ifndef ACMEMS_CONF_H
#define ACMEMS_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

#define AM_MAX_ITEMS 64    /* of each repeated key, and of each block kind */

typedef struct am_addr {
	char host[64];     /* "127.0.0.1", "::1" */
	int port;
	char text[80];     /* as written */
} am_addr;

typedef struct am_cidr {
	int family;        /* AF_INET or AF_INET6 */
	unsigned char net[16];
	int bits;
	char text[64];
} am_cidr;

typedef enum { AM_V_HTTP01, AM_V_DNS01 } am_vtype;

typedef struct am_verification {
	char *name;
	am_vtype type;
	am_addr listeners[AM_MAX_ITEMS];
	size_t nlisteners;
	char *dns_server;  /* host:port */
	long ttl, timeout;
	char *tsig_name, *tsig_algorithm, *tsig_secret, *tsig_file;
} am_verification;

typedef enum { AM_S_NONE, AM_S_FILE } am_stype;

typedef struct am_storage {
	char *name;
	am_stype type;
	char *directory;
	long renew_within; /* days */
} am_storage;

typedef struct am_auth {
	char *name;
	am_cidr ips[AM_MAX_ITEMS];
	size_t nips;
	char *domains[AM_MAX_ITEMS];
	size_t ndomains;
	char *hmac_type, *hmac_key;
	char *verification_name, *storage_name;
	const am_verification *verification; /* resolved */
	const am_storage *storage;
} am_auth;

typedef struct am_conf {
	char *path;
	char *acme_server, *account_dir, *ca_bundle;
	char *fallbacks[AM_MAX_ITEMS];       /* fallback-server: CAs used when it fails */
	size_t nfallbacks;
	char *failover_after, *failover_retry_hours; /* NULL: cpssl's defaults */
	am_addr mgmt[AM_MAX_ITEMS];
	size_t nmgmt;
	size_t max_size;             /* bytes */
	long max_connections, timeout, request_timeout;
	char *default_verification, *default_storage;
	am_verification *verifications[AM_MAX_ITEMS];
	size_t nverifications;
	am_storage *storages[AM_MAX_ITEMS];
	size_t nstorages;
	am_auth *auths[AM_MAX_ITEMS];
	size_t nauths;
} am_conf;

int am_conf_load(const char *path, am_conf *out, cps_err *err);
/* The same, from text in memory (for tests). */
int am_conf_parse(const char *text, am_conf *out, cps_err *err);
void am_conf_free(am_conf *c);

/* "host:port", "[v6]:port" (a zone index after '%' is dropped). */
int am_addr_parse(const char *text, am_addr *out, cps_err *err);
/* "192.0.2.0/24", "198.51.100.21", "2001:db8::/32". */
int am_cidr_parse(const char *text, am_cidr *out, cps_err *err);
/* "4k", "4096", "1m". */
int am_size_parse(const char *text, size_t *out, cps_err *err);

#endif
