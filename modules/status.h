/* letsencrypt:status and letsencrypt:list (modules/status.c). */
#ifndef CPSSL_MODULES_STATUS_H
#define CPSSL_MODULES_STATUS_H

#include <stdbool.h>
#include <time.h>

#include "cpssl/store/certs.h"
#include "cpssl/store/ssl_state.h"
#include "modules/dispatch.h"

/* What status, list and the metrics say of one site's (or the server's)
 * certificate. */
typedef struct cps_status_facts {
	cps_cert_row row;     /* row.id 0: none */
	cps_ssl_status ss;    /* failures, backoff, last success */
	bool interim;         /* an interim self-signed certificate */
	bool bootstrap;       /* interim, or the server without one */
	long attempts;        /* bootstrap attempts this boot */
	time_t next;          /* the next renewal; 0: none by itself */
} cps_status_facts;

/* BOOT: the kernel's boot id (cps_boot_id). */
int cps_status_facts_get(cps_store *st, const cps_settings *set, long site_id,
			 const char *boot, time_t now, cps_status_facts *f, cps_err *err);
void cps_status_facts_free(cps_status_facts *f);

int cps_cmd_le_status(cps_ctx *ctx, json_object **args, size_t nargs,
		      json_object **result, cps_err *err);
int cps_cmd_le_list(cps_ctx *ctx, json_object **args, size_t nargs,
		    json_object **result, cps_err *err);

#endif
