/* How cpcmd was built, and whether its libcurl has fallen behind the
 * system's.
 *
 * With LINK=curl (the default) a small libcurl is inside cpcmd while OpenSSL
 * and the other libraries are the system's shared ones: apt's security
 * updates of those apply at once, but one of curl reaches cpcmd only through
 * a rebuild. The build records the Debian version of the curl source it
 * used; cps_build_stale() compares it with the libcurl4 dpkg has installed
 * now, so that the housekeeping pass can say when a rebuild is due. */
#ifndef CPSSL_CORE_BUILDINFO_H
#define CPSSL_CORE_BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>

/* true when libcurl is linked into cpcmd (LINK=curl). */
bool cps_build_curl_static(void);

/* Compare two Debian version strings ([epoch:]upstream[-revision]) the way
 * dpkg does: <0, 0 or >0. */
int cps_debver_cmp(const char *a, const char *b);

/* Read the dpkg status file STATUS_PATH and compare the installed libcurl4
 * (or libcurl4t64) with BUILT_CURL (NULL or empty: not compared). When the
 * installed package is newer, write a sentence naming both versions and the
 * rebuild into MSG and return 1; 0 when it is not newer or nothing could be
 * compared. */
int cps_build_stale_check(const char *status_path, const char *built_curl, char *msg,
			  size_t len);

/* cps_build_stale_check() with the versions this binary was built with and
 * /var/lib/dpkg/status (CPSSL_DPKG_STATUS overrides the path, for tests);
 * always 0 for a shared build. */
int cps_build_stale(char *msg, size_t len);

#endif
