#include "cpssl/issue/drive.h"

#include "cpssl/core/clock.h"

/* pending, ready, processing, valid, and one retry of the same: any order
 * that takes more steps than this is broken */
#define MAX_STEPS 12

int cps_drive_wait_issued(const cps_drive *d, cps_err *err)
{
	return cps_acme_order_poll(d->acme, d->order,
				   CPS_ACME_IN(CPS_ACME_PROCESSING) | CPS_ACME_IN(CPS_ACME_READY),
				   cps_monotonic_ms() + CPS_FINALIZE_TIMEOUT_MS, err);
}

/* The order cannot go on from its status. */
static int ended(const cps_drive *d, cps_err *err)
{
	return cps_fail(err, CPS_E_CA, "the order for %s ended %s: %s", d->name_set,
			cps_acme_status_name(d->order->status),
			d->order->error ? d->order->error : "the CA gave no reason");
}

static int ready(const cps_drive *d, const cps_drive_steps *steps, void *ctx, cps_err *err)
{
	if (*d->finalized) /* a CA still busy after the CSR may answer ready */
		return cps_drive_wait_issued(d, err);
	if (*d->authorized || steps->recall == NULL)
		return steps->finalize(ctx, err);
	return steps->recall(ctx, err);
}

int cps_drive_order(const cps_drive *d, const cps_drive_steps *steps, void *ctx,
		    cps_err *err)
{
	for (int step = 0; step < MAX_STEPS; step++) {
		int rc;

		switch (d->order->status) {
		case CPS_ACME_PENDING:
			rc = steps->authorize(ctx, err);
			break;
		case CPS_ACME_READY:
			rc = ready(d, steps, ctx, err);
			break;
		case CPS_ACME_PROCESSING:
			rc = cps_drive_wait_issued(d, err);
			break;
		case CPS_ACME_VALID:
			return steps->download(ctx, err);
		case CPS_ACME_INVALID:
			if (*d->finalized || steps->after_invalid == NULL) /* refused after the CSR */
				return ended(d, err);
			rc = steps->after_invalid(ctx, err);
			break;
		default:
			return ended(d, err);
		}
		if (rc != 0)
			return -1;
	}
	return cps_fail(err, CPS_E_PROTO, "the order for %s did not finish after %d steps (now %s)",
			d->name_set, MAX_STEPS, cps_acme_status_name(d->order->status));
}
