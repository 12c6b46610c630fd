/* The progress line and the syslog lines of a pass. */
#include "modules/passlog.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void cps_progress_draw(size_t done, size_t total, size_t failed, long long eta_ms, void *ud)
{
	const cps_progress *p = ud;
	double secs = since(&p->start);
	char bar[41];
	size_t fill = total ? done * 40 / total : 40;

	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu done, %zu failed, %.1f/s", bar, done, total, failed,
		secs > 0 ? (double)done / secs : 0.0);
	if (eta_ms >= 0 && done < total)
		fprintf(stderr, ", about %llds left ", (eta_ms + 999) / 1000);
	else
		fputs("                 ", stderr);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

void cps_passlog_syslog(const char *what, const cps_hk_result *r, double seconds)
{
	openlog("cpssl", LOG_PID, LOG_DAEMON);
	for (size_t i = 0; i < r->n; i++) {
		const cps_hk_row *row = &r->rows[i];
		int prio = strcmp(row->result, "renewed") == 0   ? LOG_INFO
			   : strcmp(row->result, "skipped") == 0 ? LOG_NOTICE
								 : LOG_ERR;

		syslog(prio, "%s: %s (%s): %s%s%s", what, row->site, row->names ? row->names : "",
		       row->result, row->detail ? ": " : "", row->detail ? row->detail : "");
	}
	syslog(r->failed ? LOG_WARNING : LOG_INFO,
	       "%s: %zu renewed, %zu failed, %zu skipped in %.1f s", what, r->renewed, r->failed,
	       r->skipped, seconds);
	closelog();
}
