/* dns-01 through an administrator's executable: HOOK setup|teardown NAME
 * VALUE, run without a shell (cps_proc_run), bounded in time and output. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"
#include "cpssl/dns/internal.h"

#define HOOK_TIMEOUT_S  120
#define HOOK_OUTPUT_MAX (64 * 1024)
#define QUOTE_LINES     3
#define QUOTE_MAX       400

/* The first lines of the hook's output, on one line, control characters
 * blanked: enough for the administrator to see why it failed. */
static void quote_output(const cps_proc_result *r, char *buf, size_t len)
{
	size_t o = 0, lines = 0;
	const char *s = r->output ? r->output : "";
	size_t n = r->output_len;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	for (size_t i = 0; i < n && o + 4 < len && o < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			if (++lines == QUOTE_LINES)
				break;
			o += (size_t)snprintf(buf + o, len - o, " / ");
			continue;
		}
		buf[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	buf[o] = '\0';
	if (o == 0)
		snprintf(buf, len, "(no output)");
}

int cps_dns_hook_run(cps_dns_provider *p, const char *action,
		     const char *name, const char *value, cps_err *err)
{
	char *argv[] = { p->hook, (char *)action, (char *)name, (char *)value, NULL };
	char quoted[QUOTE_MAX + 8];
	cps_proc_result r;
	int rc = -1;

	if (cps_proc_run(argv, NULL, HOOK_TIMEOUT_S, HOOK_OUTPUT_MAX, &r, err) < 0)
		return cps_err_prefix(err, "dns hook: %s %s %.253s (check [dns] hook)",
				      p->hook, action, name);
	quote_output(&r, quoted, sizeof(quoted));
	if (r.timed_out)
		cps_fail(err, CPS_E_TIMEOUT,
			 "dns hook: %s %s %.253s did not finish within %d s and was stopped: %s",
			 p->hook, action, name, HOOK_TIMEOUT_S, quoted);
	else if (r.exit_status != 0)
		cps_fail(err, CPS_E_EXEC,
			 "dns hook: %s %s %.253s failed with exit status %d: %s",
			 p->hook, action, name, r.exit_status, quoted);
	else
		rc = 0;
	if (rc == 0)
		cps_debug("dns hook: %s %s %s done", p->hook, action, name);
	cps_proc_result_free(&r);
	return rc;
}
