/* Private keys: generation for every key_type, PEM in and out, and files
 * that are 0600 from the moment they exist. OpenSSL 3 EVP APIs only. */
#ifndef CPSSL_CRYPTO_KEY_H
#define CPSSL_CRYPTO_KEY_H

#include <openssl/evp.h>
#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/keytype.h"

int cps_key_generate(cps_key_type type, EVP_PKEY **out, cps_err *err);

/* The type of an existing key ("ec-256", "rsa-2048", …; "ec-521" or
 * "rsa-1024" for keys we do not generate but can still read), or -1. */
int cps_key_describe(const EVP_PKEY *key, char *buf, size_t len);

/* Unencrypted PKCS#8 PEM. *pem is NUL-terminated; free with
 * cps_key_pem_free() (it is wiped before it is freed). */
int cps_key_to_pem(EVP_PKEY *key, char **pem, size_t *len, cps_err *err);
void cps_key_pem_free(char *pem, size_t len);

/* Exactly one private key (PKCS#8, or traditional RSA/EC PEM) and nothing
 * else that looks like a key: no second key, no certificate, no garbage.
 * Encrypted keys are refused with a clear message. */
int cps_key_from_pem(const char *pem, size_t len, EVP_PKEY **out,
		     cps_err *err);

/* Atomic, fsynced, 0600 from creation. */
int cps_key_save(const char *path, EVP_PKEY *key, cps_err *err);
int cps_key_load(const char *path, EVP_PKEY **out, cps_err *err);

#endif
