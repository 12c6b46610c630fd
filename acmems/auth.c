#include "acmems/auth.h"

#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool am_cidr_match(const am_cidr *net, const struct sockaddr *peer)
{
	const unsigned char *a;
	unsigned char mapped[16];
	int full, rest;

	if (peer->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr.s6_addr;
		/* an IPv4 client on a dual-stack socket */
		if (net->family == AF_INET && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
			memcpy(mapped, a + 12, 4);
			a = mapped;
		} else if (net->family != AF_INET6) {
			return false;
		}
	} else if (peer->sa_family == AF_INET && net->family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr;
	} else {
		return false;
	}
	full = net->bits / 8;
	rest = net->bits % 8;
	if (memcmp(a, net->net, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net->net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool am_domain_match(const char *glob, const char *name)
{
	if (strncmp(name, "*.", 2) == 0)
		return strcasecmp(glob, name) == 0;
	return fnmatch(glob, name, FNM_CASEFOLD) == 0;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
	       : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

int am_hmac_parse(const char *h, char *name, size_t namelen, unsigned char *mac, size_t *maclen)
{
	const char *p = h, *hash = NULL;
	size_t cap = *maclen, n = 0;

	*maclen = 0;
	name[0] = '\0';
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "hmac", 4) != 0 || (p[4] != ' ' && p[4] != '\t'))
		return -1;
	p += 4;
	while (*p) {
		size_t klen, vlen;
		const char *v;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		klen = strcspn(p, "=, \t");
		if (p[klen] != '=')
			return -1;
		v = p + klen + 1;
		vlen = strcspn(v, ", \t");
		if (klen == 4 && strncasecmp(p, "name", 4) == 0 && vlen > 0 && vlen < namelen) {
			memcpy(name, v, vlen);
			name[vlen] = '\0';
		} else if (klen == 4 && strncasecmp(p, "hash", 4) == 0) {
			hash = v;
			n = vlen;
		} else {
			return -1;
		}
		p = v + vlen;
	}
	if (name[0] == '\0' || hash == NULL || n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)hash[2 * i]), lo = hexval((unsigned char)hash[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	*maclen = n / 2;
	return 0;
}

bool am_hmac_ok(const char *type, const char *key, const char *header, const char *body,
		size_t len)
{
	unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	size_t glen = sizeof(got), wlen = 0;
	char name[64];
	EVP_MD *md;
	bool same_md, ok = false;

	if (header == NULL || am_hmac_parse(header, name, sizeof(name), got, &glen) != 0)
		return false;
	md = EVP_MD_fetch(NULL, type, NULL);
	same_md = md && EVP_MD_is_a(md, name);
	if (same_md && EVP_Q_mac(NULL, "HMAC", NULL, EVP_MD_get0_name(md), NULL, key, strlen(key),
				 (const unsigned char *)body, len, want, sizeof(want), &wlen) &&
	    wlen == glen)
		ok = CRYPTO_memcmp(want, got, wlen) == 0;
	EVP_MD_free(md);
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

/* NULL when the block allows the request; else why not. */
static const char *refusal(const am_auth *a, const am_request *q, char *buf, size_t len)
{
	bool ip = a->nips == 0;

	for (size_t i = 0; !ip && i < a->nips; i++)
		ip = am_cidr_match(&a->ips[i], q->peer);
	if (!ip)
		return "the client's address is not in its ip list";
	if (a->hmac_type && q->authentication == NULL)
		return "no Authentication header";
	if (a->hmac_type && !am_hmac_ok(a->hmac_type, a->hmac_key, q->authentication, q->body, q->len))
		return "the Authentication header's HMAC does not match";
	for (size_t i = 0; i < q->csr->n; i++) {
		bool in = false;

		for (size_t j = 0; j < a->ndomains && !in; j++)
			in = am_domain_match(a->domains[j], q->csr->names[i]);
		if (!in) {
			snprintf(buf, len, "%.253s is not within its domains%s", q->csr->names[i],
				 strncmp(q->csr->names[i], "*.", 2) == 0
					 ? " (a wildcard needs a domain entry naming it exactly)" : "");
			return buf;
		}
	}
	return NULL;
}

const am_auth *am_authorize(const am_conf *c, const am_request *q, char *why, size_t whylen)
{
	size_t used = 0;

	why[0] = '\0';
	for (size_t i = 0; i < c->nauths; i++) {
		char buf[400];
		const char *no = refusal(c->auths[i], q, buf, sizeof(buf));

		if (no == NULL)
			return c->auths[i];
		if (used < whylen)
			used += (size_t)snprintf(why + used, whylen - used, "%sauth %s: %s",
						 used ? "; " : "", c->auths[i]->name, no);
	}
	if (c->nauths == 0)
		snprintf(why, whylen, "no auth block is configured");
	return NULL;
}
