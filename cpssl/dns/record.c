/* Record types, values and names (record.h), and their wire form with
 * ldns: the records an update carries and the canonical value of a record
 * a server answers. */
#include "cpssl/dns/record.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/dns/internal.h"

#define CAA_TAG_MAX   15  /* RFC 8659 4.1 */
#define CAA_VALUE_MAX 255

static const struct {
	const char *name;
	ldns_rr_type ldns;
} types[CPS_RR__COUNT] = {
	[CPS_RR_A] = { "A", LDNS_RR_TYPE_A },
	[CPS_RR_AAAA] = { "AAAA", LDNS_RR_TYPE_AAAA },
	[CPS_RR_TXT] = { "TXT", LDNS_RR_TYPE_TXT },
	[CPS_RR_CNAME] = { "CNAME", LDNS_RR_TYPE_CNAME },
	[CPS_RR_MX] = { "MX", LDNS_RR_TYPE_MX },
	[CPS_RR_CAA] = { "CAA", LDNS_RR_TYPE_CAA },
};

const char *cps_rrtype_name(cps_rrtype t)
{
	return (unsigned)t < CPS_RR__COUNT ? types[t].name : "?";
}

ldns_rr_type cps_rrtype_ldns(cps_rrtype t)
{
	return types[t].ldns;
}

int cps_rrtype_parse(const char *s, cps_rrtype *out, cps_err *err)
{
	for (int t = 0; t < CPS_RR__COUNT; t++)
		if (strcasecmp(s, types[t].name) == 0) {
			*out = (cps_rrtype)t;
			return 0;
		}
	return cps_fail(err, CPS_E_INVAL,
			"'%.32s' is not a record type cpssl manages: use A, AAAA, TXT, CNAME, MX or CAA", s);
}

void cps_dns_records_free(cps_dns_record *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].value);
	free(v);
}

/* One label of an owner or target name: letters, digits, '-' and '_'
 * ('_' for names such as _acme-challenge and _dmarc), no '-' at either
 * end. */
static bool label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* A sequence of labels, '*' allowed as the first when WILD, written in
 * lower case to OUT (no trailing dot). MINLABELS: at least that many. */
static int labels_check(const char *in, bool wild, size_t minlabels,
			char out[CPS_HOSTNAME_MAX + 1], const char *what,
			cps_err *err)
{
	size_t len = strlen(in), nlabels = 0;
	const char *p = in;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > CPS_HOSTNAME_MAX)
		return cps_fail(err, CPS_E_INVAL, "%s '%.64s' is %s", what, in,
				len ? "longer than 253 characters" : "empty");
	while (p < in + len) {
		const char *dot = memchr(p, '.', (size_t)(in + len - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(in + len - p);

		if (!(wild && nlabels == 0 && l == 1 && *p == '*') && !label_ok(p, l))
			return cps_fail(err, CPS_E_INVAL,
					"%s '%.64s' is not a valid name: each label is 1-63 letters, digits, "
					"'-' or '_'%s, without '-' at either end",
					what, in, wild ? " ('*' only as the whole first label)" : "");
		nlabels++;
		p += l + 1;
	}
	if (nlabels < minlabels)
		return cps_fail(err, CPS_E_INVAL, "%s '%.64s' is not a fully qualified name (e.g. host.example.com)",
				what, in);
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
	return 0;
}

/* A host name a CNAME or MX points to. */
static int target_check(const char *in, char out[CPS_HOSTNAME_MAX + 1],
			const char *what, cps_err *err)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, in, buf) == 1 || inet_pton(AF_INET6, in, buf) == 1)
		return cps_fail(err, CPS_E_INVAL, "%s '%.64s' is an address; it must be a host name", what, in);
	return labels_check(in, false, 2, out, what, err);
}

int cps_dns_record_name(const char *zone, const char *sub,
			char zone_out[CPS_HOSTNAME_MAX + 1],
			char name[CPS_HOSTNAME_MAX + 1], cps_err *err)
{
	char rel[CPS_HOSTNAME_MAX + 1];

	if (cps_hostname_normalize(zone, 0, zone_out, err) != 0)
		return cps_err_prefix(err, "zone %.64s", zone);
	if (*sub == '\0' || strcmp(sub, "@") == 0) {
		snprintf(name, CPS_HOSTNAME_MAX + 1, "%s", zone_out);
		return 0;
	}
	if (sub[strlen(sub) - 1] == '.')
		return cps_fail(err, CPS_E_INVAL,
				"the subdomain '%.64s' ends in '.': give it relative to the zone (e.g. 'www', "
				"'_acme-challenge'; '' for the zone itself)", sub);
	if (labels_check(sub, true, 1, rel, "the subdomain", err) != 0)
		return -1;
	if (strlen(rel) + 1 + strlen(zone_out) > CPS_HOSTNAME_MAX)
		return cps_fail(err, CPS_E_INVAL, "%s.%s is longer than 253 characters", rel, zone_out);
	snprintf(name, CPS_HOSTNAME_MAX + 1, "%s.%s", rel, zone_out);
	return 0;
}

/* "10 mail.example.com" → PRIO and HOST. */
static int mx_parse(const char *v, long *prio, char host[CPS_HOSTNAME_MAX + 1],
		    cps_err *err)
{
	char *end;

	errno = 0;
	*prio = isdigit((unsigned char)*v) ? strtol(v, &end, 10) : -1;
	if (*prio < 0 || *prio > 65535 || errno || !isspace((unsigned char)*end))
		return cps_fail(err, CPS_E_INVAL,
				"'%.64s' is not an MX value: give PRIORITY HOST, e.g. '10 mail.example.com' "
				"(priority 0-65535)", v);
	while (isspace((unsigned char)*end))
		end++;
	if (strpbrk(end, " \t"))
		return cps_fail(err, CPS_E_INVAL, "'%.64s' is not an MX value: give PRIORITY HOST, nothing more", v);
	return target_check(end, host, "the MX host", err);
}

/* "0 issue \"letsencrypt.org\"" (or an unquoted value without spaces) →
 * FLAGS, TAG (lower case) and the value's bytes (*VLEN of them). */
static int caa_parse(const char *v, long *flags, char tag[CAA_TAG_MAX + 1],
		     char val[CAA_VALUE_MAX + 1], size_t *vlen, cps_err *err)
{
	static const char usage[] = "give FLAGS TAG VALUE, e.g. '0 issue \"letsencrypt.org\"'";
	const char *p = v;
	char *end;
	size_t n = 0;

	errno = 0;
	*flags = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
	if (*flags < 0 || *flags > 255 || errno || !isspace((unsigned char)*end))
		return cps_fail(err, CPS_E_INVAL, "'%.64s' is not a CAA value: %s (flags 0-255)", v, usage);
	for (p = end; isspace((unsigned char)*p); p++)
		;
	while (isalnum((unsigned char)p[n]) && n < CAA_TAG_MAX) {
		tag[n] = (char)tolower((unsigned char)p[n]);
		n++;
	}
	tag[n] = '\0';
	if (n == 0 || !isspace((unsigned char)p[n]))
		return cps_fail(err, CPS_E_INVAL,
				"'%.64s' is not a CAA value: %s (the tag is 1-15 letters or digits)", v, usage);
	for (p += n; isspace((unsigned char)*p); p++)
		;
	*vlen = 0;
	if (*p != '"') {
		for (; *p && *vlen < CAA_VALUE_MAX; p++) {
			if (*p == ' ' || *p == '\t' || *p == '\\' || *p == '"')
				return cps_fail(err, CPS_E_INVAL,
						"'%.64s' is not a CAA value: quote a value that holds spaces", v);
			val[(*vlen)++] = *p;
		}
	} else {
		for (p++; *p && *p != '"' && *vlen < CAA_VALUE_MAX; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			val[(*vlen)++] = *p;
		}
		if (*p != '"' || p[1] != '\0')
			return cps_fail(err, CPS_E_INVAL,
					"'%.64s' is not a CAA value: the quoted value must end the value "
					"(at most %d characters; \\\" and \\\\ inside)", v, CAA_VALUE_MAX);
		p++;
	}
	if (*p != '\0')
		return cps_fail(err, CPS_E_INVAL, "'%.64s' is not a CAA value: its value is longer than %d characters",
				v, CAA_VALUE_MAX);
	val[*vlen] = '\0';
	return 0;
}

/* FLAGS TAG "VALUE" with '"' and '\' escaped. */
static char *caa_format(long flags, const char *tag, const char *val, size_t vlen)
{
	char *out = malloc(32 + CAA_TAG_MAX + 2 * vlen), *o;

	if (out == NULL)
		return NULL;
	o = out + sprintf(out, "%ld %s \"", flags, tag);
	for (size_t i = 0; i < vlen; i++) {
		if (val[i] == '"' || val[i] == '\\')
			*o++ = '\\';
		*o++ = val[i];
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

static int printable_check(const char *v, size_t max, const char *what, cps_err *err)
{
	size_t len = strlen(v);

	if (len == 0)
		return cps_fail(err, CPS_E_INVAL, "%s cannot be empty", what);
	if (len > max)
		return cps_fail(err, CPS_E_INVAL,
				"%s is %zu bytes long, more than the %zu cpssl writes in one record", what, len, max);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return cps_fail(err, CPS_E_INVAL,
					"%s holds a control character or a byte outside printable ASCII "
					"(at byte %zu)", what, i + 1);
	return 0;
}

static int address_canonical(int af, const char *v, char **out, cps_err *err)
{
	unsigned char buf[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(af, v, buf) != 1)
		return af == AF_INET
		       ? cps_fail(err, CPS_E_INVAL,
				  "'%.64s' is not an IPv4 address (an A record holds one, e.g. 192.0.2.10)", v)
		       : cps_fail(err, CPS_E_INVAL,
				  "'%.64s' is not an IPv6 address (an AAAA record holds one, e.g. 2001:db8::10)", v);
	inet_ntop(af, buf, text, sizeof(text));
	*out = strdup(text);
	return 0;
}

int cps_dns_value_canonical(cps_rrtype t, const char *v, char **out, cps_err *err)
{
	char host[CPS_HOSTNAME_MAX + 1], tag[CAA_TAG_MAX + 1], val[CAA_VALUE_MAX + 1];
	size_t vlen;
	long n;

	*out = NULL;
	switch (t) {
	case CPS_RR_A:
		return address_canonical(AF_INET, v, out, err);
	case CPS_RR_AAAA:
		return address_canonical(AF_INET6, v, out, err);
	case CPS_RR_TXT:
		if (printable_check(v, CPS_DNS_TXT_MAX, "the TXT value", err) != 0)
			return -1;
		*out = strdup(v);
		break;
	case CPS_RR_CNAME:
		if (target_check(v, host, "the CNAME target", err) != 0)
			return -1;
		*out = strdup(host);
		break;
	case CPS_RR_MX:
		if (mx_parse(v, &n, host, err) != 0)
			return -1;
		if (asprintf(out, "%ld %s", n, host) < 0)
			*out = NULL;
		break;
	case CPS_RR_CAA:
		if (printable_check(v, CAA_VALUE_MAX + 32, "the CAA value", err) != 0 ||
		    caa_parse(v, &n, tag, val, &vlen, err) != 0)
			return -1;
		*out = caa_format(n, tag, val, vlen);
		break;
	default:
		return cps_fail(err, CPS_E_INTERNAL, "record type %d is not handled", (int)t);
	}
	return *out ? 0 : cps_fail(err, CPS_E_NOMEM, "out of memory");
}

/* ---- wire form ---------------------------------------------------------- */

static ldns_rr *rr_start(const char *name, ldns_rr_type type, ldns_rr_class cls,
			 uint32_t ttl, cps_err *err)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(name);
	ldns_rr *rr;

	if (owner == NULL) {
		cps_fail(err, CPS_E_INVAL, "'%.253s' is not a valid DNS name", name);
		return NULL;
	}
	rr = ldns_rr_new();
	if (rr == NULL) {
		ldns_rdf_deep_free(owner);
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, ttl);
	return rr;
}

/* Push RD onto RR; on failure both are freed. */
static int push(ldns_rr *rr, ldns_rdf *rd, cps_err *err)
{
	if (rd == NULL || !ldns_rr_push_rdf(rr, rd)) {
		ldns_rdf_deep_free(rd);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}

ldns_rr *cps_dns_txt_rr(const char *name, const char *value, ldns_rr_class cls,
			uint32_t ttl, cps_err *err)
{
	size_t len = strlen(value), off = 0;
	ldns_rr *rr;

	if (len > CPS_DNS_TXT_MAX) {
		cps_fail(err, CPS_E_INVAL, "the TXT value for %.253s is too long (%zu bytes)", name, len);
		return NULL;
	}
	if ((rr = rr_start(name, LDNS_RR_TYPE_TXT, cls, ttl, err)) == NULL)
		return NULL;
	do {
		uint8_t buf[256];
		size_t n = len - off > 255 ? 255 : len - off;

		buf[0] = (uint8_t)n;
		memcpy(buf + 1, value + off, n);
		if (push(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, buf), err) != 0) {
			ldns_rr_free(rr);
			return NULL;
		}
		off += n;
	} while (off < len);
	return rr;
}

/* "host.example" → its absolute dname rdf. */
static ldns_rdf *dname_rdf(const char *host)
{
	char abs[CPS_HOSTNAME_MAX + 2];

	snprintf(abs, sizeof(abs), "%s.", host);
	return ldns_dname_new_frm_str(abs);
}

/* The data of a canonical VALUE of type T onto RR. */
static int push_data(ldns_rr *rr, cps_rrtype t, const char *value, cps_err *err)
{
	char host[CPS_HOSTNAME_MAX + 1], tag[CAA_TAG_MAX + 1], val[CAA_VALUE_MAX + 1];
	size_t vlen;
	long n;

	switch (t) {
	case CPS_RR_A:
		return push(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, value), err);
	case CPS_RR_AAAA:
		return push(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, value), err);
	case CPS_RR_CNAME:
		return push(rr, dname_rdf(value), err);
	case CPS_RR_MX:
		if (mx_parse(value, &n, host, err) != 0 ||
		    push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)n), err) != 0)
			return -1;
		return push(rr, dname_rdf(host), err);
	case CPS_RR_CAA:
		if (caa_parse(value, &n, tag, val, &vlen, err) != 0 ||
		    push(rr, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, (uint8_t)n), err) != 0 ||
		    push(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_TAG, tag), err) != 0)
			return -1;
		return push(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_LONG_STR, vlen, val), err);
	default:
		return cps_fail(err, CPS_E_INTERNAL, "record type %d has no wire form here", (int)t);
	}
}

ldns_rr *cps_dns_rr_new(const char *name, cps_rrtype t, const char *value,
			ldns_rr_class cls, uint32_t ttl, cps_err *err)
{
	ldns_rr *rr;

	if (value && t == CPS_RR_TXT)
		return cps_dns_txt_rr(name, value, cls, ttl, err);
	rr = rr_start(name, types[t].ldns, cls, ttl, err);
	if (rr && value && push_data(rr, t, value, err) != 0) {
		ldns_rr_free(rr);
		rr = NULL;
	}
	return rr;
}

char *cps_dns_txt_joined(const ldns_rr *rr)
{
	size_t len = 0, off = 0;
	char *s;

	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, i);

		if (ldns_rdf_size(rd) > 0)
			len += ldns_rdf_size(rd) - 1;
	}
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(rd);
		size_t n;

		if (ldns_rdf_size(rd) == 0)
			continue;
		n = d[0] < ldns_rdf_size(rd) - 1 ? d[0] : ldns_rdf_size(rd) - 1;
		memcpy(s + off, d + 1, n);
		off += n;
	}
	s[off] = '\0';
	return s;
}

/* A dname rdf as "host.example" (lower case, no trailing dot). */
static bool dname_text(const ldns_rdf *rd, char out[CPS_HOSTNAME_MAX + 1])
{
	char *s = rd && ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_DNAME ? ldns_rdf2str(rd) : NULL;
	size_t len = s ? strlen(s) : 0;

	if (len > 1 && s[len - 1] == '.')
		len--;
	if (s == NULL || len > CPS_HOSTNAME_MAX) {
		free(s);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	free(s);
	return true;
}

bool cps_dns_owner_is(const ldns_rr *rr, const char *name)
{
	char owner[CPS_HOSTNAME_MAX + 1];

	return dname_text(ldns_rr_owner(rr), owner) && strcmp(owner, name) == 0;
}

/* A CAA record's data as its canonical value. */
static char *caa_value(const ldns_rr *rr)
{
	const ldns_rdf *f = ldns_rr_rdf(rr, 0), *t = ldns_rr_rdf(rr, 1), *v = ldns_rr_rdf(rr, 2);
	char tag[CAA_TAG_MAX + 1];
	size_t tlen;

	if (ldns_rdf_size(f) != 1 || ldns_rdf_size(t) < 2 || ldns_rdf_size(v) > CAA_VALUE_MAX)
		return NULL;
	tlen = ldns_rdf_data(t)[0];
	if (tlen == 0 || tlen > CAA_TAG_MAX || tlen + 1 != ldns_rdf_size(t))
		return NULL;
	for (size_t i = 0; i < tlen; i++)
		tag[i] = (char)tolower(ldns_rdf_data(t)[i + 1]);
	tag[tlen] = '\0';
	return caa_format(ldns_rdf_data(f)[0], tag, (const char *)ldns_rdf_data(v),
			  ldns_rdf_size(v));
}

char *cps_dns_rr_value(const ldns_rr *rr, cps_rrtype t)
{
	char host[CPS_HOSTNAME_MAX + 1], text[INET6_ADDRSTRLEN], *out = NULL;
	const ldns_rdf *rd = ldns_rr_rd_count(rr) > 0 ? ldns_rr_rdf(rr, 0) : NULL;

	if (t != CPS_RR_TXT && rd == NULL)
		return NULL;
	switch (t) {
	case CPS_RR_A:
	case CPS_RR_AAAA:
		if (ldns_rdf_size(rd) != (t == CPS_RR_A ? 4u : 16u))
			return NULL;
		inet_ntop(t == CPS_RR_A ? AF_INET : AF_INET6, ldns_rdf_data(rd), text, sizeof(text));
		return strdup(text);
	case CPS_RR_TXT:
		return cps_dns_txt_joined(rr);
	case CPS_RR_CNAME:
		return dname_text(rd, host) ? strdup(host) : NULL;
	case CPS_RR_MX:
		if (ldns_rr_rd_count(rr) < 2 || ldns_rdf_size(rd) != 2 ||
		    !dname_text(ldns_rr_rdf(rr, 1), host) ||
		    asprintf(&out, "%u %s", (unsigned)ldns_rdf2native_int16(rd), host) < 0)
			return NULL;
		return out;
	case CPS_RR_CAA:
		return ldns_rr_rd_count(rr) == 3 ? caa_value(rr) : NULL;
	default:
		return NULL;
	}
}
