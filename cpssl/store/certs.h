/* Certificates per site: every certificate issued or imported, which one is
 * current, and the facts the renewal pass and status need, indexed so that
 * finding what is due does not walk files. */
#ifndef CPSSL_STORE_CERTS_H
#define CPSSL_STORE_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/window.h"
#include "cpssl/store/db.h"

/* Where a certificate came from when not from an ACME CA (the server
 * column): imported, self-signed on request (ssl:sign-certificate), or
 * self-signed in the interim because no CA certificate could be had — the
 * housekeeping pass retries those until one replaces them. */
#define CPS_ORIGIN_IMPORT "import"
#define CPS_ORIGIN_SELFSIGNED "self-signed"
#define CPS_ORIGIN_INTERIM "self-signed (interim)"

/* Whether SERVER (a certificate's origin) is an ACME directory URL. */
bool cps_origin_is_ca(const char *server);

typedef struct cps_cert_row {
	long long id;
	long site_id;       /* 0: the server's own certificate */
	char *server;       /* ACME directory URL, or one of the origins below */
	char *names;        /* comma-joined SANs in certificate order */
	char *serial, *fingerprint, *issuer, *key_type;
	long long not_before, not_after;
	char *path;         /* the directory holding the PEM files */
	long long created;
	long long revoked;  /* when it was revoked, 0 if not */
	char *profile;      /* the ACME profile it was issued under, or NULL */
	/* the CA's renewal information (store/ari.h) */
	char *ari_id;          /* its CertID, NULL until computed */
	long long ari_start, ari_end; /* the window the CA suggested; 0: none */
	long long ari_renew_at;       /* the time chosen inside it; 0: none */
	char *ari_explanation;        /* the CA's explanation URL, or NULL */
	long long ari_check_at;       /* when to ask next; -1: never */
} cps_cert_row;

/* Record IN as SITE_ID's current certificate (the previous one stays in the
 * table, no longer current). Runs in one transaction. */
int cps_cert_record(cps_store *st, const cps_cert_row *in, long long *id,
		    cps_err *err);
/* The current certificate of SITE_ID; out->id == 0 when there is none. */
int cps_cert_current(cps_store *st, long site_id, cps_cert_row *out,
		     cps_err *err);
/* The newest certificate of SITE_ID older than the current one; out->id
 * == 0 when there is none. */
int cps_cert_previous(cps_store *st, long site_id, cps_cert_row *out,
		      cps_err *err);
void cps_cert_row_free(cps_cert_row *r);
/* Every certificate of SITE_ID, newest first; *current_id the current one. */
int cps_cert_list(cps_store *st, long site_id, cps_cert_row **rows, size_t *n,
		  long long *current_id, cps_err *err);
void cps_cert_rows_free(cps_cert_row *rows, size_t n);
/* A recorded certificate has reached every target. New rows start
 * undeployed. */
int cps_cert_set_deployed(cps_store *st, long long id, cps_err *err);
/* SITE_ID's current certificate when its deployment was never finished
 * (out->id == 0 when there is none); older unfinished ones are settled. */
int cps_cert_undeployed(cps_store *st, long site_id, cps_cert_row *out,
			cps_err *err);
/* The sites with an unfinished deployment. Caller frees *sites. */
int cps_cert_undeployed_sites(cps_store *st, long **sites, size_t *n,
			      cps_err *err);
/* The site no longer has a current certificate (it was deleted). */
int cps_cert_clear_current(cps_store *st, long site_id, cps_err *err);
int cps_cert_set_revoked(cps_store *st, long long id, long long when,
			 cps_err *err);

typedef struct cps_due_cert {
	long site_id;
	const char *server, *names;  /* valid during the callback */
	long long not_before, not_after;
} cps_due_cert;

typedef int (*cps_due_cb)(const cps_due_cert *c, void *ud);

/* Current certificates not imported and not interim due at NOW, skipping
 * sites in a backoff: from the time chosen inside the CA's suggested window
 * when one is known (and W->ari), else by window W (core/window.h, with its
 * settings of the moment); both end lookbehind_days before expiry.
 * EVERYTHING lists every current certificate instead. CB returns non-zero
 * to stop. */
int cps_cert_due(cps_store *st, long long now, const cps_window *w,
		 bool everything, cps_due_cb cb, void *ud, cps_err *err);
/* Current certificates (not imported) expiring before NOW + WITHIN whose
 * site has failed renewals and got no warning since NOW - QUIET. */
int cps_cert_expiring_failing(cps_store *st, long long now, long long within,
			      long long quiet, cps_due_cb cb, void *ud, cps_err *err);
/* Every current interim self-signed certificate. CB returns non-zero to
 * stop. */
int cps_cert_fallbacks(cps_store *st, cps_due_cb cb, void *ud, cps_err *err);

#endif
