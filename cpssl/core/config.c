#include "cpssl/core/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/names/hostname.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

static const cps_config_key keys[] = {
#define CPS_CFG_ROW(id, sec, key, type, def, choices, min, max, flags, desc) \
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

const char *cps_ctype_name(cps_ctype type)
{
	switch (type) {
	case CPS_CT_BOOL: return "bool";
	case CPS_CT_INT: return "int";
	case CPS_CT_STRING: return "string";
	case CPS_CT_ENUM: return "enum";
	case CPS_CT_DURATION: return "duration";
	case CPS_CT_URL: return "url";
	case CPS_CT_PATH: return "path";
	case CPS_CT_COMMAND: return "command";
	case CPS_CT_HOSTNAMES: return "hostname list";
	case CPS_CT_HOSTPORT: return "host:port";
	case CPS_CT_HOSTPORTS: return "host:port list";
	case CPS_CT_CHOICES: return "list";
	case CPS_CT_SECRET: return "secret";
	case CPS_CT_FRACTION: return "fraction";
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

/* ---- value parsing and canonical forms ---------------------------------- */

static bool parse_bool_word(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

bool cps_bool_text(const char *text)
{
	bool v = false;

	parse_bool_word(text, &v);
	return v;
}

double cps_fraction_value(const char *text)
{
	char *end;
	double v;

	errno = 0;
	if (strchr(text, '/')) {
		long a = strtol(text, &end, 10), b;

		if (end == text || *end != '/')
			return -1;
		b = strtol(end + 1, &end, 10);
		if (*end != '\0' || b <= 0 || a < 0)
			return -1;
		v = (double)a / (double)b;
	} else {
		v = strtod(text, &end);
		if (end == text || *end != '\0')
			return -1;
	}
	return errno == 0 && v >= 0 && v < 1 ? v : -1;
}

int cps_duration_parse(const char *text, long *seconds, cps_err *err)
{
	static const struct { const char *unit; long mult; } units[] = {
		{ "s", 1 }, { "sec", 1 }, { "secs", 1 }, { "second", 1 },
		{ "seconds", 1 }, { "m", 60 }, { "min", 60 }, { "mins", 60 },
		{ "minute", 60 }, { "minutes", 60 }, { "h", 3600 },
		{ "hour", 3600 }, { "hours", 3600 }, { "d", 86400 },
		{ "day", 86400 }, { "days", 86400 },
	};
	char *end;
	long n;

	if (strcasecmp(text, "now") == 0) {
		*seconds = 0;
		return 0;
	}
	errno = 0;
	n = strtol(text, &end, 10);
	if (end == text || errno != 0 || n < 0 || n > 1000000)
		goto bad;
	while (isspace((unsigned char)*end))
		end++;
	if (*end == '\0') {
		*seconds = n;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].unit) == 0) {
			*seconds = n * units[i].mult;
			return 0;
		}
bad:
	return cps_fail(err, CPS_E_INVAL,
			"'%.64s' is not a duration (use \"now\", a number of seconds, or e.g. \"2 minutes\", \"1 hour\")",
			text);
}

static char *trimmed(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool in_choices(const char *choices, const char *v)
{
	const char *p = choices;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (strlen(v) == n && strncmp(p, v, n) == 0)
			return true;
		if (bar == NULL)
			return false;
		p = bar + 1;
	}
}

static int bad_value(const cps_config_key *k, const char *v, const char *want,
		     cps_err *err)
{
	return cps_fail(err, CPS_E_INVAL,
			"invalid value '%.100s' for [%s] %s: expected %s", v,
			k->section, k->key, want);
}

/* One element of a comma-separated list → its canonical text. */
static int list_item(const cps_config_key *k, const char *item, char **out,
		     cps_err *err)
{
	char host[CPS_HOSTNAME_MAX + 1];
	int port, n = -1;

	switch (k->type) {
	case CPS_CT_HOSTNAMES:
		if (cps_hostname_normalize(item, CPS_NAME_ALLOW_WILDCARD, host,
					   err) != 0)
			return cps_err_prefix(err, "[%s] %s", k->section, k->key);
		*out = strdup(host);
		break;
	case CPS_CT_HOSTPORT:
	case CPS_CT_HOSTPORTS:
		if (cps_hostport_parse(item, 53, host, sizeof(host), &port, err) != 0)
			return cps_err_prefix(err, "[%s] %s", k->section, k->key);
		n = asprintf(out, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
			     port);
		if (n < 0)
			*out = NULL;
		break;
	case CPS_CT_CHOICES:
		if (!in_choices(k->choices, item)) {
			char want[160];

			snprintf(want, sizeof(want), "a comma-separated list of: %s",
				 k->choices);
			for (char *c = want; *c; c++)
				if (*c == '|')
					*c = ',';
			return bad_value(k, item, want, err);
		}
		*out = strdup(item);
		break;
	default:
		return cps_fail(err, CPS_E_INTERNAL, "not a list type");
	}
	return *out ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

/* Canonical list: items normalized, empty items and repeats dropped. */
static int normalize_list(const cps_config_key *k, const char *text,
			  char **out, cps_err *err)
{
	char *copy = strdup(text), *save = NULL, *buf = NULL;
	char *items[64];
	size_t len = 0, count = 0;
	FILE *f;
	int rc = 0;

	if (copy == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *item = trimmed(tok), *canon = NULL;
		bool seen = false;

		if (item == NULL) {
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
		} else if (*item) {
			if (count == sizeof(items) / sizeof(items[0]))
				rc = bad_value(k, text, "a list of at most 64 items", err);
			else
				rc = list_item(k, item, &canon, err);
			for (size_t i = 0; rc == 0 && i < count; i++)
				seen = seen || strcmp(items[i], canon) == 0;
			if (rc == 0 && seen)
				free(canon);
			else if (rc == 0)
				items[count++] = canon;
		}
		free(item);
	}
	free(copy);
	if (rc == 0 && k->type == CPS_CT_HOSTPORT && count > 1)
		rc = bad_value(k, text, "a single host:port", err);
	if (rc == 0 && (f = open_memstream(&buf, &len)) != NULL) {
		for (size_t i = 0; i < count; i++)
			fprintf(f, "%s%s", i ? "," : "", items[i]);
		fclose(f);
	} else if (rc == 0) {
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++)
		free(items[i]);
	if (rc != 0)
		return -1;
	*out = buf;
	return 0;
}

static int normalize_text(const cps_config_key *k, const char *raw, char **out,
			  cps_err *err)
{
	char *v = trimmed(raw);
	int rc = 0;
	bool b;

	*out = NULL;
	if (v == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (has_control(v)) {
		rc = bad_value(k, "(control characters)", "one line of text", err);
		goto done;
	}
	/* inih would cut the value at an inline " ;" comment */
	if (strstr(v, " ;") || strstr(v, "\t;")) {
		rc = bad_value(k, v, "text without ' ;' (it starts a comment in config.ini)", err);
		goto done;
	}
	switch (k->type) {
	case CPS_CT_BOOL:
		if (!parse_bool_word(v, &b)) {
			rc = bad_value(k, v, "true or false", err);
			break;
		}
		*out = strdup(b ? "true" : "false");
		break;
	case CPS_CT_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 || n < k->min ||
		    n > k->max) {
			char want[96];

			snprintf(want, sizeof(want), "a whole number from %ld to %ld",
				 k->min, k->max);
			rc = bad_value(k, v, want, err);
			break;
		}
		if (asprintf(out, "%ld", n) < 0)
			*out = NULL;
		break;
	}
	case CPS_CT_ENUM: {
		for (char *c = v; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!in_choices(k->choices, v)) {
			char want[200];

			snprintf(want, sizeof(want), "one of: %s", k->choices);
			for (char *c = want; *c; c++)
				if (*c == '|')
					*c = ',';
			if (k->choices[0] == '|')
				strncat(want, " (or empty)", sizeof(want) - strlen(want) - 1);
			rc = bad_value(k, v, want, err);
			break;
		}
		*out = strdup(v);
		break;
	}
	case CPS_CT_DURATION: {
		long secs;

		if (cps_duration_parse(v, &secs, err) != 0) {
			rc = cps_err_prefix(err, "[%s] %s", k->section, k->key);
			break;
		}
		if (secs < k->min || secs > k->max) {
			rc = bad_value(k, v, "a duration of at most one day", err);
			break;
		}
		for (char *c = v; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		*out = strdup(v);
		break;
	}
	case CPS_CT_URL:
		if (*v && (strncmp(v, "https://", 8) != 0 || strlen(v) == 8 ||
			   strpbrk(v, " \t\"'<>\\"))) {
			rc = bad_value(k, v, "an https:// URL", err);
			break;
		}
		*out = strdup(v);
		break;
	case CPS_CT_PATH:
		if (*v && v[0] != '/') {
			rc = bad_value(k, v, "an absolute path", err);
			break;
		}
		*out = strdup(v);
		break;
	case CPS_CT_COMMAND: {
		size_t n = strcspn(v, " \t");

		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) && !strchr("/._+-", v[i])) {
				rc = bad_value(k, v, "a program (absolute path or name) and its arguments", err);
				break;
			}
		if (rc == 0)
			*out = strdup(v);
		break;
	}
	case CPS_CT_HOSTNAMES:
	case CPS_CT_HOSTPORT:
	case CPS_CT_HOSTPORTS:
	case CPS_CT_CHOICES:
		rc = normalize_list(k, v, out, err);
		break;
	case CPS_CT_STRING:
	case CPS_CT_SECRET:
		*out = strdup(v);
		break;
	case CPS_CT_FRACTION:
		if (cps_fraction_value(v) < 0) {
			rc = bad_value(k, v, "a fraction from 0 up to 1, such as 1/3 or 0.25", err);
			break;
		}
		*out = strdup(v);
		break;
	}
	if (rc == 0 && *out == NULL)
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
done:
	free(v);
	return rc;
}

static bool is_list_type(cps_ctype t)
{
	return t == CPS_CT_HOSTNAMES || t == CPS_CT_HOSTPORTS ||
	       t == CPS_CT_CHOICES;
}

int cps_config_normalize(const cps_config_key *k, json_object *value,
			 char **out, cps_err *err)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	switch (json_object_get_type(value)) {
	case json_type_null:
		return cps_fail(err, CPS_E_INVAL,
				"[%s] %s cannot be null; give a value (\"''\" for empty)",
				k->section, k->key);
	case json_type_array: {
		size_t n = json_object_array_length(value);
		size_t len = 0;
		FILE *f;

		if (!is_list_type(k->type))
			return bad_value(k, "(a list)", cps_ctype_name(k->type), err);
		f = open_memstream(&text, &len);
		if (f == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(value, i);

			if (!json_object_is_type(e, json_type_string)) {
				fclose(f);
				free(text);
				return bad_value(k, "(a nested value)",
						 "a list of strings", err);
			}
			fprintf(f, "%s%s", i ? "," : "", json_object_get_string(e));
		}
		fclose(f);
		break;
	}
	case json_type_object:
		return bad_value(k, "(a key:value list)", cps_ctype_name(k->type), err);
	default:
		text = strdup(json_object_get_string(value));
		break;
	}
	if (text == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = normalize_text(k, text, out, err);
	free(text);
	return rc;
}

json_object *cps_config_typed(const cps_config_key *k, const char *text)
{
	switch (k->type) {
	case CPS_CT_BOOL:
		return json_object_new_boolean(cps_bool_text(text));
	case CPS_CT_INT:
		return json_object_new_int64(strtol(text, NULL, 10));
	case CPS_CT_HOSTNAMES:
	case CPS_CT_HOSTPORTS:
	case CPS_CT_CHOICES: {
		json_object *arr = json_object_new_array();
		char *copy = strdup(text), *save = NULL;

		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save))
			json_object_array_add(arr, json_object_new_string(t));
		free(copy);
		return arr;
	}
	default:
		return json_object_new_string(text);
	}
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
	if (normalize_text(k, value, &canon, &err) != 0) {
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

bool cps_config_bool(const cps_config *cfg, cps_cfg_id id)
{
	return cps_bool_text(cfg->val[id]);
}

long cps_config_int(const cps_config *cfg, cps_cfg_id id)
{
	return strtol(cfg->val[id], NULL, 10);
}

cps_source cps_config_source(const cps_config *cfg, cps_cfg_id id)
{
	return cfg->src[id];
}

/* ---- editing ------------------------------------------------------------ */

/* Lines of a file, each without its newline. */
typedef struct lines {
	char **v;
	size_t n, cap;
} lines;

static int lines_insert(lines *l, size_t at, char *line)
{
	if (line == NULL)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL) {
			free(line);
			return -1;
		}
		l->v = nv;
		l->cap = cap;
	}
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at] = line;
	l->n++;
	return 0;
}

static void lines_free(lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int lines_split(const char *text, lines *l)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (lines_insert(l, l->n, strndup(p, n)) != 0)
			return -1;
		p += nl ? (size_t)(nl - p) + 1 : strlen(p);
	}
	return 0;
}

/* "[name]" → name (into buf), or NULL when the line is not a header. */
static const char *section_of(const char *line, char *buf, size_t len)
{
	const char *end;

	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[' || (end = strchr(line, ']')) == NULL)
		return NULL;
	line++;
	while (line < end && isspace((unsigned char)*line))
		line++;
	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	snprintf(buf, len, "%.*s", (int)(end - line), line);
	return buf;
}

static bool is_key_line(const char *line, const char *key)
{
	size_t n = strlen(key);

	while (isspace((unsigned char)*line))
		line++;
	if (strncmp(line, key, n) != 0)
		return false;
	line += n;
	while (isspace((unsigned char)*line))
		line++;
	return *line == '=' || *line == ':';
}

static bool is_setting_line(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line && *line != ';' && *line != '#' && *line != '[';
}

static int config_edit_locked(const char *path, const cps_config_key *k,
			      const char *canon, cps_err *err);

/* Two edits at once must not lose one: the read-edit-write holds an flock
 * on the directory of config.ini (the file itself is replaced by rename). */
int cps_config_edit(const char *path, const cps_config_key *k,
		    const char *canon, cps_err *err)
{
	int fd = -1, rc;

	if (cps_fs_lock_dir_of(path, 30000, &fd, err) != 0)
		return -1;
	rc = config_edit_locked(path, k, canon, err);
	close(fd);
	return rc;
}

static int config_edit_locked(const char *path, const cps_config_key *k,
			      const char *canon, cps_err *err)
{
	char *text = NULL, *buf = NULL, sec[128];
	const char *cur = NULL;
	lines l = { 0 };
	size_t len = 0, last_in_section = 0;
	bool found = false, have_section = false;
	mode_t mode = 0600;
	struct stat st;
	FILE *f;
	int rc = -1;

	if (cps_fs_read(path, CONFIG_MAX_BYTES, &text, NULL, err) != 0) {
		if (err && err->code != CPS_E_NOTFOUND)
			return -1;
		text = cps_config_render_default();
		if (text == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
	} else if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	}
	if (lines_split(text, &l) != 0) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *s = section_of(l.v[i], sec, sizeof(sec));

		if (s) {
			cur = strcmp(s, k->section) == 0 ? k->section : NULL;
			if (cur) {
				have_section = true;
				last_in_section = i;
			}
			continue;
		}
		if (cur == NULL)
			continue;
		if (is_setting_line(l.v[i]))
			last_in_section = i;
		if (is_key_line(l.v[i], k->key)) {
			size_t indent = strspn(l.v[i], " \t");
			char *nl;

			if (asprintf(&nl, "%.*s%s =%s%s", (int)indent, l.v[i],
				     k->key, *canon ? " " : "", canon) < 0) {
				cps_fail(err, CPS_E_NOMEM, "out of memory");
				goto out;
			}
			free(l.v[i]);
			l.v[i] = nl;
			found = true;
		}
	}
	if (!found) {
		char *nl;

		if (asprintf(&nl, "%s =%s%s", k->key, *canon ? " " : "", canon) < 0)
			nl = NULL;
		if (have_section) {
			if (lines_insert(&l, last_in_section + 1, nl) != 0)
				goto nomem;
		} else {
			char *hd;

			if (asprintf(&hd, "[%s]", k->section) < 0)
				hd = NULL;
			if ((l.n > 0 && l.v[l.n - 1][0] != '\0' &&
			     lines_insert(&l, l.n, strdup("")) != 0) ||
			    lines_insert(&l, l.n, hd) != 0 ||
			    lines_insert(&l, l.n, nl) != 0)
				goto nomem;
		}
	}
	f = open_memstream(&buf, &len);
	if (f == NULL)
		goto nomem;
	for (size_t i = 0; i < l.n; i++)
		fprintf(f, "%s\n", l.v[i]);
	fclose(f);
	rc = cps_fs_write_atomic(path, buf, len, mode, err);
	goto out;
nomem:
	cps_fail(err, CPS_E_NOMEM, "out of memory");
out:
	free(buf);
	free(text);
	lines_free(&l);
	return rc;
}

/* ---- the shipped template ----------------------------------------------- */

static void comment_wrapped(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strlen(p), cut = n;

		if (n > 74) {
			cut = 74;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = 74;
		}
		fprintf(f, "; %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

char *cps_config_render_default(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *section = NULL;

	if (f == NULL)
		return NULL;
	fputs("; cpssl configuration.\n"
	      ";\n"
	      "; Change a value with: cpcmd scope:set cp.config SECTION KEY VALUE\n"
	      "; (the value is type-checked; comments and order are kept).\n"
	      "; Read one with:      cpcmd scope:get cp.config SECTION KEY\n"
	      "; Keys marked \"per site\" can be overridden with\n"
	      ";   cpcmd -d SITE site:set-setting SECTION.KEY VALUE\n", f);
	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = &keys[i];

		if (section == NULL || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		} else {
			fputc('\n', f);
		}
		comment_wrapped(f, k->desc);
		fprintf(f, "; type: %s", cps_ctype_name(k->type));
		if (k->choices) {
			fputs(" (", f);
			for (const char *c = k->choices; *c; c++) {
				if (*c != '|')
					fputc(*c, f);
				else
					fputs(c == k->choices ? "empty, " : ", ", f);
			}
			fputc(')', f);
		}
		if (k->type == CPS_CT_INT)
			fprintf(f, " (%ld to %ld)", k->min, k->max);
		if (k->flags & CPS_CK_SITE)
			fputs("; per site", f);
		fputc('\n', f);
		fprintf(f, "%s =%s%s\n", k->key, *k->def ? " " : "", k->def);
	}
	fclose(f);
	return buf;
}
