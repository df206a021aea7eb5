/*
 * tunnel: splice(2) through kernel pipes, with a small pool of empty pipes
 * so that idle tunnels hold none and busy ones do not pay pipe2() per burst.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tunnel.h"

#define POOL_MAX            64
#define TUNNEL_PIPE_DEFAULT 65536 /* the kernel's pipe size */

static struct tunnel_pipe pool[POOL_MAX];
static size_t pool_len;

void
tunnel_pipe_init(struct tunnel_pipe *tp)
{
	tp->fd[0] = -1;
	tp->fd[1] = -1;
	tp->len = 0;
	tp->cap = 0;
	tp->large = false;
}

static size_t nlarge; /* enlarged pipes in existence */

static void
pipe_close(struct tunnel_pipe *tp)
{
	if (tp->fd[0] >= 0) {
		if (tp->large)
			nlarge--;
		close(tp->fd[0]);
		close(tp->fd[1]);
	}
	tunnel_pipe_init(tp);
}

/* Returns an empty pipe to the pool (or closes it). */
static void
pipe_release(struct tunnel_pipe *tp)
{
	if (tp->fd[0] < 0)
		return;
	if (tp->len > 0 || pool_len == POOL_MAX) {
		pipe_close(tp);
		return;
	}
	pool[pool_len++] = *tp;
	tunnel_pipe_init(tp);
}

static int
pipe_acquire(struct tunnel_pipe *tp)
{
	int size;

	if (tp->fd[0] >= 0)
		return 0;
	if (pool_len > 0) {
		*tp = pool[--pool_len];
		return 0;
	}
	if (pipe2(tp->fd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	if (nlarge < TUNNEL_LARGE_MAX &&
	    fcntl(tp->fd[1], F_SETPIPE_SZ, TUNNEL_PIPE_LARGE) >= 0) {
		tp->large = true;
		nlarge++;
	}
	/* The size the kernel gave, whatever was asked (quota, limits). */
	size = fcntl(tp->fd[1], F_GETPIPE_SZ);
	tp->cap = size > 0 ? (size_t)size : TUNNEL_PIPE_DEFAULT;
	return 0;
}

void
tunnel_pipe_clear(struct tunnel_pipe *tp)
{
	if (tp->len > 0)
		pipe_close(tp); /* bytes left in it: never reuse */
	else
		pipe_release(tp);
}

enum tunnel_status
tunnel_splice_in(struct tunnel_pipe *tp, int fd, size_t max, size_t *moved)
{
	size_t  want;
	ssize_t n;

	*moved = 0;
	if (pipe_acquire(tp) < 0)
		return TUNNEL_NOSPLICE; /* out of descriptors: read/write then */
	if (tp->len >= tp->cap)
		return TUNNEL_AGAIN;
	want = tp->cap - tp->len < max ? tp->cap - tp->len : max;
	do
		n = splice(fd, NULL, tp->fd[1], NULL, want,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		tp->len += (size_t)n;
		*moved = (size_t)n;
		return TUNNEL_OK;
	}
	if (tp->len == 0)
		pipe_release(tp);
	if (n == 0)
		return TUNNEL_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return TUNNEL_AGAIN;
	if (errno == EINVAL || errno == ENOSYS)
		return TUNNEL_NOSPLICE;
	return TUNNEL_ERROR;
}

enum tunnel_status
tunnel_splice_out(struct tunnel_pipe *tp, int fd, size_t *moved)
{
	ssize_t n;

	*moved = 0;
	if (tp->len == 0)
		return TUNNEL_OK;
	do
		n = splice(tp->fd[0], NULL, fd, NULL, tp->len,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		tp->len -= (size_t)n;
		*moved = (size_t)n;
		if (tp->len == 0)
			pipe_release(tp);
		return TUNNEL_OK;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TUNNEL_AGAIN;
	return TUNNEL_ERROR;
}

void
tunnel_pool_drain(void)
{
	while (pool_len > 0)
		pipe_close(&pool[--pool_len]);
}
