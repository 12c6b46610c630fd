/* Where things live. CPSSL_HOME holds etc/config.ini and storage/; every
 * system path the product writes is prefixed with [cpssl] fs_root. */
#ifndef CPSSL_CORE_PATHS_H
#define CPSSL_CORE_PATHS_H

#include "cpssl/core/err.h"

#define CPS_DEFAULT_HOME "/usr/local/cpssl"

typedef struct cps_paths {
	char *home;    /* CPSSL_HOME */
	char *config;  /* HOME/etc/config.ini */
	char *storage; /* HOME/storage */
	char *db;      /* HOME/storage/cpssl.db */
} cps_paths;

/* HOME NULL: $CPSSL_HOME, else the default. HOME must be absolute. */
int cps_paths_init(cps_paths *p, const char *home, cps_err *err);
void cps_paths_free(cps_paths *p);

#endif
