/* Rendering of command results: YAML (libyaml emitter) or JSON (json-c). */
#ifndef CPSSL_CORE_OUTPUT_H
#define CPSSL_CORE_OUTPUT_H

#include <json-c/json.h>
#include <time.h>

#include "cpssl/core/err.h"

typedef enum cps_format {
	CPS_FMT_YAML = 0,
	CPS_FMT_JSON,
} cps_format;

int cps_format_parse(const char *name, cps_format *out, cps_err *err);

/* Render VALUE (NULL is the null value) as text ending in a newline. */
int cps_output_render(json_object *value, cps_format fmt, char **out,
		      cps_err *err);

/* A time as an ISO 8601 UTC string value ("2026-11-23T00:22:46Z"). */
json_object *cps_json_time(time_t t);

/* "a.example,b.example" (names as the store keeps them) → a list value. */
json_object *cps_json_names(const char *joined);

#endif
