/* A client's certificate request: parsed, its signature verified, its
 * names collected and checked (the CSR issuance and cpssl-acmems). */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/internal.h"
#include "cpssl/names/hostname.h"

#define MAX_NAMES 100

static X509_REQ *parse(const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	X509_REQ *req = NULL;
	BIO *b;

	if (len > 0 && (unsigned char)in[0] == 0x30)
		return d2i_X509_REQ(NULL, &p, (long)len);
	b = BIO_new_mem_buf(in, (int)len);
	if (b)
		req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	return req;
}

static int add_name(cps_csr_info *out, const char *raw, size_t rawlen, cps_err *err)
{
	char canon[CPS_HOSTNAME_MAX + 1], text[CPS_HOSTNAME_MAX + 2];

	if (rawlen == 0 || rawlen > CPS_HOSTNAME_MAX || memchr(raw, '\0', rawlen))
		return cps_fail(err, CPS_E_INVAL, "the request names something that is not a hostname");
	memcpy(text, raw, rawlen);
	text[rawlen] = '\0';
	if (cps_hostname_normalize(text, CPS_NAME_ALLOW_WILDCARD, canon, err) != 0)
		return cps_err_prefix(err, "the request names a bad hostname");
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->names[i], canon) == 0)
			return 0;
	if (out->n == MAX_NAMES)
		return cps_fail(err, CPS_E_INVAL, "the request names more than %d hostnames", MAX_NAMES);
	if ((out->names[out->n] = strdup(canon)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	out->wildcard = out->wildcard || cps_hostname_is_wildcard(canon);
	out->n++;
	return 0;
}

static int subject_cn(X509_REQ *req, cps_csr_info *out, cps_err *err)
{
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	int i = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	ASN1_STRING *cn;

	if (i < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0)
		return cps_fail(err, CPS_E_INVAL, "the request's subject has more than one CN");
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	return add_name(out, (const char *)ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn),
			err);
}

static int sans(X509_REQ *req, cps_csr_info *out, cps_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	int rc = 0, crit = -1;

	if (exts)
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1)
		rc = cps_fail(err, CPS_E_INVAL, "the request's subjectAltName cannot be read");
	for (int i = 0; rc == 0 && gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS) {
			rc = cps_fail(err, CPS_E_INVAL, "the request has a subjectAltName that is not a "
				      "DNS name (IP addresses, e-mail and URIs are not signed here)");
			break;
		}
		rc = add_name(out, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			      (size_t)ASN1_STRING_length(g->d.dNSName), err);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static int key_id(X509_REQ *req, cps_csr_info *out, cps_err *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	unsigned char *spki = NULL;
	unsigned int mdlen = 0;
	int len;

	if (pub == NULL)
		return cps_fail(err, CPS_E_INVAL, "the request has no usable public key");
	if (X509_REQ_verify(req, pub) != 1)
		return cps_ossl_fail(err, "the request's signature does not verify with its own key");
	len = i2d_PUBKEY(pub, &spki);
	if (len <= 0 || EVP_Digest(spki, (size_t)len, out->key_id, &mdlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(spki);
		return cps_ossl_fail(err, "cannot hash the request's public key");
	}
	OPENSSL_free(spki);
	return 0;
}

int cps_csr_read(const char *in, size_t len, cps_csr_info *out, cps_err *err)
{
	X509_REQ *req;
	unsigned char *der = NULL;
	int dlen, rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > (1u << 20))
		return cps_fail(err, CPS_E_INVAL, "the certificate request is empty or too long");
	req = parse(in, len);
	ERR_clear_error();
	if (req == NULL)
		return cps_fail(err, CPS_E_INVAL, "the body is not a PEM or DER certificate request");
	out->names = calloc(MAX_NAMES, sizeof(*out->names));
	if (out->names == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	if (key_id(req, out, err) != 0 || subject_cn(req, out, err) != 0 || sans(req, out, err) != 0)
		goto out;
	if (out->n == 0) {
		cps_fail(err, CPS_E_INVAL, "the request names no hostname (neither a CN nor a DNS SAN)");
		goto out;
	}
	if ((dlen = i2d_X509_REQ(req, &der)) <= 0) {
		cps_ossl_fail(err, "cannot encode the request");
		goto out;
	}
	out->der = der;
	out->len = (size_t)dlen;
	rc = 0;
out:
	X509_REQ_free(req);
	if (rc != 0)
		cps_csr_info_free(out);
	return rc;
}

void cps_csr_info_free(cps_csr_info *info)
{
	for (size_t i = 0; info->names && i < info->n; i++)
		free(info->names[i]);
	free(info->names);
	OPENSSL_free(info->der);
	memset(info, 0, sizeof(*info));
}
