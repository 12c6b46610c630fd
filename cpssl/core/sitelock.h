/* One lock per site (and one for the server's own certificate), across
 * processes: an flock on storage/locks/<site>. Everything that changes what
 * a site serves or orders — issuance, renewal, append, staging, deployment,
 * import, rollback, deletion — holds it, so operations on one site happen
 * one after another while different sites proceed in parallel.
 *
 * Re-entrant within a process: taking a lock the process already holds
 * counts up and returns at once (a renewal holds it while it reads the
 * current names, then issues and deploys under the same lock). */
#ifndef CPSSL_CORE_SITELOCK_H
#define CPSSL_CORE_SITELOCK_H

#include "cpssl/core/err.h"
#include "cpssl/core/paths.h"

/* How long a command waits for another one on the same site. */
#define CPS_SITE_LOCK_WAIT_MS (5 * 60 * 1000L)

/* SITE: "siteN" or "server". CPS_E_TIMEOUT when another process keeps it
 * longer than CPS_SITE_LOCK_WAIT_MS. */
int cps_site_lock(const cps_paths *paths, const char *site, cps_err *err);
/* Without waiting: 1 when the lock is now held (unlock it), 0 when another
 * process holds it, -1 on error. */
int cps_site_trylock(const cps_paths *paths, const char *site);
void cps_site_unlock(const char *site);

#endif
