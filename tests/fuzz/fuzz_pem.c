/* libFuzzer target: untrusted PEM never crashes, leaks or hangs the
 * certificate and key readers, and what they accept is usable: a parsed
 * bundle yields its facts (or a clean error) and writes back as PEM that
 * parses to the same certificate; an accepted key describes itself.
 * The input is also wrapped as the DER of a CERTIFICATE block, so mutated
 * DER reaches cps_cert_info_get without first having to be valid base64. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/crypto/cert.h"
#include "cpssl/crypto/key.h"

static void certs(const char *pem, size_t size)
{
	STACK_OF(X509) *chain = NULL, *chain2 = NULL;
	X509 *leaf = NULL, *leaf2 = NULL;
	cps_cert_info info;
	char *out = NULL;
	size_t len = 0;
	cps_err err;

	cps_err_clear(&err);
	if (cps_cert_parse_pem(pem, size, &leaf, &chain, &err) != 0) {
		if (leaf != NULL || chain != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	if (leaf == NULL || chain == NULL || sk_X509_num(chain) > 15)
		abort();
	cps_err_clear(&err);
	if (cps_cert_info_get(leaf, &info, &err) == 0) {
		for (size_t i = 0; i < info.nsans; i++)
			if (info.sans[i] == NULL || info.sans[i][0] == '\0')
				abort();
		if (strlen(info.fingerprint) != CPS_FINGERPRINT_LEN - 1)
			abort();
		cps_cert_info_free(&info);
	} else if (info.sans != NULL || err.msg[0] == '\0') {
		abort();
	}
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (cps_cert_info_get(sk_X509_value(chain, i), &info, &err) == 0)
			cps_cert_info_free(&info);
	/* what we accepted, we can write back and read again */
	if (cps_cert_to_pem(leaf, &out, &len, &err) != 0 ||
	    cps_cert_parse_pem(out, len, &leaf2, &chain2, &err) != 0 ||
	    X509_cmp(leaf, leaf2) != 0 || sk_X509_num(chain2) != 0)
		abort();
	free(out);
	X509_free(leaf2);
	sk_X509_pop_free(chain2, X509_free);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
}

static void key(const char *pem, size_t size)
{
	EVP_PKEY *k = NULL;
	char desc[32];
	cps_err err;

	cps_err_clear(&err);
	if (cps_key_from_pem(pem, size, &k, &err) != 0) {
		if (k != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	if (k == NULL || cps_key_describe(k, desc, sizeof(desc)) != 0)
		abort();
	EVP_PKEY_free(k);
}

static void der_as_pem(const uint8_t *data, size_t size)
{
	BIO *bio;
	char *pem;
	long len;

	if (size == 0)
		return;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return;
	if (PEM_write_bio(bio, "CERTIFICATE", "", data, (long)size) > 0) {
		len = BIO_get_mem_data(bio, &pem);
		certs(pem, (size_t)len);
	}
	BIO_free(bio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly SIZE bytes, so reading past it is caught */
	char *pem = malloc(size ? size : 1);

	if (pem == NULL)
		return 0;
	memcpy(pem, data, size);
	certs(pem, size);
	key(pem, size);
	free(pem);
	der_as_pem(data, size);
	return 0;
}
