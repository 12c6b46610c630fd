/* The persist mechanism (dns-persist-01): the record a name's owner
 * publishes once for this CA and account, shown (and, on request, published
 * through the DNS provider) by letsencrypt:persist-record; before a
 * persist challenge is answered, the record is looked up where the CA will
 * look, and a name without it fails at once, saying what to publish. A
 * persist record is never a challenge response: nothing removes it. */
#ifndef CPSSL_ISSUE_PERSIST_H
#define CPSSL_ISSUE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/issue/session.h"

typedef struct cps_persist_info {
	char *record;      /* _validation-persist.<name> */
	char *value;       /* "<issuer>; accounturi=<url>[; policy=wildcard]" */
	char *issuer, *account;
	bool wildcard;
	bool present;      /* the zone's authoritative servers answer it */
	bool published;    /* it was published now */
} cps_persist_info;

/* The record for NAME (canonical; "*.d" means d with policy=wildcard, as
 * does WILDCARD): the CA's first caaIdentity and the session's account
 * (registered when it does not exist yet). With PUBLISH, added through
 * the DNS provider unless the authoritative servers already answer it. */
int cps_persist_show(cps_session *s, const char *name, bool wildcard, bool publish,
		     cps_persist_info *out, cps_err *err);
void cps_persist_info_free(cps_persist_info *i);

/* Whether NAME's persist record, as the zone's authoritative servers
 * answer it, lets the session's account validate NAME with a CA naming
 * ISSUERS (a challenge's issuer-domain-names). 0: it does (or the servers
 * cannot be asked: the CA decides); 1 with WHY, a sentence naming the
 * record to publish and the command (for SITE, NULL: the server) that
 * shows it. */
int cps_persist_unready(cps_session *s, const char *site, const char *name,
			char *const *issuers, size_t nissuers, char *why, size_t len,
			cps_err *err);

#endif
