/* cpcmd(1) and cpssl.ini(5) as roff, from the command and key tables. */
#ifndef CPSSL_MODULES_MAN_H
#define CPSSL_MODULES_MAN_H

/* PAGE "cpcmd" or "cpssl.ini"; NULL for another name (or out of memory).
 * Caller frees. */
char *cps_man_render(const char *page);

#endif
