/* Failover between the configured CAs: which one a request uses, what
 * counts against a CA, and moving a session to the next one. */
#include "cpssl/issue/failover.h"

#include <string.h>
#include <time.h>

#include "cpssl/acme/client.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/issue/ari.h"
#include "cpssl/store/ca_health.h"

size_t cps_failover_cas(const cps_settings *set, const char **out)
{
	size_t n = 0;

	out[n++] = set->ca.url;
	for (size_t i = 0; i < set->ca.fallbacks.n && n < CPS_FAILOVER_MAX; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen = seen || strcmp(out[j], set->ca.fallbacks.v[i]) == 0;
		if (!seen)
			out[n++] = set->ca.fallbacks.v[i];
	}
	return n;
}

bool cps_failover_configured(const cps_settings *set, const char *url)
{
	const char *cas[CPS_FAILOVER_MAX];
	size_t n = cps_failover_cas(set, cas);

	for (size_t i = 0; i < n; i++)
		if (strcmp(cas[i], url) == 0)
			return true;
	return false;
}

int cps_failover_view_get(cps_store *st, const cps_settings *set, long long now,
			  cps_failover_view *v, cps_err *err)
{
	const char *cas[CPS_FAILOVER_MAX];
	size_t n = cps_failover_cas(set, cas);
	cps_ca_health h;

	memset(v, 0, sizeof(*v));
	v->in_use = cas[0];
	for (size_t i = 0; i < n; i++) {
		if (cps_ca_health_get(st, cas[i], &h, err) != 0)
			return -1;
		if (i == 0) {
			v->failures = h.failures;
			memcpy(v->last_error, h.last_error, sizeof(v->last_error));
		}
		if (h.until <= now) {
			v->in_use = cas[i];
			return 0;
		}
		if (v->failed_over_from == NULL) {
			v->failed_over_from = cas[i];
			v->until = h.until;
		}
	}
	/* every CA is passed over: the primary is tried */
	v->in_use = cas[0];
	v->failed_over_from = NULL;
	return 0;
}

int cps_failover_pick(cps_store *st, const cps_settings *set, long long now, const char **url,
		      cps_err *err)
{
	cps_failover_view v;

	*url = set->ca.url;
	if (set->ca.fallbacks.n == 0)
		return 0;
	if (cps_failover_view_get(st, set, now, &v, err) != 0)
		return -1;
	*url = v.in_use;
	return 0;
}

int cps_failover_choose(cps_session *s, cps_err *err)
{
	cps_failover_view v;
	char until[CPS_ISO_TIME_LEN];

	if (s->given->ca.fallbacks.n == 0)
		return cps_session_use_ca(s, s->primary, err);
	if (cps_failover_view_get(s->st, s->given, (long long)cps_now(), &v, err) != 0)
		return -1;
	if (v.failed_over_from)
		cps_info("using the CA %s: %s is passed over after failing until %s", v.in_use,
			 v.failed_over_from, cps_time_iso((time_t)v.until, until));
	return cps_session_use_ca(s, v.in_use, err);
}

typedef enum { NOT_THE_CA, COUNTS, UNREACHABLE } fault;

/* What a failure says about the CA: a site's own failures (its names,
 * their validation, CAA, the configuration, this machine) do not count. */
static fault fault_of(const cps_err *e)
{
	static const char *const ca_problems[] = { "rateLimited", "serverInternal", "badNonce" };

	if (e->code == CPS_E_NET)
		return UNREACHABLE;
	if (*e->problem) {
		for (size_t i = 0; i < sizeof(ca_problems) / sizeof(ca_problems[0]); i++)
			if (strcmp(e->problem, ca_problems[i]) == 0)
				return COUNTS;
		return NOT_THE_CA;
	}
	/* without a problem document: the CA timed out, broke the protocol or
	 * answered a server error (a local rate limit has no problem and is
	 * the names', not the CA's) */
	if (e->code == CPS_E_TIMEOUT || e->code == CPS_E_PROTO || (e->code == CPS_E_CA && !e->input))
		return COUNTS;
	return NOT_THE_CA;
}

static int index_of(const char *const *cas, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cas[i], url) == 0)
			return (int)i;
	return -1;
}

bool cps_failover_after_failure(cps_session *s, const cps_err *err, unsigned *tried)
{
	const cps_settings *set = s->given;
	const char *cas[CPS_FAILOVER_MAX], *from = s->dir_url;
	size_t n = cps_failover_cas(set, cas);
	long long now = (long long)cps_now(), until = 0;
	fault f = fault_of(err);
	int at = index_of(cas, n, from);
	cps_ca_health h;
	long failures;
	char stamp[CPS_ISO_TIME_LEN];
	cps_err e;

	if (at >= 0)
		*tried |= 1u << at;
	if (set->ca.fallbacks.n == 0 || at < 0 || f == NOT_THE_CA)
		return false;
	if (cps_ca_health_get(s->st, from, &h, &e) != 0) {
		cps_warn("%s", e.msg);
		return false;
	}
	if (f == UNREACHABLE || h.failures + 1 >= set->ca.failover_after)
		until = now + set->ca.failover_retry_hours * 3600LL;
	if (cps_ca_health_fail(s->st, from, now, err->msg, until, &failures, &e) != 0) {
		cps_warn("%s", e.msg);
		return false;
	}
	if (until == 0) {
		cps_info("the CA %s failed (%ld of %ld failures in a row before the next CA is used)",
			 from, failures, set->ca.failover_after);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		cps_ca_health other;

		if ((*tried & (1u << i)) || cps_ca_health_get(s->st, cas[i], &other, &e) != 0 ||
		    other.until > now)
			continue;
		if (cps_session_use_ca(s, cas[i], &e) != 0) {
			cps_warn("%s", e.msg);
			return false;
		}
		cps_warn("the CA %s %s; it is passed over until %s, and the CA %s is used instead",
			 from, f == UNREACHABLE ? "cannot be reached" : "keeps failing",
			 cps_time_iso((time_t)until, stamp), cas[i]);
		return true;
	}
	cps_warn("the CA %s %s and is passed over until %s; no other configured CA is available now",
		 from, f == UNREACHABLE ? "cannot be reached" : "keeps failing", cps_time_iso((time_t)until, stamp));
	return false;
}

void cps_failover_succeeded(cps_session *s)
{
	cps_err e;

	if (s->given->ca.fallbacks.n && cps_ca_health_ok(s->st, s->dir_url, &e) != 0)
		cps_warn("%s", e.msg);
}

void cps_failover_ari_refresh(cps_session *s, long long now)
{
	const char *cas[CPS_FAILOVER_MAX], *in_use;
	size_t n = cps_failover_cas(s->given, cas);
	cps_ari_pass ari;
	cps_err e;

	if (cps_failover_pick(s->st, s->given, now, &in_use, &e) != 0) {
		cps_warn("%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		cps_ca_health h;

		/* a passed-over CA is not asked (its certificates keep their
		 * last window, or the configured one) */
		if (cps_ca_health_get(s->st, cas[i], &h, &e) != 0 || (h.until > now && i > 0) ||
		    (h.until > now && strcmp(in_use, cas[0]) != 0))
			continue;
		if (cps_session_use_ca(s, cas[i], &e) != 0) {
			cps_warn("%s", e.msg);
			continue;
		}
		cps_ari_refresh(s, now, &ari);
	}
	if (cps_session_use_ca(s, in_use, &e) != 0)
		cps_warn("%s", e.msg);
}

int cps_failover_reach(cps_session *s, cps_err *err)
{
	unsigned tried = 0;

	if (cps_failover_choose(s, err) != 0)
		return -1;
	while (cps_acme_load_directory(s->acme, err) != 0)
		if (!cps_failover_after_failure(s, err, &tried))
			return -1;
	return 0;
}
