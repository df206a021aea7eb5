/*
 * log: the error log (stderr or syslog) with syslog levels.  Access logging
 * is access_log.c's.
 */
#ifndef BASCULE_LOG_H
#define BASCULE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* to_stderr: write lines to stderr, else to syslog(3) as ident. */
void log_init(const char *ident, bool to_stderr, int max_level);
void log_set_level(int max_level);
bool log_enabled(int level);

void log_msg(int level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* Logs at LOG_ERR and exits 1.  Only before ev_run(). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies s[0..len) to out for logging, replacing bytes outside printable
 * ASCII, and '"', '\\' by \xHH; truncates with "..." to fit outsz.  Returns
 * out.
 */
char *log_escape(const char *s, size_t len, char *out, size_t outsz);

#endif
