#include "acmems/cache.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/core/fs.h"
#include "cpssl/crypto/cert.h"
#include "cpssl/issue/issue.h"

void am_cache_key(const cps_csr_info *csr, char key[AM_CACHE_KEY_LEN])
{
	char *set = cps_name_set((const char *const *)csr->names, csr->n);
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (ctx && set && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, csr->key_id, sizeof(csr->key_id)) == 1 &&
	    EVP_DigestUpdate(ctx, set, strlen(set)) == 1)
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	free(set);
	for (size_t i = 0; i < 32; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
}

static char *path_of(const am_storage *s, const char *key)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s.pem", s->directory, key) < 0)
		return NULL;
	return p;
}

int am_cache_get(const am_storage *s, const char *key, char **pem, time_t *not_after)
{
	char *path, *text = NULL;
	STACK_OF(X509) *chain = NULL;
	cps_cert_info info = { 0 };
	X509 *leaf = NULL;
	size_t len = 0;
	int hit = 0;
	cps_err e;

	*pem = NULL;
	if (s->type != AM_S_FILE || (path = path_of(s, key)) == NULL)
		return 0;
	if (cps_fs_read(path, 1 << 20, &text, &len, &e) == 0 &&
	    cps_cert_parse_pem(text, len, &leaf, &chain, &e) == 0 &&
	    cps_cert_info_get(leaf, &info, &e) == 0 &&
	    info.not_after - (time_t)s->renew_within * 86400 > time(NULL)) {
		*pem = text;
		*not_after = info.not_after;
		text = NULL;
		hit = 1;
	}
	cps_cert_info_free(&info);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(text);
	free(path);
	return hit;
}

int am_cache_put(const am_storage *s, const char *key, const char *pem, cps_err *err)
{
	char *path;
	int rc;

	if (s->type != AM_S_FILE)
		return 0;
	if (cps_fs_mkdir_p(s->directory, 0755, err) != 0)
		return -1;
	if ((path = path_of(s, key)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = cps_fs_write_atomic(path, pem, strlen(pem), 0644, err);
	free(path);
	return rc;
}
