/*
 * upstream: non-blocking connects to origins and the pool of idle
 * persistent server connections (RFC 9112 9.3), reused across clients.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "upstream.h"

#define POOL_BUCKETS 256

/*
 * A non-blocking connect(2) says EINPROGRESS even when the handshake was
 * over before it returned, as it is on loopback.  Asking TCP_INFO costs a
 * system call; waiting for writability costs an epoll_ctl(2) and a trip
 * through the loop, and on loopback that is every time.
 */
static bool
connect_is_done(int fd)
{
	struct tcp_info ti;
	socklen_t       len = sizeof(ti);

	memset(&ti, 0, sizeof(ti)); /* tcpi_state 0 is no state at all */
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	       ti.tcpi_state == TCP_ESTABLISHED;
}

int
upstream_connect(const struct sockaddr_storage *addr, bool *done)
{
	socklen_t len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                            : sizeof(struct sockaddr_in);
	int       fd, err;

	*done = false;
	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)addr, len) == 0) {
		*done = true;
		return fd;
	}
	if (errno == EINPROGRESS) {
		*done = connect_is_done(fd);
		return fd;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
upstream_connect_result(int fd)
{
	int       err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

struct pool_entry {
	char                    *key;
	int                      fd;
	struct sockaddr_storage  peer;
	ev_io                    io;    /* readable: closed or garbage */
	ev_timer                 timer; /* server_idle_pconn_timeout */
	struct upstream_pool    *pool;
	struct pool_entry       *prev, *next; /* bucket list, newest first */
	unsigned                 bucket;
};

struct upstream_pool {
	struct ev_loop    *loop;
	size_t             max, per_key, n;
	double             timeout; /* seconds */
	struct pool_entry *buckets[POOL_BUCKETS];
};

/* FNV-1a: spreads "host:port" keys over the buckets. */
static unsigned
key_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h % POOL_BUCKETS;
}

static void
entry_unlink(struct upstream_pool *p, struct pool_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->buckets[e->bucket] = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	ev_io_stop(p->loop, &e->io);
	ev_timer_stop(p->loop, &e->timer);
	p->n--;
}

static void
entry_free(struct pool_entry *e, bool close_fd)
{
	if (close_fd)
		close(e->fd);
	free(e->key);
	free(e);
}

static void
pool_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pool_entry *e = w->data;

	(void)loop;
	(void)revents;
	/* An idle server may only close; anything else makes it unusable. */
	entry_unlink(e->pool, e);
	entry_free(e, true);
}

static void
pool_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pool_entry *e = w->data;

	(void)loop;
	(void)revents;
	entry_unlink(e->pool, e);
	entry_free(e, true);
}

struct upstream_pool *
upstream_pool_new(struct ev_loop *loop, size_t max, size_t per_key)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->loop = loop;
	p->max = max;
	p->per_key = per_key;
	p->timeout = 60.0;
	return p;
}

void
upstream_pool_set_timeout(struct upstream_pool *p, uint64_t ms)
{
	p->timeout = (double)ms / 1000.0;
}

void
upstream_pool_flush(struct upstream_pool *p)
{
	for (unsigned b = 0; b < POOL_BUCKETS; b++) {
		while (p->buckets[b] != NULL) {
			struct pool_entry *e = p->buckets[b];

			entry_unlink(p, e);
			entry_free(e, true);
		}
	}
}

void
upstream_pool_free(struct upstream_pool *p)
{
	if (p == NULL)
		return;
	upstream_pool_flush(p);
	free(p);
}

void
upstream_pool_put(struct upstream_pool *p, const char *key, int fd,
                  const struct sockaddr_storage *peer)
{
	struct pool_entry *e;
	unsigned           b = key_hash(key);
	size_t             same = 0;

	if (p->timeout <= 0 || p->n >= p->max)
		goto drop;
	for (e = p->buckets[b]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && ++same >= p->per_key)
			goto drop;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		goto drop;
	}
	e->fd = fd;
	e->peer = *peer;
	e->pool = p;
	e->bucket = b;
	ev_io_init(&e->io, pool_io_cb, fd, EV_READ);
	e->io.data = e;
	ev_timer_init(&e->timer, pool_timer_cb, p->timeout, 0.0);
	e->timer.data = e;
	ev_io_start(p->loop, &e->io);
	ev_timer_start(p->loop, &e->timer);
	e->next = p->buckets[b];
	if (e->next != NULL)
		e->next->prev = e;
	p->buckets[b] = e;
	p->n++;
	return;
drop:
	close(fd);
}

int
upstream_pool_get(struct upstream_pool *p, const char *key,
                  struct sockaddr_storage *peer)
{
	struct pool_entry *e;
	int                fd;

	for (e = p->buckets[key_hash(key)]; e != NULL; e = e->next) {
		if (strcmp(e->key, key) != 0)
			continue;
		entry_unlink(p, e);
		fd = e->fd;
		*peer = e->peer;
		entry_free(e, false);
		return fd;
	}
	return -1;
}
