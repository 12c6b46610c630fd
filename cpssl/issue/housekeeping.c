#include "cpssl/issue/housekeeping.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpssl/core/buildinfo.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"
#include "cpssl/core/window.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/deploy/notify.h"
#include "cpssl/deploy/reload.h"
#include "cpssl/deploy/storage.h"
#include "cpssl/issue/ari.h"
#include "cpssl/issue/failover.h"
#include "cpssl/issue/hk_jobs.h"
#include "cpssl/issue/session.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/server.h"
#include "cpssl/store/settings.h"
#include "cpssl/store/sites.h"
#include "cpssl/store/ssl_state.h"

#define JOB_TIMEOUT_MS (15 * 60 * 1000LL)
#define JOB_OUTPUT_MAX (64 * 1024)
#define POLL_MS 10

/* ---- what is due -------------------------------------------------------------- */

typedef struct collect {
	cps_store *st;
	const cps_settings *set;
	jobs *js;
	char boot[64];
	long long now;
	int rc;
} collect;

static int due_one(const cps_due_cert *c, void *ud)
{
	collect *col = ud;
	char site[32];
	cps_site s;
	cps_err e;

	if (c->site_id == 0) {
		if (hk_job_for(col->js, col->set, 0, "server", c->server, c->names, c->not_after) == NULL)
			return col->rc = -1;
		return 0;
	}
	snprintf(site, sizeof(site), "site%ld", c->site_id);
	if (cps_site_get(col->st, c->site_id, &s, &e) != 0) {
		if (e.code != CPS_E_NOTFOUND)
			return col->rc = -1;
		/* an orphan: the certificate outlived its site */
		hk_skip(col->js, c->site_id, site, c->names, c->not_after, "the site no longer exists");
		return 0;
	}
	if (hk_job_for(col->js, col->set, c->site_id, site, c->server, c->names, c->not_after) == NULL)
		return col->rc = -1;
	return 0;
}

/* An interim self-signed certificate (or, for the server, none at all):
 * ordered again at once on the first pass after a boot, then once the
 * backoff is over, at most bootstrap_attempts times a boot. */
static int fallback_one(const cps_due_cert *c, void *ud)
{
	collect *col = ud;
	long max = col->set->bootstrap_attempts, attempts;
	char site[32], why[256];
	cps_site s;
	cps_err e;
	int go;

	if (c->site_id == 0)
		snprintf(site, sizeof(site), "server");
	else
		snprintf(site, sizeof(site), "site%ld", c->site_id);
	if (c->site_id > 0 && cps_site_get(col->st, c->site_id, &s, &e) != 0) {
		if (e.code != CPS_E_NOTFOUND)
			return col->rc = -1;
		hk_skip(col->js, c->site_id, site, c->names, c->not_after, "the site no longer exists");
		return 0;
	}
	go = cps_ssl_bootstrap_try(col->st, c->site_id, col->boot, max, col->now, &attempts, &e);
	if (go < 0) {
		cps_warn("%s: %s", site, e.msg);
		return 0;
	}
	if (go == 0 && attempts >= max) {
		/* the server without any certificate is asked for by name */
		char next[160];

		if (c->server == NULL)
			snprintf(next, sizeof(next), "letsencrypt:request '[%.100s]'", c->names);
		else if (c->site_id)
			snprintf(next, sizeof(next), "-d %s letsencrypt:renew", site);
		else
			snprintf(next, sizeof(next), "letsencrypt:renew");
		snprintf(why, sizeof(why),
			 "%s in %ld attempt%s since boot (bootstrap_attempts); fix what "
			 "letsencrypt:status names, then run cpcmd %s (or wait for the next boot)",
			 c->server ? "its interim self-signed certificate was not replaced"
				   : "no certificate was obtained",
			 attempts, attempts == 1 ? "" : "s", next);
		hk_skip(col->js, c->site_id, site, c->names, c->not_after, why);
	}
	if (go == 1 && hk_request_job(col->js, c->site_id, site, c->names, c->not_after) == NULL)
		return col->rc = -1;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* reissue-all: the sites stored in DIR, whatever their window (once each
 * when several CAs' directories hold a site); a missing DIR is nothing to
 * do when MISSING_OK. */
static int collect_dir(cps_store *st, const cps_settings *set, const char *dir, bool missing_ok,
		       jobs *js, cps_err *err)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, not_dot, by_name), rc = 0;

	if (n < 0 && missing_ok && errno == ENOENT)
		return 0;
	if (n < 0)
		return cps_fail(err, CPS_E_NOTFOUND, "cannot list the certificate directory %s: %s",
				dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		cps_cert_row row;
		cps_site s;
		long id = 0;
		cps_err e;

		if (rc != 0 || (strcmp(name, "server") != 0 && cps_site_name_parse(name, &id, &e) != 0) ||
		    hk_queued(js, name)) {
			free(list[i]);
			continue; /* after an error, not a site's directory, or seen */
		}
		if (id > 0 && cps_site_get(st, id, &s, &e) != 0) {
			if (e.code != CPS_E_NOTFOUND)
				rc = cps_fail(err, e.code, "%s", e.msg);
			else if (hk_skip(js, id, name, "", 0, "the site no longer exists") == NULL)
				rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
		} else if (cps_cert_current(st, id, &row, &e) != 0) {
			rc = cps_fail(err, e.code, "%s", e.msg);
		} else {
			if (row.id == 0)
				hk_skip(js, id, name, "", 0, "no current certificate is recorded for it");
			else if (strcmp(row.server, CPS_ORIGIN_IMPORT) == 0)
				hk_skip(js, id, name, row.names, row.not_after,
					"its certificate was imported; it is not reissued by ACME");
			else if (hk_job_for(js, set, id, name, row.server, row.names, row.not_after) == NULL)
				rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
			cps_cert_row_free(&row);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* The server's own certificate when it has none yet, or an interim one:
 * for the names it should have now (hostname and additional_certs). */
static int collect_server(collect *col, cps_err *err)
{
	cps_cert_row row;
	char **names = NULL, *joined = NULL;
	size_t n = 0, len = 1;
	int rc = 0;

	if (cps_cert_current(col->st, 0, &row, err) != 0)
		return -1;
	if ((row.id == 0 || strcmp(row.server, CPS_ORIGIN_INTERIM) == 0) &&
	    cps_server_names(col->st, &col->set->names.additional_certs, &names, &n, err) == 0 &&
	    n > 0) {
		for (size_t i = 0; i < n; i++)
			len += strlen(names[i]) + 1;
		joined = calloc(1, len);
		for (size_t i = 0; joined && i < n; i++) {
			if (i)
				strcat(joined, ",");
			strcat(joined, names[i]);
		}
		if (joined == NULL)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
		else if (fallback_one(&(cps_due_cert){ .site_id = 0, .names = joined,
						       .server = row.id ? row.server : NULL,
						       .not_after = row.not_after }, col) != 0)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	free(joined);
	cps_strv_free(names, n);
	cps_cert_row_free(&row);
	return rc;
}

/* Sites' interim certificates (the server's is collect_server's). */
static int site_fallback(const cps_due_cert *c, void *ud)
{
	return c->site_id == 0 ? 0 : fallback_one(c, ud);
}

/* ---- pacing ------------------------------------------------------------------- */

static int by_expiry(const void *a, const void *b)
{
	const job *x = a, *y = b;

	/* waiting jobs first, soonest expiry first (no certificate yet: 0) */
	if ((x->state == JOB_WAITING) != (y->state == JOB_WAITING))
		return x->state == JOB_WAITING ? -1 : 1;
	return x->expires < y->expires ? -1 : x->expires > y->expires;
}

/* The waiting jobs beyond what the CA's order limit leaves (pacing.c)
 * wait for a later pass, those expiring first going first. */
static int pace(cps_store *st, const cps_settings *set, jobs *js, cps_err *err)
{
	size_t waiting = 0, let;
	char why[256];

	for (size_t i = 0; i < js->n; i++)
		waiting += js->v[i].state == JOB_WAITING;
	if (cps_pace(st, set, (long long)cps_now(), waiting, &let, why, sizeof(why), err) != 0)
		return -1;
	if (let >= waiting)
		return 0;
	qsort(js->v, js->n, sizeof(*js->v), by_expiry);
	for (size_t i = let; i < waiting; i++) {
		js->v[i].state = JOB_DONE;
		js->v[i].result = "skipped";
		js->v[i].detail = strdup(why);
	}
	return 0;
}

/* ---- running the renewals ------------------------------------------------------ */

static int start(job *j, const char *exe)
{
	char literal[4096];
	char *argv[6] = { (char *)exe };
	int a = 1;
	pid_t pid;

	j->out = memfd_create("cpssl-renewal", MFD_CLOEXEC);
	if (j->out < 0)
		return -1;
	if (j->site_id > 0) {
		argv[a++] = "-d";
		argv[a++] = j->site;
	}
	if (j->request) {
		snprintf(literal, sizeof(literal), "[%s]", j->names);
		argv[a++] = "letsencrypt:request";
		argv[a++] = literal;
	} else {
		argv[a++] = "letsencrypt:renew";
	}
	argv[a] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setenv(CPS_RELOAD_DEFER_ENV, "1", 1);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(j->out, STDOUT_FILENO);
		dup2(j->out, STDERR_FILENO);
		execv(exe, argv);
		_exit(127);
	}
	j->pid = pid;
	j->started = cps_monotonic_ms();
	j->state = JOB_RUNNING;
	return 0;
}

/* The first ERROR line of a worker's output, without its label. */
static char *first_error(int fd)
{
	char *buf = malloc(JOB_OUTPUT_MAX + 1), *line, *out = NULL;
	ssize_t n = buf ? pread(fd, buf, JOB_OUTPUT_MAX, 0) : -1;

	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "ERROR   : ", 10) == 0) {
			size_t len = strcspn(line + 10, "\n");

			out = strndup(line + 10, len);
			break;
		}
	}
	free(buf);
	return out;
}

static void notify(cps_store *st, const cps_settings *set, const job *j)
{
	char subject[96];

	snprintf(subject, sizeof(subject), "certificate renewal failed for %s", j->site);
	cps_notify_admin(st, &set->notify, j->site, subject,
			 "The certificate of %s (%s) could not be renewed:\n\n%s\n\n"
			 "It will be tried again later; see cpcmd%s%s letsencrypt:status.",
			 j->site, j->names, j->detail ? j->detail : "no detail",
			 j->site_id ? " -d " : "", j->site_id ? j->site : "");
}

static void finish(cps_store *st, const cps_settings *set, job *j, int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	cps_cert_row row;
	char when[32] = "";
	cps_err e;

	j->state = JOB_DONE;
	if (code == 0) {
		j->result = "renewed";
		if (cps_cert_current(st, j->site_id, &row, &e) == 0 && row.id) {
			struct tm tm;
			time_t t = (time_t)row.not_after;

			j->expires = row.not_after;
			free(j->names);
			j->names = strdup(row.names);
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		}
		cps_cert_row_free(&row);
		cps_info("%s: renewed (%s), expires %s", j->site, j->names ? j->names : "", when);
		return;
	}
	if (code == 3) {
		j->result = "skipped";
		j->detail = strdup("none of its names can be ordered any more");
		cps_warn("%s: %s", j->site, j->detail);
		return;
	}
	j->result = "failed";
	j->detail = first_error(j->out);
	if (j->detail == NULL && asprintf(&j->detail, "the renewal exited with status %d", code) < 0)
		j->detail = NULL;
	cps_error("%s: %s", j->site, j->detail ? j->detail : "failed");
	notify(st, set, j);
}

static void report_progress(const cps_hk_opts *opts, size_t done, size_t total,
			    size_t failed, long long elapsed_ms)
{
	if (opts->progress && opts->progress_cb)
		opts->progress_cb(done, total, failed,
				  done ? elapsed_ms * (long long)(total - done) / (long long)done : -1,
				  opts->progress_ud);
}

static int run_jobs(cps_store *st, const cps_settings *set, const cps_hk_opts *opts,
		    jobs *js, cps_err *err)
{
	long concurrency = set->concurrency;
	size_t next = 0, running = 0, done = 0, failed = 0, total = 0;
	long long t0 = cps_monotonic_ms();
	char exe[4096];

	if (cps_proc_self(exe, sizeof(exe)) != 0)
		return cps_fail(err, CPS_E_EXEC, "cannot find the program to run renewals with");
	for (size_t i = 0; i < js->n; i++)
		total += js->v[i].state == JOB_WAITING;
	report_progress(opts, 0, total, 0, 0);
	while (done < total) {
		while (running < (size_t)concurrency && next < js->n) {
			job *j = &js->v[next++];

			if (j->state != JOB_WAITING)
				continue;
			if (start(j, exe) != 0) {
				j->state = JOB_DONE;
				j->result = "failed";
				j->detail = strdup(strerror(errno));
				done++;
				failed++;
				continue;
			}
			running++;
		}
		for (size_t i = 0; i < js->n; i++) {
			job *j = &js->v[i];
			int status;
			pid_t r;

			if (j->state != JOB_RUNNING)
				continue;
			r = waitpid(j->pid, &status, WNOHANG);
			if (r == 0 && cps_monotonic_ms() - j->started > JOB_TIMEOUT_MS) {
				kill(j->pid, SIGKILL);
				r = waitpid(j->pid, &status, 0);
			}
			if (r != j->pid)
				continue;
			finish(st, set, j, status);
			running--;
			done++;
			failed += strcmp(j->result, "failed") == 0;
			report_progress(opts, done, total, failed, cps_monotonic_ms() - t0);
		}
		if (done < total)
			cps_sleep_ms(POLL_MS);
	}
	return 0;
}

/* ---- the pass ---------------------------------------------------------------- */

/* The rows of the result take over each job's names and detail. */
static int result_of(jobs *js, cps_hk_result *out, cps_err *err)
{
	out->rows = calloc(js->n ? js->n : 1, sizeof(*out->rows));
	if (out->rows == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < js->n; i++) {
		job *j = &js->v[i];
		cps_hk_row *r = &out->rows[out->n++];

		snprintf(r->site, sizeof(r->site), "%s", j->site);
		r->names = j->names;
		r->detail = j->detail;
		r->result = j->result ? j->result : "failed";
		r->expires = j->expires;
		j->names = j->detail = NULL;
		if (strcmp(r->result, "renewed") == 0)
			out->renewed++;
		else if (strcmp(r->result, "skipped") == 0)
			out->skipped++;
		else
			out->failed++;
	}
	return 0;
}

void cps_hk_result_free(cps_hk_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].names);
		free(r->rows[i].detail);
	}
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* Deployments a killed run left unfinished are finished first, from
 * storage: nothing is ordered for them. */
static void finish_deployments(cps_store *st, const cps_config *cfg, const cps_paths *paths)
{
	long *ids = NULL;
	size_t n = 0;
	cps_err e;

	if (cps_cert_undeployed_sites(st, &ids, &n, &e) != 0) {
		cps_warn("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		cps_site site = { .id = 0 };
		cps_settings set;

		if (ids[i] > 0 && cps_site_get(st, ids[i], &site, &e) != 0) {
			cps_warn("an unfinished deployment for site%ld, which no longer exists: %s",
				 ids[i], e.msg);
			continue;
		}
		/* each site's own settings (its hook, say) */
		if (cps_settings_resolve(cfg, st, ids[i], &set, &e) != 0) {
			cps_error("%s", e.msg);
			continue;
		}
		if (cps_deploy_resume(st, &set, paths, ids[i], ids[i] > 0 ? site.name : "server",
				      NULL, NULL, &e) < 0)
			cps_error("%s", e.msg);
		cps_settings_free(&set);
	}
	free(ids);
}

/* The ACME account first, so the workers do not all register at once; a
 * failure is a warning (each renewal will say what is wrong). *S: the
 * server's session, for the renewal information after it (NULL when none
 * could be opened). */
static int account_ready(cps_store *st, const cps_settings *set, const cps_paths *paths,
			 cps_session **s, cps_err *err)
{
	char *email = NULL;
	cps_err e;

	*s = NULL;
	if (cps_server_get(st, CPS_SERVER_EMAIL, &email, err) != 0)
		return -1;
	if (cps_session_open(st, set, paths, s, &e) != 0)
		cps_warn("the ACME account is not ready: %s", e.msg);
	else if (email == NULL)
		cps_warn("no administrator e-mail is set, so no ACME account can be registered "
			 "(cpcmd common:set-email ADDRESS)");
	else if (cps_failover_choose(*s, &e) != 0 || cps_session_account(*s, &e) != 0)
		cps_warn("the ACME account is not ready: %s", e.msg);
	free(email);
	return 0;
}

/* What the pass looks at: every site stored for the CA (reissue-all), or
 * what is due. */
static int collect_jobs(cps_store *st, const cps_settings *set, const cps_paths *paths,
			const cps_hk_opts *opts, jobs *js, cps_err *err)
{
	collect col = { .st = st, .set = set, .js = js, .now = (long long)cps_now() };
	char *dir;
	int rc;

	if (opts->everything && opts->dir)
		return collect_dir(st, set, opts->dir, false, js, err);
	if (opts->everything) { /* the CA's directory, then each fallback's */
		char name[256];

		if ((dir = cps_storage_ca_dir(paths, set->ca.dir_name)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		rc = collect_dir(st, set, dir, set->ca.fallbacks.n > 0, js, err);
		free(dir);
		for (size_t i = 0; rc == 0 && i < set->ca.fallbacks.n; i++) {
			if (cps_server_dirname(set->ca.fallbacks.v[i], name, sizeof(name), err) != 0)
				return -1;
			if ((dir = cps_storage_ca_dir(paths, name)) == NULL)
				return cps_fail(err, CPS_E_NOMEM, "out of memory");
			rc = collect_dir(st, set, dir, true, js, err);
			free(dir);
		}
		return rc;
	}
	cps_boot_id(col.boot, sizeof(col.boot));
	if (collect_server(&col, err) != 0 ||
	    cps_cert_fallbacks(st, site_fallback, &col, err) != 0 ||
	    cps_cert_due(st, col.now, &set->window, false, due_one, &col, err) != 0)
		return -1;
	return col.rc;
}

int cps_housekeeping(cps_store *st, const cps_config *cfg, const cps_settings *set,
		     const cps_paths *paths, const cps_hk_opts *opts,
		     cps_hk_result *out, cps_err *err)
{
	jobs js = { 0 };
	size_t warned;
	char stale[512];
	cps_session *s = NULL;
	cps_err e;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (cps_build_stale(stale, sizeof(stale)))
		cps_warn("%s", stale);
	if (account_ready(st, set, paths, &s, err) != 0)
		return -1;
	finish_deployments(st, cfg, paths);
	/* the CA's windows first: they decide what is due */
	if (s && !opts->everything)
		cps_failover_ari_refresh(s, (long long)cps_now());
	cps_session_free(s);
	if (collect_jobs(st, set, paths, opts, &js, err) != 0 || pace(st, set, &js, err) != 0 ||
	    run_jobs(st, set, opts, &js, err) != 0)
		goto out;
	/* one reload per service for everything the pass deployed */
	if (cps_reload_flush(st, set, paths, &e) != 0)
		cps_error("%s", e.msg);
	if (!opts->everything && cps_expiry_warnings(st, set, (long long)cps_now(), &warned, &e) != 0)
		cps_error("%s", e.msg);
	rc = result_of(&js, out, err);
out:
	hk_jobs_free(&js);
	return rc;
}
