/* cpssl-acmems request deadlines: a client has a fixed time from connecting
 * to having sent its whole request (headers and body).  libmicrohttpd's own
 * timeout is an idle one, which a client sending a byte every few seconds
 * never reaches; this watchdog thread shuts such a connection's socket down
 * (shutdown(2), never close: libmicrohttpd still owns the descriptor, and
 * forgets it only after am_deadline_forget), so the connection's thread sees
 * the end of the stream and frees the slot. */
#ifndef ACMEMS_DEADLINE_H
#define ACMEMS_DEADLINE_H

typedef struct am_deadlines am_deadlines;
typedef struct am_deadline am_deadline;

/* Called, under the watchdog's lock, for each connection it cuts off. */
typedef void (*am_deadline_expired)(void *arg, const char *ip, unsigned seconds);

/* The watchdog, SECONDS after each connection's start; NULL when out of
 * memory or no thread could start. */
am_deadlines *am_deadlines_start(unsigned seconds, am_deadline_expired cb, void *arg);

/* A new connection on FD from IP; NULL when out of memory (the connection
 * then has only the idle timeout). */
am_deadline *am_deadline_arm(am_deadlines *d, int fd, const char *ip);

/* The whole request has arrived: the time to answer it is not limited. */
void am_deadline_disarm(am_deadlines *d, am_deadline *e);

/* The connection is closed (before its descriptor is): E is freed. */
void am_deadline_forget(am_deadlines *d, am_deadline *e);

/* Stop the thread and free what is left. */
void am_deadlines_stop(am_deadlines *d);

#endif
