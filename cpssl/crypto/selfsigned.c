/* Self-signed certificates: the interim certificate a site serves until a
 * CA's replaces it, and ssl:sign-certificate. */
#include "cpssl/crypto/cert.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "cpssl/crypto/internal.h"

#define CN_MAX 64 /* RFC 5280's upper bound for a commonName */

/* A random positive 128-bit serial (RFC 5280: at most 20 octets). */
static int set_random_serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return 0;
	r[sizeof(r) - 1] |= 1; /* never zero */
	bn = BN_bin2bn(r, sizeof(r), NULL);
	if (bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ok = 1;
	BN_free(bn);
	return ok;
}

static int add_extensions(X509 *x, EVP_PKEY *key, const char *const *names,
			  size_t n, bool with_cn)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	GENERAL_NAMES *gens = cps_crypto_dns_names(names, n);
	int ok = 0;

	if (bc == NULL || eku == NULL || ku == NULL || gens == NULL)
		goto out;
	bc->ca = 0;
	if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) <= 0)
		goto out;
	/* keyUsage bits: 0 digitalSignature, 2 keyEncipherment */
	if (ASN1_BIT_STRING_set_bit(ku, 0, 1) != 1 ||
	    (EVP_PKEY_is_a(key, "RSA") && ASN1_BIT_STRING_set_bit(ku, 2, 1) != 1))
		goto out;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
			      X509V3_ADD_DEFAULT) != 1 ||
	    X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) != 1 ||
	    X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0,
			      X509V3_ADD_DEFAULT) != 1 ||
	    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, with_cn ? 0 : 1,
			      X509V3_ADD_DEFAULT) != 1)
		goto out;
	ok = 1;
out:
	BASIC_CONSTRAINTS_free(bc);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ASN1_BIT_STRING_free(ku);
	GENERAL_NAMES_free(gens);
	return ok;
}

int cps_cert_selfsigned(EVP_PKEY *key, const char *const *names, size_t n,
			int days, X509 **out, cps_err *err)
{
	X509 *x = NULL;
	X509_NAME *name;
	bool with_cn;
	int rc = -1;

	*out = NULL;
	if (key == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "a certificate needs a key");
	if (cps_crypto_check_names(names, n, "certificate", err) != 0)
		return -1;
	if (days < 1 || days > 36500)
		return cps_fail(err, CPS_E_INVAL,
				"a self-signed certificate must be valid for 1 to "
				"36500 days, not %d", days);
	with_cn = strlen(names[0]) <= CN_MAX;

	x = X509_new();
	if (x == NULL) {
		cps_ossl_fail(err, "out of memory creating a certificate");
		goto out;
	}
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 || !set_random_serial(x) ||
	    (with_cn &&
	     X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)names[0], -1,
					-1, 0) != 1) ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		cps_ossl_fail(err, "cannot fill in the self-signed certificate");
		goto out;
	}
	if (!add_extensions(x, key, names, n, with_cn)) {
		cps_ossl_fail(err, "cannot add extensions to the self-signed "
			  "certificate");
		goto out;
	}
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		cps_ossl_fail(err, "cannot sign the self-signed certificate");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	return rc;
}
