#include "cpssl/core/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cpssl/core/clock.h"

int cps_format_parse(const char *name, cps_format *out, cps_err *err)
{
	if (strcmp(name, "yaml") == 0)
		*out = CPS_FMT_YAML;
	else if (strcmp(name, "json") == 0)
		*out = CPS_FMT_JSON;
	else
		return cps_fail(err, CPS_E_INVAL,
				"unknown output format '%s' (use yaml or json)",
				name);
	return 0;
}

/* Strings a YAML reader would take for another type must be quoted. */
static bool yaml_ambiguous(const char *s)
{
	static const char *const words[] = {
		"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	const char *p = s;

	if (*s == '\0')
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	if (*p == '-' || *p == '+' || *p == '.')
		p++;
	if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "nan") == 0)
		return true;
	if (*p < '0' || *p > '9')
		return false;
	/* numbers in any base, floats, sexagesimals: "10", "0x1f", "1e5", "1:30" */
	if (strspn(s, "0123456789+-.:_xXoObBeEaAcCdDfF") == strlen(s))
		return true;
	/* dates and timestamps: "2026-11-23", "2026-11-23T00:00:00Z" */
	return strlen(s) >= 10 && strspn(s, "0123456789") == 4 && s[4] == '-';
}

static int emit_scalar(yaml_emitter_t *em, const char *text,
		       yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
					  (yaml_char_t *)text, (int)strlen(text),
					  1, 1, style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_value(yaml_emitter_t *em, json_object *v, int depth)
{
	yaml_event_t ev;

	if (depth > 64)
		return -1;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return emit_scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
	case json_type_boolean:
		return emit_scalar(em, json_object_get_boolean(v) ? "true" : "false",
				   YAML_PLAIN_SCALAR_STYLE);
	case json_type_int:
	case json_type_double:
		return emit_scalar(em, json_object_to_json_string(v),
				   YAML_PLAIN_SCALAR_STYLE);
	case json_type_string: {
		const char *s = json_object_get_string(v);
		yaml_scalar_style_t st = YAML_ANY_SCALAR_STYLE;

		if (strchr(s, '\n'))
			st = YAML_LITERAL_SCALAR_STYLE;
		else if (yaml_ambiguous(s))
			st = YAML_SINGLE_QUOTED_SCALAR_STYLE;
		return emit_scalar(em, s, st);
	}
	case json_type_array:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (emit_value(em, json_object_array_get_idx(v, i),
				       depth + 1) != 0)
				return -1;
		if (!yaml_sequence_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	case json_type_object: {
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_object_foreach(v, key, val) {
			json_object *k = json_object_new_string(key);
			int rc = emit_value(em, k, depth + 1);

			json_object_put(k);
			if (rc != 0 || emit_value(em, val, depth + 1) != 0)
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	}
	return -1;
}

static int render_yaml(json_object *value, FILE *f)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc = -1;

	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&em, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&em, &ev) || emit_value(&em, value, 0) != 0 ||
	    !yaml_document_end_event_initialize(&ev, 1) ||
	    !yaml_emitter_emit(&em, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) ||
	    !yaml_emitter_emit(&em, &ev) || !yaml_emitter_flush(&em))
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&em);
	return rc;
}

int cps_output_render(json_object *value, cps_format fmt, char **out,
		      cps_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = 0;

	*out = NULL;
	if (f == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory rendering output");
	if (fmt == CPS_FMT_JSON)
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(value,
						       JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		rc = render_yaml(value, f);
	if (fclose(f) != 0 || rc != 0) {
		free(buf);
		return cps_fail(err, CPS_E_INTERNAL, "cannot render the result as %s",
				fmt == CPS_FMT_JSON ? "JSON" : "YAML");
	}
	*out = buf;
	return 0;
}

json_object *cps_json_time(time_t t)
{
	char buf[CPS_ISO_TIME_LEN];

	return json_object_new_string(cps_time_iso(t, buf));
}

json_object *cps_json_names(const char *joined)
{
	json_object *arr = json_object_new_array();
	char *copy = strdup(joined ? joined : ""), *save = NULL;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(t));
	free(copy);
	return arr;
}
