/* CAA (RFC 8659) checked before ordering. */
#ifndef CPSSL_ISSUE_CAA_H
#define CPSSL_ISSUE_CAA_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

/* Whether the CA named by IDS (its caaIdentities) may issue for NAME (a
 * wildcard asks issuewild first), by the closest CAA record set up NAME's
 * tree as RESOLVERS answer ("host:port,…", "" for resolv.conf). 0: it may
 * (also with no IDS, no records, or records that cannot be read: the CA
 * decides then); 1 with WHY saying which records forbid it and where. */
int cps_caa_check(const char *resolvers, const char *const *ids, size_t nids, const char *name,
		  char *why, size_t len, cps_err *err);

#endif
