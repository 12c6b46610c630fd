/* Certificates: a throw-away root, intermediate and leaf built here with the
 * OpenSSL API; PEM bundles in and out, the facts cps_cert_info_get reports,
 * key match, chain verification (good, wrong root, expired, missing
 * intermediate), self-signed detection and certificates, PEM refusals. */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "cpssl/core/fs.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/crypto/key.h"
#include "unit.h"

#define DAY 86400L

static char dir[] = "/tmp/cpssl-test-cert-XXXXXX";
static time_t now;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		abort();
	X509_EXTENSION_free(e);
}

/* A certificate for KEY named CN, signed by ISSUER/IKEY (itself when NULL). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		       bool ca, const char *sans, const char *serial_hex,
		       time_t not_before, time_t not_after)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	BIGNUM *bn = NULL;

	X509_set_version(x, X509_VERSION_3);
	BN_hex2bn(&bn, serial_hex);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"cpssl tests",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	ASN1_TIME_set(X509_getm_notBefore(x), not_before);
	ASN1_TIME_set(X509_getm_notAfter(x), not_after);
	X509_set_pubkey(x, key);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
	}
	if (sans)
		add_ext(x, issuer, NID_subject_alt_name, sans);
	if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) <= 0)
		abort();
	return x;
}

static char *pem_of(X509 *x)
{
	char *pem = NULL;
	cps_err err;

	if (cps_cert_to_pem(x, &pem, NULL, &err) != 0)
		abort();
	return pem;
}

static char *concat(const char *a, const char *b)
{
	char *out = NULL;

	if (asprintf(&out, "%s%s", a, b) < 0)
		abort();
	return out;
}

static char *write_file(const char *name, const char *text)
{
	char *path = cps_path_join(dir, name);
	cps_err err;

	if (cps_fs_write_atomic(path, text, strlen(text), 0644, &err) != 0)
		abort();
	return path;
}

/* A PEM block LABEL holding X's DER followed by EXTRA zero bytes. */
static char *der_block(X509 *x, const char *label, int extra)
{
	unsigned char *der = NULL, *buf;
	int n = i2d_X509(x, &der);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	buf = calloc((size_t)n + (size_t)extra, 1);
	memcpy(buf, der, (size_t)n);
	PEM_write_bio(bio, label, "", buf, n + extra);
	len = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)len);
	BIO_free(bio);
	free(buf);
	OPENSSL_free(der);
	return out;
}

static int parse(const char *pem, X509 **leaf, STACK_OF(X509) **chain, cps_err *err)
{
	return cps_cert_parse_pem(pem, pem ? strlen(pem) : 0, leaf, chain, err);
}

static void check_refused(const char *pem, const char *want, const char *desc)
{
	X509 *leaf = (X509 *)&leaf;
	STACK_OF(X509) *chain = (STACK_OF(X509) *)&chain;
	char line[160];
	cps_err err;

	cps_err_clear(&err);
	snprintf(line, sizeof(line), "%s is refused", desc);
	CHECK(parse(pem, &leaf, &chain, &err) == -1 && leaf == NULL && chain == NULL, line);
	snprintf(line, sizeof(line), "  saying '%s'", want);
	CHECK_HAS(err.msg, want, line);
}

/* The SHA-256 fingerprint as "AB:CD:…", computed here independently. */
static void fingerprint(X509 *x, char *buf)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	X509_digest(x, EVP_sha256(), md, &n);
	buf[0] = '\0';
	for (unsigned int i = 0; i < n; i++)
		sprintf(buf + strlen(buf), "%s%02X", i ? ":" : "", md[i]);
}

struct pki {
	EVP_PKEY *root_key, *int_key, *leaf_key, *other_key;
	X509 *root, *inter, *leaf, *other_root, *fake_root;
	char *roots_path, *other_path;
	time_t leaf_nb, leaf_na;
};

static void pki_make(struct pki *p)
{
	cps_err err;
	char *pem;

	cps_key_generate(CPS_KEY_EC384, &p->root_key, &err);
	cps_key_generate(CPS_KEY_RSA2048, &p->int_key, &err);
	cps_key_generate(CPS_KEY_EC256, &p->leaf_key, &err);
	cps_key_generate(CPS_KEY_EC256, &p->other_key, &err);
	p->root = make_cert("Test Root", p->root_key, NULL, NULL, true, NULL, "00",
			    now - DAY, now + 3650 * DAY);
	p->inter = make_cert("Test Intermediate", p->int_key, p->root, p->root_key, true,
			     NULL, "1000", now - DAY, now + 1825 * DAY);
	p->leaf_nb = now - 3600;
	p->leaf_na = now + 90 * DAY;
	p->leaf = make_cert("example.com", p->leaf_key, p->inter, p->int_key, false,
			    "DNS:Example.COM,DNS:*.example.com,IP:192.0.2.1,DNS:WWW.example.com",
			    "000ABCDEF012", p->leaf_nb, p->leaf_na);
	/* same name as the root, another key */
	p->other_root = make_cert("Test Root", p->other_key, NULL, NULL, true, NULL, "01",
				  now - DAY, now + 3650 * DAY);
	/* subject == issuer, but signed by someone else */
	p->fake_root = make_cert("Test Root", p->other_key, p->root, p->root_key, true, NULL,
				 "02", now - DAY, now + 3650 * DAY);
	pem = pem_of(p->root);
	p->roots_path = write_file("roots.pem", pem);
	free(pem);
	pem = pem_of(p->other_root);
	p->other_path = write_file("other.pem", pem);
	free(pem);
}

static void pki_free(struct pki *p)
{
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
	X509_free(p->other_root);
	X509_free(p->fake_root);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->other_key);
	free(p->roots_path);
	free(p->other_path);
}

static void test_parse_and_info(struct pki *p)
{
	char *leafpem = pem_of(p->leaf), *intpem = pem_of(p->inter), *bundle;
	char fp[CPS_FINGERPRINT_LEN + 8];
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info;
	cps_err err;

	bundle = concat(leafpem, intpem);
	CHECK(parse(bundle, &leaf, &chain, &err) == 0, "a leaf + intermediate bundle parses");
	CHECK(leaf && X509_cmp(leaf, p->leaf) == 0, "  the first certificate is the leaf");
	CHECK(chain && sk_X509_num(chain) == 1 && X509_cmp(sk_X509_value(chain, 0), p->inter) == 0,
	      "  the chain is the intermediate");

	CHECK(cps_cert_info_get(leaf, &info, &err) == 0, "the leaf's facts are read");
	CHECK_INT(info.nsans, 4, "  four names: three DNS SANs, then the IP SAN");
	CHECK(info.nsans == 4 && strcmp(info.sans[0], "example.com") == 0 &&
	      strcmp(info.sans[1], "*.example.com") == 0 &&
	      strcmp(info.sans[2], "www.example.com") == 0 &&
	      strcmp(info.sans[3], "192.0.2.1") == 0,
	      "  lower-cased, in certificate order, the address last");
	CHECK(info.nip_sans == 1 && strcmp(info.ip_sans[0], "192.0.2.1") == 0,
	      "  the IP SAN alone among the addresses");
	CHECK_STR(info.subject_cn, "example.com", "  subject CN");
	CHECK_STR(info.issuer_cn, "Test Intermediate", "  issuer CN");
	CHECK_STR(info.issuer, "CN=Test Intermediate,O=cpssl tests", "  issuer in RFC 2253");
	CHECK_STR(info.serial, "ABCDEF012", "  serial in upper-case hex without leading zeros");
	fingerprint(p->leaf, fp);
	CHECK_STR(info.fingerprint, fp, "  SHA-256 fingerprint as openssl prints it");
	CHECK_INT(strlen(info.fingerprint), 95, "  32 pairs and 31 colons");
	CHECK_INT(info.not_before, p->leaf_nb, "  not before");
	CHECK_INT(info.not_after, p->leaf_na, "  not after");
	CHECK_STR(info.key_type, "ec-256", "  key type");
	CHECK(!info.self_signed, "  not self-signed");
	CHECK(!info.is_ca, "  not a CA");
	cps_cert_info_free(&info);
	CHECK(info.sans == NULL && info.nsans == 0, "  info_free leaves it empty");
	cps_cert_info_free(&info); /* twice is harmless */

	CHECK(cps_cert_info_get(p->inter, &info, &err) == 0, "the intermediate's facts are read");
	CHECK(info.is_ca && !info.self_signed, "  a CA, not self-signed");
	CHECK_STR(info.key_type, "rsa-2048", "  an RSA-2048 key");
	CHECK_INT(info.nsans, 0, "  no SANs");
	CHECK_STR(info.serial, "1000", "  serial 1000 keeps its inner zeros");
	cps_cert_info_free(&info);
	CHECK(cps_cert_info_get(p->root, &info, &err) == 0, "the root's facts are read");
	CHECK(info.is_ca && info.self_signed, "  a self-signed CA");
	CHECK_STR(info.serial, "0", "  serial zero is \"0\"");
	CHECK_STR(info.key_type, "ec-384", "  an EC P-384 key");
	cps_cert_info_free(&info);
	CHECK(cps_cert_info_get(p->fake_root, &info, &err) == 0, "a same-name, other-signer cert");
	CHECK(!info.self_signed, "  is not self-signed (the signature does not verify)");
	cps_cert_info_free(&info);

	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);

	/* PEM out and back */
	CHECK(parse(leafpem, &leaf, &chain, &err) == 0 && chain && sk_X509_num(chain) == 0,
	      "a lone leaf parses with an empty (not NULL) chain");
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	{
		STACK_OF(X509) *two = sk_X509_new_null();
		char *pem = NULL;
		unsigned char *der = NULL;
		const unsigned char *q;
		size_t len = 0;
		X509 *back;

		sk_X509_push(two, p->inter);
		sk_X509_push(two, p->root);
		CHECK(cps_cert_chain_to_pem(two, &pem, &len, &err) == 0 && len == strlen(pem),
		      "a chain writes as PEM");
		CHECK(parse(pem, &leaf, &chain, &err) == 0 && X509_cmp(leaf, p->inter) == 0 &&
		      sk_X509_num(chain) == 1 && X509_cmp(sk_X509_value(chain, 0), p->root) == 0,
		      "  and reads back in order");
		X509_free(leaf);
		sk_X509_pop_free(chain, X509_free);
		free(pem);
		sk_X509_free(two);
		CHECK(cps_cert_to_der(p->leaf, &der, &len, &err) == 0 && len > 0, "a certificate as DER");
		q = der;
		back = d2i_X509(NULL, &q, (long)len);
		CHECK(back && X509_cmp(back, p->leaf) == 0 && q == der + len, "  parses back to itself");
		X509_free(back);
		OPENSSL_free(der);
	}
	free(bundle);
	free(leafpem);
	free(intpem);
}

static void test_key_match(struct pki *p)
{
	EVP_PKEY *rsa = NULL;
	cps_err err;

	CHECK(cps_cert_key_match(p->leaf, p->leaf_key, &err) == 0, "the leaf's key matches");
	CHECK(cps_cert_key_match(p->leaf, p->other_key, &err) == -1,
	      "another EC key does not match");
	CHECK_HAS(err.msg, "the private key does not match the certificate", "  saying so");
	cps_key_generate(CPS_KEY_RSA2048, &rsa, &err);
	CHECK(cps_cert_key_match(p->leaf, rsa, &err) == -1, "an RSA key does not match");
	CHECK_HAS(err.msg, "the private key does not match the certificate", "  saying so");
	CHECK_HAS(err.msg, "the key is rsa-2048, the certificate's key is ec-256",
		  "  and naming both types");
	EVP_PKEY_free(rsa);
}

static void test_verify(struct pki *p)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *empty = sk_X509_new_null();
	char *garbage, *missing;
	cps_err err;

	sk_X509_push(chain, p->inter);
	cps_err_clear(&err);
	CHECK(cps_cert_verify_chain(p->leaf, chain, p->roots_path, 0, &err) == 0,
	      "the chain verifies against its root");
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	CHECK(cps_cert_verify_chain(p->leaf, chain, p->roots_path, now + 60 * DAY, &err) == 0,
	      "  and still in 60 days");

	CHECK(cps_cert_verify_chain(p->leaf, chain, p->other_path, 0, &err) == -1,
	      "it does not verify against another root of the same name");
	CHECK_HAS(err.msg,
		  X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
		  "  with OpenSSL's reason");
	CHECK_HAS(err.msg, "depth 1", "  at the intermediate");
	CHECK_HAS(err.msg, "CN=Test Intermediate", "  naming it");

	CHECK(cps_cert_verify_chain(p->leaf, chain, p->roots_path, now + 400 * DAY, &err) == -1,
	      "it does not verify in 400 days");
	CHECK_HAS(err.msg, X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED),
		  "  the certificate has expired");
	CHECK_HAS(err.msg, "CN=example.com", "  naming the leaf");
	CHECK(cps_cert_verify_chain(p->leaf, chain, p->roots_path, now - 2 * DAY, &err) == -1,
	      "it does not verify two days ago");
	CHECK_HAS(err.msg, X509_verify_cert_error_string(X509_V_ERR_CERT_NOT_YET_VALID),
		  "  not yet valid");

	CHECK(cps_cert_verify_chain(p->leaf, empty, p->roots_path, 0, &err) == -1,
	      "without the intermediate it does not verify");
	CHECK_HAS(err.msg,
		  X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
		  "  the issuer is missing");
	CHECK_HAS(err.msg, "depth 0", "  at the leaf");
	CHECK_HAS(err.msg, "CN=example.com", "  naming it");
	CHECK(cps_cert_verify_chain(p->leaf, NULL, p->roots_path, 0, &err) == -1,
	      "  nor with a NULL chain");
	CHECK(cps_cert_verify_chain(p->leaf, chain, NULL, 0, &err) == -1,
	      "the system trust store does not know the test root");
	CHECK_HAS(err.msg, "does not verify", "  saying so");

	missing = cps_path_join(dir, "nothing.pem");
	CHECK(cps_cert_verify_chain(p->leaf, chain, missing, 0, &err) == -1 &&
	      err.code == CPS_E_NOTFOUND, "a missing roots file is NOTFOUND");
	CHECK_HAS(err.msg, "nothing.pem", "  naming it");
	free(missing);
	garbage = write_file("garbage.pem", "no certificates here\n");
	CHECK(cps_cert_verify_chain(p->leaf, chain, garbage, 0, &err) == -1,
	      "a roots file without certificates fails");
	CHECK_HAS(err.msg, "hold no usable certificate", "  saying so");
	free(garbage);
	sk_X509_free(chain);
	sk_X509_free(empty);
}

static void test_selfsigned(void)
{
	const char *const names[] = { "Self.example", "www.self.example" };
	char long65[66], *pem, *path;
	const char *lnames[1] = { long65 };
	EVP_PKEY *ec = NULL, *rsa = NULL;
	X509 *x = NULL, *y = NULL;
	cps_cert_info info, info2;
	cps_err err;
	int crit = -1;
	BASIC_CONSTRAINTS *bc;

	cps_key_generate(CPS_KEY_EC256, &ec, &err);
	cps_key_generate(CPS_KEY_RSA2048, &rsa, &err);
	CHECK(cps_cert_selfsigned(ec, names, 2, 30, &x, &err) == 0 && x, "a self-signed EC certificate");
	CHECK(cps_cert_info_get(x, &info, &err) == 0, "  its facts are read");
	CHECK(info.self_signed, "  it is self-signed");
	CHECK(!info.is_ca, "  it is not a CA");
	CHECK(info.nsans == 2 && strcmp(info.sans[0], "self.example") == 0 &&
	      strcmp(info.sans[1], "www.self.example") == 0, "  its SANs are the names");
	CHECK_STR(info.subject_cn, "Self.example", "  CN = the first name");
	CHECK_INT(info.not_after - info.not_before, 30 * DAY, "  valid for 30 days");
	CHECK(info.not_before >= now - 5 && info.not_before <= time(NULL), "  from now");
	CHECK(strlen(info.serial) >= 16 && strlen(info.serial) <= 32, "  a random 128-bit serial");
	CHECK(X509_get_version(x) == X509_VERSION_3, "  version 3");
	CHECK_INT(X509_get_signature_nid(x), NID_ecdsa_with_SHA256, "  signed with SHA-256");
	CHECK(X509_get_extension_flags(x) & EXFLAG_XKUSAGE &&
	      X509_get_extended_key_usage(x) == XKU_SSL_SERVER, "  EKU is serverAuth only");
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	CHECK(bc && !bc->ca && crit == 1, "  basicConstraints is critical CA:FALSE");
	BASIC_CONSTRAINTS_free(bc);
	CHECK_INT(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE, "  keyUsage digitalSignature");
	CHECK(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1, "  fit for a TLS server");
	CHECK(cps_cert_key_match(x, ec, &err) == 0, "  it matches its key");
	pem = pem_of(x);
	path = write_file("self.pem", pem);
	cps_err_clear(&err);
	CHECK(cps_cert_verify_chain(x, NULL, path, 0, &err) == 0, "  it verifies against itself as root");
	if (err.msg[0])
		printf("#   %s\n", err.msg);
	free(path);
	free(pem);

	CHECK(cps_cert_selfsigned(ec, names, 2, 30, &y, &err) == 0 &&
	      cps_cert_info_get(y, &info2, &err) == 0, "another one");
	CHECK(strcmp(info.serial, info2.serial) != 0, "  has another serial");
	cps_cert_info_free(&info2);
	cps_cert_info_free(&info);
	X509_free(y);
	X509_free(x);
	x = y = NULL;

	CHECK(cps_cert_selfsigned(rsa, names, 1, 1, &x, &err) == 0, "a self-signed RSA certificate");
	CHECK_INT(x ? X509_get_key_usage(x) : 0, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
		  "  keyUsage digitalSignature + keyEncipherment");
	CHECK_INT(x ? X509_get_signature_nid(x) : 0, NID_sha256WithRSAEncryption, "  SHA-256 with RSA");
	X509_free(x);
	x = NULL;

	memset(long65, 'a', sizeof(long65));
	memcpy(long65 + 65 - 12, ".example.com", 12);
	long65[65] = '\0';
	CHECK(cps_cert_selfsigned(ec, lnames, 1, 1, &x, &err) == 0 &&
	      cps_cert_info_get(x, &info, &err) == 0, "a self-signed cert for a 65-character name");
	CHECK_STR(info.subject_cn, "", "  has no CN");
	CHECK(info.nsans == 1 && strcmp(info.sans[0], long65) == 0, "  the name is the SAN");
	CHECK(info.self_signed, "  and it is still self-signed");
	cps_cert_info_free(&info);
	X509_free(x);
	x = NULL;

	CHECK(cps_cert_selfsigned(ec, names, 2, 0, &x, &err) == -1 && x == NULL,
	      "0 days is refused");
	CHECK(cps_cert_selfsigned(ec, names, 0, 30, &x, &err) == -1, "no names are refused");
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void test_refusals(struct pki *p)
{
	char *pem = pem_of(p->root), *s, *t, *big, *keypem = NULL;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	size_t n = strlen(pem);
	cps_err err;

	check_refused("", "holds no certificate", "empty input");
	check_refused(NULL, "holds no certificate", "a NULL buffer");
	check_refused("\n \r\n", "holds no certificate", "whitespace only");
	check_refused("garbage\n", "unexpected text at line 1", "garbage");
	s = strdup(pem);
	s[n / 2] = '\0';
	check_refused(s, "the certificate block at line 1 is truncated or corrupt",
		      "a truncated certificate");
	t = concat(pem, s);
	check_refused(t, "truncated or corrupt", "a good certificate then a truncated one");
	free(t);
	free(s);
	s = strdup(pem);
	s[28] = 'A'; /* "MII…" → the outer SEQUENCE tag 0x30 becomes 0x00 */
	check_refused(s, "truncated or corrupt", "a certificate with corrupt DER");
	free(s);
	s = der_block(p->root, "CERTIFICATE", 2);
	check_refused(s, "truncated or corrupt", "a certificate block with bytes after the DER");
	free(s);
	s = concat(pem, "hello\n");
	check_refused(s, "unexpected text at line", "text after the certificate");
	free(s);
	s = concat("subject=CN=Test Root\n", pem);
	check_refused(s, "unexpected text at line 1", "openssl's text before the certificate");
	free(s);
	cps_key_to_pem(p->leaf_key, &keypem, NULL, &err);
	s = concat(pem, keypem);
	check_refused(s, "private key where only certificates were expected",
		      "a private key in the bundle");
	free(s);
	cps_key_pem_free(keypem, strlen(keypem));
	check_refused("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		      "truncated or corrupt", "an empty certificate block");
	check_refused("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
		      "'X509 CRL' block where a certificate was expected", "a CRL");

	/* 16 certificates are fine, 17 are not */
	s = calloc(17, n + 1);
	for (int i = 0; i < 16; i++)
		memcpy(s + i * n, pem, n);
	CHECK(parse(s, &leaf, &chain, &err) == 0 && sk_X509_num(chain) == 15,
	      "16 certificates parse (a leaf and 15 more)");
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	memcpy(s + 16 * n, pem, n);
	check_refused(s, "more than 16 certificates", "17 certificates");
	free(s);

	big = malloc((1 << 20) + 2);
	memcpy(big, pem, n);
	memset(big + n, '\n', (1 << 20) + 1 - n);
	big[(1 << 20) + 1] = '\0';
	check_refused(big, "too large", "1 MiB + 1 byte");
	big[1 << 20] = '\0';
	CHECK(parse(big, &leaf, &chain, &err) == 0, "exactly 1 MiB (a certificate and newlines) parses");
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(big);

	n = strlen(pem);
	s = calloc(2 * n + 1, 1);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (pem[i] == '\n')
			s[j++] = '\r';
		s[j++] = pem[i];
	}
	CHECK(parse(s, &leaf, &chain, &err) == 0 && X509_cmp(leaf, p->root) == 0,
	      "CRLF line ends are accepted");
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(s);
	free(pem);
}

int main(void)
{
	struct pki p;

	memset(&p, 0, sizeof(p));
	if (mkdtemp(dir) == NULL)
		return 1;
	now = time(NULL);
	pki_make(&p);
	test_parse_and_info(&p);
	test_key_match(&p);
	test_verify(&p);
	test_selfsigned();
	test_refusals(&p);
	pki_free(&p);
	unit_rmtree(dir);
	return unit_done();
}
