/* DNS against a real BIND (started by tests/integration/30_dns.sh, which
 * passes its addresses and key in CPS_IT_* variables): zone and address
 * lookups, rfc2136 updates signed with TSIG, the propagation wait, the hook
 * provider, and clear errors for wrong keys and dead servers. */
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/dns/provider.h"
#include "cpssl/dns/resolve.h"
#include "unit.h"

static const char *dns, *dead, *tsig_name, *tsig_alg, *tsig_secret,
	*wrong_secret, *hook, *hook_log, *tmp;

#define CHALLENGE "_acme-challenge.www.test"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		printf("Bail out! %s is not set (run tests/integration/30_dns.sh)\n", name);
		exit(1);
	}
	return v;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Show an error message as it reaches the administrator. */
static void diag(const cps_err *err)
{
	printf("#   message: ");
	for (const char *c = err->msg; *c; c++)
		putchar(*c == '\n' ? ' ' : *c);
	putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The TXT values at NAME on the test server, sorted, joined with '|'. */
static char *txt_joined(const char *name)
{
	static char buf[4096];
	char **v = NULL;
	size_t n = 0, o = 0;
	cps_err err;

	if (cps_dns_txt_lookup(dns, name, &v, &n, &err) < 0) {
		snprintf(buf, sizeof(buf), "ERROR: %s", err.msg);
		return buf;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "|" : "", v[i]);
	cps_dns_strv_free(v, n);
	return buf;
}

/* TTLs of NAME's TXT records, straight from the server with ldns: all
 * equal to WANT? (-1 when there are none or the query failed) */
static int txt_ttls_are(const char *name, uint32_t want)
{
	char host[64];
	int port = 0, ok = -1;
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *ns, *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt = NULL;
	const char *colon = strrchr(dns, ':');

	snprintf(host, sizeof(host), "%.*s", (int)(colon - dns), dns);
	port = atoi(colon + 1);
	ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
	ldns_resolver_push_nameserver(r, ns);
	ldns_resolver_set_port(r, (uint16_t)port);
	if (ldns_resolver_query_status(&pkt, r, dn, LDNS_RR_TYPE_TXT,
				       LDNS_RR_CLASS_IN, 0) == LDNS_STATUS_OK && pkt) {
		ldns_rr_list *a = ldns_pkt_answer(pkt);

		for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++)
			ok = (ok != 0 && ldns_rr_ttl(ldns_rr_list_rr(a, i)) == want) ? 1 : 0;
		ldns_pkt_free(pkt);
	}
	ldns_rdf_deep_free(ns);
	ldns_rdf_deep_free(dn);
	ldns_resolver_deep_free(r);
	return ok;
}

static cps_dns_settings rfc2136_settings(void)
{
	cps_dns_settings s = {
		.provider = "rfc2136",
		.rfc2136_server = dns,
		.key_name = tsig_name,
		.key_algorithm = tsig_alg,
		.key_secret = tsig_secret,
		.hook = "",
		.authoritative_ns = dns,
		.resolvers = dns,
	};
	return s;
}

static void test_lookups(void)
{
	char zone[CPS_HOSTNAME_MAX + 1], both[128];
	struct timespec t0;
	char **v = NULL;
	size_t n = 0;
	cps_err err;
	double secs;

	CHECK(cps_dns_zone_of(dns, "www.test", zone, &err) == 0, "zone_of www.test");
	CHECK_STR(zone, "test", "  is test (SOA in the authority section)");
	CHECK(cps_dns_zone_of(dns, "test", zone, &err) == 0, "zone_of test");
	CHECK_STR(zone, "test", "  is test (SOA in the answer)");
	CHECK(cps_dns_zone_of(dns, "a.b.nothere.test", zone, &err) == 0,
	      "zone_of a name that does not exist (NXDOMAIN)");
	CHECK_STR(zone, "test", "  is still test");
	CHECK(cps_dns_zone_of(dns, "HOST.Example.", zone, &err) == 0, "zone_of HOST.Example.");
	CHECK_STR(zone, "example", "  is example, lower case, no trailing dot");
	CHECK(cps_dns_zone_of(dns, "www.example.com", zone, &err) == -1,
	      "zone_of a name BIND does not serve fails");
	CHECK_HAS(err.msg, "REFUSED", "  naming the rcode");
	CHECK_HAS(err.msg, dns, "  and the server");
	diag(&err);

	CHECK(cps_dns_addresses(dns, "www.test", &v, &n, &err) == 0, "addresses of www.test");
	CHECK_INT(n, 2, "  two addresses");
	if (n == 2) {
		qsort(v, n, sizeof(*v), cmp_str);
		snprintf(both, sizeof(both), "%s %s", v[0], v[1]);
		CHECK_STR(both, "127.0.0.2 127.0.0.3", "  127.0.0.2 and 127.0.0.3");
	}
	cps_dns_strv_free(v, n);
	CHECK(cps_dns_addresses(dns, "v6.test", &v, &n, &err) == 0 && n == 1 &&
	      strcmp(v[0], "::1") == 0, "addresses of v6.test: ::1 (AAAA)");
	cps_dns_strv_free(v, n);
	CHECK(cps_dns_addresses(dns, "nothere.test", &v, &n, &err) == 0 && n == 0,
	      "a name that does not exist has no address, and that is not an error");
	cps_dns_strv_free(v, n);
	CHECK(cps_dns_addresses(dns, "test", &v, &n, &err) == 0 && n == 0,
	      "a name without A/AAAA has no address");
	cps_dns_strv_free(v, n);
	CHECK(cps_dns_addresses(dns, "www.example.com", &v, &n, &err) == -1,
	      "addresses: a REFUSED answer is an error");
	CHECK_HAS(err.msg, "REFUSED", "  naming the rcode");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(cps_dns_addresses(dead, "www.test", &v, &n, &err) == -1,
	      "addresses from a server where nothing listens fails");
	secs = since(&t0);
	CHECK(secs < 6.0, "  within bounded time");
	if (secs >= 6.0)
		printf("#   took %.1f s\n", secs);
	CHECK(err.code == CPS_E_TIMEOUT, "  CPS_E_TIMEOUT");
	CHECK_HAS(err.msg, "no answer from", "  'no answer from'");
	CHECK_HAS(err.msg, dead, "  naming the server");
	diag(&err);

	snprintf(both, sizeof(both), "%s, %s", dead, dns);
	CHECK(cps_dns_addresses(both, "www.test", &v, &n, &err) == 0 && n == 2,
	      "a list 'dead, live': the second server answers");
	cps_dns_strv_free(v, n);
	CHECK(cps_dns_addresses("not a server", "www.test", &v, &n, &err) == -1 &&
	      err.code == CPS_E_INVAL, "a malformed server list is refused");

	CHECK(cps_dns_txt_lookup(dns, CHALLENGE, &v, &n, &err) == 0 && n == 0,
	      "no TXT at " CHALLENGE " yet");
	cps_dns_strv_free(v, n);
}

static void expect_new_fails(cps_dns_settings s, const char *needle, const char *desc)
{
	cps_dns_provider *p = (cps_dns_provider *)1;
	cps_err err;

	cps_err_clear(&err);
	CHECK(cps_dns_provider_new(&s, &p, &err) == -1 && p == NULL, desc);
	CHECK_HAS(err.msg, needle, "  the message names what to set");
}

static void test_settings(void)
{
	cps_dns_settings s = rfc2136_settings();
	cps_dns_provider *p = NULL;
	char notexec[512];
	cps_err err;
	int fd;

	s.provider = "";
	expect_new_fails(s, "no DNS provider is configured: set [dns] provider (rfc2136 or hook)",
			 "provider \"\" is refused");
	s.provider = "route53";
	expect_new_fails(s, "set [dns] provider to rfc2136 or hook", "an unknown provider is refused");
	s = rfc2136_settings();
	s.rfc2136_server = "";
	expect_new_fails(s, "[dns] rfc2136_server is not set", "rfc2136 without a server");
	s.rfc2136_server = "127.0.0.1:99999";
	expect_new_fails(s, "[dns] rfc2136_server", "rfc2136 with a bad server");
	s = rfc2136_settings();
	s.key_name = "";
	expect_new_fails(s, "[dns] rfc2136_key_name is not set", "rfc2136 without a key name");
	s = rfc2136_settings();
	s.key_secret = NULL;
	expect_new_fails(s, "[dns] rfc2136_key_secret is not set", "rfc2136 without a secret");
	s.key_secret = "c2VjcmV0!!";
	expect_new_fails(s, "[dns] rfc2136_key_secret is not valid base64", "rfc2136 with a secret that is not base64");
	s = rfc2136_settings();
	s.key_algorithm = "hmac-sha384";
	expect_new_fails(s, "[dns] rfc2136_key_algorithm", "an algorithm ldns cannot sign with is refused up front");
	s = rfc2136_settings();
	s.authoritative_ns = "127.0.0.1:0";
	expect_new_fails(s, "[dns] authoritative_ns", "a bad authoritative_ns is refused");
	s = rfc2136_settings();
	s.resolvers = "1.2.3.4:x";
	expect_new_fails(s, "[dns] resolvers", "a bad resolvers list is refused");

	s = rfc2136_settings();
	s.provider = "hook";
	s.hook = "";
	expect_new_fails(s, "[dns] hook is not set", "hook without a path");
	s.hook = "dns-hook";
	expect_new_fails(s, "[dns] hook must be an absolute path", "a relative hook");
	s.hook = "/nonexistent/dns-hook";
	expect_new_fails(s, "does not exist", "a missing hook");
	snprintf(notexec, sizeof(notexec), "%s/not-executable", tmp);
	fd = open(notexec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	s.hook = notexec;
	expect_new_fails(s, "is not executable", "a hook that is not executable");

	s = rfc2136_settings();
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0 && p != NULL, "rfc2136 settings are accepted");
	CHECK_STR(p ? cps_dns_provider_name(p) : NULL, "rfc2136", "  provider name rfc2136");
	cps_dns_provider_free(p);
	s.provider = "hook";
	s.hook = hook;
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0 && p != NULL, "hook settings are accepted");
	CHECK_STR(p ? cps_dns_provider_name(p) : NULL, "hook", "  provider name hook");
	cps_dns_provider_free(p);
}

static void test_rfc2136(void)
{
	const char *a = "tokenA-0123456789_abcdefghijklmnopqrstuvwxyzABC";
	const char *b = "tokenB-9876543210_ABCDEFGHIJKLMNOPQRSTUVWXYZabc";
	const char *odd = "a \"quoted\" value; with $(x), `y` and \\ backslash";
	char want[256], longv[301];
	cps_dns_settings s = rfc2136_settings();
	cps_dns_provider *p = NULL;
	struct timespec t0;
	cps_err err;
	double secs;

	if (!CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "rfc2136 provider")) {
		printf("#   %s\n", err.msg);
		return;
	}
	if (!CHECK(cps_dns_txt_add(p, CHALLENGE, a, &err) == 0, "add TXT A"))
		printf("#   %s\n", err.msg);
	CHECK_STR(txt_joined(CHALLENGE), a, "  the server answers A");
	CHECK_INT(txt_ttls_are(CHALLENGE, 60), 1, "  with TTL 60");
	CHECK(cps_dns_txt_add(p, CHALLENGE, b, &err) == 0, "add TXT B at the same name");
	snprintf(want, sizeof(want), "%s|%s", a, b);
	CHECK_STR(txt_joined(CHALLENGE), want, "  A and B coexist");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(cps_dns_wait_txt(p, CHALLENGE, b, 5, &err) == 0, "wait_txt for B (authoritative_ns)");
	CHECK(since(&t0) < 1.5, "  returns at once when it is there");

	CHECK(cps_dns_txt_del(p, CHALLENGE, a, &err) == 0, "delete A");
	CHECK_STR(txt_joined(CHALLENGE), b, "  B is left");
	CHECK(cps_dns_txt_del(p, CHALLENGE, a, &err) == 0, "deleting A again is not an error");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cps_err_clear(&err);
	CHECK(cps_dns_wait_txt(p, CHALLENGE, a, 1, &err) == -1, "wait_txt for the deleted A times out");
	secs = since(&t0);
	CHECK(secs >= 0.9 && secs < 2.5, "  after about the 1 s limit");
	if (secs < 0.9 || secs >= 2.5)
		printf("#   took %.2f s\n", secs);
	CHECK(err.code == CPS_E_TIMEOUT, "  CPS_E_TIMEOUT");
	CHECK_HAS(err.msg, dns, "  naming the server that did not answer it");
	CHECK_HAS(err.msg, "1 other TXT value", "  and what it answered");
	diag(&err);
	cps_dns_provider_free(p);

	/* one live server has it, one dead does not answer: only the dead is named */
	snprintf(want, sizeof(want), "%s,%s", dns, dead);
	s.authoritative_ns = want;
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "provider with authoritative_ns live,dead");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(p && cps_dns_wait_txt(p, CHALLENGE, b, 1, &err) == -1 && err.code == CPS_E_TIMEOUT,
	      "wait_txt needs every server: times out");
	secs = since(&t0);
	CHECK(secs < 3.0, "  in bounded time although a server never answers");
	if (secs >= 3.0)
		printf("#   took %.2f s\n", secs);
	CHECK_HAS(err.msg, dead, "  naming the dead server");
	diag(&err);
	snprintf(want, sizeof(want), "%s (", dns);
	CHECK(strstr(err.msg, want) == NULL, "  the live server that has B is not named");
	cps_dns_provider_free(p);
	p = NULL;

	/* no authoritative_ns: the zone's NS (ns.test = 127.0.0.1, port 53) */
	s.authoritative_ns = "";
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "provider without authoritative_ns");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(p && cps_dns_wait_txt(p, CHALLENGE, b, 1, &err) == -1,
	      "wait_txt asks the zone's NS records (nothing serves port 53 here)");
	CHECK_HAS(err.msg, "127.0.0.1:53", "  found ns.test = 127.0.0.1 through the resolvers");
	diag(&err);
	CHECK(since(&t0) < 3.0, "  in bounded time");
	cps_dns_provider_free(p);
	p = NULL;

	s = rfc2136_settings();
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "rfc2136 provider again");
	if (p == NULL)
		return;
	CHECK(cps_dns_txt_add(p, CHALLENGE, odd, &err) == 0, "add a value with quotes, spaces, $ and backslash");
	snprintf(want, sizeof(want), "%s|%s", odd, b);
	CHECK_STR(txt_joined(CHALLENGE), want, "  it reads back byte for byte");
	CHECK(cps_dns_txt_del(p, CHALLENGE, odd, &err) == 0, "  and is deleted exactly");
	memset(longv, 'x', 300);
	longv[0] = 'L';
	longv[299] = 'Z';
	longv[300] = '\0';
	CHECK(cps_dns_txt_add(p, CHALLENGE, longv, &err) == 0, "add a 300-byte value (two strings)");
	CHECK(strncmp(txt_joined(CHALLENGE), longv, 300) == 0, "  it reads back whole");
	CHECK(cps_dns_txt_del(p, CHALLENGE, longv, &err) == 0, "  and is deleted");
	CHECK(cps_dns_txt_del(p, CHALLENGE, b, &err) == 0, "delete B");
	CHECK_STR(txt_joined(CHALLENGE), "", "  no TXT left");

	CHECK(cps_dns_txt_add(p, "_acme-challenge.www.example.com", a, &err) == -1,
	      "a name in no zone of the server fails");
	CHECK_HAS(err.msg, "REFUSED", "  with the server's answer");
	CHECK_HAS(err.msg, "rfc2136", "  naming the provider");
	diag(&err);
	cps_dns_provider_free(p);
}

static void test_rfc2136_errors(void)
{
	cps_dns_settings s = rfc2136_settings();
	cps_dns_provider *p = NULL;
	struct timespec t0;
	cps_err err;
	double secs;

	s.key_secret = wrong_secret;
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "provider with a wrong TSIG secret");
	CHECK(p && cps_dns_txt_add(p, CHALLENGE, "wrong-secret", &err) == -1, "  the update fails");
	CHECK_HAS(err.msg, "the TSIG key was refused", "  'the TSIG key was refused'");
	CHECK_HAS(err.msg, "check [dns] rfc2136_key_name/rfc2136_key_secret", "  saying what to check");
	CHECK_HAS(err.msg, "zone test", "  naming the zone");
	CHECK(strstr(err.msg, wrong_secret) == NULL && strstr(err.msg, tsig_secret) == NULL,
	      "  never quoting a secret");
	CHECK(err.code == CPS_E_CONFIG, "  a configuration error");
	diag(&err);
	CHECK_STR(txt_joined(CHALLENGE), "", "  nothing was added");
	cps_dns_provider_free(p);
	p = NULL;

	s = rfc2136_settings();
	s.key_name = "no-such-key";
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "provider with an unknown key name");
	CHECK(p && cps_dns_txt_add(p, CHALLENGE, "unknown-key", &err) == -1, "  the update fails");
	CHECK_HAS(err.msg, "the TSIG key was refused", "  'the TSIG key was refused'");
	CHECK_HAS(err.msg, "BADKEY", "  BADKEY");
	diag(&err);
	cps_dns_provider_free(p);
	p = NULL;

	s = rfc2136_settings();
	s.rfc2136_server = dead;
	CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "provider whose server is not running");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(p && cps_dns_txt_add(p, CHALLENGE, "dead-server", &err) == -1, "  the update fails");
	secs = since(&t0);
	CHECK(secs < 6.0, "  within bounded time");
	if (secs >= 6.0)
		printf("#   took %.1f s\n", secs);
	CHECK_HAS(err.msg, "no answer from", "  'no answer from'");
	CHECK_HAS(err.msg, dead, "  naming the server");
	diag(&err);
	cps_dns_provider_free(p);
}

static char *read_log(size_t *len)
{
	static char buf[8192];
	int fd = open(hook_log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	*len = n > 0 ? (size_t)n : 0;
	buf[*len] = '\0';
	return buf;
}

static void clear_log(void)
{
	int fd = open(hook_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
}

static bool log_is(const char *a, const char *b, const char *c)
{
	char want[2048];
	size_t len, wl;
	const char *got = read_log(&len);

	wl = (size_t)snprintf(want, sizeof(want), "%s%c%s%c%s%c", a, 0, b, 0, c, 0);
	return len == wl && memcmp(got, want, len) == 0;
}

static void test_hook(void)
{
	cps_dns_settings s = rfc2136_settings();
	cps_dns_provider *p = NULL;
	char pwned[512], odd[1024];
	struct stat st;
	cps_err err;

	s.provider = "hook";
	s.hook = hook;
	if (!CHECK(cps_dns_provider_new(&s, &p, &err) == 0, "hook provider")) {
		printf("#   %s\n", err.msg);
		return;
	}
	clear_log();
	CHECK(cps_dns_txt_add(p, CHALLENGE, "hooktoken_1", &err) == 0, "hook setup");
	CHECK(log_is("setup", CHALLENGE, "hooktoken_1"), "  ran as HOOK setup NAME VALUE");
	CHECK(cps_dns_wait_txt(p, CHALLENGE, "hooktoken_1", 5, &err) == 0,
	      "  wait_txt sees what the hook published");
	clear_log();
	CHECK(cps_dns_txt_del(p, CHALLENGE, "hooktoken_1", &err) == 0, "hook teardown");
	CHECK(log_is("teardown", CHALLENGE, "hooktoken_1"), "  ran as HOOK teardown NAME VALUE");
	CHECK_STR(txt_joined(CHALLENGE), "", "  and the record is gone");

	snprintf(pwned, sizeof(pwned), "%s/pwned", tmp);
	snprintf(odd, sizeof(odd), "a b;$(touch %s) `touch %s` 'q' \"d\" *\nline2", pwned, pwned);
	clear_log();
	CHECK(cps_dns_txt_add(p, CHALLENGE, odd, &err) == 0, "hook with shell syntax in the value");
	CHECK(log_is("setup", CHALLENGE, odd), "  the value reaches the hook byte for byte");
	CHECK(stat(pwned, &st) == -1 && errno == ENOENT, "  and nothing in it was run");

	clear_log();
	CHECK(cps_dns_txt_add(p, CHALLENGE, "fail-now", &err) == -1, "a hook that exits 3");
	CHECK(err.code == CPS_E_EXEC, "  CPS_E_EXEC");
	CHECK_HAS(err.msg, "exit status 3", "  names the exit status");
	CHECK_HAS(err.msg, "zone not managed here", "  quotes its output");
	CHECK_HAS(err.msg, "second line", "  (stderr too)");
	CHECK_HAS(err.msg, hook, "  names the hook");
	diag(&err);
	cps_dns_provider_free(p);
}

int main(void)
{
	dns = env("CPS_IT_DNS");
	dead = env("CPS_IT_DEAD");
	tsig_name = env("CPS_IT_TSIG_NAME");
	tsig_alg = env("CPS_IT_TSIG_ALG");
	tsig_secret = env("CPS_IT_TSIG_SECRET");
	wrong_secret = env("CPS_IT_WRONG_SECRET");
	hook = env("CPS_IT_HOOK");
	hook_log = env("CPS_IT_HOOK_LOG");
	tmp = env("CPS_IT_TMP");

	test_lookups();
	test_settings();
	test_rfc2136();
	test_rfc2136_errors();
	test_hook();
	return unit_done();
}
