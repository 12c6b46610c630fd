/* Result rendering: YAML keeps every string a string (ambiguous ones are
 * quoted), multi-line text as a block, and JSON is plain json-c. */
#include "cpssl/core/literal.h"
#include "cpssl/core/output.h"
#include "unit.h"

static void renders(const char *literal, cps_format fmt, const char *want)
{
	json_object *v = NULL;
	char *text = NULL, desc[200];
	cps_err err;

	snprintf(desc, sizeof(desc), "%s of %s", fmt == CPS_FMT_YAML ? "YAML" : "JSON",
		 literal);
	if (cps_literal_parse(literal, &v, &err) != 0 ||
	    cps_output_render(v, fmt, &text, &err) != 0) {
		CHECK(false, desc);
		printf("#   %s\n", err.msg);
		json_object_put(v);
		return;
	}
	CHECK_STR(text, want, desc);
	free(text);
	json_object_put(v);
}

int main(void)
{
	json_object *o;
	char *text;
	cps_err err;
	cps_format f;

	renders("true", CPS_FMT_YAML, "true\n");
	renders("null", CPS_FMT_YAML, "null\n");
	renders("site1", CPS_FMT_YAML, "site1\n");
	renders("[a.com,'*.a.com']", CPS_FMT_YAML, "- a.com\n- '*.a.com'\n");
	renders("['true','null','yes','10','','1.5','-3','~']", CPS_FMT_YAML,
		"- 'true'\n- 'null'\n- 'yes'\n- '10'\n- ''\n- '1.5'\n- '-3'\n- '~'\n");
	renders("['2 minutes','2026-11-23T00:00:00Z','0x1f','1:30','127.0.0.1','v1.2']", CPS_FMT_YAML,
		"- 2 minutes\n- '2026-11-23T00:00:00Z'\n- '0x1f'\n- '1:30'\n- '127.0.0.1'\n- v1.2\n");
	renders("[k:[1,true,null]]", CPS_FMT_YAML, "k:\n- 1\n- true\n- null\n");
	renders("['*.d.com':[[domain:d.com,status:pending]]]", CPS_FMT_YAML,
		"'*.d.com':\n- domain: d.com\n  status: pending\n");
	renders("[]", CPS_FMT_YAML, "[]\n");
	renders("['a':'b']", CPS_FMT_JSON, "{\n  \"a\":\"b\"\n}\n");
	renders("null", CPS_FMT_JSON, "null\n");

	o = json_object_new_string("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	CHECK(cps_output_render(o, CPS_FMT_YAML, &text, &err) == 0, "multi-line string renders");
	CHECK_STR(text, "|\n  -----BEGIN CERTIFICATE-----\n  MIIB\n  -----END CERTIFICATE-----\n",
		  "  as a literal block");
	free(text);
	json_object_put(o);

	o = json_object_new_string("a/b");
	CHECK(cps_output_render(o, CPS_FMT_JSON, &text, &err) == 0, "JSON renders");
	CHECK_STR(text, "\"a/b\"\n", "  slashes are not escaped");
	free(text);
	json_object_put(o);

	CHECK(cps_format_parse("json", &f, &err) == 0 && f == CPS_FMT_JSON, "format json");
	CHECK(cps_format_parse("xml", &f, &err) == -1, "format xml refused");
	CHECK_HAS(err.msg, "use yaml or json", "  names the choices");
	return unit_done();
}
