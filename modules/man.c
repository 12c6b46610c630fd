/* The manual pages cpcmd(1) and cpssl.ini(5), written from the command
 * table and the configuration key table, so that neither can miss a
 * command or a key. */
#include "modules/man.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/config.h"
#include "cpssl/core/paths.h"
#include "modules/dispatch.h"

#define DATE "2026-11-28"

/* TEXT as roff: no request or control character takes effect, '-' is a
 * minus (options stay copyable), '\' is printed. */
static void roff(FILE *f, const char *text)
{
	int bol = 1;

	for (const char *p = text; *p; p++) {
		if (bol && (*p == '.' || *p == '\''))
			fputs("\\&", f);
		bol = 0;
		if (*p == '\\')
			fputs("\\e", f);
		else if (*p == '-')
			fputs("\\-", f);
		else if (*p == '\n') {
			fputc('\n', f);
			bol = 1;
		} else
			fputc(*p, f);
	}
}

static void bold(FILE *f, const char *text)
{
	fputs("\\fB", f);
	roff(f, text);
	fputs("\\fR", f);
}

typedef struct cmd_walk {
	FILE *f;
	const char *module; /* the module of the previous command */
} cmd_walk;

static const char *site_mode(cps_site_mode m)
{
	switch (m) {
	case CPS_SITE_REQUIRED:
		return "Needs \\fB\\-d\\fR SITE.";
	case CPS_SITE_OPTIONAL:
		return "With \\fB\\-d\\fR SITE for that site, without it for the server.";
	case CPS_SITE_NONE:
		break;
	}
	return "Server-wide: \\fB\\-d\\fR is refused.";
}

static int one_command(const cps_command *cmd, void *ud)
{
	cmd_walk *w = ud;
	char *sig = cps_command_signature(cmd);

	if (w->module == NULL || strcmp(w->module, cmd->module) != 0) {
		fputs(".SS ", w->f);
		roff(w->f, cmd->module);
		fputs(":\n", w->f);
		w->module = cmd->module;
	}
	fputs(".TP\n", w->f);
	bold(w->f, sig ? sig : cmd->name);
	fputc('\n', w->f);
	roff(w->f, cmd->help ? cmd->help : "");
	fprintf(w->f, "\n%s\n", site_mode(cmd->site));
	free(sig);
	return 0;
}

static const char cpcmd_head[] =
	".SH NAME\n"
	"cpcmd \\- issue, renew, install and deploy the TLS certificates of a hosting server's sites\n"
	".SH SYNOPSIS\n"
	".B cpcmd\n"
	"[\\fB\\-d\\fR \\fISITE\\fR|\\fIDOMAIN\\fR] [\\fB\\-o\\fR \\fByaml\\fR|\\fBjson\\fR] "
	"\\fImodule\\fB:\\fIcommand\\fR [\\fIARG\\fR...]\n"
	".br\n"
	".B cpcmd \\-l\n"
	".br\n"
	".B cpcmd \\-\\-default\\-config\n"
	".br\n"
	".B cpcmd \\-\\-version\n"
	".br\n"
	".B cpcmd \\-\\-man\n"
	"\\fBcpcmd\\fR|\\fBcpssl.ini\\fR\n"
	".SH DESCRIPTION\n"
	"\\fBcpcmd\\fR runs one command of cpssl, the SSL subsystem of a hosting control panel: "
	"certificates from an ACME CA (Let's Encrypt by default) for each site's names, by http\\-01, "
	"dns\\-01 or a persistent DNS record, stored per site and deployed to Apache and haproxy "
	"with one coalesced reload; imported certificates; the housekeeping pass that renews what "
	"is due. The result is printed on standard output as YAML (or JSON); messages go to "
	"standard error as \\fILEVEL\\fR\\fB: \\fR\\fItext\\fR as they happen, followed by a summary "
	"when any was raised.\n"
	".SH OPTIONS\n"
	".TP\n"
	"\\fB\\-d\\fR \\fISITE\\fR|\\fIDOMAIN\\fR\n"
	"The site: \\fBsite\\fR\\fIN\\fR or any of the site's domains. Commands that need a site "
	"refuse to run without it; server\\-wide commands refuse it.\n"
	".TP\n"
	"\\fB\\-o\\fR \\fBjson\\fR|\\fByaml\\fR\n"
	"The result's format (default YAML).\n"
	".TP\n"
	".B \\-l\n"
	"Every command with its signature.\n"
	".TP\n"
	".B \\-\\-default\\-config\n"
	"The documented default config.ini (see \\fBcpssl.ini\\fR(5)).\n"
	".TP\n"
	".B \\-\\-version\n"
	"The libraries, their versions and how they are linked.\n"
	".TP\n"
	".B \\-\\-man\n"
	"\\fBcpcmd\\fR|\\fBcpssl.ini\\fR: this page or \\fBcpssl.ini\\fR(5) as roff.\n"
	".PP\n"
	"\\fImodule\\fB_\\fIcommand\\fR is accepted for \\fImodule\\fB:\\fIcommand\\fR, and "
	"\\fB_\\fR for \\fB\\-\\fR in the command's name.\n"
	".SH ARGUMENTS\n"
	"Arguments are literals:\n"
	".TP\n"
	"\\fBnull\\fR, \\fBtrue\\fR, \\fBfalse\\fR\n"
	"null and the booleans.\n"
	".TP\n"
	"\\fB42\\fR, \\fB\\-1\\fR, \\fB1.5\\fR\n"
	"numbers (a number given for a string parameter keeps its text).\n"
	".TP\n"
	"\\fB\\(aqtext\\(aq\\fR, \\fB\"text\"\\fR\n"
	"the string, quotes removed (\\fB\\e\\(aq\\fR, \\fB\\e\"\\fR and \\fB\\e\\e\\fR escapes).\n"
	".TP\n"
	"\\fB\\(aq[a.com,*.a.com]\\(aq\\fR, \\fB\\(aq[]\\(aq\\fR\n"
	"lists.\n"
	".TP\n"
	"\\fB\"[\\(aq*.d.com\\(aq:\\(aqdns\\(aq,\\(aqd.com\\(aq:\\(aqhttp\\(aq]\"\\fR\n"
	"key:value lists.\n"
	".PP\n"
	"Anything else is the string itself. An argument is at most 256 KiB and nests at most 32 "
	"lists deep. A file argument is an absolute path, or \\fB\\-\\fR for standard input; a "
	"secret is never given on the command line.\n"
	".SH COMMANDS\n";

static const char cpcmd_tail[] =
	".SH EXIT STATUS\n"
	".TP\n.B 0\ndone\n"
	".TP\n.B 1\nthe command failed (the ERROR says why and what to do)\n"
	".TP\n.B 2\nusage error: unknown command, bad argument literal or type, missing or extra "
	"argument, \\fB\\-d\\fR missing or not allowed\n"
	".TP\n.B 3\nnothing to do\n"
	".SH ENVIRONMENT\n"
	".TP\n.B CPSSL_HOME\n"
	"a self-contained tree holding \\fBetc/config.ini\\fR and \\fBstorage/\\fR (the "
	"database, certificates, keys and accounts); " CPS_LAYOUT_TEXT ".\n"
	".TP\n.B DEBUG\n"
	"\\fB1\\fR adds DEBUG messages.\n"
	".SH FILES\n"
	".TP\n.I " CPS_DEFAULT_CONFIG "\n"
	"the server's settings, see \\fBcpssl.ini\\fR(5) (\\fI$CPSSL_HOME/etc/config.ini\\fR when "
	"set).\n"
	".TP\n.I " CPS_DEFAULT_STORAGE "/\n"
	"the database, the certificates, their keys (0600) and the ACME accounts "
	"(\\fI$CPSSL_HOME/storage/\\fR when set).\n"
	".SH EXAMPLES\n"
	"Request a certificate for a site's domain and its wildcard, the wildcard by dns\\-01:\n"
	".PP\n.nf\n.RS\n"
	"cpcmd \\-d a.com letsencrypt:request \\(aq[a.com,*.a.com]\\(aq\n"
	".RE\n.fi\n.PP\n"
	"Force a mechanism per name, then revert to automatic:\n"
	".PP\n.nf\n.RS\n"
	"cpcmd \\-d a.com letsencrypt:use\\-mechanism \"[\\(aq*.a.com\\(aq:\\(aqdns\\(aq,\\(aqa.com\\(aq:\\(aqhttp\\(aq]\"\n"
	"cpcmd \\-d a.com letsencrypt:use\\-mechanism null\n"
	".RE\n.fi\n.PP\n"
	"Install an imported certificate, its key read from standard input:\n"
	".PP\n.nf\n.RS\n"
	"cpcmd \\-d a.com ssl:install \\- /root/a.com.crt /root/chain.pem < /root/a.com.key\n"
	".RE\n.fi\n.PP\n"
	"Every certificate, soonest expiry first, as JSON:\n"
	".PP\n.nf\n.RS\n"
	"cpcmd \\-o json letsencrypt:list expires\n"
	".RE\n.fi\n"
	".SH SEE ALSO\n"
	"\\fBcpssl.ini\\fR(5)\n";

static void page_header(FILE *f, const char *name, int section, const char *title)
{
	fprintf(f, ".\\\" Generated by cpcmd --man %s from cpssl's tables; do not edit.\n", name);
	fprintf(f, ".TH \"%s\" \"%d\" \"" DATE "\" \"cpssl\" \"%s\"\n", name, section, title);
}

static void render_cpcmd(FILE *f)
{
	cmd_walk w = { f, NULL };

	page_header(f, "CPCMD", 1, "cpssl commands");
	fputs(cpcmd_head, f);
	cps_command_foreach(one_command, &w);
	fputs(cpcmd_tail, f);
}

static void key_type(FILE *f, const cps_config_key *k)
{
	fprintf(f, ".br\nType: %s", cps_ctype_name(k->type));
	if (k->choices) {
		char choices[512];

		cps_config_choices_text(k, choices, sizeof(choices));
		fputs(", one of: ", f);
		roff(f, choices);
	}
	if (k->type == CPS_CT_INT)
		fprintf(f, ", %ld to %ld", k->min, k->max);
	fputs(k->flags & CPS_CK_SITE ? ". A site may override it.\n" : ". Server-wide.\n", f);
}

static void render_ini(FILE *f)
{
	const char *section = NULL;

	page_header(f, "CPSSL.INI", 5, "cpssl configuration");
	fputs(".SH NAME\n"
	      "cpssl.ini \\- the settings of cpssl: " CPS_DEFAULT_CONFIG "\n"
	      ".SH DESCRIPTION\n"
	      "An INI file of sections and \\fIkey\\fR \\fB=\\fR \\fIvalue\\fR lines; \\fB;\\fR starts "
	      "a comment. A key left out has its default. \\fBcpcmd \\-\\-default\\-config\\fR prints "
	      "every key with its default and description.\n"
	      ".PP\n"
	      "Change a value with \\fBcpcmd scope:set cp.config\\fR \\fISECTION KEY VALUE\\fR (the "
	      "value is checked; comments and order are kept); read one with \\fBcpcmd scope:get "
	      "cp.config\\fR \\fISECTION KEY\\fR. A key a site may override is set for one site with "
	      "\\fBcpcmd \\-d\\fR \\fISITE\\fR \\fBsite:set\\-setting\\fR \\fISECTION\\fB.\\fIKEY VALUE\\fR "
	      "(\\fBnull\\fR reverts to the server's value). A file that holds a secret is made mode "
	      "0600.\n"
	      ".SH KEYS\n", f);
	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (section == NULL || strcmp(section, k->section) != 0) {
			section = k->section;
			fputs(".SS [", f);
			roff(f, section);
			fputs("]\n", f);
		}
		fputs(".TP\n", f);
		bold(f, k->key);
		fputs(" = ", f);
		roff(f, k->def);
		fputc('\n', f);
		roff(f, k->desc);
		fputc('\n', f);
		key_type(f, k);
	}
	fputs(".SH FILES\n"
	      ".TP\n.I " CPS_DEFAULT_CONFIG "\n"
	      "(\\fI$CPSSL_HOME/etc/config.ini\\fR when \\fBCPSSL_HOME\\fR is set)\n"
	      ".SH SEE ALSO\n"
	      "\\fBcpcmd\\fR(1)\n", f);
}

char *cps_man_render(const char *page)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(page, "cpcmd") != 0 && strcmp(page, "cpssl.ini") != 0)
		return NULL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (strcmp(page, "cpcmd") == 0)
		render_cpcmd(f);
	else
		render_ini(f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
