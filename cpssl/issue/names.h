/* Which names a request may order: each is validated and normalized,
 * repeats dropped, checked against what the site owns (or, for the server's
 * own certificate, the server hostname and [letsencrypt] additional_certs),
 * and, with IP verification, resolved through [dns] resolvers: its A and
 * AAAA records must include the site's address (wildcards are exempt). A
 * failing name fails the request in strict mode and is dropped with a
 * WARNING otherwise. */
#ifndef CPSSL_ISSUE_NAMES_H
#define CPSSL_ISSUE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/config.h"
#include "cpssl/store/sites.h"

/* SITE NULL: the server. *out gets the names that may be ordered, in the
 * given order (possibly none); free with cps_strv_free. */
int cps_names_prepare(cps_store *st, const cps_config *cfg,
		      const cps_site *site, const char *const *in, size_t n,
		      bool strict, bool verify_ip, char ***out, size_t *nout,
		      cps_err *err);

/* 0 when NAME resolves (through SERVERS) to the site's IP or IPv6 address;
 * -1 with the resolved addresses in the message otherwise. */
int cps_names_verify_ip(const char *servers, const cps_site *site,
			const char *name, cps_err *err);

/* The server's own names: net.hostname, then additional_certs. */
int cps_names_server(cps_store *st, const cps_config *cfg, char ***out,
		     size_t *n, cps_err *err);

#endif
