/* Pacing at scale: CAs limit new orders per account (Let's Encrypt: 300
 * per 3 hours). A pass never asks for more than what is left of
 * [letsencrypt] order_limit; the rest waits for a later pass. */
#include "cpssl/issue/housekeeping.h"

#include <stdio.h>

#include "cpssl/core/log.h"
#include "cpssl/issue/failover.h"
#include "cpssl/store/acme_state.h"

int cps_pace(cps_store *st, const cps_settings *set, long long now, size_t waiting,
	     size_t *let, char *why, size_t len, cps_err *err)
{
	const char *ca;
	long used;

	*let = waiting;
	why[0] = '\0';
	if (set->order_limit <= 0 || waiting == 0)
		return 0;
	/* the limit is the account's: at the CA the pass orders from */
	if (cps_failover_pick(st, set, now, &ca, err) != 0 ||
	    cps_order_count_since(st, ca, now - set->order_limit_hours * 3600LL, &used,
				  err) != 0)
		return -1;
	*let = used >= set->order_limit ? 0 : (size_t)(set->order_limit - used);
	if (*let >= waiting) {
		*let = waiting;
		return 0;
	}
	snprintf(why, len, "deferred: the CA's order limit (%ld in %ld hours, %ld made) is used up; "
		 "a later pass orders it", set->order_limit, set->order_limit_hours, used);
	cps_warn("the CA allows %ld new orders in %ld hours and %ld were made: %zu of %zu "
		 "certificates are ordered now (soonest expiry first), %zu in a later pass",
		 set->order_limit, set->order_limit_hours, used, *let, waiting, waiting - *let);
	return 0;
}
