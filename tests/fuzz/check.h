/*
 * check.h: CHECK(), the fuzz targets' assert() that NDEBUG does not remove.
 */
#ifndef BASCULE_FUZZ_CHECK_H
#define BASCULE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Like assert(), but also checks when built with NDEBUG. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
