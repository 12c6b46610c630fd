#include "cpssl/deploy/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"
#include "cpssl/store/server.h"

#define NOTIFY_TIMEOUT_S 60

void cps_notify_admin(cps_store *st, const cps_notify_settings *ns, const char *about,
		      const char *subject, const char *fmt, ...)
{
	char *email = NULL, *body = NULL, *msg = NULL, **argv = ns->command;
	cps_proc_result r;
	va_list ap;
	cps_err e;
	int n;

	if (!ns->on_failure)
		return;
	if (cps_server_get(st, CPS_SERVER_EMAIL, &email, &e) != 0 || email == NULL) {
		cps_warn("cannot send the notice about %s: no administrator e-mail is set", about);
		goto out;
	}
	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0 || asprintf(&msg, "To: %s\nSubject: cpssl: %s\n\n%s\n", email, subject, body) < 0) {
		if (n < 0)
			body = NULL;
		msg = NULL;
		goto out;
	}
	if (argv == NULL || argv[0] == NULL ||
	    cps_proc_run_input(argv, NULL, msg, strlen(msg), NOTIFY_TIMEOUT_S, 4096, &r, &e) != 0) {
		cps_warn("cannot send the notice about %s: %s", about,
			 argv && argv[0] ? e.msg : "no notify_command is set");
		goto out;
	}
	if (r.exit_status != 0)
		cps_warn("the notice about %s was not sent: %s exited with %d: %.200s", about, argv[0],
			 r.exit_status, r.output ? r.output : "");
	cps_proc_result_free(&r);
out:
	free(msg);
	free(body);
	free(email);
}
