/*
 * relay: the least a user-space CONNECT proxy can do, as a floor for the
 * benchmarks.  One process, one epoll loop, no configuration, no access
 * control, no log: it reads "CONNECT 127.0.0.1:PORT ...\r\n\r\n",
 * connects to 127.0.0.1:PORT, answers 200 and moves bytes both ways with
 * splice(2) through a pipe per direction, as bascule's tunnels do.  What
 * it costs per request or per gigabyte is what the kernel charges any
 * proxy in the path on this machine; bench/README.md says how to read it.
 * With FWD:TO it also listens on 127.0.0.1:FWD and relays every connection
 * there to 127.0.0.1:TO, no CONNECT asked: the floor of forwarding plain
 * HTTP, whose requests take the same four socket operations.
 *
 *   relay PORT [FWD:TO]
 *
 * Benchmark code: it trusts its clients (loopback, bench/tls_client.py and
 * curl) and gives up on a connection at the first surprise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX  4096
#define PIPE_SIZE (1 << 20) /* bascule's large pipes */
#define EVENTS    64

/* One direction of a tunnel: bytes read from fd wait in pipe for peer. */
struct side {
	int          fd; /* -1: closed, freed after this batch of events */
	int          pipe[2];
	size_t       queued;
	bool         eof;
	struct side *peer;
	char        *head; /* the client side until its CONNECT is read */
	size_t       head_len;
};

static int ep;
/* Closed sides whose events may still be in the batch being handled. */
static struct side *graveyard[2 * EVENTS + 2];
static size_t       ngrave;
/* The listening sockets' epoll data: what they are, not a side. */
static struct side on_connect, on_forward;
static uint16_t    forward_to;

static int
watch(struct side *s, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(ep, op, s->fd, &ev);
}

static void
side_free(struct side *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->pipe[0] >= 0) {
		close(s->pipe[0]);
		close(s->pipe[1]);
	}
	free(s->head);
	free(s);
}

/* Closes s now; frees it once the batch of events it may be in is done. */
static void
side_bury(struct side *s)
{
	if (s == NULL || s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	if (ngrave < sizeof(graveyard) / sizeof(graveyard[0]))
		graveyard[ngrave++] = s;
	else
		side_free(s); /* cannot happen: two per event at most */
}

static void
tunnel_close(struct side *s)
{
	side_bury(s->peer);
	side_bury(s);
}

static struct side *
side_new(int fd)
{
	struct side *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	if (pipe2(s->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(s);
		return NULL;
	}
	(void)fcntl(s->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
	return s;
}

/* What each side wants: to read while its pipe is empty, to write its
 * peer's queue. */
static void
rearm(struct side *s)
{
	unsigned ev = 0;

	if (!s->eof && s->queued == 0)
		ev |= EPOLLIN;
	if (s->peer->queued > 0)
		ev |= EPOLLOUT;
	(void)watch(s, EPOLL_CTL_MOD, ev);
}

/* Moves s's queue to its peer: 0, or -1 when the tunnel is done. */
static int
flush(struct side *s)
{
	while (s->queued > 0) {
		ssize_t n = splice(s->pipe[0], NULL, s->peer->fd, NULL,
		                   s->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n > 0) {
			s->queued -= (size_t)n;
			continue;
		}
		return n < 0 && errno == EAGAIN ? 0 : -1;
	}
	if (s->eof)
		(void)shutdown(s->peer->fd, SHUT_WR);
	return s->eof && s->peer->eof && s->peer->queued == 0 ? -1 : 0;
}

/* Reads what s has into its pipe and passes it on. */
static int
pump(struct side *s)
{
	ssize_t n = splice(s->fd, NULL, s->pipe[1], NULL, PIPE_SIZE,
	                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n > 0)
		s->queued += (size_t)n;
	else if (n == 0)
		s->eof = true;
	else if (errno != EAGAIN)
		return -1;
	return flush(s);
}

/* Connects client c to 127.0.0.1:port: the tunnel's other side. */
static int
pair(struct side *c, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct side       *s;
	int                fd, one = 1;

	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Loopback: a blocking connect(2) is over at once. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (s = side_new(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	c->peer = s;
	s->peer = c;
	if (watch(s, EPOLL_CTL_ADD, EPOLLIN) < 0) {
		c->peer = NULL;
		side_free(s);
		return -1;
	}
	return 0;
}

/* The client's CONNECT: a tunnel to 127.0.0.1:PORT once it is whole. */
static int
connect_head(struct side *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	ssize_t           n;

	n = read(c->fd, c->head + c->head_len, HEAD_MAX - 1 - c->head_len);
	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	c->head_len += (size_t)n;
	c->head[c->head_len] = '\0';
	if (strstr(c->head, "\r\n\r\n") == NULL)
		return c->head_len < HEAD_MAX - 1 ? 0 : -1;
	if (strncmp(c->head, "CONNECT 127.0.0.1:", 18) != 0 ||
	    pair(c, (uint16_t)atoi(c->head + 18)) < 0)
		return -1;
	free(c->head);
	c->head = NULL;
	if (write(c->fd, ok, sizeof(ok) - 1) != sizeof(ok) - 1)
		return -1; /* tunnel_close() then */
	return 0;
}

/* New clients: they send a CONNECT, or are forwarded at once (fwd). */
static void
accept_all(int ls, bool fwd)
{
	struct side *c;
	int          fd, one = 1;

	while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	       0) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = side_new(fd)) == NULL) {
			close(fd);
			continue;
		}
		if (fwd ? pair(c, forward_to) < 0
		        : (c->head = malloc(HEAD_MAX)) == NULL) {
			side_free(c);
			continue;
		}
		if (watch(c, EPOLL_CTL_ADD, EPOLLIN) < 0)
			tunnel_close(c);
	}
}

/* A listening socket on 127.0.0.1:port, watched with data. */
static int
listen_on(uint16_t port, struct side *data)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = data };
	int                ls, one = 1;

	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -1;
	(void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 4096) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) {
		close(ls);
		return -1;
	}
	data->fd = ls;
	return ls;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[EVENTS];
	unsigned           fwd = 0, to = 0;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && sscanf(argv[2], "%u:%u", &fwd, &to) != 2)) {
		fprintf(stderr, "usage: relay PORT [FWD:TO]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	forward_to = (uint16_t)to;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    listen_on((uint16_t)atoi(argv[1]), &on_connect) < 0 ||
	    (fwd != 0 && listen_on((uint16_t)fwd, &on_forward) < 0)) {
		perror("relay");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, EVENTS, -1);

		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct side *s = evs[i].data.ptr;
			int          r = 0;

			if (s == &on_connect || s == &on_forward) {
				accept_all(s->fd, s == &on_forward);
				continue;
			}
			if (s->fd < 0)
				continue; /* closed earlier in this batch */
			if (s->head != NULL) {
				if (connect_head(s) < 0)
					tunnel_close(s);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				r = flush(s->peer);
			if (r == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP |
			                                EPOLLERR)))
				r = pump(s);
			if (r < 0) {
				tunnel_close(s);
				continue;
			}
			rearm(s);
			rearm(s->peer);
		}
		while (ngrave > 0)
			side_free(graveyard[--ngrave]);
	}
}
