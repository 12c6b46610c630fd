/* The order loop shared by a site's issuance (issue.c) and the issuance for
 * a client's CSR (csr.c): a switch on the order's status, one step per
 * status, until the certificate is downloaded or the order cannot go on.
 * What each step does is the caller's; waiting for the CA and the message
 * for an order that ended are here. */
#ifndef CPSSL_ISSUE_DRIVE_H
#define CPSSL_ISSUE_DRIVE_H

#include <stdbool.h>

#include "cpssl/acme/order.h"

#define CPS_VALIDATION_TIMEOUT_MS 120000
#define CPS_FINALIZE_TIMEOUT_MS 120000

typedef struct cps_drive_steps {
	/* pending: answer the authorizations, wait for the verdict */
	int (*authorize)(void *ctx, cps_err *err);
	/* ready without having answered (a taken-up order); NULL: finalize */
	int (*recall)(void *ctx, cps_err *err);
	/* ready: send the CSR */
	int (*finalize)(void *ctx, cps_err *err);
	/* valid: fetch and keep the certificate; ends the loop */
	int (*download)(void *ctx, cps_err *err);
	/* invalid before the CSR: a new order, or -1; NULL: the order ended */
	int (*after_invalid)(void *ctx, cps_err *err);
} cps_drive_steps;

typedef struct cps_drive {
	cps_acme *acme;
	cps_acme_order *order;  /* the order in progress (the caller's) */
	const char *name_set;   /* for messages */
	bool *authorized;       /* set by the caller's steps */
	bool *finalized;
} cps_drive;

/* The loop from the order's current status: 0 after download, -1 when the
 * order cannot go on (a bounded number of steps ends a CA that never
 * finishes). */
int cps_drive_order(const cps_drive *d, const cps_drive_steps *steps, void *ctx,
		    cps_err *err);

/* processing (or ready after the CSR): poll until the CA has issued. */
int cps_drive_wait_issued(const cps_drive *d, cps_err *err);

#endif
