/* How cpcmd was built, and whether a static build has fallen behind the
 * system's packages.
 *
 * With LINK=static, OpenSSL and libcurl are inside cpcmd: a security update
 * of libssl3 or libcurl4 reaches cpcmd only through a rebuild. The build
 * records the Debian versions it used (libssl-dev's, and the curl source
 * package's); cps_build_stale() compares them with what dpkg has installed
 * now, so that the daily housekeeping pass can say when a rebuild is due. */
#ifndef CPSSL_CORE_BUILDINFO_H
#define CPSSL_CORE_BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>

/* true when OpenSSL and libcurl are linked into cpcmd (LINK=static). */
bool cps_build_static(void);

/* Compare two Debian version strings ([epoch:]upstream[-revision]) the way
 * dpkg does: <0, 0 or >0. */
int cps_debver_cmp(const char *a, const char *b);

/* Read the dpkg status file STATUS_PATH and compare the installed libssl3 /
 * libssl3t64 with BUILT_OPENSSL and libcurl4 / libcurl4t64 with BUILT_CURL
 * (either may be NULL or empty: not compared). When an installed package is
 * newer, write a sentence naming both versions and the rebuild into MSG and
 * return 1; 0 when nothing is newer or nothing could be compared. */
int cps_build_stale_check(const char *status_path, const char *built_openssl,
			  const char *built_curl, char *msg, size_t len);

/* cps_build_stale_check() with the versions this binary was built with and
 * /var/lib/dpkg/status (CPSSL_DPKG_STATUS overrides the path, for tests);
 * always 0 for a shared build. */
int cps_build_stale(char *msg, size_t len);

#endif
