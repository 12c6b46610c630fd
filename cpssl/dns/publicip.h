/* The server's public address as the outside sees it, from a "what is my
 * IP" service ([dns] public_ip_url). */
#ifndef CPSSL_DNS_PUBLICIP_H
#define CPSSL_DNS_PUBLICIP_H

#include <arpa/inet.h>

#include "cpssl/core/err.h"

/* GET URL (http or https, TLS verified, no redirects, 5 s to connect and
 * 10 s in all, at most 128 bytes) and take its body, which must be one IPv4
 * or IPv6 address (white space around it allowed), in canonical form. */
int cps_dns_public_ip(const char *url, char out[INET6_ADDRSTRLEN], cps_err *err);

#endif
