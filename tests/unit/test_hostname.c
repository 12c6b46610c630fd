/* Hostname, e-mail and host:port validation: what is accepted, its canonical
 * form, and the reason given for each refusal. */
#include "cpssl/names/hostname.h"
#include "unit.h"

static void accepts(const char *in, unsigned flags, const char *want)
{
	char out[CPS_HOSTNAME_MAX + 1] = "", desc[400];
	cps_err err;
	int rc = cps_hostname_normalize(in, flags, out, &err);

	snprintf(desc, sizeof(desc), "accept '%.300s'", in);
	CHECK(rc == 0, desc);
	if (rc != 0)
		printf("#   error: %s\n", err.msg);
	CHECK_STR(out, want, "  canonical form");
}

static void refuses(const char *in, unsigned flags, const char *why)
{
	char out[CPS_HOSTNAME_MAX + 1], desc[400];
	cps_err err;

	snprintf(desc, sizeof(desc), "refuse '%.60s' (%s)", in, why);
	CHECK(cps_hostname_normalize(in, flags, out, &err) == -1 &&
	      err.code == CPS_E_INVAL, desc);
	CHECK_HAS(err.msg, why, "  reason given");
}

int main(void)
{
	const unsigned W = CPS_NAME_ALLOW_WILDCARD;
	char l63[64], l64[65], long254[300], long253[260], out[CPS_EMAIL_MAX + 1];
	char host[256];
	cps_err err;
	int port = 0;

	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'a', 64);
	l64[64] = '\0';
	/* 63+1+63+1+63+1+61 = 253 */
	snprintf(long253, sizeof(long253), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(long254, sizeof(long254), "%s.%s.%s.%.62s", l63, l63, l63, l63);

	accepts("a.com", 0, "a.com");
	accepts("WWW.Example.COM", 0, "www.example.com");
	accepts("a.com.", 0, "a.com");
	accepts("xn--bcher-kva.example", 0, "xn--bcher-kva.example");
	accepts("a-b.c0.example", 0, "a-b.c0.example");
	accepts("*.a.com", W, "*.a.com");
	accepts(long253, 0, long253);
	{
		char with63[80];

		snprintf(with63, sizeof(with63), "%s.com", l63);
		accepts(with63, 0, with63);
	}

	/* IP addresses (RFC 8738): only when asked for, in canonical form */
	accepts("192.0.2.1", CPS_NAME_ALLOW_IP, "192.0.2.1");
	accepts("127.0.0.1", W | CPS_NAME_ALLOW_IP, "127.0.0.1");
	accepts("2001:DB8:0:0:0:0:0:1", CPS_NAME_ALLOW_IP, "2001:db8::1");
	accepts("2001:db8:0:0:1:0:0:1", CPS_NAME_ALLOW_IP, "2001:db8::1:0:0:1");
	accepts("2001:db8:0:1:1:1:1:1", CPS_NAME_ALLOW_IP, "2001:db8:0:1:1:1:1:1");
	accepts("0:0:0:0:0:0:0:1", CPS_NAME_ALLOW_IP, "::1");
	accepts("a.com", CPS_NAME_ALLOW_IP, "a.com");
	refuses("192.0.2.1", 0, "it is an IP address");
	refuses("::1", W, "it is an IP address");
	refuses("0.0.0.0", CPS_NAME_ALLOW_IP, "the unspecified address");
	refuses("::", CPS_NAME_ALLOW_IP, "the unspecified address");
	refuses("::ffff:192.0.2.1", CPS_NAME_ALLOW_IP, "an IPv4 address written as IPv6: write it as 192.0.2.1");
	refuses("192.0.2.01", CPS_NAME_ALLOW_IP, "nor a valid IP address (write IPv4 as 192.0.2.1, without leading zeros)");
	refuses("fe80::1%eth0", CPS_NAME_ALLOW_IP, "not allowed");
	CHECK(cps_name_is_ip("192.0.2.1") && cps_name_is_ip("::1") && !cps_name_is_ip("a.com") &&
	      !cps_name_is_ip("192.0.2.1/24"), "cps_name_is_ip: addresses only, no prefixes");
	{
		char ip[CPS_IP_TEXT_MAX];

		CHECK(cps_ip_normalize("2001:db8::1/64", ip, &err) == -1, "cps_ip_normalize refuses a prefix");
		CHECK_HAS(err.msg, "is not a valid IP address", "  saying so");
	}
	refuses("", 0, "empty hostname");
	refuses("../x", 0, "'/' is not allowed");
	refuses("a/b.com", 0, "'/' is not allowed");
	refuses("a..com", 0, "empty label");
	refuses(".a.com", 0, "empty label");
	refuses(long254, 0, "longer than 253");
	{
		char with64[80];

		snprintf(with64, sizeof(with64), "%s.com", l64);
		refuses(with64, 0, "longer than 63");
	}
	refuses("*.a.com", 0, "wildcard is not allowed");
	refuses("*.*.a.com", W, "whole leftmost label");
	refuses("a.*.a.com", W, "whole leftmost label");
	refuses("*a.com", W, "whole leftmost label");
	refuses("-a.com", 0, "hyphen");
	refuses("a-.com", 0, "hyphen");
	refuses("ab--c.com", 0, "reserved for xn--");
	refuses("127.0.0.1", 0, "IP address");
	refuses("::1", 0, "IP address");
	refuses("a.123", 0, "numeric");
	refuses("localhost", 0, "not a fully qualified");
	refuses("*.com", W, "not a fully qualified");
	refuses("a\x01.com", 0, "control characters");
	refuses("a b.com", 0, "' ' is not allowed");
	refuses("b\xc3\xbc" "cher.example", 0, "A-label");
	refuses("a_b.com", 0, "'_' is not allowed");

	CHECK(cps_hostname_within("a.com", "a.com"), "within: equal");
	CHECK(cps_hostname_within("x.y.a.com", "a.com"), "within: subdomain");
	CHECK(cps_hostname_within("*.a.com", "a.com"), "within: wildcard of the domain");
	CHECK(!cps_hostname_within("ba.com", "a.com"), "within: not a suffix match on a label boundary");
	CHECK(!cps_hostname_within("a.com", "x.a.com"), "within: parent is not within child");

	CHECK(cps_email_normalize("Admin@Example.COM", out, &err) == 0, "email accepted");
	CHECK_STR(out, "Admin@example.com", "  domain lower-cased, local part kept");
	CHECK(cps_email_normalize("admin", out, &err) == -1, "email without @ refused");
	CHECK_HAS(err.msg, "user@domain", "  says what is expected");
	CHECK(cps_email_normalize("a b@x.com", out, &err) == -1, "email with a space refused");
	CHECK(cps_email_normalize("a@b@x.com", out, &err) == -1, "email with two @ refused");
	CHECK(cps_email_normalize("a@localhost", out, &err) == -1, "email with a bare host refused");

	CHECK(cps_hostport_parse("127.0.0.1:5353", 53, host, sizeof(host), &port, &err) == 0 &&
	      port == 5353 && strcmp(host, "127.0.0.1") == 0, "host:port");
	CHECK(cps_hostport_parse("[::1]:53", 53, host, sizeof(host), &port, &err) == 0 &&
	      port == 53 && strcmp(host, "::1") == 0, "[v6]:port");
	CHECK(cps_hostport_parse("::1", 53, host, sizeof(host), &port, &err) == 0 &&
	      port == 53, "bare IPv6 takes the default port");
	CHECK(cps_hostport_parse("ns1.example.com", 53, host, sizeof(host), &port, &err) == 0 &&
	      port == 53, "name takes the default port");
	CHECK(cps_hostport_parse("1.2.3.4:0", 53, host, sizeof(host), &port, &err) == -1,
	      "port 0 refused");
	CHECK(cps_hostport_parse("1.2.3.4:70000", 53, host, sizeof(host), &port, &err) == -1,
	      "port 70000 refused");
	CHECK(cps_hostport_parse("a b:53", 53, host, sizeof(host), &port, &err) == -1,
	      "junk host refused");
	return unit_done();
}
