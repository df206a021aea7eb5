/*
 * buf: a bounded byte buffer for data in transit.
 *
 * Capacity is fixed by buf_new(); a buffer never grows. Readers take bytes
 * from the front (buf_data/buf_consume), writers fill the room at the back
 * (buf_space/buf_commit). Only buf.c touches the fields.
 */
#ifndef BASCULE_BUF_H
#define BASCULE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t   cap;
	size_t   start; /* first unread byte */
	size_t   end;   /* one past the last written byte */
};

/* A buffer holding at most cap bytes, or NULL (errno ENOMEM). */
struct buf *buf_new(size_t cap);
void        buf_free(struct buf *b); /* accepts NULL */
/* Frees the buffers kept for reuse (at exit, for leak checkers). */
void        buf_cache_drain(void);

static inline size_t
buf_len(const struct buf *b)
{
	return b->end - b->start;
}

static inline const uint8_t *
buf_data(const struct buf *b)
{
	return b->data + b->start;
}

static inline size_t
buf_cap(const struct buf *b)
{
	return b->cap;
}

static inline bool
buf_is_full(const struct buf *b)
{
	return b->start == 0 && b->end == b->cap;
}

/*
 * Room at the back for writing; moves unread bytes to the front first when
 * that is the only way to make room. *room is 0 when the buffer is full.
 */
uint8_t *buf_space(struct buf *b, size_t *room);
void     buf_commit(struct buf *b, size_t n);  /* n bytes were written */
void     buf_consume(struct buf *b, size_t n); /* n bytes were read */
/* Appends len bytes; -1 (nothing written) if they do not fit. */
int      buf_append(struct buf *b, const void *p, size_t len);
void     buf_reset(struct buf *b);

#endif
