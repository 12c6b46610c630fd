/* cpssl-acmems serving: the management listeners (POST /sign) and the
 * http-01 challenge listeners, on libmicrohttpd, a thread per connection
 * with bounded connections, header memory, body size and idle time. One
 * order runs at a time through the shared session (and the cache is
 * consulted under the same lock, so identical concurrent requests make one
 * order). */
#ifndef ACMEMS_SERVER_H
#define ACMEMS_SERVER_H

#include "acmems/conf.h"
#include "cpssl/issue/session.h"

/* Serve until SIGTERM or SIGINT; 0 after a clean stop. LOG_PATH: where the
 * request lines are appended for status (besides stderr). */
int am_serve(const am_conf *c, cps_session *s, const char *log_path, cps_err *err);

#endif
