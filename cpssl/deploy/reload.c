#include "cpssl/deploy/reload.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/deploy/notify.h"
#include "cpssl/store/reloads.h"
#include "cpssl/store/settings.h"

#define COMMAND_TIMEOUT_S 120
#define OUTPUT_MAX (16 * 1024)
#define WAITER_SLACK_S 600     /* beyond the longest delay, then it gives up */

static const char *const service_names[CPS_SVC__COUNT] = {
	[CPS_SVC_APACHE] = "apache",
	[CPS_SVC_HAPROXY] = "haproxy",
};

const char *cps_service_name(cps_service svc)
{
	return (unsigned)svc < CPS_SVC__COUNT ? service_names[svc] : "?";
}

int cps_service_parse(const char *name, cps_service *out)
{
	for (int i = 0; i < CPS_SVC__COUNT; i++)
		if (strcmp(service_names[i], name) == 0) {
			*out = (cps_service)i;
			return 0;
		}
	return -1;
}

/* ARGV joined with spaces, for messages. */
static void command_text(char *const *argv, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; argv[i]; i++) {
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, "%s%s", i ? " " : "", argv[i]);
	}
}

/* Run one configured command; 0 when it ran and exited 0. */
static int run_command(const char *what, char *const *argv, char *detail,
		       size_t len, cps_err *err)
{
	cps_proc_result r;
	char command[512];
	int rc = -1;

	command_text(argv, command, sizeof(command));
	if (cps_proc_run(argv, NULL, COMMAND_TIMEOUT_S, OUTPUT_MAX, &r, err) != 0) {
		snprintf(detail, len, "%s", err->msg);
		return cps_err_prefix(err, "%s", what);
	}
	snprintf(detail, len, "%s", r.output ? r.output : "");
	/* one line for the log */
	for (char *c = detail; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (r.timed_out)
		cps_fail(err, CPS_E_EXEC, "%s (%s) did not finish within %d s", what, command,
			 COMMAND_TIMEOUT_S);
	else if (r.exit_status != 0)
		cps_fail(err, CPS_E_EXEC, "%s (%s) failed with exit status %d: %s", what, command,
			 r.exit_status, detail[0] ? detail : "no output");
	else
		rc = 0;
	cps_proc_result_free(&r);
	return rc;
}

/* Apache's configuration test failed: restore the sites whose files are
 * broken and test again. true when it passes now. */
static bool repaired(cps_store *st, const cps_settings *set, const cps_paths *paths,
		     char *const *test, char *detail, size_t len, cps_err *err)
{
	char sites[512] = "";
	cps_err e;
	int n = cps_deploy_repair_apache(st, set, paths, sites, sizeof(sites), &e);

	if (n < 0) {
		cps_warn("checking the sites' Apache files: %s", e.msg);
		return false;
	}
	if (n == 0) {
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			 " (no site's certificate files were found broken)");
		return false;
	}
	if (run_command("the configuration test", test, detail, len, err) != 0) {
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			 " (even after %s's certificate files were restored from storage)", sites);
		return false;
	}
	cps_warn("the Apache configuration test failed because of %s's certificate files, which are "
		 "restored from storage; reloading", sites);
	cps_notify_admin(st, &set->notify, sites, "certificate files restored",
			 "The Apache configuration test failed because the certificate files of %s were "
			 "broken (changed by someone other than cpssl). They are restored from cpssl's "
			 "storage and the web server reloaded.", sites);
	return true;
}

int cps_reload_now(cps_store *st, const cps_settings *set, const cps_paths *paths,
		   cps_service svc, cps_err *err)
{
	const cps_reload_settings *rs = &set->reload;
	const char *service = cps_service_name(svc);
	char *const *test = rs->configtest[svc], *const *reload = rs->reload[svc];
	char detail[2048] = "", msg[sizeof(err->msg) + 64];
	long long now = (long long)cps_now();
	cps_err e;
	int rc;

	if (reload == NULL) {
		cps_info("no reload command is configured for %s; reload it yourself", service);
		return cps_reload_log(st, service, now, 1, "no reload command configured", err);
	}
	if (test && run_command("the configuration test", test, detail, sizeof(detail), err) != 0 &&
	    !(svc == CPS_SVC_APACHE && repaired(st, set, paths, test, detail, sizeof(detail), err))) {
		cps_error("%s: %s; not reloading, the previous certificates stay in service",
			  service, err->msg);
		snprintf(msg, sizeof(msg), "%s", err->msg);
		cps_reload_log(st, service, now, 0, msg, &e);
		cps_notify_admin(st, &set->notify, service, "the web server was not reloaded",
				 "The configuration test failed, so %s was not reloaded and the "
				 "certificates deployed since are not served yet:\n\n%s", service, msg);
		return -1;
	}
	CPS_FAULT("reload-before-command");
	rc = run_command("the reload", reload, detail, sizeof(detail), err);
	if (rc != 0) {
		cps_error("%s: %s", service, err->msg);
		snprintf(msg, sizeof(msg), "%s", err->msg);
		cps_reload_log(st, service, now, 0, msg, &e);
		return -1;
	}
	cps_info("reloaded %s", service);
	return cps_reload_log(st, service, now, 1, "reloaded", err);
}

/* ---- the waiter ---------------------------------------------------------- */

static void file_sink(cps_level level, const char *msg, void *ud)
{
	char when[CPS_ISO_TIME_LEN];

	(void)ud;
	fprintf(stderr, "%s %s[%ld] %s: %s\n", cps_time_iso(time(NULL), when), "reload", (long)getpid(),
		cps_level_name(level), msg);
	fflush(stderr);
}

static char *storage_file(const cps_paths *paths, const char *rel)
{
	return cps_path_join(paths->storage, rel);
}

static int lock_take(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The holder's PID in the lock file, for an administrator (or a test) who
 * wants to know which process waits. */
static void lock_note_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n)
		fsync(fd);
}

/* Fire what is due; returns seconds until the next one (-1: none left). */
static long fire_due(cps_store *st, const cps_settings *set, const cps_paths *paths)
{
	const cps_reload_settings *rs = &set->reload;
	cps_reload_row *rows = NULL;
	size_t n = 0;
	long next = -1;
	long long now = (long long)cps_now();
	cps_err err;

	if (cps_reload_pending(st, &rows, &n, &err) != 0) {
		cps_error("%s", err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		cps_service svc;

		if (rows[i].due <= now) {
			cps_debug("%s reload due (%ld deployments)", rows[i].service, rows[i].deployments);
			if (cps_service_parse(rows[i].service, &svc) == 0)
				cps_reload_now(st, set, paths, svc, &err);
			else
				cps_error("a reload of an unknown service '%s' is pending; dropping it",
					  rows[i].service);
			if (cps_reload_done(st, rows[i].service, rows[i].generation,
					    (long long)cps_now(), rs->delay, &err) != 0)
				cps_error("%s", err.msg);
			next = 0; /* look again: a deployment may have asked meanwhile */
		} else if (next < 0 || rows[i].due - now < next) {
			next = (long)(rows[i].due - now);
		}
	}
	cps_reload_rows_free(rows, n);
	return next;
}

int cps_reload_waiter(const cps_paths *paths)
{
	char *lockpath = storage_file(paths, "reload.lock");
	char *logdir = storage_file(paths, "logs"), *logpath = NULL;
	long long give_up;
	cps_config *cfg = NULL;
	cps_settings set = { 0 };
	cps_store *st = NULL;
	cps_err err;
	int lock = -1, fd, rc = 1;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	if (logdir && cps_fs_mkdir_p(logdir, 0700, NULL) == 0 &&
	    (logpath = cps_path_join(logdir, "reload.log")) != NULL &&
	    (fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	cps_log_set_sink(file_sink, NULL);
	if (lockpath == NULL || (lock = lock_take(lockpath)) < 0) {
		rc = 0; /* another waiter is on it */
		goto out;
	}
	lock_note_pid(lock);
	if (cps_config_load(paths->config, &cfg, &err) != 0 ||
	    cps_store_open(paths->db, &st, &err) != 0 ||
	    cps_settings_resolve(cfg, st, 0, &set, &err) != 0) {
		cps_error("%s", err.msg);
		goto out;
	}
	give_up = cps_monotonic_ms() + (86400LL + WAITER_SLACK_S) * 1000;
	while (cps_monotonic_ms() < give_up) {
		struct stat sb;
		long next;

		if (stat(paths->storage, &sb) != 0) {
			cps_warn("%s is gone; the reload waiter stops", paths->storage);
			break;
		}
		next = fire_due(st, &set, paths);
		if (next < 0) {
			/* nothing left: let go, then look once more, so a request that
			 * arrived while we held the lock is not stranded */
			flock(lock, LOCK_UN);
			if (fire_due(st, &set, paths) < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0)
				break;
			lock_note_pid(lock);
			continue;
		}
		cps_sleep_ms(next > 1 ? 1000 : next * 1000);
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	cps_settings_free(&set);
	cps_store_close(st);
	cps_config_free(cfg);
	free(lockpath);
	free(logdir);
	free(logpath);
	return rc;
}

/* Double fork and exec: the waiter is a fresh process (no SQLite state
 * carried across fork), in its own session, with no parent waiting on it. */
static int spawn_waiter(const cps_paths *paths, cps_err *err)
{
	char exe[4096];
	pid_t pid;
	int status;

	if (cps_proc_self(exe, sizeof(exe)) != 0)
		return cps_fail(err, CPS_E_EXEC, "cannot find the program to run the reload waiter");
	pid = fork();
	if (pid < 0)
		return cps_fail(err, CPS_E_EXEC, "cannot start the reload waiter: %s", strerror(errno));
	if (pid == 0) {
		char *argv[] = { exe, (char *)CPS_RELOAD_WAITER_ARG, NULL };

		setsid();
		if (fork() == 0) {
			close_range(3, ~0U, 0);
			signal(SIGHUP, SIG_IGN);
			if (paths->home)
				setenv("CPSSL_HOME", paths->home, 1);
			else
				unsetenv("CPSSL_HOME"); /* the built-in layout */
			execv(exe, argv);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* Start a waiter unless one is running (it holds the lock). */
static int ensure_waiter(const cps_paths *paths, cps_err *err)
{
	char *lockpath = storage_file(paths, "reload.lock");
	int fd;

	if (lockpath == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	fd = lock_take(lockpath);
	free(lockpath);
	if (fd < 0)
		return 0; /* a waiter runs and will see the request */
	close(fd);
	return spawn_waiter(paths, err);
}

static bool deferred(void)
{
	const char *d = getenv(CPS_RELOAD_DEFER_ENV);

	return d && *d && strcmp(d, "0") != 0;
}

int cps_reload_schedule(cps_store *st, const cps_settings *set,
			const cps_paths *paths, cps_service svc, cps_err *err)
{
	const cps_reload_settings *rs = &set->reload;
	const char *service = cps_service_name(svc);
	long long now = (long long)cps_now(), due;

	if (deferred()) {
		/* part of a pass: whoever runs the pass reloads once at its end */
		cps_debug("the %s reload is left to the end of the pass", service);
		return cps_reload_request(st, service, now, rs->delay, &due, err);
	}
	if (rs->delay == 0)
		return cps_reload_now(st, set, paths, svc, err);
	if (cps_reload_request(st, service, now, rs->delay, &due, err) != 0)
		return -1;
	if (svc == CPS_SVC_APACHE) {
		if (due - now == rs->delay)
			cps_info("reloading web server in %s, stay tuned!", rs->delay_text);
		else
			cps_info("reloading web server in %lld seconds, stay tuned!",
				 due > now ? due - now : 0);
	}
	return ensure_waiter(paths, err);
}

int cps_reload_overdue(cps_store *st, const cps_paths *paths, cps_err *err)
{
	int due;

	if (deferred())
		return 0;
	if (cps_reload_any_due(st, (long long)cps_now(), &due, err) != 0)
		return -1;
	return due ? ensure_waiter(paths, err) : 0;
}

int cps_reload_flush(cps_store *st, const cps_settings *set, const cps_paths *paths,
		     cps_err *err)
{
	const cps_reload_settings *rs = &set->reload;
	cps_reload_row *rows = NULL;
	size_t n = 0;
	int rc = 0;

	if (cps_reload_pending(st, &rows, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cps_service svc;
		cps_err e;

		/* done either way: a failed configtest is reported, not retried
		 * until the next deployment asks again */
		if (cps_service_parse(rows[i].service, &svc) == 0 &&
		    cps_reload_now(st, set, paths, svc, &e) != 0) {
			*err = e;
			rc = -1;
		}
		if (cps_reload_done(st, rows[i].service, rows[i].generation,
				    (long long)cps_now(), rs->delay, &e) != 0) {
			*err = e;
			rc = -1;
		}
	}
	cps_reload_rows_free(rows, n);
	return rc;
}
