#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/internal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>




int cps_csr_create(EVP_PKEY *key, const char *const *names, size_t n,
		   unsigned char **der, size_t *derlen, cps_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *subject = NULL;
	GENERAL_NAMES *gens = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char *out = NULL;
	const char *cn;
	int len, rc = -1;

	*der = NULL;
	if (derlen)
		*derlen = 0;
	if (key == NULL)
		return cps_fail(err, CPS_E_INTERNAL,
				"a certificate request needs a key");
	if (cps_crypto_check_names(names, n, "certificate request", err) != 0)
		return -1;
	cn = cps_crypto_cn_name(names, n);

	req = X509_REQ_new();
	subject = X509_NAME_new();
	gens = cps_crypto_dns_names(names, n);
	if (req == NULL || subject == NULL || gens == NULL) {
		cps_ossl_fail(err, "out of memory building a certificate request");
		goto out;
	}
	/* A name longer than a CN may be, or IP addresses only, live in the
	 * SAN only; the subject stays empty, and RFC 5280 then wants the SAN
	 * marked critical. */
	if (cn &&
	    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1) {
		cps_ossl_fail(err, "cannot set the common name of the request");
		goto out;
	}
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, subject) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1) {
		cps_ossl_fail(err, "cannot fill in the certificate request");
		goto out;
	}
	if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, cn ? 0 : 1,
			    X509V3_ADD_DEFAULT) != 1 ||
	    X509_REQ_add_extensions(req, exts) != 1) {
		cps_ossl_fail(err, "cannot add the names to the certificate request");
		goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		cps_ossl_fail(err, "cannot sign the certificate request with the "
			  "private key");
		goto out;
	}
	len = i2d_X509_REQ(req, &out);
	if (len <= 0) {
		cps_ossl_fail(err, "cannot encode the certificate request");
		goto out;
	}
	*der = out;
	if (derlen)
		*derlen = (size_t)len;
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subject);
	X509_REQ_free(req);
	return rc;
}

int cps_csr_to_pem(const unsigned char *der, size_t len, char **pem,
		   cps_err *err)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	*pem = NULL;
	if (req == NULL || bio == NULL || PEM_write_bio_X509_REQ(bio, req) != 1) {
		cps_ossl_fail(err, "cannot encode the certificate request as PEM");
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	*pem = n > 0 ? strndup(data, (size_t)n) : NULL;
	rc = *pem ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
out:
	BIO_free(bio);
	X509_REQ_free(req);
	return rc;
}
