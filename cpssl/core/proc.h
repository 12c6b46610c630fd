/* Running programs without a shell: fork + execve with an argv array, a
 * bounded time and bounded captured output. Never system()/popen(). */
#ifndef CPSSL_CORE_PROC_H
#define CPSSL_CORE_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/err.h"

typedef struct cps_proc_result {
	int exit_status;  /* exit code, or 128 + signal number */
	bool timed_out;   /* killed after the time limit */
	char *output;     /* stdout and stderr interleaved, NUL-terminated, capped */
	size_t output_len;
	bool truncated;   /* output exceeded the cap */
} cps_proc_result;

/* The PATH of every program cpssl runs. */
#define CPS_PROC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Run ARGV (argv[0] an absolute path, or a name looked up in the PATH of
 * the child's environment) with an environment of its own — PATH
 * (CPS_PROC_PATH), LANG=C.UTF-8 and HOME, plus ENV_EXTRA ("NAME=value"
 * strings, NULL-terminated; may be NULL), nothing inherited — in /, stdin
 * from /dev/null, for at most TIMEOUT_S seconds (then SIGTERM, and SIGKILL 2 s
 * later, to the child's process group). The program, and every directory
 * above it, must be owned by root (or the user cpssl runs as) and writable
 * by no one else, or it is refused. Output is captured up to MAX_OUTPUT
 * bytes. Returns 0 when the program ran (whatever its exit status; look at
 * res), -1 when it could not be started. */
int cps_proc_run(char *const argv[], char *const env_extra[], int timeout_s,
		 size_t max_output, cps_proc_result *res, cps_err *err);
/* The same with INPUT (LEN bytes) as the program's stdin. */
int cps_proc_run_input(char *const argv[], char *const env_extra[],
		       const char *input, size_t len, int timeout_s,
		       size_t max_output, cps_proc_result *res, cps_err *err);
void cps_proc_result_free(cps_proc_result *res);

/* The program itself (cpcmd), for the helpers it starts (the reload
 * waiter, housekeeping workers): /proc/self/exe resolved, or what
 * cps_proc_set_self() named. 0 on success. */
int cps_proc_self(char *buf, size_t len);
void cps_proc_set_self(const char *path);

/* Split a config command ("apachectl -k graceful") on spaces and tabs into
 * a NULL-terminated argv; no quoting, no expansion of any kind. */
int cps_proc_split(const char *command, char ***argv, cps_err *err);
void cps_proc_argv_free(char **argv);

#endif
