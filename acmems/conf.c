#include "acmems/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parse_state {
	am_conf *c;
	char fail[400];
} parse_state;

int am_addr_parse(const char *text, am_addr *out, cps_err *err)
{
	const char *colon, *host = text;
	size_t hlen;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	snprintf(out->text, sizeof(out->text), "%s", text);
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return cps_fail(err, CPS_E_INVAL, "%s is not [ADDRESS]:PORT", text);
		host = text + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		if (memchr(host, '%', hlen))
			hlen = (size_t)((const char *)memchr(host, '%', hlen) - host);
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return cps_fail(err, CPS_E_INVAL, "%s is not ADDRESS:PORT", text);
		hlen = (size_t)(colon - text);
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return cps_fail(err, CPS_E_INVAL, "%s: the port is not 1-65535", text);
	if (hlen == 0 || hlen >= sizeof(out->host))
		return cps_fail(err, CPS_E_INVAL, "%s: no address before the port", text);
	memcpy(out->host, host, hlen);
	out->port = (int)port;
	return 0;
}

int am_cidr_parse(const char *text, am_cidr *out, cps_err *err)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	int max;

	memset(out, 0, sizeof(*out));
	snprintf(out->text, sizeof(out->text), "%s", text);
	if (alen == 0 || alen >= sizeof(addr))
		return cps_fail(err, CPS_E_INVAL, "%s is not an IP address or network", text);
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->net) == 1)
		out->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, addr, out->net) == 1)
		out->family = AF_INET6, max = 128;
	else
		return cps_fail(err, CPS_E_INVAL, "%s is not an IP address or network", text);
	out->bits = max;
	if (slash) {
		char *end;
		long b;

		errno = 0;
		b = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || b < 0 || b > max)
			return cps_fail(err, CPS_E_INVAL, "%s: the prefix length is not 0-%d", text, max);
		out->bits = (int)b;
	}
	return 0;
}

int am_size_parse(const char *text, size_t *out, cps_err *err)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return cps_fail(err, CPS_E_INVAL, "%s is not a size (4096, 4k, 1m)", text);
	if (strcasecmp(end, "k") == 0)
		v *= 1024;
	else if (strcasecmp(end, "m") == 0)
		v *= 1024 * 1024;
	else if (*end)
		return cps_fail(err, CPS_E_INVAL, "%s is not a size (4096, 4k, 1m)", text);
	if (v < 64 || v > 16 * 1024 * 1024)
		return cps_fail(err, CPS_E_INVAL, "%s is outside 64 bytes to 16m", text);
	*out = (size_t)v;
	return 0;
}

static int long_of(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

/* `verification "http"` → "http"; NULL when SECTION is not KIND "NAME". */
static const char *block_name(const char *section, const char *kind, char *buf, size_t len)
{
	size_t k = strlen(kind), n;

	if (strncmp(section, kind, k) != 0 || section[k] != ' ')
		return NULL;
	section += k;
	while (*section == ' ')
		section++;
	n = strlen(section);
	if (n < 3 || section[0] != '"' || section[n - 1] != '"' || n - 2 >= len)
		return NULL;
	memcpy(buf, section + 1, n - 2);
	buf[n - 2] = '\0';
	return buf[0] ? buf : NULL;
}

static int EVP_MD_fetch_ok(const char *name)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);

	EVP_MD_free(md);
	return md ? 0 : -1;
}

#define FAIL(...) (snprintf(ps->fail, sizeof(ps->fail), __VA_ARGS__), 0)

static int account_key(parse_state *ps, const char *k, const char *v)
{
	am_conf *c = ps->c;

	if (strcmp(k, "acme-server") == 0)
		return set_str(&c->acme_server, v) == 0;
	if (strcmp(k, "dir") == 0)
		return set_str(&c->account_dir, v) == 0;
	if (strcmp(k, "ca-bundle") == 0)
		return set_str(&c->ca_bundle, v) == 0;
	if (strcmp(k, "fallback-server") == 0) {
		if (c->nfallbacks == AM_MAX_ITEMS)
			return FAIL("more than %d fallback-server entries", AM_MAX_ITEMS);
		if (strncmp(v, "https://", 8) != 0 || v[8] == '\0' || strpbrk(v, ", \t"))
			return FAIL("fallback-server: %s is not an https:// URL", v);
		return set_str(&c->fallbacks[c->nfallbacks++], v) == 0;
	}
	if (strcmp(k, "failover-after") == 0)
		return set_str(&c->failover_after, v) == 0;
	if (strcmp(k, "failover-retry-hours") == 0)
		return set_str(&c->failover_retry_hours, v) == 0;
	return FAIL("[account] has no key %s (acme-server, dir, ca-bundle, fallback-server, "
		    "failover-after, failover-retry-hours)", k);
}

static int mgmt_key(parse_state *ps, const char *k, const char *v)
{
	am_conf *c = ps->c;
	cps_err e;

	if (strcmp(k, "mgmt") == 0) {
		if (c->nmgmt == AM_MAX_ITEMS)
			return FAIL("more than %d mgmt listeners", AM_MAX_ITEMS);
		if (am_addr_parse(v, &c->mgmt[c->nmgmt], &e) != 0)
			return FAIL("mgmt: %s", e.msg);
		c->nmgmt++;
		return 1;
	}
	if (strcmp(k, "max-size") == 0)
		return am_size_parse(v, &c->max_size, &e) == 0 ? 1 : FAIL("max-size: %s", e.msg);
	if (strcmp(k, "max-connections") == 0)
		return long_of(v, 1, 10000, &c->max_connections) == 0
			       ? 1 : FAIL("max-connections: %s is not 1-10000", v);
	if (strcmp(k, "timeout") == 0)
		return long_of(v, 1, 3600, &c->timeout) == 0 ? 1 : FAIL("timeout: %s is not 1-3600", v);
	if (strcmp(k, "request-timeout") == 0)
		return long_of(v, 1, 3600, &c->request_timeout) == 0
			       ? 1 : FAIL("request-timeout: %s is not 1-3600", v);
	if (strcmp(k, "default-verification") == 0)
		return set_str(&c->default_verification, v) == 0;
	if (strcmp(k, "default-storage") == 0)
		return set_str(&c->default_storage, v) == 0;
	return FAIL("[mgmt] has no key %s", k);
}

static void *find_block(void **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(*(char **)v[i], name) == 0) /* name is each block's first field */
			return v[i];
	return NULL;
}

static void *block(parse_state *ps, void **v, size_t *n, size_t size, const char *name)
{
	void *b = find_block(v, *n, name);

	if (b)
		return b;
	if (*n == AM_MAX_ITEMS || (b = calloc(1, size)) == NULL ||
	    (*(char **)b = strdup(name)) == NULL) {
		free(b);
		(void)FAIL("too many blocks");
		return NULL;
	}
	v[(*n)++] = b;
	return b;
}

static int verification_key(parse_state *ps, am_verification *b, const char *k, const char *v)
{
	cps_err e;

	if (strcmp(k, "type") == 0) {
		if (strcmp(v, "http01") == 0)
			b->type = AM_V_HTTP01;
		else if (strcmp(v, "dns01-dnsUpdate") == 0)
			b->type = AM_V_DNS01;
		else
			return FAIL("verification %s: type %s is not http01 or dns01-dnsUpdate", b->name, v);
		return 1;
	}
	if (strcmp(k, "listener") == 0) {
		if (b->nlisteners == AM_MAX_ITEMS)
			return FAIL("verification %s: too many listeners", b->name);
		if (am_addr_parse(v, &b->listeners[b->nlisteners], &e) != 0)
			return FAIL("verification %s: listener %s", b->name, e.msg);
		b->nlisteners++;
		return 1;
	}
	if (strcmp(k, "dns-server") == 0) {
		char buf[300];

		snprintf(buf, sizeof(buf), strchr(v, ':') ? "%s" : "%s:53", v);
		return set_str(&b->dns_server, buf) == 0;
	}
	if (strcmp(k, "ttl") == 0)
		return long_of(v, 1, 86400, &b->ttl) == 0 ? 1 : FAIL("ttl: %s is not 1-86400", v);
	if (strcmp(k, "timeout") == 0)
		return long_of(v, 1, 600, &b->timeout) == 0 ? 1 : FAIL("timeout: %s is not 1-600", v);
	if (strcmp(k, "tsig-key-name") == 0)
		return set_str(&b->tsig_name, v) == 0;
	if (strcmp(k, "tsig-key-algorithm") == 0)
		return set_str(&b->tsig_algorithm, v) == 0;
	if (strcmp(k, "tsig-key-secret") == 0)
		return set_str(&b->tsig_secret, v) == 0;
	if (strcmp(k, "tsig-key-file") == 0)
		return set_str(&b->tsig_file, v) == 0;
	return FAIL("verification %s has no key %s", b->name, k);
}

static int storage_key(parse_state *ps, am_storage *b, const char *k, const char *v)
{
	if (strcmp(k, "type") == 0) {
		if (strcmp(v, "none") == 0)
			b->type = AM_S_NONE;
		else if (strcmp(v, "file") == 0)
			b->type = AM_S_FILE;
		else
			return FAIL("storage %s: type %s is not none or file", b->name, v);
		return 1;
	}
	if (strcmp(k, "directory") == 0)
		return set_str(&b->directory, v) == 0;
	if (strcmp(k, "renew-within") == 0)
		return long_of(v, 0, 3650, &b->renew_within) == 0
			       ? 1 : FAIL("storage %s: renew-within %s is not 0-3650 days", b->name, v);
	return FAIL("storage %s has no key %s", b->name, k);
}

static int auth_key(parse_state *ps, am_auth *b, const char *k, const char *v)
{
	cps_err e;

	if (strcmp(k, "ip") == 0) {
		if (b->nips == AM_MAX_ITEMS)
			return FAIL("auth %s: too many ip entries", b->name);
		if (am_cidr_parse(v, &b->ips[b->nips], &e) != 0)
			return FAIL("auth %s: ip %s", b->name, e.msg);
		b->nips++;
		return 1;
	}
	if (strcmp(k, "domain") == 0) {
		if (b->ndomains == AM_MAX_ITEMS)
			return FAIL("auth %s: too many domain entries", b->name);
		if (*v == '\0')
			return FAIL("auth %s: an empty domain", b->name);
		return (b->domains[b->ndomains++] = strdup(v)) != NULL;
	}
	if (strcmp(k, "hmac_type") == 0) {
		if (EVP_MD_fetch_ok(v) != 0)
			return FAIL("auth %s: hmac_type %s is not a digest OpenSSL knows", b->name, v);
		return set_str(&b->hmac_type, v) == 0;
	}
	if (strcmp(k, "hmac_key") == 0)
		return set_str(&b->hmac_key, v) == 0;
	if (strcmp(k, "verification") == 0)
		return set_str(&b->verification_name, v) == 0;
	if (strcmp(k, "storage") == 0)
		return set_str(&b->storage_name, v) == 0;
	return FAIL("auth %s has no key %s", b->name, k);
}

static int handler(void *user, const char *section, const char *k, const char *v)
{
	parse_state *ps = user;
	am_conf *c = ps->c;
	char name[128];
	void *b;

	if (strcmp(section, "account") == 0)
		return account_key(ps, k, v);
	if (strcmp(section, "mgmt") == 0)
		return mgmt_key(ps, k, v);
	if (block_name(section, "verification", name, sizeof(name)))
		return (b = block(ps, (void **)c->verifications, &c->nverifications,
				  sizeof(am_verification), name)) && verification_key(ps, b, k, v);
	if (block_name(section, "storage", name, sizeof(name)))
		return (b = block(ps, (void **)c->storages, &c->nstorages, sizeof(am_storage),
				  name)) && storage_key(ps, b, k, v);
	if (block_name(section, "auth", name, sizeof(name)))
		return (b = block(ps, (void **)c->auths, &c->nauths, sizeof(am_auth), name)) &&
		       auth_key(ps, b, k, v);
	return FAIL("unknown section [%s]", section);
}

static int resolve_auth(am_conf *c, am_auth *a, cps_err *err)
{
	const char *vn = a->verification_name ? a->verification_name : c->default_verification;
	const char *sn = a->storage_name ? a->storage_name : c->default_storage;
	static const am_storage none = { "none", AM_S_NONE, NULL, 0 };

	if (a->ndomains == 0)
		return cps_fail(err, CPS_E_CONFIG, "%s: auth %s lists no domain: it would allow nothing",
				c->path, a->name);
	if ((a->hmac_type == NULL) != (a->hmac_key == NULL))
		return cps_fail(err, CPS_E_CONFIG, "%s: auth %s needs both hmac_type and hmac_key",
				c->path, a->name);
	if (vn == NULL && c->nverifications == 1)
		vn = c->verifications[0]->name;
	if (vn == NULL || (a->verification = find_block((void **)c->verifications,
							c->nverifications, vn)) == NULL)
		return cps_fail(err, CPS_E_CONFIG, "%s: auth %s: no [verification \"%s\"] block "
				"(set verification or [mgmt] default-verification)", c->path, a->name,
				vn ? vn : "");
	if (sn == NULL || strcmp(sn, "none") == 0)
		a->storage = find_block((void **)c->storages, c->nstorages, "none");
	else if ((a->storage = find_block((void **)c->storages, c->nstorages, sn)) == NULL)
		return cps_fail(err, CPS_E_CONFIG, "%s: auth %s: no [storage \"%s\"] block", c->path,
				a->name, sn);
	if (a->storage == NULL)
		a->storage = &none;
	return 0;
}

static int check(am_conf *c, cps_err *err)
{
	if (c->acme_server == NULL || c->account_dir == NULL)
		return cps_fail(err, CPS_E_CONFIG, "%s: [account] needs acme-server and dir", c->path);
	if (c->account_dir[0] != '/')
		return cps_fail(err, CPS_E_CONFIG, "%s: [account] dir must be an absolute path", c->path);
	for (size_t i = 0; i < c->nverifications; i++) {
		am_verification *v = c->verifications[i];

		if (v->type == AM_V_DNS01 && v->dns_server == NULL)
			return cps_fail(err, CPS_E_CONFIG, "%s: verification %s (dns01-dnsUpdate) needs "
					"dns-server", c->path, v->name);
		if (v->type == AM_V_DNS01 && v->tsig_file == NULL && v->tsig_name &&
		    (v->tsig_secret == NULL))
			return cps_fail(err, CPS_E_CONFIG, "%s: verification %s: tsig-key-name needs "
					"tsig-key-secret (or give tsig-key-file)", c->path, v->name);
	}
	for (size_t i = 0; i < c->nstorages; i++)
		if (c->storages[i]->type == AM_S_FILE &&
		    (c->storages[i]->directory == NULL || c->storages[i]->directory[0] != '/'))
			return cps_fail(err, CPS_E_CONFIG, "%s: storage %s (file) needs an absolute "
					"directory", c->path, c->storages[i]->name);
	for (size_t i = 0; i < c->nauths; i++)
		if (resolve_auth(c, c->auths[i], err) != 0)
			return -1;
	return 0;
}

static void defaults(am_conf *c)
{
	c->max_size = 4096;
	c->max_connections = 64;
	c->timeout = 10;
	c->request_timeout = 30;
}

static void after_parse(am_conf *c)
{
	for (size_t i = 0; i < c->nverifications; i++) {
		if (c->verifications[i]->ttl == 0)
			c->verifications[i]->ttl = 60;
		if (c->verifications[i]->timeout == 0)
			c->verifications[i]->timeout = 30;
	}
	for (size_t i = 0; i < c->nstorages; i++)
		if (c->storages[i]->renew_within == 0)
			c->storages[i]->renew_within = 14;
}

static int finish(am_conf *c, parse_state *ps, int line, cps_err *err)
{
	if (line < 0) {
		am_conf_free(c);
		return cps_fail(err, CPS_E_CONFIG, "cannot read %s", ps->c->path ? "it" : "the file");
	}
	if (line > 0) {
		cps_fail(err, CPS_E_CONFIG, "%s line %d: %s", c->path, line,
			 ps->fail[0] ? ps->fail : "not a key = value line");
		am_conf_free(c);
		return -1;
	}
	after_parse(c);
	if (check(c, err) != 0) {
		am_conf_free(c);
		return -1;
	}
	return 0;
}

int am_conf_load(const char *path, am_conf *out, cps_err *err)
{
	parse_state ps = { out, "" };
	FILE *f;
	int line;

	memset(out, 0, sizeof(*out));
	defaults(out);
	if ((out->path = strdup(path)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if ((f = fopen(path, "re")) == NULL) {
		cps_fail(err, CPS_E_CONFIG, "cannot read %s: %s", path, strerror(errno));
		am_conf_free(out);
		return -1;
	}
	line = ini_parse_file(f, handler, &ps);
	fclose(f);
	return finish(out, &ps, line, err);
}

int am_conf_parse(const char *text, am_conf *out, cps_err *err)
{
	parse_state ps = { out, "" };

	memset(out, 0, sizeof(*out));
	defaults(out);
	if ((out->path = strdup("(text)")) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return finish(out, &ps, ini_parse_string(text, handler, &ps), err);
}

void am_conf_free(am_conf *c)
{
	for (size_t i = 0; i < c->nverifications; i++) {
		am_verification *v = c->verifications[i];

		free(v->name);
		free(v->dns_server);
		free(v->tsig_name);
		free(v->tsig_algorithm);
		free(v->tsig_secret);
		free(v->tsig_file);
		free(v);
	}
	for (size_t i = 0; i < c->nstorages; i++) {
		free(c->storages[i]->name);
		free(c->storages[i]->directory);
		free(c->storages[i]);
	}
	for (size_t i = 0; i < c->nauths; i++) {
		am_auth *a = c->auths[i];

		for (size_t j = 0; j < a->ndomains; j++)
			free(a->domains[j]);
		free(a->name);
		free(a->hmac_type);
		free(a->hmac_key);
		free(a->verification_name);
		free(a->storage_name);
		free(a);
	}
	free(c->path);
	free(c->acme_server);
	free(c->account_dir);
	free(c->ca_bundle);
	for (size_t i = 0; i < c->nfallbacks; i++)
		free(c->fallbacks[i]);
	free(c->failover_after);
	free(c->failover_retry_hours);
	free(c->default_verification);
	free(c->default_storage);
	memset(c, 0, sizeof(*c));
}
