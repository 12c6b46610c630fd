/* libFuzzer target: the argument literal parser must never crash, leak or
 * hang, and whatever it accepts must format back to a literal that parses
 * to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/literal.h"
#include "cpssl/core/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *again, *yaml;
	json_object *v = NULL, *w = NULL;
	cps_err err;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* argv strings end at the first NUL */
	if (cps_literal_parse(text, &v, &err) == 0) {
		again = cps_literal_format(v);
		if (again == NULL)
			abort();
		/* a top-level string is an argument as given, not a list */
		if (v != NULL && !json_object_is_type(v, json_type_string)) {
			if (cps_literal_parse(again, &w, &err) != 0 ||
			    !json_object_equal(v, w))
				abort();
		}
		if (cps_output_render(v, CPS_FMT_YAML, &yaml, &err) == 0)
			free(yaml);
		free(again);
		json_object_put(w);
		json_object_put(v);
	}
	free(text);
	return 0;
}
