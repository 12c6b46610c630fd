/* cpssl-acmems status: the listeners, the auth blocks (never their keys),
 * the cached certificates and the recent requests, as text or JSON. */
#ifndef ACMEMS_STATUS_H
#define ACMEMS_STATUS_H

#include "acmems/conf.h"

/* ARGV: nothing, or "-o json". 0, 2 on usage, -1 on error. */
int am_status(const am_conf *c, const char *log_path, int argc, char **argv, cps_err *err);

#endif
