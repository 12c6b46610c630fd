/* One issuance, end to end: clean up what an interrupted run published,
 * order, record the order and challenges, publish each response (http-01
 * file or dns-01 TXT record), wait for DNS to propagate, answer, poll,
 * remove every published response, finalize with a fresh key, download,
 * check, store, and record the certificate as the site's current one. */
#ifndef CPSSL_ISSUE_ISSUE_H
#define CPSSL_ISSUE_ISSUE_H

#include <stddef.h>

#include "cpssl/crypto/cert.h"
#include "cpssl/dns/provider.h"
#include "cpssl/issue/session.h"

typedef enum cps_mech {
	CPS_MECH_HTTP = 0,
	CPS_MECH_DNS,
} cps_mech;

const char *cps_mech_name(cps_mech m);          /* "http", "dns" */
const char *cps_mech_challenge(cps_mech m);     /* "http-01", "dns-01" */

typedef struct cps_issue_req {
	long site_id;           /* 0: the server's own certificate */
	const char *site_name;  /* "siteN" or "server": the storage directory */
	const char *const *names; /* canonical; the first is the CN */
	const cps_mech *mechs;  /* one per name */
	size_t n;
} cps_issue_req;

typedef struct cps_issue_result {
	cps_cert_info info;     /* of the new certificate */
	char *dir;              /* its storage directory (…/current) */
	unsigned requests;      /* HTTP requests this issuance sent */
	unsigned bad_nonces;    /* of which badNonce answers retried */
	long long elapsed_ms;
} cps_issue_result;

int cps_issue(cps_session *s, const cps_issue_req *req, cps_issue_result *res,
	      cps_err *err);
void cps_issue_result_free(cps_issue_result *res);

/* The site's effective DNS provider settings; strings stay valid until
 * cps_dns_settings_free. */
int cps_dns_settings_load(cps_store *st, const cps_config *cfg, long site_id,
			  cps_dns_settings *out, cps_err *err);
void cps_dns_settings_free(cps_dns_settings *s);

/* Remove whatever earlier, interrupted runs left published for SITE_ID. */
int cps_issue_cleanup(cps_session *s, long site_id, cps_err *err);

#endif
