#include "acmems/server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "acmems/auth.h"
#include "acmems/cache.h"
#include "acmems/deadline.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/issue/csr.h"
#include "cpssl/issue/issue.h"

#define MAX_TOKENS 512
#define HEADER_MEMORY (32 * 1024)

typedef struct token {
	char *token, *keyauth;
} token;

typedef struct am_srv {
	const am_conf *c;
	cps_session *s;
	const char *log_path;
	pthread_mutex_t issue_lock, tok_lock, log_lock;
	token toks[MAX_TOKENS];
	cps_dns_settings dns[AM_MAX_ITEMS]; /* per verification block */
	struct MHD_Daemon *d[2 * AM_MAX_ITEMS * AM_MAX_ITEMS];
	size_t nd;
	am_deadlines *dl;
} am_srv;

typedef struct conn {
	char *body;
	size_t len, want;
	bool answered;
} conn;

/* ---- the challenge tokens ---------------------------------------------- */

static int tok_publish(void *arg, const char *t, const char *keyauth, cps_err *err)
{
	am_srv *sv = arg;
	int rc = -1;

	pthread_mutex_lock(&sv->tok_lock);
	for (size_t i = 0; i < MAX_TOKENS; i++)
		if (sv->toks[i].token == NULL) {
			sv->toks[i].token = strdup(t);
			sv->toks[i].keyauth = strdup(keyauth);
			rc = sv->toks[i].token && sv->toks[i].keyauth ? 0 : -1;
			break;
		}
	pthread_mutex_unlock(&sv->tok_lock);
	return rc == 0 ? 0 : cps_fail(err, CPS_E_NOMEM, "too many challenges in progress");
}

static void tok_unpublish(void *arg, const char *t)
{
	am_srv *sv = arg;

	pthread_mutex_lock(&sv->tok_lock);
	for (size_t i = 0; i < MAX_TOKENS; i++)
		if (sv->toks[i].token && strcmp(sv->toks[i].token, t) == 0) {
			free(sv->toks[i].token);
			free(sv->toks[i].keyauth);
			sv->toks[i].token = sv->toks[i].keyauth = NULL;
		}
	pthread_mutex_unlock(&sv->tok_lock);
}

static enum MHD_Result reply(struct MHD_Connection *cn, unsigned code, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", code == 200 ? "application/pem-certificate-chain"
								: "text/plain");
	/* one request per connection: its deadline runs from the connection's start */
	MHD_add_response_header(r, "Connection", "close");
	rc = MHD_queue_response(cn, code, r);
	MHD_destroy_response(r);
	return rc;
}

/* ---- connections: who, the log line, the deadline ------------------------ */

static void client_ip(struct MHD_Connection *cn, char *out, size_t len, const struct sockaddr **sa)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(cn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *a = ci ? ci->client_addr : NULL;

	*sa = a;
	snprintf(out, len, "?");
	if (a && a->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a)->sin_addr, out,
			  (socklen_t)len);
	else if (a && a->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, out,
			  (socklen_t)len);
}

/* One line per request, never a key or a secret. */
static void log_request(am_srv *sv, const char *ip, const char *auth, const char *names,
			unsigned code, const char *outcome)
{
	char line[2048], ts[CPS_ISO_TIME_LEN];
	FILE *f;

	snprintf(line, sizeof(line), "%s client=%s auth=%s names=%s status=%u %s",
		 cps_time_iso(time(NULL), ts), ip,
		 auth ? auth : "-", names && *names ? names : "-", code, outcome);
	cps_text_clean(line);
	pthread_mutex_lock(&sv->log_lock);
	fprintf(stderr, "acmems: %s\n", line);
	if (sv->log_path && (f = fopen(sv->log_path, "ae")) != NULL) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
	pthread_mutex_unlock(&sv->log_lock);
}

static void cut_off(void *arg, const char *ip, unsigned seconds)
{
	char why[96];

	snprintf(why, sizeof(why), "the request was not received within request-timeout %u s: "
		 "connection closed", seconds);
	log_request(arg, ip, NULL, NULL, 408, why);
}

static void on_connection(void *cls, struct MHD_Connection *cn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	am_srv *sv = cls;
	const union MHD_ConnectionInfo *fd;
	const struct sockaddr *peer;
	char ip[INET6_ADDRSTRLEN + 1];

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) { /* before libmicrohttpd closes the socket */
		am_deadline_forget(sv->dl, *socket_context);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(cn, MHD_CONNECTION_INFO_CONNECTION_FD);
	client_ip(cn, ip, sizeof(ip), &peer);
	*socket_context = fd ? am_deadline_arm(sv->dl, fd->connect_fd, ip) : NULL;
}

static void request_received(am_srv *sv, struct MHD_Connection *cn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(cn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (ci)
		am_deadline_disarm(sv->dl, ci->socket_context);
}

/* ---- the challenge listeners -------------------------------------------- */

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"

static enum MHD_Result on_challenge(void *cls, struct MHD_Connection *cn, const char *url,
				    const char *method, const char *version, const char *data,
				    size_t *data_size, void **state)
{
	am_srv *sv = cls;
	char *answer = NULL;
	enum MHD_Result rc;

	(void)version, (void)data, (void)data_size;
	if (*state == NULL) { /* headers only so far */
		*state = sv;
		return MHD_YES;
	}
	request_received(sv, cn);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(cn, 405, "only GET\n");
	if (strncmp(url, CHALLENGE_PREFIX, strlen(CHALLENGE_PREFIX)) == 0) {
		const char *t = url + strlen(CHALLENGE_PREFIX);

		pthread_mutex_lock(&sv->tok_lock);
		for (size_t i = 0; i < MAX_TOKENS && answer == NULL; i++)
			if (sv->toks[i].token && strcmp(sv->toks[i].token, t) == 0)
				answer = strdup(sv->toks[i].keyauth);
		pthread_mutex_unlock(&sv->tok_lock);
	}
	if (answer == NULL)
		return reply(cn, 404, "no such challenge\n");
	rc = reply(cn, 200, answer);
	free(answer);
	return rc;
}

/* ---- /sign ---------------------------------------------------------------- */

static size_t verification_index(const am_srv *sv, const am_verification *v)
{
	for (size_t i = 0; i < sv->c->nverifications; i++)
		if (sv->c->verifications[i] == v)
			return i;
	return 0;
}

/* Under the issue lock: the cached chain, or a new order. */
static int sign_locked(am_srv *sv, const am_auth *a, const cps_csr_info *csr, char **chain,
		       char *outcome, size_t olen, cps_err *err)
{
	cps_csr_http http = { tok_publish, tok_unpublish, sv };
	cps_csr_issue q = { csr, a->verification->type == AM_V_DNS01 ? CPS_MECH_DNS : CPS_MECH_HTTP,
			    &http, &sv->dns[verification_index(sv, a->verification)] };
	char key[AM_CACHE_KEY_LEN];
	cps_csr_result res;
	time_t na;
	cps_err e;

	am_cache_key(csr, key);
	if (am_cache_get(a->storage, key, chain, &na) == 1) {
		snprintf(outcome, olen, "cached (storage %s)", a->storage->name);
		return 0;
	}
	if (cps_issue_csr(sv->s, &q, &res, err) != 0)
		return -1;
	if (am_cache_put(a->storage, key, res.chain, &e) != 0)
		cps_warn("storage %s: cannot keep the certificate: %s", a->storage->name, e.msg);
	snprintf(outcome, olen, "issued serial %s by %s (%u requests to the CA)", res.serial,
		 res.ca, res.requests);
	*chain = res.chain;
	res.chain = NULL;
	cps_csr_result_free(&res);
	return 0;
}

static enum MHD_Result sign(am_srv *sv, struct MHD_Connection *cn, conn *st)
{
	const char *hdr = MHD_lookup_connection_value(cn, MHD_HEADER_KIND, "Authentication");
	const struct sockaddr *peer;
	char ip[INET6_ADDRSTRLEN + 1], why[1024], outcome[256] = "", *names = NULL, *chain = NULL;
	cps_csr_info csr;
	const am_auth *a;
	enum MHD_Result rc;
	cps_err e;

	client_ip(cn, ip, sizeof(ip), &peer);
	if (cps_csr_read(st->body, st->len, &csr, &e) != 0) {
		log_request(sv, ip, NULL, NULL, 400, e.msg);
		snprintf(why, sizeof(why), "bad request: %s\n", e.msg);
		return reply(cn, 400, why);
	}
	names = cps_name_set((const char *const *)csr.names, csr.n);
	a = peer ? am_authorize(sv->c, &(am_request){ peer, hdr, st->body, st->len, &csr }, why,
				sizeof(why) - 1)
		 : NULL;
	if (a == NULL) {
		log_request(sv, ip, NULL, names, 403, why);
		strcat(why, "\n");
		rc = reply(cn, 403, why);
		goto out;
	}
	pthread_mutex_lock(&sv->issue_lock);
	if (sign_locked(sv, a, &csr, &chain, outcome, sizeof(outcome), &e) != 0) {
		cps_report_reset();
		pthread_mutex_unlock(&sv->issue_lock);
		log_request(sv, ip, a->name, names, 502, e.msg);
		snprintf(why, sizeof(why), "the CA did not sign: %s\n", e.msg);
		rc = reply(cn, 502, why);
		goto out;
	}
	cps_report_reset();
	pthread_mutex_unlock(&sv->issue_lock);
	log_request(sv, ip, a->name, names, 200, outcome);
	rc = reply(cn, 200, chain);
out:
	free(chain);
	free(names);
	cps_csr_info_free(&csr);
	return rc;
}

/* The headers: only POST /sign with a Content-Length within max-size. */
static enum MHD_Result on_headers(am_srv *sv, struct MHD_Connection *cn, const char *url,
				  const char *method, conn *st)
{
	const char *cl = MHD_lookup_connection_value(cn, MHD_HEADER_KIND, "Content-Length");
	const struct sockaddr *peer;
	char ip[INET6_ADDRSTRLEN + 1], *end, msg[160];
	unsigned long long n;

	st->answered = true;
	client_ip(cn, ip, sizeof(ip), &peer);
	if (strcmp(url, "/sign") != 0) {
		log_request(sv, ip, NULL, NULL, 404, url);
		return reply(cn, 404, "only POST /sign is served here\n");
	}
	if (strcmp(method, "POST") != 0) {
		log_request(sv, ip, NULL, NULL, 405, method);
		return reply(cn, 405, "only POST /sign is served here\n");
	}
	if (cl == NULL || *cl == '\0') {
		log_request(sv, ip, NULL, NULL, 411, "no Content-Length");
		return reply(cn, 411, "a Content-Length header is required\n");
	}
	n = strtoull(cl, &end, 10);
	if (*end || cl[0] == '-') {
		log_request(sv, ip, NULL, NULL, 400, "bad Content-Length");
		return reply(cn, 400, "the Content-Length header is not a number\n");
	}
	if (n > sv->c->max_size) {
		snprintf(msg, sizeof(msg), "the CSR is %llu bytes, over max-size %zu\n", n,
			 sv->c->max_size);
		log_request(sv, ip, NULL, NULL, 413, msg);
		return reply(cn, 413, msg);
	}
	st->answered = false;
	st->want = (size_t)n;
	st->body = calloc(1, st->want + 1);
	return st->body ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_mgmt(void *cls, struct MHD_Connection *cn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **state)
{
	am_srv *sv = cls;
	conn *st = *state;

	(void)version;
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			return MHD_NO;
		*state = st;
		return on_headers(sv, cn, url, method, st);
	}
	if (st->answered) {
		*data_size = 0; /* refused already: the rest is dropped */
		return MHD_YES;
	}
	if (*data_size) {
		if (*data_size > st->want - st->len)
			return reply(cn, 413, "the body is longer than its Content-Length\n");
		memcpy(st->body + st->len, data, *data_size);
		st->len += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	st->answered = true;
	request_received(sv, cn);
	return sign(sv, cn, st);
}

static void on_done(void *cls, struct MHD_Connection *cn, void **state,
		    enum MHD_RequestTerminationCode why)
{
	conn *st = *state;

	(void)cls, (void)cn, (void)why;
	if (st && st != cls) {
		free(st->body);
		free(st);
	}
	*state = NULL;
}

/* ---- starting and stopping ------------------------------------------------ */

static void dns_settings(const am_verification *v, cps_dns_settings *d)
{
	memset(d, 0, sizeof(*d));
	if (v->type != AM_V_DNS01)
		return;
	d->provider = "rfc2136";
	d->rfc2136_server = v->dns_server;
	d->key_name = v->tsig_name;
	d->key_algorithm = v->tsig_algorithm ? v->tsig_algorithm : "hmac-sha256";
	d->key_secret = v->tsig_secret;
	d->key_file = v->tsig_file;
	d->authoritative_ns = v->dns_server; /* asked directly for propagation */
	d->resolvers = v->dns_server;
	d->validation_wait = v->timeout;
	d->txt_ttl = v->ttl;
	d->hook = "";
	d->public_ip_url = "";
}

static int listen_on(am_srv *sv, const am_addr *a, MHD_AccessHandlerCallback h, cps_err *err)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)a->port);
	} else if (inet_pton(AF_INET6, a->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)a->port);
		flags |= MHD_USE_IPv6;
	} else {
		return cps_fail(err, CPS_E_CONFIG, "listener %s: %s is not an IP address", a->text,
				a->host);
	}
	d = MHD_start_daemon(flags, (uint16_t)a->port, NULL, NULL, h, sv,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)sv->c->max_connections,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)sv->c->timeout,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
			     MHD_OPTION_NOTIFY_COMPLETED, on_done, sv,
			     MHD_OPTION_NOTIFY_CONNECTION, on_connection, sv, MHD_OPTION_END);
	if (d == NULL)
		return cps_fail(err, CPS_E_IO, "cannot listen on %s (in use, or not an address of "
				"this host)", a->text);
	sv->d[sv->nd++] = d;
	return 0;
}

static int start_all(am_srv *sv, cps_err *err)
{
	const am_conf *c = sv->c;

	for (size_t i = 0; i < c->nmgmt; i++)
		if (listen_on(sv, &c->mgmt[i], on_mgmt, err) != 0)
			return -1;
	for (size_t i = 0; i < c->nverifications; i++) {
		dns_settings(c->verifications[i], &sv->dns[i]);
		for (size_t j = 0; j < c->verifications[i]->nlisteners; j++)
			if (listen_on(sv, &c->verifications[i]->listeners[j], on_challenge, err) != 0)
				return -1;
	}
	return 0;
}

int am_serve(const am_conf *c, cps_session *s, const char *log_path, cps_err *err)
{
	am_srv *sv = calloc(1, sizeof(*sv));
	sigset_t set;
	int sig = 0, rc;

	if (sv == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (c->nmgmt == 0) {
		free(sv);
		return cps_fail(err, CPS_E_CONFIG, "%s: [mgmt] names no mgmt listener", c->path);
	}
	sv->c = c;
	sv->s = s;
	sv->log_path = log_path;
	pthread_mutex_init(&sv->issue_lock, NULL);
	pthread_mutex_init(&sv->tok_lock, NULL);
	pthread_mutex_init(&sv->log_lock, NULL);
	/* the listeners' threads inherit the mask: only this one takes them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv->dl = am_deadlines_start((unsigned)c->request_timeout, cut_off, sv);
	rc = sv->dl ? start_all(sv, err) : cps_fail(err, CPS_E_NOMEM, "cannot start a thread");
	if (rc == 0) {
		cps_info("cpssl-acmems serves %zu listener(s) with %zu auth block(s)", sv->nd,
			 c->nauths);
		sigwait(&set, &sig);
		cps_info("cpssl-acmems stops (signal %d)", sig);
	}
	for (size_t i = 0; i < sv->nd; i++)
		MHD_stop_daemon(sv->d[i]);
	am_deadlines_stop(sv->dl);
	for (size_t i = 0; i < MAX_TOKENS; i++) {
		free(sv->toks[i].token);
		free(sv->toks[i].keyauth);
	}
	free(sv);
	return rc;
}
