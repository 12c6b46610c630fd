/* Debian version ordering as dpkg has it, and the check that tells when
 * cpcmd carries an older curl than the system installed since the build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/buildinfo.h"
#include "unit.h"

static char path[] = "/tmp/cpssl-test-dpkg-XXXXXX";

static void status_file(const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

#define LESS(a, b) CHECK(cps_debver_cmp(a, b) < 0 && cps_debver_cmp(b, a) > 0, a " < " b)

int main(void)
{
	char msg[512];
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);

	CHECK(cps_debver_cmp("7.88.1-10+deb12u15", "7.88.1-10+deb12u15") == 0, "equal versions");
	LESS("7.88.1-10+deb12u15", "7.88.1-10+deb12u16");
	LESS("7.88.1-10+deb12u9", "7.88.1-10+deb12u10");
	LESS("3.0.22-1~deb12u2", "3.0.22-1");
	LESS("3.0.17-1~deb12u3", "3.0.22-1~deb12u1");
	LESS("1.0~rc1", "1.0");
	LESS("1.0", "1.0a");
	LESS("1.0", "1.0-1");
	LESS("9", "10");
	LESS("2.0", "1:1.0");
	LESS("1.0+b1", "1.0.1");
	CHECK(cps_debver_cmp("1.01", "1.1") == 0, "leading zeros do not count");

	status_file("Package: libssl3\nStatus: install ok installed\nPriority: optional\n"
		    "Version: 3.0.22-1~deb12u2\nDescription: Secure Sockets Layer\n more text\n\n"
		    "Package: libcurl4\nStatus: install ok installed\nSource: curl\n"
		    "Version: 7.88.1-10+deb12u15\n");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u15", msg, sizeof(msg)) == 0,
	      "the curl built in is the installed one: not stale");
	CHECK_STR(msg, "", "  and no message");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u16", msg, sizeof(msg)) == 0,
	      "built from newer sources than installed: not stale");

	status_file("Package: libssl3\nStatus: install ok installed\nVersion: 3.0.99-1\n\n"
		    "Package: libcurl4-doc\nStatus: install ok installed\nVersion: 9.9.9-1\n\n"
		    "Package: libcurl4\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u16\n");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u15", msg, sizeof(msg)) == 1,
	      "a newer libcurl4 installed: stale (a newer libssl3 or another package is not)");
	CHECK_STR(msg, "curl 7.88.1-10+deb12u15 is built into cpcmd, but the system now has libcurl4 "
		  "7.88.1-10+deb12u16: rebuild cpcmd to take its fixes (in the source tree: "
		  "make distclean && make && make install)", "  the message names both versions and the rebuild");

	status_file("Package: libcurl4t64\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u16");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u15", msg, sizeof(msg)) == 1,
	      "the t64 package name, last stanza without a blank line: stale");
	CHECK_HAS(msg, "libcurl4t64 7.88.1-10+deb12u16", "  the package named");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u15", msg, 40) == 1,
	      "a short buffer still says stale");
	CHECK(strlen(msg) == 39, "  and the message is cut to the buffer");

	status_file("Package: libcurl4\nStatus: deinstall ok config-files\nVersion: 7.99.1-1\n");
	CHECK(cps_build_stale_check(path, "7.88.1-10+deb12u15", msg, sizeof(msg)) == 0,
	      "a removed package (config files left) is not compared");
	CHECK(cps_build_stale_check(path, NULL, msg, sizeof(msg)) == 0 &&
	      cps_build_stale_check(path, "", msg, sizeof(msg)) == 0,
	      "a shared build compares nothing");
	CHECK(cps_build_stale_check("/nonexistent/status", "7.88.1-10", msg, sizeof(msg)) == 0,
	      "no dpkg status file: nothing to compare");

	unlink(path);
	return unit_done();
}
