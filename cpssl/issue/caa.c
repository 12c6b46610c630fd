/* CAA (RFC 8659) before ordering: a name whose CAA records do not let the
 * configured CA issue would only fail after an order, at the CA's own check;
 * it is found here first, from the CA's caaIdentities (its directory's
 * meta) and the records along the name's tree, looked up through [dns]
 * resolvers like the CA's. */
#include "cpssl/issue/caa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/core/log.h"
#include "cpssl/dns/resolve.h"

/* at most this many labels are climbed (a hostname has at most 127) */
#define CAA_CLIMB_MAX 16

/* "0 issue ca.example; account=1" → flags 0, tag "issue", the issuer domain
 * "ca.example" (empty for ";", which lets nobody issue). */
static int caa_parse(const char *rec, long *flags, char tag[32], char dom[256])
{
	const char *v;
	size_t n;

	if (sscanf(rec, "%ld %31s", flags, tag) != 2)
		return -1;
	v = strchr(rec, ' ');
	v = v ? strchr(v + 1, ' ') : NULL;
	v = v ? v + 1 : "";
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "; \t");
	if (n >= 256)
		return -1;
	memcpy(dom, v, n);
	dom[n] = '\0';
	return 0;
}

/* Whether the records (one RRset) let one of IDS issue for a name, wildcard
 * or not; *WHY names what forbids it otherwise. */
static bool caa_allows(char **recs, size_t n, bool wildcard, const char *const *ids, size_t nids,
		       char *why, size_t len)
{
	bool any_wild = false, relevant = false;
	char tag[32], dom[256], allowed[256] = "";

	for (size_t i = 0; i < n; i++) {
		long flags;

		if (caa_parse(recs[i], &flags, tag, dom) == 0 && strcasecmp(tag, "issuewild") == 0)
			any_wild = true;
	}
	for (size_t i = 0; i < n; i++) {
		long flags;

		if (caa_parse(recs[i], &flags, tag, dom) != 0)
			continue;
		if ((flags & 128) && strcasecmp(tag, "issue") != 0 && strcasecmp(tag, "issuewild") != 0 &&
		    strcasecmp(tag, "iodef") != 0) {
			snprintf(why, len, "a critical CAA property '%s' no CA may ignore", tag);
			return false;
		}
		if (strcasecmp(tag, wildcard && any_wild ? "issuewild" : "issue") != 0)
			continue;
		relevant = true;
		for (size_t k = 0; k < nids; k++)
			if (dom[0] && strcasecmp(dom, ids[k]) == 0)
				return true;
		if (strlen(allowed) + strlen(dom) + 3 < sizeof(allowed))
			snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s",
				 allowed[0] ? ", " : "", dom[0] ? dom : "no CA");
	}
	if (!relevant)
		return true; /* only iodef or other tags: no restriction */
	snprintf(why, len, "its CAA %s records allow only %s", wildcard && any_wild ? "issuewild" : "issue",
		 allowed);
	return false;
}

int cps_caa_check(const char *resolvers, const char *const *ids, size_t nids, const char *name,
		  char *why, size_t len, cps_err *err)
{
	bool wildcard = strncmp(name, "*.", 2) == 0;
	const char *d = wildcard ? name + 2 : name;
	int rc = 0;

	(void)err;
	if (nids == 0)
		return 0;
	/* the closest RRset up the tree decides (RFC 8659 §3); the root is not asked */
	for (int climbed = 0; d && *d && climbed < CAA_CLIMB_MAX; climbed++) {
		char **recs = NULL;
		size_t n = 0;
		cps_err e;

		if (cps_dns_caa(resolvers, d, &recs, &n, &e) != 0) {
			/* the CA decides when the records cannot be read here */
			cps_debug("CAA of %s not checked: %s", d, e.msg);
			return 0;
		}
		if (n > 0) {
			char what[300];

			if (!caa_allows(recs, n, wildcard, ids, nids, what, sizeof(what))) {
				snprintf(why, len, "%s: %s, not this CA (%s)%s%s", name, what, ids[0],
					 strcmp(d, wildcard ? name + 2 : name) ? " — set at " : "",
					 strcmp(d, wildcard ? name + 2 : name) ? d : "");
				rc = 1;
			}
			cps_dns_strv_free(recs, n);
			return rc;
		}
		d = strchr(d, '.');
		d = d ? d + 1 : NULL;
	}
	return 0;
}
