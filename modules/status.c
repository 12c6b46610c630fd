/* letsencrypt:status (one site, or the server) and letsencrypt:list (every
 * site and the server, the overview `certbot certificates` gives). */
#include "modules/status.h"

#include <stdlib.h>
#include <string.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/output.h"
#include "cpssl/core/log.h"
#include "cpssl/core/window.h"
#include "cpssl/issue/failover.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/ssl_state.h"
#include "cpssl/store/sites.h"

/* When the housekeeping pass will next order a certificate for the site:
 * the start of the window (the time chosen inside the CA's suggested
 * window, when there is one) or the end of a backoff, whichever is later; for
 * an interim certificate (or a server without one) at once after a boot,
 * then after the backoff, while attempts remain this boot; 0 when never
 * by itself (imported) or not before the next boot. */
static time_t next_renewal(const cps_settings *set, const cps_cert_row *row,
			   const cps_ssl_status *ss, bool bootstrap, const char *boot,
			   long attempts, time_t now)
{
	time_t t;

	if (bootstrap) {
		if (attempts >= set->bootstrap_attempts)
			return 0;
		if (ss->boot_id == NULL || strcmp(ss->boot_id, boot) != 0)
			return now;
		return ss->next_attempt > now ? (time_t)ss->next_attempt : now;
	}
	if (row->id == 0 || strcmp(row->server, CPS_ORIGIN_IMPORT) == 0)
		return 0;
	if (set->window.ari && row->ari_renew_at)
		t = (time_t)row->ari_renew_at;
	else
		t = cps_window_start(&set->window, (time_t)row->not_before, (time_t)row->not_after);
	if (ss->next_attempt > (long long)t)
		t = (time_t)ss->next_attempt;
	return t;
}

static void add_time(json_object *o, const char *key, time_t t)
{
	json_object_object_add(o, key, t ? cps_json_time(t) : NULL);
}

/* The CA's suggested window (ACME ARI) and the time chosen inside it; NULL
 * while the CA has suggested none (or ari is off). */
static json_object *ari_of(const cps_settings *set, const cps_cert_row *row)
{
	json_object *a;

	if (!set->window.ari || row->ari_renew_at == 0)
		return NULL;
	a = json_object_new_object();
	json_object_object_add(a, "start", cps_json_time((time_t)row->ari_start));
	json_object_object_add(a, "end", cps_json_time((time_t)row->ari_end));
	json_object_object_add(a, "renew_at", cps_json_time((time_t)row->ari_renew_at));
	json_object_object_add(a, "explanation", row->ari_explanation
				   ? json_object_new_string(row->ari_explanation) : NULL);
	add_time(a, "next_check", row->ari_check_at > 0 ? (time_t)row->ari_check_at : 0);
	return a;
}

static void add_certificate(json_object *o, const cps_settings *set, const cps_cert_row *row,
			    time_t now)
{
	const cps_window *w = &set->window;
	time_t from = cps_window_start(w, (time_t)row->not_before, (time_t)row->not_after);
	time_t until = cps_window_end(w, (time_t)row->not_after);
	json_object *win = json_object_new_object();

	json_object_object_add(o, "names", cps_json_names(row->names));
	json_object_object_add(o, "expires", cps_json_time((time_t)row->not_after));
	json_object_object_add(o, "days_left",
			       json_object_new_int64(((long long)row->not_after - now) / 86400));
	json_object_object_add(o, "issuer", json_object_new_string(row->issuer));
	json_object_object_add(o, "serial", json_object_new_string(row->serial));
	/* the ACME directory it came from, or import / self-signed */
	json_object_object_add(o, "server", json_object_new_string(row->server));
	json_object_object_add(o, "from_configured_ca",
			       json_object_new_boolean(cps_failover_configured(set, row->server)));
	/* a fallback_servers CA (not [letsencrypt] server) issued it */
	json_object_object_add(o, "from_fallback_ca",
			       json_object_new_boolean(strcmp(row->server, set->ca.url) != 0 &&
						       cps_failover_configured(set, row->server)));
	/* the ACME profile it was issued under, when the CA named one */
	json_object_object_add(o, "profile", row->profile ? json_object_new_string(row->profile) : NULL);
	json_object_object_add(win, "from", cps_json_time(from));
	json_object_object_add(win, "until", cps_json_time(until));
	json_object_object_add(o, "renewal_window", win);
	json_object_object_add(o, "ari", ari_of(set, row));
	json_object_object_add(o, "revoked", json_object_new_boolean(row->revoked != 0));
}

/* The CA a request uses now, and the failover state: {in_use, primary,
 * fallbacks, failed_over_from, until, primary_failures}. */
static json_object *ca_of(cps_store *st, const cps_settings *set, time_t now)
{
	json_object *o = json_object_new_object(), *fb = json_object_new_array();
	cps_failover_view v;
	cps_err e;

	if (cps_failover_view_get(st, set, (long long)now, &v, &e) != 0) {
		cps_warn("%s", e.msg);
		memset(&v, 0, sizeof(v));
		v.in_use = set->ca.url;
	}
	for (size_t i = 0; i < set->ca.fallbacks.n; i++)
		json_object_array_add(fb, json_object_new_string(set->ca.fallbacks.v[i]));
	json_object_object_add(o, "in_use", json_object_new_string(v.in_use));
	json_object_object_add(o, "primary", json_object_new_string(set->ca.url));
	json_object_object_add(o, "fallbacks", fb);
	json_object_object_add(o, "failed_over_from",
			       v.failed_over_from ? json_object_new_string(v.failed_over_from) : NULL);
	json_object_object_add(o, "until", v.failed_over_from ? cps_json_time((time_t)v.until) : NULL);
	json_object_object_add(o, "primary_failures", json_object_new_int64(v.failures));
	return o;
}

static json_object *last_error(const cps_ssl_status *ss)
{
	json_object *le;

	if (ss->last_detail == NULL || ss->failures == 0)
		return NULL;
	le = json_object_new_object();
	json_object_object_add(le, "problem",
			       json_object_new_string(ss->last_problem ? ss->last_problem : ""));
	json_object_object_add(le, "detail", json_object_new_string(ss->last_detail));
	json_object_object_add(le, "at", cps_json_time((time_t)ss->last_failure));
	return le;
}

int cps_status_facts_get(cps_store *st, const cps_settings *set, long site_id,
			 const char *boot, time_t now, cps_status_facts *f, cps_err *err)
{
	memset(f, 0, sizeof(*f));
	if (cps_cert_current(st, site_id, &f->row, err) != 0)
		return -1;
	if (cps_ssl_status_get(st, site_id, &f->ss, err) != 0) {
		cps_cert_row_free(&f->row);
		return -1;
	}
	f->interim = f->row.id != 0 && strcmp(f->row.server, CPS_ORIGIN_INTERIM) == 0;
	f->bootstrap = f->interim || (f->row.id == 0 && site_id == 0);
	f->attempts = f->ss.boot_id && strcmp(f->ss.boot_id, boot) == 0 ? f->ss.boot_attempts : 0;
	f->next = next_renewal(set, &f->row, &f->ss, f->bootstrap, boot, f->attempts, now);
	return 0;
}

void cps_status_facts_free(cps_status_facts *f)
{
	cps_ssl_status_free(&f->ss);
	cps_cert_row_free(&f->row);
}

/* The status of SITE_ID (0: the server) as an object; NULL with ERR. */
static json_object *status_of(cps_store *st, const cps_settings *set, long site_id,
			      const char *subject, const char *boot, time_t now, cps_err *err)
{
	cps_status_facts f;
	const cps_cert_row *row = &f.row;
	const cps_ssl_status *ss = &f.ss;
	json_object *o;

	if (cps_status_facts_get(st, set, site_id, boot, now, &f, err) != 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "site", json_object_new_string(subject));
	json_object_object_add(o, "certificate", json_object_new_boolean(row->id != 0));
	if (row->id)
		add_certificate(o, set, row, now);
	json_object_object_add(o, "interim", json_object_new_boolean(f.interim));
	if (f.bootstrap) {
		json_object *b = json_object_new_object();

		json_object_object_add(b, "this_boot", json_object_new_int64(f.attempts));
		json_object_object_add(b, "max", json_object_new_int64(set->bootstrap_attempts));
		json_object_object_add(o, "bootstrap_attempts", b);
	}
	json_object_object_add(o, "due", json_object_new_boolean(f.next != 0 && now >= f.next &&
		(f.bootstrap || now <= cps_window_end(&set->window, (time_t)row->not_after))));
	json_object_object_add(o, "failures", json_object_new_int64(ss->failures));
	json_object_object_add(o, "last_error", last_error(ss));
	/* until then the housekeeping pass leaves the site alone */
	add_time(o, "next_attempt", ss->next_attempt > (long long)now ? (time_t)ss->next_attempt : 0);
	add_time(o, "last_success", (time_t)ss->last_success);
	add_time(o, "next_renewal", f.next);
	if (row->id && cps_origin_is_ca(row->server) && !cps_failover_configured(set, row->server))
		json_object_object_add(o, "note", json_object_new_string(
			"issued by another CA than the configured one: letsencrypt:request orders it "
			"from the configured CA (renew refuses)"));
	json_object_object_add(o, "ca", ca_of(st, set, now));
	cps_status_facts_free(&f);
	return o;
}

int cps_cmd_le_status(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	char boot[64];
	json_object *o, *forced;
	char **fn = NULL, **fm = NULL;
	size_t nf = 0;

	(void)args;
	(void)nargs;
	cps_boot_id(boot, sizeof(boot));
	o = status_of(ctx->store, &ctx->set, site ? site->id : 0, cps_ctx_subject(ctx), boot,
		      cps_now(), err);
	if (o == NULL)
		return -1;
	if (cps_mech_forced_all(ctx->store, site ? site->id : 0, &fn, &fm, &nf, err) != 0) {
		json_object_put(o);
		return -1;
	}
	forced = json_object_new_object();
	for (size_t i = 0; i < nf; i++)
		json_object_object_add(forced, fn[i], json_object_new_string(fm[i]));
	json_object_object_add(o, "forced_mechanisms", forced);
	cps_strv_free(fn, nf);
	cps_strv_free(fm, nf);
	*result = o;
	return 0;
}

/* ---- letsencrypt:list ---------------------------------------------------------- */

typedef struct lister {
	cps_ctx *ctx;
	json_object *rows;
	char boot[64];
	time_t now;
	cps_err *err;
} lister;

/* The overview keeps what `certbot certificates` shows. */
static json_object *overview(json_object *full)
{
	static const char *const keep[] = { "site", "names", "issuer", "server", "from_fallback_ca", "profile", "expires",
					    "days_left", "next_renewal", "failures", "last_error" };
	json_object *o = json_object_new_object(), *v;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (!json_object_object_get_ex(full, keep[i], &v))
			v = NULL;
		if (strcmp(keep[i], "last_error") == 0 && v)
			json_object_object_get_ex(v, "detail", &v);
		json_object_object_add(o, keep[i], v ? json_object_get(v) : NULL);
	}
	return o;
}

static int list_one(lister *l, long id, const char *subject)
{
	json_object *full = status_of(l->ctx->store, &l->ctx->set, id, subject, l->boot, l->now,
				      l->err);

	if (full == NULL)
		return -1;
	json_object_array_add(l->rows, overview(full));
	json_object_put(full);
	return 0;
}

static int list_site(const cps_site *site, void *ud)
{
	return list_one(ud, site->id, site->name);
}

static const char *sort_key;

static long long sort_value(json_object *row, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(row, key, &v) || v == NULL)
		return -1;
	return json_object_get_int64(v);
}

/* site order is the order rows were made in (the server, then by id) */
static int by_key(const void *a, const void *b)
{
	json_object *ra = *(json_object *const *)a, *rb = *(json_object *const *)b, *va, *vb;
	long long x, y;

	if (strcmp(sort_key, "expires") == 0 || strcmp(sort_key, "next_renewal") == 0) {
		/* ISO 8601 UTC strings sort as times; none (null) last */
		const char *sa = json_object_object_get_ex(ra, sort_key, &va) && va
				 ? json_object_get_string(va) : "~";
		const char *sb = json_object_object_get_ex(rb, sort_key, &vb) && vb
				 ? json_object_get_string(vb) : "~";

		return strcmp(sa, sb);
	}
	/* failures: most first */
	x = sort_value(ra, sort_key);
	y = sort_value(rb, sort_key);
	return x < y ? 1 : x > y ? -1 : 0;
}

int cps_cmd_le_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err)
{
	static const char *const keys[] = { "site", "expires", "next_renewal", "failures" };
	const char *by = json_object_get_string(args[0]);
	lister l = { .ctx = ctx, .rows = json_object_new_array(), .now = cps_now(), .err = err };
	size_t k;

	(void)nargs;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], by) != 0; k++)
		;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		json_object_put(l.rows);
		return cps_fail(err, CPS_E_INVAL,
				"cannot sort by '%.40s': use site, expires, next_renewal or failures", by);
	}
	cps_boot_id(l.boot, sizeof(l.boot));
	if (list_one(&l, 0, "server") != 0 || cps_site_foreach(ctx->store, list_site, &l, err) != 0) {
		json_object_put(l.rows);
		return -1;
	}
	if (k > 0) {
		sort_key = keys[k];
		json_object_array_sort(l.rows, by_key);
	}
	*result = l.rows;
	return 0;
}
