#include "cpssl/core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX 4096 /* a runaway loop must not exhaust memory */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static cps_log_sink log_sink;
static void *log_ud;
static bool log_debug;

static cps_report_entry *report;
static size_t report_len, report_cap;
static int report_worst = -1;

void cps_log_set_sink(cps_log_sink sink, void *ud)
{
	pthread_mutex_lock(&log_lock);
	log_sink = sink;
	log_ud = ud;
	pthread_mutex_unlock(&log_lock);
}

void cps_log_set_debug(bool on)
{
	log_debug = on;
}

bool cps_log_debug_enabled(void)
{
	return log_debug;
}

const char *cps_level_name(cps_level level)
{
	switch (level) {
	case CPS_LOG_DEBUG:
		return "DEBUG";
	case CPS_LOG_INFO:
		return "INFO";
	case CPS_LOG_WARNING:
		return "WARNING";
	case CPS_LOG_ERROR:
		return "ERROR";
	}
	return "?";
}

static void report_add(cps_level level, const char *msg)
{
	if ((int)level > report_worst)
		report_worst = (int)level;
	if (level == CPS_LOG_DEBUG || report_len >= REPORT_MAX)
		return;
	if (report_len == report_cap) {
		size_t cap = report_cap ? report_cap * 2 : 16;
		cps_report_entry *n = realloc(report, cap * sizeof(*n));

		if (n == NULL)
			return;
		report = n;
		report_cap = cap;
	}
	report[report_len].msg = strdup(msg);
	if (report[report_len].msg == NULL)
		return;
	report[report_len++].level = level;
}

void cps_text_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : '?';
}

void cps_log(cps_level level, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	if (level == CPS_LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* what a CA, a DNS server or a program said reaches a terminal as text */
	cps_text_clean(buf);

	pthread_mutex_lock(&log_lock);
	report_add(level, buf);
	if (log_sink)
		log_sink(level, buf, log_ud);
	pthread_mutex_unlock(&log_lock);
}

int cps_report_worst(void)
{
	return report_worst;
}

size_t cps_report_count(void)
{
	return report_len;
}

const cps_report_entry *cps_report_get(size_t i)
{
	return i < report_len ? &report[i] : NULL;
}

void cps_report_reset(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < report_len; i++)
		free(report[i].msg);
	free(report);
	report = NULL;
	report_len = report_cap = 0;
	report_worst = -1;
	pthread_mutex_unlock(&log_lock);
}
