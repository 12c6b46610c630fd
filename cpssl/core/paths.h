/* Where things live. CPSSL_HOME holds etc/config.ini and storage/ (a
 * self-contained tree: make install, tests, the demo); without it, the
 * default tree, or with the Debian package's build (LAYOUT=fhs,
 * CPS_LAYOUT_FHS) /etc/cpssl/config.ini and /var/lib/cpssl/storage. Every
 * system path the product writes is prefixed with [cpssl] fs_root. */
#ifndef CPSSL_CORE_PATHS_H
#define CPSSL_CORE_PATHS_H

#include "cpssl/core/err.h"

#define CPS_DEFAULT_HOME "/usr/local/cpssl"
#ifdef CPS_LAYOUT_FHS
#define CPS_FHS_CONFIG "/etc/cpssl/config.ini"
#define CPS_FHS_STORAGE "/var/lib/cpssl/storage"
#define CPS_DEFAULT_CONFIG CPS_FHS_CONFIG
#define CPS_DEFAULT_STORAGE CPS_FHS_STORAGE
#define CPS_LAYOUT_TEXT "unset: " CPS_FHS_CONFIG " and " CPS_FHS_STORAGE
#else
#define CPS_DEFAULT_CONFIG CPS_DEFAULT_HOME "/etc/config.ini"
#define CPS_DEFAULT_STORAGE CPS_DEFAULT_HOME "/storage"
#define CPS_LAYOUT_TEXT "default " CPS_DEFAULT_HOME
#endif

typedef struct cps_paths {
	char *home;    /* CPSSL_HOME; NULL in the FHS layout without it */
	char *config;  /* HOME/etc/config.ini */
	char *storage; /* HOME/storage */
	char *db;      /* HOME/storage/cpssl.db */
} cps_paths;

/* HOME NULL: $CPSSL_HOME, else the default. HOME must be absolute. */
int cps_paths_init(cps_paths *p, const char *home, cps_err *err);
void cps_paths_free(cps_paths *p);

#endif
