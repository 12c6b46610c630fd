/* Certificate requests: DER that parses back, a SHA-256 signature that
 * verifies with the request's own key, every name as a SAN in order, and the
 * CN rule (first name when it fits 64 characters, else an empty subject). */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cpssl/crypto/csr.h"
#include "cpssl/crypto/key.h"
#include "unit.h"

static X509_REQ *parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);

	if (req != NULL && p != der + len) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

/* The request's dNSName SANs and iPAddress SANs ("IP:" and the address)
 * joined by ',' (and whether the extension is critical), or NULL when there
 * is no SAN extension. */
static char *sans_of(X509_REQ *req, int *critical)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	char *out = NULL;
	size_t used = 0;

	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name) {
			gens = X509V3_EXT_d2i(e);
			*critical = X509_EXTENSION_get_critical(e);
		}
	}
	if (gens != NULL) {
		out = calloc(4096, 1);
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

			if (g->type == GEN_IPADD) {
				char ip[64] = "";
				int n = ASN1_STRING_length(g->d.iPAddress);

				inet_ntop(n == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(g->d.iPAddress),
					  ip, sizeof(ip));
				used += (size_t)snprintf(out + used, 4096 - used, "%sIP:%s/%d", used ? "," : "",
							 ip, n);
				continue;
			}
			if (g->type != GEN_DNS)
				continue;
			used += (size_t)snprintf(out + used, 4096 - used, "%s%.*s",
						 used ? "," : "",
						 ASN1_STRING_length(g->d.dNSName),
						 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		}
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return out;
}

static void subject_cn(X509_REQ *req, char *buf, size_t len)
{
	X509_NAME *n = X509_REQ_get_subject_name(req);

	buf[0] = '\0';
	X509_NAME_get_text_by_NID(n, NID_commonName, buf, (int)len);
}

static void test_request(cps_key_type type, int sig_nid)
{
	const char *const names[] = { "example.com", "*.example.com", "www.example.com",
				      "a.b.example.com" };
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	EVP_PKEY *key = NULL;
	char cn[256], *sans, line[120];
	int crit = -1;
	cps_err err;

	cps_key_generate(type, &key, &err);
	snprintf(line, sizeof(line), "%s: a request is created",
		 cps_key_type_name(type));
	CHECK(cps_csr_create(key, names, 4, &der, &len, &err) == 0 && der && len > 0, line);
	req = parse(der, len);
	CHECK(req != NULL, "  its DER parses back, with nothing left over");
	CHECK(req && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1,
	      "  its signature verifies with its own key");
	CHECK(req && EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) == 1,
	      "  that key is ours");
	CHECK_INT(req ? X509_REQ_get_signature_nid(req) : 0, sig_nid, "  signed with SHA-256");
	CHECK_INT(req ? X509_REQ_get_version(req) : -1, 0, "  version 1 (0)");
	sans = req ? sans_of(req, &crit) : NULL;
	CHECK_STR(sans, "example.com,*.example.com,www.example.com,a.b.example.com",
		  "  the SANs are exactly the names, in order, wildcard included");
	CHECK_INT(crit, 0, "  the SAN extension is not critical (the subject has a CN)");
	free(sans);
	if (req)
		subject_cn(req, cn, sizeof(cn));
	CHECK_STR(req ? cn : NULL, "example.com", "  the CN is the first name");
	CHECK_INT(req ? X509_NAME_entry_count(X509_REQ_get_subject_name(req)) : -1, 1,
		  "  and the subject holds nothing else");

	/* a flipped byte in the signature must fail verification: the check
	 * above is not vacuous */
	if (req) {
		X509_REQ *bad;

		der[len - 5] ^= 0x01;
		bad = parse(der, len);
		CHECK(bad == NULL || X509_REQ_verify(bad, X509_REQ_get0_pubkey(bad)) != 1,
		      "  a tampered request does not verify");
		X509_REQ_free(bad);
	}
	X509_REQ_free(req);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void test_cn_rule(void)
{
	char long64[65], long65[66], cn[256], *sans;
	const char *names[2];
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;
	EVP_PKEY *key = NULL;
	int crit = -1;
	cps_err err;

	/* 64 characters: "aaa…a.example.com" */
	memset(long64, 'a', sizeof(long64));
	memcpy(long64 + 64 - 12, ".example.com", 12);
	long64[64] = '\0';
	memset(long65, 'a', sizeof(long65));
	memcpy(long65 + 65 - 12, ".example.com", 12);
	long65[65] = '\0';
	cps_key_generate(CPS_KEY_EC256, &key, &err);

	names[0] = long64;
	names[1] = "example.com";
	CHECK(cps_csr_create(key, names, 2, &der, &len, &err) == 0, "a 64-character first name");
	req = parse(der, len);
	if (req)
		subject_cn(req, cn, sizeof(cn));
	CHECK_STR(req ? cn : NULL, long64, "  is the CN");
	X509_REQ_free(req);
	OPENSSL_free(der);

	names[0] = long65;
	CHECK(cps_csr_create(key, names, 2, &der, &len, &err) == 0, "a 65-character first name");
	req = parse(der, len);
	CHECK(req && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1, "  the request verifies");
	CHECK_INT(req ? X509_NAME_entry_count(X509_REQ_get_subject_name(req)) : -1, 0,
		  "  the subject is empty (no CN)");
	sans = req ? sans_of(req, &crit) : NULL;
	CHECK(sans && strncmp(sans, long65, 65) == 0 && strcmp(sans + 65, ",example.com") == 0,
	      "  the long name is still the first SAN");
	CHECK_INT(crit, 1, "  and the SAN is critical, as RFC 5280 wants with an empty subject");
	free(sans);
	X509_REQ_free(req);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

/* RFC 8738: an address is an iPAddress SAN (4 or 16 octets), never a
 * dNSName; the CN is the first hostname, and with addresses only the subject
 * is empty and the SAN critical (Let's Encrypt puts no address in a CN). */
static void test_ip_names(void)
{
	const char *mixed[] = { "192.0.2.1", "a.example", "2001:db8::1" };
	const char *only[] = { "2001:db8::1" };
	unsigned char *der = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	X509_REQ *req;
	char cn[256], *sans;
	int crit = -1;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	CHECK(cps_csr_create(key, mixed, 3, &der, &len, &err) == 0, "a request for two addresses and a hostname");
	req = parse(der, len);
	sans = req ? sans_of(req, &crit) : NULL;
	CHECK_STR(sans, "IP:192.0.2.1/4,a.example,IP:2001:db8::1/16",
		  "  each address an iPAddress SAN of 4 or 16 octets, in order");
	if (req)
		subject_cn(req, cn, sizeof(cn));
	CHECK_STR(req ? cn : NULL, "a.example", "  the CN is the hostname, not the first address");
	CHECK_INT(crit, 0, "  the SAN is not critical beside a subject");
	free(sans);
	X509_REQ_free(req);
	OPENSSL_free(der);
	CHECK(cps_csr_create(key, only, 1, &der, &len, &err) == 0, "a request for an address alone");
	req = parse(der, len);
	CHECK_INT(req ? X509_NAME_entry_count(X509_REQ_get_subject_name(req)) : -1, 0,
		  "  has an empty subject");
	sans = req ? sans_of(req, &crit) : NULL;
	CHECK_STR(sans, "IP:2001:db8::1/16", "  the address in the SAN");
	CHECK_INT(crit, 1, "  which is critical");
	CHECK(req && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1, "  the request verifies");
	free(sans);
	X509_REQ_free(req);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void test_refusals(void)
{
	const char *const good[] = { "example.com" };
	const char *const empty[] = { "example.com", "" };
	const char *const spaced[] = { "exa mple.com" };
	unsigned char *der = (unsigned char *)"x";
	size_t len = 1;
	EVP_PKEY *key = NULL, *ed;
	cps_err err;

	cps_key_generate(CPS_KEY_EC256, &key, &err);
	CHECK(cps_csr_create(key, good, 0, &der, &len, &err) == -1 && der == NULL,
	      "no names is refused");
	CHECK_HAS(err.msg, "at least one name", "  saying so");
	CHECK(cps_csr_create(key, empty, 2, &der, &len, &err) == -1, "an empty name is refused");
	CHECK_HAS(err.msg, "name 2", "  naming which");
	CHECK(cps_csr_create(key, spaced, 1, &der, &len, &err) == -1,
	      "a name with a space is refused");
	CHECK(cps_csr_create(NULL, good, 1, &der, &len, &err) == -1, "no key is refused");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CHECK(cps_csr_create(ed, good, 1, &der, &len, &err) == -1 && der == NULL,
	      "an Ed25519 key cannot sign with SHA-256");
	CHECK_HAS(err.msg, "cannot sign the certificate request", "  saying so");
	EVP_PKEY_free(ed);
	EVP_PKEY_free(key);
}

int main(void)
{
	test_request(CPS_KEY_EC256, NID_ecdsa_with_SHA256);
	test_request(CPS_KEY_EC384, NID_ecdsa_with_SHA256);
	test_request(CPS_KEY_RSA2048, NID_sha256WithRSAEncryption);
	test_cn_rule();
	test_ip_names();
	test_refusals();
	return unit_done();
}
