/* Notices to the administrator: a mail (To:, Subject:, body) on the
 * standard input of [letsencrypt] notify_command, run without a shell, when
 * notify_failure is on. Failing to send one is a WARNING, never fatal. */
#ifndef CPSSL_DEPLOY_NOTIFY_H
#define CPSSL_DEPLOY_NOTIFY_H

#include "cpssl/core/settings.h"
#include "cpssl/store/db.h"

/* ABOUT names what the notice is about in warnings ("site3"); SUBJECT and
 * BODY (printf-style) the mail. */
void cps_notify_admin(cps_store *st, const cps_notify_settings *ns, const char *about,
		      const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
