/* Fault injection for crash-safety tests. Built into the test (ASan+UBSan)
 * build only: with CPSSL_FAULTS defined, CPS_FAULT("name") kills the process
 * with SIGKILL when the environment variable CPSSL_FAULT equals "name", or
 * stops it (SIGSTOP, for a test to change the world and send SIGCONT) when
 * CPSSL_FAULT_STOP does. In the build users run it compiles to nothing. */
#ifndef CPSSL_CORE_FAULT_H
#define CPSSL_CORE_FAULT_H

/* CPS_FAULT_WRITE(path) is true when the environment variable
 * CPSSL_FAULT_WRITE is a substring of PATH: the durable write of PATH then
 * stops half-way with ENOSPC, as on a full disk. */
#ifdef CPSSL_FAULTS
#include <stdbool.h>
void cps_fault_point(const char *name);
bool cps_fault_write(const char *path);
#define CPS_FAULT(name) cps_fault_point(name)
#define CPS_FAULT_WRITE(path) cps_fault_write(path)
#else
#define CPS_FAULT(name) ((void)0)
#define CPS_FAULT_WRITE(path) 0
#endif

#endif
