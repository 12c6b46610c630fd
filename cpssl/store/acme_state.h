/* ACME state per CA: accounts, and orders with their challenges, written
 * before any challenge response is published so that an interrupted run can
 * resume the order or clean up what it published. */
#ifndef CPSSL_STORE_ACME_STATE_H
#define CPSSL_STORE_ACME_STATE_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/store/db.h"

/* The account URL and contact registered for SERVER (a directory URL);
 * *kid NULL when none. */
int cps_account_get(cps_store *st, const char *server, char **kid,
		    char **contact, cps_err *err);
int cps_account_put(cps_store *st, const char *server, const char *kid,
		    const char *contact, cps_err *err);
int cps_account_forget(cps_store *st, const char *server, cps_err *err);

typedef struct cps_account_row {
	char *server, *kid, *contact;
	long long created;     /* when this machine first recorded the account */
} cps_account_row;

/* Every recorded account, by server. */
int cps_account_list(cps_store *st, cps_account_row **rows, size_t *n, cps_err *err);
void cps_account_rows_free(cps_account_row *rows, size_t n);

typedef struct cps_order_row {
	long long id;
	long site_id;          /* 0: the server's own certificate */
	char *server, *url, *names, *status, *purpose;
	long long created;
} cps_order_row;

/* Record a new order (status from the CA; purpose "request" or "staged"). */
int cps_order_insert(cps_store *st, long site_id, const char *server,
		     const char *url, const char *names, const char *status,
		     const char *purpose, long long *id, cps_err *err);
/* New orders placed with SERVER since SINCE (every attempt counts, as the
 * CA counts them). */
int cps_order_count_since(cps_store *st, const char *server, long long since, long *n,
			  cps_err *err);
int cps_order_set_status(cps_store *st, long long id, const char *status,
			 cps_err *err);
/* The newest order of SITE_ID at SERVER for exactly NAMES (canonical,
 * comma-joined) that is still usable (not invalid, not done), or id 0. */
int cps_order_find(cps_store *st, long site_id, const char *server,
		   const char *names, cps_order_row *out, cps_err *err);
void cps_order_row_free(cps_order_row *o);

typedef struct cps_challenge_row {
	long long order_id;
	char *name, *authz_url, *type, *url, *token, *status;
	char *published;       /* NULL, or what was published (see solvers) */
} cps_challenge_row;

int cps_challenge_put(cps_store *st, long long order_id, const char *name,
		      const char *authz_url, const char *type, const char *url,
		      const char *token, const char *status, cps_err *err);
int cps_challenge_set_published(cps_store *st, const char *url,
				const char *published, cps_err *err);
int cps_challenge_set_status(cps_store *st, const char *url, const char *status,
			     cps_err *err);

/* The newest recorded challenge of TYPE for NAME in an order of SITE_ID at
 * SERVER that is still open; out->url NULL when there is none. */
int cps_challenge_find(cps_store *st, long site_id, const char *server,
		       const char *name, const char *type,
		       cps_challenge_row *out, cps_err *err);
void cps_challenge_row_free(cps_challenge_row *row);

/* Challenges with something published for SITE_ID (any order), for cleanup
 * after an interrupted run. */
int cps_challenge_published(cps_store *st, long site_id,
			    cps_challenge_row **rows, size_t *n, cps_err *err);
void cps_challenge_rows_free(cps_challenge_row *rows, size_t n);

#endif
