#include "cpssl/core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/core/walk.h"


#define KILL_GRACE_MS  2000 /* SIGTERM, then SIGKILL this much later */
#define GIVE_UP_MS     1000 /* after SIGKILL: stop reading a pipe someone still holds */
#define DRAIN_MS       500  /* after the exit: read what is left in the pipe */
#define TICK_MS        20   /* without a pidfd, look for the exit this often */
#define OUT_START      4096

static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* The environment every program cpssl runs starts from: nothing inherited
 * (neither the caller's secrets nor a relative PATH), an absolute PATH. */
static const char *const base_env[] = {
	"PATH=" CPS_PROC_PATH,
	"LANG=C.UTF-8",
};
#define NBASE (sizeof(base_env) / sizeof(base_env[0]))

/* "HOME=" the home of the user cpssl runs as (root's: /root). */
static const char *home_entry(void)
{
	static char buf[PATH_MAX + 8];
	struct passwd *pw = getpwuid(geteuid());

	snprintf(buf, sizeof(buf), "HOME=%s", pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	return buf;
}

/* The child's environment: the base, HOME, and ENV_EXTRA added or replacing
 * entries of the same name. Built before fork so the child does not
 * allocate. */
static char **build_env(char *const env_extra[], cps_err *err)
{
	const char *base[NBASE + 1];
	size_t m = 0, k = 0;
	char **env;

	memcpy(base, base_env, sizeof(base_env));
	base[NBASE] = home_entry();
	for (; env_extra && env_extra[m]; m++) {
		const char *eq = strchr(env_extra[m], '=');

		if (eq == NULL || eq == env_extra[m]) {
			cps_fail(err, CPS_E_INTERNAL,
				 "environment entry '%.64s' is not NAME=value",
				 env_extra[m]);
			return NULL;
		}
	}
	env = calloc(NBASE + 1 + m + 1, sizeof(*env));
	if (env == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t b = 0; b < NBASE + 1; b++) {
		size_t len = env_name_len(base[b]);
		bool replaced = false;

		for (size_t i = 0; i < m && !replaced; i++)
			replaced = env_name_len(env_extra[i]) == len &&
				   strncmp(env_extra[i], base[b], len) == 0;
		if (!replaced)
			env[k++] = (char *)base[b];
	}
	for (size_t i = 0; i < m; i++)
		env[k++] = env_extra[i];
	env[k] = NULL;
	return env;
}

/* Whether root may run PATH: the file it resolves to, and every directory
 * above that, owned by root (or the user cpssl runs as) and writable by no
 * one else (core/walk.h), so no other user can change what runs. *REAL gets
 * the resolved path, which is what is executed. */
static int trusted_program(const char *path, char **real, cps_err *err)
{
	char *r = realpath(path, NULL), *slash;
	struct stat st;
	int fd, rc = -1;

	*real = NULL;
	if (r == NULL)
		return cps_fail(err, CPS_E_EXEC, "cannot run %.200s: %s", path, strerror(errno));
	slash = strrchr(r, '/');
	*slash = '\0';
	if (cps_walk_open(*r ? r : "/", CPS_WALK_TRUSTED, 0, &fd, err) == 0) {
		if (fstatat(fd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			cps_fail(err, CPS_E_EXEC, "%s/%s is not a regular file", r, slash + 1);
		else if (st.st_uid != 0 && st.st_uid != geteuid())
			cps_fail(err, CPS_E_PERM, "%s/%s is owned by uid %lu, not by root", r, slash + 1,
				 (unsigned long)st.st_uid);
		else if (st.st_mode & 022)
			cps_fail(err, CPS_E_PERM, "%s/%s is writable by group or others (mode %04o)", r,
				 slash + 1, (unsigned)(st.st_mode & 07777));
		else
			rc = 0;
		close(fd);
	}
	*slash = '/';
	if (rc != 0) {
		free(r);
		return cps_err_prefix(err, "refusing to run %.200s", path);
	}
	*real = r;
	return 0;
}

static const char *env_get(char *const env[], const char *name)
{
	size_t len = strlen(name);

	for (; *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* Find NAME in the child's PATH, as execvp would, but before fork. Empty and
 * relative PATH entries (the current directory) are skipped on purpose. Returns a
 * fresh path, or NULL with errno ENOENT/EACCES/ENOMEM. */
static char *path_search(const char *name, char *const env[])
{
	const char *path = env_get(env, "PATH"), *p, *colon;
	int saved = ENOENT;

	if (path == NULL)
		path = CPS_PROC_PATH;
	for (p = path; *p; p = *colon ? colon + 1 : colon) {
		size_t dlen;
		char *full;
		struct stat st;

		colon = strchrnul(p, ':');
		dlen = (size_t)(colon - p);
		if (dlen == 0 || *p != '/')
			continue; /* the current directory, or relative to it */
		if (asprintf(&full, "%.*s/%s", (int)dlen, p, name) < 0) {
			errno = ENOMEM;
			return NULL;
		}
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(full, X_OK) == 0)
				return full;
			saved = EACCES;
		}
		free(full);
	}
	errno = saved;
	return NULL;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child(const char *path, char *const argv[], char *const env[],
		  int devnull, int out, int status)
{
	struct sigaction dfl;
	sigset_t none;
	int e;

	setpgid(0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* ignored signals survive exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	/* descriptors someone opened without O_CLOEXEC must not leak either */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (chdir("/") != 0) /* not in whatever directory cpcmd was started */
		goto fail;
	execve(path, argv, env);
fail:
	e = errno;
	while (write(status, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* A parent started with 0, 1 or 2 closed gets them back from pipe2/open;
 * move such descriptors up so the dup2 calls in the child cannot clobber
 * one another or leave a close-on-exec flag on the child's stdio. */
static int lift(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int wait_child(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r == pid ? 0 : -1;
}

/* Keep the first MAX bytes of the output; read and drop the rest so the
 * child never blocks on a full pipe. Returns 0 on EOF, 1 to go on. */
static int read_output(int fd, cps_proc_result *res, size_t *cap, size_t max)
{
	char scratch[4096];

	for (;;) {
		char *dst = scratch;
		size_t room = sizeof(scratch);
		ssize_t n;

		if (res->output_len < max) {
			if (res->output_len == *cap) {
				size_t ncap = *cap * 2 > max ? max : *cap * 2;
				char *p = realloc(res->output, ncap + 1);

				if (p == NULL)
					return -1;
				res->output = p;
				*cap = ncap;
			}
			dst = res->output + res->output_len;
			room = *cap - res->output_len;
		}
		n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return 0;
		if (dst == scratch)
			res->truncated = true;
		else
			res->output_len += (size_t)n;
		if ((size_t)n < room)
			return 1;
	}
}

/* A program that cannot be started (not found, not executable) is an error
 * (-1, "cannot run PROG: REASON"), detected through a close-on-exec status
 * pipe, rather than an exit status 127 a caller could mistake for the
 * program's own. */
/* stdin from a sealed-off memory file holding INPUT (or /dev/null). */
static int stdin_fd(const char *input, size_t len)
{
	int fd;

	if (input == NULL)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = memfd_create("cpssl-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, input + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int cps_proc_run(char *const argv[], char *const env_extra[], int timeout_s,
		 size_t max_output, cps_proc_result *res, cps_err *err)
{
	return cps_proc_run_input(argv, env_extra, NULL, 0, timeout_s, max_output, res, err);
}

/* A child being run: its process, the pipe of its output, and the clock. */
typedef struct running {
	const char *what;       /* argv[0], for messages */
	const char *path;       /* the program */
	pid_t pid;
	int out, pidfd;         /* the output pipe; a pidfd (-1 without) */
	int timeout_s;
	size_t cap, max_output; /* of res->output */
	int status;
	bool exited;
} running;

/* Start PATH with ARGV and ENV, its output into a pipe and INPUT (or
 * /dev/null) as stdin, in a process group of its own. 0 once the exec has
 * succeeded; the fds made here are closed either way. */
static int spawn(running *c, char *const argv[], char *const env[], const char *input,
		 size_t input_len, cps_err *err)
{
	int outp[2] = { -1, -1 }, statp[2] = { -1, -1 }, in = -1, e = 0, rc = -1;
	ssize_t n;

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(statp, O_CLOEXEC) < 0 ||
	    (in = stdin_fd(input, input_len)) < 0 ||
	    lift(&outp[0]) < 0 || lift(&outp[1]) < 0 || lift(&statp[0]) < 0 ||
	    lift(&statp[1]) < 0 || lift(&in) < 0) {
		cps_fail(err, CPS_E_EXEC, "cannot run %.200s: %s", c->what, strerror(errno));
		goto out;
	}
	cps_debug("running %s", c->path);
	c->pid = fork();
	if (c->pid < 0) {
		cps_fail(err, CPS_E_EXEC, "cannot run %.200s: fork: %s", c->what, strerror(errno));
		goto out;
	}
	if (c->pid == 0)
		child(c->path, argv, env, in, outp[1], statp[1]);
	setpgid(c->pid, c->pid); /* also here: no race with a kill */
	/* EOF: exec succeeded and closed the pipe; an int: exec failed */
	close(statp[1]);
	statp[1] = -1;
	do
		n = read(statp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		wait_child(c->pid, &c->status);
		cps_fail(err, CPS_E_EXEC, "cannot run %.200s: %s", c->what, strerror(e));
		goto out;
	}
	c->out = outp[0];
	outp[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (statp[i] >= 0)
			close(statp[i]);
	}
	if (in >= 0)
		close(in);
	return rc;
}

/* Read the child's output until it has exited and the pipe is drained,
 * within its time: SIGTERM to its group at the deadline, SIGKILL
 * KILL_GRACE_MS later; a pipe someone else still holds is read at most
 * DRAIN_MS after the exit, GIVE_UP_MS after the SIGKILL. */
static int supervise(running *c, cps_proc_result *res, cps_err *err)
{
	int64_t deadline = cps_monotonic_ms() + (int64_t)c->timeout_s * 1000;
	int64_t kill_at = 0, give_up = 0, drain_until = 0;
	bool eof = false;

	c->pidfd = (int)pidfd_open(c->pid, 0);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	while (!(c->exited && eof)) {
		struct pollfd pfd[2];
		int64_t t = cps_monotonic_ms(), next;
		nfds_t np = 0;

		if (!c->exited && !res->timed_out && t >= deadline) {
			cps_debug("%s ran out of time (%d s): SIGTERM", c->path, c->timeout_s);
			kill(-c->pid, SIGTERM);
			res->timed_out = true;
			kill_at = t + KILL_GRACE_MS;
		}
		if (kill_at && t >= kill_at) {
			kill(-c->pid, SIGKILL);
			kill_at = 0;
			give_up = t + GIVE_UP_MS;
		}
		if ((give_up && t >= give_up) || (c->exited && t >= drain_until))
			break;
		next = c->exited ? drain_until : give_up ? give_up : kill_at ? kill_at : deadline;
		if (!c->exited && c->pidfd < 0 && next > t + TICK_MS)
			next = t + TICK_MS;
		if (!eof)
			pfd[np++] = (struct pollfd){ .fd = c->out, .events = POLLIN };
		if (!c->exited && c->pidfd >= 0)
			pfd[np++] = (struct pollfd){ .fd = c->pidfd, .events = POLLIN };
		if (poll(pfd, np, (int)(next - t)) < 0 && errno != EINTR)
			return cps_fail(err, CPS_E_EXEC, "waiting for %.200s: %s", c->what,
					strerror(errno));
		if (!eof) {
			int r = read_output(c->out, res, &c->cap, c->max_output);

			if (r < 0)
				return cps_fail(err, CPS_E_NOMEM, "out of memory");
			eof = r == 0;
		}
		if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
			c->exited = true;
			drain_until = cps_monotonic_ms() + DRAIN_MS;
		}
	}
	if (give_up && !c->exited)
		kill(-c->pid, SIGKILL); /* the wait below must end */
	return 0;
}

int cps_proc_run_input(char *const argv[], char *const env_extra[],
		       const char *input, size_t input_len, int timeout_s,
		       size_t max_output, cps_proc_result *res, cps_err *err)
{
	running c = { .out = -1, .pidfd = -1, .timeout_s = timeout_s, .max_output = max_output };
	char **env = NULL, *path = NULL, *real = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return cps_fail(err, CPS_E_INTERNAL, "no program to run");
	if (timeout_s <= 0)
		return cps_fail(err, CPS_E_INTERNAL,
				"running %.200s needs a time limit", argv[0]);
	c.what = argv[0];
	c.cap = max_output < OUT_START ? max_output : OUT_START;
	res->output = malloc(c.cap + 1);
	env = build_env(env_extra, err);
	if (res->output == NULL || env == NULL) {
		if (env != NULL)
			cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (strchr(argv[0], '/') != NULL) {
		path = strdup(argv[0]);
	} else if ((path = path_search(argv[0], env)) == NULL) {
		cps_fail(err, CPS_E_EXEC, "cannot run %.200s: %s (searched PATH)",
			 argv[0], strerror(errno));
		goto out;
	}
	if (path == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (trusted_program(path, &real, err) != 0)
		goto out;
	c.path = real;
	if (spawn(&c, argv, env, input, input_len, err) != 0)
		goto out;
	if (supervise(&c, res, err) != 0) {
		if (!c.exited) {
			kill(-c.pid, SIGKILL); /* the wait below must end */
			wait_child(c.pid, &c.status);
		}
		goto out;
	}
	if (!c.exited && wait_child(c.pid, &c.status) < 0) {
		cps_fail(err, CPS_E_EXEC, "waiting for %.200s: %s", argv[0], strerror(errno));
		goto out;
	}
	if (WIFEXITED(c.status))
		res->exit_status = WEXITSTATUS(c.status);
	else if (WIFSIGNALED(c.status))
		res->exit_status = 128 + WTERMSIG(c.status);
	res->output[res->output_len] = '\0';
	rc = 0;
out:
	if (c.out >= 0)
		close(c.out);
	if (c.pidfd >= 0)
		close(c.pidfd);
	free(path);
	free(real);
	free(env);
	if (rc < 0)
		cps_proc_result_free(res);
	return rc;
}

void cps_proc_result_free(cps_proc_result *res)
{
	if (res == NULL)
		return;
	free(res->output);
	memset(res, 0, sizeof(*res));
}

int cps_proc_split(const char *command, char ***argv, cps_err *err)
{
	size_t n = 0, i = 0;
	const char *p;
	char **v;

	*argv = NULL;
	for (p = command; *p;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		n++;
		p += strcspn(p, " \t");
	}
	if (n == 0)
		return cps_fail(err, CPS_E_INVAL, "the command is empty");
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (p = command; i < n; i++) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		v[i] = strndup(p, len);
		if (v[i] == NULL) {
			cps_proc_argv_free(v);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		p += len;
	}
	*argv = v;
	return 0;
}

void cps_proc_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static const char *self_path = "/proc/self/exe";

void cps_proc_set_self(const char *path)
{
	self_path = path;
}

int cps_proc_self(char *buf, size_t len)
{
	ssize_t n;

	if (self_path[0] != '/' || strcmp(self_path, "/proc/self/exe") != 0) {
		if ((size_t)snprintf(buf, len, "%s", self_path) >= len)
			return -1;
		return 0;
	}
	n = readlink(self_path, buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}
