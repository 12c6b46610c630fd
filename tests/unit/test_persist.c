/* dns-persist-01 without a network: the challenge as a CA sends it
 * (issuer-domain-names, accounturi, no token) read into the authorization,
 * hostile members dropped; the record's name and value; and the verdict on
 * a TXT value as Pebble's VA gives it (issuer, accounturi, policy,
 * persistUntil, case and syntax rules). */
#include "cpssl/acme/client.h"
#include "cpssl/acme/order.h"
#include "cpssl/acme/persist.h"
#include "cpssl/crypto/key.h"
#include "cpssl/issue/names.h"
#include "unit.h"

#define CA "https://ca.test"

static const char *authz_body;

static int fake_send(void *ud, const cps_http_req *req, cps_http_resp *r, cps_err *err)
{
	(void)ud;
	(void)err;
	memset(r, 0, sizeof(*r));
	r->replay_nonce = strdup("nonce-1");
	r->content_type = strdup("application/json");
	r->status = 200;
	if (strcmp(req->method, "GET") == 0)
		r->body = strdup("{\"newNonce\":\"" CA "/nonce\",\"newAccount\":\"" CA "/acct\","
				 "\"newOrder\":\"" CA "/new-order\"}");
	else if (strcmp(req->method, "HEAD") == 0)
		r->body = strdup("");
	else if (strcmp(req->url, CA "/authz/1") == 0)
		r->body = strdup(authz_body);
	else {
		r->status = 404;
		r->body = strdup("");
	}
	return 0;
}

static void parse_tests(void)
{
	EVP_PKEY *key = NULL;
	cps_acme *c = NULL;
	cps_acme_authz a;
	const cps_acme_challenge *ch;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	cps_acme_new(CA "/dir", cps_http_new_custom(fake_send, NULL), &c, &err);
	cps_acme_use_key(c, key);
	cps_acme_set_kid(c, CA "/acct/7", &err);

	/* as Pebble 2.10 sends it for *.w.example */
	authz_body = "{\"status\":\"pending\",\"wildcard\":true,"
		     "\"identifier\":{\"type\":\"dns\",\"value\":\"w.example\"},\"challenges\":["
		     "{\"type\":\"dns-01\",\"url\":\"" CA "/chal/1\",\"status\":\"pending\","
		     "\"token\":\"abcdefghijklmnopqrstuvwxyz012345\"},"
		     "{\"type\":\"dns-persist-01\",\"url\":\"" CA "/chal/2\",\"status\":\"pending\","
		     "\"accounturi\":\"" CA "/acct/7\","
		     "\"issuer-domain-names\":[\"Pebble.Letsencrypt.ORG\",\"ca.example\"]}]}";
	CHECK(cps_acme_authz_get(c, CA "/authz/1", &a, &err) == 0, "an authorization with dns-persist-01");
	ch = cps_acme_authz_challenge(&a, cps_mech_challenge(CPS_MECH_PERSIST));
	CHECK(ch != NULL, "  the persist mechanism finds its challenge");
	CHECK_STR(a.name, "*.w.example", "  the wildcard name");
	CHECK(ch && ch->token == NULL, "  it has no token");
	CHECK_INT(ch ? (long long)ch->nissuers : -1, 2, "  two issuer domain names");
	CHECK_STR(ch && ch->nissuers ? ch->issuers[0] : NULL, "pebble.letsencrypt.org", "  kept lower case");
	CHECK_STR(ch && ch->nissuers > 1 ? ch->issuers[1] : NULL, "ca.example", "  in the CA's order");
	CHECK_STR(ch ? ch->accounturi : NULL, CA "/acct/7", "  the account URL it names");
	CHECK(cps_acme_authz_challenge(&a, "dns-01")->nissuers == 0, "  dns-01 has none");
	cps_acme_authz_free(&a);

	/* hostile members are dropped, the challenge kept */
	authz_body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
		     "\"challenges\":[{\"type\":\"dns-persist-01\",\"url\":\"" CA "/chal/2\","
		     "\"status\":\"pending\",\"accounturi\":\"https://x/a b\","
		     "\"issuer-domain-names\":[\"bad name; policy=wildcard\",7,\"ok.example\"]}]}";
	CHECK(cps_acme_authz_get(c, CA "/authz/1", &a, &err) == 0, "hostile issuer names and account URL");
	ch = cps_acme_authz_challenge(&a, "dns-persist-01");
	CHECK(ch && ch->nissuers == 1 && strcmp(ch->issuers[0], "ok.example") == 0,
	      "  only the hostname is kept");
	CHECK(ch && ch->accounturi == NULL, "  an account URL with a space is dropped");
	cps_acme_authz_free(&a);

	authz_body = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
		     "\"challenges\":[{\"type\":\"dns-persist-01\",\"url\":\"" CA "/chal/2\","
		     "\"status\":\"pending\",\"issuer-domain-names\":\"ca.example\"}]}";
	CHECK(cps_acme_authz_get(c, CA "/authz/1", &a, &err) == 0, "issuer-domain-names not an array");
	ch = cps_acme_authz_challenge(&a, "dns-persist-01");
	CHECK(ch && ch->nissuers == 0 && ch->accounturi == NULL, "  no issuer names (Pebble before #544: no accounturi)");
	cps_acme_authz_free(&a);
	cps_acme_free(c);
	EVP_PKEY_free(key);
}

static void mech_tests(void)
{
	cps_mech m = CPS_MECH_HTTP;

	CHECK(cps_mech_parse("persist", &m) == 0 && m == CPS_MECH_PERSIST, "\"persist\" is a mechanism");
	CHECK(cps_mech_parse("dns-persist-01", &m) == 0 && m == CPS_MECH_PERSIST, "  as is dns-persist-01");
	CHECK_STR(cps_mech_name(CPS_MECH_PERSIST), "persist", "  its name");
	CHECK_STR(cps_mech_challenge(CPS_MECH_PERSIST), "dns-persist-01", "  its challenge");
	CHECK(cps_mech_parse("Persist", &m) == -1, "  case matters, as for http and dns");
}

static void record_tests(void)
{
	char rec[300], *v = NULL;
	cps_err err;

	CHECK(cps_persist_record("a.example", rec, sizeof(rec), &err) == 0, "the record of a.example");
	CHECK_STR(rec, "_validation-persist.a.example", "  _validation-persist.a.example");
	CHECK(cps_persist_record("*.a.example", rec, sizeof(rec), &err) == 0, "the record of *.a.example");
	CHECK_STR(rec, "_validation-persist.a.example", "  the same name");
	CHECK(cps_persist_record("a.example", rec, 10, &err) == -1, "  a short buffer is an error");

	CHECK(cps_persist_value("Pebble.Test", CA "/acct/7", false, &v, &err) == 0, "a value");
	CHECK_STR(v, "pebble.test; accounturi=" CA "/acct/7", "  issuer (lower case) and account");
	free(v);
	CHECK(cps_persist_value("pebble.test", CA "/acct/7", true, &v, &err) == 0, "a wildcard value");
	CHECK_STR(v, "pebble.test; accounturi=" CA "/acct/7; policy=wildcard", "  with policy=wildcard");
	free(v);
	CHECK(cps_persist_value("pebble.test", CA "/acct/7; policy=wildcard", false, &v, &err) == -1 &&
	      v == NULL, "an account URL with ';' is refused");
	CHECK(cps_persist_value("pebble.test", CA "/a b", false, &v, &err) == -1, "  as is one with a space");
	CHECK(cps_persist_value("pebble test", CA "/acct/7", false, &v, &err) == -1, "  and an issuer that is no hostname");
	CHECK(cps_persist_value("pebble.test", "", false, &v, &err) == -1, "  and no account");
}

static void check_tests(void)
{
	char *iss[] = { "pebble.test", "ca.example" };
	const char *acct = CA "/acct/7";
	static const struct {
		const char *txt;
		bool wild;
		cps_persist_verdict want;
		const char *desc;
	} cases[] = {
		{ "pebble.test; accounturi=" CA "/acct/7", false, CPS_PERSIST_OK, "the value persist-record prints" },
		{ "ca.example;accounturi=" CA "/acct/7", false, CPS_PERSIST_OK, "the CA's second name, no space" },
		{ "  PEBBLE.test ;\tAccountURI = " CA "/acct/7  ", false, CPS_PERSIST_OK, "spaces, tabs, case of issuer and tag" },
		{ "pebble.test; accounturi=" CA "/acct/7", true, CPS_PERSIST_NOT_WILDCARD, "a wildcard without the policy" },
		{ "pebble.test; accounturi=" CA "/acct/7; policy=WILDCARD", true, CPS_PERSIST_OK, "policy=WILDCARD" },
		{ "pebble.test; accounturi=" CA "/acct/7; policy=other", true, CPS_PERSIST_NOT_WILDCARD, "another policy is none" },
		{ "pebble.test; accounturi=" CA "/acct/7; policy=wildcard", false, CPS_PERSIST_OK, "the policy also covers the name" },
		{ "other.test; accounturi=" CA "/acct/7", false, CPS_PERSIST_OTHER_CA, "another CA" },
		{ "pebble.test.evil; accounturi=" CA "/acct/7", false, CPS_PERSIST_OTHER_CA, "a longer issuer is another CA" },
		{ "pebble.test; accounturi=" CA "/acct/8", false, CPS_PERSIST_OTHER_ACCOUNT, "another account" },
		{ "pebble.test; accounturi=" CA "/ACCT/7", false, CPS_PERSIST_OTHER_ACCOUNT, "the account URL is exact" },
		{ "pebble.test; accounturi=" CA "/acct/7x", false, CPS_PERSIST_OTHER_ACCOUNT, "  to the last byte" },
		{ "pebble.test", false, CPS_PERSIST_NO_ACCOUNT, "no accounturi" },
		{ "pebble.test; policy=wildcard", false, CPS_PERSIST_NO_ACCOUNT, "a policy and no accounturi" },
		{ "pebble.test; accounturi=" CA "/acct/7;", false, CPS_PERSIST_MALFORMED, "a trailing ';'" },
		{ "pebble.test; accounturi", false, CPS_PERSIST_MALFORMED, "a tag without a value" },
		{ "pebble.test; accounturi=", false, CPS_PERSIST_MALFORMED, "an empty accounturi" },
		{ "pebble.test; accounturi=a; accounturi=" CA "/acct/7", false, CPS_PERSIST_MALFORMED, "a repeated tag" },
		{ "pebble.test; =x; accounturi=" CA "/acct/7", false, CPS_PERSIST_MALFORMED, "an empty tag" },
		{ "pebble.test; accounturi=" CA "/acct/7; persistUntil=4102444800", false, CPS_PERSIST_OK, "persistUntil in 2100" },
		{ "pebble.test; accounturi=" CA "/acct/7; persistuntil=1000", false, CPS_PERSIST_EXPIRED, "persistUntil in 1970" },
		{ "pebble.test; accounturi=" CA "/acct/7; persistUntil=soon", false, CPS_PERSIST_MALFORMED, "persistUntil not a number" },
		{ "pebble.test; accounturi=" CA "/acct/7; future=1", false, CPS_PERSIST_OK, "an unknown tag is ignored" },
		{ "", false, CPS_PERSIST_OTHER_CA, "an empty record" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(cps_persist_check(cases[i].txt, iss, 2, acct, cases[i].wild, 1700000000LL),
			  cases[i].want, cases[i].desc);
	CHECK_INT(cps_persist_check("pebble.test; accounturi=" CA "/acct/7", iss, 0, acct, false, 0),
		  CPS_PERSIST_OTHER_CA, "a CA naming no issuer accepts nothing");
	CHECK_STR(cps_persist_verdict_text(CPS_PERSIST_OTHER_ACCOUNT), "names another account",
		  "the verdict in words");
}

int main(void)
{
	parse_tests();
	mech_tests();
	record_tests();
	check_tests();
	return unit_done();
}
