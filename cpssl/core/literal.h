/* ApisCP argument literals → json-c values.
 *
 *   null true false        → null / boolean
 *   42  -7  1.5            → integer / double
 *   'text'  "text"         → string (quotes removed; \' \" \\ escapes)
 *   [a, b, [c]]            → array
 *   ['k':'v', k2:[1,2]]    → object (keys are strings)
 *   anything else          → the string itself
 *
 * Only a whole argument that starts with '[' is parsed as a list; a bare word
 * such as "a:b" stays a string. */
#ifndef CPSSL_CORE_LITERAL_H
#define CPSSL_CORE_LITERAL_H

#include <json-c/json.h>

#include "cpssl/core/err.h"

#define CPS_LITERAL_MAX_LEN   (256 * 1024)
#define CPS_LITERAL_MAX_DEPTH 32

/* Parse one command-line argument. On success *out holds a new reference
 * (possibly NULL for the literal null). */
int cps_literal_parse(const char *text, json_object **out, cps_err *err);

/* Render a value back as a literal that cps_literal_parse() reads to the same
 * value (used for signatures and defaults). Caller frees. */
char *cps_literal_format(json_object *value);

#endif
