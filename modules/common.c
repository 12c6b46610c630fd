/* common: the administrator's e-mail address (the ACME account contact). */
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/resolve.h"
#include "cpssl/issue/account.h"
#include "cpssl/names/hostname.h"
#include "cpssl/store/acme_state.h"
#include "cpssl/store/server.h"
#include "modules/dispatch.h"

static int cmd_get_email(cps_ctx *ctx, json_object **args, size_t nargs,
			 json_object **result, cps_err *err)
{
	char *email;

	(void)args;
	(void)nargs;
	if (cps_server_get(ctx->store, CPS_SERVER_EMAIL, &email, err) != 0)
		return -1;
	*result = email ? json_object_new_string(email) : NULL;
	free(email);
	return 0;
}

/* The checklist's "admin email domain has resolvable MX record": a WARNING
 * when it has none, since the CA's notices and cpssl's own would not
 * arrive. Never fatal: the address is set all the same. */
static void check_mx(const cps_ctx *ctx, const char *email)
{
	const char *domain = strrchr(email, '@') + 1;
	char **mx = NULL;
	size_t n = 0;
	cps_err e;

	if (cps_dns_mx(ctx->set.names.resolvers, domain, &mx, &n, &e) != 0)
		cps_warn("cannot check the MX record of %s: %s", domain, e.msg);
	else if (n == 0)
		cps_warn("%s has no MX record, so mail to %s (the CA's and cpssl's notices) may not "
			 "arrive; check with: dig +short MX %s", domain, email, domain);
	else if (n == 1 && strcmp(mx[0], ".") == 0)
		cps_warn("%s accepts no mail (a null MX record), so mail to %s will not arrive",
			 domain, email);
	else
		cps_debug("%s: MX %s", domain, mx[0]);
	cps_dns_strv_free(mx, n);
}

/* The account at the configured CA takes the new address at once; when
 * the CA cannot be reached, the next request sends it (the session compares
 * the recorded contact with the e-mail). Best effort: the address is set. */
static void update_contact(cps_ctx *ctx, const char *email)
{
	char *kid = NULL, *contact = NULL;
	cps_err e;

	if (cps_account_get(ctx->store, ctx->set.ca.url, &kid, &contact, &e) != 0)
		cps_warn("cannot read the ACME account record: %s", e.msg);
	else if (kid == NULL)
		cps_debug("no ACME account at %s yet: its registration will carry %s",
			  ctx->set.ca.url, email);
	else if (contact && strcmp(contact, email) == 0)
		cps_debug("the ACME account %s already has the contact %s", kid, email);
	else if (cps_ctx_session(ctx, &e) != 0 || cps_account_update_contact(ctx->session, &e) < 0)
		cps_warn("%s is set, but the contact of the ACME account %s at %s is not updated: %s; "
			 "the next request updates it (or cpcmd letsencrypt:update-contact)",
			 email, kid, ctx->set.ca.url, e.msg);
	free(kid);
	free(contact);
}

static int cmd_set_email(cps_ctx *ctx, json_object **args, size_t nargs,
			 json_object **result, cps_err *err)
{
	char email[CPS_EMAIL_MAX + 1];

	(void)nargs;
	if (cps_email_normalize(json_object_get_string(args[0]), email, err) != 0 ||
	    cps_server_set(ctx->store, CPS_SERVER_EMAIL, email, err) != 0)
		return -1;
	check_mx(ctx, email);
	update_contact(ctx, email);
	*result = json_object_new_boolean(1);
	return 0;
}

const cps_command cps_mod_common[] = {
	{ "common", "get-email", cmd_get_email, CPS_SITE_NONE, CPS_CMD_STORE, { { 0 } },
	  "The administrator's e-mail address, used as the ACME account contact (null when unset)." },
	{ "common", "set-email", cmd_set_email, CPS_SITE_NONE, CPS_CMD_SETTINGS | CPS_CMD_STORE,
	  { { "email", CPS_T_STRING, NULL } },
	  "Set the administrator's e-mail address (validated; a WARNING when its domain has no "
	  "MX record); an existing ACME account at the configured CA takes it as its contact at "
	  "once (a WARNING when the CA cannot be reached: the next request sends it)." },
	{ 0 },
};
