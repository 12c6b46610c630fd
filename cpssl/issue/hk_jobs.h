/* The housekeeping pass's list of certificates to renew, shared by
 * housekeeping.c (collecting, running) and hk_jobs.c (the list itself). */
#ifndef CPSSL_ISSUE_HK_JOBS_H
#define CPSSL_ISSUE_HK_JOBS_H

#include <stdbool.h>
#include <sys/types.h>

#include "cpssl/core/settings.h"

typedef enum job_state { JOB_WAITING, JOB_RUNNING, JOB_DONE } job_state;

typedef struct job {
	long site_id;
	char site[32];        /* "siteN" or "server" */
	char *names;          /* comma-joined */
	bool request;         /* no certificate yet: request NAMES */
	long long expires;    /* before; after a renewal, the new expiry */
	job_state state;
	pid_t pid;
	int out;
	long long started;
	const char *result;   /* "renewed", "failed", "skipped" */
	char *detail;
} job;

typedef struct jobs {
	job *v;
	size_t n, cap;
} jobs;

/* A job renewing SITE's certificate for NAMES; NULL when out of memory. */
job *hk_job_add(jobs *js, long site_id, const char *site, const char *names,
		long long expires);
void hk_jobs_free(jobs *js);
/* A job done before it starts: "skipped", WHY (also a WARNING). */
job *hk_skip(jobs *js, long site_id, const char *site, const char *names,
	     long long expires, const char *why);
/* A job that orders NAMES (letsencrypt:request) rather than renewing. */
job *hk_request_job(jobs *js, long site_id, const char *site, const char *names,
		    long long expires);
/* A renewal when SERVER (the CA that issued the current certificate) is one
 * of the configured ones, else a request. */
job *hk_job_for(jobs *js, const cps_settings *set, long site_id, const char *site,
		const char *server, const char *names, long long expires);
/* Whether a job for SITE is in the list. */
bool hk_queued(const jobs *js, const char *site);

#endif
