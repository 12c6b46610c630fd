/* Delayed, coalesced web-server reloads. A deployment asks for a reload of
 * each service it touched ([httpd] reload_delay later; "now" reloads at
 * once). The request is stored in SQLite, and a detached waiter (double
 * fork, setsid, exec of cpcmd --reload-waiter, an flock on
 * storage/reload.lock holding its PID) sleeps until it is due,
 * runs the configtest command and only then the reload command — each with
 * fork + execve and an argv split from config.ini — and logs the result to
 * the store and to storage/logs/reload.log. Deployments inside one window
 * share one reload. A reload that is overdue (the waiter died, the machine
 * rebooted) is started by the next cpcmd that opens the store. */
#ifndef CPSSL_DEPLOY_RELOAD_H
#define CPSSL_DEPLOY_RELOAD_H

#include "cpssl/core/err.h"
#include "cpssl/core/paths.h"
#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

/* "apache", "haproxy": the service's name in the store and in messages. */
const char *cps_service_name(cps_service svc);
/* -1 when NAME is none of them. */
int cps_service_parse(const char *name, cps_service *out);

/* Ask for a reload of SVC (SET: the server's settings, or a site's; the
 * reload part is the server's either way). */
int cps_reload_schedule(cps_store *st, const cps_settings *set,
			const cps_paths *paths, cps_service svc, cps_err *err);

/* Configtest and reload SVC now, logging the result. When Apache's
 * configuration test fails, every site's Apache files are checked and the
 * broken ones (a key a customer made dangling, say) restored from storage,
 * which cpssl alone writes; the test runs again, so one site's sabotage does
 * not hold back every other site's certificate. What could not be repaired
 * is reported and sent to the administrator. */
int cps_reload_now(cps_store *st, const cps_settings *set, const cps_paths *paths,
		   cps_service svc, cps_err *err);

/* The hidden argument that makes cpcmd the waiter. */
#define CPS_RELOAD_WAITER_ARG "--reload-waiter"

/* The waiter's body (cpcmd --reload-waiter); returns an exit status. */
int cps_reload_waiter(const cps_paths *paths);

/* With this set in the environment (housekeeping workers), reloads are only
 * recorded; the pass reloads once at its end with cps_reload_flush. */
#define CPS_RELOAD_DEFER_ENV "CPSSL_RELOAD_DEFER"

/* At the end of a pass: reload every service that is owed one, now — the
 * pass was the window that gathered its deployments, and nothing is left
 * running after it (a systemd oneshot service would kill a waiter). */
int cps_reload_flush(cps_store *st, const cps_settings *set, const cps_paths *paths,
		     cps_err *err);

/* Start a waiter if a pending reload is overdue. */
int cps_reload_overdue(cps_store *st, const cps_paths *paths, cps_err *err);

#endif
