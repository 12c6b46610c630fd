/* Who may have what: an auth block's conditions (client address in one of
 * its ip networks, an Authentication header whose HMAC over the body
 * matches, every name of the CSR within its domain globs), checked for one
 * request. */
#ifndef ACMEMS_AUTH_H
#define ACMEMS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "acmems/conf.h"
#include "cpssl/crypto/csr.h"

typedef struct am_request {
	const struct sockaddr *peer;  /* from the socket, never from a header */
	const char *authentication;   /* the Authentication header, or NULL */
	const char *body;
	size_t len;
	const cps_csr_info *csr;
} am_request;

bool am_cidr_match(const am_cidr *net, const struct sockaddr *peer);

/* NAME (canonical) is within GLOB (fnmatch, case-insensitive; '*' and '?'
 * also match dots). A wildcard name matches only a glob that names it
 * literally ("*.d.test" for "*.d.test"), never a pattern. */
bool am_domain_match(const char *glob, const char *name);

/* "hmac name=sha256, hash=HEX" (the comma optional): the digest's name and
 * the MAC. 0, or -1 when the header is not of that form. */
int am_hmac_parse(const char *header, char *name, size_t namelen, unsigned char *mac,
		  size_t *maclen);

/* The header's MAC is KEY's HMAC over BODY with TYPE's digest (the
 * header's digest name may be any of OpenSSL's names for it: sha256,
 * SHA2-256); compared in constant time. */
bool am_hmac_ok(const char *type, const char *key, const char *header, const char *body,
		size_t len);

/* The first auth block all of whose conditions the request meets, or NULL
 * with WHY (one line) saying what each block refused. */
const am_auth *am_authorize(const am_conf *c, const am_request *q, char *why, size_t whylen);

#endif
