#include "cpssl/core/settings.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/core/proc.h"

/* How a key's parsed value is kept, by its type. */
typedef enum storage {
	ST_BOOL = 1,
	ST_LONG,
	ST_DOUBLE,
	ST_TEXT,
	ST_ARGV,
	ST_LIST,
} storage;

#define STORAGE_OF(t)                                                          \
	((t) == CPS_CT_BOOL ? ST_BOOL                                          \
	 : (t) == CPS_CT_INT || (t) == CPS_CT_DURATION ? ST_LONG               \
	 : (t) == CPS_CT_FRACTION ? ST_DOUBLE                                  \
	 : (t) == CPS_CT_COMMAND ? ST_ARGV                                     \
	 : (t) == CPS_CT_HOSTNAMES || (t) == CPS_CT_CHOICES || (t) == CPS_CT_URLS ||   \
	   (t) == CPS_CT_IPS ? ST_LIST                                         \
	 : ST_TEXT)

#define STORAGE_OF_FIELD(m)                                                    \
	_Generic(((cps_settings *)0)->m,                                       \
		 bool: ST_BOOL, long: ST_LONG, double: ST_DOUBLE,              \
		 const char *: ST_TEXT, char **: ST_ARGV, cps_strlist: ST_LIST)

/* Every row's field has the C type its key's type is kept in. */
#define CHECK_FIELD(id, sec, key, type, def, choices, min, max, flags, field,  \
		    desc)                                                      \
	_Static_assert(STORAGE_OF_FIELD(field) == STORAGE_OF(type),            \
		       "[" sec "] " key ": the settings field has the wrong type");
CPS_CONFIG_KEYS(CHECK_FIELD)
#undef CHECK_FIELD

static const size_t field_offset[CPS_CFG__COUNT] = {
#define OFFSET(id, sec, key, type, def, choices, min, max, flags, field, desc) \
	[CPS_CFG_##id] = offsetof(cps_settings, field),
	CPS_CONFIG_KEYS(OFFSET)
#undef OFFSET
};

static void *field_of(cps_settings *s, cps_cfg_id id)
{
	return (char *)s + field_offset[id];
}

static int nomem(cps_err *err)
{
	return cps_fail(err, CPS_E_NOMEM, "out of memory");
}

static int split_list(const char *text, cps_strlist *out, cps_err *err)
{
	char *copy = strdup(text), *save = NULL;
	size_t cap = 1;

	memset(out, 0, sizeof(*out));
	for (const char *p = text; *p; p++)
		cap += *p == ',';
	out->v = calloc(cap, sizeof(char *));
	if (copy == NULL || out->v == NULL) {
		free(copy);
		return nomem(err);
	}
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if ((out->v[out->n++] = strdup(t)) == NULL) {
			free(copy);
			return nomem(err);
		}
	free(copy);
	return 0;
}

/* TEXT is the canonical text of K: store its parsed value in S. */
static int store_value(cps_settings *s, const cps_config_key *k, const char *text,
		       cps_err *err)
{
	void *f = field_of(s, k->id);

	switch (STORAGE_OF(k->type)) {
	case ST_BOOL:
		*(bool *)f = cps_bool_text(text);
		return 0;
	case ST_LONG:
		if (k->type == CPS_CT_DURATION)
			return cps_duration_parse(text, (long *)f, err);
		*(long *)f = strtol(text, NULL, 10);
		return 0;
	case ST_DOUBLE:
		*(double *)f = cps_fraction_value(text);
		return 0;
	case ST_TEXT:
		*(const char **)f = strdup(text);
		return *(const char **)f ? 0 : nomem(err);
	case ST_ARGV:
		if (*text == '\0') {
			*(char ***)f = NULL;
			return 0;
		}
		return cps_proc_split(text, (char ***)f, err);
	case ST_LIST:
		return split_list(text, (cps_strlist *)f, err);
	}
	return cps_fail(err, CPS_E_INTERNAL, "[%s] %s has no storage", k->section, k->key);
}

static void free_value(cps_settings *s, const cps_config_key *k)
{
	void *f = field_of(s, k->id);

	switch (STORAGE_OF(k->type)) {
	case ST_TEXT:
		free((char *)*(const char **)f);
		break;
	case ST_ARGV:
		cps_proc_argv_free(*(char ***)f);
		break;
	case ST_LIST: {
		cps_strlist *l = f;

		for (size_t i = 0; i < l->n; i++)
			free(l->v[i]);
		free(l->v);
		break;
	}
	default:
		break;
	}
}

static bool listed(const cps_strlist *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], item) == 0)
			return true;
	return false;
}

int cps_server_dirname(const char *url, char *out, size_t len, cps_err *err)
{
	const char *p = url;
	size_t o = 0;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	for (; *p && o + 1 < len; p++) {
		char c = *p;

		if (c == '/')
			c = '.';
		else if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
			 !(c >= '0' && c <= '9') && c != '.' && c != '-' && c != ':')
			c = '_';
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == '.')
		o--;
	out[o] = '\0';
	if (o == 0 || *p || out[0] == '.')
		return cps_fail(err, CPS_E_CONFIG, "cannot name a directory for the ACME server %.200s", url);
	return 0;
}

char *cps_layout_path(const cps_layout *l, const char *abs)
{
	return cps_path_join(l->fs_root, abs);
}

/* The values that follow from several keys. */
static int derive(cps_settings *s, cps_err *err)
{
	if (s->ca.staging)
		s->ca.url = *s->ca.staging_server ? s->ca.staging_server : CPS_LE_STAGING;
	else
		s->ca.url = *s->ca.server ? s->ca.server : CPS_LE_PRODUCTION;
	if (cps_server_dirname(s->ca.url, s->ca.dir_name, sizeof(s->ca.dir_name), err) != 0)
		return -1;
	for (size_t i = 0; i < s->ca.fallbacks.n; i++) {
		char d[256];

		if (cps_server_dirname(s->ca.fallbacks.v[i], d, sizeof(d), err) != 0)
			return cps_err_prefix(err, "[letsencrypt] fallback_servers");
	}
	s->layout.http01_root = *s->layout.challenge_dir
					? strdup(s->layout.challenge_dir)
					: cps_layout_path(&s->layout, CPS_CHALLENGE_DIR_DEFAULT);
	s->layout.metrics_root = *s->layout.metrics_dir
					 ? strdup(s->layout.metrics_dir)
					 : cps_layout_path(&s->layout, CPS_METRICS_DIR_DEFAULT);
	if (s->layout.http01_root == NULL || s->layout.metrics_root == NULL)
		return nomem(err);
	s->names.http_ok = !listed(&s->names.disabled_challenges, "http");
	s->names.dns_ok = !listed(&s->names.disabled_challenges, "dns") && *s->dns.provider;
	s->names.persist_ok = !listed(&s->names.disabled_challenges, "persist");
	s->names.resolvers = s->dns.resolvers;
	s->reload.delay_text = s->text[CPS_CFG_HTTPD_RELOAD_DELAY];
	s->haproxy = strcmp(s->mail_proxy, "haproxy") == 0;
	if (s->window.fraction < 0)
		s->window.fraction = 0;
	return cps_key_type_parse(s->key_type_name, &s->key_type, err);
}

static const char *override_of(const cps_config_key *k, const cps_override *ov,
			       size_t n)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", k->section, k->key);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ov[i].key, key) == 0)
			return ov[i].value;
	return NULL;
}

/* The effective canonical text of K for the site: its own value when it may
 * have one, checked as config.ini's values are. */
static int effective(const cps_config *cfg, long site_id, const cps_config_key *k,
		     const cps_override *ov, size_t n, char **text, cps_source *src,
		     cps_err *err)
{
	const char *own = site_id > 0 ? override_of(k, ov, n) : NULL;

	if (own && !(k->flags & CPS_CK_SITE)) {
		cps_warn("site%ld has its own value for [%s] %s, which only the server's config.ini "
			 "sets; it is ignored (remove it with cpcmd -d site%ld site:set-setting %s.%s null)",
			 site_id, k->section, k->key, site_id, k->section, k->key);
		own = NULL;
	}
	if (own == NULL) {
		*text = strdup(cps_config_str(cfg, k->id));
		*src = cps_config_source(cfg, k->id);
		return *text ? 0 : nomem(err);
	}
	*src = CPS_SRC_SITE;
	if (cps_config_canonical(k, own, text, err) != 0)
		return cps_err_prefix(err,
				      "site%ld's own value for %s.%s is not usable (set another with cpcmd "
				      "-d site%ld site:set-setting %s.%s VALUE, or null for config.ini's)",
				      site_id, k->section, k->key, site_id, k->section, k->key);
	return 0;
}

int cps_settings_parse(const cps_config *cfg, long site_id,
		       const cps_override *overrides, size_t n,
		       cps_settings *out, cps_err *err)
{
	memset(out, 0, sizeof(*out));
	out->site_id = site_id;
	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (effective(cfg, site_id, k, overrides, n, &out->text[i], &out->src[i], err) != 0 ||
		    store_value(out, k, out->text[i], err) != 0) {
			cps_settings_free(out);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(overrides[i].key, '.');
		char section[64];

		snprintf(section, sizeof(section), "%.*s", dot ? (int)(dot - overrides[i].key) : 0,
			 overrides[i].key);
		if (dot == NULL || cps_config_key_find(section, dot + 1, NULL) == NULL)
			cps_warn("site%ld has a value for '%s', which is not a setting; it is ignored",
				 site_id, overrides[i].key);
	}
	if (derive(out, err) != 0) {
		cps_settings_free(out);
		return -1;
	}
	return 0;
}

void cps_settings_free(cps_settings *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < CPS_CFG__COUNT; i++) {
		free_value(s, cps_config_key_get((cps_cfg_id)i));
		free(s->text[i]);
	}
	free((char *)s->layout.http01_root);
	free((char *)s->layout.metrics_root);
	memset(s, 0, sizeof(*s));
}
