#include "cpssl/issue/ari.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpssl/acme/ari.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/store/ari.h"
#include "cpssl/store/certs.h"

#define PASS_BUDGET_MS (5 * 60 * 1000LL) /* of asking, per pass */
#define LEASE_S 3600          /* a claimed certificate left unasked waits this long */
#define RECHECK_S (6 * 3600)  /* without Retry-After (RFC 9773 §4.3) */
#define RETRY_MIN_S 60
#define RETRY_MAX_S 86400
#define FAILED_RETRY_S 3600   /* after a transport failure or a 5xx */
#define MAX_UNREACHABLE 3     /* transport failures in a row end a pass's asking */

long cps_ari_recheck_s(long retry_after)
{
	if (retry_after < 0)
		return RECHECK_S;
	if (retry_after < RETRY_MIN_S)
		return RETRY_MIN_S;
	return retry_after > RETRY_MAX_S ? RETRY_MAX_S : retry_after;
}

long long cps_ari_choose(long long start, long long end, long long prev_start,
			 long long prev_end, long long prev_renew_at)
{
	long long span = end - start;

	if (prev_renew_at && start == prev_start && end == prev_end)
		return prev_renew_at;
	if (span <= 1)
		return start;
	if (span > UINT32_MAX)
		span = UINT32_MAX;
	return start + (long long)arc4random_uniform((uint32_t)span);
}

static void subject(long site_id, char *buf, size_t len)
{
	if (site_id)
		snprintf(buf, len, "site%ld", site_id);
	else
		snprintf(buf, len, "server");
}

/* The CertID of the certificate stored in DIR, recorded for row ID. */
static char *cert_id_of(cps_store *st, long long id, const char *dir, cps_err *err)
{
	char *path = dir ? cps_path_join(dir, "cert.pem") : NULL, *pem = NULL, *out = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	size_t len = 0;

	if (path == NULL)
		cps_fail(err, CPS_E_NOMEM, "out of memory");
	else if (cps_fs_read(path, 1 << 20, &pem, &len, err) == 0 &&
		 cps_cert_parse_pem(pem, len, &leaf, &chain, err) == 0 &&
		 cps_acme_ari_cert_id(leaf, &out, err) == 0 &&
		 cps_cert_ari_set_id(st, id, out, err) != 0) {
		free(out);
		out = NULL;
	}
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	free(path);
	return out;
}

/* ARI is on and the CA offers it. */
static bool offered(cps_session *s)
{
	bool yes = false;
	cps_err e;

	if (!s->set->window.ari)
		return false;
	if (cps_acme_ari_offered(s->acme, &yes, &e) != 0)
		cps_debug("renewal information: %s", e.msg);
	return yes;
}

static void say_window(const char *who, const cps_acme_ari *a, long long renew_at, long long now)
{
	char from[CPS_ISO_TIME_LEN], until[CPS_ISO_TIME_LEN], at[CPS_ISO_TIME_LEN];

	cps_time_iso((time_t)a->start, from);
	cps_time_iso((time_t)a->end, until);
	cps_time_iso((time_t)renew_at, at);
	if (renew_at <= now)
		cps_info("%s: the CA suggests renewing now (its window: %s to %s)%s%s", who, from, until,
			 a->explanation ? "; why: " : "", a->explanation ? a->explanation : "");
	else
		cps_debug("%s: the CA suggests renewing between %s and %s: renewing at %s", who, from,
			  until, at);
}

typedef struct asked {
	bool sent;            /* a request went to the CA */
	bool ok;              /* answered and recorded */
	bool unreachable;     /* no answer, or a 5xx */
	bool changed;         /* a new window */
} asked;

/* Ask about the certificate C and record the answer (or when to ask
 * again). E gets the failure. */
static asked ask(cps_session *s, const cps_ari_claim *c, long long now, cps_err *e)
{
	cps_acme_ari a = { .retry_after = -1 };
	asked r = { 0 };
	char who[32], *id = c->cert_id ? strdup(c->cert_id) : cert_id_of(s->st, c->id, c->path, e);
	cps_err ignored;
	long long retry;

	subject(c->site_id, who, sizeof(who));
	r.sent = id != NULL;
	if (id && cps_acme_ari_get(s->acme, id, &a, e) == 0) {
		cps_ari_state st = {
			.start = a.start, .end = a.end, .explanation = a.explanation,
			.renew_at = cps_ari_choose(a.start, a.end, c->start, c->end, c->renew_at),
			.check_at = now + cps_ari_recheck_s(a.retry_after),
		};

		r.ok = true;
		r.changed = a.start != c->start || a.end != c->end;
		if (cps_cert_ari_save(s->st, c->id, &st, e) != 0)
			r.ok = false;
		else if (r.changed)
			say_window(who, &a, st.renew_at, now);
	} else {
		r.unreachable = id && (e->code == CPS_E_NET || e->code == CPS_E_TIMEOUT);
		retry = a.retry_after >= 0 ? cps_ari_recheck_s(a.retry_after)
			: r.unreachable ? FAILED_RETRY_S : RECHECK_S;
		cps_cert_ari_retry(s->st, c->id, now + retry, &ignored);
	}
	if (!r.ok) {
		cps_err_prefix(e, "%s", who);
		cps_debug("renewal information: %s; asking again later", e->msg);
	}
	cps_acme_ari_free(&a);
	free(id);
	return r;
}

/* Claimed certificates the pass did not get to are asked next time. */
static void release(cps_store *st, const cps_ari_claim *v, size_t from, size_t n, long long now)
{
	cps_err e;

	for (size_t i = from; i < n; i++)
		cps_cert_ari_retry(st, v[i].id, now, &e);
}

void cps_ari_refresh(cps_session *s, long long now, cps_ari_pass *out)
{
	long long t0 = cps_monotonic_ms();
	cps_ari_claim *v = NULL;
	size_t n = 0, i, unreachable = 0;
	cps_err e, first = { .code = CPS_OK };

	memset(out, 0, sizeof(*out));
	if (!s->set->window.ari)
		return;
	/* nothing to ask about yet: not even the directory is fetched */
	if (cps_cert_ari_waiting(s->st, s->dir_url, now, &out->waiting, &e) == 0 &&
	    out->waiting == 0) {
		cps_debug("renewal information: no certificate of %s is due to be asked about",
			  s->dir_url);
		return;
	}
	if (!(out->offered = offered(s))) {
		cps_debug("renewal information: the CA offers none (no renewalInfo in its directory); "
			  "the configured window applies, and its directory is looked at again in a day");
		if (cps_cert_ari_postpone(s->st, s->dir_url, now, now + RETRY_MAX_S, &e) != 0)
			cps_warn("renewal information: %s", e.msg);
		return;
	}
	if (cps_cert_ari_claim(s->st, s->dir_url, now, now + LEASE_S, CPS_ARI_PER_PASS, &v, &n, &e) != 0) {
		cps_warn("renewal information: %s", e.msg);
		return;
	}
	for (i = 0; i < n && unreachable < MAX_UNREACHABLE &&
		    cps_monotonic_ms() - t0 < PASS_BUDGET_MS; i++) {
		asked r = ask(s, &v[i], now, &e);

		out->asked += r.sent;
		out->changed += r.changed;
		unreachable = r.unreachable ? unreachable + 1 : 0;
		if (!r.ok && out->failed++ == 0)
			first = e;
	}
	release(s->st, v, i, n, now);
	cps_cert_ari_claims_free(v, n);
	if (cps_cert_ari_waiting(s->st, s->dir_url, now, &out->waiting, &e) != 0)
		out->waiting = 0;
	cps_debug("renewal information: asked the CA about %zu certificate%s (%zu failed, %zu "
		  "window%s moved), %ld left for the next pass", out->asked, out->asked == 1 ? "" : "s",
		  out->failed, out->changed, out->changed == 1 ? "" : "s", out->waiting);
	if (out->failed)
		cps_warn("the CA's renewal information could not be had for %zu certificate%s (%s); "
			 "each is asked again later, its last suggested window or the configured one "
			 "applying meanwhile", out->failed, out->failed == 1 ? "" : "s", first.msg);
}

void cps_ari_after_issue(cps_session *s, long site_id)
{
	cps_cert_row row;
	cps_err e;

	if (!offered(s) || cps_cert_current(s->st, site_id, &row, &e) != 0)
		return;
	if (row.id && strcmp(row.server, s->dir_url) == 0) {
		cps_ari_claim c = { .id = row.id, .site_id = site_id, .path = row.path,
				    .cert_id = row.ari_id, .not_after = row.not_after };

		ask(s, &c, (long long)cps_now(), &e);
	}
	cps_cert_row_free(&row);
}

static bool shares_name(const char *joined, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		for (const char *p = joined; (p = strstr(p, names[i])) != NULL; p += len)
			if ((p == joined || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
				return true;
	}
	return false;
}

char *cps_ari_replaces(cps_session *s, long site_id, const char *const *names, size_t n)
{
	cps_cert_row row;
	char *id = NULL;
	cps_err e;

	if (cps_cert_current(s->st, site_id, &row, &e) != 0)
		return NULL;
	if (row.id && strcmp(row.server, s->dir_url) == 0 && shares_name(row.names, names, n) &&
	    offered(s)) {
		id = row.ari_id ? strdup(row.ari_id) : cert_id_of(s->st, row.id, row.path, &e);
		if (id == NULL)
			cps_debug("the new order cannot name the certificate it replaces: %s", e.msg);
	}
	cps_cert_row_free(&row);
	return id;
}
