/* The CA's renewal information (ACME ARI, RFC 9773) kept with each current
 * certificate: its CertID, the window the CA suggested, the time chosen
 * inside it, the explanation URL, and when to ask the CA next. The time to
 * ask next is indexed, so a pass finds the certificates whose time has come
 * without reading the others; a certificate that did not come from an ACME
 * CA, or has expired, is never asked about; one from another CA than the
 * configured one waits until that CA is configured again. */
#ifndef CPSSL_STORE_ARI_H
#define CPSSL_STORE_ARI_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

/* A current certificate whose renewal information is to be asked for. */
typedef struct cps_ari_claim {
	long long id;           /* the certificate's row */
	long site_id;
	char *path;             /* its storage directory (cert.pem) */
	char *cert_id;          /* its CertID once known, else NULL */
	long long not_after;
	long long start, end;   /* the window last suggested; 0 when none */
	long long renew_at;     /* the time chosen inside it; 0 when none */
} cps_ari_claim;

/* Up to MAX current certificates from SERVER whose time to ask has come
 * (at NOW or before), the longest waiting first, each moved to LEASE in
 * the same transaction so that a pass running at the same time does not
 * ask for them too (a pass that dies leaves them to be asked at LEASE).
 * Its certificates expired by NOW are no longer asked about. */
int cps_cert_ari_claim(cps_store *st, const char *server, long long now,
		       long long lease, size_t max, cps_ari_claim **out,
		       size_t *n, cps_err *err);
void cps_cert_ari_claims_free(cps_ari_claim *v, size_t n);

/* Every current certificate from SERVER waiting to be asked at NOW waits
 * until UNTIL instead (a CA whose directory offers no renewalInfo is
 * looked at again then). */
int cps_cert_ari_postpone(cps_store *st, const char *server, long long now, long long until,
			  cps_err *err);

/* How many current certificates from SERVER are waiting to be asked at
 * NOW (what a pass left for the next one). */
int cps_cert_ari_waiting(cps_store *st, const char *server, long long now,
			 long *n, cps_err *err);

/* The certificate ID's CertID, computed once. */
int cps_cert_ari_set_id(cps_store *st, long long id, const char *cert_id,
			cps_err *err);

/* What the CA suggested. */
typedef struct cps_ari_state {
	long long start, end;   /* the window */
	long long renew_at;     /* the time chosen inside it */
	const char *explanation; /* or NULL */
	long long check_at;     /* when to ask again */
} cps_ari_state;

int cps_cert_ari_save(cps_store *st, long long id, const cps_ari_state *a,
		      cps_err *err);
/* Asking failed or was put off: ask again at CHECK_AT; what is known
 * stays. */
int cps_cert_ari_retry(cps_store *st, long long id, long long check_at,
		       cps_err *err);

#endif
