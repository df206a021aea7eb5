/*
 * buf: bounded byte buffers.  The only file that writes struct buf fields.
 *
 * Connections drop their buffers when idle, so a busy keep-alive
 * connection would allocate and free the same large buffers for every
 * request.  A few freed buffers are kept per process for the next
 * buf_new() of the same capacity; the cache is bounded, so it never holds
 * more than CACHE_MAX buffers whatever the number of connections.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CACHE_MAX     32
#define CACHE_MIN_CAP 16384 /* smaller buffers are cheap to malloc */

static struct buf *cache[CACHE_MAX];
static size_t      cache_len;

struct buf *
buf_new(size_t cap)
{
	struct buf *b;

	assert(cap > 0);
	for (size_t i = cache_len; i-- > 0;) {
		if (cache[i]->cap != cap)
			continue;
		b = cache[i];
		cache[i] = cache[--cache_len];
		b->start = 0;
		b->end = 0;
		return b;
	}
	b = malloc(sizeof(*b) + cap);
	if (b == NULL)
		return NULL;
	b->data = (uint8_t *)(b + 1);
	b->cap = cap;
	b->start = 0;
	b->end = 0;
	return b;
}

void
buf_free(struct buf *b)
{
	/* Only the standard sizes (powers of two): odd ones would squat. */
	if (b != NULL && b->cap >= CACHE_MIN_CAP && (b->cap & (b->cap - 1)) == 0 &&
	    cache_len < CACHE_MAX) {
		cache[cache_len++] = b;
		return;
	}
	free(b);
}

void
buf_cache_drain(void)
{
	while (cache_len > 0)
		free(cache[--cache_len]);
}

uint8_t *
buf_space(struct buf *b, size_t *room)
{
	if (b->start == b->end) {
		b->start = 0;
		b->end = 0;
	} else if (b->end == b->cap && b->start > 0) {
		/* Compact only when the tail is exhausted. */
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	*room = b->cap - b->end;
	return b->data + b->end;
}

void
buf_commit(struct buf *b, size_t n)
{
	assert(n <= b->cap - b->end);
	b->end += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	assert(n <= b->end - b->start);
	b->start += n;
	if (b->start == b->end) {
		b->start = 0;
		b->end = 0;
	}
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	uint8_t *dst;
	size_t   room;

	if (len > b->cap - buf_len(b)) {
		errno = ENOBUFS;
		return -1;
	}
	dst = buf_space(b, &room);
	if (len > room) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
		dst = b->data + b->end;
	}
	memcpy(dst, p, len);
	b->end += len;
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->start = 0;
	b->end = 0;
}
