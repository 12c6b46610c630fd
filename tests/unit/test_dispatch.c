/* The dispatcher: command lookup by module:command and module_command,
 * signatures, and binding of literal arguments to declared parameters. */
#include "modules/dispatch.h"
#include "unit.h"

static int noop(cps_ctx *ctx, json_object **args, size_t nargs,
		json_object **result, cps_err *err)
{
	(void)ctx, (void)args, (void)nargs, (void)result, (void)err;
	return 0;
}

static const cps_command request = {
	"letsencrypt", "request", noop, CPS_SITE_OPTIONAL, 0,
	{ { "names", CPS_T_ARRAY | CPS_T_STRING, NULL },
	  { "verifyip", CPS_T_BOOL, "true" },
	  { "strict", CPS_T_BOOL, "false" } },
	"test",
};

static const cps_command mech = {
	"letsencrypt", "use-mechanism", noop, CPS_SITE_REQUIRED, 0,
	{ { "name", CPS_T_STRING, NULL }, { "mechanism", CPS_T_STRING | CPS_T_NULL, NULL } },
	"test",
};

static const cps_command var = {
	"scope", "get", noop, CPS_SITE_NONE, CPS_CMD_VARIADIC,
	{ { "name", CPS_T_STRING, NULL }, { "args", CPS_T_MIXED, NULL } },
	"test",
};

static const char *bind_json(const cps_command *c, int argc, char **argv,
			     char *buf, size_t len, cps_err *err)
{
	json_object **args, *arr;
	size_t n;

	if (cps_command_bind(c, argv, argc, &args, &n, err) != 0)
		return NULL;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_get(args[i]));
	snprintf(buf, len, "%s", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	cps_args_free(args, n);
	return buf;
}

int main(void)
{
	char buf[512], *sig;
	cps_err err;

	CHECK(cps_command_find("site:add-domain") == cps_command_find("site_add_domain") &&
	      cps_command_find("site:add-domain") != NULL, "module:command and module_command find the same");
	CHECK(cps_command_find("common:get_email") != NULL, "'_' for '-' inside the command name");
	CHECK(cps_command_find("site:nope") == NULL, "unknown command");
	CHECK(cps_command_find("site") == NULL, "module alone is not a command");
	CHECK(cps_command_find("nomodule:add") == NULL, "unknown module");

	sig = cps_command_signature(&request);
	CHECK_STR(sig, "letsencrypt:request(array|string $names, bool $verifyip = true, bool $strict = false)",
		  "signature in ApisCP form");
	free(sig);
	sig = cps_command_signature(&mech);
	CHECK_STR(sig, "letsencrypt:use-mechanism(string $name, ?string $mechanism)", "nullable type shown as ?");
	free(sig);
	sig = cps_command_signature(&var);
	CHECK_STR(sig, "scope:get(string $name, mixed ...$args)", "variadic shown as ...");
	free(sig);

	CHECK_STR(bind_json(&request, 1, (char *[]){ "[a.com,*.a.com]" }, buf, sizeof(buf), &err),
		  "[[\"a.com\",\"*.a.com\"],true,false]", "defaults fill missing arguments");
	CHECK_STR(bind_json(&request, 2, (char *[]){ "a.com", "false" }, buf, sizeof(buf), &err),
		  "[\"a.com\",false,false]", "a string where array|string is declared");
	CHECK_STR(bind_json(&request, 2, (char *[]){ "a.com", "0" }, buf, sizeof(buf), &err),
		  "[\"a.com\",false,false]", "0 for a bool becomes false");
	CHECK(bind_json(&request, 2, (char *[]){ "a.com", "maybe" }, buf, sizeof(buf), &err) == NULL,
	      "a word for a bool is refused");
	CHECK_HAS(err.msg, "argument 2 ($verifyip) must be bool, not a string", "  naming argument and types");
	CHECK(bind_json(&request, 0, NULL, buf, sizeof(buf), &err) == NULL, "a missing required argument is refused");
	CHECK_HAS(err.msg, "missing argument 1 ($names)", "  naming it");
	CHECK(bind_json(&request, 4, (char *[]){ "a", "true", "true", "x" }, buf, sizeof(buf), &err) == NULL,
	      "an extra argument is refused");
	CHECK_HAS(err.msg, "too many arguments", "  saying so");
	CHECK(bind_json(&request, 1, (char *[]){ "[a.com" }, buf, sizeof(buf), &err) == NULL,
	      "an unbalanced literal is refused");
	CHECK_HAS(err.msg, "argument 1 ($names): malformed argument literal: missing ']'", "  with its position");
	CHECK(bind_json(&request, 1, (char *[]){ "null" }, buf, sizeof(buf), &err) == NULL,
	      "null for a non-nullable parameter is refused");

	CHECK_STR(bind_json(&mech, 2, (char *[]){ "*.d.com", "null" }, buf, sizeof(buf), &err),
		  "[\"*.d.com\",null]", "null for ?string");
	CHECK_STR(bind_json(&mech, 2, (char *[]){ "*.d.com", "'null'" }, buf, sizeof(buf), &err),
		  "[\"*.d.com\",\"null\"]", "'null' is the string null");
	CHECK_STR(bind_json(&mech, 2, (char *[]){ "d.com", "30" }, buf, sizeof(buf), &err),
		  "[\"d.com\",\"30\"]", "a number for a string keeps its text");
	CHECK(bind_json(&mech, 2, (char *[]){ "d.com", "[a]" }, buf, sizeof(buf), &err) == NULL,
	      "a list for a string is refused");

	CHECK_STR(bind_json(&var, 4, (char *[]){ "cp.config", "letsencrypt", "debug", "true" }, buf, sizeof(buf), &err),
		  "[\"cp.config\",\"letsencrypt\",\"debug\",true]", "variadic takes every extra value");
	CHECK_STR(bind_json(&var, 1, (char *[]){ "net.hostname" }, buf, sizeof(buf), &err),
		  "[\"net.hostname\"]", "variadic tail may be empty");
	return unit_done();
}
