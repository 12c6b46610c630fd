#include "cpssl/core/fault.h"

#ifdef CPSSL_FAULTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void cps_fault_point(const char *name)
{
	const char *want = getenv("CPSSL_FAULT");
	const char *stop = getenv("CPSSL_FAULT_STOP");

	if (want && strcmp(want, name) == 0)
		raise(SIGKILL);
	if (stop && strcmp(stop, name) == 0)
		raise(SIGSTOP);
}

bool cps_fault_write(const char *path)
{
	const char *want = getenv("CPSSL_FAULT_WRITE");

	return want && *want && strstr(path, want) != NULL;
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int cps_fault_unused;
#endif
