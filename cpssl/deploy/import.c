#include "cpssl/deploy/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/key.h"
#include "cpssl/deploy/deploy.h"
#include "cpssl/store/certs.h"

static void date_of(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int cps_import(cps_store *st, const cps_settings *set, const cps_paths *paths,
	       const cps_site *site, const char *key_pem, const char *cert_pem,
	       const char *chain_pem, cps_cert_info *info, cps_err *err)
{
	X509 *leaf = NULL, *first = NULL;
	STACK_OF(X509) *chain = NULL, *more = NULL;
	EVP_PKEY *key = NULL;
	cps_cert_info ci = { 0 };
	time_t now = cps_now();
	char when[40];
	int rc = -1;

	if (cps_key_from_pem(key_pem, strlen(key_pem), &key, err) != 0) {
		cps_err_prefix(err, "the private key");
		goto out;
	}
	if (cps_cert_parse_pem(cert_pem, strlen(cert_pem), &leaf, &chain, err) != 0) {
		cps_err_prefix(err, "the certificate");
		goto out;
	}
	if (chain_pem && *chain_pem) {
		if (cps_cert_parse_pem(chain_pem, strlen(chain_pem), &first, &more, err) != 0) {
			cps_err_prefix(err, "the chain");
			goto out;
		}
		sk_X509_push(chain, first);
		first = NULL;
		while (sk_X509_num(more) > 0)
			sk_X509_push(chain, sk_X509_shift(more));
	}
	if (cps_cert_info_get(leaf, &ci, err) != 0)
		goto out;
	if (cps_cert_key_match(leaf, key, err) != 0)
		goto out;
	if (ci.not_after < now) {
		date_of(ci.not_after, when, sizeof(when));
		cps_fail(err, CPS_E_INVAL, "the certificate expired on %s; refusing to install it", when);
		goto out;
	}
	if (ci.not_before > now) {
		date_of(ci.not_before, when, sizeof(when));
		cps_fail(err, CPS_E_INVAL, "the certificate is not valid before %s; refusing to install it",
			 when);
		goto out;
	}
	rc = cps_deploy(st, set, paths,
			&(cps_deploy_req){ site ? site->id : 0, site ? site->name : "server", CPS_ORIGIN_IMPORT,
					   leaf, chain, key, NULL },
			info, NULL, err);
out:
	cps_cert_info_free(&ci);
	X509_free(leaf);
	X509_free(first);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(more, X509_free);
	EVP_PKEY_free(key);
	return rc;
}
