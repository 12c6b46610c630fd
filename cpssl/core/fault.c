#include "cpssl/core/fault.h"

#ifdef CPSSL_FAULTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void cps_fault_point(const char *name)
{
	const char *want = getenv("CPSSL_FAULT");

	if (want && strcmp(want, name) == 0)
		raise(SIGKILL);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int cps_fault_unused;
#endif
