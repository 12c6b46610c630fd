/* dns-persist-01 (draft-ietf-acme-dns-persist): one TXT record, published
 * once, that lets an account of a CA validate a name for as long as it
 * stays:
 *   _validation-persist.<name>  TXT  "<issuer-domain-name>; accounturi=<URL>"
 * with "; policy=wildcard" to cover *.<name> too, and an optional
 * "; persistUntil=<unix time>". The issuer domain name is one of the CA's
 * (the challenge's "issuer-domain-names", the directory's caaIdentities);
 * tags and the policy value are compared without regard to case, the
 * account URL exactly (as Pebble and Boulder do). */
#ifndef CPSSL_ACME_PERSIST_H
#define CPSSL_ACME_PERSIST_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

/* The characters of a parameter value (RFC 8659 §4.2: printable ASCII
 * without space and ';'); an account URL must consist of them. */
#define CPS_PERSIST_URI_CHARS                                                  \
	"!\"#$%&'()*+,-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"    \
	"abcdefghijklmnopqrstuvwxyz{|}~"

/* "_validation-persist.<NAME>" (a wildcard label dropped). */
int cps_persist_record(const char *name, char *out, size_t len, cps_err *err);

/* The TXT value for ISSUER (a hostname) and ACCOUNT_URL, with
 * "; policy=wildcard" when WILDCARD. Caller frees. */
int cps_persist_value(const char *issuer, const char *account_url, bool wildcard,
		      char **out, cps_err *err);

/* What one TXT value says to a CA naming ISSUERS, for ACCOUNT_URL. */
typedef enum cps_persist_verdict {
	CPS_PERSIST_OTHER_CA = 0,  /* not for this CA (another issuer, or none) */
	CPS_PERSIST_MALFORMED,     /* for this CA, but the CA would reject its syntax */
	CPS_PERSIST_NO_ACCOUNT,    /* for this CA, without accounturi */
	CPS_PERSIST_OTHER_ACCOUNT, /* for this CA and another account */
	CPS_PERSIST_NOT_WILDCARD,  /* a wildcard name and no policy=wildcard */
	CPS_PERSIST_EXPIRED,       /* persistUntil is before NOW */
	CPS_PERSIST_OK,
} cps_persist_verdict;

cps_persist_verdict cps_persist_check(const char *txt, char *const *issuers, size_t nissuers,
				      const char *account_url, bool wildcard, long long now);
/* A phrase for a verdict: "names another account", … */
const char *cps_persist_verdict_text(cps_persist_verdict v);

#endif
