#include "cpssl/core/literal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
	const char *s;
	size_t len, pos;
	cps_err *err;
} parser;

static int perr(parser *p, const char *what)
{
	/* Show where it went wrong, but never echo a huge argument. */
	size_t from = p->pos > 20 ? p->pos - 20 : 0;
	size_t n = p->len - from < 40 ? p->len - from : 40;
	char snip[41];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p->s[from + i];

		snip[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	snip[n] = '\0';
	return cps_fail(p->err, CPS_E_INVAL,
			"malformed argument literal: %s at offset %zu near '%s'",
			what, p->pos, snip);
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

static bool is_int(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[0] == '-')
		i++;
	if (i == n || (s[i] == '0' && n - i > 1))
		return false;
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* -?digits.digits, optionally with an exponent (as json-c prints doubles) */
static bool is_double(const char *s, size_t n)
{
	size_t i = 0, start;
	bool frac = false, exp = false;

	if (i < n && s[i] == '-')
		i++;
	start = i;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == start || (s[start] == '0' && i - start > 1))
		return false;
	if (i < n && s[i] == '.') {
		frac = true;
		start = ++i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		exp = true;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return false;
	}
	return i == n && (frac || exp);
}

/* Type a bare (unquoted) word: null/true/false/number, else string. */
static json_object *bare_value(const char *s, size_t n)
{
	char buf[32];

	if (n == 4 && memcmp(s, "null", 4) == 0)
		return NULL;
	if (n == 4 && memcmp(s, "true", 4) == 0)
		return json_object_new_boolean(1);
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return json_object_new_boolean(0);
	if (n < sizeof(buf) && (is_int(s, n) || is_double(s, n))) {
		char *end;

		memcpy(buf, s, n);
		buf[n] = '\0';
		errno = 0;
		if (is_int(s, n)) {
			long long v = strtoll(buf, &end, 10);

			if (errno == 0 && *end == '\0')
				return json_object_new_int64(v);
		} else {
			double d = strtod(buf, &end);

			if (errno == 0 && *end == '\0')
				return json_object_new_double(d);
		}
	}
	return json_object_new_string_len(s, (int)n);
}

/* A quoted string starting at p->pos; leaves pos after the closing quote. */
static int parse_quoted(parser *p, json_object **out)
{
	char q = p->s[p->pos++];
	char *buf = malloc(p->len - p->pos + 1);
	size_t n = 0;

	if (buf == NULL)
		return cps_fail(p->err, CPS_E_NOMEM, "out of memory");
	while (p->pos < p->len && p->s[p->pos] != q) {
		char c = p->s[p->pos++];

		if (c == '\\' && p->pos < p->len &&
		    (p->s[p->pos] == q || p->s[p->pos] == '\\'))
			c = p->s[p->pos++];
		buf[n++] = c;
	}
	if (p->pos >= p->len) {
		free(buf);
		return perr(p, q == '\'' ? "unterminated ' quote"
					 : "unterminated \" quote");
	}
	p->pos++;
	*out = json_object_new_string_len(buf, (int)n);
	free(buf);
	return 0;
}

static int parse_list(parser *p, int depth, json_object **out);

/* One value inside a list: a nested list, a quoted string or a bare word. */
static int parse_item(parser *p, int depth, json_object **out)
{
	size_t start, end;

	skip_ws(p);
	if (p->pos >= p->len)
		return perr(p, "missing ']'");
	if (p->s[p->pos] == '[')
		return parse_list(p, depth + 1, out);
	if (p->s[p->pos] == '\'' || p->s[p->pos] == '"') {
		if (parse_quoted(p, out) != 0)
			return -1;
		skip_ws(p);
		return 0;
	}
	start = p->pos;
	while (p->pos < p->len && !strchr(",:[]", p->s[p->pos]))
		p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '[')
		return perr(p, "unexpected '['");
	end = p->pos;
	while (end > start && isspace((unsigned char)p->s[end - 1]))
		end--;
	if (end == start)
		return perr(p, "empty value");
	*out = bare_value(p->s + start, end - start);
	return 0;
}

/* Positional items of a list that turns out to be a map get keys "0", "1"… */
static void to_object(json_object *arr, json_object **obj)
{
	size_t n = json_object_array_length(arr);

	*obj = json_object_new_object();
	for (size_t i = 0; i < n; i++) {
		char key[24];

		snprintf(key, sizeof(key), "%zu", i);
		json_object_object_add(*obj, key,
				       json_object_get(json_object_array_get_idx(arr, i)));
	}
	json_object_put(arr);
}

static int parse_list(parser *p, int depth, json_object **out)
{
	json_object *arr = json_object_new_array(), *obj = NULL;
	size_t positional = 0;

	if (depth > CPS_LITERAL_MAX_DEPTH) {
		json_object_put(arr);
		return perr(p, "lists nested too deeply");
	}
	p->pos++; /* '[' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		*out = arr;
		return 0;
	}
	for (;;) {
		json_object *v = NULL, *k = NULL;

		if (parse_item(p, depth, &v) != 0)
			goto fail;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ':') {
			/* key: value */
			p->pos++;
			k = v;
			v = NULL;
			if (k != NULL && !json_object_is_type(k, json_type_string)) {
				/* bare numbers/booleans as keys keep their text */
				const char *txt = json_object_to_json_string(k);
				json_object *s = json_object_new_string(txt);

				json_object_put(k);
				k = s;
			} else if (k == NULL) {
				k = json_object_new_string("null");
			}
			if (parse_item(p, depth, &v) != 0) {
				json_object_put(k);
				goto fail;
			}
			if (obj == NULL) {
				to_object(arr, &obj);
				arr = NULL;
			}
			if (json_object_object_get_ex(obj, json_object_get_string(k), NULL)) {
				cps_fail(p->err, CPS_E_INVAL,
					 "malformed argument literal: duplicate key '%.200s'",
					 json_object_get_string(k));
				json_object_put(k);
				json_object_put(v);
				goto fail;
			}
			json_object_object_add(obj, json_object_get_string(k), v);
			json_object_put(k);
		} else if (obj != NULL) {
			char key[24];

			snprintf(key, sizeof(key), "%zu", positional);
			json_object_object_add(obj, key, v);
		} else {
			json_object_array_add(arr, v);
		}
		positional++;
		skip_ws(p);
		if (p->pos >= p->len) {
			perr(p, "missing ']'");
			goto fail;
		}
		if (p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		if (p->s[p->pos] != ',') {
			perr(p, "expected ',' or ']'");
			goto fail;
		}
		p->pos++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ']') { /* trailing comma */
			p->pos++;
			break;
		}
	}
	*out = obj ? obj : arr;
	return 0;
fail:
	json_object_put(arr);
	json_object_put(obj);
	return -1;
}

int cps_literal_parse(const char *text, json_object **out, cps_err *err)
{
	size_t len = strlen(text);
	parser p = { .s = text, .len = len, .pos = 0, .err = err };

	*out = NULL;
	if (len > CPS_LITERAL_MAX_LEN)
		return cps_fail(err, CPS_E_INVAL,
				"argument is too long (%zu bytes; the limit is %d)",
				len, CPS_LITERAL_MAX_LEN);
	if (len > 0 && text[0] == '[') {
		if (parse_list(&p, 1, out) != 0) {
			/* an unquoted IPv6 address reads as key:value pairs */
			if (err && strstr(text, "::"))
				snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
					 " (quote an IPv6 address inside a list: \"['a.example','2001:db8::1']\")");
			return -1;
		}
		skip_ws(&p);
		if (p.pos != p.len) {
			json_object_put(*out);
			*out = NULL;
			return perr(&p, "unexpected text after ']'");
		}
		return 0;
	}
	if (len >= 2 && (text[0] == '\'' || text[0] == '"')) {
		if (parse_quoted(&p, out) != 0)
			return -1;
		if (p.pos == p.len)
			return 0;
		/* not one quoted string after all: keep the text verbatim */
		json_object_put(*out);
		cps_err_clear(err);
	}
	*out = bare_value(text, len);
	return 0;
}

static bool needs_quotes(const char *s)
{
	size_t n = strlen(s);
	json_object *v;
	bool typed;

	if (n == 0 || isspace((unsigned char)s[0]) ||
	    isspace((unsigned char)s[n - 1]) || strpbrk(s, "[],:'\"\\"))
		return true;
	v = bare_value(s, n);
	typed = v == NULL || !json_object_is_type(v, json_type_string);
	json_object_put(v);
	return typed;
}

static void fmt_value(json_object *v, FILE *f)
{
	bool first = true;

	switch (json_object_get_type(v)) {
	case json_type_null:
		fputs("null", f);
		break;
	case json_type_boolean:
	case json_type_int:
	case json_type_double:
		fputs(json_object_to_json_string(v), f);
		break;
	case json_type_string: {
		const char *s = json_object_get_string(v);

		if (!needs_quotes(s)) {
			fputs(s, f);
			break;
		}
		fputc('\'', f);
		for (; *s; s++) {
			if (*s == '\'' || *s == '\\')
				fputc('\\', f);
			fputc(*s, f);
		}
		fputc('\'', f);
		break;
	}
	case json_type_array:
		fputc('[', f);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (i)
				fputc(',', f);
			fmt_value(json_object_array_get_idx(v, i), f);
		}
		fputc(']', f);
		break;
	case json_type_object: {
		fputc('[', f);
		json_object_object_foreach(v, key, val) {
			json_object *k = json_object_new_string(key);

			if (!first)
				fputc(',', f);
			first = false;
			fmt_value(k, f);
			json_object_put(k);
			fputc(':', f);
			fmt_value(val, f);
		}
		fputc(']', f);
		break;
	}
	}
}

char *cps_literal_format(json_object *value)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fmt_value(value, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
