/* The ACME client session (RFC 8555): the directory, fetched once; a nonce
 * pool refilled from every Replay-Nonce; and the one choke point every POST
 * goes through — sign, send, retry on badNonce (bounded), on 5xx and
 * transport errors (bounded, with backoff), map problem documents to errors. */
#ifndef CPSSL_ACME_CLIENT_H
#define CPSSL_ACME_CLIENT_H

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "cpssl/acme/http.h"
#include "cpssl/core/err.h"

typedef struct cps_acme cps_acme;

typedef struct cps_acme_resp {
	long status;
	json_object *json;   /* the body when it is JSON, else NULL */
	cps_http_resp http;  /* headers and the raw body */
} cps_acme_resp;

typedef struct cps_acme_stats {
	unsigned requests;   /* every HTTP request sent */
	unsigned posts;      /* signed POSTs sent (every attempt) */
	unsigned nonce_gets; /* newNonce requests */
	unsigned bad_nonces; /* badNonce answers retried */
	unsigned retries;    /* 5xx / transport retries */
} cps_acme_stats;

/* Takes ownership of HTTP. No request is sent until the directory is needed. */
int cps_acme_new(const char *directory_url, cps_http *http, cps_acme **out,
		 cps_err *err);
void cps_acme_free(cps_acme *c);

const char *cps_acme_directory_url(const cps_acme *c);
/* Fetch the directory (once per session). */
int cps_acme_load_directory(cps_acme *c, cps_err *err);
/* "newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"; NULL
 * when the directory lacks it (load the directory first). */
const char *cps_acme_endpoint(const cps_acme *c, const char *name);
/* The directory's meta object, parsed when it is loaded. */
typedef struct cps_acme_meta {
	bool eab_required;      /* externalAccountRequired (RFC 8555 §7.3.4) */
	char **profiles;        /* the names of meta.profiles, sorted; made one
				 * line of text each (they are printed) */
	size_t nprofiles;       /* 0: the CA offers no profiles */
	char **caa_ids;         /* meta.caaIdentities (RFC 8555 §7.1.1) */
	size_t ncaa_ids;        /* 0: the CA names none */
} cps_acme_meta;

/* The meta of the loaded directory (all empty before it is loaded). */
const cps_acme_meta *cps_acme_meta_get(const cps_acme *c);
/* Whether the CA offers the profile NAME. */
bool cps_acme_offers_profile(const cps_acme *c, const char *name);

/* The account key (borrowed) and, once known, its URL (copied). */
void cps_acme_use_key(cps_acme *c, EVP_PKEY *key);
int cps_acme_set_kid(cps_acme *c, const char *kid, cps_err *err);
const char *cps_acme_kid(const cps_acme *c);
EVP_PKEY *cps_acme_key(const cps_acme *c);

enum {
	CPS_ACME_JWK = 1 << 0,        /* sign with the JWK, not the kid */
	CPS_ACME_ANY_ORIGIN = 1 << 1, /* the URL may leave the CA's origin */
	CPS_ACME_PEM = 1 << 2,        /* Accept: application/pem-certificate-chain */
};

/* The choke point. PAYLOAD is JSON text, or NULL for POST-as-GET. WHAT names
 * the request for error messages ("the new order for a.example"). A problem
 * answer is an error (resp is freed; err->problem names its type); any
 * 2xx is success. */
int cps_acme_post(cps_acme *c, const char *url, const char *payload,
		  unsigned flags, const char *what, cps_acme_resp *resp,
		  cps_err *err);
void cps_acme_resp_free(cps_acme_resp *r);

/* An unauthenticated GET of URL on the CA's own origin (RFC 9773's
 * renewalInfo), one attempt: any HTTP status is an answer (0, the caller
 * reads it); -1 with err set on a transport failure or a URL elsewhere. */
int cps_acme_get(cps_acme *c, const char *url, const char *what,
		 cps_acme_resp *resp, cps_err *err);

const cps_acme_stats *cps_acme_stats_get(const cps_acme *c);

/* Whether URL is on the directory's origin (scheme, host and port). */
bool cps_acme_same_origin(const cps_acme *c, const char *url);

/* JSON accessors for CA answers: a string member or NULL. */
const char *cps_acme_str(json_object *o, const char *key);

#endif
