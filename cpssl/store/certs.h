/* Certificates per site: every certificate issued or imported, which one is
 * current, and the facts the renewal pass and status need, indexed so that
 * finding what is due does not walk files. */
#ifndef CPSSL_STORE_CERTS_H
#define CPSSL_STORE_CERTS_H

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

typedef struct cps_cert_row {
	long long id;
	long site_id;       /* 0: the server's own certificate */
	char *server;       /* ACME directory URL, or "import" */
	char *names;        /* comma-joined SANs in certificate order */
	char *serial, *fingerprint, *issuer, *key_type;
	long long not_before, not_after;
	char *path;         /* the directory holding the PEM files */
	long long created;
	long long revoked;  /* when it was revoked, 0 if not */
} cps_cert_row;

/* Record IN as SITE_ID's current certificate (the previous one stays in the
 * table, no longer current). Runs in one transaction. */
int cps_cert_record(cps_store *st, const cps_cert_row *in, long long *id,
		    cps_err *err);
/* The current certificate of SITE_ID; out->id == 0 when there is none. */
int cps_cert_current(cps_store *st, long site_id, cps_cert_row *out,
		     cps_err *err);
void cps_cert_row_free(cps_cert_row *r);
int cps_cert_set_revoked(cps_store *st, long long id, long long when,
			 cps_err *err);

#endif
