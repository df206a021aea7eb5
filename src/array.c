/*
 * array: doubling growth for arrays appended to one element at a time.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "array.h"

int
array_grow(void **array, size_t n, size_t size)
{
	void  *p;
	size_t cap;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return 0; /* capacity is still there */
	cap = n == 0 ? 4 : n * 2;
	if (cap > SIZE_MAX / size)
		return -1;
	p = realloc(*array, cap * size);
	if (p == NULL)
		return -1;
	*array = p;
	return 0;
}
