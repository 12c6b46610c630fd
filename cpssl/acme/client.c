#include "cpssl/acme/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/jws.h"
#include "cpssl/acme/problem.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"

#define NONCE_POOL 16
#define MAX_BAD_NONCE 20   /* each a fresh nonce; a CA rejecting 20 in a row is broken */
#define MAX_RETRIES 3      /* 5xx and transport errors */
#define MAX_WAIT_MS 10000  /* the longest Retry-After honoured between retries */
#define MAX_RETRY_AFTER_S (7 * 86400) /* a rate limit's Retry-After is capped at a week */
#define MAX_PROFILES 64     /* profiles of a directory's meta taken; more are ignored */
#define MAX_PROFILE_NAME 64 /* longer names are ignored */

struct cps_acme {
	char *dir_url;
	char *origin;        /* "https://host[:port]" of the directory */
	cps_http *http;
	json_object *dir;
	cps_acme_meta meta;
	EVP_PKEY *key;
	char *kid;
	char *nonces[NONCE_POOL];
	size_t nnonces;
	cps_acme_stats stats;
};

const char *cps_acme_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static char *origin_of(const char *url)
{
	const char *host;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return NULL;
	host = url + 8;
	n = strcspn(host, "/?#");
	if (n == 0)
		return NULL;
	return strndup(url, 8 + n);
}

static void meta_free(cps_acme_meta *m)
{
	for (size_t i = 0; i < m->nprofiles; i++)
		free(m->profiles[i]);
	free(m->profiles);
	for (size_t i = 0; i < m->ncaa_ids; i++)
		free(m->caa_ids[i]);
	free(m->caa_ids);
	memset(m, 0, sizeof(*m));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* meta.caaIdentities: the domains CAA records name for the CA (at most
 * MAX_PROFILES of them, strings only). */
static int caa_ids_parse(cps_acme_meta *m, json_object *meta, cps_err *err)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(meta, "caaIdentities", &v) ||
	    !json_object_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	m->caa_ids = calloc(MAX_PROFILES, sizeof(char *));
	if (m->caa_ids == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && m->ncaa_ids < MAX_PROFILES; i++) {
		json_object *id = json_object_array_get_idx(v, i);

		if (!json_object_is_type(id, json_type_string) || json_object_get_string_len(id) == 0 ||
		    json_object_get_string_len(id) > 253)
			continue;
		if ((m->caa_ids[m->ncaa_ids] = strdup(json_object_get_string(id))) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		cps_text_clean(m->caa_ids[m->ncaa_ids++]);
	}
	return 0;
}

/* meta.externalAccountRequired, meta.caaIdentities and the names of
 * meta.profiles (a map of name to description, draft-ietf-acme-profiles);
 * anything else in meta, or a member of the wrong type, is ignored. */
static int meta_parse(cps_acme_meta *m, json_object *dir, cps_err *err)
{
	json_object *meta, *v;

	memset(m, 0, sizeof(*m));
	if (!json_object_object_get_ex(dir, "meta", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return 0;
	m->eab_required = json_object_object_get_ex(meta, "externalAccountRequired", &v) &&
			  json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	if (caa_ids_parse(m, meta, err) != 0)
		return -1;
	if (!json_object_object_get_ex(meta, "profiles", &v) ||
	    !json_object_is_type(v, json_type_object))
		return 0;
	m->profiles = calloc(MAX_PROFILES, sizeof(char *));
	if (m->profiles == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	json_object_object_foreach(v, name, desc) {
		(void)desc;
		if (m->nprofiles == MAX_PROFILES || *name == '\0' || strlen(name) > MAX_PROFILE_NAME)
			continue;
		if ((m->profiles[m->nprofiles] = strdup(name)) == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		cps_text_clean(m->profiles[m->nprofiles++]);
	}
	qsort(m->profiles, m->nprofiles, sizeof(char *), by_name);
	return 0;
}

const cps_acme_meta *cps_acme_meta_get(const cps_acme *c)
{
	return &c->meta;
}

bool cps_acme_offers_profile(const cps_acme *c, const char *name)
{
	for (size_t i = 0; i < c->meta.nprofiles; i++)
		if (strcmp(c->meta.profiles[i], name) == 0)
			return true;
	return false;
}

int cps_acme_new(const char *directory_url, cps_http *http, cps_acme **out,
		 cps_err *err)
{
	cps_acme *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cps_http_free(http);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	c->http = http;
	c->dir_url = strdup(directory_url);
	c->origin = origin_of(directory_url);
	if (c->origin == NULL) {
		cps_acme_free(c);
		return cps_fail(err, CPS_E_CONFIG,
				"the ACME directory URL must be https://…, not '%.200s'",
				directory_url);
	}
	*out = c;
	return 0;
}

void cps_acme_free(cps_acme *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nnonces; i++)
		free(c->nonces[i]);
	json_object_put(c->dir);
	meta_free(&c->meta);
	cps_http_free(c->http);
	free(c->dir_url);
	free(c->origin);
	free(c->kid);
	free(c);
}

const char *cps_acme_directory_url(const cps_acme *c)
{
	return c->dir_url;
}

void cps_acme_resp_free(cps_acme_resp *r)
{
	if (r == NULL)
		return;
	json_object_put(r->json);
	cps_http_resp_free(&r->http);
	memset(r, 0, sizeof(*r));
}

static bool is_json(const cps_http_resp *r)
{
	return r->content_type &&
	       (strncmp(r->content_type, "application/json", 16) == 0 ||
		strncmp(r->content_type, "application/problem+json", 24) == 0);
}

static void nonce_push(cps_acme *c, char *nonce)
{
	if (nonce == NULL || *nonce == '\0')
		return;
	if (c->nnonces == NONCE_POOL) {
		free(c->nonces[0]);
		memmove(c->nonces, c->nonces + 1, (NONCE_POOL - 1) * sizeof(char *));
		c->nnonces--;
	}
	c->nonces[c->nnonces++] = strdup(nonce);
}

/* Plain requests (directory, newNonce) with the same transport retries. */
static int send_plain(cps_acme *c, const char *method, const char *url,
		      cps_http_resp *resp, cps_err *err)
{
	cps_http_req req = { .method = method, .url = url };

	for (int attempt = 0;; attempt++) {
		int rc = cps_http_send(c->http, &req, resp, err);

		c->stats.requests++;
		if (rc == 0 && resp->status < 500) {
			nonce_push(c, resp->replay_nonce);
			return 0;
		}
		if (attempt >= MAX_RETRIES) {
			if (rc == 0) {
				cps_fail(err, CPS_E_CA, "%s %s answered HTTP %ld", method,
					 url, resp->status);
				cps_http_resp_free(resp);
			}
			return -1;
		}
		if (rc == 0)
			cps_http_resp_free(resp);
		c->stats.retries++;
		cps_debug("retrying %s %s", method, url);
		cps_sleep_ms(500L << attempt);
	}
}

int cps_acme_load_directory(cps_acme *c, cps_err *err)
{
	cps_http_resp r;

	if (c->dir)
		return 0;
	if (send_plain(c, "GET", c->dir_url, &r, err) != 0)
		return cps_err_prefix(err, "cannot read the ACME directory");
	c->dir = r.status == 200 ? json_tokener_parse(r.body) : NULL;
	if (c->dir == NULL || !json_object_is_type(c->dir, json_type_object) ||
	    cps_acme_str(c->dir, "newNonce") == NULL ||
	    cps_acme_str(c->dir, "newAccount") == NULL ||
	    cps_acme_str(c->dir, "newOrder") == NULL) {
		json_object_put(c->dir);
		c->dir = NULL;
		cps_fail(err, CPS_E_PROTO,
			 "%s is not an ACME directory (HTTP %ld); check [letsencrypt] server",
			 c->dir_url, r.status);
		cps_http_resp_free(&r);
		return -1;
	}
	cps_http_resp_free(&r);
	if (meta_parse(&c->meta, c->dir, err) != 0) {
		meta_free(&c->meta);
		json_object_put(c->dir);
		c->dir = NULL;
		return -1;
	}
	return 0;
}

const char *cps_acme_endpoint(const cps_acme *c, const char *name)
{
	return cps_acme_str(c->dir, name);
}

void cps_acme_use_key(cps_acme *c, EVP_PKEY *key)
{
	c->key = key;
}

int cps_acme_set_kid(cps_acme *c, const char *kid, cps_err *err)
{
	char *k = kid ? strdup(kid) : NULL;

	if (kid && k == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	free(c->kid);
	c->kid = k;
	return 0;
}

const char *cps_acme_kid(const cps_acme *c)
{
	return c->kid;
}

EVP_PKEY *cps_acme_key(const cps_acme *c)
{
	return c->key;
}

const cps_acme_stats *cps_acme_stats_get(const cps_acme *c)
{
	return &c->stats;
}

static int take_nonce(cps_acme *c, char **nonce, cps_err *err)
{
	cps_http_resp r;

	if (c->nnonces == 0) {
		if (cps_acme_load_directory(c, err) != 0)
			return -1;
		c->stats.nonce_gets++;
		if (send_plain(c, "HEAD", cps_acme_endpoint(c, "newNonce"), &r, err) != 0)
			return cps_err_prefix(err, "cannot get a nonce");
		cps_http_resp_free(&r);
		if (c->nnonces == 0)
			return cps_fail(err, CPS_E_PROTO,
					"the CA's newNonce answer carries no Replay-Nonce");
	}
	*nonce = c->nonces[--c->nnonces];
	return 0;
}

static bool same_origin(const cps_acme *c, const char *url)
{
	size_t n = strlen(c->origin);

	return strncmp(url, c->origin, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

bool cps_acme_same_origin(const cps_acme *c, const char *url)
{
	return url && same_origin(c, url);
}

int cps_acme_get(cps_acme *c, const char *url, const char *what,
		 cps_acme_resp *resp, cps_err *err)
{
	cps_http_req req = { .method = "GET", .url = url, .accept = "application/json" };

	memset(resp, 0, sizeof(*resp));
	if (url == NULL || !same_origin(c, url))
		return cps_fail(err, CPS_E_PROTO, "the CA pointed %s at %.200s, outside its own origin %s; refusing",
				what, url ? url : "(nothing)", c->origin);
	c->stats.requests++;
	if (cps_http_send(c->http, &req, &resp->http, err) != 0)
		return cps_err_prefix(err, "%s", what);
	nonce_push(c, resp->http.replay_nonce);
	resp->status = resp->http.status;
	if (is_json(&resp->http))
		resp->json = json_tokener_parse(resp->http.body);
	return 0;
}

int cps_acme_post(cps_acme *c, const char *url, const char *payload,
		  unsigned flags, const char *what, cps_acme_resp *resp,
		  cps_err *err)
{
	int bad_nonces = 0, retries = 0;

	memset(resp, 0, sizeof(*resp));
	if (url == NULL)
		return cps_fail(err, CPS_E_PROTO, "the CA gave no URL for %s", what);
	if (!(flags & CPS_ACME_ANY_ORIGIN) && !same_origin(c, url))
		return cps_fail(err, CPS_E_PROTO,
				"the CA pointed %s at %.200s, outside its own origin %s; refusing",
				what, url, c->origin);
	if (c->key == NULL || (!(flags & CPS_ACME_JWK) && c->kid == NULL))
		return cps_fail(err, CPS_E_INTERNAL, "no ACME account for %s", what);

	for (;;) {
		cps_acme_problem prob;
		char *nonce = NULL, *jws = NULL;
		cps_http_req req = {
			.method = "POST", .url = url,
			.content_type = "application/jose+json",
			.accept = (flags & CPS_ACME_PEM) ? "application/pem-certificate-chain" : NULL,
		};
		long wait_s;
		int rc;

		if (take_nonce(c, &nonce, err) != 0)
			return -1;
		rc = cps_jws_sign(c->key, (flags & CPS_ACME_JWK) ? NULL : c->kid, nonce,
				  url, payload ? payload : "", &jws, err);
		free(nonce);
		if (rc != 0)
			return -1;
		req.body = jws;
		req.body_len = strlen(jws);
		c->stats.posts++;
		c->stats.requests++;
		rc = cps_http_send(c->http, &req, &resp->http, err);
		free(jws);
		if (rc != 0) {
			if (cps_err_transient(err) && retries < MAX_RETRIES) {
				c->stats.retries++;
				cps_debug("retrying %s after: %s", what, err->msg);
				cps_sleep_ms(500L << retries++);
				continue;
			}
			return cps_err_prefix(err, "%s", what);
		}
		nonce_push(c, resp->http.replay_nonce);
		resp->status = resp->http.status;
		if (resp->status >= 200 && resp->status < 300) {
			if (is_json(&resp->http))
				resp->json = json_tokener_parse(resp->http.body);
			return 0;
		}
		memset(&prob, 0, sizeof(prob));
		if (cps_acme_problem_parse(resp->http.body, &prob) == 0 &&
		    cps_acme_problem_is(&prob, "badNonce") && bad_nonces < MAX_BAD_NONCE) {
			/* the answer carried a fresh nonce: sign again with it */
			bad_nonces++;
			c->stats.bad_nonces++;
			cps_acme_problem_free(&prob);
			cps_http_resp_free(&resp->http);
			continue;
		}
		wait_s = cps_http_retry_after(resp->http.retry_after, cps_now());
		if (wait_s > MAX_RETRY_AFTER_S)
			wait_s = MAX_RETRY_AFTER_S;
		if (resp->status >= 500 && retries < MAX_RETRIES &&
		    (wait_s < 0 || wait_s * 1000 <= MAX_WAIT_MS)) {
			c->stats.retries++;
			cps_debug("retrying %s after HTTP %ld", what, resp->status);
			cps_sleep_ms(wait_s >= 0 ? wait_s * 1000 : 500L << retries);
			retries++;
			cps_acme_problem_free(&prob);
			cps_http_resp_free(&resp->http);
			continue;
		}
		if (prob.type == NULL)
			cps_fail(err, CPS_E_CA, "the CA answered %s with HTTP %ld",
				 what, resp->status);
		else
			cps_acme_problem_error(&prob, what, err);
		if (err && err->code == CPS_E_RATELIMIT && wait_s >= 0) {
			size_t used = strlen(err->msg);
			time_t at = cps_now() + wait_s;
			struct tm tm;
			char when[32];

			err->retry_at = (long long)at;
			gmtime_r(&at, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
			snprintf(err->msg + used, sizeof(err->msg) - used,
				 "; retry after %ld seconds (at %s)", wait_s, when);
		}
		cps_acme_problem_free(&prob);
		cps_acme_resp_free(resp);
		return -1;
	}
}
