/*
 * listener: bind, listen and accept.  On EMFILE/ENFILE accepting pauses for
 * a moment instead of spinning on a listening socket that stays readable.
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

#include "conf.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

#define ACCEPT_BURST 64   /* accepts per event: fairness with other work */
#define EMFILE_PAUSE 0.1  /* seconds */

static int
bind_one(const struct listen_conf *lc, bool reuseport)
{
	int one = 1, fd, err;

	fd = socket(lc->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * Linux copies TCP_NODELAY into every socket accept4() returns: one
	 * setsockopt() here instead of one per connection.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (lc->addr.ss_family == AF_INET6) {
		int v6only = (lc->flags & LISTEN_V6ONLY) ? 1 : 0;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		               sizeof(v6only)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&lc->addr, lc->addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

struct listener *
listener_bind_all(const struct listen_conf *lcs, size_t n, bool reuseport,
                  const char **what, const char **why)
{
	struct listener *head = NULL, **tail = &head;

	for (size_t i = 0; i < n; i++) {
		struct listener *l = calloc(1, sizeof(*l));

		*what = lcs[i].text;
		if (l == NULL || (l->text = strdup(lcs[i].text)) == NULL) {
			free(l);
			*why = strerror(ENOMEM);
			goto fail;
		}
		l->flags = lcs[i].flags;
		l->index = i;
		l->fd = bind_one(&lcs[i], reuseport);
		if (l->fd < 0) {
			*why = strerror(errno);
			free(l->text);
			free(l);
			goto fail;
		}
		*tail = l;
		tail = &l->next;
	}
	return head;
fail:
	listener_free_all(head);
	return NULL;
}

static void
listener_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = w->data;

	(void)revents;
	ev_io_start(loop, &l->io);
}

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener        *l = w->data;
	struct sockaddr_storage ss;
	socklen_t               len;
	int                     fd;

	(void)revents;
	for (int i = 0; i < ACCEPT_BURST && !l->worker->stopping; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		             SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(l->worker, l, fd, &ss);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
			continue;
		case EAGAIN:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			log_msg(LOG_ERR, "accept %s: %s: pausing", l->text,
			        strerror(errno));
			ev_io_stop(loop, &l->io);
			ev_timer_set(&l->pause, EMFILE_PAUSE, 0.0);
			ev_timer_start(loop, &l->pause);
			return;
		default:
			log_msg(LOG_ERR, "accept %s: %s", l->text, strerror(errno));
			return;
		}
	}
}

void
listener_start(struct listener *l, struct worker *w)
{
	for (; l != NULL; l = l->next) {
		l->worker = w;
		ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
		l->io.data = l;
		ev_init(&l->pause, listener_pause_cb);
		l->pause.data = l;
		ev_io_start(w->loop, &l->io);
	}
}

static void
listener_stop_one(struct listener *l)
{
	if (l->worker == NULL)
		return;
	ev_io_stop(l->worker->loop, &l->io);
	ev_timer_stop(l->worker->loop, &l->pause);
}

void
listener_stop(struct listener *l)
{
	for (; l != NULL; l = l->next)
		listener_stop_one(l);
}

void
listener_free_all(struct listener *l)
{
	while (l != NULL) {
		struct listener *next = l->next;

		listener_stop_one(l);
		close(l->fd);
		free(l->text);
		free(l);
		l = next;
	}
}
