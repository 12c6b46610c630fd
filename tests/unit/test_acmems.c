/* cpssl-acmems without a network: the INI configuration (repeated keys,
 * named blocks, defaults, references, bad values), address, network and
 * size parsing, CIDR and glob matching, the Authentication header and its
 * HMAC, the auth decision, and the request deadline on a socket pair. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "acmems/auth.h"
#include "acmems/conf.h"
#include "acmems/deadline.h"
#include "unit.h"

static const char *seed =
	"[account]\nacme-server = https://127.0.0.1:14000/dir\ndir = /tmp/acmems-unit\n"
	"[mgmt]\nmgmt=192.0.2.13:1313\nmgmt=[::1]:1313\nmax-size = 4k\n"
	"default-verification = http\ndefault-storage = file\n"
	"[verification \"http\"]\ntype = http01\nlistener=192.0.2.80:1380\n"
	"listener=198.51.100.80:1380\nlistener=[fe80::80%eth0]:1380\n"
	"[verification \"dns\"]\ntype = dns01-dnsUpdate\ndns-server=192.0.2.53\nttl=5\ntimeout=30\n"
	"[storage \"none\"]\ntype = none\n"
	"[storage \"file\"]\ntype = file\ndirectory=/etc/acmems/storage\nrenew-within=14\n"
	"[auth \"mail\"]\nip=192.0.2.0/24\nip=198.51.100.21\ndomain=mail.example.org\n"
	"domain=mail.example.com\n"
	"[auth \"ext\"]\nip=198.51.100.128/28\ndomain=*.test.example.org\n"
	"[auth \"mail-secure\"]\nverification = dns\nstorage = file\nip=198.51.100.21\n"
	"hmac_type=sha256\nhmac_key=A1YP67armNf3cBrecyJHdb035\ndomain=mail?.example.org\n"
	"domain=mail.example.com\n";

static void config(void)
{
	am_conf c;
	cps_err err;

	CHECK(am_conf_parse(seed, &c, &err) == 0, "the seed's configuration parses");
	CHECK_INT((long)c.nmgmt, 2, "  two mgmt listeners (a repeated key)");
	CHECK_INT(c.mgmt[1].port, 1313, "  [::1]:1313's port");
	CHECK_STR(c.mgmt[1].host, "::1", "  and address");
	CHECK_INT((long)c.max_size, 4096, "  max-size 4k");
	CHECK_INT((long)c.nverifications, 2, "  two verification blocks");
	CHECK_INT((long)c.verifications[0]->nlisteners, 3, "  three listeners for http");
	CHECK_STR(c.verifications[0]->listeners[2].host, "fe80::80", "  the zone index dropped");
	CHECK_STR(c.verifications[1]->dns_server, "192.0.2.53:53", "  dns-server gets port 53");
	CHECK_INT(c.verifications[1]->ttl, 5, "  ttl");
	CHECK_INT((long)c.nauths, 3, "  three auth blocks");
	CHECK_INT((long)c.auths[0]->nips, 2, "  mail has two ip entries");
	CHECK_STR(c.auths[0]->verification->name, "http", "  mail uses default-verification");
	CHECK_STR(c.auths[0]->storage->name, "file", "  and default-storage");
	CHECK_STR(c.auths[2]->verification->name, "dns", "  mail-secure its own verification");
	CHECK_STR(c.auths[2]->hmac_type, "sha256", "  and hmac_type");
	CHECK_INT(c.storages[1]->renew_within, 14, "  renew-within");
	CHECK_INT(c.request_timeout, 30, "  request-timeout defaults to 30 s");
	CHECK_INT(c.timeout, 10, "  and the idle timeout to 10 s");
	am_conf_free(&c);
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[mgmt]\nrequest-timeout=7\n", &c,
			    &err) == 0 && c.request_timeout == 7, "request-timeout is read");
	am_conf_free(&c);
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[mgmt]\nrequest-timeout=0\n", &c,
			    &err) == -1, "request-timeout 0 is refused");
	CHECK_HAS(err.msg, "request-timeout: 0 is not 1-3600", "  saying why");
	CHECK(am_conf_parse("[account]\nacme-server=https://a.test/dir\ndir=/a\n"
			    "fallback-server=https://b.test/dir\nfallback-server=https://c.test/dir\n"
			    "failover-after=2\n", &c, &err) == 0 && c.nfallbacks == 2,
	      "fallback-server repeats");
	CHECK_STR(c.nfallbacks == 2 ? c.fallbacks[1] : "", "https://c.test/dir", "  in order");
	CHECK_STR(c.failover_after ? c.failover_after : "", "2", "  failover-after kept");
	CHECK(c.failover_retry_hours == NULL, "  failover-retry-hours unset: cpssl's default");
	am_conf_free(&c);
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\nfallback-server=http://b.test/\n",
			    &c, &err) == -1, "a fallback-server that is not https:// is refused");
	CHECK_HAS(err.msg, "fallback-server: http://b.test/ is not an https:// URL", "  saying why");

	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[auth \"a\"]\nip=10.0.0.0/8\n"
			    "domain=a.test\nverification=nope\n[verification \"v\"]\ntype=http01\n",
			    &c, &err) == -1, "an unknown verification block is refused");
	CHECK_HAS(err.msg, "no [verification \"nope\"] block", "  naming it");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[auth \"a\"]\nip=10.0.0.0/33\n",
			    &c, &err) == -1, "a bad prefix length is refused");
	CHECK_HAS(err.msg, "line 5", "  naming the line");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[auth \"a\"]\nip=10.0.0.1\n"
			    "[verification \"v\"]\ntype=http01\n", &c, &err) == -1,
	      "an auth block without domains is refused");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[auth \"a\"]\ndomain=a.test\n"
			    "hmac_type=sha256\n[verification \"v\"]\ntype=http01\n", &c, &err) == -1,
	      "hmac_type without hmac_key is refused");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[mgmt]\nmax-size=lots\n", &c,
			    &err) == -1, "a bad max-size is refused");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[verification \"v\"]\ntype=tls\n",
			    &c, &err) == -1, "an unknown verification type is refused");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[mgmt]\nfoo=1\n", &c, &err) == -1,
	      "an unknown key is refused");
	CHECK(am_conf_parse("[account]\nacme-server=x\ndir=/a\n[verification \"d\"]\n"
			    "type=dns01-dnsUpdate\n", &c, &err) == -1,
	      "dns01-dnsUpdate without dns-server is refused");
}

static struct sockaddr_storage peer(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return ss;
}

static bool in(const char *net, const char *ip)
{
	struct sockaddr_storage ss = peer(ip);
	am_cidr c;
	cps_err err;

	return am_cidr_parse(net, &c, &err) == 0 && am_cidr_match(&c, (struct sockaddr *)&ss);
}

static void matching(void)
{
	size_t n;
	cps_err err;

	CHECK(in("192.0.2.0/24", "192.0.2.200"), "192.0.2.200 is in 192.0.2.0/24");
	CHECK(!in("192.0.2.0/24", "192.0.3.1"), "192.0.3.1 is not");
	CHECK(in("198.51.100.128/28", "198.51.100.143"), "the last address of a /28");
	CHECK(!in("198.51.100.128/28", "198.51.100.144"), "  not the next one");
	CHECK(in("198.51.100.21", "198.51.100.21"), "a single address");
	CHECK(!in("198.51.100.21", "198.51.100.20"), "  and not its neighbour");
	CHECK(in("127.0.0.1", "::ffff:127.0.0.1"), "an IPv4-mapped client matches an IPv4 entry");
	CHECK(in("2001:db8::/32", "2001:db8:1::5"), "IPv6 networks");
	CHECK(!in("2001:db8::/32", "192.0.2.1"), "  not an IPv4 client");
	CHECK(in("0.0.0.0/0", "203.0.113.9"), "/0 is everything");
	CHECK(am_size_parse("4k", &n, &err) == 0 && n == 4096, "4k");
	CHECK(am_size_parse("1m", &n, &err) == 0 && n == 1048576, "1m");
	CHECK(am_size_parse("-1", &n, &err) == -1, "a negative size is refused");

	CHECK(am_domain_match("mail?.example.org", "mail1.example.org"), "? matches one character");
	CHECK(!am_domain_match("mail?.example.org", "mail.example.org"), "  and not none");
	CHECK(am_domain_match("*.test.example.org", "a.test.example.org"), "* matches a label");
	CHECK(am_domain_match("MAIL.example.com", "mail.example.com"), "case-insensitive");
	CHECK(!am_domain_match("*.test.example.org", "test.example.org"), "*.d does not match d");
	CHECK(!am_domain_match("*.example.org", "*.x.example.org"),
	      "a wildcard name does not match a pattern glob");
	CHECK(!am_domain_match("*", "*.example.org"), "  not even *");
	CHECK(am_domain_match("*.example.org", "*.example.org"), "a glob naming the wildcard does");
}

static void hmac(void)
{
	const char *body = "-----BEGIN CERTIFICATE REQUEST-----\n";
	unsigned char mac[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	size_t mlen = sizeof(mac), wlen = 0;
	char name[64], hex[2 * EVP_MAX_MD_SIZE + 1], hdr[300];

	CHECK(am_hmac_parse("hmac name=sha256, hash=0aFF", name, sizeof(name), mac, &mlen) == 0,
	      "the seed's header form parses");
	CHECK_STR(name, "sha256", "  the digest name");
	CHECK(mlen == 2 && mac[0] == 0x0a && mac[1] == 0xff, "  the MAC bytes");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("hmac name=sha256 hash=00", name, sizeof(name), mac, &mlen) == 0,
	      "without the comma too");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("basic name=sha256, hash=00", name, sizeof(name), mac, &mlen) == -1,
	      "another scheme is refused");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("hmac name=sha256, hash=0g", name, sizeof(name), mac, &mlen) == -1,
	      "non-hex is refused");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("hmac name=sha256, hash=abc", name, sizeof(name), mac, &mlen) == -1,
	      "an odd length is refused");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("hmac hash=00", name, sizeof(name), mac, &mlen) == -1,
	      "a missing name is refused");
	mlen = sizeof(mac);
	CHECK(am_hmac_parse("hmac name=sha256, hash=00, extra=1", name, sizeof(name), mac, &mlen) == -1,
	      "an unknown parameter is refused");

	EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, "k3y", 3, (const unsigned char *)body,
		  strlen(body), want, sizeof(want), &wlen);
	for (size_t i = 0; i < wlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", want[i]);
	snprintf(hdr, sizeof(hdr), "hmac name=sha256, hash=%s", hex);
	CHECK(am_hmac_ok("sha256", "k3y", hdr, body, strlen(body)), "the right HMAC passes");
	snprintf(hdr, sizeof(hdr), "hmac name=sha2-256, hash=%s", hex);
	CHECK(am_hmac_ok("sha256", "k3y", hdr, body, strlen(body)),
	      "  named sha2-256 as OpenSSL 3's dgst prints it");
	CHECK(!am_hmac_ok("sha256", "k3Y", hdr, body, strlen(body)), "another key fails");
	CHECK(!am_hmac_ok("sha256", "k3y", hdr, body, strlen(body) - 1), "another body fails");
	snprintf(hdr, sizeof(hdr), "hmac name=sha512, hash=%s", hex);
	CHECK(!am_hmac_ok("sha256", "k3y", hdr, body, strlen(body)), "another digest fails");
	snprintf(hdr, sizeof(hdr), "hmac name=sha256, hash=%.62s", hex);
	CHECK(!am_hmac_ok("sha256", "k3y", hdr, body, strlen(body)), "a truncated MAC fails");
}

static void decision(void)
{
	char *names1[] = { "mail.example.com" }, *names2[] = { "mail.example.com", "x.example.org" };
	cps_csr_info csr1 = { .names = names1, .n = 1 }, csr2 = { .names = names2, .n = 2 };
	struct sockaddr_storage a = peer("192.0.2.9"), b = peer("203.0.113.1");
	char why[1024];
	const am_auth *got;
	am_conf c;
	cps_err err;

	if (am_conf_parse(seed, &c, &err) != 0)
		return;
	got = am_authorize(&c, &(am_request){ (struct sockaddr *)&a, NULL, "", 0, &csr1 }, why,
			   sizeof(why));
	CHECK(got && strcmp(got->name, "mail") == 0, "192.0.2.9 may have mail.example.com (mail)");
	got = am_authorize(&c, &(am_request){ (struct sockaddr *)&b, "hmac name=sha256, hash=00", "",
					      0, &csr1 }, why, sizeof(why));
	CHECK(got == NULL, "203.0.113.1 may not");
	CHECK_HAS(why, "auth mail: the client's address is not in its ip list", "  mail says why");
	got = am_authorize(&c, &(am_request){ (struct sockaddr *)&a, NULL, "", 0, &csr2 }, why,
			   sizeof(why));
	CHECK(got == NULL, "one name outside the block's domains refuses the CSR");
	CHECK_HAS(why, "x.example.org is not within its domains", "  naming it");
	am_conf_free(&c);
}

static bool fcntl_ok(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static struct {
	pthread_mutex_t lock;
	int calls;
	char ip[48];
	unsigned seconds;
} cut = { PTHREAD_MUTEX_INITIALIZER, 0, "", 0 };

static void on_cut(void *arg, const char *ip, unsigned seconds)
{
	(void)arg;
	pthread_mutex_lock(&cut.lock);
	cut.calls++;
	snprintf(cut.ip, sizeof(cut.ip), "%s", ip);
	cut.seconds = seconds;
	pthread_mutex_unlock(&cut.lock);
}

/* What the client's end reads within WAIT_MS: 0 at the end of the stream
 * (the server's end was shut down), -2 when nothing happened. */
static int client_sees(int fd, int wait_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b;

	if (poll(&p, 1, wait_ms) <= 0)
		return -2;
	return (int)read(fd, &b, 1);
}

/* A connection still sending after its time is shut down (the descriptor
 * stays open: libmicrohttpd owns it); one whose request arrived is not. */
static void deadline(void)
{
	am_deadlines *d = am_deadlines_start(1, on_cut, NULL);
	int slow[2], done[2];
	am_deadline *es, *ed;

	CHECK(d != NULL, "the deadline watchdog starts");
	if (d == NULL)
		return;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, slow) == 0 &&
	      socketpair(AF_UNIX, SOCK_STREAM, 0, done) == 0, "two socket pairs");
	es = am_deadline_arm(d, slow[0], "192.0.2.7");
	ed = am_deadline_arm(d, done[0], "192.0.2.8");
	am_deadline_disarm(d, ed);
	CHECK_INT(client_sees(slow[1], 200), -2, "within its time a connection is left alone");
	CHECK_INT(client_sees(slow[1], 5000), 0, "after it, its server end is shut down");
	CHECK(fcntl_ok(slow[0]), "  but not closed");
	CHECK_INT(client_sees(done[1], 1500), -2, "a connection whose request arrived is not");
	pthread_mutex_lock(&cut.lock);
	CHECK_INT(cut.calls, 1, "one connection reported cut off");
	CHECK_STR(cut.ip, "192.0.2.7", "  naming its client");
	CHECK_INT((long)cut.seconds, 1, "  and the time it had");
	pthread_mutex_unlock(&cut.lock);
	am_deadline_forget(d, es);
	am_deadline_forget(d, ed);
	am_deadlines_stop(d);
	for (int i = 0; i < 2; i++) {
		close(slow[i]);
		close(done[i]);
	}
}

int main(void)
{
	config();
	matching();
	hmac();
	decision();
	deadline();
	return unit_done();
}
