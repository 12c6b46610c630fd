/* config.ini: the key table, value validation per type, loading (defaults,
 * unknown keys, bad values), in-place editing, and the shipped template. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/config.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-config-XXXXXX";

static const cps_config_key *key(const char *s, const char *k)
{
	return cps_config_key_find(s, k, NULL);
}

static char *norm(const char *s, const char *k, const char *literal_text,
		  cps_err *err)
{
	json_object *v = json_object_new_string(literal_text);
	char *out = NULL;

	cps_config_normalize(key(s, k), v, &out, err);
	json_object_put(v);
	return out;
}

static void normalizes(const char *s, const char *k, const char *in, const char *want)
{
	cps_err err;
	char *got = norm(s, k, in, &err), desc[200];

	snprintf(desc, sizeof(desc), "[%s] %s = '%s' → '%s'", s, k, in, want);
	CHECK_STR(got, want, desc);
	if (!got)
		printf("#   error: %s\n", err.msg);
	free(got);
}

static void refuses(const char *s, const char *k, const char *in, const char *why)
{
	cps_err err;
	char *got = norm(s, k, in, &err), desc[200];

	snprintf(desc, sizeof(desc), "[%s] %s = '%s' refused", s, k, in);
	CHECK(got == NULL && err.code == CPS_E_INVAL, desc);
	CHECK_HAS(err.msg, why, "  says what is expected");
	free(got);
}

static int warnings;
static void count_warnings(cps_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == CPS_LOG_WARNING && strstr(msg, "unknown key 'bogus'"))
		warnings++;
}

static char *path_in(const char *name)
{
	return cps_path_join(dir, name);
}

static char *slurp(const char *path)
{
	char *text = NULL;

	cps_fs_read(path, 1 << 20, &text, NULL, NULL);
	return text;
}

static void write_file(const char *path, const char *text)
{
	cps_fs_write_atomic(path, text, strlen(text), 0640, NULL);
}

static int count_entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dh && (e = readdir(dh)))
		n += e->d_name[0] != '.';
	if (dh)
		closedir(dh);
	return n;
}

int main(void)
{
	cps_config *cfg = NULL;
	cps_err err;
	char *p, *text, *tmpl, *shipped;
	struct stat st;
	json_object *v;

	if (mkdtemp(dir) == NULL)
		return 1;

	/* every default is a valid value of its own type */
	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);
		char desc[160];

		snprintf(desc, sizeof(desc), "default of [%s] %s is canonical", k->section, k->key);
		text = norm(k->section, k->key, k->def, &err);
		CHECK_STR(text, k->def, desc);
		free(text);
	}

	CHECK(key("letsencrypt", "nope") == NULL, "unknown key not found");
	CHECK(cps_config_key_find("letsencrypt", "nope", &err) == NULL &&
	      strstr(err.msg, "valid keys: debug, server"), "  error lists the section's keys");
	CHECK(cps_config_key_find("nosuch", "debug", &err) == NULL &&
	      strstr(err.msg, "valid sections: cpssl, letsencrypt, httpd, mail, dns"),
	      "  unknown section lists the sections");

	normalizes("letsencrypt", "debug", "TRUE", "true");
	normalizes("letsencrypt", "debug", "off", "false");
	normalizes("letsencrypt", "debug", " 1 ", "true");
	refuses("letsencrypt", "debug", "maybe", "true or false");
	normalizes("letsencrypt", "lookbehind_days", "-1", "-1");
	refuses("letsencrypt", "lookahead_days", "1000", "from -999 to 999");
	refuses("letsencrypt", "lookahead_days", "ten", "whole number");
	normalizes("letsencrypt", "key_type", "RSA-4096", "rsa-4096");
	refuses("letsencrypt", "key_type", "dsa", "one of: ec-256,ec-384");
	normalizes("mail", "proxy", "", "");
	refuses("mail", "proxy", "nginx", "(or empty)");
	normalizes("httpd", "reload_delay", "now", "now");
	normalizes("httpd", "reload_delay", "5 Seconds", "5 seconds");
	refuses("httpd", "reload_delay", "soon", "not a duration");
	refuses("httpd", "reload_delay", "3 days", "at most one day");
	normalizes("letsencrypt", "server", "https://127.0.0.1:14000/dir", "https://127.0.0.1:14000/dir");
	refuses("letsencrypt", "server", "http://acme.example/dir", "https:// URL");
	normalizes("dns", "public_ip_url", "http://127.0.0.1:8080/ip", "http://127.0.0.1:8080/ip");
	normalizes("dns", "public_ip_url", "https://ip.example/", "https://ip.example/");
	normalizes("dns", "public_ip_url", "", "");
	refuses("dns", "public_ip_url", "ftp://ip.example/", "an http:// or https:// URL");
	refuses("dns", "public_ip_url", "http://", "an http:// or https:// URL");
	refuses("dns", "public_ip_url", "http://a b/", "an http:// or https:// URL");
	refuses("letsencrypt", "ca_bundle", "relative/ca.pem", "absolute path");
	normalizes("httpd", "reload_command", "/usr/sbin/apachectl graceful", "/usr/sbin/apachectl graceful");
	refuses("httpd", "reload_command", "$(reboot) x", "program");
	normalizes("letsencrypt", "additional_certs", "Mail.A.test, www.a.test,,mail.a.test",
		   "mail.a.test,www.a.test");
	refuses("letsencrypt", "additional_certs", "ok.test,bad..test", "empty label");
	normalizes("dns", "resolvers", "127.0.0.1, [::1]:5353", "127.0.0.1:53,[::1]:5353");
	refuses("dns", "rfc2136_server", "127.0.0.1:1,127.0.0.2:2", "single host:port");
	normalizes("letsencrypt", "disabled_challenges", "tls-alpn,http,tls-alpn", "tls-alpn,http");
	refuses("letsencrypt", "disabled_challenges", "smtp", "http,dns,persist,tls-alpn");
	refuses("dns", "rfc2136_key_name", "a ;b", "starts a comment");
	refuses("dns", "rfc2136_key_name", "a\nb", "one line");

	v = json_object_new_array();
	json_object_array_add(v, json_object_new_string("b.test"));
	json_object_array_add(v, json_object_new_string("a.test"));
	CHECK(cps_config_normalize(key("letsencrypt", "additional_certs"), v, &text, &err) == 0,
	      "a list literal is accepted for a list key");
	CHECK_STR(text, "b.test,a.test", "  joined in order");
	free(text);
	CHECK(cps_config_normalize(key("letsencrypt", "debug"), v, &text, &err) == -1,
	      "a list for a bool key is refused");
	json_object_put(v);
	CHECK(cps_config_normalize(key("letsencrypt", "debug"), NULL, &text, &err) == -1,
	      "null is refused");

	/* loading */
	p = path_in("missing.ini");
	CHECK(cps_config_load(p, &cfg, &err) == 0, "missing config.ini loads the built-in defaults");
	CHECK(strcmp(cps_config_str(cfg, CPS_CFG_LE_LOOKAHEAD_DAYS), "10") == 0 &&
	      cps_config_source(cfg, CPS_CFG_LE_LOOKAHEAD_DAYS) == CPS_SRC_BUILTIN,
	      "  lookahead_days is 10 from built-in");
	cps_config_free(cfg);
	free(p);

	p = path_in("a.ini");
	write_file(p, "; comment\n[letsencrypt]\nlookahead_days = 20\nbogus = 1\n"
		      "verify_ip=off\n[httpd]\nreload_delay = now\n");
	cps_log_set_sink(count_warnings, NULL);
	CHECK(cps_config_load(p, &cfg, &err) == 0, "config with an unknown key loads");
	cps_log_set_sink(NULL, NULL);
	CHECK_INT(warnings, 1, "  the unknown key is reported once as a warning");
	CHECK(strcmp(cps_config_str(cfg, CPS_CFG_LE_LOOKAHEAD_DAYS), "20") == 0 &&
	      cps_config_source(cfg, CPS_CFG_LE_LOOKAHEAD_DAYS) == CPS_SRC_FILE,
	      "  lookahead_days is 20 from config.ini");
	CHECK_STR(cps_config_str(cfg, CPS_CFG_LE_VERIFY_IP), "false", "  verify_ip off");
	CHECK_STR(cps_config_str(cfg, CPS_CFG_HTTPD_RELOAD_DELAY), "now", "  reload_delay now");
	cps_config_free(cfg);

	write_file(p, "[letsencrypt]\ndebug = true\n\nlookahead_days = soon\n");
	CHECK(cps_config_load(p, &cfg, &err) == -1 && cfg == NULL, "a bad value fails the load");
	CHECK_HAS(err.msg, "line 4", "  naming the line");
	CHECK_HAS(err.msg, "[letsencrypt] lookahead_days", "  and the key");
	CHECK(err.code == CPS_E_CONFIG, "  as a config error");

	write_file(p, "[letsencrypt\ndebug = true\n");
	CHECK(cps_config_load(p, &cfg, &err) == -1, "a broken section header fails the load");
	CHECK_HAS(err.msg, "line 1", "  naming the line");

	/* editing in place */
	write_file(p, "; top comment\n[letsencrypt]\n; about debug\ndebug = false ; old\n"
		      "lookahead_days = 10\n\n; trailing comment\n[httpd]\nreload_delay = 2 minutes\n");
	chmod(p, 0640);
	CHECK(cps_config_edit(p, key("letsencrypt", "debug"), "true", &err) == 0, "edit an existing key");
	CHECK(cps_config_edit(p, key("letsencrypt", "lookbehind_days"), "-1", &err) == 0,
	      "add a key missing from its section");
	CHECK(cps_config_edit(p, key("dns", "provider"), "rfc2136", &err) == 0,
	      "add a missing section");
	text = slurp(p);
	CHECK_STR(text,
		  "; top comment\n[letsencrypt]\n; about debug\ndebug = true\n"
		  "lookahead_days = 10\nlookbehind_days = -1\n\n; trailing comment\n[httpd]\n"
		  "reload_delay = 2 minutes\n\n[dns]\nprovider = rfc2136\n",
		  "  comments, order and other values are kept");
	free(text);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "  the file keeps its mode");
	CHECK(cps_config_load(p, &cfg, &err) == 0 &&
	      strcmp(cps_config_str(cfg, CPS_CFG_LE_DEBUG), "true") == 0 &&
	      strcmp(cps_config_str(cfg, CPS_CFG_LE_LOOKBEHIND_DAYS), "-1") == 0,
	      "  the edited file loads with the new values");
	cps_config_free(cfg);
	free(p);

	p = path_in("new.ini");
	CHECK(cps_config_edit(p, key("mail", "proxy"), "haproxy", &err) == 0,
	      "editing a missing config.ini creates it from the template");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600, "  mode 0600 (it may hold a TSIG secret)");
	text = slurp(p);
	CHECK(text && strstr(text, "proxy = haproxy\n") && strstr(text, "; type: enum (empty, haproxy)"),
	      "  with the documentation comments and the new value");
	free(text);
	free(p);
	CHECK_INT(count_entries(dir), 2, "no temporary or lock files are left behind");

	/* the shipped template */
	tmpl = cps_config_render_default();
	shipped = slurp("etc/config.ini");
	CHECK(shipped != NULL, "etc/config.ini exists");
	CHECK(tmpl && shipped && strcmp(tmpl, shipped) == 0,
	      "etc/config.ini is the rendered key table (regenerate with make config-template)");
	p = path_in("template.ini");
	write_file(p, tmpl ? tmpl : "");
	CHECK(cps_config_load(p, &cfg, &err) == 0, "the template loads");
	for (int i = 0; cfg && i < CPS_CFG__COUNT; i++)
		if (strcmp(cps_config_str(cfg, (cps_cfg_id)i),
			   cps_config_key_get((cps_cfg_id)i)->def) != 0)
			CHECK(false, "  a template value differs from its default");
	CHECK(cfg && cps_config_source(cfg, CPS_CFG_LE_KEY_TYPE) == CPS_SRC_FILE,
	      "  every key is present in it");
	cps_config_free(cfg);
	free(tmpl);
	free(shipped);
	unlink(p);
	free(p);

	unit_rmtree(dir);
	return unit_done();
}
