#include "acmems/status.h"

#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/paths.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/store/ca_health.h"

#define RECENT 20

static json_object *listeners(const am_conf *c)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < c->nmgmt; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(c->mgmt[i].text));
		json_object_object_add(o, "serves", json_object_new_string("mgmt"));
		json_object_array_add(a, o);
	}
	for (size_t i = 0; i < c->nverifications; i++)
		for (size_t j = 0; j < c->verifications[i]->nlisteners; j++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "address",
					       json_object_new_string(c->verifications[i]->listeners[j].text));
			json_object_object_add(o, "serves", json_object_new_string("http01"));
			json_object_object_add(o, "verification",
					       json_object_new_string(c->verifications[i]->name));
			json_object_array_add(a, o);
		}
	return a;
}

static json_object *auths(const am_conf *c)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < c->nauths; i++) {
		const am_auth *b = c->auths[i];
		json_object *o = json_object_new_object(), *ips = json_object_new_array(),
			    *doms = json_object_new_array();

		for (size_t j = 0; j < b->nips; j++)
			json_object_array_add(ips, json_object_new_string(b->ips[j].text));
		for (size_t j = 0; j < b->ndomains; j++)
			json_object_array_add(doms, json_object_new_string(b->domains[j]));
		json_object_object_add(o, "name", json_object_new_string(b->name));
		json_object_object_add(o, "ip", ips);
		json_object_object_add(o, "domain", doms);
		json_object_object_add(o, "hmac", b->hmac_type ? json_object_new_string(b->hmac_type)
							       : NULL);
		json_object_object_add(o, "verification",
				       json_object_new_string(b->verification->name));
		json_object_object_add(o, "storage", json_object_new_string(b->storage->name));
		json_object_array_add(a, o);
	}
	return a;
}

/* The CAs in order (acme-server, then each fallback-server) with their
 * health as the service last recorded it: failures in a row, and until when
 * one is passed over. */
static json_object *cas(const am_conf *c)
{
	json_object *a = json_object_new_array();
	cps_store *st = NULL;
	cps_paths p = { 0 };
	cps_err e;

	if (cps_paths_init(&p, c->account_dir, &e) == 0 && access(p.db, F_OK) == 0 &&
	    cps_store_open(p.db, &st, &e) != 0)
		st = NULL;
	for (size_t i = 0; i <= c->nfallbacks; i++) {
		const char *url = i ? c->fallbacks[i - 1] : c->acme_server;
		json_object *o = json_object_new_object();
		cps_ca_health h = { 0 };
		char when[CPS_ISO_TIME_LEN];

		if (st && cps_ca_health_get(st, url, &h, &e) != 0)
			memset(&h, 0, sizeof(h));
		json_object_object_add(o, "url", json_object_new_string(url));
		json_object_object_add(o, "role", json_object_new_string(i ? "fallback" : "primary"));
		json_object_object_add(o, "failures", json_object_new_int64(h.failures));
		json_object_object_add(o, "passed_over_until",
				       h.until > (long long)cps_now()
					       ? json_object_new_string(cps_time_iso((time_t)h.until, when))
					       : NULL);
		json_object_object_add(o, "last_error",
				       *h.last_error ? json_object_new_string(h.last_error) : NULL);
		json_object_array_add(a, o);
	}
	cps_store_close(st);
	cps_paths_free(&p);
	return a;
}

static void cached_one(json_object *a, const am_storage *s, const char *file)
{
	char *path = cps_path_join(s->directory, file), *pem = NULL, when[CPS_ISO_TIME_LEN];
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info = { 0 };
	X509 *leaf = NULL;
	size_t len = 0;
	cps_err e;

	if (path && cps_fs_read(path, 1 << 20, &pem, &len, &e) == 0 &&
	    cps_cert_parse_pem(pem, len, &leaf, &chain, &e) == 0 &&
	    cps_cert_info_get(leaf, &info, &e) == 0) {
		json_object *o = json_object_new_object(), *n = json_object_new_array();

		for (size_t i = 0; i < info.nsans; i++)
			json_object_array_add(n, json_object_new_string(info.sans[i]));
		cps_time_iso(info.not_after, when);
		json_object_object_add(o, "storage", json_object_new_string(s->name));
		json_object_object_add(o, "file", json_object_new_string(path));
		json_object_object_add(o, "names", n);
		json_object_object_add(o, "serial", json_object_new_string(info.serial));
		json_object_object_add(o, "not_after", json_object_new_string(when));
		json_object_array_add(a, o);
	}
	cps_cert_info_free(&info);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	free(path);
}

static json_object *cached(const am_conf *c)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < c->nstorages; i++) {
		const am_storage *s = c->storages[i];
		struct dirent **list = NULL;
		int n;

		if (s->type != AM_S_FILE || (n = cps_fs_list(s->directory, &list)) < 0)
			continue;
		for (int j = 0; j < n; j++) {
			size_t l = strlen(list[j]->d_name);

			if (l > 4 && strcmp(list[j]->d_name + l - 4, ".pem") == 0)
				cached_one(a, s, list[j]->d_name);
			free(list[j]);
		}
		free(list);
	}
	return a;
}

static json_object *recent(const char *log_path)
{
	json_object *a = json_object_new_array();
	char *text = NULL, *lines[RECENT] = { 0 }, *save = NULL;
	size_t len = 0, n = 0;
	cps_err e;

	if (cps_fs_read(log_path, 64 << 20, &text, &len, &e) != 0)
		return a;
	for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		lines[n++ % RECENT] = t;
	for (size_t i = n > RECENT ? n - RECENT : 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(lines[i % RECENT]));
	free(text);
	return a;
}

static void print_text(json_object *o)
{
	json_object_object_foreach(o, key, val) {
		printf("%s:\n", key);
		for (size_t i = 0; i < json_object_array_length(val); i++) {
			json_object *v = json_object_array_get_idx(val, i);

			if (json_object_is_type(v, json_type_string)) {
				printf("  - %s\n", json_object_get_string(v));
				continue;
			}
			printf("  -");
			json_object_object_foreach(v, k2, v2)
				printf(" %s=%s", k2, v2 ? json_object_to_json_string_ext(v2, JSON_C_TO_STRING_PLAIN |
											 JSON_C_TO_STRING_NOSLASHESCAPE)
						    : "none");
			printf("\n");
		}
	}
}

int am_status(const am_conf *c, const char *log_path, int argc, char **argv, cps_err *err)
{
	bool json = false;
	json_object *o;

	(void)err;
	if (argc == 2 && strcmp(argv[0], "-o") == 0 && strcmp(argv[1], "json") == 0)
		json = true;
	else if (argc != 0)
		return 2;
	o = json_object_new_object();
	json_object_object_add(o, "cas", cas(c));
	json_object_object_add(o, "listeners", listeners(c));
	json_object_object_add(o, "auth", auths(c));
	json_object_object_add(o, "cached", cached(c));
	json_object_object_add(o, "recent_requests", recent(log_path));
	if (json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(o);
	json_object_put(o);
	return 0;
}
