/* dns: records in the zones cpssl publishes to ([dns] provider: rfc2136 or
 * hook), what the zones' authoritative servers answer, and the public
 * address. With -d a site touches only the zones of its own domains (and
 * names below them); without -d the administrator may touch any zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/provider.h"
#include "cpssl/dns/publicip.h"
#include "cpssl/dns/record.h"
#include "modules/dispatch.h"

/* ZONE and SUBDOMAIN (args 0 and 1) → the record's name; with -d only in a
 * zone the site owns (its names below it are then its own too: ownership
 * never nests across sites). DOING says what was refused ("add a record
 * to"). */
static int owned_name(cps_ctx *ctx, json_object **args, const char *doing,
		      char zone[CPS_HOSTNAME_MAX + 1], char name[CPS_HOSTNAME_MAX + 1],
		      cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	long owner = 0;

	if (cps_dns_record_name(json_object_get_string(args[0]), json_object_get_string(args[1]),
				zone, name, err) != 0)
		return site ? cps_err_prefix(err, "%s", site->name) : -1;
	if (site == NULL)
		return 0;
	if (cps_site_owner(ctx->store, zone, &owner, err) != 0)
		return -1;
	if (owner == site->id) {
		/* by construction below the zone; checked all the same */
		if (cps_site_owner(ctx->store, name, &owner, err) != 0)
			return -1;
		if (owner == site->id)
			return 0;
		return cps_fail(err, CPS_E_PERM, "%s cannot %s %s: the name is not the site's",
				site->name, doing, name);
	}
	if (owner == 0)
		return cps_fail(err, CPS_E_PERM,
				"%s cannot %s zone %s: no site has this domain (add it to %s with "
				"site:add-domain first, or run the command without -d as the administrator)",
				site->name, doing, zone, site->name);
	return cps_fail(err, CPS_E_PERM,
			"%s cannot %s zone %s: it belongs to another site, and a site changes only "
			"the zones of its own domains",
			site->name, doing, zone);
}

/* "site1: " before a message about a site's record; nothing for the
 * administrator's. */
static const char *who(cps_ctx *ctx, char buf[CPS_SITE_NAME_MAX + 2])
{
	snprintf(buf, CPS_SITE_NAME_MAX + 2, "%s%s", ctx->has_site ? ctx->site.name : "",
		 ctx->has_site ? ": " : "");
	return buf;
}

static int type_arg(json_object *arg, cps_rrtype *t, cps_err *err)
{
	return cps_rrtype_parse(json_object_get_string(arg), t, err);
}

static int cmd_add_record(cps_ctx *ctx, json_object **args, size_t nargs,
			  json_object **result, cps_err *err)
{
	long long ttl = json_object_get_int64(args[4]);
	char zone[CPS_HOSTNAME_MAX + 1], w[CPS_SITE_NAME_MAX + 2];
	cps_dns_record r = { .ttl = (long)ttl };
	cps_dns_provider *p = NULL;
	int rc = -1;

	(void)nargs;
	if (owned_name(ctx, args, "add a record to", zone, r.name, err) != 0)
		return -1;
	if (type_arg(args[2], &r.type, err) != 0)
		return cps_err_prefix(err, "%scannot add a record at %s", who(ctx, w), r.name);
	if (cps_dns_value_canonical(r.type, json_object_get_string(args[3]), &r.value, err) != 0)
		goto fail;
	if (ttl < 0 || ttl > CPS_DNS_TTL_MAX) {
		cps_fail(err, CPS_E_INVAL, "the TTL must be 0 to %ld seconds, not %lld",
			 CPS_DNS_TTL_MAX, ttl);
		goto fail;
	}
	if (cps_dns_provider_new(&ctx->set.dns, &p, err) != 0 ||
	    cps_dns_record_add(p, &r, err) != 0)
		goto fail;
	cps_debug("%sadded %s %s %s (TTL %ld) through %s", who(ctx, w), r.name,
		  cps_rrtype_name(r.type), r.value, r.ttl, cps_dns_provider_name(p));
	*result = json_object_new_boolean(1);
	rc = 0;
	goto out;
fail:
	cps_err_prefix(err, "%scannot add the %s record at %s", who(ctx, w),
		       cps_rrtype_name(r.type), r.name);
out:
	cps_dns_provider_free(p);
	free(r.value);
	return rc;
}

static int cmd_remove_record(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	char zone[CPS_HOSTNAME_MAX + 1], name[CPS_HOSTNAME_MAX + 1], w[CPS_SITE_NAME_MAX + 2];
	cps_dns_provider *p = NULL;
	char *value = NULL;
	size_t removed = 0;
	cps_rrtype t = CPS_RR_A;
	int rc = -1;

	(void)nargs;
	if (owned_name(ctx, args, "remove a record from", zone, name, err) != 0)
		return -1;
	if (type_arg(args[2], &t, err) != 0)
		return cps_err_prefix(err, "%scannot remove a record at %s", who(ctx, w), name);
	if ((args[3] && cps_dns_value_canonical(t, json_object_get_string(args[3]), &value, err) != 0) ||
	    cps_dns_provider_new(&ctx->set.dns, &p, err) != 0 ||
	    cps_dns_record_del(p, name, t, value, &removed, err) != 0) {
		cps_err_prefix(err, "%scannot remove the %s record%s at %s", who(ctx, w),
			       cps_rrtype_name(t), value ? "" : "s", name);
		goto out;
	}
	if (removed == 0) {
		cps_info("%s%s has no %s record%s%s%s: nothing to remove", who(ctx, w), name,
			 cps_rrtype_name(t), value ? " " : "", value ? value : "",
			 value ? "" : " at all");
		*result = json_object_new_boolean(0);
		rc = CPS_EXIT_NOOP;
		goto out;
	}
	cps_debug("%sremoved %zu %s record%s at %s", who(ctx, w), removed, cps_rrtype_name(t),
		  removed == 1 ? "" : "s", name);
	*result = json_object_new_boolean(1);
	rc = 0;
out:
	cps_dns_provider_free(p);
	free(value);
	return rc;
}

/* The records of TYPES at NAME in ZONE, from its authoritative servers. */
static int lookup(cps_ctx *ctx, const char *zone, const char *name, unsigned types,
		  cps_dns_record **v, size_t *n, cps_err *err)
{
	char w[CPS_SITE_NAME_MAX + 2];

	if (cps_dns_records_lookup(&ctx->set.dns, name, types, v, n, err) != 0)
		return cps_err_prefix(err, "%scannot read the records at %s in zone %s", who(ctx, w),
				      name, zone);
	return 0;
}

/* Optional TYPE (ARG may be NULL): a mask of one type, or of all. */
static int types_arg(json_object *arg, unsigned *mask, cps_rrtype *t, cps_err *err)
{
	*mask = CPS_RR_ALL;
	if (arg == NULL)
		return 0;
	if (type_arg(arg, t, err) != 0)
		return -1;
	*mask = CPS_RR_BIT(*t);
	return 0;
}

static int cmd_get_records(cps_ctx *ctx, json_object **args, size_t nargs,
			   json_object **result, cps_err *err)
{
	char zone[CPS_HOSTNAME_MAX + 1], name[CPS_HOSTNAME_MAX + 1];
	size_t zlen, nlen, n = 0;
	cps_dns_record *v = NULL;
	cps_rrtype t;
	unsigned mask;

	(void)nargs;
	if (owned_name(ctx, args, "read the records of", zone, name, err) != 0 ||
	    types_arg(args[2], &mask, &t, err) != 0 ||
	    lookup(ctx, zone, name, mask, &v, &n, err) != 0)
		return -1;
	zlen = strlen(zone);
	nlen = strlen(name);
	*result = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "subdomain",
				       json_object_new_string_len(name, nlen > zlen ? (int)(nlen - zlen - 1) : 0));
		json_object_object_add(o, "type", json_object_new_string(cps_rrtype_name(v[i].type)));
		json_object_object_add(o, "ttl", json_object_new_int64(v[i].ttl));
		json_object_object_add(o, "value", json_object_new_string(v[i].value));
		json_object_array_add(*result, o);
	}
	cps_dns_records_free(v, n);
	return 0;
}

static int cmd_record_exists(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	char zone[CPS_HOSTNAME_MAX + 1], name[CPS_HOSTNAME_MAX + 1], w[CPS_SITE_NAME_MAX + 2];
	cps_dns_record *v = NULL;
	char *value = NULL;
	size_t n = 0, found = 0;
	cps_rrtype t = CPS_RR_A;
	unsigned mask;

	(void)nargs;
	if (owned_name(ctx, args, "read the records of", zone, name, err) != 0)
		return -1;
	if (args[3] && args[2] == NULL)
		return cps_fail(err, CPS_E_INVAL,
				"%sgive the record type along with the value to look for at %s", who(ctx, w),
				name);
	if (types_arg(args[2], &mask, &t, err) != 0 ||
	    (args[3] && cps_dns_value_canonical(t, json_object_get_string(args[3]), &value, err) != 0))
		return cps_err_prefix(err, "%scannot look for a record at %s", who(ctx, w), name);
	if (lookup(ctx, zone, name, mask, &v, &n, err) != 0) {
		free(value);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		found += value == NULL || strcmp(v[i].value, value) == 0;
	*result = json_object_new_boolean(found > 0);
	cps_dns_records_free(v, n);
	free(value);
	return 0;
}

static int cmd_get_public_ip(cps_ctx *ctx, json_object **args, size_t nargs,
			     json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	const char *url = ctx->set.dns.public_ip_url;
	char ip[INET6_ADDRSTRLEN];

	(void)args;
	(void)nargs;
	if (site && site->ip[0]) {
		*result = json_object_new_string(site->ip);
		return 0;
	}
	if (url == NULL || *url == '\0')
		return cps_fail(err, CPS_E_CONFIG,
				"%s has no configured public address, and discovery is off: set [dns] "
				"public_ip_url to a URL that answers with the caller's address as plain "
				"text (cpcmd scope:set cp.config dns public_ip_url URL)",
				site ? site->name : "the server");
	if (cps_dns_public_ip(url, ip, err) != 0)
		return cps_err_prefix(err, "cannot discover the public address of %s",
				      site ? site->name : "the server");
	*result = json_object_new_string(ip);
	return 0;
}

const cps_command cps_mod_dns[] = {
	{ "dns", "add-record", cmd_add_record, CPS_SITE_OPTIONAL, CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "zone", CPS_T_STRING, NULL }, { "subdomain", CPS_T_STRING, NULL },
	    { "type", CPS_T_STRING, NULL }, { "value", CPS_T_STRING, NULL },
	    { "ttl", CPS_T_INT, "3600" } },
	  "Add a record (A, AAAA, TXT, CNAME, MX or CAA) at SUBDOMAIN of ZONE ('' for the zone "
	  "itself) through [dns] provider, keeping the other records there. With -d only in a "
	  "zone of the site's own domains." },
	{ "dns", "remove-record", cmd_remove_record, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "zone", CPS_T_STRING, NULL }, { "subdomain", CPS_T_STRING, NULL },
	    { "type", CPS_T_STRING, NULL }, { "value", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Remove the record of that value, or without a value every record of the type, at "
	  "SUBDOMAIN of ZONE; exit 3 when there was none." },
	{ "dns", "get-records", cmd_get_records, CPS_SITE_OPTIONAL, CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "zone", CPS_T_STRING, NULL }, { "subdomain", CPS_T_STRING, "''" },
	    { "type", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "The records at SUBDOMAIN of ZONE (default: the zone itself) of one type or of every "
	  "type cpssl manages, as the zone's authoritative servers answer: name, subdomain, type, "
	  "ttl, value." },
	{ "dns", "record-exists", cmd_record_exists, CPS_SITE_OPTIONAL,
	  CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "zone", CPS_T_STRING, NULL }, { "subdomain", CPS_T_STRING, NULL },
	    { "type", CPS_T_STRING | CPS_T_NULL, "null" },
	    { "value", CPS_T_STRING | CPS_T_NULL, "null" } },
	  "Whether the zone's authoritative servers answer a record at SUBDOMAIN of ZONE (of "
	  "that type, with that value)." },
	{ "dns", "get-public-ip", cmd_get_public_ip, CPS_SITE_OPTIONAL, CPS_CMD_SETTINGS, { { 0 } },
	  "The address the outside reaches: the site's configured ip; for the server, the one "
	  "[dns] public_ip_url answers (empty: none is asked)." },
	{ 0 },
};
