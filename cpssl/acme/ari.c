#include "cpssl/acme/ari.h"

#include <ctype.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpssl/core/b64.h"
#include "cpssl/core/log.h"

#define MAX_EXPLANATION 512

int cps_acme_ari_cert_id(X509 *cert, char **out, cps_err *err)
{
	const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char *der = NULL;
	char *a = NULL, *b = NULL;
	size_t hdr;
	int len;

	*out = NULL;
	if (kid == NULL || ASN1_STRING_length(kid) <= 0)
		return cps_fail(err, CPS_E_INVAL,
				"the certificate has no authority key identifier, so its CA cannot be "
				"asked for renewal information about it");
	/* the INTEGER's DER without its tag and length: the content octets,
	 * with the leading zero a positive serial with its top bit set needs */
	len = serial ? i2d_ASN1_INTEGER(serial, &der) : -1;
	if (len < 3 || der[0] != V_ASN1_INTEGER) {
		OPENSSL_free(der);
		return cps_fail(err, CPS_E_CRYPTO, "cannot encode the certificate's serial number");
	}
	hdr = der[1] < 0x80 ? 2 : 2 + (size_t)(der[1] & 0x7f);
	if (hdr >= (size_t)len) {
		OPENSSL_free(der);
		return cps_fail(err, CPS_E_CRYPTO, "cannot encode the certificate's serial number");
	}
	a = cps_b64url_encode(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
	b = cps_b64url_encode(der + hdr, (size_t)len - hdr);
	OPENSSL_free(der);
	if (a && b && asprintf(out, "%s.%s", a, b) < 0)
		*out = NULL;
	free(a);
	free(b);
	return *out ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

/* N digits at *P into *V. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

static bool expect(const char **p, const char *chars)
{
	if (**p == '\0' || strchr(chars, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

int cps_acme_ari_time(const char *s, long long *out)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (s == NULL || !digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
	    !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt ") || !digits(&p, 2, &h) ||
	    !expect(&p, ":") || !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || !expect(&p, ":") || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -1;
	*out = (long long)t - sign * (oh * 3600LL + om * 60LL);
	return 0;
}

void cps_acme_ari_free(cps_acme_ari *a)
{
	if (a == NULL)
		return;
	free(a->explanation);
	a->explanation = NULL;
	a->start = a->end = 0;
}

static int invalid(cps_err *err, const char *why)
{
	return cps_fail(err, CPS_E_PROTO, "the CA's renewal information is not valid: %s", why);
}

int cps_acme_ari_parse(const char *json, cps_acme_ari *out, cps_err *err)
{
	json_object *o = json ? json_tokener_parse(json) : NULL, *w;
	const char *url;
	int rc = -1;

	free(out->explanation);
	out->explanation = NULL;
	out->start = out->end = 0;
	if (o == NULL || !json_object_is_type(o, json_type_object))
		invalid(err, "not a JSON object");
	else if (!json_object_object_get_ex(o, "suggestedWindow", &w) ||
		 !json_object_is_type(w, json_type_object))
		invalid(err, "no suggestedWindow");
	else if (cps_acme_ari_time(cps_acme_str(w, "start"), &out->start) != 0 ||
		 cps_acme_ari_time(cps_acme_str(w, "end"), &out->end) != 0)
		invalid(err, "the window's start or end is not an RFC 3339 time");
	else if (out->end <= out->start)
		invalid(err, "the window ends before it starts");
	else
		rc = 0;
	if (rc == 0 && (url = cps_acme_str(o, "explanationURL")) != NULL && *url) {
		out->explanation = strndup(url, MAX_EXPLANATION);
		if (out->explanation == NULL)
			rc = cps_fail(err, CPS_E_NOMEM, "out of memory");
		else
			cps_text_clean(out->explanation);
	}
	if (rc != 0)
		out->start = out->end = 0;
	json_object_put(o);
	return rc;
}

int cps_acme_ari_offered(cps_acme *c, bool *offered, cps_err *err)
{
	*offered = false;
	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	*offered = cps_acme_endpoint(c, "renewalInfo") != NULL;
	return 0;
}

/* Two base64url parts joined by one '.': safe as the last part of a URL. */
static bool cert_id_valid(const char *id)
{
	const char *dot = id ? strchr(id, '.') : NULL;
	size_t n;

	if (dot == NULL || dot == id || dot[1] == '\0' || strchr(dot + 1, '.') || strlen(id) > 512)
		return false;
	n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	return id[n] == '\0';
}

int cps_acme_ari_get(cps_acme *c, const char *cert_id, cps_acme_ari *out, cps_err *err)
{
	const char *base;
	char *url = NULL, what[160];
	cps_acme_resp r;
	size_t n;
	int rc = -1;

	out->retry_after = -1;
	if (!cert_id_valid(cert_id))
		return cps_fail(err, CPS_E_INVAL, "'%.100s' is not a certificate identifier (CertID)",
				cert_id ? cert_id : "");
	if (cps_acme_load_directory(c, err) != 0)
		return -1;
	if ((base = cps_acme_endpoint(c, "renewalInfo")) == NULL)
		return cps_fail(err, CPS_E_NOTFOUND, "the CA offers no renewal information (no renewalInfo "
				"in its directory)");
	n = strlen(base);
	if (asprintf(&url, "%s%s%s", base, n && base[n - 1] == '/' ? "" : "/", cert_id) < 0)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	snprintf(what, sizeof(what), "the renewal information of certificate %.100s", cert_id);
	if (cps_acme_get(c, url, what, &r, err) != 0) {
		free(url);
		return -1;
	}
	free(url);
	out->retry_after = cps_http_retry_after(r.http.retry_after, time(NULL));
	if (r.status == 200)
		rc = cps_acme_ari_parse(r.http.body, out, err);
	else if (r.status == 404)
		cps_fail(err, CPS_E_NOTFOUND, "the CA does not know certificate %.100s (HTTP 404)", cert_id);
	else
		cps_fail(err, r.status >= 500 ? CPS_E_NET : CPS_E_CA,
			 "the CA answered the renewal information of certificate %.100s with HTTP %ld",
			 cert_id, r.status);
	cps_acme_resp_free(&r);
	return rc;
}
