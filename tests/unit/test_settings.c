/* The resolver of effective settings: config.ini and built-in values, a
 * site's own values where the key table allows them, each parsed once into
 * its typed field, and the values derived from several keys. */
#include <unistd.h>

#include "cpssl/core/config.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/settings.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-settings-XXXXXX";

static char warnings[4096];

static void sink(cps_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == CPS_LOG_WARNING)
		snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings), "%s\n",
			 msg);
}

static cps_config *load(const char *text)
{
	char *path = cps_path_join(dir, "config.ini");
	cps_config *cfg = NULL;
	cps_err err;

	cps_fs_write_atomic(path, text, strlen(text), 0600, NULL);
	if (cps_config_load(path, &cfg, &err) != 0)
		printf("# %s\n", err.msg);
	free(path);
	return cfg;
}

static void defaults(void)
{
	cps_config *cfg = load("");
	cps_settings s;
	cps_err err;

	CHECK(cps_settings_parse(cfg, 0, NULL, 0, &s, &err) == 0, "built-in defaults resolve");
	CHECK_STR(s.ca.url, CPS_LE_PRODUCTION, "  the CA is Let's Encrypt production");
	CHECK_STR(s.ca.dir_name, "acme-v02.api.letsencrypt.org.directory", "  its storage name");
	CHECK_STR(s.layout.http01_root, "/var/lib/cpssl/acme-challenge", "  the http-01 root below fs_root /");
	CHECK(s.names.verify_ip && !s.names.strict_mode && !s.names.alternative_form,
	      "  verify_ip on, strict and alternative form off");
	CHECK(s.names.http_ok && !s.names.dns_ok, "  http usable, dns not (no provider)");
	CHECK_INT(s.window.lookahead_days, 10, "  lookahead 10 days");
	CHECK(s.window.fraction > 0.333 && s.window.fraction < 0.334, "  renew_fraction 1/3");
	CHECK_INT(s.key_type, CPS_KEY_EC256, "  key type ec-256");
	CHECK_INT(s.reload.delay, 120, "  reload delay of 2 minutes in seconds");
	CHECK_STR(s.reload.delay_text, "2 minutes", "  and as configured, for messages");
	CHECK(s.reload.reload[CPS_SVC_APACHE] && strcmp(s.reload.reload[CPS_SVC_APACHE][0], "apachectl") == 0 &&
	      strcmp(s.reload.reload[CPS_SVC_APACHE][1], "graceful") == 0 &&
	      s.reload.reload[CPS_SVC_APACHE][2] == NULL,
	      "  the Apache reload command as an argv");
	CHECK(s.reload.configtest[CPS_SVC_HAPROXY] == NULL, "  haproxy has no configtest");
	CHECK(!s.haproxy, "  haproxy off");
	CHECK(s.notify.on_failure && s.notify.command && strcmp(s.notify.command[0], "/usr/sbin/sendmail") == 0,
	      "  failure notices through sendmail");
	CHECK_INT(s.concurrency, 4, "  concurrency 4");
	CHECK(s.src[CPS_CFG_LE_LOOKAHEAD_DAYS] == CPS_SRC_BUILTIN, "  each value says it is built in");
	cps_settings_free(&s);
	cps_config_free(cfg);
}

static void from_file(void)
{
	cps_config *cfg;
	cps_settings s;
	cps_err err;

	cfg = load("[cpssl]\nfs_root = /srv/root\n"
		   "[letsencrypt]\ndebug = yes\nadditional_certs = mail.a.test, b.test\n"
		   "disabled_challenges = http\nkey_type = rsa-3072\nrenew_fraction = 0\n"
		   "dns_validation_wait = 5\n"
		   "[httpd]\nreload_delay = now\nreload_command =\n"
		   "[mail]\nproxy = haproxy\n"
		   "[dns]\nprovider = rfc2136\n");
	CHECK(cfg != NULL && cps_settings_parse(cfg, 0, NULL, 0, &s, &err) == 0,
	      "config.ini values resolve");
	CHECK_STR(s.ca.url, CPS_LE_STAGING, "  debug selects Let's Encrypt staging");
	CHECK_STR(s.layout.http01_root, "/srv/root/var/lib/cpssl/acme-challenge",
		  "  the http-01 root follows fs_root");
	CHECK(s.names.additional_certs.n == 2 && strcmp(s.names.additional_certs.v[0], "mail.a.test") == 0 &&
	      strcmp(s.names.additional_certs.v[1], "b.test") == 0,
	      "  additional_certs as a list");
	CHECK(!s.names.http_ok && s.names.dns_ok, "  http disabled, dns usable with a provider");
	CHECK_INT(s.key_type, CPS_KEY_RSA3072, "  key type rsa-3072");
	CHECK(s.window.fraction == 0, "  renew_fraction off");
	CHECK_INT(s.dns.validation_wait, 5, "  dns_validation_wait in the DNS settings");
	CHECK_INT(s.reload.delay, 0, "  reload now");
	CHECK(s.reload.reload[CPS_SVC_APACHE] == NULL, "  an empty reload command is no command");
	CHECK(s.haproxy, "  haproxy on");
	CHECK(s.src[CPS_CFG_LE_KEY_TYPE] == CPS_SRC_FILE, "  the source is config.ini");
	cps_settings_free(&s);
	cps_config_free(cfg);

	cfg = load("[letsencrypt]\nserver = https://ca.test:14000/dir\nchallenge_dir = /var/lib/acme\n");
	CHECK(cps_settings_parse(cfg, 0, NULL, 0, &s, &err) == 0, "another CA");
	CHECK_STR(s.ca.url, "https://ca.test:14000/dir", "  its directory is the one in use");
	CHECK_STR(s.ca.dir_name, "ca.test:14000.dir", "  named for storage");
	CHECK_STR(s.layout.http01_root, "/var/lib/acme", "  a configured challenge_dir is used as is");
	cps_settings_free(&s);
	cps_config_free(cfg);
}

static void overrides(void)
{
	cps_config *cfg = load("[letsencrypt]\nverify_ip = true\n[dns]\nprovider = rfc2136\n");
	cps_settings s;
	cps_err err;

	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){
						 { "letsencrypt.verify_ip", "false" },
						 { "letsencrypt.key_type", "RSA-2048" },
						 { "dns.provider", "" },
					 }, 3, &s, &err) == 0,
	      "a site's own values resolve");
	CHECK(!s.names.verify_ip && s.src[CPS_CFG_LE_VERIFY_IP] == CPS_SRC_SITE,
	      "  the site's verify_ip wins over config.ini's");
	CHECK_INT(s.key_type, CPS_KEY_RSA2048, "  its key type, made canonical first");
	CHECK_STR(s.text[CPS_CFG_LE_KEY_TYPE], "rsa-2048", "  the effective text is canonical");
	CHECK(!s.names.dns_ok, "  a site without a DNS provider cannot use dns");
	CHECK_INT(s.site_id, 7, "  the settings say whose they are");
	cps_settings_free(&s);

	CHECK(cps_settings_parse(cfg, 0, (cps_override[]){ { "letsencrypt.verify_ip", "false" } }, 1,
				 &s, &err) == 0 && s.names.verify_ip,
	      "the server (no site) never takes a site's value");
	cps_settings_free(&s);

	warnings[0] = '\0';
	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){
						 { "httpd.reload_command", "/bin/sh -c id" },
						 { "letsencrypt.lookahead_days", "90" },
					 }, 2, &s, &err) == 0,
	      "a site's value for a server-only key does not stop the site");
	CHECK(strcmp(s.reload.reload[CPS_SVC_APACHE][0], "apachectl") == 0,
	      "  it is ignored: the server's reload command stays");
	CHECK_INT(s.window.lookahead_days, 10, "  and the server's lookahead");
	CHECK(s.src[CPS_CFG_HTTPD_RELOAD_COMMAND] == CPS_SRC_BUILTIN, "  its source is not the site");
	CHECK_HAS(warnings, "site7 has its own value for [httpd] reload_command, which only the server's config.ini sets",
		  "  a WARNING names the site and the key");
	CHECK_HAS(warnings, "site:set-setting httpd.reload_command null", "  and how to remove it");
	cps_settings_free(&s);

	warnings[0] = '\0';
	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){ { "letsencrypt.nosuch", "1" } }, 1, &s,
				 &err) == 0,
	      "a value for a key that does not exist is not fatal");
	CHECK_HAS(warnings, "'letsencrypt.nosuch', which is not a setting", "  but named");
	cps_settings_free(&s);

	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){ { "letsencrypt.key_type", "dsa-1024" } }, 1,
				 &s, &err) == -1,
	      "a site's value that does not parse is an error");
	CHECK_HAS(err.msg, "site7's own value for letsencrypt.key_type is not usable", "  naming the site and key");
	CHECK_HAS(err.msg, "site:set-setting letsencrypt.key_type VALUE, or null", "  and the fix");
	CHECK_HAS(err.msg, "dsa-1024", "  and the value");
	CHECK(s.text[0] == NULL && s.layout.http01_root == NULL, "  nothing is left half-resolved");

	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){ { "letsencrypt.verify_ip", "maybe" } }, 1,
				 &s, &err) == -1,
	      "a bad boolean is refused");
	CHECK_HAS(err.msg, "expected true or false", "  saying what is expected");
	warnings[0] = '\0';
	CHECK(cps_settings_parse(cfg, 7, (cps_override[]){
						 { "dns.rfc2136_server", "a b" },
						 { "letsencrypt.deploy_hook", "relative/hook" },
						 { "dns.rfc2136_key_secret", "c2VjcmV0" },
					 }, 3, &s, &err) == 0,
	      "a site's values for a DNS server, a hook or a secret are never taken, even broken ones");
	CHECK_STR(s.dns.rfc2136_server, "", "  the server's (empty) rfc2136_server stays");
	CHECK_STR(s.deploy_hook, "", "  the server's (empty) deploy hook stays");
	CHECK_STR(s.dns.key_secret, "", "  and its (empty) TSIG secret");
	CHECK_HAS(warnings, "[dns] rfc2136_server, which only the server's config.ini sets", "  each named");
	CHECK_HAS(warnings, "[letsencrypt] deploy_hook, which only", "  the hook too");
	cps_settings_free(&s);
	cps_config_free(cfg);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 99;
	cps_log_set_sink(sink, NULL);
	defaults();
	from_file();
	overrides();
	unit_rmtree(dir);
	return unit_done();
}
