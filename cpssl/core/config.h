/* config.ini: the one table of known keys (type, default, description), the
 * loaded values, typed accessors, validation, and in-place editing that keeps
 * comments and order. */
#ifndef CPSSL_CORE_CONFIG_H
#define CPSSL_CORE_CONFIG_H

#include <stdbool.h>
#include <json-c/json.h>

#include "cpssl/core/err.h"

typedef enum cps_ctype {
	CPS_CT_BOOL,
	CPS_CT_INT,       /* decimal, within [min, max] */
	CPS_CT_STRING,    /* one line of printable text */
	CPS_CT_ENUM,      /* one of choices ("a|b|c"; "" allowed when listed) */
	CPS_CT_DURATION,  /* "now", "N", "N seconds|minutes|hours|days" */
	CPS_CT_URL,       /* https:// URL, or empty */
	CPS_CT_WEB_URL,   /* http:// or https:// URL, or empty */
	CPS_CT_PATH,      /* absolute path, or empty */
	CPS_CT_COMMAND,   /* argv split on spaces; absolute program path or name */
	CPS_CT_HOSTNAMES, /* comma-separated hostnames or IP addresses */
	CPS_CT_HOSTPORT,  /* host:port (port 53 when omitted), or empty */
	CPS_CT_HOSTPORTS, /* comma-separated host:port */
	CPS_CT_CHOICES,   /* comma-separated subset of choices */
	CPS_CT_SECRET,    /* like STRING, never logged */
	CPS_CT_FRACTION,  /* "1/3" or "0.25": from 0 (off) up to, not including, 1 */
	CPS_CT_URLS,      /* comma-separated https:// URLs */
	CPS_CT_IPS,       /* comma-separated IP addresses (canonical text) */
} cps_ctype;

/* A site may override only what cannot reach beyond the site: never a
 * program root runs, a server root talks to, or a secret. */
enum {
	CPS_CK_SITE = 1 << 0, /* a site may override it */
};

/* X(id, section, key, type, default, choices, min, max, flags, field,
 *   description); FIELD is the member of cps_settings (core/settings.h)
 *   that holds the parsed value. */
#define CPS_CONFIG_KEYS(X)                                                     \
	X(CPSSL_FS_ROOT, "cpssl", "fs_root", CPS_CT_PATH, "/", NULL, 0, 0, 0, layout.fs_root, \
	  "Prefix for every system path cpssl writes (site trees, haproxy "    \
	  "ssl.d, the challenge directory). \"/\" on a real server; a temp "   \
	  "directory for tests and the demo.")                                 \
	X(CPSSL_SYSLOG, "cpssl", "syslog", CPS_CT_BOOL, "true", NULL, 0, 0, 0, syslog, \
	  "Each housekeeping pass and reissue-all logs one line per "         \
	  "certificate (site, names, renewed/failed/skipped and why) and its " \
	  "counts to syslog (ident cpssl, facility daemon; the journal under " \
	  "systemd).")                                                         \
	X(CPSSL_METRICS, "cpssl", "metrics", CPS_CT_BOOL, "true", NULL, 0, 0, 0, \
	  layout.metrics,                                                      \
	  "Each housekeeping pass writes cpssl.prom (Prometheus text format: " \
	  "each certificate's expiry, last renewal, failures and next "        \
	  "attempt; the pass's duration and counts) into metrics_dir, when "   \
	  "that directory exists.")                                            \
	X(CPSSL_METRICS_DIR, "cpssl", "metrics_dir", CPS_CT_PATH, "", NULL, 0, 0, 0, \
	  layout.metrics_dir,                                                  \
	  "node_exporter's textfile collector directory (its "                 \
	  "--collector.textfile.directory). Empty: "                           \
	  "<fs_root>/var/lib/prometheus/node-exporter, Debian's.")             \
	X(LE_DEBUG, "letsencrypt", "debug", CPS_CT_BOOL, "false", NULL, 0, 0, 0, ca.staging, \
	  "Use the staging server (staging_server: Let's Encrypt's, with "     \
	  "untrusted \"Fake LE\" certificates and higher rate limits) "        \
	  "instead of server. After turning it off, request again.")           \
	X(LE_SERVER, "letsencrypt", "server", CPS_CT_URL, "", NULL, 0, 0, 0, ca.server, \
	  "ACME directory URL of the CA; empty selects Let's Encrypt's "       \
	  "production.")                                                       \
	X(LE_STAGING_SERVER, "letsencrypt", "staging_server", CPS_CT_URL, "",  \
	  NULL, 0, 0, 0, ca.staging_server,                                    \
	  "ACME directory URL used while debug is true; empty selects Let's "  \
	  "Encrypt's staging.")                                                \
	X(LE_FALLBACK_SERVERS, "letsencrypt", "fallback_servers", CPS_CT_URLS, \
	  "", NULL, 0, 0, 0, ca.fallbacks,                                     \
	  "ACME directory URLs of further CAs, in order, used when server "   \
	  "fails (comma-separated https:// URLs; each has its own account "   \
	  "and storage directory; eab_kid and eab_hmac_key are sent to "      \
	  "server only). Empty: no failover.")                                \
	X(LE_FAILOVER_AFTER, "letsencrypt", "failover_after", CPS_CT_INT, "3", \
	  NULL, 1, 100, 0, ca.failover_after,                                  \
	  "Consecutive failures of a CA (its errors, rate limits, timeouts) " \
	  "after which the next one of server, fallback_servers is used; a "  \
	  "CA that cannot be reached at all is left at once. A site's own "   \
	  "failures (validation, CAA, names) never count.")                   \
	X(LE_FAILOVER_RETRY_HOURS, "letsencrypt", "failover_retry_hours",      \
	  CPS_CT_INT, "24", NULL, 1, 8760, 0, ca.failover_retry_hours,         \
	  "Hours a failed CA is passed over before it is tried again.")       \
	X(LE_CA_BUNDLE, "letsencrypt", "ca_bundle", CPS_CT_PATH, "", NULL, 0, 0, \
	  0, ca.ca_bundle, "PEM file of extra CA certificates trusted for the ACME server's " \
	  "HTTPS endpoint (a private CA such as Pebble). Added to the system " \
	  "trust, never replacing it.")                                        \
	X(LE_VERIFY_IP, "letsencrypt", "verify_ip", CPS_CT_BOOL, "true", NULL, \
	  0, 0, CPS_CK_SITE, names.verify_ip,                                  \
	  "Before ordering, check that each name resolves to the site's IP "   \
	  "address (wildcards exempt). Turn off for NAT/hairpin setups.")      \
	X(LE_STRICT_MODE, "letsencrypt", "strict_mode", CPS_CT_BOOL, "false",  \
	  NULL, 0, 0, CPS_CK_SITE, names.strict_mode,                          \
	  "Fail the whole request when any name fails verification, instead "  \
	  "of dropping that name and issuing the rest.")                       \
	X(LE_ALTERNATIVE_FORM, "letsencrypt", "alternative_form", CPS_CT_BOOL, \
	  "false", NULL, 0, 0, CPS_CK_SITE, names.alternative_form,            \
	  "Also request www.D for D and D for www.D when the alternative "     \
	  "name verifies.")                                                    \
	X(LE_ADDITIONAL_CERTS, "letsencrypt", "additional_certs",              \
	  CPS_CT_HOSTNAMES, "", NULL, 0, 0, 0, names.additional_certs,         \
	  "Extra names for the server's own certificate, besides the server "  \
	  "hostname (comma-separated); an IP address must be one of the "      \
	  "server's own (on its interfaces, or in server_addresses).")         \
	X(LE_SERVER_ADDRESSES, "letsencrypt", "server_addresses", CPS_CT_IPS,  \
	  "", NULL, 0, 0, 0, names.server_addresses,                           \
	  "The server's own IP addresses that are not on its interfaces (a "   \
	  "public address behind NAT), which additional_certs may name "       \
	  "(comma-separated).")                                                \
	X(LE_LOOKAHEAD_DAYS, "letsencrypt", "lookahead_days", CPS_CT_INT, "10", \
	  NULL, -999, 999, 0, window.lookahead_days,                           \
	  "Start renewing a certificate this many days before it expires, or "  \
	  "earlier by renew_fraction for a short-lived one.")                  \
	X(LE_LOOKBEHIND_DAYS, "letsencrypt", "lookbehind_days", CPS_CT_INT, "0", \
	  NULL, -999, 999, 0, window.lookbehind_days,                          \
	  "Stop renewing this many days before expiry; negative values keep "  \
	  "trying after expiry (-1: up to one day after).")                    \
	X(LE_KEY_TYPE, "letsencrypt", "key_type", CPS_CT_ENUM, "ec-256",       \
	  "ec-256|ec-384|rsa-2048|rsa-3072|rsa-4096", 0, 0, CPS_CK_SITE, key_type_name, \
	  "Key type of new certificate keys.")                                 \
	X(LE_RENEW_FRACTION, "letsencrypt", "renew_fraction", CPS_CT_FRACTION, \
	  "1/3", NULL, 0, 0, 0, window.fraction,                               \
	  "Renewal starts at not_after - min(lookahead_days, renew_fraction x " \
	  "lifetime): a 90-day certificate 10 days before expiry, a 6-day one " \
	  "2 days before, a 5-year one 10 days before (with 10 and 1/3). 0 "    \
	  "leaves lookahead_days alone. A change applies to every certificate.") \
	X(LE_ARI, "letsencrypt", "ari", CPS_CT_BOOL, "true", NULL, 0, 0, 0,    \
	  window.ari,                                                          \
	  "Ask the CA when to renew (ACME Renewal Information, RFC 9773): "    \
	  "each certificate renews at a time inside the window the CA "        \
	  "suggests, earlier or later than the one above, and a renewal "      \
	  "names the certificate it replaces. A CA without it: the window "    \
	  "above. false: the window above always.")                           \
	X(LE_BOOTSTRAP_ATTEMPTS, "letsencrypt", "bootstrap_attempts", CPS_CT_INT, \
	  "3", NULL, 0, 100, 0, bootstrap_attempts,                            \
	  "Attempts per boot to replace an interim self-signed certificate "   \
	  "(the server's or a site's) with one from the CA, spaced by the "    \
	  "backoff; then the next boot, or letsencrypt:renew by hand.")         \
	X(LE_NOTIFY_FAILURE, "letsencrypt", "notify_failure", CPS_CT_BOOL,     \
	  "true", NULL, 0, 0, 0, notify.on_failure,                            \
	  "Notify the administrator when a renewal fails.")                    \
	X(LE_NOTIFY_COMMAND, "letsencrypt", "notify_command", CPS_CT_COMMAND,  \
	  "/usr/sbin/sendmail -t", NULL, 0, 0, 0, notify.command,              \
	  "Command that sends the failure notice (a mail with To:, Subject: "  \
	  "and body on its standard input); run without a shell.")             \
	X(LE_WARN_DAYS, "letsencrypt", "warn_days", CPS_CT_INT, "7", NULL, 0, \
	  365, 0, notify.warn_days,                                            \
	  "A certificate expiring within this many days whose renewals are "   \
	  "failing gets one notice a day (notify_command, to the "             \
	  "administrator's e-mail) until fixed; 0 turns it off.")              \
	X(LE_ORDER_LIMIT, "letsencrypt", "order_limit", CPS_CT_INT, "250", NULL, \
	  0, 1000000, 0, order_limit,                                          \
	  "New orders to place per order_limit_hours at most (Let's Encrypt "  \
	  "allows 300 per 3 hours; 250 leaves a margin for fallback orders); " \
	  "housekeeping and reissue-all order no more than what is left, "     \
	  "soonest expiry first, and leave the rest for a later pass. 0: no "  \
	  "limit.")                                                            \
	X(LE_ORDER_LIMIT_HOURS, "letsencrypt", "order_limit_hours", CPS_CT_INT, \
	  "3", NULL, 1, 168, 0, order_limit_hours,                             \
	  "The window order_limit counts in, in hours.")                       \
	X(LE_CONCURRENCY, "letsencrypt", "concurrency", CPS_CT_INT, "4", NULL, \
	  1, 64, 0, concurrency,                                               \
	  "How many certificates housekeeping and reissue-all order at once.") \
	X(LE_DISABLED_CHALLENGES, "letsencrypt", "disabled_challenges",        \
	  CPS_CT_CHOICES, "tls-alpn", "http|dns|persist|tls-alpn", 0, 0, 0,     \
	  names.disabled_challenges,                                           \
	  "Challenge mechanisms never used (comma-separated: http, dns, "      \
	  "persist, tls-alpn).")                                                        \
	X(LE_DNS_VALIDATION_WAIT, "letsencrypt", "dns_validation_wait",        \
	  CPS_CT_INT, "30", NULL, 0, 3600, 0, dns.validation_wait,             \
	  "Seconds to wait for a dns-01 TXT record to appear on the zone's "   \
	  "authoritative servers before telling the CA to check it.")          \
	X(LE_CHALLENGE_DIR, "letsencrypt", "challenge_dir", CPS_CT_PATH, "",   \
	  NULL, 0, 0, 0, layout.challenge_dir,                                 \
	  "Directory served at /.well-known/acme-challenge/ for every vhost "  \
	  "(see etc/apache/cpssl-acme-challenge.conf); http-01 responses are " \
	  "written below it. It and every directory above it must be owned "   \
	  "by root and not writable by group or others (a sticky directory "   \
	  "such as /tmp may be above it). Empty: "                             \
	  "<fs_root>/var/lib/cpssl/acme-challenge.")                           \
	X(LE_PREFERRED_CHAIN, "letsencrypt", "preferred_chain", CPS_CT_STRING, \
	  "", NULL, 0, 0, 0, ca.preferred_chain,                               \
	  "When the CA offers alternate chains, use the one whose topmost "    \
	  "certificate's issuer has this common name (the root it chains "     \
	  "to; certbot's --preferred-chain); none matching keeps the default " \
	  "chain with a WARNING. Empty: the CA's default chain.")              \
	X(LE_PROFILE, "letsencrypt", "profile", CPS_CT_STRING, "", NULL, 0, 0, \
	  CPS_CK_SITE, ca.profile,                                             \
	  "Certificate profile to order, one the CA's directory offers (Let's " \
	  "Encrypt: classic, tlsserver, shortlived); empty orders the CA's "   \
	  "default. A profile the CA does not offer fails the order, naming "  \
	  "the ones it does.")                                                 \
	X(LE_EAB_KID, "letsencrypt", "eab_kid", CPS_CT_STRING, "", NULL, 0, 0, \
	  0, ca.eab_kid,                                                       \
	  "Key identifier of the external account binding (RFC 8555, "        \
	  "section 7.3.4) the CA gave, sent with eab_hmac_key when the ACME "  \
	  "account is registered; needed by CAs that require one.")            \
	X(LE_EAB_HMAC_KEY, "letsencrypt", "eab_hmac_key", CPS_CT_SECRET, "",   \
	  NULL, 0, 0, 0, ca.eab_hmac_key,                                      \
	  "HMAC key of the external account binding (base64url, as the CA "    \
	  "gave it). Set it with scope:set cp.config letsencrypt eab_hmac_key " \
	  "- (standard input) or @FILE, never on the command line.")           \
	X(LE_DEPLOY_HOOK, "letsencrypt", "deploy_hook", CPS_CT_PATH, "", NULL, \
	  0, 0, 0, deploy_hook,                                                \
	  "Executable run after a certificate is deployed, with CPSSL_SITE, "  \
	  "CPSSL_DOMAINS, CPSSL_CERT, CPSSL_KEY and CPSSL_CHAIN in its "       \
	  "environment; a failure is logged, not fatal.")                      \
	X(HTTPD_RELOAD_DELAY, "httpd", "reload_delay", CPS_CT_DURATION,        \
	  "2 minutes", NULL, 0, 86400, 0, reload.delay,                        \
	  "Delay before the web server reload that follows a deployment; all " \
	  "deployments inside the window share one reload. \"now\" reloads "   \
	  "at once.")                                                          \
	X(HTTPD_RELOAD_COMMAND, "httpd", "reload_command", CPS_CT_COMMAND,     \
	  "apachectl graceful", NULL, 0, 0, 0, reload.reload[CPS_SVC_APACHE],  \
	  "Command that reloads Apache (run without a shell).")                \
	X(HTTPD_CONFIGTEST_COMMAND, "httpd", "configtest_command",             \
	  CPS_CT_COMMAND, "apachectl -t", NULL, 0, 0, 0, reload.configtest[CPS_SVC_APACHE], \
	  "Command that checks Apache's configuration before a reload; a "     \
	  "failure cancels the reload.")                                       \
	X(MAIL_PROXY, "mail", "proxy", CPS_CT_ENUM, "", "|haproxy", 0, 0, 0, mail_proxy, \
	  "\"haproxy\" when haproxy terminates TLS for mail; certificates are " \
	  "then also written to /etc/haproxy/ssl.d.")                          \
	X(MAIL_HAPROXY_RELOAD_COMMAND, "mail", "haproxy_reload_command",       \
	  CPS_CT_COMMAND, "systemctl reload haproxy", NULL, 0, 0, 0, reload.reload[CPS_SVC_HAPROXY], \
	  "Command that reloads haproxy (run without a shell).")               \
	X(DNS_RESOLVERS, "dns", "resolvers", CPS_CT_HOSTPORTS, "", NULL, 0, 0, \
	  0, dns.resolvers, "Recursive resolvers used for IP verification (host:port, " \
	  "comma-separated); empty uses /etc/resolv.conf.")                    \
	X(DNS_PROVIDER, "dns", "provider", CPS_CT_ENUM, "", "|rfc2136|hook", 0, \
	  0, CPS_CK_SITE, dns.provider,                                        \
	  "How dns-01 TXT records, and the records of the dns commands, are "  \
	  "published: rfc2136 (TSIG-signed dynamic update), hook (an "         \
	  "executable), or empty (none).")                                     \
	X(DNS_RFC2136_SERVER, "dns", "rfc2136_server", CPS_CT_HOSTPORT, "",    \
	  NULL, 0, 0, 0, dns.rfc2136_server,                                   \
	  "Primary server accepting dynamic updates (host:port).")             \
	X(DNS_RFC2136_KEY_NAME, "dns", "rfc2136_key_name", CPS_CT_STRING, "",  \
	  NULL, 0, 0, 0, dns.key_name, "TSIG key name.")                       \
	X(DNS_RFC2136_KEY_ALGORITHM, "dns", "rfc2136_key_algorithm",           \
	  CPS_CT_ENUM, "hmac-sha256",                                          \
	  "hmac-md5|hmac-sha1|hmac-sha256|hmac-sha512",                        \
	  0, 0, 0, dns.key_algorithm, "TSIG algorithm.")                       \
	X(DNS_RFC2136_KEY_SECRET, "dns", "rfc2136_key_secret", CPS_CT_SECRET,  \
	  "", NULL, 0, 0, 0, dns.key_secret, "TSIG secret (base64).")          \
	X(DNS_RFC2136_KEY_FILE, "dns", "rfc2136_key_file", CPS_CT_PATH, "",    \
	  NULL, 0, 0, 0, dns.key_file,                                         \
	  "A BIND key file (as tsig-keygen writes it) to read the TSIG key "   \
	  "name, algorithm and secret from, instead of the three keys above; " \
	  "root's, mode 0600 or 0640.")                                        \
	X(DNS_HOOK, "dns", "hook", CPS_CT_PATH, "", NULL, 0, 0, 0, dns.hook,   \
	  "Executable run as HOOK setup|teardown NAME VALUE to publish and "   \
	  "remove a dns-01 TXT record, and as HOOK add NAME TYPE VALUE TTL "   \
	  "and HOOK delete NAME TYPE [VALUE] for dns:add-record and "          \
	  "dns:remove-record.")                                                \
	X(DNS_AUTHORITATIVE_NS, "dns", "authoritative_ns", CPS_CT_HOSTPORTS,   \
	  "", NULL, 0, 0, 0, dns.authoritative_ns,                             \
	  "Authoritative servers asked whether a TXT record has propagated, "  \
	  "and by dns:get-records and dns:record-exists (host:port, "           \
	  "comma-separated); empty asks the zone's NS records.")                \
	X(DNS_PUBLIC_IP_URL, "dns", "public_ip_url", CPS_CT_WEB_URL, "", NULL, \
	  0, 0, 0, dns.public_ip_url,                                          \
	  "URL (http or https) that answers with the caller's public address " \
	  "as plain text, asked by dns:get-public-ip for the server's "        \
	  "address (a site's is its configured ip). Empty asks nothing.")

typedef enum cps_cfg_id {
#define CPS_CFG_ENUM(id, ...) CPS_CFG_##id,
	CPS_CONFIG_KEYS(CPS_CFG_ENUM)
#undef CPS_CFG_ENUM
	CPS_CFG__COUNT
} cps_cfg_id;

typedef struct cps_config_key {
	cps_cfg_id id;
	const char *section, *key;
	cps_ctype type;
	const char *def, *choices;
	long min, max;
	unsigned flags;
	const char *desc;
} cps_config_key;

const cps_config_key *cps_config_key_get(cps_cfg_id id);
/* NULL when unknown; the error lists the valid sections or keys. */
const cps_config_key *cps_config_key_find(const char *section, const char *key,
					  cps_err *err);
/* 0 when SECTION is known, else -1 with the valid sections listed. */
int cps_config_section_check(const char *section, cps_err *err);
const char *cps_ctype_name(cps_ctype type);
/* K's choices for people: "a, b, c", a leading empty choice as "empty"
 * ("empty, a, b"); "" when K has none. */
void cps_config_choices_text(const cps_config_key *k, char *buf, size_t len);

/* Validate VALUE (a literal-parsed argument: string, bool, number, array)
 * for KEY and return its canonical config.ini text. */
int cps_config_normalize(const cps_config_key *k, json_object *value,
			 char **out, cps_err *err);

/* The same for text (a config.ini value, a site's stored value). */
int cps_config_canonical(const cps_config_key *k, const char *text,
			 char **out, cps_err *err);

/* Canonical text → a typed value for output. */
json_object *cps_config_typed(const cps_config_key *k, const char *text);

typedef enum cps_source {
	CPS_SRC_BUILTIN = 0,
	CPS_SRC_FILE,
	CPS_SRC_SITE,
} cps_source;

const char *cps_source_name(cps_source src);

typedef struct cps_config cps_config;

/* Load PATH (a missing file means all built-in defaults). Unknown sections
 * and keys are reported as warnings through the log; a bad value is an error
 * naming the file, line, key and what is expected. */
int cps_config_load(const char *path, cps_config **out, cps_err *err);
void cps_config_free(cps_config *cfg);

/* A key's canonical text and where it came from (file or built-in). The
 * typed values are in cps_settings (core/settings.h). */
const char *cps_config_str(const cps_config *cfg, cps_cfg_id id);
cps_source cps_config_source(const cps_config *cfg, cps_cfg_id id);

/* Parsers of canonical text. */
bool cps_bool_text(const char *text);
/* "1/3" or "0.25" → 0.333…; -1 on error. */
double cps_fraction_value(const char *text);
int cps_duration_parse(const char *text, long *seconds, cps_err *err);

/* Set KEY to the canonical text CANON in the file at PATH, keeping every
 * other line, comment and the order; the file is created from the shipped
 * template when missing and replaced atomically. */
int cps_config_edit(const char *path, const cps_config_key *k,
		    const char *canon, cps_err *err);

/* The documented default config.ini (the shipped etc/config.ini). */
char *cps_config_render_default(void);

#endif
