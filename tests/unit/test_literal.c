/* The ApisCP literal parser: every form the dispatcher accepts, its errors,
 * and that formatting a value gives back a literal that parses to it. */
#include "cpssl/core/literal.h"
#include "unit.h"

/* Parse TEXT and compare its JSON rendering with WANT. */
static void parses(const char *text, const char *want)
{
	json_object *v = NULL;
	cps_err err;
	char desc[256];

	snprintf(desc, sizeof(desc), "parse %s", text);
	if (cps_literal_parse(text, &v, &err) != 0) {
		CHECK(false, desc);
		printf("#   error: %s\n", err.msg);
		return;
	}
	CHECK_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE),
		  want, desc);
	json_object_put(v);
}

static void refuses(const char *text, const char *msg)
{
	json_object *v = NULL;
	cps_err err;
	char desc[256];

	snprintf(desc, sizeof(desc), "refuse %.60s", text);
	CHECK(cps_literal_parse(text, &v, &err) == -1 && v == NULL, desc);
	CHECK_HAS(err.msg, msg, "  with a clear message");
}

static void roundtrip(const char *text)
{
	json_object *a = NULL, *b = NULL;
	char *again, desc[256];
	cps_err err;

	snprintf(desc, sizeof(desc), "format(parse(%s)) parses back equal", text);
	if (cps_literal_parse(text, &a, &err) != 0) {
		CHECK(false, desc);
		return;
	}
	again = cps_literal_format(a);
	CHECK(again && cps_literal_parse(again, &b, &err) == 0 &&
	      json_object_equal(a, b), desc);
	if (again)
		printf("#   formatted: %s\n", again);
	free(again);
	json_object_put(a);
	json_object_put(b);
}

int main(void)
{
	char *big;

	/* scalars */
	parses("null", "null");
	parses("true", "true");
	parses("false", "false");
	parses("42", "42");
	parses("-7", "-7");
	parses("1.5", "1.5");
	parses("2.5e+3", "2500.0");
	parses("1e999", "\"1e999\"");
	parses("1.", "\"1.\"");
	parses("007", "\"007\"");
	parses("a.com", "\"a.com\"");
	parses("'null'", "\"null\"");
	parses("\"true\"", "\"true\"");
	parses("a:b", "\"a:b\"");
	parses("", "\"\"");
	parses("''", "\"\"");
	parses("'it\\'s'", "\"it's\"");
	parses("'a' 'b'", "\"'a' 'b'\"");
	parses("-----BEGIN X-----\nAAA\n-----END X-----",
	       "\"-----BEGIN X-----\\nAAA\\n-----END X-----\"");
	parses("99999999999999999999", "\"99999999999999999999\"");

	/* lists */
	parses("[]", "[]");
	parses("[a.com,*.a.com]", "[\"a.com\",\"*.a.com\"]");
	parses("[domain1.com, domain2.com]", "[\"domain1.com\",\"domain2.com\"]");
	parses("['*.mydomain.com','mydomain.com']", "[\"*.mydomain.com\",\"mydomain.com\"]");
	parses("[a,]", "[\"a\"]");
	parses("[[a,b],[c]]", "[[\"a\",\"b\"],[\"c\"]]");
	parses("[1, true, null, 'x y']", "[1,true,null,\"x y\"]");

	/* key:value lists */
	parses("['*.d.com':'dns','d.com':'http']", "{\"*.d.com\":\"dns\",\"d.com\":\"http\"}");
	parses("[k:v]", "{\"k\":\"v\"}");
	parses("['ip':'127.0.0.1','email':'admin@a.test']",
	       "{\"ip\":\"127.0.0.1\",\"email\":\"admin@a.test\"}");
	parses("[a:[1,2], b:[c:d]]", "{\"a\":[1,2],\"b\":{\"c\":\"d\"}}");
	parses("[x, k:v]", "{\"0\":\"x\",\"k\":\"v\"}");
	parses("['a:b':'c']", "{\"a:b\":\"c\"}");

	/* malformed */
	refuses("[a,b", "missing ']'");
	refuses("[a,b]]", "unexpected text after ']'");
	refuses("['a", "unterminated ' quote");
	refuses("[a,,b]", "empty value");
	/* an IPv6 address unquoted in a list reads as key:value: the error says to quote it */
	refuses("[a.example,2001:db8::1]", "(quote an IPv6 address inside a list: \"['a.example','2001:db8::1']\")");
	parses("['a.example','2001:db8::1']", "[\"a.example\",\"2001:db8::1\"]");
	refuses("[k:]", "empty value");
	refuses("[a[b]]", "unexpected '['");
	refuses("[k:v, k:w]", "duplicate key 'k'");
	refuses("['a' b]", "expected ',' or ']'");
	{
		char deep[200];

		memset(deep, '[', 100);
		memset(deep + 100, ']', 99);
		deep[199] = '\0';
		refuses(deep, "nested too deeply");
	}
	big = malloc(CPS_LITERAL_MAX_LEN + 2);
	memset(big, 'a', CPS_LITERAL_MAX_LEN + 1);
	big[0] = '[';
	big[CPS_LITERAL_MAX_LEN + 1] = '\0';
	refuses(big, "argument is too long");
	free(big);

	/* formatting */
	roundtrip("['*.d.com':'dns','d.com':'http']");
	roundtrip("[[a,b],[c]]");
	roundtrip("['null', 'true', '1', 'a,b', 'it\\'s', '', ' x']");
	roundtrip("[1, 2.5, true, null]");
	return unit_done();
}
