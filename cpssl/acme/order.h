/* ACME orders (RFC 8555 §7.4-7.6): new order, authorizations and their
 * challenges, responding, polling with Retry-After and a deadline,
 * finalize, certificate download with alternate chains, revocation. */
#ifndef CPSSL_ACME_ORDER_H
#define CPSSL_ACME_ORDER_H

#include <stddef.h>

#include "cpssl/acme/client.h"

/* The status of an order, authorization or challenge (RFC 8555 §7.1.6),
 * parsed once where the CA's answer is read; every decision after that is a
 * switch on it. */
typedef enum cps_acme_status {
	CPS_ACME_ABSENT = 0,   /* the object carried no status */
	CPS_ACME_PENDING,
	CPS_ACME_READY,
	CPS_ACME_PROCESSING,
	CPS_ACME_VALID,
	CPS_ACME_INVALID,
	CPS_ACME_DEACTIVATED,
	CPS_ACME_EXPIRED,
	CPS_ACME_REVOKED,
	CPS_ACME_UNKNOWN,      /* a status RFC 8555 does not define */
} cps_acme_status;

/* A set of statuses, for polling: CPS_ACME_IN(PENDING) | … */
#define CPS_ACME_IN(st) (1u << (st))

/* "pending", … ("" for ABSENT, "unknown" for UNKNOWN). */
const char *cps_acme_status_name(cps_acme_status st);
/* NULL → ABSENT; a string RFC 8555 does not define → UNKNOWN. */
cps_acme_status cps_acme_status_parse(const char *s);

typedef struct cps_acme_challenge {
	char *type;   /* "http-01", "dns-01", "tls-alpn-01", "dns-persist-01", … */
	char *url;
	char *token;  /* validated base64url; NULL when missing or unsafe */
	cps_acme_status status;
	char *error;  /* the CA's problem detail for an invalid challenge */
	/* dns-persist-01 (draft-ietf-acme-dns-persist): the CA's issuer domain
	 * names (lower case, each a valid hostname; others are dropped) and the
	 * account URL it will look for when it names one (else NULL). */
	char **issuers;
	size_t nissuers;
	char *accounturi;
} cps_acme_challenge;

typedef struct cps_acme_authz {
	char *url;
	char *name;   /* the identifier, "*.d" for a wildcard authorization */
	cps_acme_status status;
	cps_acme_challenge *ch;
	size_t nch;
} cps_acme_authz;

typedef struct cps_acme_order {
	char *url, *finalize, *certificate;
	cps_acme_status status;
	char **authzs;
	size_t nauthz;
	char *error;  /* the CA's problem detail for an invalid order */
	char *profile; /* the profile the CA associated with it, or NULL */
} cps_acme_order;

/* A new order for NAMES; PROFILE (NULL: none) is sent as the order's
 * "profile" (draft-ietf-acme-profiles): check first that the CA offers it
 * (cps_acme_offers_profile). REPLACES: the CertID (acme/ari.h) of the
 * certificate the order is to replace (RFC 9773 §5), or NULL. */
int cps_acme_order_new(cps_acme *c, const char *const *names, size_t n,
		       const char *profile, const char *replaces, cps_acme_order *out,
		       cps_err *err);
int cps_acme_order_get(cps_acme *c, const char *url, cps_acme_order *out,
		       cps_err *err);
void cps_acme_order_free(cps_acme_order *o);

int cps_acme_authz_get(cps_acme *c, const char *url, cps_acme_authz *out,
		       cps_err *err);
void cps_acme_authz_free(cps_acme_authz *a);
/* The challenge of TYPE in A, or NULL. */
const cps_acme_challenge *cps_acme_authz_challenge(const cps_acme_authz *a,
						   const char *type);

/* Tell the CA the response to the challenge at URL is in place. */
int cps_acme_challenge_respond(cps_acme *c, const char *url, cps_err *err);

/* The wait before poll number ATTEMPT (0 first) of an order or an
 * authorization: the CA's Retry-After (seconds, -1 when none) bounded to a
 * minute; else 10 ms, then 40 ms doubling up to 2 s. */
long long cps_acme_poll_delay_ms(int attempt, long retry_after_s);

/* Poll the order while its status is in WHILE (CPS_ACME_IN(…) | …),
 * honouring Retry-After, with bounded exponential backoff, until
 * DEADLINE_MS (monotonic). */
int cps_acme_order_poll(cps_acme *c, cps_acme_order *o, unsigned while_in,
			long long deadline_ms, cps_err *err);
/* Same for an authorization (until it leaves "pending"). */
int cps_acme_authz_poll(cps_acme *c, const char *url, long long deadline_ms,
			cps_acme_authz *out, cps_err *err);

/* Finalize with a DER CSR; the order is updated from the answer. */
int cps_acme_order_finalize(cps_acme *c, cps_acme_order *o,
			    const unsigned char *csr, size_t len, cps_err *err);

/* Download the certificate chain (PEM). With PREFERRED_ISSUER set, the
 * default and the alternate chains (Link rel="alternate") are searched, in
 * that order, for one whose top certificate's issuer CN equals it (certbot's
 * --preferred-chain); the default chain is kept, with a WARNING naming the
 * issuers offered, when none does. An alternate that cannot be fetched, or
 * that carries another certificate than the default chain, is skipped with a
 * WARNING. */
int cps_acme_certificate_get(cps_acme *c, const char *url,
			     const char *preferred_issuer, char **pem,
			     cps_err *err);

/* Revoke a certificate (DER) with the account key; REASON per RFC 5280. */
int cps_acme_revoke(cps_acme *c, const unsigned char *der, size_t len,
		    int reason, cps_err *err);

/* TOKEN "." thumbprint(account key). */
int cps_acme_key_authorization(cps_acme *c, const char *token, char **out,
			       cps_err *err);
/* base64url(SHA-256(KEYAUTH)): the dns-01 TXT value. */
int cps_acme_dns_value(const char *keyauth, char **out, cps_err *err);

#endif
