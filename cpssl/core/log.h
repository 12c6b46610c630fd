/* Logging: the library never prints; it hands each message to the sink the
 * host installed (cpcmd prints "LEVEL   : text" to stderr). The reporter keeps
 * the worst level raised and the non-debug messages for the closing summary. */
#ifndef CPSSL_CORE_LOG_H
#define CPSSL_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cps_level {
	CPS_LOG_DEBUG = 0,
	CPS_LOG_INFO,
	CPS_LOG_WARNING,
	CPS_LOG_ERROR,
} cps_level;

typedef void (*cps_log_sink)(cps_level level, const char *msg, void *ud);

void cps_log_set_sink(cps_log_sink sink, void *ud);
/* Debug messages are dropped before formatting unless enabled. */
void cps_log_set_debug(bool on);
bool cps_log_debug_enabled(void);

void cps_log(cps_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define cps_debug(...) cps_log(CPS_LOG_DEBUG, __VA_ARGS__)
#define cps_info(...)  cps_log(CPS_LOG_INFO, __VA_ARGS__)
#define cps_warn(...)  cps_log(CPS_LOG_WARNING, __VA_ARGS__)
#define cps_error(...) cps_log(CPS_LOG_ERROR, __VA_ARGS__)

const char *cps_level_name(cps_level level);

/* Make S one line of text: control characters (an escape sequence from a
 * CA's or a DNS server's answer, say) become '?', line breaks and tabs a
 * space. Every message goes through it before the sink sees it. */
void cps_text_clean(char *s);

/* The reporter: every message passed to cps_log() is recorded here as well. */
typedef struct cps_report_entry {
	cps_level level;
	char *msg;
} cps_report_entry;

/* Worst level raised so far, or -1 when nothing was raised. */
int cps_report_worst(void);
size_t cps_report_count(void);
const cps_report_entry *cps_report_get(size_t i);
void cps_report_reset(void);

#endif
