/* Challenge solvers: publish the response a CA will look for, and remove it
 * again. Each publication is described by a string kept in the store before
 * anything is published, so an interrupted run can remove it later:
 *   "file:<path>"          an http-01 token file
 *   "dns:<name> <value>"   a dns-01 TXT record */
#ifndef CPSSL_SOLVERS_SOLVERS_H
#define CPSSL_SOLVERS_SOLVERS_H

#include "cpssl/core/err.h"
#include "cpssl/dns/provider.h"

/* The file that answers TOKEN below ROOT, the directory served at
 * /.well-known/acme-challenge/ (cps_layout's http01_root; TOKEN must be
 * base64url). */
int cps_http01_path(const char *root, const char *token, char **path,
		    cps_err *err);
/* Write KEYAUTH to PATH, 0644 in 0755 directories, readable by the web
 * server user. */
int cps_http01_publish(const char *path, const char *keyauth, cps_err *err);

/* "_acme-challenge.<name>" (the wildcard label dropped). */
int cps_dns01_record(const char *name, char *out, size_t len, cps_err *err);

/* The publication string for a file or a TXT record. Caller frees. */
char *cps_solver_file_tag(const char *path);
char *cps_solver_dns_tag(const char *record, const char *value);

/* Undo one publication; DNS needs the site's provider (NULL when there is
 * none, which makes a dns tag an error). A file that is already gone or a
 * record already removed is not an error. */
int cps_solver_unpublish(const char *tag, cps_dns_provider *dns, cps_err *err);

#endif
