/* config.ini: the key table, loading, and the loaded canonical values. */
#include "cpssl/core/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpssl/core/log.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

static const cps_config_key keys[] = {
#define CPS_CFG_ROW(id, sec, key, type, def, choices, min, max, flags, field, desc) \
	{ CPS_CFG_##id, sec, key, type, def, choices, min, max, flags, desc },
	CPS_CONFIG_KEYS(CPS_CFG_ROW)
#undef CPS_CFG_ROW
};

struct cps_config {
	char *val[CPS_CFG__COUNT];
	cps_source src[CPS_CFG__COUNT];
	const char *path;
	char fail[768]; /* first bad value, set by the inih handler */
};

const cps_config_key *cps_config_key_get(cps_cfg_id id)
{
	return (unsigned)id < CPS_CFG__COUNT ? &keys[id] : NULL;
}

static char *join_names(const char *section)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *last = NULL;

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		const char *item = section ? keys[i].key : keys[i].section;

		if (section && strcmp(keys[i].section, section) != 0)
			continue;
		if (!section && last && strcmp(last, item) == 0)
			continue;
		fprintf(f, "%s%s", last ? ", " : "", item);
		last = item;
	}
	fclose(f);
	return buf;
}

const cps_config_key *cps_config_key_find(const char *section, const char *key,
					  cps_err *err)
{
	bool section_known = false;
	char *list;

	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	}
	list = join_names(section_known ? section : NULL);
	if (section_known)
		cps_fail(err, CPS_E_NOTFOUND,
			 "config.ini has no key '%.64s' in section [%.64s]; valid keys: %s",
			 key, section, list ? list : "?");
	else
		cps_fail(err, CPS_E_NOTFOUND,
			 "config.ini has no section [%.64s]; valid sections: %s",
			 section, list ? list : "?");
	free(list);
	return NULL;
}

int cps_config_section_check(const char *section, cps_err *err)
{
	char *list;

	for (size_t i = 0; i < CPS_CFG__COUNT; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 0;
	list = join_names(NULL);
	cps_fail(err, CPS_E_NOTFOUND,
		 "config.ini has no section [%.64s]; valid sections: %s", section,
		 list ? list : "?");
	free(list);
	return -1;
}

void cps_config_choices_text(const cps_config_key *k, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (const char *c = k->choices ? k->choices : ""; *c && o + 8 < len; c++) {
		if (*c != '|')
			buf[o++] = *c;
		else
			o += (size_t)snprintf(buf + o, len - o, "%s", c == k->choices ? "empty, " : ", ");
	}
	buf[o < len ? o : len - 1] = '\0';
}

const char *cps_ctype_name(cps_ctype type)
{
	switch (type) {
	case CPS_CT_BOOL: return "bool";
	case CPS_CT_INT: return "int";
	case CPS_CT_STRING: return "string";
	case CPS_CT_ENUM: return "enum";
	case CPS_CT_DURATION: return "duration";
	case CPS_CT_URL: return "url";
	case CPS_CT_WEB_URL: return "web url";
	case CPS_CT_PATH: return "path";
	case CPS_CT_COMMAND: return "command";
	case CPS_CT_HOSTNAMES: return "hostname list";
	case CPS_CT_HOSTPORT: return "host:port";
	case CPS_CT_HOSTPORTS: return "host:port list";
	case CPS_CT_CHOICES: return "list";
	case CPS_CT_SECRET: return "secret";
	case CPS_CT_FRACTION: return "fraction";
	case CPS_CT_URLS: return "url list";
	case CPS_CT_IPS: return "IP address list";
	}
	return "?";
}

const char *cps_source_name(cps_source src)
{
	switch (src) {
	case CPS_SRC_BUILTIN: return "built-in";
	case CPS_SRC_FILE: return "config.ini";
	case CPS_SRC_SITE: return "site";
	}
	return "?";
}

/* ---- loading ------------------------------------------------------------ */

static int config_ini_handler(void *ud, const char *section, const char *name,
		       const char *value)
{
	cps_config *cfg = ud;
	const cps_config_key *k = cps_config_key_find(section, name, NULL);
	cps_err err;
	char *canon;

	if (k == NULL) {
		if (section[0] == '\0')
			cps_warn("%s: '%s' comes before any [section] and is ignored", cfg->path, name);
		else if (cps_config_section_check(section, NULL) != 0)
			cps_warn("%s: unknown section [%s]: its key '%s' is ignored", cfg->path, section,
				 name);
		else
			cps_warn("%s: unknown key '%s' in section [%s] is ignored",
				 cfg->path, name, section);
		return 1;
	}
	if (cps_config_canonical(k, value, &canon, &err) != 0) {
		snprintf(cfg->fail, sizeof(cfg->fail), "%s", err.msg);
		return 0;
	}
	free(cfg->val[k->id]);
	cfg->val[k->id] = canon;
	cfg->src[k->id] = CPS_SRC_FILE;
	return 1;
}

int cps_config_load(const char *path, cps_config **out, cps_err *err)
{
	cps_config *cfg = calloc(1, sizeof(*cfg));
	struct stat st;
	FILE *f;
	int line;

	*out = NULL;
	if (cfg == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	cfg->path = path;
	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		cfg->val[i] = strdup(keys[i].def);
		if (cfg->val[i] == NULL) {
			cps_config_free(cfg);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
	}
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT) {
			cps_debug("%s does not exist: using built-in defaults", path);
			*out = cfg;
			return 0;
		}
		cps_fail(err, CPS_E_CONFIG, "cannot read %s: %s", path,
			 strerror(errno));
		cps_config_free(cfg);
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > CONFIG_MAX_BYTES) {
		fclose(f);
		cps_config_free(cfg);
		return cps_fail(err, CPS_E_CONFIG, "%s is not a config file of at most 1 MiB", path);
	}
	line = ini_parse_file(f, config_ini_handler, cfg);
	fclose(f);
	if (line != 0) {
		if (cfg->fail[0])
			cps_fail(err, CPS_E_CONFIG, "%s line %d: %s", path, line,
				 cfg->fail);
		else
			cps_fail(err, CPS_E_CONFIG,
				 "%s line %d: not a [section] or key = value line",
				 path, line);
		cps_config_free(cfg);
		return -1;
	}
	cps_debug("configuration loaded from %s", path);
	cfg->path = NULL;
	*out = cfg;
	return 0;
}

void cps_config_free(cps_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CPS_CFG__COUNT; i++)
		free(cfg->val[i]);
	free(cfg);
}

const char *cps_config_str(const cps_config *cfg, cps_cfg_id id)
{
	return cfg->val[id];
}

cps_source cps_config_source(const cps_config *cfg, cps_cfg_id id)
{
	return cfg->src[id];
}

