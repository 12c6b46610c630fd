#include "cpssl/crypto/cert.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpssl/crypto/key.h"
#include "cpssl/crypto/internal.h"

/* Bounds for untrusted input: a leaf and its chain are a few kB. */
#define CERT_PEM_MAX (1024 * 1024)
#define CHAIN_MAX 16
#define SERIAL_HEX_MAX 126  /* fits cps_cert_info.serial with a sign */
#define RSA_BITS_MAX 16384  /* OpenSSL's own ceiling */
#define RSA_E_BITS_MAX 64   /* a larger exponent only makes verification slow */

static int refuse_label(const char *label, cps_err *err)
{
	if (strstr(label, "PRIVATE KEY") != NULL)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data holds a private key where only "
				"certificates were expected");
	return cps_fail(err, CPS_E_INVAL,
			"the PEM data holds a '%s' block where a certificate was "
			"expected", label);
}

/* One CERTIFICATE block at OFF: the certificate, and *off past it. */
static X509 *read_cert(const char *pem, size_t len, size_t *off, cps_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem + *off, (int)(len - *off));
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long dlen = 0;
	X509 *x = NULL;

	if (bio == NULL) {
		cps_ossl_fail(err, "cannot read the PEM data");
		return NULL;
	}
	if (PEM_read_bio_ex(bio, &name, &header, &data, &dlen,
			    PEM_FLAG_EAY_COMPATIBLE) != 1) {
		/* some releases free but do not reset these on failure */
		name = header = NULL;
		data = NULL;
	}
	/* a certificate block has no headers, and its DER is all there is */
	if (name != NULL && strcmp(name, "CERTIFICATE") == 0 && header[0] == '\0') {
		p = data;
		x = d2i_X509(NULL, &p, dlen);
		if (x != NULL && p != data + dlen) {
			X509_free(x);
			x = NULL;
		}
	}
	if (x == NULL) {
		ERR_clear_error();
		cps_fail(err, CPS_E_INVAL,
			 "the certificate block at line %zu is truncated or corrupt",
			 cps_pem_line_of(pem, *off));
	} else {
		*off = len - (size_t)BIO_pending(bio);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return x;
}

int cps_cert_parse_pem(const char *pem, size_t len, X509 **leaf,
		       STACK_OF(X509) **chain, cps_err *err)
{
	STACK_OF(X509) *all = NULL;
	char label[80];
	size_t off = 0;
	X509 *x;
	int more, rc = -1;

	*leaf = NULL;
	*chain = NULL;
	if (pem == NULL)
		len = 0;
	if (len > CERT_PEM_MAX)
		return cps_fail(err, CPS_E_INVAL,
				"the PEM data is too large (%zu bytes; the limit "
				"is 1 MiB)", len);
	if (len >= 3 && memcmp(pem, "\xef\xbb\xbf", 3) == 0)
		off = 3; /* a UTF-8 byte order mark, as some editors write */
	all = sk_X509_new_null();
	if (all == NULL) {
		cps_ossl_fail(err, "out of memory reading certificates");
		goto out;
	}
	for (;;) {
		more = cps_pem_block_start(pem, len, &off, label, sizeof(label), "certificates", err);
		if (more < 0)
			goto out;
		if (more == 0)
			break;
		if (strcmp(label, "CERTIFICATE") != 0) {
			refuse_label(label, err);
			goto out;
		}
		if (sk_X509_num(all) >= CHAIN_MAX) {
			cps_fail(err, CPS_E_INVAL,
				 "the PEM data holds more than %d certificates",
				 CHAIN_MAX);
			goto out;
		}
		x = read_cert(pem, len, &off, err);
		if (x == NULL)
			goto out;
		if (sk_X509_push(all, x) <= 0) {
			X509_free(x);
			cps_ossl_fail(err, "out of memory reading certificates");
			goto out;
		}
	}
	if (sk_X509_num(all) == 0) {
		cps_fail(err, CPS_E_INVAL, "the PEM data holds no certificate");
		goto out;
	}
	*leaf = sk_X509_shift(all);
	*chain = all;
	all = NULL;
	rc = 0;
out:
	sk_X509_pop_free(all, X509_free);
	return rc;
}

/* ---- facts about a certificate ------------------------------------------ */

/* Bounded copy of certificate text: control characters become '?', and a
 * cut never ends inside a UTF-8 sequence. */
static void copy_text(char *dst, size_t size, const unsigned char *src,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size; i++) {
		unsigned char c = src[i];

		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < n)
		while (i > 0 && (src[i] & 0xc0) == 0x80)
			i--;
	dst[i] = '\0';
}

/* RFC 2253 on one line, UTF-8 kept as is (not \XX-escaped). */
static int name_line(const X509_NAME *name, char *buf, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	buf[0] = '\0';
	if (bio == NULL)
		return -1;
	if (X509_NAME_print_ex(bio, name, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		if (n >= 0) {
			copy_text(buf, size, (const unsigned char *)data,
				  (size_t)n);
			rc = 0;
		}
	}
	BIO_free(bio);
	return rc;
}

/* The first commonName as UTF-8, or "" when there is none. */
static int name_cn(const X509_NAME *name, char *buf, size_t size)
{
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int n;

	buf[0] = '\0';
	if (i < 0)
		return 0;
	n = ASN1_STRING_to_UTF8(&utf8,
				X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0)
		return -1;
	copy_text(buf, size, utf8, (size_t)n);
	OPENSSL_free(utf8);
	return 0;
}

/* An iPAddress subjectAltName (4 or 16 bytes) as text. */
static int add_ip_san(const ASN1_OCTET_STRING *ip, cps_cert_info *info, cps_err *err)
{
	char text[INET6_ADDRSTRLEN];
	int len = ASN1_STRING_length(ip);

	if ((len != 4 && len != 16) ||
	    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof(text)) == NULL)
		return cps_fail(err, CPS_E_INVAL, "the certificate has a malformed IP address in its subjectAltName");
	if ((info->ip_sans[info->nip_sans] = strdup(text)) == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory reading the names");
	info->nip_sans++;
	return 0;
}

static int get_sans(X509 *cert, cps_cert_info *info, cps_err *err)
{
	GENERAL_NAMES *gens;
	int crit = 0, n, rc = -1;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		if (crit == -1)
			return 0; /* no subjectAltName */
		return cps_fail(err, CPS_E_INVAL,
				"the certificate's subjectAltName extension is %s",
				crit == -2 ? "present twice" : "corrupt");
	}
	n = sk_GENERAL_NAME_num(gens);
	info->sans = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
	if (info->sans == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory reading the names");
		goto out;
	}
	info->ip_sans = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
	if (info->ip_sans == NULL) {
		cps_fail(err, CPS_E_NOMEM, "out of memory reading the names");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		char *s;
		int len;

		if (g->type == GEN_IPADD) {
			if (add_ip_san(g->d.iPAddress, info, err) != 0)
				goto out;
			continue;
		}
		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len > CPS_CRYPTO_NAME_MAX) {
			cps_fail(err, CPS_E_INVAL,
				 "the certificate has an empty or overlong DNS "
				 "name in its subjectAltName");
			goto out;
		}
		s = malloc((size_t)len + 1);
		if (s == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory reading the names");
			goto out;
		}
		for (int j = 0; j < len; j++) {
			if (d[j] <= 0x20 || d[j] >= 0x7f) {
				free(s);
				cps_fail(err, CPS_E_INVAL,
					 "the certificate has a malformed DNS "
					 "name in its subjectAltName");
				goto out;
			}
			s[j] = (char)tolower(d[j]);
		}
		s[len] = '\0';
		info->sans[info->nsans++] = s;
	}
	/* every name, as the certificate's names are listed and compared */
	for (size_t i = 0; i < info->nip_sans; i++)
		if ((info->sans[info->nsans] = strdup(info->ip_sans[i])) == NULL) {
			cps_fail(err, CPS_E_NOMEM, "out of memory reading the names");
			goto out;
		} else {
			info->nsans++;
		}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Upper-case hex without leading zeros ("0" for zero), "-" when negative. */
static int get_serial(X509 *cert, char *buf, size_t size, cps_err *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = NULL;
	const char *digits;
	bool neg;
	int rc = -1;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		cps_ossl_fail(err, "cannot read the certificate's serial number");
		goto out;
	}
	neg = hex[0] == '-';
	digits = hex + neg;
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	if (strlen(digits) > SERIAL_HEX_MAX || strlen(digits) + neg >= size) {
		cps_fail(err, CPS_E_INVAL,
			 "the certificate's serial number is too long");
		goto out;
	}
	snprintf(buf, size, "%s%s", neg ? "-" : "", digits);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

static int get_time(const ASN1_TIME *t, const char *what, time_t *out,
		    cps_err *err)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return cps_fail(err, CPS_E_INVAL,
				"the certificate's %s date is malformed", what);
	}
	*out = timegm(&tm);
	return 0;
}

/* Whether checking a signature with PUB takes bounded time: OpenSSL caps
 * the RSA modulus, but a small modulus with a huge exponent is slow. */
static bool key_bounded(EVP_PKEY *pub)
{
	BIGNUM *e = NULL;
	bool ok;

	if (!EVP_PKEY_is_a(pub, "RSA") && !EVP_PKEY_is_a(pub, "RSA-PSS"))
		return true;
	if (EVP_PKEY_get_bits(pub) > RSA_BITS_MAX ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		return false;
	ok = BN_num_bits(e) <= RSA_E_BITS_MAX;
	BN_free(e);
	return ok;
}

int cps_cert_info_get(X509 *cert, cps_cert_info *info, cps_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_PKEY *pub;

	memset(info, 0, sizeof(*info));
	if (cert == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "no certificate to read");
	if (get_sans(cert, info, err) != 0)
		goto fail;
	if (name_cn(X509_get_subject_name(cert), info->subject_cn,
		    sizeof(info->subject_cn)) != 0 ||
	    name_cn(X509_get_issuer_name(cert), info->issuer_cn,
		    sizeof(info->issuer_cn)) != 0 ||
	    name_line(X509_get_issuer_name(cert), info->issuer,
		      sizeof(info->issuer)) != 0) {
		ERR_clear_error();
		cps_fail(err, CPS_E_INVAL,
			 "the certificate's subject or issuer name is malformed");
		goto fail;
	}
	if (get_serial(cert, info->serial, sizeof(info->serial), err) != 0)
		goto fail;
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		cps_ossl_fail(err, "cannot compute the certificate's fingerprint");
		goto fail;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		info->fingerprint[3 * i] = hex[md[i] >> 4];
		info->fingerprint[3 * i + 1] = hex[md[i] & 0xf];
		info->fingerprint[3 * i + 2] = i + 1 < mdlen ? ':' : '\0';
	}
	if (get_time(X509_get0_notBefore(cert), "start", &info->not_before,
		     err) != 0 ||
	    get_time(X509_get0_notAfter(cert), "expiry", &info->not_after,
		     err) != 0)
		goto fail;

	pub = X509_get0_pubkey(cert);
	if (pub == NULL ||
	    cps_key_describe(pub, info->key_type, sizeof(info->key_type)) != 0)
		snprintf(info->key_type, sizeof(info->key_type), "unknown");
	info->self_signed =
		X509_NAME_cmp(X509_get_subject_name(cert),
			      X509_get_issuer_name(cert)) == 0 &&
		pub != NULL && key_bounded(pub) && X509_verify(cert, pub) == 1;
	info->is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
	ERR_clear_error();
	return 0;
fail:
	cps_cert_info_free(info);
	return -1;
}

void cps_cert_info_free(cps_cert_info *info)
{
	if (info == NULL)
		return;
	for (size_t i = 0; i < info->nsans; i++)
		free(info->sans[i]);
	free(info->sans);
	for (size_t i = 0; i < info->nip_sans; i++)
		free(info->ip_sans[i]);
	free(info->ip_sans);
	info->sans = info->ip_sans = NULL;
	info->nsans = info->nip_sans = 0;
}

/* ---- key match and chain verification ----------------------------------- */

int cps_cert_key_match(X509 *cert, EVP_PKEY *key, cps_err *err)
{
	EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
	char kd[32], cd[32];

	if (pub == NULL) {
		ERR_clear_error();
		return cps_fail(err, CPS_E_INVAL,
				"the certificate's public key cannot be read");
	}
	if (key != NULL && EVP_PKEY_eq(pub, key) == 1)
		return 0;
	ERR_clear_error();
	if (key != NULL && cps_key_describe(key, kd, sizeof(kd)) == 0 &&
	    cps_key_describe(pub, cd, sizeof(cd)) == 0 && strcmp(kd, cd) != 0)
		return cps_fail(err, CPS_E_INVAL,
				"the private key does not match the certificate "
				"(the key is %s, the certificate's key is %s)",
				kd, cd);
	return cps_fail(err, CPS_E_INVAL,
			"the private key does not match the certificate");
}

static X509_STORE *load_roots(const char *roots, cps_err *err)
{
	X509_STORE *store = X509_STORE_new();
	struct stat st;

	if (store == NULL) {
		cps_ossl_fail(err, "out of memory loading trusted roots");
		return NULL;
	}
	if (roots == NULL) {
		if (X509_STORE_set_default_paths(store) != 1) {
			cps_ossl_fail(err, "cannot load the system's trusted roots");
			goto fail;
		}
		return store;
	}
	if (stat(roots, &st) != 0) {
		cps_fail(err, errno == ENOENT ? CPS_E_NOTFOUND : CPS_E_IO,
			 "cannot read the trusted roots %s: %s", roots,
			 strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cps_fail(err, CPS_E_INVAL, "the trusted roots %s are not a file",
			 roots);
		goto fail;
	}
	if (X509_STORE_load_file(store, roots) != 1) {
		cps_ossl_fail(err, "the trusted roots %s hold no usable certificate",
			  roots);
		goto fail;
	}
	return store;
fail:
	X509_STORE_free(store);
	return NULL;
}

int cps_cert_verify_chain(X509 *leaf, STACK_OF(X509) *chain, const char *roots,
			  time_t at, cps_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *bad;
	char subject[512];
	int rc = -1, ok, code, depth;

	if (leaf == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "no certificate to verify");
	store = load_roots(roots, err);
	if (store == NULL)
		goto out;
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
		cps_ossl_fail(err, "cannot set up certificate verification");
		goto out;
	}
	if (at != 0)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) {
		cps_ossl_fail(err, "cannot set up certificate verification");
		goto out;
	}
	ok = X509_verify_cert(ctx);
	if (ok == 1) {
		rc = 0;
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	if (ok < 0 || code == X509_V_OK) {
		cps_ossl_fail(err, "cannot verify the certificate chain");
		goto out;
	}
	depth = X509_STORE_CTX_get_error_depth(ctx);
	bad = X509_STORE_CTX_get_current_cert(ctx);
	if (bad == NULL && depth == 0)
		bad = leaf;
	if (bad == NULL || name_line(X509_get_subject_name(bad), subject,
				     sizeof(subject)) != 0)
		snprintf(subject, sizeof(subject), "unknown subject");
	cps_fail(err, CPS_E_INVAL,
		 "the certificate chain does not verify: %s (certificate at "
		 "depth %d, subject \"%s\")",
		 X509_verify_cert_error_string(code), depth, subject);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* ---- output ------------------------------------------------------------- */

static int bio_take(BIO *bio, char **pem, size_t *len, cps_err *err)
{
	char *data, *copy;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0)
		return cps_fail(err, CPS_E_INTERNAL, "cannot read a memory buffer");
	copy = malloc((size_t)n + 1);
	if (copy == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory writing PEM");
	if (n > 0) /* an empty chain has no buffer at all */
		memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem = copy;
	if (len)
		*len = (size_t)n;
	return 0;
}

static int certs_to_pem(X509 *cert, STACK_OF(X509) *chain, char **pem,
			size_t *len, cps_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = -1;

	*pem = NULL;
	if (len)
		*len = 0;
	if (bio == NULL) {
		cps_ossl_fail(err, "out of memory writing PEM");
		goto out;
	}
	if (cert != NULL && PEM_write_bio_X509(bio, cert) != 1) {
		cps_ossl_fail(err, "cannot write the certificate as PEM");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(chain); i++) {
		if (PEM_write_bio_X509(bio, sk_X509_value(chain, i)) != 1) {
			cps_ossl_fail(err, "cannot write certificate %d of the chain "
				  "as PEM", i + 1);
			goto out;
		}
	}
	rc = bio_take(bio, pem, len, err);
out:
	BIO_free(bio);
	return rc;
}

int cps_cert_to_pem(X509 *cert, char **pem, size_t *len, cps_err *err)
{
	if (cert == NULL) {
		*pem = NULL;
		return cps_fail(err, CPS_E_INTERNAL, "no certificate to write");
	}
	return certs_to_pem(cert, NULL, pem, len, err);
}

int cps_cert_chain_to_pem(STACK_OF(X509) *chain, char **pem, size_t *len,
			  cps_err *err)
{
	return certs_to_pem(NULL, chain, pem, len, err);
}

int cps_cert_to_der(X509 *cert, unsigned char **der, size_t *len,
		    cps_err *err)
{
	unsigned char *out = NULL;
	int n;

	*der = NULL;
	if (len)
		*len = 0;
	if (cert == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "no certificate to encode");
	n = i2d_X509(cert, &out);
	if (n <= 0)
		return cps_ossl_fail(err, "cannot encode the certificate");
	*der = out;
	if (len)
		*len = (size_t)n;
	return 0;
}
