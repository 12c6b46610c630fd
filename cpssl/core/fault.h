/* Fault injection for crash-safety tests. Built into the test (ASan+UBSan)
 * build only: with CPSSL_FAULTS defined, CPS_FAULT("name") kills the process
 * with SIGKILL when the environment variable CPSSL_FAULT equals "name", or
 * stops it (SIGSTOP, for a test to change the world and send SIGCONT) when
 * CPSSL_FAULT_STOP does. In the build users run it compiles to nothing. */
#ifndef CPSSL_CORE_FAULT_H
#define CPSSL_CORE_FAULT_H

#ifdef CPSSL_FAULTS
void cps_fault_point(const char *name);
#define CPS_FAULT(name) cps_fault_point(name)
#else
#define CPS_FAULT(name) ((void)0)
#endif

#endif
