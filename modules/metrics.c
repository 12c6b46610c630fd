/* cpssl.prom: what the housekeeping pass knows, in Prometheus's text
 * exposition format, for node_exporter's textfile collector. */
#include "modules/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/paths.h"
#include "cpssl/store/sites.h"
#include "modules/status.h"

#define METRICS_FILE "cpssl.prom"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *name, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The families, each written in one block as the format requires. */
enum family { F_INFO, F_EXPIRY, F_RENEWED, F_FAILURES, F_NEXT, F__COUNT };

static const struct {
	const char *name, *help;
} families[F__COUNT] = {
	[F_INFO] = { "cpssl_certificate_info",
		     "The current certificate of a site (or the server): its names, issuer and "
		     "where it came from (an ACME directory, import or self-signed)." },
	[F_EXPIRY] = { "cpssl_certificate_expiry_timestamp_seconds",
		       "When the current certificate expires (notAfter), Unix time." },
	[F_RENEWED] = { "cpssl_certificate_last_renewal_timestamp_seconds",
			"When a certificate was last obtained for it, Unix time." },
	[F_FAILURES] = { "cpssl_certificate_failures",
			 "Consecutive failed attempts since the last success." },
	[F_NEXT] = { "cpssl_certificate_next_attempt_timestamp_seconds",
		     "When the housekeeping pass next orders its certificate (the renewal "
		     "window or the end of a backoff), Unix time; absent when never by itself." },
};

typedef struct walk {
	const cps_ctx *ctx;
	FILE *fam[F__COUNT]; /* one memory stream per family */
	char *text[F__COUNT];
	size_t len[F__COUNT];
	char boot[64];
	time_t now;
	cps_err *err;
} walk;

static void sample(walk *w, enum family fam, const char *site, long long value)
{
	fputs(families[fam].name, w->fam[fam]);
	fputc('{', w->fam[fam]);
	label(w->fam[fam], "site", site, true);
	fprintf(w->fam[fam], "} %lld\n", value);
}

static int one(walk *w, long id, const char *site, const char *domain)
{
	cps_status_facts f;
	const cps_cert_row *r = &f.row;

	if (cps_status_facts_get(w->ctx->store, &w->ctx->set, id, w->boot, w->now, &f, w->err) != 0)
		return -1;
	if (r->id) {
		FILE *o = w->fam[F_INFO];

		fputs(families[F_INFO].name, o);
		fputc('{', o);
		label(o, "site", site, true);
		label(o, "domain", domain, false);
		label(o, "names", r->names, false);
		label(o, "issuer", r->issuer, false);
		label(o, "ca", r->server, false);
		label(o, "profile", r->profile, false);
		fputs("} 1\n", o);
		sample(w, F_EXPIRY, site, r->not_after);
	}
	if (f.ss.last_success)
		sample(w, F_RENEWED, site, f.ss.last_success);
	sample(w, F_FAILURES, site, f.ss.failures);
	if (f.next)
		sample(w, F_NEXT, site, (long long)f.next);
	cps_status_facts_free(&f);
	return 0;
}

static int one_site(const cps_site *s, void *ud)
{
	return one(ud, s->id, s->name, s->domain);
}

static void pass_metrics(FILE *f, const cps_hk_result *r, time_t started, double seconds)
{
	static const char *const results[] = { "renewed", "failed", "skipped" };
	const size_t counts[] = { r->renewed, r->failed, r->skipped };

	fputs("# HELP cpssl_housekeeping_last_run_timestamp_seconds When the last housekeeping "
	      "pass started, Unix time.\n"
	      "# TYPE cpssl_housekeeping_last_run_timestamp_seconds gauge\n", f);
	fprintf(f, "cpssl_housekeeping_last_run_timestamp_seconds %lld\n", (long long)started);
	fputs("# HELP cpssl_housekeeping_duration_seconds How long the last housekeeping pass "
	      "took.\n"
	      "# TYPE cpssl_housekeeping_duration_seconds gauge\n", f);
	fprintf(f, "cpssl_housekeeping_duration_seconds %.3f\n", seconds);
	fputs("# HELP cpssl_housekeeping_certificates Certificates the last housekeeping pass "
	      "renewed, failed to renew or skipped.\n"
	      "# TYPE cpssl_housekeeping_certificates gauge\n", f);
	for (size_t i = 0; i < 3; i++)
		fprintf(f, "cpssl_housekeeping_certificates{result=\"%s\"} %zu\n", results[i],
			counts[i]);
}

/* The whole file's text; NULL with ERR. */
static char *render(const cps_ctx *ctx, const cps_hk_result *r, time_t started,
		    double seconds, cps_err *err)
{
	walk w = { .ctx = ctx, .now = cps_now(), .err = err };
	char *out = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc = 0;

	cps_boot_id(w.boot, sizeof(w.boot));
	for (int i = 0; i < F__COUNT; i++)
		if ((w.fam[i] = open_memstream(&w.text[i], &w.len[i])) == NULL)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc == 0)
		rc = one(&w, 0, "server", NULL);
	if (rc == 0)
		rc = cps_site_foreach(ctx->store, one_site, &w, err);
	for (int i = 0; i < F__COUNT; i++)
		if (w.fam[i] && fclose(w.fam[i]) != 0 && rc == 0)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc == 0 && (f = open_memstream(&out, &len)) == NULL)
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc == 0) {
		for (int i = 0; i < F__COUNT; i++) {
			if (w.len[i] == 0)
				continue;
			fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", families[i].name,
				families[i].help, families[i].name);
			fwrite(w.text[i], 1, w.len[i], f);
		}
		pass_metrics(f, r, started, seconds);
		if (fclose(f) != 0) {
			free(out);
			out = NULL;
			cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
	}
	for (int i = 0; i < F__COUNT; i++)
		free(w.text[i]);
	return rc == 0 ? out : NULL;
}

int cps_metrics_write(const cps_ctx *ctx, const cps_hk_result *r, time_t started,
		      double seconds, cps_err *err)
{
	const cps_layout *l = &ctx->set.layout;
	struct stat sb;
	char *path, *text;
	int rc;

	if (!l->metrics)
		return 0;
	if (stat(l->metrics_root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		cps_debug("no metrics written: %s is not a directory ([cpssl] metrics_dir; "
			  "node_exporter's textfile collector)", l->metrics_root);
		return 0;
	}
	if ((path = cps_path_join(l->metrics_root, METRICS_FILE)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if ((text = render(ctx, r, started, seconds, err)) == NULL) {
		free(path);
		return -1;
	}
	rc = cps_fs_write_atomic(path, text, strlen(text), 0644, err);
	if (rc != 0)
		cps_err_prefix(err, "cannot write the metrics file %s", path);
	else
		cps_debug("metrics written to %s", path);
	free(text);
	free(path);
	return rc;
}
