/* A minimal TAP producer for unit tests: one binary per file, one line per
 * check, a non-zero exit when any check failed. */
#ifndef CPSSL_TESTS_UNIT_H
#define CPSSL_TESTS_UNIT_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_n, unit_failed;

static inline bool unit_check(bool ok, const char *file, int line,
			      const char *desc)
{
	unit_n++;
	printf("%s %d - ", ok ? "ok" : "not ok", unit_n);
	for (const char *c = desc; *c; c++) /* one line per check */
		putchar(*c == '\n' || *c == '\r' ? ' ' : *c);
	putchar('\n');
	if (!ok) {
		unit_failed++;
		printf("#   at %s:%d\n", file, line);
	}
	fflush(stdout);
	return ok;
}

#define CHECK(cond, desc) unit_check((cond), __FILE__, __LINE__, (desc))

#define CHECK_STR(got, want, desc)                                          \
	do {                                                                \
		const char *g_ = (got), *w_ = (want);                       \
		if (!unit_check(g_ && w_ && strcmp(g_, w_) == 0, __FILE__,  \
				__LINE__, (desc)))                          \
			printf("#   got:      '%s'\n#   expected: '%s'\n",   \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");     \
	} while (0)

#define CHECK_INT(got, want, desc)                                          \
	do {                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);    \
		if (!unit_check(g_ == w_, __FILE__, __LINE__, (desc)))      \
			printf("#   got: %lld, expected: %lld\n", g_, w_);   \
	} while (0)

/* Message contains NEEDLE. */
#define CHECK_HAS(hay, needle, desc)                                        \
	do {                                                                \
		const char *h_ = (hay), *n_ = (needle);                     \
		if (!unit_check(h_ && strstr(h_, n_) != NULL, __FILE__,     \
				__LINE__, (desc)))                          \
			printf("#   '%s'\n#   does not contain '%s'\n",       \
			       h_ ? h_ : "(null)", n_);                     \
	} while (0)

static inline int unit_rm_one(const char *path, const struct stat *sb,
			      int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a test's temporary tree. */
static inline void unit_rmtree(const char *path)
{
	nftw(path, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
