/* ACME Renewal Information (RFC 9773) without a network: the CertID (the
 * RFC's own example), RFC 3339 times, RenewalInfo answers, the GET against
 * a stand-in CA (URL, Retry-After, failures), the time chosen inside a
 * window and when to ask again; and in the store, over 10,000 current
 * certificates: only those whose time to ask has come are claimed, once,
 * by index, and the due rule (the CA's window wins, the configured one
 * otherwise) reads by index too. */
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "cpssl/acme/ari.h"
#include "cpssl/core/fs.h"
#include "cpssl/crypto/key.h"
#include "cpssl/issue/ari.h"
#include "cpssl/store/ari.h"
#include "cpssl/store/certs.h"
#include "cpssl/store/sites.h"
#include "cpssl/store/ssl_state.h"
#include "unit.h"

#define DAY 86400LL
#define NOW 1800000000LL
#define CA "https://ca.test/dir"

/* ---- CertID ---------------------------------------------------------------- */

/* A certificate with the given AKI key identifier (or none) and serial,
 * through DER as a CA's would come. */
static X509 *make_cert(const unsigned char *kid, size_t kidlen, long serial)
{
	EVP_PKEY *key = NULL;
	X509 *x = X509_new(), *out = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	cps_err err;
	int len;

	if (cps_key_generate(CPS_KEY_EC256, &key, &err) != 0)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"a.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (kid) {
		AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();

		akid->keyid = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(akid->keyid, kid, (int)kidlen);
		X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
		AUTHORITY_KEYID_free(akid);
	}
	X509_sign(x, key, EVP_sha256());
	len = i2d_X509(x, &der);
	p = der;
	if (len > 0)
		out = d2i_X509(NULL, &p, len);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	return out;
}

static void cert_id_tests(void)
{
	/* RFC 9773 §4.1's example */
	static const unsigned char kid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
					     0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
	X509 *x = make_cert(kid, sizeof(kid), 0x87654321L);
	char *id = NULL;
	cps_err err;

	CHECK(x && cps_acme_ari_cert_id(x, &id, &err) == 0, "the CertID of a certificate with an AKI");
	CHECK_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
		  "  RFC 9773's example: the serial 0x87654321 keeps the 00 its DER has");
	free(id);
	X509_free(x);
	x = make_cert(kid, sizeof(kid), 1);
	CHECK(x && cps_acme_ari_cert_id(x, &id, &err) == 0, "a serial of 1");
	CHECK_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQ", "  one octet");
	free(id);
	X509_free(x);
	x = make_cert(NULL, 0, 1);
	CHECK(x && cps_acme_ari_cert_id(x, &id, &err) == -1 && id == NULL,
	      "a certificate without an AKI has no CertID");
	CHECK_HAS(err.msg, "no authority key identifier", "  saying so");
	X509_free(x);
}

/* ---- RFC 3339 and RenewalInfo --------------------------------------------- */

static void time_tests(void)
{
	static const struct { const char *s; long long t; } ok[] = {
		{ "2027-01-15T08:00:00Z", NOW },
		{ "2027-01-15T08:00:00.123456789Z", NOW },
		{ "2027-01-15t08:00:00z", NOW },
		{ "2027-01-15T10:00:00+02:00", NOW },
		{ "2027-01-15T02:30:00-05:30", NOW },
		{ "1970-01-01T00:00:00Z", 0 },
	};
	static const char *const bad[] = { "2027-01-15T08:00:00", "2027-13-15T08:00:00Z",
					   "2027-01-15T08:00Z", "2027-01-15T08:00:00Zx", "27-01-15T08:00:00Z",
					   "2027-01-15T08:00:00.Z", "2027-01-15T08:00:00+0200", "", "now" };
	long long t;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char desc[96];

		t = -1;
		snprintf(desc, sizeof(desc), "RFC 3339: %s", ok[i].s);
		CHECK(cps_acme_ari_time(ok[i].s, &t) == 0 && t == ok[i].t, desc);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char desc[96];

		snprintf(desc, sizeof(desc), "not RFC 3339: '%s'", bad[i]);
		CHECK(cps_acme_ari_time(bad[i], &t) == -1, desc);
	}
}

static void parse_tests(void)
{
	cps_acme_ari a = { .retry_after = 7 };
	cps_err err;

	CHECK(cps_acme_ari_parse("{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\","
				 "\"end\":\"2027-01-17T08:00:00.5Z\"},\"explanationURL\":"
				 "\"https://ca.test/x\\u001b[2J\"}", &a, &err) == 0,
	      "a RenewalInfo with an explanation");
	CHECK(a.start == NOW && a.end == NOW + 2 * DAY, "  its window");
	CHECK_STR(a.explanation, "https://ca.test/x?[2J", "  the explanation URL, one line of text");
	CHECK_INT(a.retry_after, 7, "  Retry-After is the caller's");
	CHECK(cps_acme_ari_parse("{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\","
				 "\"end\":\"2027-01-16T08:00:00Z\"}}", &a, &err) == 0 && a.explanation == NULL,
	      "no explanationURL: none");
	CHECK(cps_acme_ari_parse("{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\","
				 "\"end\":\"2027-01-15T08:00:00Z\"}}", &a, &err) == -1,
	      "a window ending when it starts is invalid (RFC 9773 §4.2)");
	CHECK_HAS(err.msg, "ends before it starts", "  saying so");
	CHECK(cps_acme_ari_parse("{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\"}}", &a,
				 &err) == -1, "no end: invalid");
	CHECK(cps_acme_ari_parse("{\"explanationURL\":\"https://x\"}", &a, &err) == -1 && a.explanation == NULL,
	      "no window: invalid, nothing kept");
	CHECK(cps_acme_ari_parse("<html>", &a, &err) == -1, "not JSON: invalid");
	cps_acme_ari_free(&a);
}

/* ---- the GET against a stand-in CA --------------------------------------- */

typedef struct ari_ca {
	const char *renewal_info; /* the directory's renewalInfo, or NULL */
	long status;
	const char *retry_after, *body;
	char last_url[256];
	int gets;
} ari_ca;

static int ari_send(void *ud, const cps_http_req *req, cps_http_resp *r, cps_err *err)
{
	ari_ca *ca = ud;
	char dir[512];

	(void)err;
	memset(r, 0, sizeof(*r));
	r->content_type = strdup("application/json");
	if (strcmp(req->url, CA) == 0) {
		snprintf(dir, sizeof(dir), "{\"newNonce\":\"https://ca.test/nonce\",\"newAccount\":"
			 "\"https://ca.test/acct\",\"newOrder\":\"https://ca.test/order\"%s%s%s}",
			 ca->renewal_info ? ",\"renewalInfo\":\"" : "",
			 ca->renewal_info ? ca->renewal_info : "", ca->renewal_info ? "\"" : "");
		r->status = 200;
		r->body = strdup(dir);
		return 0;
	}
	ca->gets++;
	snprintf(ca->last_url, sizeof(ca->last_url), "%s", req->url);
	r->status = ca->status;
	r->retry_after = ca->retry_after ? strdup(ca->retry_after) : NULL;
	r->body = strdup(ca->body ? ca->body : "");
	return 0;
}

static cps_acme *ari_client(ari_ca *ca)
{
	cps_acme *c = NULL;
	cps_err err;

	cps_acme_new(CA, cps_http_new_custom(ari_send, ca), &c, &err);
	return c;
}

static void get_tests(void)
{
	ari_ca ca = { .renewal_info = "https://ca.test/ari", .status = 200, .retry_after = "21600",
		      .body = "{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\","
			      "\"end\":\"2027-01-16T08:00:00Z\"}}" };
	cps_acme *c = ari_client(&ca);
	cps_acme_ari a = { 0 };
	bool offered;
	cps_err err;

	CHECK(cps_acme_ari_offered(c, &offered, &err) == 0 && offered, "the directory offers renewalInfo");
	CHECK(cps_acme_ari_get(c, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &a, &err) == 0,
	      "GET a certificate's renewal information");
	CHECK_STR(ca.last_url, "https://ca.test/ari/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
		  "  at {renewalInfo}/{CertID}");
	CHECK(a.start == NOW && a.retry_after == 21600, "  its window and Retry-After");
	CHECK_INT(cps_acme_stats_get(c)->requests, 2, "  the directory and one GET, counted");
	CHECK(cps_acme_ari_get(c, "../x", &a, &err) == -1 && ca.gets == 1,
	      "a CertID that is not base64url.base64url is never sent");
	ca.status = 404;
	ca.retry_after = NULL;
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == -1 && err.code == CPS_E_NOTFOUND &&
	      a.retry_after == -1, "404: the CA does not know it");
	ca.status = 503;
	ca.retry_after = "120";
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == -1 && cps_err_transient(&err) &&
	      a.retry_after == 120 && ca.gets == 3, "503: a transient failure, one attempt, its Retry-After kept");
	ca.status = 200;
	ca.body = "{\"suggestedWindow\":{}}";
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == -1 && err.code == CPS_E_PROTO,
	      "an invalid RenewalInfo is a failure");
	cps_acme_ari_free(&a);
	cps_acme_free(c);

	ca = (ari_ca){ .renewal_info = "https://ca.test/ari/", .status = 200,
		       .body = "{\"suggestedWindow\":{\"start\":\"2027-01-15T08:00:00Z\","
			       "\"end\":\"2027-01-16T08:00:00Z\"}}" };
	c = ari_client(&ca);
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == 0 && a.retry_after == -1,
	      "no Retry-After: none");
	CHECK_STR(ca.last_url, "https://ca.test/ari/AA.AQ", "  a renewalInfo ending in / gets no second one");
	cps_acme_free(c);

	ca = (ari_ca){ .renewal_info = "https://elsewhere.test/ari" };
	c = ari_client(&ca);
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == -1 && ca.gets == 0,
	      "a renewalInfo outside the CA's origin is not asked");
	cps_acme_free(c);

	ca = (ari_ca){ .renewal_info = NULL };
	c = ari_client(&ca);
	CHECK(cps_acme_ari_offered(c, &offered, &err) == 0 && !offered, "a directory without renewalInfo");
	CHECK(cps_acme_ari_get(c, "AA.AQ", &a, &err) == -1 && ca.gets == 0, "  nothing is asked");
	cps_acme_free(c);
}

static void schedule_tests(void)
{
	bool inside = true;

	CHECK_INT(cps_ari_recheck_s(-1), 6 * 3600, "no Retry-After: ask again in 6 hours");
	CHECK_INT(cps_ari_recheck_s(5), 60, "Retry-After under a minute: a minute");
	CHECK_INT(cps_ari_recheck_s(3 * DAY), DAY, "over a day: a day");
	CHECK_INT(cps_ari_recheck_s(7200), 7200, "2 hours: 2 hours");
	CHECK_INT(cps_ari_choose(100, 200, 100, 200, 150), 150, "the same window keeps its chosen time");
	for (int i = 0; i < 1000; i++) {
		long long t = cps_ari_choose(NOW, NOW + DAY, NOW, NOW + 2 * DAY, NOW + DAY + 5);

		inside = inside && t >= NOW && t < NOW + DAY;
	}
	CHECK(inside, "a new window: a time inside it (1000 draws)");
	CHECK_INT(cps_ari_choose(NOW - 3600, NOW - 3599, 0, 0, 0), NOW - 3600,
		  "a one-second window in the past: its start (due at once)");
}

/* ---- the store over 10,000 certificates -------------------------------------- */

typedef struct scan_count {
	long long fullscan, steps;
} scan_count;

static int profile(unsigned type, void *ud, void *p, void *x)
{
	scan_count *sc = ud;

	(void)type;
	(void)x;
	sc->fullscan += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	sc->steps += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
	return 0;
}

static int collect(const cps_due_cert *c, void *ud)
{
	char *out = ud;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s%ld", len ? " " : "", c->site_id);
	return 0;
}

static const char *due(cps_store *st, const cps_window *w, long long now, scan_count *sc)
{
	static char out[256];
	cps_err e;

	out[0] = '\0';
	memset(sc, 0, sizeof(*sc));
	if (cps_cert_due(st, now, w, false, collect, out, &e) != 0)
		snprintf(out, sizeof(out), "error: %s", e.msg);
	return out;
}

/* N current 90-day certificates of SERVER for sites FIRST.., 30 days old,
 * their windows known, to be asked about again at CHECK_AT */
static void bulk(cps_store *st, long first, long n, const char *server, long long check)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "BEGIN; WITH RECURSIVE k(i) AS (SELECT %ld UNION ALL SELECT i + 1 FROM k WHERE i < %ld) "
		 "INSERT INTO certificates (site_id, server, names, serial, fingerprint, issuer, key_type, "
		 "not_before, not_after, path, is_current, created_at, ari_id, ari_start, ari_end, "
		 "ari_renew_at, ari_check_at) SELECT i, '%s', 'n' || i || '.test', 'S', 'F', 'CA', "
		 "'ec-256', %lld, %lld, '/x', 1, 0, 'AA.AQ', %lld, %lld, %lld, %lld FROM k; COMMIT;",
		 first, first + n - 1, server, NOW - 30 * DAY, NOW + 60 * DAY, NOW + 29 * DAY,
		 NOW + 31 * DAY, NOW + 30 * DAY, check);
	sqlite3_exec(cps_store_db(st), sql, NULL, NULL, NULL);
}

static void add_cert(cps_store *st, long site, const char *server, long long nb, long long na)
{
	cps_cert_row r = { .site_id = site, .server = (char *)server, .names = "a.test",
			   .serial = "01", .fingerprint = "ff", .issuer = "CA", .key_type = "ec-256",
			   .not_before = nb, .not_after = na, .path = "/x" };
	long long id;
	cps_err e;

	if (cps_cert_record(st, &r, &id, &e) != 0)
		printf("# cannot record: %s\n", e.msg);
}

static long long check_at(cps_store *st, long site)
{
	cps_cert_row r;
	cps_err e;
	long long t = -2;

	if (cps_cert_current(st, site, &r, &e) == 0 && r.id)
		t = r.ari_check_at;
	cps_cert_row_free(&r);
	return t;
}

static void store_tests(void)
{
	char dir[] = "/tmp/cpssl-test-ari-XXXXXX", *db;
	cps_window w = { .lookahead_days = 10, .fraction = 1.0 / 3, .ari = true };
	cps_ari_claim *v = NULL;
	scan_count sc;
	cps_store *st = NULL;
	size_t n = 0;
	long waiting;
	cps_err err;

	if (mkdtemp(dir) == NULL)
		return;
	db = cps_path_join(dir, "cpssl.db");
	CHECK(cps_store_open(db, &st, &err) == 0 && cps_store_version(st) == 15,
	      "a store at schema version 15");
	/* 1: a CA's, asked at once; 2: imported, never asked; 3: expired;
	 * 4: another CA's; 5: 5 days left, the configured window due */
	add_cert(st, 1, CA, NOW - 10 * DAY, NOW + 80 * DAY);
	add_cert(st, 2, CPS_ORIGIN_IMPORT, NOW - 10 * DAY, NOW + 80 * DAY);
	add_cert(st, 3, CA, NOW - 91 * DAY, NOW - DAY);
	add_cert(st, 4, "https://other.test/dir", NOW - 10 * DAY, NOW + 80 * DAY);
	add_cert(st, 5, CA, NOW - 85 * DAY, NOW + 5 * DAY);
	CHECK(check_at(st, 1) == 0 && check_at(st, 2) == -1,
	      "a CA's new certificate is asked about at once, an imported one never");
	/* 10,000 asked 2 hours ago (next in 4), and 2,000 of another CA */
	bulk(st, 100, 10000, CA, NOW + 4 * 3600);
	bulk(st, 20000, 2000, "https://staging.test/dir", 0);
	sqlite3_trace_v2(cps_store_db(st), SQLITE_TRACE_PROFILE, profile, &sc);

	memset(&sc, 0, sizeof(sc));
	CHECK(cps_cert_ari_claim(st, CA, NOW, NOW + 3600, CPS_ARI_PER_PASS, &v, &n, &err) == 0,
	      "claim among 12,005 current certificates");
	CHECK(n == 2 && v[0].site_id != v[1].site_id && (v[0].site_id == 1 || v[0].site_id == 5) &&
	      (v[1].site_id == 1 || v[1].site_id == 5),
	      "  only the two whose time has come (not imported, expired, another CA's, or asked lately)");
	CHECK_INT(check_at(st, 20000), 0, "  another CA's wait for that CA");
	CHECK(sc.fullscan == 0 && sc.steps < 500, "  by index: no full scan, a few hundred steps at most");
	if (sc.fullscan || sc.steps >= 500)
		printf("#   full-scan steps %lld, VM steps %lld\n", sc.fullscan, sc.steps);
	CHECK(check_at(st, 3) == -1, "  the expired one is never asked about again");
	cps_cert_ari_claims_free(v, n);
	CHECK(cps_cert_ari_claim(st, CA, NOW + 60, NOW + 3600, CPS_ARI_PER_PASS, &v, &n, &err) == 0 &&
	      n == 0, "a pass running at the same time claims nothing (the first holds them)");
	cps_cert_ari_claims_free(v, n);
	CHECK(cps_cert_ari_claim(st, CA, NOW + 5 * 3600, NOW + 6 * 3600, 3, &v, &n, &err) == 0 && n == 3,
	      "5 hours later every bulk certificate is waiting: a pass claims at most its bound (3 here)");
	cps_cert_ari_claims_free(v, n);
	CHECK(cps_cert_ari_waiting(st, CA, NOW + 5 * 3600, &waiting, &err) == 0 && waiting == 9999,
	      "  the rest wait for the next pass");

	/* the due rule */
	CHECK_STR(due(st, &w, NOW, &sc), "5", "no CA window: the configured one (site 5, 5 days left)");
	CHECK(sc.fullscan == 0, "  found by index over 12,005 certificates");
	CHECK(cps_cert_ari_save(st, 1, &(cps_ari_state){ NOW - 3 * DAY, NOW - 2 * DAY, NOW - 2 * DAY - 60,
							   "https://ca.test/why", NOW + 3600 }, &err) == 0 &&
	      cps_cert_ari_save(st, 5, &(cps_ari_state){ NOW + DAY, NOW + 2 * DAY, NOW + DAY + 60, NULL,
							   NOW + 3600 }, &err) == 0,
	      "the CA moves site 1's window into the past and site 5's a day ahead");
	CHECK_STR(due(st, &w, NOW, &sc), "1",
		  "  site 1 is due at once (80 days left), site 5 is not (its configured window is)");
	CHECK(sc.fullscan == 0 && sc.steps < 500, "  by index: no full scan, a few hundred steps at most");
	CHECK_STR(due(st, &w, NOW + DAY + 60, &sc), "1 5", "  site 5 from the time chosen in its window");
	w.ari = false;
	CHECK_STR(due(st, &w, NOW, &sc), "5", "ari off: the configured window for both");
	w.ari = true;
	CHECK(cps_ssl_status_failed(st, 1, "p", "d", NOW, false, 0, 0, &err) == 0 &&
	      strcmp(due(st, &w, NOW, &sc), "") == 0, "a site in its backoff waits, whatever the CA says");
	sqlite3_trace_v2(cps_store_db(st), 0, NULL, NULL);
	cps_store_close(st);
	free(db);
	unit_rmtree(dir);
}

int main(void)
{
	cert_id_tests();
	time_tests();
	parse_tests();
	get_tests();
	schedule_tests();
	store_tests();
	return unit_done();
}
