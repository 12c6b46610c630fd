/* letsencrypt:persist-record: the one TXT record the owner of a name
 * publishes for the persist mechanism (dns-persist-01), or publishes it
 * through the DNS provider. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/issue/names.h"
#include "cpssl/issue/persist.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/ssl_state.h"
#include "modules/dispatch.h"

/* policy=wildcard when *.NAME is asked for, or is forced to persist. */
static int wants_wildcard(cps_ctx *ctx, const char *name, bool *wild, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	char wname[CPS_HOSTNAME_MAX + 3];
	char *mech = NULL;

	*wild = strncmp(name, "*.", 2) == 0;
	if (*wild)
		return 0;
	snprintf(wname, sizeof(wname), "*.%s", name);
	if (cps_mech_forced(ctx->store, site ? site->id : 0, wname, &mech, err) != 0)
		return -1;
	*wild = mech && strcmp(mech, "persist") == 0;
	free(mech);
	return 0;
}

static int cmd_persist_record(cps_ctx *ctx, json_object **args, size_t nargs,
			      json_object **result, cps_err *err)
{
	const cps_site *site = cps_ctx_site(ctx);
	char name[CPS_HOSTNAME_MAX + 1];
	cps_persist_info info;
	json_object *o;
	bool wild;

	(void)nargs;
	if (cps_hostname_normalize(json_object_get_string(args[0]), CPS_NAME_ALLOW_WILDCARD, name,
				   err) != 0)
		return -1;
	/* the same ownership rules as a request */
	if (cps_names_may_name(ctx->store, &ctx->set.names, site, name, err) != 0 ||
	    wants_wildcard(ctx, name, &wild, err) != 0 ||
	    cps_persist_show(ctx->session, name, wild, json_object_get_boolean(args[1]), &info,
			     err) != 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "record", json_object_new_string(info.record));
	json_object_object_add(o, "type", json_object_new_string("TXT"));
	json_object_object_add(o, "value", json_object_new_string(info.value));
	json_object_object_add(o, "issuer", json_object_new_string(info.issuer));
	json_object_object_add(o, "account", json_object_new_string(info.account));
	json_object_object_add(o, "wildcard", json_object_new_boolean(info.wildcard));
	json_object_object_add(o, "present", json_object_new_boolean(info.present));
	json_object_object_add(o, "published", json_object_new_boolean(info.published));
	cps_persist_info_free(&info);
	*result = o;
	return 0;
}

const cps_command cps_mod_persist[] = {
	{ "letsencrypt", "persist-record", cmd_persist_record, CPS_SITE_OPTIONAL, CPS_CMD_SESSION,
	  { { "name", CPS_T_STRING, NULL }, { "publish", CPS_T_BOOL, "false" } },
	  "The TXT record that lets this CA account validate name with the persist mechanism "
	  "(dns-persist-01) for good: record, type, value (with policy=wildcard for *.name, or "
	  "when *.name is forced to persist), and whether the zone's servers answer it; publish: "
	  "add it through the DNS provider. Published once, never removed by cpssl." },
	{ 0 },
};
