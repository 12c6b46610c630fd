#include "cpssl/issue/persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/acme/persist.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/dns/provider.h"
#include "cpssl/dns/record.h"

void cps_persist_info_free(cps_persist_info *i)
{
	if (i == NULL)
		return;
	free(i->record);
	free(i->value);
	free(i->issuer);
	free(i->account);
	memset(i, 0, sizeof(*i));
}

/* The TXT values at NAME as the authoritative servers answer; -1 when they
 * cannot be asked. */
static int txt_values(cps_session *s, const char *name, cps_dns_record **r, size_t *n)
{
	cps_err e;

	if (cps_dns_records_lookup(&s->set->dns, name, CPS_RR_BIT(CPS_RR_TXT), r, n, &e) != 0) {
		cps_debug("cannot look up %s TXT: %s", name, e.msg);
		return -1;
	}
	return 0;
}

static bool holds(cps_dns_record *r, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].value, value) == 0)
			return true;
	return false;
}

int cps_persist_show(cps_session *s, const char *name, bool wildcard, bool publish,
		     cps_persist_info *out, cps_err *err)
{
	const cps_acme_meta *meta;
	char rec[CPS_HOSTNAME_MAX + 32];
	cps_dns_record *r = NULL;
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->wildcard = wildcard || strncmp(name, "*.", 2) == 0;
	if (cps_persist_record(name, rec, sizeof(rec), err) != 0 ||
	    cps_acme_load_directory(s->acme, err) != 0)
		return -1;
	meta = cps_acme_meta_get(s->acme);
	if (meta->ncaa_ids == 0)
		return cps_fail(err, CPS_E_CA,
				"the CA at %s names no issuer domain name (its directory has no "
				"caaIdentities), so there is no persist record to show for %s; "
				"use dns or http for it", s->dir_url, name);
	if (cps_session_account(s, err) != 0)
		return cps_err_prefix(err, "cannot make the persist record for %s", name);
	if (cps_acme_kid(s->acme) == NULL)
		return cps_fail(err, CPS_E_CA, "the CA at %s gave no account URL", s->dir_url);
	if ((out->record = strdup(rec)) == NULL || (out->account = strdup(cps_acme_kid(s->acme))) == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (cps_persist_value(meta->caa_ids[0], out->account, out->wildcard, &out->value, err) != 0)
		goto out;
	/* the issuer as the value names it (lower case) */
	if ((out->issuer = strndup(out->value, strcspn(out->value, ";"))) == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	out->present = txt_values(s, rec, &r, &n) == 0 && holds(r, n, out->value);
	if (publish && !out->present) {
		cps_dns_provider *dns = NULL;

		if (cps_dns_provider_new(&s->set->dns, &dns, err) != 0) {
			cps_err_prefix(err, "cannot publish %s", rec);
			goto out;
		}
		cps_info("publishing TXT %s \"%s\"", rec, out->value);
		rc = cps_dns_txt_add(dns, rec, out->value, err);
		cps_dns_provider_free(dns);
		if (rc != 0)
			goto out;
		rc = -1;
		out->published = out->present = true;
	}
	rc = 0;
out:
	cps_dns_records_free(r, n);
	if (rc != 0)
		cps_persist_info_free(out);
	return rc;
}

int cps_persist_unready(cps_session *s, const char *site, const char *name,
			char *const *issuers, size_t nissuers, char *why, size_t len,
			cps_err *err)
{
	const char *base = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	bool wild = base != name;
	const char *acct = cps_acme_kid(s->acme);
	char rec[CPS_HOSTNAME_MAX + 32], found[300] = "";
	cps_persist_verdict best = CPS_PERSIST_OTHER_CA;
	cps_dns_record *r = NULL;
	char *value = NULL;
	size_t n = 0;

	if (nissuers == 0)
		return cps_fail(err, CPS_E_CA, "%s: the CA's dns-persist-01 challenge names no issuer "
				"domain name", name);
	if (cps_persist_record(name, rec, sizeof(rec), err) != 0 ||
	    cps_persist_value(issuers[0], acct, wild, &value, err) != 0)
		return -1;
	if (txt_values(s, rec, &r, &n) != 0) {
		free(value);
		return 0; /* the CA decides */
	}
	for (size_t i = 0; i < n && best != CPS_PERSIST_OK; i++) {
		cps_persist_verdict v = cps_persist_check(r[i].value, issuers, nissuers, acct, wild,
							  (long long)cps_now());

		if (v >= best) {
			best = v;
			snprintf(found, sizeof(found), "%s", r[i].value);
		}
	}
	cps_dns_records_free(r, n);
	if (best == CPS_PERSIST_OK) {
		free(value);
		return 0;
	}
	snprintf(why, len, "%s: %s %s; publish the TXT record %s \"%s\" once (cpcmd %s%s%s"
		 "letsencrypt:persist-record %s shows it, and publishes it with true)",
		 name, rec,
		 found[0] ? "holds no record this CA accepts for this account" : "holds no dns-persist-01 record for this CA",
		 rec, value, site ? "-d " : "", site ? site : "", site ? " " : "", name);
	if (found[0]) {
		size_t used = strlen(why);

		snprintf(why + used, len - used, " — the one there, \"%s\", %s", found,
			 cps_persist_verdict_text(best));
	}
	free(value);
	return 1;
}
