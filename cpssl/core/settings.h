/* Effective settings, resolved once per command for one subject (a site or
 * the server): config.ini (or the built-in default) for every key, a site's
 * own value for the keys the table lets a site override, each parsed once
 * into a typed field. Layers below the command receive the typed part they
 * need (the layout, the window, the DNS settings, the reload commands), never
 * the config handle and a key name.
 *
 * The key table (CPS_CONFIG_KEYS in config.h) is the single source: each
 * row names the member of cps_settings that holds its value, and the member's
 * C type follows from the key's type:
 *   bool               bool
 *   int, duration      long (a duration in seconds)
 *   fraction           double
 *   command            char ** (NULL-terminated argv, split without a shell)
 *   hostnames, list    cps_strlist
 *   everything else    const char * (the canonical text)
 * Values derived from several keys (the CA in use, the challenge directory,
 * the mechanisms a subject can use) are filled in after the table. */
#ifndef CPSSL_CORE_SETTINGS_H
#define CPSSL_CORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cpssl/core/config.h"
#include "cpssl/core/err.h"
#include "cpssl/core/keytype.h"
#include "cpssl/core/window.h"

#define CPS_LE_PRODUCTION "https://acme-v02.api.letsencrypt.org/directory"
#define CPS_LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"
/* Below fs_root: node_exporter's textfile collector directory on Debian. */
#define CPS_METRICS_DIR_DEFAULT "/var/lib/prometheus/node-exporter"
/* Below fs_root: root's, outside any directory others can write to. */
#define CPS_CHALLENGE_DIR_DEFAULT "/var/lib/cpssl/acme-challenge"

typedef struct cps_strlist {
	char **v;
	size_t n;
} cps_strlist;

/* The CA in use. */
typedef struct cps_ca_settings {
	bool staging;                /* [letsencrypt] debug */
	const char *server;          /* [letsencrypt] server as configured */
	const char *staging_server;  /* used while staging */
	const char *ca_bundle;
	const char *preferred_chain;
	const char *profile;         /* "" = the CA's default */
	const char *eab_kid;         /* external account binding, "" = none */
	const char *eab_hmac_key;    /* its MAC key, base64url (a secret) */
	cps_strlist fallbacks;       /* [letsencrypt] fallback_servers, in order */
	long failover_after;         /* consecutive failures before the next CA */
	long failover_retry_hours;   /* how long a failed CA is passed over */
	const char *url;             /* derived: the ACME directory in use (the
				      * primary; a session may move to a fallback) */
	char dir_name[256];          /* derived: its storage name, e.g.
				      * acme-v02.api.letsencrypt.org.directory */
} cps_ca_settings;

/* Where cpssl writes outside CPSSL_HOME: every system path below fs_root. */
typedef struct cps_layout {
	const char *fs_root;
	const char *challenge_dir;   /* as configured ("" for the default) */
	const char *http01_root;     /* derived: challenge_dir, or <fs_root>
				      * CPS_CHALLENGE_DIR_DEFAULT */
	bool metrics;
	const char *metrics_dir;     /* as configured ("" for the default) */
	const char *metrics_root;    /* derived: metrics_dir, or <fs_root>
				      * CPS_METRICS_DIR_DEFAULT */
} cps_layout;

/* How the names of a request are checked, and which mechanisms can
 * validate them. */
typedef struct cps_name_settings {
	bool verify_ip, strict_mode, alternative_form;
	cps_strlist additional_certs; /* the server certificate's extra names */
	cps_strlist server_addresses; /* the server's addresses not on its
				       * interfaces (canonical IPs) */
	cps_strlist disabled_challenges;
	bool http_ok, dns_ok;        /* derived: not disabled; dns also needs a
				      * provider */
	bool persist_ok;             /* derived: not disabled (used only when
				      * forced with use-mechanism) */
	const char *resolvers;       /* derived: [dns] resolvers */
} cps_name_settings;

/* dns-01 publication and lookups. */
typedef struct cps_dns_settings {
	const char *provider;        /* "rfc2136", "hook" or "" (none) */
	const char *rfc2136_server;  /* "host:port" */
	const char *key_name, *key_algorithm, *key_secret; /* TSIG */
	const char *key_file;        /* or a BIND key file holding them */
	const char *hook;            /* absolute path of the hook */
	const char *authoritative_ns; /* host:port, …; "" = the zone's NS */
	const char *resolvers;       /* host:port, …; "" = resolv.conf */
	long validation_wait;        /* seconds for a TXT record to propagate */
	const char *public_ip_url;   /* "" = no discovery of the public address */
	long txt_ttl;                /* a challenge TXT record's TTL; 0: 60 s
				      * (no key: cpssl-acmems's ttl sets it) */
} cps_dns_settings;

/* The services a deployment reloads. */
typedef enum cps_service {
	CPS_SVC_APACHE = 0,
	CPS_SVC_HAPROXY,
	CPS_SVC__COUNT
} cps_service;

typedef struct cps_reload_settings {
	long delay;                  /* seconds; 0 reloads at once */
	const char *delay_text;      /* derived: as configured, for messages */
	char **reload[CPS_SVC__COUNT];     /* argv, or NULL when none is set */
	char **configtest[CPS_SVC__COUNT]; /* argv, or NULL: no test */
} cps_reload_settings;

typedef struct cps_notify_settings {
	bool on_failure;
	char **command;
	long warn_days;         /* expiry warnings while renewals fail; 0: off */
} cps_notify_settings;

typedef struct cps_settings {
	long site_id;                /* 0: the server */
	char *text[CPS_CFG__COUNT];  /* each key's effective canonical text */
	cps_source src[CPS_CFG__COUNT]; /* and where it came from */

	cps_layout layout;
	cps_ca_settings ca;
	cps_window window;
	cps_name_settings names;
	cps_dns_settings dns;
	cps_reload_settings reload;
	cps_notify_settings notify;
	const char *key_type_name;
	cps_key_type key_type;       /* derived */
	const char *deploy_hook;
	long concurrency;
	long bootstrap_attempts;
	bool syslog;                 /* a line per certificate of a pass */
	long order_limit, order_limit_hours; /* new orders per account */
	const char *mail_proxy;
	bool haproxy;                /* derived: mail_proxy is "haproxy" */
} cps_settings;

/* A site's own value for a key ("section.key" → canonical text). */
typedef struct cps_override {
	const char *key, *value;
} cps_override;

/* Resolve the settings of SITE_ID (0: the server) from CFG and the site's
 * OVERRIDES. An override of a key a site may not set is ignored with a
 * WARNING (it can only come from an older version or a hand-edited store);
 * one that does not parse is an error naming the site, the key and how to
 * fix it. */
int cps_settings_parse(const cps_config *cfg, long site_id,
		       const cps_override *overrides, size_t n,
		       cps_settings *out, cps_err *err);
void cps_settings_free(cps_settings *s);

/* "https://acme-v02.api.letsencrypt.org/directory" →
 * "acme-v02.api.letsencrypt.org.directory" (safe as one path component). */
int cps_server_dirname(const char *url, char *out, size_t len, cps_err *err);

/* fs_root + ABS (an absolute system path such as "/etc/haproxy/ssl.d").
 * Caller frees; NULL when out of memory. */
char *cps_layout_path(const cps_layout *l, const char *abs);

#endif
