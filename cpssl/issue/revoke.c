#include "cpssl/issue/revoke.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/acme/order.h"
#include "cpssl/core/clock.h"
#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/issue/failover.h"
#include "cpssl/store/certs.h"

static const char *const reasons[] = {
	[0] = "unspecified", [1] = "keyCompromise", [3] = "affiliationChanged",
	[4] = "superseded", [5] = "cessationOfOperation",
};

int cps_revoke_reason(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);

	if (*name && *end == '\0')
		return v >= 0 && v < 6 && v != 2 ? (int)v : -1;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i] && strcasecmp(reasons[i], name) == 0)
			return (int)i;
	return -1;
}

int cps_revoke_current(cps_session *s, long site_id, const char *site_name,
		       int reason, char **serial, cps_err *err)
{
	cps_cert_row row;
	char *path = NULL, *pem = NULL;
	unsigned char *der = NULL;
	size_t len = 0, derlen = 0;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	int rc = -1;

	*serial = NULL;
	if (cps_cert_current(s->st, site_id, &row, err) != 0)
		return -1;
	if (row.id == 0) {
		cps_fail(err, CPS_E_NOTFOUND, "%s has no certificate to revoke", site_name);
		goto out;
	}
	/* at the CA that issued it: server or one of fallback_servers */
	if (!cps_failover_configured(s->given, row.server)) {
		cps_fail(err, CPS_E_INVAL,
			 "%s's certificate was not issued by the configured CA %s (it came from %s)",
			 site_name, s->primary, row.server);
		goto out;
	}
	if (cps_session_use_ca(s, row.server, err) != 0)
		goto out;
	if (row.revoked) {
		cps_fail(err, CPS_E_INVAL, "%s's certificate %s is already revoked", site_name, row.serial);
		goto out;
	}
	path = cps_path_join(row.path, "cert.pem");
	if (path == NULL || cps_fs_read(path, 1 << 20, &pem, &len, err) != 0 ||
	    cps_cert_parse_pem(pem, len, &leaf, &chain, err) != 0 ||
	    cps_cert_to_der(leaf, &der, &derlen, err) != 0 ||
	    cps_session_account(s, err) != 0 ||
	    cps_acme_revoke(s->acme, der, derlen, reason, err) != 0 ||
	    cps_cert_set_revoked(s->st, row.id, (long long)cps_now(), err) != 0)
		goto out;
	cps_info("revoked %s's certificate %s (reason: %s)", site_name, row.serial,
		 reasons[reason] ? reasons[reason] : "?");
	*serial = strdup(row.serial);
	rc = 0;
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	OPENSSL_free(der);
	free(pem);
	free(path);
	cps_cert_row_free(&row);
	return rc;
}
