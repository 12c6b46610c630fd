#include "cpssl/dns/publicip.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "cpssl/core/log.h"

#define CONNECT_TIMEOUT_S 5
#define TOTAL_TIMEOUT_S   10
#define BODY_MAX          128

typedef struct body {
	char buf[BODY_MAX + 1];
	size_t len;
	bool over;
} body;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	body *b = ud;
	size_t len = size * n;

	if (len > BODY_MAX - b->len) {
		b->over = true;
		return 0; /* stops the transfer */
	}
	memcpy(b->buf + b->len, ptr, len);
	b->len += len;
	return len;
}

/* The body as one address, canonical. */
static int address_of(const char *url, body *b, char out[INET6_ADDRSTRLEN], cps_err *err)
{
	unsigned char bin[16];
	char *s = b->buf, *e;

	b->buf[b->len] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (strlen(s) != strspn(s, "0123456789abcdefABCDEF.:"))
		goto bad;
	if (inet_pton(AF_INET, s, bin) == 1) {
		inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN);
		return 0;
	}
	if (inet_pton(AF_INET6, s, bin) == 1) {
		inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN);
		return 0;
	}
bad:
	cps_text_clean(s);
	return cps_fail(err, CPS_E_PROTO,
			"%s answered '%.64s', which is not an IP address: [dns] public_ip_url must "
			"name a service that answers with the caller's address alone, as plain text",
			url, s);
}

int cps_dns_public_ip(const char *url, char out[INET6_ADDRSTRLEN], cps_err *err)
{
	body b = { .len = 0 };
	CURLcode rc;
	CURL *c;
	long status = 0;
	int ret = -1;

	out[0] = '\0';
	pthread_once(&curl_once, curl_init_once);
	if ((c = curl_easy_init()) == NULL)
		return cps_fail(err, CPS_E_NET, "cannot initialize libcurl");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TOTAL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cpssl/1 (public address)");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	/* the status first: an error page is larger than an address */
	if (status != 0 && status != 200)
		cps_fail(err, CPS_E_NET, "GET %s answered HTTP %ld, not 200", url, status);
	else if (b.over)
		cps_fail(err, CPS_E_PROTO,
			 "%s answered more than %d bytes, which is not an address alone", url, BODY_MAX);
	else if (rc != CURLE_OK)
		cps_fail(err, rc == CURLE_OPERATION_TIMEDOUT ? CPS_E_TIMEOUT : CPS_E_NET,
			 "GET %s failed: %s", url, curl_easy_strerror(rc));
	else if (address_of(url, &b, out, err) == 0)
		ret = 0;
	if (ret == 0)
		cps_debug("public address %s, as %s sees it", out, url);
	curl_easy_cleanup(c);
	return ret;
}
