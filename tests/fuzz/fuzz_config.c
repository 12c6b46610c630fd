/* libFuzzer target: config.ini loading never crashes, leaks or hangs, and a
 * file it accepts holds only valid values: every key reads back through the
 * getters, each value from the file is canonical (normalizing it again gives
 * the same text), integers are within their bounds, durations and fractions
 * parse. A refused file leaves no config behind and says why. The input as
 * one string also goes through the duration, bool and fraction parsers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpssl/core/config.h"
#include "cpssl/core/log.h"
#include "cpssl/core/settings.h"

/* Every key of a loaded config reads back, and what came from the file is
 * a valid, canonical value of its type. */
static void check_loaded(const cps_config *cfg)
{
	for (int id = 0; id < CPS_CFG__COUNT; id++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)id);
		const char *v;
		json_object *typed, *s;
		char *again = NULL;
		cps_err err;
		long secs;

		if (k == NULL || k->id != (cps_cfg_id)id)
			abort();
		v = cps_config_str(cfg, k->id);
		if (v == NULL)
			abort();
		if (k->type == CPS_CT_INT) {
			long n = strtol(v, NULL, 10);

			if (n < k->min || n > k->max)
				abort();
		}
		if (k->type == CPS_CT_DURATION &&
		    (cps_duration_parse(v, &secs, &err) != 0 || secs < k->min ||
		     secs > k->max))
			abort();
		if (k->type == CPS_CT_FRACTION && cps_fraction_value(v) < 0)
			abort();
		typed = cps_config_typed(k, v);
		if (typed == NULL)
			abort();
		json_object_put(typed);
		if (cps_config_source(cfg, k->id) != CPS_SRC_FILE)
			continue;
		/* the stored text is canonical: normalizing it is a no-op */
		s = json_object_new_string(v);
		if (s == NULL)
			abort();
		if (cps_config_normalize(k, s, &again, &err) != 0 ||
		    strcmp(again, v) != 0) {
			fprintf(stderr, "[%s] %s = '%s' normalizes to '%s' (%s)\n",
				k->section, k->key, v, again ? again : "(error)",
				again ? "" : err.msg);
			abort();
		}
		free(again);
		json_object_put(s);
	}
}

/* A loaded config resolves into typed settings, or says why not. */
static void check_settings(const cps_config *cfg)
{
	cps_settings set;
	cps_err err;

	if (cps_settings_parse(cfg, 0, NULL, 0, &set, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();
		return;
	}
	if (set.window.lookahead_days < -999 || set.window.lookahead_days > 999 ||
	    set.concurrency < 1 || set.concurrency > 64 || set.ca.url == NULL ||
	    set.layout.http01_root == NULL || set.window.fraction < 0 || set.window.fraction >= 1)
		abort();
	cps_settings_free(&set);
}

static void load(const uint8_t *data, size_t size)
{
	cps_config *cfg = (cps_config *)1;
	char path[64];
	cps_err err;
	int fd = memfd_create("config.ini", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cps_err_clear(&err);
	if (cps_config_load(path, &cfg, &err) == 0) {
		if (cfg == NULL)
			abort();
		check_loaded(cfg);
		check_settings(cfg);
		cps_config_free(cfg);
	} else if (cfg != NULL || err.code != CPS_E_CONFIG || err.msg[0] == '\0') {
		abort();
	}
	close(fd);
}

static void text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	long secs = -1;
	double f;
	cps_err err;

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	cps_err_clear(&err);
	if (cps_duration_parse(s, &secs, &err) == 0) {
		if (secs < 0 || secs > 1000000L * 86400)
			abort();
	} else if (err.code != CPS_E_INVAL || err.msg[0] == '\0') {
		abort();
	}
	(void)cps_bool_text(s);
	f = cps_fraction_value(s);
	if (f != -1 && !(f >= 0 && f < 1))
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load(data, size);
	text(data, size);
	cps_report_reset(); /* unknown keys are logged as warnings */
	return 0;
}
