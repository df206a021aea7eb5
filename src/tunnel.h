/*
 * tunnel: move bytes from one socket to another through a kernel pipe with
 * splice(2), so tunnelled data never enters user space.  Pipes are taken
 * from a small per-process pool while bytes are in flight and given back
 * when drained, so an idle tunnel holds no pipe.
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
};

enum tunnel_status {
	TUNNEL_OK = 0,   /* moved bytes, or nothing to do */
	TUNNEL_AGAIN,    /* would block */
	TUNNEL_EOF,      /* the source has no more bytes */
	TUNNEL_ERROR,    /* errno set */
	TUNNEL_NOSPLICE, /* splice(2) unsupported for these descriptors */
};

#define TUNNEL_PIPE_MIN 65536   /* the kernel's default pipe size */
#define TUNNEL_PIPE_MAX 1048576 /* pipe-max-size's default */

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
