/*
 * tap.h: the smallest TAP producer for unit tests (automake's tap-driver).
 *
 *	ok(cond, "name %d", i);
 *	return tap_done();
 */
#ifndef BASCULE_TAP_H
#define BASCULE_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count;
static int tap_failures;

static inline void __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failures++;
		printf("# failed at %s:%d\n", file, line);
	}
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
