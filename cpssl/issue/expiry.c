/* Expiry warnings: Let's Encrypt no longer mails them, so the housekeeping
 * pass does — one notice a day per certificate that expires within
 * [letsencrypt] warn_days while its renewals fail, until it is fixed. */
#include "cpssl/issue/housekeeping.h"

#include <stdio.h>

#include "cpssl/core/log.h"
#include "cpssl/deploy/notify.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/ssl_state.h"

/* a day, less the hour a timer may drift from one pass to the next */
#define WARN_QUIET (23 * 3600LL)

typedef struct warn_ctx {
	cps_store *st;
	const cps_settings *set;
	long long now;
	size_t sent;
} warn_ctx;

static int warn_one(const cps_due_cert *c, void *ud)
{
	warn_ctx *w = ud;
	char site[32], subject[128];
	long long left = c->not_after - w->now;
	cps_ssl_status ss;
	cps_err e;

	if (c->site_id == 0)
		snprintf(site, sizeof(site), "server");
	else
		snprintf(site, sizeof(site), "site%ld", c->site_id);
	if (cps_ssl_status_get(w->st, c->site_id, &ss, &e) != 0) {
		cps_warn("%s: %s", site, e.msg);
		return 0;
	}
	if (left > 0)
		snprintf(subject, sizeof(subject), "the certificate of %s expires in %lld day%s",
			 site, left / 86400, left / 86400 == 1 ? "" : "s");
	else
		snprintf(subject, sizeof(subject), "the certificate of %s has expired", site);
	cps_warn("%s; its renewal has failed %ld time%s (%s)", subject, ss.failures,
		 ss.failures == 1 ? "" : "s", ss.last_detail ? ss.last_detail : "no detail");
	cps_notify_admin(w->st, &w->set->notify, site, subject,
			 "The certificate of %s (%s) expires %s.\n"
			 "Its renewal has failed %ld time%s; the last error:\n  %s\n\n"
			 "Fix what it names, then run: cpcmd%s%s letsencrypt:renew\n"
			 "See: cpcmd%s%s letsencrypt:status\n"
			 "This notice repeats once a day until a renewal succeeds.",
			 site, c->names, left > 0 ? "soon" : "already (it has expired)",
			 ss.failures, ss.failures == 1 ? "" : "s",
			 ss.last_detail ? ss.last_detail : "(none recorded)",
			 c->site_id ? " -d " : "", c->site_id ? site : "",
			 c->site_id ? " -d " : "", c->site_id ? site : "");
	cps_ssl_status_free(&ss);
	if (cps_ssl_warned(w->st, c->site_id, w->now, &e) != 0)
		cps_warn("%s: %s", site, e.msg);
	w->sent++;
	return 0;
}

int cps_expiry_warnings(cps_store *st, const cps_settings *set, long long now,
			size_t *sent, cps_err *err)
{
	warn_ctx w = { .st = st, .set = set, .now = now };

	*sent = 0;
	if (set->notify.warn_days <= 0)
		return 0;
	if (cps_cert_expiring_failing(st, now, set->notify.warn_days * 86400LL, WARN_QUIET,
				      warn_one, &w, err) != 0)
		return -1;
	*sent = w.sent;
	return 0;
}
