/* cpssl-acmems: an ACME management server (ACMEMS's protocol and
 * configuration) built on libcpssl. The account directory ([account] dir)
 * is a cpssl home: etc/config.ini (the CA, kept in step with acme-server
 * and ca-bundle) and storage/ (the account's key and record, the store).
 *
 *   cpssl-acmems -c FILE register --email ADDR --accept-terms
 *   cpssl-acmems -c FILE serve
 *   cpssl-acmems -c FILE status [-o json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acmems/conf.h"
#include "acmems/server.h"
#include "acmems/status.h"
#include "cpssl/core/config.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/paths.h"
#include "cpssl/issue/failover.h"
#include "cpssl/issue/session.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/server.h"
#include "cpssl/store/settings.h"

typedef struct am_ctx {
	am_conf conf;
	cps_paths paths;
	cps_config *cfg;
	cps_store *st;
	cps_settings set;
	bool has_set;
	cps_session *s;
} am_ctx;

static void sink(cps_level level, const char *msg, void *ud)
{
	(void)ud;
	fprintf(stderr, "%-8s: %s\n", cps_level_name(level), msg);
}

static int usage(void)
{
	fprintf(stderr, "usage: cpssl-acmems -c FILE register --email ADDRESS --accept-terms\n"
			"       cpssl-acmems -c FILE serve\n"
			"       cpssl-acmems -c FILE status [-o json]\n");
	return 2;
}

static int set_key(const char *path, const char *section, const char *key, const char *value,
		   cps_err *err)
{
	const cps_config_key *k = cps_config_key_find(section, key, err);
	char *canon = NULL;
	int rc;

	if (k == NULL)
		return -1;
	if (value == NULL) /* not in this file: cpssl's default */
		value = k->def;
	if (cps_config_canonical(k, value, &canon, err) != 0)
		return cps_err_prefix(err, "%s %s", section, key);
	rc = cps_config_edit(path, k, canon, err);
	free(canon);
	return rc;
}

/* [account]'s failover keys, or cpssl's defaults when it has none. */
static int set_fallbacks(const char *path, const am_conf *c, cps_err *err)
{
	char list[AM_MAX_ITEMS * 1024] = "";
	size_t at = 0;

	for (size_t i = 0; i < c->nfallbacks && at < sizeof(list); i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i ? "," : "",
				       c->fallbacks[i]);
	if (at >= sizeof(list))
		return cps_fail(err, CPS_E_CONFIG, "%s: the fallback-server URLs are too long",
				c->path);
	return set_key(path, "letsencrypt", "fallback_servers", list, err) != 0 ||
			       set_key(path, "letsencrypt", "failover_after", c->failover_after,
				       err) != 0 ||
			       set_key(path, "letsencrypt", "failover_retry_hours",
				       c->failover_retry_hours, err) != 0
		       ? -1 : 0;
}

/* The account directory as a cpssl home whose CA is [account]'s. */
static int open_home(am_ctx *x, cps_err *err)
{
	const am_conf *c = &x->conf;
	char *etc;

	if (cps_paths_init(&x->paths, c->account_dir, err) != 0)
		return -1;
	etc = cps_path_join(c->account_dir, "etc");
	if (etc == NULL || cps_fs_mkdir_p(etc, 0700, err) != 0) {
		free(etc);
		return -1;
	}
	free(etc);
	if (set_key(x->paths.config, "letsencrypt", "server", c->acme_server, err) != 0 ||
	    (c->ca_bundle && set_key(x->paths.config, "letsencrypt", "ca_bundle", c->ca_bundle,
				     err) != 0) ||
	    set_fallbacks(x->paths.config, c, err) != 0)
		return cps_err_prefix(err, "%s", x->paths.config);
	if (cps_config_load(x->paths.config, &x->cfg, err) != 0 ||
	    cps_store_open(x->paths.db, &x->st, err) != 0 ||
	    cps_settings_resolve(x->cfg, x->st, 0, &x->set, err) != 0)
		return -1;
	x->has_set = true;
	return cps_session_open(x->st, &x->set, &x->paths, &x->s, err);
}

static void close_ctx(am_ctx *x)
{
	cps_session_free(x->s);
	if (x->has_set)
		cps_settings_free(&x->set);
	cps_store_close(x->st);
	cps_config_free(x->cfg);
	cps_paths_free(&x->paths);
	am_conf_free(&x->conf);
}

static int cmd_register(am_ctx *x, int argc, char **argv, cps_err *err)
{
	const char *email = NULL, *cas[CPS_FAILOVER_MAX];
	char canon[CPS_EMAIL_MAX + 1];
	bool terms = false;
	size_t n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
			email = argv[++i];
		else if (strcmp(argv[i], "--accept-terms") == 0)
			terms = true;
		else
			return usage();
	}
	if (email == NULL)
		return usage();
	if (!terms)
		return cps_fail(err, CPS_E_INVAL, "registering means accepting the CA's terms of "
				"service: read them (the CA's directory names them) and run again "
				"with --accept-terms");
	if (cps_email_normalize(email, canon, err) != 0 || open_home(x, err) != 0 ||
	    cps_server_set(x->st, CPS_SERVER_EMAIL, canon, err) != 0 ||
	    cps_session_account(x->s, err) != 0)
		return -1;
	printf("account: %s\nca: %s\nemail: %s\n", cps_acme_kid(x->s->acme), x->conf.acme_server,
	       canon);
	/* and at each fallback CA, whose terms --accept-terms accepts as well */
	n = cps_failover_cas(&x->set, cas);
	for (size_t i = 1; i < n; i++) {
		if (cps_session_use_ca(x->s, cas[i], err) != 0 || cps_session_account(x->s, err) != 0)
			return cps_err_prefix(err, "the fallback CA %s", cas[i]);
		printf("account: %s\nca: %s\n", cps_acme_kid(x->s->acme), cas[i]);
	}
	return 0;
}

/* Serving orders certificates with the accounts register made: it never
 * registers one itself, which would accept a CA's terms unasked. */
static int registered(am_ctx *x, cps_err *err)
{
	const char *cas[CPS_FAILOVER_MAX];
	size_t n = cps_failover_cas(&x->set, cas);

	for (size_t i = 0; i < n; i++) {
		char *kid = NULL, *contact = NULL;

		if (cps_account_get(x->st, cas[i], &kid, &contact, err) != 0)
			return -1;
		free(contact);
		if (kid == NULL)
			return cps_fail(err, CPS_E_CONFIG, "no ACME account at %s yet: run cpssl-acmems "
					"-c %s register --email ADDRESS --accept-terms (registering "
					"accepts the CA's terms of service)", cas[i], x->conf.path);
		free(kid);
	}
	return 0;
}

static char *log_path(const am_conf *c)
{
	return cps_path_join(c->account_dir, "requests.log");
}

int main(int argc, char **argv)
{
	am_ctx x;
	const char *file = NULL;
	char *lp = NULL;
	cps_err err = { 0 };
	int rc = 1, i = 1;

	memset(&x, 0, sizeof(x));
	cps_log_set_sink(sink, NULL);
	cps_log_set_debug(getenv("DEBUG") && strcmp(getenv("DEBUG"), "1") == 0);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		file = argv[2];
		i = 3;
	}
	if (file == NULL || i >= argc)
		return usage();
	if (am_conf_load(file, &x.conf, &err) != 0) {
		fprintf(stderr, "ERROR   : %s\n", err.msg);
		return 1;
	}
	lp = log_path(&x.conf);
	if (strcmp(argv[i], "register") == 0)
		rc = cmd_register(&x, argc - i - 1, argv + i + 1, &err);
	else if (strcmp(argv[i], "serve") == 0 && argc == i + 1)
		rc = open_home(&x, &err) == 0 && registered(&x, &err) == 0 &&
				     am_serve(&x.conf, x.s, lp, &err) == 0
			     ? 0 : -1;
	else if (strcmp(argv[i], "status") == 0)
		rc = am_status(&x.conf, lp, argc - i - 1, argv + i + 1, &err);
	else
		rc = usage();
	if (rc == -1)
		fprintf(stderr, "ERROR   : %s\n", err.msg);
	free(lp);
	close_ctx(&x);
	return rc == 2 ? 2 : rc != 0;
}
