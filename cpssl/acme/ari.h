/* ACME Renewal Information (RFC 9773): the CertID that names a certificate
 * to its CA, the unauthenticated GET of {renewalInfo}/{CertID}, and the
 * RenewalInfo answer read once — its suggested window, explanation URL and
 * Retry-After. */
#ifndef CPSSL_ACME_ARI_H
#define CPSSL_ACME_ARI_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "cpssl/acme/client.h"

typedef struct cps_acme_ari {
	long long start, end;  /* suggestedWindow, epoch seconds; start < end */
	char *explanation;     /* explanationURL made one line of text, or NULL */
	long retry_after;      /* the answer's Retry-After in seconds; -1: none */
} cps_acme_ari;

/* base64url(keyIdentifier of the Authority Key Identifier) "."
 * base64url(the serial number's DER content octets) (RFC 9773 §4.1).
 * Caller frees. Fails for a certificate without an AKI key identifier. */
int cps_acme_ari_cert_id(X509 *cert, char **out, cps_err *err);

/* An RFC 3339 date-time ("2025-01-02T03:04:05.678Z", "…+02:00") as epoch
 * seconds, the fraction dropped; -1 when S is not one. */
int cps_acme_ari_time(const char *s, long long *out);

/* A RenewalInfo object. An end that is not after its start makes the
 * answer invalid (RFC 9773 §4.2), as a missing window does. OUT->retry_after
 * is left as the caller set it. */
int cps_acme_ari_parse(const char *json, cps_acme_ari *out, cps_err *err);
void cps_acme_ari_free(cps_acme_ari *a);

/* Whether the CA's directory offers renewalInfo (the directory is loaded). */
int cps_acme_ari_offered(cps_acme *c, bool *offered, cps_err *err);

/* GET {renewalInfo}/CERT_ID, one attempt (the caller asks again later).
 * OUT->retry_after is the answer's Retry-After whether it succeeded or not
 * (-1 without an answer or header). CPS_E_NOTFOUND: the CA does not know
 * the certificate; CPS_E_PROTO: its answer is not a valid RenewalInfo. */
int cps_acme_ari_get(cps_acme *c, const char *cert_id, cps_acme_ari *out,
		     cps_err *err);

#endif
