/* HTTP behind a small interface: the real transport is libcurl (HTTPS only,
 * TLS verification always on, connect/overall/low-speed timeouts, capped
 * bodies, one reused connection); a unit test can stand in its own sender. */
#ifndef CPSSL_ACME_HTTP_H
#define CPSSL_ACME_HTTP_H

#include <stddef.h>
#include <time.h>

#include "cpssl/core/err.h"

#define CPS_HTTP_MAX_BODY (1024 * 1024)
#define CPS_HTTP_MAX_LINKS 8

typedef struct cps_http_req {
	const char *method;       /* "GET", "HEAD" or "POST" */
	const char *url;
	const char *content_type; /* POST body type, or NULL */
	const char *accept;       /* or NULL */
	const char *body;
	size_t body_len;
} cps_http_req;

typedef struct cps_http_resp {
	long status;
	char *body;               /* NUL-terminated; "" when none */
	size_t body_len;
	char *content_type;       /* NULL when absent, likewise below */
	char *location;
	char *replay_nonce;
	char *retry_after;
	char *links[CPS_HTTP_MAX_LINKS]; /* raw Link header values */
	size_t nlinks;
} cps_http_resp;

/* A sender: performs REQ, fills RESP (which it owns until freed with
 * cps_http_resp_free); -1 with err set on a transport failure (CPS_E_NET,
 * CPS_E_TIMEOUT) or a body over the cap (CPS_E_PROTO). */
typedef int (*cps_http_send_fn)(void *ud, const cps_http_req *req,
				cps_http_resp *resp, cps_err *err);

typedef struct cps_http cps_http;

/* The libcurl transport; CA_BUNDLE (may be NULL) is trusted in addition to
 * the system store. */
int cps_http_new(const char *ca_bundle, cps_http **out, cps_err *err);
/* A stand-in transport for tests. */
cps_http *cps_http_new_custom(cps_http_send_fn fn, void *ud);
void cps_http_free(cps_http *h);

int cps_http_send(cps_http *h, const cps_http_req *req, cps_http_resp *resp,
		  cps_err *err);
/* Requests sent so far (every attempt counts). */
unsigned cps_http_count(const cps_http *h);
void cps_http_resp_free(cps_http_resp *resp);

/* Retry-After as seconds from NOW: delta-seconds or an HTTP-date (a date in
 * the past gives 0). -1 when VALUE is missing or malformed. */
long cps_http_retry_after(const char *value, time_t now);

/* The URL of a Link header value with rel="REL" (e.g. "alternate"), or
 * NULL. Caller frees. */
char *cps_http_link(const char *value, const char *rel);

#endif
