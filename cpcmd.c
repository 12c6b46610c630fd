/* cpcmd: argv → dispatcher → YAML/JSON on stdout, messages on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json_c_version.h>
#include <ldns/util.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "cpssl/core/buildinfo.h"
#include "cpssl/core/log.h"
#include "cpssl/deploy/reload.h"
#include "cpssl/core/output.h"
#include "modules/dispatch.h"
#include "modules/man.h"

static void usage(FILE *f)
{
	fputs("usage: cpcmd [-d SITE|DOMAIN] [-o yaml|json] module:command [ARG...]\n"
	      "       cpcmd -l                  list every command\n"
	      "       cpcmd misc:i module:command   show one command's signature\n"
	      "       cpcmd --default-config    print the documented default config.ini\n"
	      "       cpcmd --version           the libraries and how they are linked\n"
	      "       cpcmd --man cpcmd|cpssl.ini   a manual page (roff)\n"
	      "\n"
	      "Arguments are literals: [a,b]  ['k':'v']  null true false 42 'text'\n"
	      "Environment: CPSSL_HOME (" CPS_LAYOUT_TEXT "), DEBUG=1 for detail.\n",
	      f);
}

/* What a security update has to reach: the system's shared libraries take
 * apt's updates at once; a libcurl linked into cpcmd (LINK=curl) only
 * through a rebuild (README: Building). */
static void print_versions(void)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	char stale[512];

	printf("cpcmd\n  libcurl %s (%s; protocols:", cv->version, cv->ssl_version);
	for (const char *const *p = cv->protocols; *p != NULL; p++)
		printf(" %s", *p);
	printf("): %s\n", cps_build_curl_static()
				  ? "linked into cpcmd, a rebuild takes its security updates"
				  : "shared, the system's security updates apply");
	printf("  %s, SQLite %s, json-c %s, libyaml %s, ldns %s: shared, the system's security "
	       "updates apply\n",
	       OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion(), json_c_version(),
	       yaml_get_version_string(), ldns_version());
	if (cps_build_stale(stale, sizeof(stale)))
		printf("WARNING: %s\n", stale);
}

static void print_line(cps_level level, const char *msg, void *ud)
{
	char label[16];

	(void)ud;
	snprintf(label, sizeof(label), "%s", cps_level_name(level));
	fprintf(stderr, "%-8s: %s\n", label, msg);
}

static void print_summary(void)
{
	static const char *const names[] = { "OK", "OK", "WARNING", "ERROR" };
	int worst = cps_report_worst();

	if (worst < 0)
		return;
	fprintf(stderr, "Reporter level: %s\n", names[worst]);
	for (size_t i = 0; i < cps_report_count(); i++) {
		const cps_report_entry *e = cps_report_get(i);

		fprintf(stderr, "%s: %s\n", cps_level_name(e->level), e->msg);
	}
}

static int print_result(json_object *value, cps_format fmt)
{
	char *text;
	cps_err err;

	if (cps_output_render(value, fmt, &text, &err) != 0) {
		cps_error("%s", err.msg);
		return -1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

static int list_one(const cps_command *cmd, void *ud)
{
	char *sig = cps_command_signature(cmd);

	(void)ud;
	printf("%s\n", sig ? sig : cmd->name);
	free(sig);
	return 0;
}

/* Keys pass through this process's memory: it never leaves a core dump,
 * and no other process of the same user may read or trace it. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	const char *site = NULL, *debug = getenv("DEBUG");
	cps_format fmt = CPS_FMT_YAML;
	json_object *result = NULL;
	bool has_result = false;
	cps_ctx ctx;
	cps_err err;
	int opt, rc;

	no_core_dumps();
	if (argc == 2 && strcmp(argv[1], "--default-config") == 0) {
		char *text = cps_config_render_default();

		if (text == NULL)
			return CPS_EXIT_FAIL;
		fputs(text, stdout);
		free(text);
		return CPS_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "--man") == 0) {
		char *text = cps_man_render(argv[2]);

		if (text == NULL) {
			fprintf(stderr, "ERROR   : no manual page '%s' (cpcmd or cpssl.ini)\n", argv[2]);
			return CPS_EXIT_USAGE;
		}
		fputs(text, stdout);
		free(text);
		return CPS_EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		print_versions();
		return CPS_EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], CPS_RELOAD_WAITER_ARG) == 0) {
		cps_paths paths;
		int status = CPS_EXIT_FAIL;

		if (cps_paths_init(&paths, NULL, NULL) == 0) {
			status = cps_reload_waiter(&paths);
			cps_paths_free(&paths);
		}
		return status;
	}
	cps_log_set_sink(print_line, NULL);
	cps_log_set_debug(debug && *debug && strcmp(debug, "0") != 0);

	/* '+': stop at the command so that arguments such as -1 reach it */
	while ((opt = getopt(argc, argv, "+d:o:lh")) != -1) {
		switch (opt) {
		case 'd':
			site = optarg;
			break;
		case 'o':
			if (cps_format_parse(optarg, &fmt, &err) != 0) {
				cps_error("%s", err.msg);
				return CPS_EXIT_USAGE;
			}
			break;
		case 'l':
			cps_command_foreach(list_one, NULL);
			return CPS_EXIT_OK;
		case 'h':
			usage(stdout);
			return CPS_EXIT_OK;
		default:
			usage(stderr);
			return CPS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CPS_EXIT_USAGE;
	}
	if (cps_ctx_init(&ctx, &err) != 0) {
		cps_error("%s", err.msg);
		print_summary();
		cps_report_reset();
		return CPS_EXIT_FAIL;
	}
	rc = cps_dispatch(&ctx, site, argv[optind], argv + optind + 1,
			  argc - optind - 1, &result, &has_result);
	if (has_result && print_result(result, fmt) != 0 && rc == CPS_EXIT_OK)
		rc = CPS_EXIT_FAIL;
	json_object_put(result);
	cps_ctx_free(&ctx);
	fflush(stdout);
	print_summary();
	cps_report_reset();
	return rc;
}
