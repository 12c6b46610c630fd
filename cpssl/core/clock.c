#include "cpssl/core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

time_t cps_now(void)
{
	const char *fake = getenv("CPSSL_NOW");

	if (fake && *fake) {
		char *end;
		long long v = strtoll(fake, &end, 10);

		if (*end == '\0' && v > 0)
			return (time_t)v;
	}
	return time(NULL);
}

long long cps_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cps_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (ms <= 0)
		return;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void cps_boot_id(char *buf, size_t len)
{
	const char *fake = getenv("CPSSL_BOOT_ID");
	int fd;
	ssize_t n = -1;

	if (fake && *fake) {
		snprintf(buf, len, "%s", fake);
		return;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

const char *cps_time_iso(time_t t, char buf[CPS_ISO_TIME_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, CPS_ISO_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
