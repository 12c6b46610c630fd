/* Private keys: every type generates and describes itself, PEM round trips,
 * saved files are 0600 whatever the umask, and cps_key_from_pem takes
 * exactly one unencrypted key and refuses everything else clearly. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/crypto/key.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-key-XXXXXX";

/* PEM text written by one of OpenSSL's writers, as a C string. */
typedef int (*pem_writer)(BIO *bio, EVP_PKEY *key);

static char *pem_of(EVP_PKEY *key, pem_writer write)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio != NULL && write(bio, key) == 1) {
		n = BIO_get_mem_data(bio, &data);
		out = strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

static int w_traditional(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
}

static int w_pkcs8_encrypted(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), "secret", 6,
					     NULL, NULL);
}

static int w_traditional_encrypted(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_PrivateKey_traditional(b, k, EVP_aes_128_cbc(),
						    (unsigned char *)"secret", 6,
						    NULL, NULL);
}

static int w_params(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_Parameters(b, k);
}

static int w_pubkey(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_PUBKEY(b, k);
}

static int w_pkcs8(BIO *b, EVP_PKEY *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static char *concat(const char *a, const char *b)
{
	char *out = NULL;

	if (asprintf(&out, "%s%s", a, b) < 0)
		return NULL;
	return out;
}

/* from_pem on a C string: 0 and an equal key, or -1 and the message. */
static int parse(const char *pem, EVP_PKEY **key, cps_err *err)
{
	return cps_key_from_pem(pem, pem ? strlen(pem) : 0, key, err);
}

static void check_refused(const char *pem, const char *want, const char *desc)
{
	EVP_PKEY *key = (EVP_PKEY *)&key; /* must be reset to NULL */
	cps_err err;
	char line[160];

	cps_err_clear(&err);
	snprintf(line, sizeof(line), "%s is refused", desc);
	CHECK(parse(pem, &key, &err) == -1 && key == NULL, line);
	snprintf(line, sizeof(line), "  saying '%s'", want);
	CHECK_HAS(err.msg, want, line);
	if (key != NULL && key != (EVP_PKEY *)&key)
		EVP_PKEY_free(key);
}

static void check_accepted(const char *pem, EVP_PKEY *want, const char *desc)
{
	EVP_PKEY *key = NULL;
	cps_err err;

	cps_err_clear(&err);
	if (!CHECK(parse(pem, &key, &err) == 0, desc))
		printf("#   %s\n", err.msg);
	CHECK(key != NULL && EVP_PKEY_eq(key, want) == 1, "  the same key");
	EVP_PKEY_free(key);
}

static void test_types(void)
{
	static const char *const names[] = { "ec-256", "ec-384", "rsa-2048",
					     "rsa-3072", "rsa-4096" };
	cps_key_type t;
	cps_err err;

	for (size_t i = 0; i < 5; i++) {
		char line[80];

		snprintf(line, sizeof(line), "key type %s parses", names[i]);
		CHECK(cps_key_type_parse(names[i], &t, &err) == 0, line);
		CHECK_STR(cps_key_type_name(t), names[i], "  and names itself back");
	}
	CHECK(cps_key_type_parse("ec-521", &t, &err) == -1,
	      "ec-521 is not a key type we generate");
	CHECK_HAS(err.msg, "'ec-521' is not a key type", "  saying so");
	CHECK_HAS(err.msg, "rsa-4096", "  and listing the valid ones");
	CHECK(cps_key_type_parse("RSA", &t, &err) == -1, "'RSA' is refused");
	CHECK(cps_key_type_name((cps_key_type)99) == NULL, "an unknown enum has no name");
}

static void test_generate(cps_key_type type)
{
	const char *name = cps_key_type_name(type);
	EVP_PKEY *key = NULL, *back = NULL, *loaded = NULL;
	char desc[32] = "", *pem = NULL, *path, line[120], *file = NULL;
	size_t len = 0, flen = 0;
	struct stat st;
	cps_err err;

	snprintf(line, sizeof(line), "%s: a key generates", name);
	CHECK(cps_key_generate(type, &key, &err) == 0 && key != NULL, line);
	CHECK(cps_key_describe(key, desc, sizeof(desc)) == 0, "  it describes itself");
	CHECK_STR(desc, name, "  as its own type");

	CHECK(cps_key_to_pem(key, &pem, &len, &err) == 0 && pem != NULL, "  it encodes as PEM");
	CHECK(pem && len == strlen(pem), "  the length is the string length");
	CHECK(pem && strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0,
	      "  as unencrypted PKCS#8");
	CHECK(cps_key_from_pem(pem, len, &back, &err) == 0 && back != NULL,
	      "  the PEM reads back");
	CHECK(back && EVP_PKEY_eq(key, back) == 1, "  to an equal key");
	cps_key_pem_free(pem, len);

	path = cps_path_join(dir, name);
	umask(0);
	CHECK(cps_key_save(path, key, &err) == 0, "  it saves with umask 0");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "  the file is 0600");
	CHECK(cps_fs_read(path, 1 << 20, &file, &flen, &err) == 0 &&
	      strstr(file, "BEGIN PRIVATE KEY") != NULL, "  and holds the PEM");
	free(file);
	CHECK(cps_key_load(path, &loaded, &err) == 0 && loaded != NULL, "  it loads");
	CHECK(loaded && EVP_PKEY_eq(key, loaded) == 1, "  as an equal key");
	umask(022);
	free(path);
	EVP_PKEY_free(loaded);
	EVP_PKEY_free(back);
	EVP_PKEY_free(key);
}

static void test_describe(void)
{
	EVP_PKEY *k;
	char buf[32];

	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	CHECK(k && cps_key_describe(k, buf, sizeof(buf)) == 0, "a P-521 key is described");
	CHECK_STR(buf, "ec-521", "  as ec-521");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	CHECK(k && cps_key_describe(k, buf, sizeof(buf)) == 0, "an RSA-1024 key is described");
	CHECK_STR(buf, "rsa-1024", "  as rsa-1024");
	CHECK(cps_key_describe(k, buf, 4) == -1, "  but not into a buffer too small");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(k && cps_key_describe(k, buf, sizeof(buf)) == -1, "an Ed25519 key is not described");
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	CHECK(k && cps_key_describe(k, buf, sizeof(buf)) == -1,
	      "an EC key on secp256k1 is not described");
	EVP_PKEY_free(k);
	CHECK(cps_key_describe(NULL, buf, sizeof(buf)) == -1, "no key is not described");
}

/* The first block of PEM again, with EXTRA zero bytes after its DER. */
static char *with_trailing_bytes(const char *pem, int extra)
{
	char *name = NULL, *hdr = NULL, *out = NULL, *data;
	unsigned char *der = NULL, *buf;
	long len = 0, n;
	BIO *bio = BIO_new_mem_buf(pem, -1);

	if (PEM_read_bio(bio, &name, &hdr, &der, &len) == 1) {
		buf = calloc((size_t)(len + extra), 1);
		memcpy(buf, der, (size_t)len);
		BIO_free(bio);
		bio = BIO_new(BIO_s_mem());
		PEM_write_bio(bio, name, hdr, buf, len + extra);
		n = BIO_get_mem_data(bio, &data);
		out = strndup(data, (size_t)n);
		free(buf);
	}
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	return out;
}

/* An EC private key whose embedded public point belongs to another key. */
static char *mismatched_ec_pem(EVP_PKEY *a, EVP_PKEY *b)
{
	char *pa = pem_of(a, w_traditional), *pb = pem_of(b, w_traditional);
	char *name = NULL, *hdr = NULL, *out = NULL, *data;
	unsigned char *da = NULL, *db = NULL;
	long la = 0, lb = 0, n;
	BIO *bio;

	bio = BIO_new_mem_buf(pa, -1);
	PEM_read_bio(bio, &name, &hdr, &da, &la);
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	bio = BIO_new_mem_buf(pb, -1);
	PEM_read_bio(bio, &name, &hdr, &db, &lb);
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	/* ECPrivateKey ends with [1] { BIT STRING 04 || X || Y }: 65 bytes */
	if (da && db && la == lb && la > 65) {
		memcpy(da + la - 65, db + lb - 65, 65);
		bio = BIO_new(BIO_s_mem());
		PEM_write_bio(bio, "EC PRIVATE KEY", "", da, la);
		n = BIO_get_mem_data(bio, &data);
		out = strndup(data, (size_t)n);
		BIO_free(bio);
	}
	OPENSSL_free(da);
	OPENSSL_free(db);
	free(pa);
	free(pb);
	return out;
}

static void test_from_pem(void)
{
	EVP_PKEY *ec, *ec2, *rsa, *ed, *small;
	char *p8, *trad_rsa, *trad_ec, *params, *s, *t, *big, *certpem = NULL;
	const char *const names[] = { "example.com" };
	X509 *cert = NULL;
	size_t n;
	cps_err err;

	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p8 = pem_of(ec, w_pkcs8);

	/* what is accepted */
	trad_rsa = pem_of(rsa, w_traditional);
	CHECK(trad_rsa && strstr(trad_rsa, "BEGIN RSA PRIVATE KEY"), "a traditional RSA PEM is written");
	check_accepted(trad_rsa, rsa, "a traditional RSA key is accepted");
	trad_ec = pem_of(ec, w_traditional);
	CHECK(trad_ec && strstr(trad_ec, "BEGIN EC PRIVATE KEY"), "a traditional EC PEM is written");
	check_accepted(trad_ec, ec, "a traditional EC key is accepted");
	params = pem_of(ec, w_params);
	CHECK(params && strstr(params, "BEGIN EC PARAMETERS"), "EC parameters are written");
	s = concat(params, trad_ec);
	check_accepted(s, ec, "EC PARAMETERS before an EC key are accepted");
	free(s);
	s = concat(params, p8);
	check_accepted(s, ec, "EC PARAMETERS before a PKCS#8 EC key are accepted");
	free(s);
	s = concat("\n  \r\n", p8);
	t = concat(s, "\n\t \n");
	check_accepted(t, ec, "whitespace around the key is accepted");
	free(s);
	free(t);
	s = concat("\xef\xbb\xbf", p8);
	check_accepted(s, ec, "a UTF-8 byte order mark is accepted");
	free(s);
	n = strlen(p8);
	s = calloc(2 * n + 1, 1);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (p8[i] == '\n')
			s[j++] = '\r';
		s[j++] = p8[i];
	}
	check_accepted(s, ec, "CRLF line ends are accepted");
	free(s);

	/* what is refused */
	check_refused("", "holds no private key", "empty input");
	check_refused(NULL, "holds no private key", "a NULL buffer");
	check_refused(" \n\n\t", "holds no private key", "whitespace only");
	check_refused("hello, world\n", "unexpected text at line 1", "garbage");
	s = concat("# my key\n", p8);
	check_refused(s, "unexpected text at line 1", "a comment before the key");
	free(s);
	s = concat(p8, "trailing");
	check_refused(s, "unexpected text at line", "trailing garbage");
	free(s);
	s = strdup(p8);
	s[strlen(s) / 2] = '\0';
	check_refused(s, "truncated or corrupt", "a truncated key block");
	free(s);
	s = strdup(p8);
	*strstr(s, "-----END") = '\0';
	check_refused(s, "truncated or corrupt", "a key block without its END line");
	free(s);
	s = strdup(p8);
	s[28] = 'A'; /* "MI…" → the outer SEQUENCE tag 0x30 becomes 0x00 */
	check_refused(s, "truncated or corrupt", "a key block with corrupt DER");
	free(s);
	s = strdup(p8);
	s[28 + 20] = s[28 + 20] == 'A' ? 'B' : 'A'; /* inside the algorithm OID */
	check_refused(s, "truncated or corrupt", "a key block with an unknown algorithm");
	free(s);
	s = strdup(p8);
	memcpy(strstr(s, "-----END ") + 9, "PUBLIC", 6);
	check_refused(s, "truncated or corrupt", "a key block whose END line does not match");
	free(s);
	s = with_trailing_bytes(p8, 2);
	check_refused(s, "truncated or corrupt", "a PKCS#8 block with bytes after the DER");
	free(s);
	s = with_trailing_bytes(trad_ec, 1);
	check_refused(s, "truncated or corrupt", "an EC key block with bytes after the DER");
	free(s);
	s = concat(p8, p8);
	check_refused(s, "the PEM data holds two private keys; give exactly one",
		      "the same key twice");
	free(s);
	s = concat(p8, trad_rsa);
	check_refused(s, "two private keys", "two different keys");
	free(s);

	CHECK(cps_cert_selfsigned(ec, names, 1, 1, &cert, &err) == 0 &&
	      cps_cert_to_pem(cert, &certpem, NULL, &err) == 0, "a certificate PEM is made");
	check_refused(certpem, "the PEM data holds a certificate where a private key was expected",
		      "a certificate instead of a key");
	s = concat(p8, certpem);
	check_refused(s, "certificate", "a key followed by a certificate");
	free(s);

	s = pem_of(ec, w_pkcs8_encrypted);
	CHECK(s && strstr(s, "BEGIN ENCRYPTED PRIVATE KEY"), "an encrypted PKCS#8 key is written");
	check_refused(s, "the key is encrypted; give it without a passphrase",
		      "an encrypted PKCS#8 key");
	free(s);
	s = pem_of(rsa, w_traditional_encrypted);
	CHECK(s && strstr(s, "Proc-Type: 4,ENCRYPTED"), "an encrypted traditional key is written");
	check_refused(s, "the key is encrypted; give it without a passphrase",
		      "an encrypted traditional RSA key");
	free(s);
	s = pem_of(ec, w_pubkey);
	check_refused(s, "public key", "a public key");
	free(s);
	s = concat(params, trad_rsa);
	check_refused(s, "not an EC key", "EC PARAMETERS before an RSA key");
	free(s);
	s = concat(params, params);
	t = concat(s, trad_ec);
	check_refused(t, "EC PARAMETERS", "two EC PARAMETERS blocks");
	free(s);
	free(t);
	s = concat(params, "");
	check_refused(s, "holds no private key", "EC PARAMETERS alone");
	free(s);

	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	s = pem_of(ed, w_pkcs8);
	check_refused(s, "unsupported type", "an Ed25519 key");
	free(s);
	EVP_PKEY_free(ed);
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	s = small ? pem_of(small, w_pkcs8) : NULL;
	check_refused(s, "at least 1024", "a 512-bit RSA key");
	free(s);
	EVP_PKEY_free(small);
	ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	s = mismatched_ec_pem(ec, ec2);
	CHECK(s != NULL, "an EC key with another key's public point is made");
	check_refused(s, "do not belong together", "an inconsistent key");
	free(s);
	EVP_PKEY_free(ec2);

	/* the 1 MiB bound is exact */
	big = malloc((1 << 20) + 2);
	n = strlen(p8);
	memcpy(big, p8, n);
	memset(big + n, '\n', (1 << 20) + 1 - n);
	big[(1 << 20) + 1] = '\0';
	check_refused(big, "too large", "1 MiB + 1 byte");
	big[1 << 20] = '\0';
	check_accepted(big, ec, "exactly 1 MiB (a key and newlines) is accepted");
	free(big);

	X509_free(cert);
	free(certpem);
	free(params);
	free(trad_ec);
	free(trad_rsa);
	free(p8);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void test_files(void)
{
	EVP_PKEY *key = NULL;
	char *p = cps_path_join(dir, "missing.pem"), *q;
	cps_err err;

	CHECK(cps_key_load(p, &key, &err) == -1 && key == NULL &&
	      err.code == CPS_E_NOTFOUND, "loading a missing key is NOTFOUND");
	CHECK_HAS(err.msg, "missing.pem", "  naming the file");
	free(p);
	p = cps_path_join(dir, "garbage.pem");
	cps_fs_write_atomic(p, "not a key\n", 10, 0600, &err);
	CHECK(cps_key_load(p, &key, &err) == -1 && key == NULL, "loading garbage fails");
	CHECK_HAS(err.msg, "garbage.pem", "  naming the file");
	CHECK_HAS(err.msg, "unexpected text at line 1", "  and the reason");
	free(p);
	cps_key_generate(CPS_KEY_EC256, &key, &err);
	q = cps_path_join(dir, "nodir/key.pem");
	CHECK(cps_key_save(q, key, &err) == -1, "saving into a missing directory fails");
	CHECK_HAS(err.msg, "nodir", "  naming the place");
	free(q);
	EVP_PKEY_free(key);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_types();
	for (int t = CPS_KEY_EC256; t <= CPS_KEY_RSA4096; t++)
		test_generate((cps_key_type)t);
	test_describe();
	test_from_pem();
	test_files();
	unit_rmtree(dir);
	return unit_done();
}
