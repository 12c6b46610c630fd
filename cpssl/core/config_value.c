/* config.ini values: parsing and the canonical text of each type. */
#include "cpssl/core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/names/hostname.h"

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
		if (cps_hostname_normalize(item, CPS_NAME_ALLOW_WILDCARD | CPS_NAME_ALLOW_IP,
					   host, err) != 0)
			return cps_err_prefix(err, "[%s] %s", k->section, k->key);
		*out = strdup(host);
		break;
	case CPS_CT_IPS:
		if (cps_ip_normalize(item, host, err) != 0)
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
	case CPS_CT_URLS:
		if (strncmp(item, "https://", 8) != 0 || strlen(item) == 8 ||
		    strpbrk(item, " \t\"'<>\\"))
			return bad_value(k, item, "a comma-separated list of https:// URLs (ACME "
					 "directories)", err);
		*out = strdup(item);
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

/* The canonical text of one value of each type. V is the trimmed text,
 * which the function may change; *out is a fresh string. */
typedef int (*canon_fn)(const cps_config_key *k, char *v, char **out, cps_err *err);

static void lower(char *v)
{
	for (; *v; v++)
		*v = (char)tolower((unsigned char)*v);
}

static int canon_bool(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	bool b;

	if (!parse_bool_word(v, &b))
		return bad_value(k, v, "true or false", err);
	*out = strdup(b ? "true" : "false");
	return 0;
}

static int canon_int(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	char *end, want[96];
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < k->min || n > k->max) {
		snprintf(want, sizeof(want), "a whole number from %ld to %ld", k->min, k->max);
		return bad_value(k, v, want, err);
	}
	if (asprintf(out, "%ld", n) < 0)
		*out = NULL;
	return 0;
}

static int canon_enum(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	char want[200];

	lower(v);
	if (in_choices(k->choices, v)) {
		*out = strdup(v);
		return 0;
	}
	snprintf(want, sizeof(want), "one of: %s", k->choices);
	for (char *c = want; *c; c++)
		if (*c == '|')
			*c = ',';
	if (k->choices[0] == '|')
		strncat(want, " (or empty)", sizeof(want) - strlen(want) - 1);
	return bad_value(k, v, want, err);
}

static int canon_duration(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	long secs;

	if (cps_duration_parse(v, &secs, err) != 0)
		return cps_err_prefix(err, "[%s] %s", k->section, k->key);
	if (secs < k->min || secs > k->max)
		return bad_value(k, v, "a duration of at most one day", err);
	lower(v);
	*out = strdup(v);
	return 0;
}

static int canon_url(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	if (*v && (strncmp(v, "https://", 8) != 0 || strlen(v) == 8 || strpbrk(v, " \t\"'<>\\")))
		return bad_value(k, v, "an https:// URL", err);
	*out = strdup(v);
	return 0;
}

static int canon_web_url(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	size_t scheme = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;

	if (*v && (scheme == 0 || strlen(v) == scheme || strpbrk(v, " \t\"'<>\\")))
		return bad_value(k, v, "an http:// or https:// URL", err);
	*out = strdup(v);
	return 0;
}

static int canon_path(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	if (*v && v[0] != '/')
		return bad_value(k, v, "an absolute path", err);
	*out = strdup(v);
	return 0;
}

static int canon_command(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	size_t n = strcspn(v, " \t");

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("/._+-", v[i]))
			return bad_value(k, v, "a program (absolute path or name) and its arguments",
					 err);
	*out = strdup(v);
	return 0;
}

static int canon_text(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	(void)k;
	(void)err;
	*out = strdup(v);
	return 0;
}

static int canon_fraction(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	if (cps_fraction_value(v) < 0)
		return bad_value(k, v, "a fraction from 0 up to 1, such as 1/3 or 0.25", err);
	*out = strdup(v);
	return 0;
}

static int canon_list(const cps_config_key *k, char *v, char **out, cps_err *err)
{
	return normalize_list(k, v, out, err);
}

static const canon_fn canon_of[] = {
	[CPS_CT_BOOL] = canon_bool,
	[CPS_CT_INT] = canon_int,
	[CPS_CT_STRING] = canon_text,
	[CPS_CT_ENUM] = canon_enum,
	[CPS_CT_DURATION] = canon_duration,
	[CPS_CT_URL] = canon_url,
	[CPS_CT_WEB_URL] = canon_web_url,
	[CPS_CT_PATH] = canon_path,
	[CPS_CT_COMMAND] = canon_command,
	[CPS_CT_HOSTNAMES] = canon_list,
	[CPS_CT_HOSTPORT] = canon_list,
	[CPS_CT_HOSTPORTS] = canon_list,
	[CPS_CT_CHOICES] = canon_list,
	[CPS_CT_SECRET] = canon_text,
	[CPS_CT_FRACTION] = canon_fraction,
	[CPS_CT_URLS] = canon_list,
	[CPS_CT_IPS] = canon_list,
};

int cps_config_canonical(const cps_config_key *k, const char *raw, char **out,
			 cps_err *err)
{
	char *v = trimmed(raw);
	int rc;

	*out = NULL;
	if (v == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (has_control(v))
		rc = bad_value(k, "(control characters)", "one line of text", err);
	else if (strstr(v, " ;") || strstr(v, "\t;")) /* inih would cut it there */
		rc = bad_value(k, v, "text without ' ;' (it starts a comment in config.ini)", err);
	else if ((unsigned)k->type >= sizeof(canon_of) / sizeof(canon_of[0]) || !canon_of[k->type])
		rc = cps_fail(err, CPS_E_INTERNAL, "[%s] %s has no value type", k->section, k->key);
	else
		rc = canon_of[k->type](k, v, out, err);
	if (rc == 0 && *out == NULL)
		rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	free(v);
	return rc;
}

static bool is_list_type(cps_ctype t)
{
	return t == CPS_CT_HOSTNAMES || t == CPS_CT_HOSTPORTS ||
	       t == CPS_CT_CHOICES || t == CPS_CT_URLS || t == CPS_CT_IPS;
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
	rc = cps_config_canonical(k, text, out, err);
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
	case CPS_CT_CHOICES:
	case CPS_CT_URLS:
	case CPS_CT_IPS: {
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

