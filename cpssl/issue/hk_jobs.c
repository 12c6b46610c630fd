#include "cpssl/issue/hk_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/log.h"
#include "cpssl/issue/failover.h"

job *hk_job_add(jobs *js, long site_id, const char *site, const char *names,
		long long expires)
{
	job *j;

	if (js->n == js->cap) {
		size_t cap = js->cap ? js->cap * 2 : 64;
		job *nv = realloc(js->v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		js->v = nv;
		js->cap = cap;
	}
	j = &js->v[js->n];
	memset(j, 0, sizeof(*j));
	j->site_id = site_id;
	snprintf(j->site, sizeof(j->site), "%s", site);
	j->names = strdup(names ? names : "");
	j->expires = expires;
	j->out = -1;
	if (j->names == NULL)
		return NULL;
	js->n++;
	return j;
}

void hk_jobs_free(jobs *js)
{
	for (size_t i = 0; i < js->n; i++) {
		free(js->v[i].names);
		free(js->v[i].detail);
		if (js->v[i].out >= 0)
			close(js->v[i].out);
	}
	free(js->v);
}

job *hk_skip(jobs *js, long site_id, const char *site, const char *names,
	     long long expires, const char *why)
{
	job *j = hk_job_add(js, site_id, site, names, expires);

	if (j) {
		j->state = JOB_DONE;
		j->result = "skipped";
		j->detail = strdup(why);
		cps_warn("%s: %s; skipping it", site, why);
	}
	return j;
}

/* A job that orders NAMES from the configured CA (letsencrypt:request)
 * rather than renewing: the current certificate is an interim self-signed
 * one, or from another CA than the configured one (renew refuses that). */
job *hk_request_job(jobs *js, long site_id, const char *site, const char *names,
		    long long expires)
{
	job *j = hk_job_add(js, site_id, site, names, expires);

	if (j)
		j->request = true;
	return j;
}

job *hk_job_for(jobs *js, const cps_settings *set, long site_id, const char *site,
		const char *server, const char *names, long long expires)
{
	if (!cps_failover_configured(set, server))
		return hk_request_job(js, site_id, site, names, expires);
	return hk_job_add(js, site_id, site, names, expires);
}

bool hk_queued(const jobs *js, const char *site)
{
	for (size_t i = 0; i < js->n; i++)
		if (strcmp(js->v[i].site, site) == 0)
			return true;
	return false;
}

