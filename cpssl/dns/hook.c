/* DNS records through an administrator's executable, run without a shell
 * (cps_proc_run), bounded in time and output: HOOK setup|teardown NAME
 * VALUE for dns-01 TXT records, HOOK add NAME TYPE VALUE TTL and HOOK
 * delete NAME TYPE [VALUE] for the dns module's records. */
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
/* EX_USAGE: what a hook exits with for an action it does not handle */
#define HOOK_UNSUPPORTED 64

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

/* Run the hook with ARGS (after its own path; NULL-terminated); WHAT
 * names the call in messages ("add www.example.com A"). HINT follows a
 * failure. */
static int hook_exec(cps_dns_provider *p, char *const args[], const char *what,
		     const char *hint, cps_err *err)
{
	char *argv[8] = { p->hook };
	char quoted[QUOTE_MAX + 8];
	cps_proc_result r;
	int rc = -1;

	for (size_t i = 0; args[i] && i + 2 < sizeof(argv) / sizeof(argv[0]); i++)
		argv[i + 1] = args[i];
	if (cps_proc_run(argv, NULL, HOOK_TIMEOUT_S, HOOK_OUTPUT_MAX, &r, err) < 0)
		return cps_err_prefix(err, "dns hook: %s %s (check [dns] hook)", p->hook, what);
	quote_output(&r, quoted, sizeof(quoted));
	if (r.timed_out)
		cps_fail(err, CPS_E_TIMEOUT,
			 "dns hook: %s %s did not finish within %d s and was stopped: %s",
			 p->hook, what, HOOK_TIMEOUT_S, quoted);
	else if (r.exit_status == HOOK_UNSUPPORTED && hint)
		cps_fail(err, CPS_E_CONFIG,
			 "dns hook: %s does not handle '%s' (it exited with status %d: %s)%s",
			 p->hook, args[0], HOOK_UNSUPPORTED, quoted, hint);
	else if (r.exit_status != 0)
		cps_fail(err, CPS_E_EXEC, "dns hook: %s %s failed with exit status %d: %s%s",
			 p->hook, what, r.exit_status, quoted, hint ? hint : "");
	else
		rc = 0;
	if (rc == 0)
		cps_debug("dns hook: %s %s done", p->hook, what);
	cps_proc_result_free(&r);
	return rc;
}

int cps_dns_hook_run(cps_dns_provider *p, const char *action,
		     const char *name, const char *value, cps_err *err)
{
	char *args[] = { (char *)action, (char *)name, (char *)value, NULL };
	char what[300];

	snprintf(what, sizeof(what), "%s %.253s", action, name);
	return hook_exec(p, args, what, NULL, err);
}

int cps_dns_hook_record(cps_dns_provider *p, bool add, const char *name,
			cps_rrtype t, const char *value, long ttl, cps_err *err)
{
	static const char hint[] =
		"; a hook run for dns:add-record and dns:remove-record must handle "
		"'add NAME TYPE VALUE TTL' and 'delete NAME TYPE [VALUE]' besides setup and teardown "
		"(README: DNS records)";
	char ttl_text[24], what[300];
	char *args[] = { add ? "add" : "delete", (char *)name, (char *)cps_rrtype_name(t),
			 (char *)value, add ? ttl_text : NULL, NULL };

	snprintf(ttl_text, sizeof(ttl_text), "%ld", ttl);
	snprintf(what, sizeof(what), "%s %.253s %s", args[0], name, args[2]);
	return hook_exec(p, args, what, hint, err);
}
