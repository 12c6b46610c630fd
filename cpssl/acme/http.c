#include "cpssl/acme/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"

#define CONNECT_TIMEOUT_S 10
#define TOTAL_TIMEOUT_S 60
#define LOW_SPEED_BYTES 1
#define LOW_SPEED_TIME_S 20

struct cps_http {
	cps_http_send_fn send;
	void *ud;
	CURL *curl;
	STACK_OF(X509_INFO) *extra_ca;
	unsigned count;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cps_http_resp_free(cps_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	for (size_t i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	memset(r, 0, sizeof(*r));
}

/* ---- libcurl transport --------------------------------------------------- */

typedef struct body_buf {
	char *data;
	size_t len;
	bool overflow;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	body_buf *b = ud;
	size_t add = size * n;
	char *nd;

	if (b->len + add > CPS_HTTP_MAX_BODY) {
		b->overflow = true;
		return 0; /* aborts the transfer */
	}
	nd = realloc(b->data, b->len + add + 1);
	if (nd == NULL)
		return 0;
	memcpy(nd + b->len, ptr, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	return strndup(v, (size_t)(end - v));
}

static void set_once(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	cps_http_resp *r = ud;
	size_t len = size * n;
	char *v;

	/* a new status line (e.g. after 100-continue) starts a new header set */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < r->nlinks; i++)
			free(r->links[i]);
		r->nlinks = 0;
		return len;
	}
	set_once(&r->content_type, header_value(line, len, "Content-Type"));
	set_once(&r->location, header_value(line, len, "Location"));
	set_once(&r->replay_nonce, header_value(line, len, "Replay-Nonce"));
	set_once(&r->retry_after, header_value(line, len, "Retry-After"));
	v = header_value(line, len, "Link");
	if (v && r->nlinks < CPS_HTTP_MAX_LINKS)
		r->links[r->nlinks++] = v;
	else
		free(v);
	return len;
}

/* Add the extra trust anchors to every TLS context curl makes. */
static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *ud)
{
	X509_STORE *store = SSL_CTX_get_cert_store(sslctx);
	STACK_OF(X509_INFO) *infos = ud;

	(void)curl;
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509)
			X509_STORE_add_cert(store, xi->x509);
	}
	return CURLE_OK;
}

static int load_extra_ca(cps_http *h, const char *path, cps_err *err)
{
	BIO *bio = BIO_new_file(path, "r");
	int n;

	if (bio == NULL)
		return cps_fail(err, CPS_E_CONFIG,
				"cannot read [letsencrypt] ca_bundle %s", path);
	h->extra_ca = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	n = h->extra_ca ? sk_X509_INFO_num(h->extra_ca) : 0;
	if (n == 0)
		return cps_fail(err, CPS_E_CONFIG,
				"[letsencrypt] ca_bundle %s holds no PEM certificate",
				path);
	return 0;
}

static int curl_send(void *ud, const cps_http_req *req, cps_http_resp *resp,
		     cps_err *err)
{
	cps_http *h = ud;
	CURL *c = h->curl;
	struct curl_slist *hdrs = NULL;
	body_buf body = { 0 };
	char line[256];
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	/* HTTPGET resets NOBODY and POST, so it goes first */
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(req->method, "HEAD") == 0 ? 1L : 0L);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	if (req->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (req->accept) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);

	h->count++;
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (body.overflow) {
		cps_fail(err, CPS_E_PROTO,
			 "the response from %s is larger than %d bytes; refusing it",
			 req->url, CPS_HTTP_MAX_BODY);
		goto out;
	}
	if (rc != CURLE_OK) {
		cps_fail(err, rc == CURLE_OPERATION_TIMEDOUT ? CPS_E_TIMEOUT : CPS_E_NET,
			 "%s %s failed: %s", req->method, req->url,
			 curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = body.data ? body.data : strdup("");
	resp->body_len = body.len;
	body.data = NULL;
	if (resp->body == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	cps_debug("HTTP %s %s -> %ld", req->method, req->url, resp->status);
	ret = 0;
out:
	free(body.data);
	if (ret != 0)
		cps_http_resp_free(resp);
	return ret;
}

int cps_http_new(const char *ca_bundle, cps_http **out, cps_err *err)
{
	cps_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	pthread_once(&curl_once, curl_init_once);
	h->send = curl_send;
	h->ud = h;
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		free(h);
		return cps_fail(err, CPS_E_NET, "cannot initialize libcurl");
	}
	if (ca_bundle && *ca_bundle && load_extra_ca(h, ca_bundle, err) != 0) {
		cps_http_free(h);
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)TOTAL_TIMEOUT_S);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "cpssl/1 (ACME client)");
	if (h->extra_ca) {
		curl_easy_setopt(h->curl, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(h->curl, CURLOPT_SSL_CTX_DATA, h->extra_ca);
	}
	*out = h;
	return 0;
}

cps_http *cps_http_new_custom(cps_http_send_fn fn, void *ud)
{
	cps_http *h = calloc(1, sizeof(*h));

	if (h) {
		h->send = fn;
		h->ud = ud;
	}
	return h;
}

void cps_http_free(cps_http *h)
{
	if (h == NULL)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->extra_ca)
		sk_X509_INFO_pop_free(h->extra_ca, X509_INFO_free);
	free(h);
}

int cps_http_send(cps_http *h, const cps_http_req *req, cps_http_resp *resp,
		  cps_err *err)
{
	if (h->curl == NULL)
		h->count++;
	return h->send(h->ud, req, resp, err);
}

unsigned cps_http_count(const cps_http *h)
{
	return h->count;
}

long cps_http_retry_after(const char *value, time_t now)
{
	char *end;
	long secs;
	time_t when;

	if (value == NULL || *value == '\0')
		return -1;
	if (isdigit((unsigned char)*value)) {
		secs = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		return *end == '\0' && secs >= 0 ? secs : -1;
	}
	when = curl_getdate(value, &now);
	if (when == (time_t)-1)
		return -1;
	return when > now ? (long)(when - now) : 0;
}

char *cps_http_link(const char *value, const char *rel)
{
	const char *p = value, *lt, *gt;
	char quoted[64], bare[64];

	snprintf(quoted, sizeof(quoted), "rel=\"%s\"", rel);
	snprintf(bare, sizeof(bare), "rel=%s", rel);
	/* <url>;param;param, <url>;param … */
	while ((lt = strchr(p, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		const char *next = strchr(gt, '<');
		size_t plen = next ? (size_t)(next - gt) : strlen(gt);
		char *params = strndup(gt, plen);
		bool hit = false;

		if (params) {
			char *b = strstr(params, bare);

			hit = strstr(params, quoted) != NULL ||
			      (b && (b[strlen(bare)] == '\0' || b[strlen(bare)] == ';' ||
				     b[strlen(bare)] == ',' || b[strlen(bare)] == ' '));
			free(params);
		}
		if (hit)
			return strndup(lt + 1, (size_t)(gt - lt - 1));
		p = gt + 1;
	}
	return NULL;
}
