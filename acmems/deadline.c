#include "acmems/deadline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>

struct am_deadline {
	am_deadline *prev, *next;
	int fd;
	bool armed;
	struct timespec due;
	char ip[48];
};

struct am_deadlines {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	unsigned seconds;
	am_deadline_expired cb;
	void *arg;
	am_deadline *head;
};

static bool passed(const struct timespec *now, const struct timespec *due)
{
	return now->tv_sec > due->tv_sec ||
	       (now->tv_sec == due->tv_sec && now->tv_nsec >= due->tv_nsec);
}

/* Once a second: every armed connection past its time is cut off, once. */
static void *watch(void *arg)
{
	am_deadlines *d = arg;
	struct timespec now, tick;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (am_deadline *e = d->head; e; e = e->next)
			if (e->armed && passed(&now, &e->due)) {
				e->armed = false;
				shutdown(e->fd, SHUT_RDWR);
				d->cb(d->arg, e->ip, d->seconds);
			}
		tick = now;
		tick.tv_sec += 1;
		if (!d->stop)
			pthread_cond_timedwait(&d->wake, &d->lock, &tick);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

am_deadlines *am_deadlines_start(unsigned seconds, am_deadline_expired cb, void *arg)
{
	am_deadlines *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	if (d == NULL)
		return NULL;
	d->seconds = seconds;
	d->cb = cb;
	d->arg = arg;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->thread, NULL, watch, d) != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return d;
}

am_deadline *am_deadline_arm(am_deadlines *d, int fd, const char *ip)
{
	am_deadline *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->fd = fd;
	e->armed = true;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	clock_gettime(CLOCK_MONOTONIC, &e->due);
	e->due.tv_sec += d->seconds;
	pthread_mutex_lock(&d->lock);
	e->next = d->head;
	if (d->head)
		d->head->prev = e;
	d->head = e;
	pthread_mutex_unlock(&d->lock);
	return e;
}

void am_deadline_disarm(am_deadlines *d, am_deadline *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	e->armed = false;
	pthread_mutex_unlock(&d->lock);
}

void am_deadline_forget(am_deadlines *d, am_deadline *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	if (e->prev)
		e->prev->next = e->next;
	else
		d->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	pthread_mutex_unlock(&d->lock);
	free(e);
}

void am_deadlines_stop(am_deadlines *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	for (am_deadline *e = d->head, *n; e; e = n) {
		n = e->next;
		free(e);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
