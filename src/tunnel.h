/*
 * tunnel: move bytes from one socket to another through a kernel pipe with
 * splice(2), so tunnelled data never enters user space.  Pipes are taken
 * from a small per-process pool while bytes are in flight and given back
 * when drained, so an idle tunnel holds no pipe.
 *
 * A larger pipe moves more per call, and on a machine where entering the
 * kernel is what costs, system calls per gigabyte are CPU per gigabyte.
 * But Linux charges a pipe's whole size to its user's pipe-user-pages-soft
 * quota (64 MiB by default, all workers together), and a user over it gets
 * tiny pipes: so only TUNNEL_LARGE_MAX pipes per process are enlarged, 4 MiB
 * in all.  Fewer, larger pipes: in ten alternating 1 GiB transfers on
 * loopback, 512 KiB pipes cost 0.50 CPU-s/GB (median) against 0.64 with
 * 256 KiB.  1 MiB pipes cost about 10 % less again, but only four would
 * fit the budget.
 */
#ifndef BASCULE_TUNNEL_H
#define BASCULE_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tunnel_pipe {
	int    fd[2]; /* -1 when none is held */
	size_t len;   /* bytes in the pipe */
	size_t cap;   /* its size, once held */
	bool   large; /* enlarged by us: counts against TUNNEL_LARGE_MAX */
};

enum tunnel_status {
	TUNNEL_OK = 0,   /* moved bytes, or nothing to do */
	TUNNEL_AGAIN,    /* would block */
	TUNNEL_EOF,      /* the source has no more bytes */
	TUNNEL_ERROR,    /* errno set */
	TUNNEL_NOSPLICE, /* splice(2) unsupported for these descriptors */
};

#define TUNNEL_PIPE_LARGE 524288 /* size of a large pipe */
#define TUNNEL_LARGE_MAX  8      /* large pipes per process */

void tunnel_pipe_init(struct tunnel_pipe *tp);
void tunnel_pipe_clear(struct tunnel_pipe *tp); /* closes or pools it */

/* Splices at most max bytes, and what the pipe has room for, from fd. */
enum tunnel_status tunnel_splice_in(struct tunnel_pipe *tp, int fd, size_t max,
                                    size_t *moved);
/* Splices the pipe's bytes to fd; gives the pipe back when empty. */
enum tunnel_status tunnel_splice_out(struct tunnel_pipe *tp, int fd,
                                     size_t *moved);

/* Closes pooled pipes (at shutdown, and in a child after fork). */
void tunnel_pool_drain(void);

#endif
