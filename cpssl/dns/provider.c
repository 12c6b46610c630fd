#include "cpssl/dns/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/dns/internal.h"
#include "cpssl/dns/resolve.h"

#define POLL_FIRST_MS 100  /* first pause between propagation checks */
#define POLL_MAX_MS   1000 /* the pause grows to this */
#define ASK_MIN_MS    200  /* one check never waits less than this for an answer */

/* Config names to the algorithm names ldns signs with. ldns 1.8 has no
 * HMAC-SHA224 and misspells HMAC-SHA384 ("hmac-shac384."), so neither
 * can work: refuse them up front instead of failing at the first update. */
static const struct {
	const char *config, *ldns;
} algorithms[] = {
	{ "hmac-md5", "hmac-md5.sig-alg.reg.int." },
	{ "hmac-sha1", "hmac-sha1." },
	{ "hmac-sha256", "hmac-sha256." },
	{ "hmac-sha512", "hmac-sha512." },
};

static bool empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static bool base64_ok(const char *s)
{
	size_t len = strlen(s), pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

/* The TSIG key: NAME, ALG (NULL: hmac-sha256) and SECRET, from config.ini
 * or a key file. */
static int check_key(const char *name, const char *alg, const char *secret,
		     cps_dns_provider *p, cps_err *err)
{
	ldns_rdf *kn;

	if (empty(name))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_name is not set: give the name of the TSIG key the server "
				"accepts updates with (or rfc2136_key_file, the server's key file)");
	kn = ldns_dname_new_frm_str(name);
	if (kn == NULL)
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_name '%.64s' is not a valid key name", name);
	ldns_rdf_deep_free(kn);
	if (empty(secret))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_secret is not set: give the TSIG secret (base64, as in the "
				"server's key file), or rfc2136_key_file");
	if (!base64_ok(secret))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_secret is not valid base64 (copy the secret from the server's key file)");
	if (empty(alg))
		alg = "hmac-sha256";
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcasecmp(alg, algorithms[i].config) == 0)
			p->key_algorithm = algorithms[i].ldns;
	if (p->key_algorithm == NULL)
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_algorithm '%.32s' is not supported: use hmac-sha256 (or hmac-sha512, hmac-sha1, hmac-md5)",
				alg);
	p->key_name = strdup(name);
	p->key_secret = strdup(secret);
	if (!p->key_name || !p->key_secret)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return 0;
}

static int check_rfc2136(const cps_dns_settings *s, cps_dns_provider *p,
			 cps_err *err)
{
	char *name = NULL, *alg = NULL, *secret = NULL;
	int rc;

	if (empty(s->rfc2136_server))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_server is not set: give the host:port of the primary server that accepts dynamic updates");
	if (cps_dns_server_parse(s->rfc2136_server, &p->update, err) < 0)
		return cps_err_prefix(err, "[dns] rfc2136_server");
	if (empty(s->key_file))
		return check_key(s->key_name, s->key_algorithm, s->key_secret, p, err);
	if (!empty(s->key_name) || !empty(s->key_secret))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] rfc2136_key_file and rfc2136_key_name or rfc2136_key_secret are all set: "
				"keep either the key file or the name and secret");
	if (cps_tsig_key_file(s->key_file, &name, &alg, &secret, err) != 0)
		return -1;
	rc = check_key(name, alg, secret, p, err);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	free(name);
	free(alg);
	return rc;
}

static int check_hook(const cps_dns_settings *s, cps_dns_provider *p,
		      cps_err *err)
{
	struct stat st;

	if (empty(s->hook))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] hook is not set: give the absolute path of an executable run as HOOK setup|teardown NAME VALUE");
	if (s->hook[0] != '/')
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] hook must be an absolute path, not '%.200s'", s->hook);
	if (stat(s->hook, &st) < 0 || !S_ISREG(st.st_mode))
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] hook %.200s does not exist or is not a file", s->hook);
	if (access(s->hook, X_OK) < 0)
		return cps_fail(err, CPS_E_CONFIG,
				"[dns] hook %.200s is not executable (chmod +x it)", s->hook);
	p->hook = strdup(s->hook);
	if (p->hook == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	return 0;
}

static int check_list(const char *list, const char *key, cps_err *err)
{
	cps_dns_server *sv;
	size_t n;

	if (cps_dns_servers_parse(list, &sv, &n, err) < 0)
		return cps_err_prefix(err, "[dns] %s", key);
	free(sv);
	return 0;
}

int cps_dns_provider_new(const cps_dns_settings *s, cps_dns_provider **out,
			 cps_err *err)
{
	const char *name = s->provider ? s->provider : "";
	cps_dns_provider *p;
	int rc;

	*out = NULL;
	if (*name == '\0')
		return cps_fail(err, CPS_E_CONFIG,
				"no DNS provider is configured: set [dns] provider (rfc2136 or hook) in config.ini or per site");
	if (strcmp(name, "rfc2136") != 0 && strcmp(name, "hook") != 0)
		return cps_fail(err, CPS_E_CONFIG,
				"'%.32s' is not a DNS provider: set [dns] provider to rfc2136 or hook",
				name);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (strcmp(name, "rfc2136") == 0) {
		p->kind = CPS_DNS_RFC2136;
		rc = check_rfc2136(s, p, err);
	} else {
		p->kind = CPS_DNS_HOOK;
		rc = check_hook(s, p, err);
	}
	if (rc == 0)
		rc = check_list(s->authoritative_ns, "authoritative_ns", err);
	if (rc == 0)
		rc = check_list(s->resolvers, "resolvers", err);
	if (rc == 0) {
		p->txt_ttl = s->txt_ttl > 0 ? s->txt_ttl : 60;
		p->authoritative_ns = strdup(s->authoritative_ns ? s->authoritative_ns : "");
		p->resolvers = strdup(s->resolvers ? s->resolvers : "");
		if (!p->authoritative_ns || !p->resolvers)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	if (rc < 0) {
		cps_dns_provider_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void cps_dns_provider_free(cps_dns_provider *p)
{
	if (p == NULL)
		return;
	free(p->key_name);
	if (p->key_secret) {
		explicit_bzero(p->key_secret, strlen(p->key_secret));
		free(p->key_secret);
	}
	free(p->hook);
	free(p->authoritative_ns);
	free(p->resolvers);
	free(p);
}

const char *cps_dns_provider_name(const cps_dns_provider *p)
{
	return p->kind == CPS_DNS_RFC2136 ? "rfc2136" : "hook";
}

int cps_dns_txt_add(cps_dns_provider *p, const char *name, const char *value,
		    cps_err *err)
{
	if (p->kind == CPS_DNS_RFC2136)
		return cps_dns_rfc2136_update(p, name, value, CPS_DNS_ADD, err);
	return cps_dns_hook_run(p, "setup", name, value, err);
}

int cps_dns_txt_del(cps_dns_provider *p, const char *name, const char *value,
		    cps_err *err)
{
	if (p->kind == CPS_DNS_RFC2136)
		return cps_dns_rfc2136_update(p, name, value, CPS_DNS_DEL, err);
	return cps_dns_hook_run(p, "teardown", name, value, err);
}

/* How many of the T records at NAME the update server holds match VALUE
 * (every one when VALUE is NULL); *OTHER gets the first that does not. */
static int held(cps_dns_provider *p, const char *name, cps_rrtype t, const char *value,
		size_t *match, char **other, cps_err *err)
{
	cps_dns_record *v = NULL;
	size_t n = 0;

	*match = 0;
	if (other)
		*other = NULL;
	if (cps_dns_values_at(&p->update, name, t, CPS_DNS_Q_TCP, &v, &n, err) < 0)
		return cps_err_prefix(err, "rfc2136: asking [dns] rfc2136_server for %s %.253s",
				      cps_rrtype_name(t), name);
	for (size_t i = 0; i < n; i++) {
		if (value == NULL || strcmp(v[i].value, value) == 0)
			(*match)++;
		else if (other && *other == NULL)
			*other = strdup(v[i].value);
	}
	cps_dns_records_free(v, n);
	return 0;
}

int cps_dns_record_add(cps_dns_provider *p, const cps_dns_record *r, cps_err *err)
{
	const char *type = cps_rrtype_name(r->type);
	char *other = NULL;
	size_t match = 0;

	if (p->kind == CPS_DNS_HOOK)
		return cps_dns_hook_record(p, true, r->name, r->type, r->value, r->ttl, err);
	/* a second CNAME would replace the first (RFC 2136 3.4.2.2) */
	if (r->type == CPS_RR_CNAME &&
	    held(p, r->name, r->type, r->value, &match, &other, err) < 0)
		return -1;
	if (other) {
		cps_fail(err, CPS_E_EXISTS,
			 "%.253s already has a CNAME to %s, and a name holds one CNAME at most: "
			 "remove it first (dns:remove-record … CNAME)", r->name, other);
		free(other);
		return -1;
	}
	if (cps_dns_rfc2136_record(p, r->name, r->type, r->value, r->ttl, true, err) < 0 ||
	    held(p, r->name, r->type, r->value, &match, NULL, err) < 0)
		return -1;
	if (match == 0)
		return cps_fail(err, CPS_E_DNS,
				"%s accepted the update but does not serve %s %s %s: a CNAME cannot share "
				"its name with other records, so a server ignores one added beside the "
				"other; remove the conflicting record first",
				p->update.label, r->name, type, r->value);
	return 0;
}

int cps_dns_record_del(cps_dns_provider *p, const char *name, cps_rrtype t,
		       const char *value, size_t *removed, cps_err *err)
{
	*removed = 0;
	if (p->kind == CPS_DNS_HOOK) {
		if (cps_dns_hook_record(p, false, name, t, value, 0, err) < 0)
			return -1;
		*removed = 1;
		return 0;
	}
	if (held(p, name, t, value, removed, NULL, err) < 0)
		return -1;
	if (*removed == 0)
		return 0;
	return cps_dns_rfc2136_record(p, name, t, value, 0, false, err);
}

int cps_dns_probe(cps_dns_provider *p, const char *name, cps_err *err)
{
	if (p->kind == CPS_DNS_RFC2136)
		return cps_dns_rfc2136_update(p, name, "cpssl-probe", CPS_DNS_PROBE, err);
	return 0;
}

/* One server's answer: 1 when VALUE is among NAME's TXT strings. WHY
 * says what it answered otherwise. */
static int check_one(const cps_dns_server *s, const char *name,
		     const char *value, int budget_ms, char *why, size_t len)
{
	char **vals = NULL;
	size_t n = 0;
	cps_err e;
	int found = 0;

	cps_err_clear(&e);
	if (cps_dns_txt_lookup_at(s, name, budget_ms, 1, &vals, &n, &e) < 0) {
		snprintf(why, len, "%s", e.code == CPS_E_TIMEOUT ? "no answer" : e.msg);
		return 0;
	}
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(vals[i], value) == 0;
	if (!found)
		snprintf(why, len, n ? "%zu other TXT value%s" : "no TXT record", n,
			 n == 1 ? "" : "s");
	cps_dns_strv_free(vals, n);
	return found;
}

int cps_dns_wait_txt(cps_dns_provider *p, const char *name, const char *value,
		     int timeout_s, cps_err *err)
{
	int64_t deadline = cps_monotonic_ms() + (int64_t)(timeout_s > 0 ? timeout_s : 0) * 1000;
	cps_dns_server *sv = NULL;
	char (*why)[160] = NULL;
	bool *seen = NULL;
	size_t n = 0, left;
	int pause = POLL_FIRST_MS, rc = -1;

	if (cps_dns_auth_servers(p->authoritative_ns, p->resolvers, name, &sv, &n, err) < 0)
		return -1;
	if (n == 0) {
		free(sv);
		return cps_fail(err, CPS_E_CONFIG,
				"no authoritative server to ask for %.253s: set [dns] authoritative_ns",
				name);
	}
	seen = calloc(n, sizeof(*seen));
	why = calloc(n, sizeof(*why));
	if (seen == NULL || why == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	left = n;
	for (;;) {
		int64_t t;

		for (size_t i = 0; i < n; i++) {
			int64_t budget = deadline - cps_monotonic_ms();

			if (seen[i])
				continue;
			/* a dead server must not stretch the wait much past the limit */
			budget = budget < ASK_MIN_MS ? ASK_MIN_MS :
				 budget > POLL_MAX_MS ? POLL_MAX_MS : budget;
			if (check_one(&sv[i], name, value, (int)budget, why[i],
				      sizeof(why[i]))) {
				seen[i] = true;
				left--;
			}
		}
		if (left == 0) {
			cps_debug("dns: %s TXT seen on all %zu authoritative servers", name, n);
			rc = 0;
			break;
		}
		t = cps_monotonic_ms();
		if (t >= deadline) {
			char list[700] = "";
			size_t o = 0;

			for (size_t i = 0; i < n && o < sizeof(list); i++)
				if (!seen[i])
					o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s (%s)",
							      o ? ", " : "", sv[i].label, why[i]);
			cps_fail(err, CPS_E_TIMEOUT,
				 "the TXT record %.253s with the challenge value was not seen within %d s on %s",
				 name, timeout_s, list);
			break;
		}
		if (pause > deadline - t)
			pause = (int)(deadline - t);
		cps_sleep_ms((long)pause);
		pause = pause * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS : pause * 3 / 2;
		if (pause < POLL_FIRST_MS)
			pause = POLL_FIRST_MS;
	}
out:
	free(why);
	free(seen);
	free(sv);
	return rc;
}
