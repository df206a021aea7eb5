/*
 * array: growth of the plain arrays that configuration loading builds.
 */
#ifndef BASCULE_ARRAY_H
#define BASCULE_ARRAY_H

#include <stddef.h>

/*
 * Makes room in *array (n elements of size bytes each, capacity the next
 * power of two at or above n, 4 at least) for element n: reallocates when
 * n is 0 or a power of two >= 4.  0, or -1 (ENOMEM, *array unchanged).
 */
int array_grow(void **array, size_t n, size_t size);

#endif
