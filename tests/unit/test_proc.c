/* Running programs without a shell: exit codes, signals, captured and
 * capped output, environment, verbatim arguments, time limits that kill the
 * whole process group, missing programs, and no leaked descriptors or
 * zombies. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/proc.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-proc-XXXXXX";

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Gone, or a zombie waiting for a reaper that is not us. */
static bool pid_dead(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool dead = true;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		dead = p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return dead;
}

static int run(char *const argv[], char *const env[], int timeout,
	       size_t max, cps_proc_result *res, cps_err *err)
{
	cps_err_clear(err);
	return cps_proc_run(argv, env, timeout, max, res, err);
}

static void test_exit_and_output(void)
{
	cps_proc_result r;
	cps_err err;

	char *exit3[] = { "/bin/sh", "-c", "exit 3", NULL };
	CHECK(run(exit3, NULL, 10, 1024, &r, &err) == 0, "sh -c 'exit 3' runs");
	CHECK_INT(r.exit_status, 3, "  exit status 3");
	CHECK(!r.timed_out && !r.truncated, "  not timed out, not truncated");
	CHECK(r.output != NULL && r.output_len == 0 && r.output[0] == '\0', "  no output, empty string");
	cps_proc_result_free(&r);

	char *tru[] = { "true", NULL };
	CHECK(run(tru, NULL, 10, 1024, &r, &err) == 0 && r.exit_status == 0,
	      "'true' is found in PATH and exits 0");
	cps_proc_result_free(&r);
	char *fls[] = { "false", NULL };
	CHECK(run(fls, NULL, 10, 1024, &r, &err) == 0 && r.exit_status == 1,
	      "'false' exits 1 (not an error of cps_proc_run)");
	cps_proc_result_free(&r);

	char *sig[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	CHECK(run(sig, NULL, 10, 1024, &r, &err) == 0, "a child killed by SIGKILL");
	CHECK_INT(r.exit_status, 128 + SIGKILL, "  exit status 128 + 9");
	CHECK(!r.timed_out, "  not reported as a time-out");
	cps_proc_result_free(&r);

	char *both[] = { "/bin/sh", "-c", "echo out; echo err >&2; echo out2", NULL };
	CHECK(run(both, NULL, 10, 1024, &r, &err) == 0, "stdout and stderr");
	CHECK_STR(r.output, "out\nerr\nout2\n", "  both captured, in order");
	CHECK_INT(r.output_len, 13, "  output_len");
	cps_proc_result_free(&r);

	char *bin[] = { "/usr/bin/printf", "a\\000b", NULL };
	CHECK(run(bin, NULL, 10, 1024, &r, &err) == 0 && r.output_len == 3 &&
	      memcmp(r.output, "a\0b", 3) == 0, "binary output with a NUL byte is kept whole");
	cps_proc_result_free(&r);

	/* 200000 bytes, cap 1000: the rest is drained, so head is not
	 * killed by SIGPIPE and exits 0 */
	char *big[] = { "head", "-c", "200000", "/dev/zero", NULL };
	CHECK(run(big, NULL, 10, 1000, &r, &err) == 0, "200000 bytes of output, cap 1000");
	CHECK_INT(r.output_len, 1000, "  1000 bytes kept");
	CHECK(r.truncated, "  truncated is set");
	CHECK(r.output[1000] == '\0', "  NUL-terminated at the cap");
	CHECK_INT(r.exit_status, 0, "  the child was drained, not killed by SIGPIPE");
	cps_proc_result_free(&r);

	char *exact[] = { "/usr/bin/printf", "12345", NULL };
	CHECK(run(exact, NULL, 10, 5, &r, &err) == 0 && r.output_len == 5 && !r.truncated,
	      "output exactly at the cap is not truncated");
	cps_proc_result_free(&r);
	CHECK(run(exact, NULL, 10, 0, &r, &err) == 0 && r.output_len == 0 && r.truncated &&
	      r.output[0] == '\0', "cap 0: nothing kept, truncated");
	cps_proc_result_free(&r);

	char *in[] = { "readlink", "/proc/self/fd/0", NULL };
	CHECK(run(in, NULL, 10, 1024, &r, &err) == 0, "stdin");
	CHECK_STR(r.output, "/dev/null\n", "  is /dev/null");
	cps_proc_result_free(&r);

	/* field 5 of /proc/PID/stat is the process group */
	char *pg[] = { "/bin/sh", "-c", "read -r _ _ _ _ g _ </proc/$$/stat; "
		       "[ \"$g\" = \"$$\" ] && echo own-group", NULL };
	CHECK(run(pg, NULL, 10, 1024, &r, &err) == 0, "process group");
	CHECK_STR(r.output, "own-group\n", "  the child leads its own process group");
	cps_proc_result_free(&r);
}

static void test_env(void)
{
	cps_proc_result r;
	cps_err err;

	setenv("CPS_PROC_OLD", "old", 1);
	setenv("CPS_PROC_KEEP", "kept", 1);
	char *env[] = { "CPS_PROC_NEW=va lue;$(x)", "CPS_PROC_OLD=new", NULL };
	char *sh[] = { "/bin/sh", "-c",
		       "printf '%s|%s|%s|' \"$CPS_PROC_NEW\" \"$CPS_PROC_OLD\" \"$CPS_PROC_KEEP\"; "
		       "env | grep -c '^CPS_PROC_OLD='", NULL };
	CHECK(run(sh, env, 10, 1024, &r, &err) == 0, "env_extra");
	CHECK_STR(r.output, "va lue;$(x)|new||1\n",
		  "  added, replacing a variable of the same name once; nothing of ours is inherited");
	cps_proc_result_free(&r);
	char *envsh[] = { "/bin/sh", "-c", "env | sort | tr '\\n' ' '", NULL };
	CHECK(run(envsh, NULL, 10, 4096, &r, &err) == 0, "the documented environment");
	CHECK_STR(r.output, "HOME=/root LANG=C.UTF-8 PATH=" CPS_PROC_PATH " PWD=/ ",
		  "  PATH, LANG and HOME, and nothing else (the shell adds PWD)");
	cps_proc_result_free(&r);

	char *badenv[] = { "NO_EQUALS_SIGN", NULL };
	CHECK(run(sh, badenv, 10, 1024, &r, &err) == -1, "an env entry without '=' is refused");

	char *path[] = { "PATH=/nonexistent", NULL };
	char *tru[] = { "true", NULL };
	CHECK(run(tru, path, 10, 1024, &r, &err) == -1, "PATH from env_extra is the one searched");
	CHECK_HAS(err.msg, "cannot run true", "  cannot run true");
	char *relpath[] = { "PATH=bin:.:", NULL };
	CHECK(run(tru, relpath, 10, 1024, &r, &err) == -1, "relative PATH entries are not searched");
	unsetenv("CPS_PROC_OLD");
	unsetenv("CPS_PROC_KEEP");
}

static void test_verbatim(void)
{
	char pwned[512], pwned2[512], marker[600], tick[600], dollar[600];
	cps_proc_result r;
	cps_err err;
	struct stat st;

	snprintf(pwned, sizeof(pwned), "%s/pwned", dir);
	snprintf(pwned2, sizeof(pwned2), "%s/pwned2", dir);
	snprintf(dollar, sizeof(dollar), "$(touch %s)", pwned);
	snprintf(tick, sizeof(tick), "`touch %s`", pwned2);
	snprintf(marker, sizeof(marker), "x; touch %s; #", pwned);
	char *args[] = { "/usr/bin/printf", "[%s]\\n", "a;b", dollar, tick, marker,
			 "two  words", "'single'", "\"double\"", "line1\nline2", "",
			 "*", "~", "$HOME", "a\\tb", "-n", NULL };
	const char *want =
		"[a;b]\n[$(touch PWNED)]\n[`touch PWNED2`]\n[x; touch PWNED; #]\n"
		"[two  words]\n['single']\n[\"double\"]\n[line1\nline2]\n[]\n"
		"[*]\n[~]\n[$HOME]\n[a\\tb]\n[-n]\n";
	char expect[4096];
	size_t o = 0;

	/* build the expected text with the real paths */
	for (const char *w = want; *w && o < sizeof(expect) - 600;) {
		if (strncmp(w, "PWNED2", 6) == 0) {
			o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s", pwned2);
			w += 6;
		} else if (strncmp(w, "PWNED", 5) == 0) {
			o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s", pwned);
			w += 5;
		} else {
			expect[o++] = *w++;
		}
	}
	expect[o] = '\0';

	CHECK(run(args, NULL, 10, 8192, &r, &err) == 0, "arguments with shell syntax");
	CHECK_STR(r.output, expect, "  reach the child byte for byte");
	CHECK(stat(pwned, &st) == -1 && errno == ENOENT, "  no $(...) or ';' was run");
	CHECK(stat(pwned2, &st) == -1 && errno == ENOENT, "  no `...` was run");
	cps_proc_result_free(&r);
}

static void test_timeout(void)
{
	struct timespec t0;
	cps_proc_result r;
	cps_err err;
	double secs;
	long bg;

	/* the test's own child: a shell that leaves a background sleep */
	char *sleepy[] = { "/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(run(sleepy, NULL, 1, 1024, &r, &err) == 0, "sleep 30 with a 1 s limit");
	secs = elapsed(&t0);
	CHECK(secs >= 0.9 && secs < 2.5, "  returns after about 1 s");
	if (secs < 0.9 || secs >= 2.5)
		printf("#   took %.2f s\n", secs);
	CHECK(r.timed_out, "  timed_out is set");
	CHECK_INT(r.exit_status, 128 + SIGTERM, "  exit status 128 + SIGTERM");
	bg = r.output ? strtol(r.output, NULL, 10) : 0;
	CHECK(bg > 0, "  the background sleep's pid was printed");
	usleep(200 * 1000);
	CHECK(pid_dead(bg), "  the background sleep (same process group) was killed too");
	cps_proc_result_free(&r);

	char *stubborn[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30", NULL };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(run(stubborn, NULL, 1, 1024, &r, &err) == 0, "a child that ignores SIGTERM");
	secs = elapsed(&t0);
	CHECK(secs >= 2.9 && secs < 4.5, "  is killed with SIGKILL 2 s after the limit");
	if (secs < 2.9 || secs >= 4.5)
		printf("#   took %.2f s\n", secs);
	CHECK(r.timed_out && r.exit_status == 128 + SIGKILL, "  timed out, exit status 137");
	cps_proc_result_free(&r);

	/* the child exits at once but leaves a process holding the pipe */
	char *left[] = { "/bin/sh", "-c", "sleep 30 & echo $!", NULL };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(run(left, NULL, 20, 1024, &r, &err) == 0, "a child leaving a process that holds stdout");
	secs = elapsed(&t0);
	CHECK(secs < 2.0, "  returns soon after the child exits");
	CHECK(!r.timed_out && r.exit_status == 0, "  not a time-out, exit 0");
	bg = r.output ? strtol(r.output, NULL, 10) : 0;
	CHECK(bg > 0 && r.output[strlen(r.output) - 1] == '\n', "  output kept");
	if (bg > 0)
		kill((pid_t)bg, SIGKILL); /* left alone by design; not by the test */
	cps_proc_result_free(&r);

	char *closer[] = { "/bin/sh", "-c", "exec >&- 2>&-; sleep 30", NULL };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(run(closer, NULL, 1, 1024, &r, &err) == 0, "a child that closes its output and runs on");
	secs = elapsed(&t0);
	CHECK(r.timed_out && secs < 2.5, "  is still stopped at the limit");
	cps_proc_result_free(&r);
}

static void test_missing(void)
{
	char notexec[600];
	cps_proc_result r;
	cps_err err;
	int fd;

	char *nope[] = { "cpssl-no-such-program-x", "arg", NULL };
	CHECK(run(nope, NULL, 10, 1024, &r, &err) == -1, "a program not in PATH: -1");
	CHECK_HAS(err.msg, "cannot run cpssl-no-such-program-x: No such file or directory",
		  "  'cannot run NAME: No such file or directory'");
	CHECK(err.code == CPS_E_EXEC, "  CPS_E_EXEC");
	CHECK(r.output == NULL, "  no result to free");

	char *abs[] = { "/nonexistent/cpssl-prog", NULL };
	CHECK(run(abs, NULL, 10, 1024, &r, &err) == -1, "a missing absolute path: -1");
	CHECK_HAS(err.msg, "cannot run /nonexistent/cpssl-prog: No such file or directory",
		  "  'cannot run PATH: No such file or directory' (from the exec in the child)");

	snprintf(notexec, sizeof(notexec), "%s/notexec", dir);
	fd = open(notexec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, "#!/bin/sh\necho hi\n", 18) != 18)
			perror("write");
		close(fd);
	}
	char *ne[] = { notexec, NULL };
	CHECK(run(ne, NULL, 10, 1024, &r, &err) == -1, "a file that is not executable: -1");
	CHECK_HAS(err.msg, "Permission denied", "  'Permission denied'");

	char *empty[] = { NULL };
	CHECK(run(empty, NULL, 10, 1024, &r, &err) == -1, "an empty argv is refused");
	char *tru[] = { "true", NULL };
	CHECK(run(tru, NULL, 0, 1024, &r, &err) == -1, "no time limit is refused");
}

/* A program someone else could change is never run. */
static void test_untrusted(void)
{
	char open_dir[600], in_open[600], good[600], link[600];
	cps_proc_result r;
	cps_err err;

	snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
	snprintf(in_open, sizeof(in_open), "%s/open/hook", dir);
	snprintf(good, sizeof(good), "%s/hook", dir);
	snprintf(link, sizeof(link), "%s/hook-link", dir);
	mkdir(open_dir, 0755);
	chmod(open_dir, 0777);
	cps_fs_write_atomic(in_open, "#!/bin/sh\necho ran\n", 18, 0755, NULL);
	cps_fs_write_atomic(good, "#!/bin/sh\necho ran\n", 18, 0755, NULL);
	symlink(in_open, link);

	char *a[] = { in_open, NULL };
	CHECK(run(a, NULL, 10, 1024, &r, &err) == -1, "a program in a directory anyone can write to is refused");
	CHECK_HAS(err.msg, "refusing to run", "  saying so");
	CHECK_HAS(err.msg, "/open is writable by group and others (mode 0777)", "  naming the directory");
	char *l[] = { link, NULL };
	CHECK(run(l, NULL, 10, 1024, &r, &err) == -1, "  also through a link from a good directory");
	char *g[] = { good, NULL };
	CHECK(run(g, NULL, 10, 1024, &r, &err) == 0, "the same program in a directory of root's runs");
	cps_proc_result_free(&r);
	chmod(good, 0775);
	CHECK(run(g, NULL, 10, 1024, &r, &err) == -1, "a program its group can write is refused");
	CHECK_HAS(err.msg, "is writable by group or others (mode 0775)", "  naming its mode");
	chmod(good, 0755);
	if (chown(good, 65534, 65534) == 0) {
		CHECK(run(g, NULL, 10, 1024, &r, &err) == -1, "a program another user owns is refused");
		CHECK_HAS(err.msg, "is owned by uid 65534, not by root", "  naming the owner");
	}
}

static void test_fds(void)
{
	char arg[64];
	cps_proc_result r;
	cps_err err;
	int before, leak, status;

	/* a descriptor opened elsewhere without O_CLOEXEC */
	leak = open("/dev/null", O_RDONLY);
	snprintf(arg, sizeof(arg), "/proc/self/fd/%d", leak);
	char *rl[] = { "readlink", arg, NULL };
	CHECK(run(rl, NULL, 10, 1024, &r, &err) == 0 && r.exit_status != 0,
	      "a parent descriptor without O_CLOEXEC is not open in the child");
	cps_proc_result_free(&r);
	/* 3 is ls's own handle on the directory it lists */
	char *ls[] = { "ls", "-1", "/proc/self/fd", NULL };
	CHECK(run(ls, NULL, 10, 1024, &r, &err) == 0, "the child's descriptors");
	CHECK_STR(r.output, "0\n1\n2\n3\n", "  are 0, 1 and 2 only (and ls's directory)");
	cps_proc_result_free(&r);
	close(leak);

	before = count_fds();
	for (int i = 0; i < 3; i++) {
		char *ok[] = { "/bin/sh", "-c", "echo hi", NULL };
		char *nope[] = { "cpssl-no-such-program-x", NULL };
		char *abs[] = { "/nonexistent/x", NULL };
		char *slow[] = { "sleep", "5", NULL };

		run(ok, NULL, 10, 2, &r, &err);
		cps_proc_result_free(&r);
		run(nope, NULL, 10, 1024, &r, &err);
		run(abs, NULL, 10, 1024, &r, &err);
		if (i == 0) {
			run(slow, NULL, 1, 1024, &r, &err);
			cps_proc_result_free(&r);
		}
	}
	CHECK_INT(count_fds(), before, "no descriptor leaked after runs, failures and a time-out");
	errno = 0;
	CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD,
	      "no child left behind (no zombie to reap)");
}

static void test_split(void)
{
	char **v = NULL;
	cps_err err;

	CHECK(cps_proc_split("apachectl -k graceful", &v, &err) == 0, "split 'apachectl -k graceful'");
	CHECK(v && v[0] && v[1] && v[2] && !v[3], "  three words");
	if (v && v[0] && v[1] && v[2]) {
		CHECK_STR(v[0], "apachectl", "  apachectl");
		CHECK_STR(v[1], "-k", "  -k");
		CHECK_STR(v[2], "graceful", "  graceful");
	}
	cps_proc_argv_free(v);

	CHECK(cps_proc_split(" \t a\t\t b  ", &v, &err) == 0 && v && v[0] && v[1] && !v[2] &&
	      strcmp(v[0], "a") == 0 && strcmp(v[1], "b") == 0,
	      "runs of spaces and tabs, leading and trailing, separate words");
	cps_proc_argv_free(v);

	CHECK(cps_proc_split("echo \"a b\" $HOME;x 'c'", &v, &err) == 0, "quotes and $ are not interpreted");
	if (v && v[0] && v[1] && v[2] && v[3] && v[4]) {
		CHECK_STR(v[1], "\"a", "  '\"a'");
		CHECK_STR(v[2], "b\"", "  'b\"'");
		CHECK_STR(v[3], "$HOME;x", "  '$HOME;x'");
		CHECK_STR(v[4], "'c'", "  \"'c'\"");
		CHECK(v[5] == NULL, "  five words");
	} else {
		CHECK(false, "  five words");
	}
	cps_proc_argv_free(v);

	CHECK(cps_proc_split("", &v, &err) == -1 && v == NULL, "an empty command is an error");
	CHECK(cps_proc_split(" \t ", &v, &err) == -1, "a blank command is an error");
	CHECK_HAS(err.msg, "empty", "  saying it is empty");
}

/* stdin fed from memory: what the program reads is exactly what was given */
static void test_stdin(void)
{
	char *argv[] = { "/bin/cat", NULL };
	const char msg[] = "To: admin@example.com\nSubject: x\n\nline with $(no) `expansion`\n";
	cps_proc_result r;
	cps_err err;

	CHECK(cps_proc_run_input(argv, NULL, msg, strlen(msg), 10, 4096, &r, &err) == 0 &&
	      r.exit_status == 0, "cat with stdin input runs");
	CHECK(r.output && r.output_len == strlen(msg) && memcmp(r.output, msg, r.output_len) == 0,
	      "  reads the input byte for byte");
	cps_proc_result_free(&r);
	CHECK(cps_proc_run(argv, NULL, 10, 4096, &r, &err) == 0 && r.output_len == 0,
	      "without input, stdin is empty (/dev/null)");
	cps_proc_result_free(&r);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_exit_and_output();
	test_stdin();
	test_env();
	test_verbatim();
	test_timeout();
	test_missing();
	test_untrusted();
	test_fds();
	test_split();
	unit_rmtree(dir);
	return unit_done();
}
