#include "cpssl/crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"
#include "cpssl/crypto/internal.h"

/* Bounds for untrusted input: a PEM file of one key is a few kB; RSA beyond
 * 16384 bits is OpenSSL's own ceiling and would make every check slow. */
#define KEY_PEM_MAX (1024 * 1024)
#define KEY_BLOCKS_MAX 64
#define RSA_BITS_MIN 1024
#define RSA_BITS_MAX 16384

/* How each key type is generated. */
static const struct {
	cps_key_type type;
	const char *alg;     /* EVP_PKEY_Q_keygen algorithm */
	const char *curve;   /* EC only */
	size_t bits;         /* RSA only */
} key_types[] = {
	{ CPS_KEY_EC256, "EC", "P-256", 0 },
	{ CPS_KEY_EC384, "EC", "P-384", 0 },
	{ CPS_KEY_RSA2048, "RSA", NULL, 2048 },
	{ CPS_KEY_RSA3072, "RSA", NULL, 3072 },
	{ CPS_KEY_RSA4096, "RSA", NULL, 4096 },
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/* Curves we can describe, by the names OpenSSL may report for them. */
static const struct {
	const char *sn, *nist, *desc;
} curves[] = {
	{ "prime256v1", "P-256", "ec-256" },
	{ "secp384r1", "P-384", "ec-384" },
	{ "secp521r1", "P-521", "ec-521" },
};

int cps_key_generate(cps_key_type type, EVP_PKEY **out, cps_err *err)
{
	EVP_PKEY *key = NULL;
	size_t i;

	*out = NULL;
	for (i = 0; i < NKEY_TYPES; i++)
		if (key_types[i].type == type)
			break;
	if (i == NKEY_TYPES)
		return cps_fail(err, CPS_E_INTERNAL, "unknown key type %d",
				(int)type);
	if (key_types[i].curve != NULL)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[i].curve);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", key_types[i].bits);
	if (key == NULL)
		return cps_ossl_fail(err, "cannot generate an %s key",
				 cps_key_type_name(type));
	cps_debug("generated an %s key", cps_key_type_name(type));
	*out = key;
	return 0;
}

int cps_key_describe(const EVP_PKEY *key, char *buf, size_t len)
{
	char group[64];
	int n;

	if (key == NULL || buf == NULL || len == 0)
		return -1;
	if (EVP_PKEY_is_a(key, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
						   group, sizeof(group), NULL) != 1) {
			ERR_clear_error(); /* explicit parameters: no name */
			return -1;
		}
		for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
			if (strcmp(group, curves[i].sn) == 0 ||
			    strcmp(group, curves[i].nist) == 0) {
				n = snprintf(buf, len, "%s", curves[i].desc);
				return n < 0 || (size_t)n >= len ? -1 : 0;
			}
		}
		return -1;
	}
	/* RSA-PSS keys are a different type and are not ours to describe. */
	if (EVP_PKEY_is_a(key, "RSA")) {
		int bits = EVP_PKEY_get_bits(key);

		if (bits <= 0)
			return -1;
		n = snprintf(buf, len, "rsa-%d", bits);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	return -1;
}

/* Copy a memory BIO's content into a fresh NUL-terminated buffer. */
static int bio_take(BIO *bio, char **pem, size_t *len)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *copy;

	if (n < 0)
		return -1;
	copy = malloc((size_t)n + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem = copy;
	if (len)
		*len = (size_t)n;
	return 0;
}

int cps_key_to_pem(EVP_PKEY *key, char **pem, size_t *len, cps_err *err)
{
	BIO *bio = NULL;
	int rc = -1;

	*pem = NULL;
	if (len)
		*len = 0;
	/* secmem: the BIO wipes its buffers when it grows and when freed */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL) {
		cps_ossl_fail(err, "cannot allocate a buffer for the private key");
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		cps_ossl_fail(err, "cannot encode the private key as PEM");
		goto out;
	}
	if (bio_take(bio, pem, len) != 0) {
		cps_fail(err, CPS_E_NOMEM, "out of memory encoding the private key");
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

void cps_key_pem_free(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}

/* Passphrase callback that never asks: OpenSSL's default would prompt on
 * the terminal, and an encrypted key is refused before we get here anyway. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}




/* Decode the DER of one key block; the label says which structure. */
static EVP_PKEY *decode_key(const char *label, const unsigned char *der,
			    long len)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *key = NULL;
	const char *structure = "type-specific", *type = NULL;
	const unsigned char *p = der;
	size_t left = (size_t)len;

	if (strcmp(label, "PRIVATE KEY") == 0)
		structure = "PrivateKeyInfo";
	else if (strcmp(label, "RSA PRIVATE KEY") == 0)
		type = "RSA";
	else
		type = "EC";
	dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", structure, type,
					     EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_CTX_set_pem_password_cb(dctx, no_passphrase, NULL) != 1 ||
	    OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return key;
}

/* A decoded key must be one we can use, of a size that keeps every later
 * operation bounded, and internally consistent (public matches private). */
static int check_key(EVP_PKEY *key, cps_err *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	char desc[32];
	int rc = -1;

	if (EVP_PKEY_is_a(key, "RSA")) {
		int bits = EVP_PKEY_get_bits(key);

		if (bits < RSA_BITS_MIN) {
			cps_fail(err, CPS_E_INVAL,
				 "the RSA key has %d bits; at least %d are needed",
				 bits, RSA_BITS_MIN);
			goto out;
		}
		if (bits > RSA_BITS_MAX) {
			cps_fail(err, CPS_E_INVAL,
				 "the RSA key has %d bits; at most %d are supported",
				 bits, RSA_BITS_MAX);
			goto out;
		}
	}
	if (cps_key_describe(key, desc, sizeof(desc)) != 0) {
		cps_fail(err, CPS_E_INVAL,
			 "the private key is of an unsupported type (%s); use an "
			 "EC key on P-256, P-384 or P-521, or an RSA key",
			 EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
						      : "unknown");
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (ctx == NULL) {
		cps_ossl_fail(err, "cannot check the private key");
		goto out;
	}
	if (EVP_PKEY_pairwise_check(ctx) != 1) {
		ERR_clear_error();
		cps_fail(err, CPS_E_INVAL,
			 "the private key is corrupt: its public and private "
			 "parts do not belong together");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static bool is_key_label(const char *label)
{
	return strcmp(label, "PRIVATE KEY") == 0 ||
	       strcmp(label, "RSA PRIVATE KEY") == 0 ||
	       strcmp(label, "EC PRIVATE KEY") == 0;
}

/* Why a block that is not an acceptable key is refused. */
static int refuse_label(const char *label, cps_err *err)
{
	if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0)
		return cps_fail(err, CPS_E_INVAL,
				"the key is encrypted; give it without a passphrase");
	if (strcmp(label, "CERTIFICATE") == 0 ||
	    strcmp(label, "TRUSTED CERTIFICATE") == 0 ||
	    strcmp(label, "X509 CERTIFICATE") == 0)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data holds a certificate where a private "
				"key was expected; give the key alone");
	if (strstr(label, "PUBLIC KEY") != NULL)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data holds a public key; a private key "
				"is needed");
	if (strstr(label, "PRIVATE KEY") != NULL)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data holds a private key in an unsupported "
				"format (%s); use PKCS#8 (BEGIN PRIVATE KEY) or a "
				"traditional RSA or EC key", label);
	return cps_fail(err, CPS_E_INVAL,
			"the PEM data holds a '%s' block where a private key was "
			"expected", label);
}

/* What the blocks of a key's PEM held so far. */
typedef struct key_scan {
	EVP_PKEY *key;     /* the first key */
	size_t keys, blocks;
	bool ecparams;
} key_scan;

/* The block LABEL that starts at *OFF: read whole, checked, and the first
 * key decoded; *OFF moves past it. */
static int read_block(const char *pem, size_t len, size_t *off, const char *label,
		      key_scan *ks, cps_err *err)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	BIO *bio = BIO_new_mem_buf(pem + *off, (int)(len - *off));
	int rc = -1;

	if (bio == NULL)
		return cps_ossl_fail(err, "cannot read the PEM data");
	if (PEM_read_bio_ex(bio, &name, &header, &data, &dlen,
			    PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1) {
		/* some releases free but do not reset these on failure */
		name = header = NULL;
		data = NULL;
	}
	if (name == NULL || strcmp(name, label) != 0) {
		ERR_clear_error();
		cps_fail(err, CPS_E_INVAL, "the %s block at line %zu is truncated or corrupt",
			 is_key_label(label) ? "private key" : label, cps_pem_line_of(pem, *off));
		goto out;
	}
	*off = len - (size_t)BIO_pending(bio);
	if (is_key_label(label) && header[0] != '\0') {
		cps_fail(err, CPS_E_INVAL, strstr(header, "ENCRYPTED") != NULL
						   ? "the key is encrypted; give it without a passphrase"
						   : "the private key block has unexpected headers");
		goto out;
	}
	if (is_key_label(label) && ks->keys++ == 0 &&
	    (ks->key = decode_key(label, data, dlen)) == NULL) {
		ERR_clear_error();
		cps_fail(err, CPS_E_INVAL, "the private key block is truncated or corrupt");
		goto out;
	}
	rc = 0;
out:
	if (data != NULL)
		OPENSSL_secure_clear_free(data, (size_t)dlen);
	OPENSSL_secure_free(header);
	OPENSSL_secure_free(name);
	BIO_free(bio);
	return rc;
}

/* Whether the block LABEL may come next. */
static int block_allowed(const char *pem, size_t off, const char *label, key_scan *ks,
			 cps_err *err)
{
	if (++ks->blocks > KEY_BLOCKS_MAX)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data holds too many blocks; give exactly one private key");
	if (strcmp(label, "EC PARAMETERS") == 0) {
		/* as "openssl ecparam -genkey" writes, before the key */
		if (ks->ecparams || ks->keys > 0)
			return cps_fail(err, CPS_E_INVAL,
					"the PEM data holds an unexpected EC PARAMETERS block at line %zu",
					cps_pem_line_of(pem, off));
		ks->ecparams = true;
		return 0;
	}
	return is_key_label(label) ? 0 : refuse_label(label, err);
}

int cps_key_from_pem(const char *pem, size_t len, EVP_PKEY **out,
		     cps_err *err)
{
	key_scan ks = { 0 };
	char label[80];
	size_t off = 0;
	int rc = -1, more;

	*out = NULL;
	if (pem == NULL)
		len = 0;
	if (len > KEY_PEM_MAX)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data is too large (%zu bytes; the limit "
				"is 1 MiB)", len);
	/* a UTF-8 byte order mark, as some editors write */
	if (len >= 3 && memcmp(pem, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while ((more = cps_pem_block_start(pem, len, &off, label, sizeof(label), "PEM blocks",
					   err)) > 0)
		if (block_allowed(pem, off, label, &ks, err) != 0 ||
		    read_block(pem, len, &off, label, &ks, err) != 0)
			goto out;
	if (more < 0)
		goto out;
	if (ks.keys == 0)
		cps_fail(err, CPS_E_INVAL, "the PEM data holds no private key");
	else if (ks.keys > 1)
		cps_fail(err, CPS_E_INVAL, "the PEM data holds %s private keys; give exactly one",
			 ks.keys == 2 ? "two" : "several");
	else if (ks.ecparams && !EVP_PKEY_is_a(ks.key, "EC"))
		cps_fail(err, CPS_E_INVAL,
			 "the PEM data holds EC PARAMETERS with a key that is not an EC key");
	else if (check_key(ks.key, err) == 0) {
		*out = ks.key;
		ks.key = NULL;
		rc = 0;
	}
out:
	EVP_PKEY_free(ks.key);
	ERR_clear_error();
	return rc;
}

int cps_key_save(const char *path, EVP_PKEY *key, cps_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	if (cps_key_to_pem(key, &pem, &len, err) != 0)
		return cps_err_prefix(err, "cannot save the private key %s", path);
	rc = cps_fs_write_atomic(path, pem, len, 0600, err);
	cps_key_pem_free(pem, len);
	if (rc == 0)
		cps_debug("saved a private key to %s", path);
	return rc;
}

int cps_key_load(const char *path, EVP_PKEY **out, cps_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (cps_fs_read(path, KEY_PEM_MAX, &pem, &len, err) != 0)
		return -1;
	rc = cps_key_from_pem(pem, len, out, err);
	cps_key_pem_free(pem, len);
	if (rc != 0)
		return cps_err_prefix(err, "cannot use the private key %s", path);
	return 0;
}
