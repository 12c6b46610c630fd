/* DNS record types, values and names (cpssl/dns/record.h): what each type
 * accepts, its canonical form, the reason given for each refusal, and the
 * name a zone and a subdomain make. */
#include "cpssl/dns/record.h"
#include "unit.h"

static void accepts(cps_rrtype t, const char *in, const char *want)
{
	char desc[300], *out = NULL;
	cps_err err;
	int rc = cps_dns_value_canonical(t, in, &out, &err);

	snprintf(desc, sizeof(desc), "%s accepts '%.200s'", cps_rrtype_name(t), in);
	if (!CHECK(rc == 0, desc))
		printf("#   error: %s\n", err.msg);
	CHECK_STR(out, want, "  canonical form");
	free(out);
}

static void refuses(cps_rrtype t, const char *in, const char *why)
{
	char desc[300], *out = NULL;
	cps_err err;

	snprintf(desc, sizeof(desc), "%s refuses '%.60s'", cps_rrtype_name(t), in);
	CHECK(cps_dns_value_canonical(t, in, &out, &err) == -1 && err.code == CPS_E_INVAL &&
	      out == NULL, desc);
	CHECK_HAS(err.msg, why, "  reason given");
	free(out);
}

static void name_is(const char *zone, const char *sub, const char *want)
{
	char z[CPS_HOSTNAME_MAX + 1], n[CPS_HOSTNAME_MAX + 1] = "", desc[200];
	cps_err err;

	snprintf(desc, sizeof(desc), "zone '%s' + subdomain '%s'", zone, sub);
	if (!CHECK(cps_dns_record_name(zone, sub, z, n, &err) == 0, desc))
		printf("#   error: %s\n", err.msg);
	CHECK_STR(n, want, "  name");
}

static void name_refused(const char *zone, const char *sub, const char *why)
{
	char z[CPS_HOSTNAME_MAX + 1], n[CPS_HOSTNAME_MAX + 1], desc[200];
	cps_err err;

	snprintf(desc, sizeof(desc), "refuse zone '%.40s' + subdomain '%.60s'", zone, sub);
	CHECK(cps_dns_record_name(zone, sub, z, n, &err) == -1 && err.code == CPS_E_INVAL, desc);
	CHECK_HAS(err.msg, why, "  reason given");
}

static void types(void)
{
	cps_rrtype t = CPS_RR__COUNT;
	cps_err err;

	CHECK(cps_rrtype_parse("txt", &t, &err) == 0 && t == CPS_RR_TXT, "type names are case-insensitive");
	CHECK(cps_rrtype_parse("CAA", &t, &err) == 0 && t == CPS_RR_CAA, "CAA");
	CHECK(cps_rrtype_parse("NS", &t, &err) == -1, "NS is not managed");
	CHECK_HAS(err.msg, "use A, AAAA, TXT, CNAME, MX or CAA", "  the refusal lists the types");
	CHECK(cps_rrtype_parse("", &t, &err) == -1, "an empty type is refused");
	CHECK_STR(cps_rrtype_name(CPS_RR_AAAA), "AAAA", "type name");
}

static void values(void)
{
	char big[CPS_DNS_TXT_MAX + 2];

	accepts(CPS_RR_A, "192.0.2.10", "192.0.2.10");
	refuses(CPS_RR_A, "999.1.1.1", "is not an IPv4 address");
	refuses(CPS_RR_A, "192.0.2", "is not an IPv4 address");
	refuses(CPS_RR_A, "::1", "is not an IPv4 address");
	refuses(CPS_RR_A, "", "is not an IPv4 address");
	accepts(CPS_RR_AAAA, "2001:DB8:0:0::10", "2001:db8::10");
	refuses(CPS_RR_AAAA, "127.0.0.1", "is not an IPv6 address");
	refuses(CPS_RR_AAAA, "2001:db8::g", "is not an IPv6 address");

	accepts(CPS_RR_TXT, "v=spf1 -all", "v=spf1 -all");
	accepts(CPS_RR_TXT, "a \"quoted\" \\ value", "a \"quoted\" \\ value");
	memset(big, 'x', CPS_DNS_TXT_MAX);
	big[CPS_DNS_TXT_MAX] = '\0';
	accepts(CPS_RR_TXT, big, big);
	big[CPS_DNS_TXT_MAX] = 'y';
	big[CPS_DNS_TXT_MAX + 1] = '\0';
	refuses(CPS_RR_TXT, big, "2049 bytes long, more than the 2048");
	refuses(CPS_RR_TXT, "", "cannot be empty");
	refuses(CPS_RR_TXT, "line\nbreak", "control character");
	refuses(CPS_RR_TXT, "caf\xc3\xa9", "outside printable ASCII");

	accepts(CPS_RR_CNAME, "Target.Example.COM.", "target.example.com");
	accepts(CPS_RR_CNAME, "_dkim.example.com", "_dkim.example.com");
	refuses(CPS_RR_CNAME, "192.0.2.1", "is an address");
	refuses(CPS_RR_CNAME, "localhost", "not a fully qualified name");
	refuses(CPS_RR_CNAME, "a..example.com", "not a valid name");
	refuses(CPS_RR_CNAME, "-a.example.com", "not a valid name");
	refuses(CPS_RR_CNAME, "*.example.com", "not a valid name");

	accepts(CPS_RR_MX, "10 Mail.Example.com", "10 mail.example.com");
	accepts(CPS_RR_MX, "0   mx.example.com.", "0 mx.example.com");
	refuses(CPS_RR_MX, "mail.example.com", "give PRIORITY HOST");
	refuses(CPS_RR_MX, "70000 mail.example.com", "priority 0-65535");
	refuses(CPS_RR_MX, "10 mail.example.com extra", "nothing more");
	refuses(CPS_RR_MX, "10 192.0.2.1", "is an address");

	accepts(CPS_RR_CAA, "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\"");
	accepts(CPS_RR_CAA, "128 ISSUEWILD letsencrypt.org", "128 issuewild \"letsencrypt.org\"");
	accepts(CPS_RR_CAA, "0 iodef \"mailto:a@example.com\"", "0 iodef \"mailto:a@example.com\"");
	accepts(CPS_RR_CAA, "0 issue \"ca.example; account=1 \\\"x\\\"\"",
		"0 issue \"ca.example; account=1 \\\"x\\\"\"");
	refuses(CPS_RR_CAA, "issue letsencrypt.org", "flags 0-255");
	refuses(CPS_RR_CAA, "256 issue x", "flags 0-255");
	refuses(CPS_RR_CAA, "0 is-sue x", "the tag is 1-15 letters or digits");
	refuses(CPS_RR_CAA, "0 issue two words", "quote a value that holds spaces");
	refuses(CPS_RR_CAA, "0 issue \"open", "the quoted value must end the value");
	refuses(CPS_RR_CAA, "0 issue \"a\" b", "the quoted value must end the value");
}

static void names(void)
{
	char l63[64], longsub[260];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	snprintf(longsub, sizeof(longsub), "%s.%s.%s.%s", l63, l63, l63, l63);
	name_is("Example.COM", "", "example.com");
	name_is("example.com.", "@", "example.com");
	name_is("example.com", "WWW", "www.example.com");
	name_is("example.com", "_acme-challenge", "_acme-challenge.example.com");
	name_is("example.com", "_acme-challenge.www", "_acme-challenge.www.example.com");
	name_is("example.com", "*", "*.example.com");
	name_is("example.com", "*.dev", "*.dev.example.com");
	name_refused("example.com", "www.other.com.", "ends in '.'");
	name_refused("example.com", "a..b", "not a valid name");
	name_refused("example.com", "a b", "not a valid name");
	name_refused("example.com", "www.*", "'*' only as the whole first label");
	name_refused("example.com", "a/../b", "not a valid name");
	name_refused("example.com", longsub, "longer than 253");
	name_refused("com", "www", "zone com");
	name_refused("192.0.2.1", "www", "zone 192.0.2.1");
	name_refused("*.example.com", "www", "zone *.example.com");
}

int main(void)
{
	types();
	values();
	names();
	return unit_done();
}
