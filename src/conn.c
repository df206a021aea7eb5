/*
 * conn: the life of one client connection (see conn.h for the states).
 *
 * Every event on either socket lands in conn_io_cb(), which reads what the
 * socket has, then runs the state machine (conn_run) until it makes no more
 * progress, writing as soon as there is something to write.  Only when a
 * write would block do we ask libev for writability; only while the buffer
 * a side fills has room do we ask for readability.  conn_update_watchers()
 * alone sets that interest.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include "access_log.h"
#include "acl.h"
#include "aia.h"
#include "auth.h"
#include "auth_parse.h"
#include "buf.h"
#include "bump.h"
#include "conf.h"
#include "conn.h"
#include "errpage.h"
#include "hostname.h"
#include "http_parse.h"
#include "http_proxy.h"
#include "listener.h"
#include "log.h"
#include "mimic.h"
#include "proxy_proto.h"
#include "resolve.h"
#include "tls_peek.h"
#include "tls_verify.h"
#include "tunnel.h"
#include "upstream.h"
#include "worker.h"
#include "x509_names.h"

#define SERVER_BUF_SIZE   65536  /* reads from origins: bulk-friendly */
#define CLIENT_BUF_MIN    16384  /* at least this for request bodies */
#define RESP_HEAD_MAX     65536  /* Squid's reply_header_max_size */
#define HEAD_SLACK        2048   /* room for Via and X-Forwarded-For */
#define LINGER_MS         2000   /* drain a client after an error reply */
#define PUMP_ROUNDS       8      /* splice rounds per event, for fairness */
#define PUMP_SHORT_READ   16384  /* a splice in of less drained the socket */
#define MAX_RETRIES       1      /* resend on a stale persistent connection */
#define SPLICE_MIN        131072 /* bodies this large bypass user space */

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_lifetime_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_resolved_cb(struct resolve_req *req);
static void conn_run(struct conn *c);
static void conn_connect_next(struct conn *c);
static void conn_after(struct ev_loop *loop, struct conn *c);
static void conn_update_watchers(struct ev_loop *loop, struct conn *c);
static void conn_release_server(struct conn *c);
static void conn_resolved(struct conn *c);
static void conn_unresolved(struct conn *c, const char *error);
static bool conn_dst_allowed(struct conn *c, const struct sockaddr_storage *a);
static void conn_go_upstream(struct conn *c);
static uint16_t sockaddr_port(const struct sockaddr_storage *ss);
static int conn_original_dst(struct conn *c);
static bool conn_is_own_address(const struct conn *c,
                                const struct sockaddr_storage *a);
static uint16_t conn_orig_port(const struct conn *c);
static bool same_host(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b);
static void sockaddr_unmap(struct sockaddr_storage *ss);
static void conn_bump_step1(struct conn *c);
static void conn_fake_connect(struct conn *c);
static void conn_https_begin(struct conn *c);
static void conn_deny(struct conn *c, const struct access_rule *rule);
static bool conn_access_allowed(struct conn *c);
static void conn_request_resume(struct conn *c);
static void conn_auth_cb(struct auth_req *req);
static void conn_peek_server(struct conn *c);
static void conn_tls_abort(struct conn *c, int status, const char *code,
                           const char *reason);
static void tls_clear(struct txn_tls *tls);
static void tls_acl_ctx(const struct conn *c, struct acl_ctx *ctx,
                        const char **names);
static void conn_peer_connect(struct conn *c);
static void conn_peer_tls(struct conn *c);
static uint16_t tls_wire_version(gnutls_session_t s);
static struct mimic *conn_mimic(const struct conn *c);
static void conn_bump_server(struct conn *c);
static int conn_bump_start(struct conn *c);
static void conn_bump_report(struct conn *c, int status, const char *code,
                             const char *reason);

static const char *const conn_err_names[] = {
	[CONN_OK] = "ok",
	[CONN_ERR_CLIENT_EOF] = "client-eof",
	[CONN_ERR_CLIENT_IO] = "client-io",
	[CONN_ERR_SERVER_IO] = "server-io",
	[CONN_ERR_SERVER_EOF] = "server-eof",
	[CONN_ERR_PROTOCOL] = "protocol",
	[CONN_ERR_TIMEOUT] = "timeout",
	[CONN_ERR_LIFETIME] = "lifetime",
	[CONN_ERR_NOMEM] = "nomem",
	[CONN_ERR_SHUTDOWN] = "shutdown",
};

const char *
conn_err_str(enum conn_err err)
{
	if ((size_t)err >= sizeof(conn_err_names) / sizeof(conn_err_names[0]))
		return "unknown";
	return conn_err_names[err];
}

static void __attribute__((format(printf, 3, 4)))
conn_log(const struct conn *c, int level, const char *fmt, ...)
{
	char    msg[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "conn %" PRIu64 " %s: %s%s%s%s", c->id, c->client_ip, msg,
	        c->action ? " (while " : "", c->action ? c->action : "",
	        c->action ? ")" : "");
}

/* Records the first cause of failure and asks for the connection's end. */
static void
conn_fail(struct conn *c, enum conn_err err)
{
	if (c->err == CONN_OK)
		c->err = err;
	c->state = CONN_CLOSING;
}

static void
side_init(struct conn_side *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	tunnel_pipe_init(&s->pipe);
}

static void
side_clear(struct ev_loop *loop, struct conn_side *s)
{
	if (s->tls != NULL) {
		/* close_notify, if the socket takes it now (RFC 8446 6.1) */
		if (s->fd >= 0 && s->tls_up && s->tls_err == 0)
			(void)gnutls_bye(s->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(s->tls);
		s->tls = NULL;
	}
	if (s->tio.outer != NULL) {
		/* A TLS parent's session, under the origin's. */
		if (s->fd >= 0 && s->tls_err == 0)
			(void)gnutls_bye(s->tio.outer, GNUTLS_SHUT_WR);
		gnutls_deinit(s->tio.outer);
		s->tio.outer = NULL;
	}
	bump_io_clear(&s->tio);
	bump_io_drop_tail(&s->tio);
	bump_io_drop_tail(&s->tio_raw);
	s->tls_up = false;
	s->tls_want = 0;
	s->tls_err = 0;
	s->tls_tail_user = 0;
	s->fin_pending = false;
	if (s->fd >= 0) {
		ev_io_stop(loop, &s->io);
		close(s->fd);
		s->fd = -1;
	}
	buf_free(s->in);
	s->in = NULL;
	buf_free(s->out);
	s->out = NULL;
	tunnel_pipe_clear(&s->pipe);
	s->eof = false;
	s->shut = false;
	s->nosplice = false;
}

static void
side_set_fd(struct conn *c, struct conn_side *s, int fd)
{
	s->fd = fd;
	s->tio.fd = fd;
	ev_io_init(&s->io, conn_io_cb, fd, 0);
	s->io.data = c;
}

/* Sets the events a side waits for; restarts the watcher only on change. */
static void
side_watch(struct ev_loop *loop, struct conn_side *s, int events)
{
	if (s->fd < 0)
		return;
	if (ev_is_active(&s->io) && (s->io.events & (EV_READ | EV_WRITE)) ==
	                                    events)
		return;
	ev_io_stop(loop, &s->io);
	if (events == 0)
		return;
	ev_io_set(&s->io, s->fd, events);
	ev_io_start(loop, &s->io);
}

static size_t
client_buf_size(const struct conn *c)
{
	size_t n = (size_t)c->conf->request_header_max_size;

	return n < CLIENT_BUF_MIN ? CLIENT_BUF_MIN : n;
}

/* Allocates a side's input buffer on first use.  -1 on ENOMEM. */
static int
side_want_in(struct conn_side *s, size_t size)
{
	if (s->in == NULL && (s->in = buf_new(size)) == NULL)
		return -1;
	return 0;
}

/* Drops an empty input buffer, so idle connections hold no buffers. */
static void
side_release_in(struct conn_side *s)
{
	if (s->in != NULL && buf_len(s->in) == 0) {
		buf_free(s->in);
		s->in = NULL;
	}
}

static bool
side_has_room(const struct conn_side *s)
{
	return s->in == NULL || !buf_is_full(s->in);
}

/*
 * Decrypts into p[0..room) what the session has: read(2)'s contract,
 * with EAGAIN, EPROTO (s->tls_err says more) and 0 for the end, a
 * close_notify or the peer's FIN (RFC 8446 6.1 lets HTTP's framing tell
 * a truncation).
 */
static ssize_t
side_recv_tls(struct conn_side *s, uint8_t *p, size_t room)
{
	size_t   got = 0;
	ssize_t  n;
	unsigned warnings = 0;

	while (got < room) {
		n = gnutls_record_recv(s->tls, p + got, room - got);
		if (n > 0) {
			got += (size_t)n;
			if (gnutls_record_check_pending(s->tls) == 0)
				break;
			continue;
		}
		if (n == GNUTLS_E_INTERRUPTED ||
		    (n == GNUTLS_E_WARNING_ALERT_RECEIVED && ++warnings < 16))
			continue; /* a warning is no end; a flood of them is */
		if (n == GNUTLS_E_REHANDSHAKE && ++warnings < 16) {
			/* No renegotiation (RFC 5746 4.5).  The alert never
			 * meets a half-sent record: see struct bump_io. */
			(void)gnutls_alert_send(s->tls, GNUTLS_AL_WARNING,
			                        GNUTLS_A_NO_RENEGOTIATION);
			continue;
		}
		if (got > 0)
			break; /* the end or the error comes next time */
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		if (n == GNUTLS_E_AGAIN) {
			errno = EAGAIN;
			return -1;
		}
		s->tls_err = (int)n;
		errno = EPROTO;
		return -1;
	}
	return (ssize_t)got;
}

/* The transport that writes s's socket: a TLS parent's, under a bump. */
static struct bump_io *
side_wire_io(struct conn_side *s)
{
	return s->tio.outer != NULL ? &s->tio_raw : &s->tio;
}

/*
 * Sends the record bytes that wait in the tail of s's socket (struct
 * bump_io), then the FIN side_shutdown() held back for them.  As
 * bump_io_flush(): 1 nothing waits, 0 the socket is full, -1 error.
 */
static int
side_tail_flush(struct conn_side *s)
{
	int r = bump_io_flush(side_wire_io(s));

	if (r == 1 && s->fin_pending) {
		shutdown(s->fd, SHUT_WR);
		s->fin_pending = false;
	}
	return r;
}

static bool
side_tail_pending(struct conn_side *s)
{
	return s->fd >= 0 && bump_io_tail_len(side_wire_io(s)) > 0;
}

/* Encrypts iov into records: sendmsg(2)'s contract, as side_recv_tls(). */
static ssize_t
side_send_tls(struct conn_side *s, const struct iovec *iov, size_t n)
{
	size_t  total, skip, offered = 0;
	ssize_t r;

	/*
	 * A record the socket took only in part waits in our tail, and is
	 * counted once the tail is out: until then the caller offers the
	 * same bytes again, as it would to GnuTLS after GNUTLS_E_AGAIN,
	 * because it consumes only what was counted here.
	 */
	switch (side_tail_flush(s)) {
	case -1:
		return -1;
	case 0:
		errno = EAGAIN;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		offered += iov[i].iov_len;
	total = skip = s->tls_tail_user < offered ? s->tls_tail_user : offered;
	s->tls_tail_user = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t         off = 0;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		off = skip;
		skip = 0;
		while (off < iov[i].iov_len) {
			r = gnutls_record_send(s->tls, p + off,
			                       iov[i].iov_len - off);
			if (r > 0 && side_tail_pending(s)) {
				s->tls_tail_user = (size_t)r;
				goto out;
			}
			if (r > 0) {
				off += (size_t)r;
				total += (size_t)r;
				continue;
			}
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r == GNUTLS_E_AGAIN)
				goto out;
			s->tls_err = (int)r;
			if (total > 0)
				goto out;
			errno = EPIPE;
			return -1;
		}
	}
out:
	if (total == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)total;
}

/*
 * Reads what the socket has into s->in.  Returns bytes read, 0 on EOF
 * (s->eof set), -1 on EAGAIN (nothing to do) and -2 on error (errno).
 */
static ssize_t
side_read(struct conn *c, struct conn_side *s, size_t bufsize)
{
	uint8_t *p;
	size_t   room;
	ssize_t  n;

	if (side_want_in(s, bufsize) < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		errno = ENOMEM;
		return -2;
	}
	p = buf_space(s->in, &room);
	if (room == 0)
		return -1;
	if (s->tls != NULL)
		n = side_recv_tls(s, p, room);
	else
		do
			n = read(s->fd, p, room);
		while (n < 0 && errno == EINTR);
	if (n > 0) {
		buf_commit(s->in, (size_t)n);
		s->nread += (uint64_t)n;
		/*
		 * A short read emptied the socket: a tunnel that starts now
		 * waits for the next EV_READ instead of a read that would
		 * only say EAGAIN (see conn_pump()).
		 */
		if ((size_t)n < room)
			s->readable = false;
		return n;
	}
	if (n == 0) {
		s->eof = true;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->readable = false;
		return -1;
	}
	return -2;
}

/*
 * Writes the n buffers of iov to s with one sendmsg(2): a head we built
 * and the body bytes behind it leave in one system call.  Returns bytes
 * written (0 if it would block), or -1.
 */
static ssize_t
side_writev(struct conn_side *s, struct iovec *iov, size_t n)
{
	struct msghdr msg;
	ssize_t       r;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = n;
	if (s->tls != NULL)
		r = side_send_tls(s, iov, n);
	else
		do
			r = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
	if (r >= 0) {
		s->nwritten += (uint64_t)r;
		return r;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return -1;
}

/* Writes p[0..len) to s.  Returns bytes written (0 if it would block), -1. */
static ssize_t
side_write(struct conn_side *s, const uint8_t *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

	return len == 0 ? 0 : side_writev(s, &iov, 1);
}

/* Writes a[0..alen) then b[0..blen); either may be empty. */
static ssize_t
side_write2(struct conn_side *s, const uint8_t *a, size_t alen,
            const uint8_t *b, size_t blen)
{
	struct iovec iov[2];
	size_t       n = 0;

	if (alen > 0) {
		iov[n].iov_base = (void *)a;
		iov[n++].iov_len = alen;
	}
	if (blen > 0) {
		iov[n].iov_base = (void *)b;
		iov[n++].iov_len = blen;
	}
	return n == 0 ? 0 : side_writev(s, iov, n);
}

/*
 * Ends what we send to s with a FIN, after a close_notify when a session
 * runs on it (RFC 8446 6.1): the peer can tell the end from a truncation.
 */
static void
side_shutdown(struct conn_side *s)
{
	if (s->tls != NULL && s->tls_up && s->tls_err == 0) {
		(void)gnutls_bye(s->tls, GNUTLS_SHUT_WR);
		s->tls_up = false; /* said once */
	}
	/* Not before the close_notify, which may wait in the tail. */
	if (side_tail_pending(s))
		s->fin_pending = true;
	else
		shutdown(s->fd, SHUT_WR);
	s->shut = true;
}

/* Writes s->out; 1 when it is empty afterwards, 0 if blocked, -1 error. */
static int
side_flush_out(struct conn_side *s)
{
	ssize_t n;

	if (s->out == NULL || buf_len(s->out) == 0)
		return 1;
	n = side_write(s, buf_data(s->out), buf_len(s->out));
	if (n < 0)
		return -1;
	buf_consume(s->out, (size_t)n);
	return buf_len(s->out) == 0;
}

/*
 * Drives the handshake of a side: 1 done, 0 waiting (tls_want set), -1
 * failed (tls_err set).  Warnings are not failures; a bounded number of
 * them in a row is.
 */
static int
side_handshake(struct conn_side *s)
{
	int r, rounds = 0;

	do
		r = gnutls_handshake(s->tls);
	while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r) &&
	       ++rounds < 16);
	if (r == GNUTLS_E_AGAIN) {
		s->tls_want = gnutls_record_get_direction(s->tls) ? EV_WRITE
		                                                  : EV_READ;
		return 0;
	}
	s->tls_want = 0;
	if (r < 0) {
		s->tls_err = r;
		return -1;
	}
	s->tls_up = true;
	bump_io_keep_tail(side_wire_io(s));
	return 1;
}

/* What a side read before its session starts is the session's to read. */
static int
side_preload(struct conn *c, struct conn_side *s)
{
	if (s->in == NULL || buf_len(s->in) == 0)
		return 0;
	if (bump_io_preload(&s->tio, buf_data(s->in), buf_len(s->in)) < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	buf_consume(s->in, buf_len(s->in));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Transactions and the access log */

static struct timespec
now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static void
txn_clear(struct txn *t)
{
	free(t->method);
	free(t->url);
	free(t->key);
	free(t->content_type);
	buf_free(t->req_head);
	buf_free(t->mf_reply);
	free(t->hops);
	free(t->client_auth);
	if (t->credentials != NULL)
		explicit_bzero(t->credentials, strlen(t->credentials));
	free(t->credentials);
	free(t->user);
	buf_free(t->head_direct);
	buf_free(t->head_peer);
	tls_clear(&t->tls);
	memset(t, 0, sizeof(*t));
}

/* The ssl_bump field of the access log. */
static const char *
tls_outcome(const struct txn *t)
{
	if (t->tls.not_tls)
		return t->tls.action == BUMP_SPLICE ? "tunnel" : "respond";
	if (t->tls.action == BUMP_SPLICE)
		return "splice";
	if (t->tls.action == BUMP_TERMINATE)
		return "terminate";
	if (t->tls.action == BUMP_BUMP)
		return "bump";
	return "none";
}

/* Writes the access-log line of the transaction in progress, once. */
static void
conn_log_txn(struct conn *c)
{
	struct access_record r;
	struct txn          *t = &c->txn;

	if (!c->txn_active)
		return;
	c->txn_active = false;
	memset(&r, 0, sizeof(r));
	r.start = t->start;
	r.end = now_realtime();
	r.client = (const struct sockaddr *)&c->client_addr;
	r.result = t->result != NULL ? t->result : "TAG_NONE";
	r.status = t->status;
	r.bytes = t->bytes_to_client;
	r.method = t->method != NULL ? t->method : "-";
	r.url = t->url != NULL ? t->url : "-";
	r.user = t->user;
	if (t->peer[0] == '\0')
		r.hier = "HIER_NONE";
	else if (c->bumped)
		r.hier = hop_code_name(c->bump_hop);
	else if (t->nhops > 0)
		r.hier = hop_code_name(t->hops[t->hop].code);
	else
		r.hier = hop_code_name(c->intercepted ? HOP_ORIGINAL_DST
		                                      : HOP_DIRECT);
	r.peer = t->peer[0] != '\0' ? t->peer : "-";
	r.content_type = t->content_type != NULL ? t->content_type : "-";
	if (t->is_connect && (c->listener->flags & LISTEN_SSL_BUMP)) {
		r.bump = tls_outcome(t);
		r.sni = t->tls.sni != NULL ? t->tls.sni : "-";
		r.bump_step = (int)(t->tls.action >= 0 ? t->tls.decided
		                                        : t->tls.step);
		r.bytes_up = c->server.nwritten;
	}
	access_log_write(c->worker->access_log, &r);
}

/*
 * Answers the client with a response of ours (an error page, or a reply to
 * Max-Forwards: 0) and closes after it.  The server side is dropped.  A
 * realm adds Proxy-Authenticate (a 407).
 */
static void
conn_reply_realm(struct conn *c, int status, const char *code,
                 const char *reason, const char *realm)
{
	struct txn *t = &c->txn;

	if ((t->tls.step >= BUMP_STEP2 || t->fake_connect) && !t->tls.not_tls) {
		/* The client expects TLS, not an error page. */
		conn_tls_abort(c, status, code, reason);
		return;
	}
	conn_log(c, LOG_INFO, "%d %s: %s", status, code, reason);
	conn_release_server(c);
	resolve_cancel(&c->resolve);
	buf_free(c->client.out);
	c->client.out = buf_new(4096);
	if (c->client.out == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	if (http_proxy_error_challenge(
	            c->client.out,
	            t->lang != NULL ? t->lang : errpage_default(), status, code,
	            reason, t->url, c->worker->hostname, realm) < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	if (!c->txn_active) { /* an error before a request was parsed */
		c->txn_active = true;
		t->start = now_realtime();
	}
	t->status = status;
	if (t->result == NULL)
		t->result = status == 403 ? "TCP_DENIED" : "TAG_NONE";
	t->bytes_to_client = buf_len(c->client.out);
	conn_log_txn(c);
	c->action = "sending an error reply";
	c->state = CONN_REPLY;
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->read_timeout / 1000.0;
}

static void
conn_reply(struct conn *c, int status, const char *code, const char *reason)
{
	conn_reply_realm(c, status, code, reason, NULL);
}

/* ------------------------------------------------------------------ */
/* Step 1: the request head */

static char *
span_dup(struct http_span s)
{
	char *p = malloc(s.len + 1);

	if (p != NULL) {
		memcpy(p, s.p, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static bool
method_is(const struct txn *t, const char *m)
{
	return strcmp(t->method, m) == 0;
}

/* The request head for the next hop: absolute-form for a parent. */
static struct buf *
conn_build_request(struct conn *c, const struct http_head *h, bool absolute)
{
	const struct conf  *cf = c->conf;
	struct http_rewrite rw;
	struct buf         *out;

	memset(&rw, 0, sizeof(rw));
	rw.absolute = absolute;
	rw.via = cf->via ? c->worker->via : NULL;
	switch (cf->forwarded_for) {
	case FORWARDED_FOR_ON:
		rw.client_ip = c->client_ip;
		break;
	case FORWARDED_FOR_OFF:
		rw.client_ip = "unknown";
		break;
	case FORWARDED_FOR_TRANSPARENT:
		break;
	case FORWARDED_FOR_DELETE:
		rw.xff_delete = true;
		break;
	case FORWARDED_FOR_TRUNCATE:
		rw.client_ip = c->client_ip;
		rw.xff_replace = true;
		break;
	}
	out = buf_new(h->head_len + HEAD_SLACK + (absolute ? HOSTNAME_MAX : 0));
	if (out == NULL)
		return NULL;
	if (http_proxy_request_head(h, &c->txn.target, &rw, out) < 0) {
		buf_free(out);
		errno = ENOBUFS;
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* The route: direct, or through cache_peer parents */

/* The parent of the hop in use; NULL when going to the server itself. */
static const struct peer_conf *
conn_hop_peer(const struct conn *c)
{
	const struct txn *t = &c->txn;

	return t->nhops > 0 ? t->hops[t->hop].peer : NULL;
}

/* How long connecting to the hop in use may take, its handshake too. */
static uint64_t
conn_connect_ms(const struct conn *c)
{
	const struct peer_conf *p = conn_hop_peer(c);

	return p != NULL && p->connect_timeout > 0 ? p->connect_timeout
	                                           : c->conf->connect_timeout;
}

/* The persistent-connection pool key of the hop in use. */
static const char *
conn_pool_key(const struct conn *c)
{
	const struct peer_conf *p = conn_hop_peer(c);

	return p != NULL ? p->key : c->txn.key;
}

/* Takes the hop t->hop. */
static void
conn_enter_hop(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);

	t->resolving_peer = false;
	t->peer_tunnel = false;
	if (p != NULL)
		conn_log(c, LOG_DEBUG, "route %zu/%zu: cache_peer %s (%s)",
		         t->hop + 1, t->nhops, p->name,
		         hop_code_name(t->hops[t->hop].code));
}

/* What http_access and the route lists see; dst NULL: not resolved. */
static void
conn_acl_ctx(const struct conn *c, struct acl_ctx *ctx,
             const struct sockaddr_storage *dst)
{
	const struct txn *t = &c->txn;

	memset(ctx, 0, sizeof(*ctx));
	ctx->src = (const struct sockaddr *)&c->client_addr;
	/* Intercepted: the only destination there is, whatever Host says;
	 * bumped: the server the connection is pinned to, unknown behind a
	 * parent's tunnel. */
	if (c->bumped && c->bump_hop >= HOP_FIRSTUP_PARENT)
		ctx->dst_unknown = true;
	else if (c->bumped)
		ctx->dst = (const struct sockaddr *)&c->server_addr;
	else if (c->intercepted)
		ctx->dst = (const struct sockaddr *)&c->orig_dst;
	else
		ctx->dst = (const struct sockaddr *)dst;
	ctx->dst_unknown |= t->origin_unknown;
	ctx->method = t->method;
	ctx->host = t->target.host;
	ctx->port = t->target.port;
	ctx->url = t->url;
	/* The user proxy_auth acls compare, once known: http_access alone
	 * waits for it (conn_check_access()). */
	if (t->user != NULL) {
		ctx->auth = ACL_AUTH_USER;
		ctx->user = t->user;
	}
}

/*
 * Chooses the hops of the transaction (cache_peer, never_direct,
 * always_direct): 0, or -1 after a reply.  Intercepted connections go to
 * their original destination only.
 */
static int
conn_route(struct conn *c)
{
	const struct conf *cf = c->conf;
	struct txn        *t = &c->txn;
	const char        *names[TLS_NAMES_MAX];
	struct acl_ctx     ctx;
	bool              *down;

	t->routed = true;
	if (cf->npeers == 0 || c->intercepted || c->bumped)
		return 0;
	t->hops = calloc(ROUTE_HOPS_MAX, sizeof(*t->hops));
	down = calloc(cf->npeers, sizeof(*down));
	if (t->hops == NULL || down == NULL) {
		free(down);
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	for (size_t i = 0; i < cf->npeers; i++)
		down[i] = peer_health_is_down(c->worker->peer_health,
		                              cf->peers[i].key,
		                              ev_now(c->worker->loop));
	if (t->is_connect && (c->listener->flags & LISTEN_SSL_BUMP))
		tls_acl_ctx(c, &ctx, names);
	else
		conn_acl_ctx(c, &ctx, NULL);
	t->nhops = route_select(cf, &ctx,
	                        route_hierarchical(t->method, t->has_auth),
	                        down, t->hops);
	free(down);
	if (t->nhops == 0) {
		if (t->result == NULL)
			t->result = "TCP_MISS";
		conn_reply(c, 503, "ERR_CANNOT_FORWARD",
		           "never_direct forbids going to the server itself, "
		           "and no cache_peer may take this request");
		return -1;
	}
	t->hop = 0;
	conn_enter_hop(c);
	return 0;
}

/*
 * The hop in use failed before anything reached the client: the next one,
 * or the reply when none is left.
 */
static void
conn_next_hop(struct conn *c, int status, const char *code,
              const char *reason)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);

	if (p != NULL && peer_health_failed(c->worker->peer_health, p->key,
	                                    (unsigned)p->connect_fail_limit,
	                                    ev_now(c->worker->loop)))
		conn_log(c, LOG_WARNING,
		         "cache_peer %s is down after %u failures in a row: "
		         "tried last for %.0f seconds",
		         p->name, (unsigned)p->connect_fail_limit,
		         ROUTE_DOWN_SECONDS);
	if (t->hop + 1 >= t->nhops) {
		t->peer[0] = '\0';
		conn_reply(c, status, code, reason);
		return;
	}
	conn_log(c, LOG_INFO, "%s: trying the next route", reason);
	side_clear(c->worker->loop, &c->server);
	resolve_cancel(&c->resolve);
	c->connect_errno = 0;
	t->hop++;
	conn_enter_hop(c);
	conn_go_upstream(c);
}

/* t->req_head for the hop in use, from the head of its kind. */
static int
conn_hop_head(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);
	const struct buf       *base;
	const char             *auth = NULL;
	struct buf             *out;
	int                     rc;

	if (t->nhops == 0 || (t->req_head != NULL && t->head_hop == t->hop))
		return 0; /* made by conn_request(), or for this hop */
	base = p != NULL ? t->head_peer : t->head_direct;
	if (p != NULL)
		auth = p->login_passthru ? t->client_auth : p->login;
	out = buf_new(buf_len(base) + (auth != NULL ? strlen(auth) + 32 : 0));
	if (out == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	rc = auth != NULL ? http_proxy_add_proxy_auth(base, auth, out)
	                  : buf_append(out, buf_data(base), buf_len(base));
	if (rc < 0) {
		buf_free(out);
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	buf_free(t->req_head);
	t->req_head = out;
	t->req_head_sent = 0;
	t->head_hop = t->hop;
	return 0;
}

/* The heads conn_hop_head() makes req_head from; -1 if too large. */
static int
conn_build_heads(struct conn *c, const struct http_head *h)
{
	struct txn *t = &c->txn;
	bool        direct = t->nhops == 0, parent = false;

	for (size_t i = 0; i < t->nhops; i++) {
		if (t->hops[i].peer == NULL)
			direct = true;
		else
			parent = true;
	}
	if (t->nhops == 0)
		return (t->req_head = conn_build_request(c, h, false)) != NULL
		               ? 0
		               : -1;
	if (direct && (t->head_direct = conn_build_request(c, h, false)) == NULL)
		return -1;
	if (parent && (t->head_peer = conn_build_request(c, h, true)) == NULL)
		return -1;
	return 0;
}

static void
sockaddr_ip(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	const void *a = ss->ss_family == AF_INET6
	                        ? (const void *)&((const struct sockaddr_in6 *)ss)
	                                  ->sin6_addr
	                        : (const void *)&((const struct sockaddr_in *)ss)
	                                  ->sin_addr;

	if (inet_ntop(ss->ss_family, a, out, (socklen_t)outsz) == NULL)
		snprintf(out, outsz, "-");
}

/* The server side is connected (new or reused): forward or tunnel. */
static void
conn_server_ready(struct conn *c)
{
	static const char established[] =
	        "HTTP/1.1 200 Connection established\r\n\r\n";
	struct txn *t = &c->txn;
	int         one = 1;

	if (!t->server_reused)
		setsockopt(c->server.fd, IPPROTO_TCP, TCP_NODELAY, &one,
		           sizeof(one));
	if (!t->is_connect) {
		if (conn_hop_head(c) < 0)
			return;
		c->action = "forwarding the request";
		c->state = CONN_FORWARD;
		return;
	}
	if (conn_hop_peer(c) != NULL && !t->peer_tunnel) {
		conn_peer_connect(c); /* the tunnel starts at the parent */
		return;
	}
	if (t->tls.step >= BUMP_STEP2 || t->fake_connect) {
		/* The 200 went out at step 1, or there is no CONNECT. */
		if (t->tls.action == BUMP_BUMP || t->tls.staring) {
			conn_bump_server(c);
		} else if (t->tls.action < 0) {
			conn_peek_server(c);
		} else {
			c->action = "tunnelling";
			c->state = CONN_TUNNEL;
		}
		return;
	}
	buf_free(c->client.out);
	c->client.out = buf_new(sizeof(established) - 1);
	if (c->client.out == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	buf_append(c->client.out, established, sizeof(established) - 1);
	t->status = 200;
	t->result = "TCP_TUNNEL";
	c->action = "tunnelling";
	c->state = CONN_TUNNEL;
}

/*
 * The TCP connection to the hop is up.  A parent that takes it is well,
 * unless a tunnel through it still waits for its answer to CONNECT.
 */
static void
conn_server_up(struct conn *c)
{
	const struct peer_conf *p = conn_hop_peer(c);

	if (p != NULL && p->tls && c->server.tls == NULL) {
		conn_peer_tls(c);
		return;
	}
	if (p != NULL && !c->txn.is_connect)
		peer_health_ok(c->worker->peer_health, p->key);
	conn_server_ready(c);
}

/* fd's connect started, or is done already: then no need to wait for it. */
static void
conn_connecting(struct conn *c, int fd, bool done)
{
	side_set_fd(c, &c->server, fd);
	if (done) {
		conn_server_up(c);
		return;
	}
	c->action = "connecting";
	c->state = CONN_CONNECTING;
}

/* Starts a connection to a: true if it started, else connect_errno. */
static bool
conn_try_address(struct conn *c, const struct sockaddr_storage *a)
{
	bool done;
	int  fd;

	sockaddr_ip(a, c->txn.peer, sizeof(c->txn.peer));
	c->server_addr = *a;
	fd = upstream_connect(a, &done);
	if (fd >= 0) {
		conn_connecting(c, fd, done);
		return true;
	}
	c->connect_errno = errno;
	conn_log(c, LOG_INFO, "connect %s: %s", c->txn.peer,
	         strerror(c->connect_errno));
	return false;
}

/*
 * Tries the next resolved address; when none is left, the next hop or the
 * reply.  The connection may be up on return (conn_server_ready() ran).
 */
static void
conn_connect_next(struct conn *c)
{
	struct txn *t = &c->txn;

	if (c->intercepted) {
		/* Wherever the client was going, whatever Host says. */
		if (c->addr_next++ == 0 &&
		    (!t->dst_acl || conn_dst_allowed(c, &c->orig_dst)) &&
		    conn_try_address(c, &c->orig_dst))
			return;
		t->peer[0] = '\0';
		if (c->connect_errno == 0)
			conn_deny(c, NULL); /* http_access denied orig_dst */
		else
			conn_reply(c, 502, "ERR_CONNECT_FAIL",
			           strerror(c->connect_errno));
		return;
	}
	while (c->addr_next < c->resolve.naddrs) {
		const struct sockaddr_storage *a =
		        &c->resolve.addrs[c->addr_next++];

		if (t->dst_acl && !t->resolving_peer && !conn_dst_allowed(c, a))
			continue; /* http_access denies this address */
		if (conn_try_address(c, a))
			return;
	}
	t->peer[0] = '\0';
	conn_next_hop(c, c->connect_errno == ETIMEDOUT ? 504 : 502,
	              "ERR_CONNECT_FAIL",
	              c->connect_errno ? strerror(c->connect_errno)
	                               : "no address to connect to");
}

/* The server socket became writable while connecting. */
static void
conn_connected(struct conn *c)
{
	if (upstream_connect_result(c->server.fd) == 0) {
		conn_server_up(c);
		return;
	}
	c->connect_errno = errno;
	conn_log(c, LOG_INFO, "connect %s: %s", c->txn.peer, strerror(errno));
	side_clear(c->worker->loop, &c->server);
	conn_connect_next(c);
}

/*
 * Connected to a parent with tls: our handshake with it, with the trust of
 * the generation the connection was accepted under.
 */
static void
conn_peer_tls(struct conn *c)
{
	const struct peer_conf *p = conn_hop_peer(c);
	char                    why[256];
	int                     r;

	r = c->bump_gen != NULL ? bump_peer_session(c->bump_gen, p,
	                                            &c->server.tio,
	                                            &c->server.tls)
	                        : GNUTLS_E_INVALID_REQUEST;
	if (r < 0) {
		snprintf(why, sizeof(why), "no TLS for cache_peer %s: %s",
		         p->name, gnutls_strerror(r));
		conn_next_hop(c, 503, "ERR_SECURE_CONNECT_FAIL", why);
		return;
	}
	c->action = "in a TLS handshake with the cache_peer";
	c->deadline = ev_now(c->worker->loop) +
	              (double)conn_connect_ms(c) / 1000.0;
	c->state = CONN_PEER_TLS;
}

/* CONN_PEER_TLS: a parent that fails it is a parent that failed. */
static void
conn_peer_tls_hs(struct conn *c)
{
	const struct peer_conf        *p = conn_hop_peer(c);
	gnutls_certificate_status_t    status;
	gnutls_datum_t                 text = { NULL, 0 };
	char                           why[512];

	switch (side_handshake(&c->server)) {
	case 0:
		return;
	case -1:
		status = gnutls_session_get_verify_cert_status(c->server.tls);
		if (c->server.tls_err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
		    gnutls_certificate_verification_status_print(
		            status, GNUTLS_CRT_X509, &text, 0) == 0)
			snprintf(why, sizeof(why),
			         "TLS with cache_peer %s failed: %s", p->name,
			         (const char *)text.data);
		else
			snprintf(why, sizeof(why),
			         "TLS with cache_peer %s failed: %s", p->name,
			         gnutls_strerror(c->server.tls_err));
		gnutls_free(text.data);
		conn_next_hop(c, 503, "ERR_SECURE_CONNECT_FAIL", why);
		return;
	}
	conn_log(c, LOG_DEBUG, "TLS with cache_peer %s: %s%s", p->name,
	         tls_peek_version_name(tls_wire_version(c->server.tls)),
	         gnutls_session_is_resumed(c->server.tls) ? ", resumed" : "");
	bump_peer_resumable(c->server.tls);
	c->action = NULL;
	c->deadline = 0;
	conn_server_up(c);
}

/* Connected to a parent for a tunnel: ask it for one (RFC 9110 9.3.6). */
static void
conn_peer_connect(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);
	const char             *auth = p->login_passthru ? t->client_auth
	                                                 : p->login;
	const char             *via = c->conf->via ? c->worker->via : NULL;
	size_t                  size = HOSTNAME_MAX * 2 + 128;

	size += (auth != NULL ? strlen(auth) : 0) + (via != NULL ? strlen(via) : 0);
	buf_free(c->server.out);
	c->server.out = buf_new(size);
	if (c->server.out == NULL ||
	    http_proxy_connect_head(&t->target, via, auth, c->server.out) < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	memset(&t->resp_scan, 0, sizeof(t->resp_scan));
	c->action = "asking the cache_peer for a tunnel";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->read_timeout / 1000.0;
	c->state = CONN_PEER_CONNECT;
}

/* CONN_PEER_CONNECT: our CONNECT out, the parent's answer in. */
static void
conn_peer_answer(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);
	struct http_head        h;
	const char             *why = NULL;
	char                    reason[256];
	size_t                  head_len;

	if (side_flush_out(&c->server) < 0) {
		conn_next_hop(c, 502, "ERR_CONNECT_FAIL", strerror(errno));
		return;
	}
	while (c->server.in != NULL && buf_len(c->server.in) > 0) {
		switch (http_head_find_end(&t->resp_scan, buf_data(c->server.in),
		                           buf_len(c->server.in), &head_len,
		                           &why)) {
		case PARSE_AGAIN:
			if (!buf_is_full(c->server.in) && !c->server.eof)
				return;
			why = "no complete answer";
			goto garbage;
		case PARSE_ERROR:
			goto garbage;
		case PARSE_OK:
			break;
		}
		if (http_parse_response(buf_data(c->server.in), head_len, &h,
		                        &why) != PARSE_OK)
			goto garbage;
		if (h.status < 200) { /* interim: the answer follows */
			buf_consume(c->server.in, head_len);
			memset(&t->resp_scan, 0, sizeof(t->resp_scan));
			continue;
		}
		if (h.status >= 300) {
			snprintf(reason, sizeof(reason),
			         "cache_peer %s refused the tunnel: %d %.*s",
			         p->name, h.status, (int)h.reason.len,
			         h.reason.p);
			conn_reply(c, 502, "ERR_CONNECT_FAIL", reason);
			return;
		}
		/* What follows the head is the server's, for the client. */
		buf_consume(c->server.in, head_len);
		c->server.nread = buf_len(c->server.in);
		c->server.nwritten = 0;
		conn_log(c, LOG_DEBUG, "cache_peer %s: tunnel to %s:%u", p->name,
		         t->target.host, (unsigned)t->target.port);
		t->peer_tunnel = true;
		peer_health_ok(c->worker->peer_health, p->key);
		conn_server_ready(c);
		return;
	}
	if (c->server.eof)
		conn_next_hop(c, 502, "ERR_CONNECT_FAIL",
		              "the cache_peer closed the connection before "
		              "answering the CONNECT");
	return;
garbage:
	snprintf(reason, sizeof(reason),
	         "cache_peer %s answered the CONNECT with garbage: %s", p->name,
	         why);
	conn_reply(c, 502, "ERR_INVALID_RESP", reason);
}

/*
 * Gives an idle server connection still attached to c to the shared pool
 * (or closes it when it cannot be reused).
 */
static void
conn_release_server(struct conn *c)
{
	struct ev_loop *loop = c->worker->loop;

	if (c->server.fd < 0)
		return;
	/* A TLS parent's session stays with the client that made it. */
	if (c->server_key != NULL && !c->server_private && !c->server.eof &&
	    !c->worker->stopping && c->server.tls == NULL &&
	    (c->server.in == NULL || buf_len(c->server.in) == 0)) {
		ev_io_stop(loop, &c->server.io);
		upstream_pool_put(c->worker->pool, c->server_key, c->server.fd,
		                  &c->server_addr);
		c->server.fd = -1;
	}
	side_clear(loop, &c->server);
	free(c->server_key);
	c->server_key = NULL;
	c->server_private = false;
}

/*
 * Starts the server side: a persistent connection from the pool when there
 * is one (not for CONNECT, and not when retrying after a stale one), else
 * DNS and a new connection.
 */
static void
conn_go_upstream(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *peer;
	const char             *key, *host;
	uint16_t                port;
	int                     fd = -1;
	bool                    reuse;

	if (c->bumped) {
		/* Pinned: the server of the handshake, or none at all. */
		if (c->server.fd < 0) {
			conn_reply(c, 502, "ERR_READ_ERROR",
			           "the server closed the bumped connection");
			return;
		}
		sockaddr_ip(&c->server_addr, t->peer, sizeof(t->peer));
		t->server_reused = false; /* no retry on a new connection */
		conn_server_ready(c);
		return;
	}
	/* Before the answer to step 1 or to Max-Forwards, DNS decides. */
	if (!t->routed && !t->tls.step1_pending && t->mf_reply == NULL &&
	    conn_route(c) < 0)
		return;
	peer = conn_hop_peer(c);
	key = conn_pool_key(c);
	/*
	 * Only a request without a body can be resent if the persistent
	 * connection turns out stale, and a pooled connection's address was
	 * not checked against this client's dst ACLs: those take a new one,
	 * unless it is a parent's and the server's name passed them.
	 */
	reuse = !t->is_connect && t->req_done && t->retries == 0 &&
	        (!t->dst_acl || (peer != NULL && t->origin_checked));

	/* An intercepted Host is checked (by DNS) before any reuse. */
	if (c->intercepted && !t->fake_connect && !t->host_checked)
		reuse = false;

	if (c->server.fd >= 0) {
		/* The server of the previous request, still attached. */
		if (reuse && strcmp(c->server_key, key) == 0) {
			free(c->server_key);
			c->server_key = NULL;
			sockaddr_ip(&c->server_addr, t->peer, sizeof(t->peer));
			t->server_reused = true;
			conn_server_ready(c);
			return;
		}
		conn_release_server(c);
	}
	if (reuse)
		fd = upstream_pool_get(c->worker->pool, key, &c->server_addr);
	if (fd >= 0) {
		side_set_fd(c, &c->server, fd);
		sockaddr_ip(&c->server_addr, t->peer, sizeof(t->peer));
		t->server_reused = true;
		conn_server_ready(c);
		return;
	}
	t->server_reused = false;
	/* The parent, once the server's name has passed the dst ACLs. */
	t->resolving_peer = peer != NULL && (!t->dst_acl || t->origin_checked);
	host = t->resolving_peer ? peer->host : t->target.host;
	port = t->resolving_peer ? peer->port : t->target.port;
	c->action = "resolving";
	c->resolve.cb = conn_resolved_cb;
	c->resolve.data = c;
	switch (resolve_start(c->worker->resolver, &c->resolve, host, port)) {
	case RESOLVE_DONE:
		conn_resolved(c);
		return;
	case RESOLVE_PENDING:
		c->state = CONN_RESOLVING;
		return;
	case RESOLVE_FAILED:
		if (t->resolving_peer)
			conn_next_hop(c, 503, "ERR_DNS_FAIL", c->resolve.error);
		else if (c->intercepted)
			conn_resolved(c); /* the original destination stands */
		else
			conn_unresolved(c, c->resolve.error);
		return;
	}
}

/*
 * http_access with dst as the server address (NULL: not known yet).  A
 * proxy_auth acl without the user stops it with *wait ACL_NEED_AUTH, but
 * on an intercepted connection (the client does not know there is a proxy
 * to log in to: Squid refuses proxy authentication there too) and inside
 * a bump (no client asks a server it thinks it talks to for a 407), where
 * it never matches.
 */
static enum access_action
conn_check_access(struct conn *c, const struct sockaddr_storage *dst,
                  const struct access_rule **rule, enum acl_verdict *wait)
{
	struct acl_ctx ctx;

	conn_acl_ctx(c, &ctx, dst);
	if (ctx.auth == ACL_AUTH_NONE && !c->intercepted && !c->bumped)
		ctx.auth = ACL_AUTH_NEEDED;
	return access_evaluate(&c->conf->http_access, &ctx, ACCESS_DENY, rule,
	                       wait);
}

/* May the transaction go to address a?  Only for dst ACLs. */
static bool
conn_dst_allowed(struct conn *c, const struct sockaddr_storage *a)
{
	const struct access_rule *rule = NULL;
	enum acl_verdict          wait;

	return conn_check_access(c, a, &rule, &wait) == ACCESS_ALLOW;
}

/* What waits for an auth helper's answer. */
enum auth_resume {
	AUTH_RESUME_REQUEST = 0, /* conn_request(): http_access before DNS */
	AUTH_RESUME_RESOLVED,    /* conn_resolved(): dst acls */
	AUTH_RESUME_UNRESOLVED,  /* conn_unresolved(): dst acls, no address */
};

/* 407 with Proxy-Authenticate (RFC 9110 11.7.1): log in, or again. */
static void
conn_challenge(struct conn *c)
{
	struct txn *t = &c->txn;

	t->result = "TCP_DENIED";
	conn_reply_realm(c, 407, "ERR_CACHE_ACCESS_DENIED",
	                 t->auth_why != NULL ? t->auth_why
	                                     : "proxy authentication required",
	                 c->conf->auth.realm);
}

/* The answer of c->auth (a helper's, the cache's, or a failure). */
static void
conn_auth_result(struct conn *c)
{
	struct txn            *t = &c->txn;
	const struct auth_req *r = &c->auth;
	char                   user[128], msg[128];

	log_escape(r->user, strlen(r->user), user, sizeof(user));
	log_escape(r->message, strlen(r->message), msg, sizeof(msg));
	if (r->ok) {
		if ((t->user = strdup(r->user)) == NULL) {
			conn_fail(c, CONN_ERR_NOMEM);
			return;
		}
		conn_log(c, LOG_DEBUG, "proxy auth: user %s", user);
		return;
	}
	t->auth_failed = true;
	if (r->error != NULL) {
		/* Squid: a broken helper is a failed login, and logged. */
		t->auth_why = "the proxy could not check the credentials";
		conn_log(c, LOG_WARNING, "proxy auth: user %s: %s%s%s", user,
		         r->error, msg[0] != '\0' ? ": " : "", msg);
	} else {
		t->auth_why = "the user name or password was not accepted";
		conn_log(c, LOG_INFO, "proxy auth: user %s: refused%s%s", user,
		         msg[0] != '\0' ? ": " : "", msg);
	}
}

/*
 * A proxy_auth acl needs the user: checks the request's credentials, at
 * once from the worker's cache, or by a helper (CONN_AUTH until it
 * answers, then resume goes on).  0 when the user or the failure is known
 * now; -1 when the conn waits, or after a 407 (no credentials, or they
 * failed).
 */
static int
conn_authenticate(struct conn *c, enum auth_resume resume)
{
	struct txn       *t = &c->txn;
	struct auth_basic cred;
	const char       *why = NULL;
	enum auth_status  st;

	if (!t->auth_failed && t->credentials == NULL) {
		t->auth_failed = true; /* the first request of most clients */
		t->auth_why = NULL;
	}
	if (!t->auth_failed) {
		switch (auth_basic_parse(t->credentials, strlen(t->credentials),
		                         &cred, &why)) {
		case AUTH_BASIC_OK:
			break;
		case AUTH_BASIC_OTHER:
			why = "only Basic credentials are accepted";
			__attribute__((fallthrough));
		case AUTH_BASIC_INVALID:
			conn_log(c, LOG_INFO, "proxy auth: %s", why);
			t->auth_failed = true;
			t->auth_why = why;
			break;
		}
	}
	if (t->credentials != NULL) { /* needed no more */
		explicit_bzero(t->credentials, strlen(t->credentials));
		free(t->credentials);
		t->credentials = NULL;
	}
	if (t->auth_failed) {
		conn_challenge(c);
		return -1;
	}
	c->auth.cb = conn_auth_cb;
	c->auth.data = c;
	st = auth_start(c->worker->auth, &c->auth, &cred);
	auth_basic_wipe(&cred);
	if (st == AUTH_DONE) {
		conn_auth_result(c);
		return c->state == CONN_CLOSING ? -1 : 0;
	}
	c->auth_resume = (int)resume;
	c->action = "waiting for the authentication helper";
	/* a backstop: the helpers' own timeout is read_timeout */
	c->deadline = ev_now(c->worker->loop) + 1.0 +
	              (double)c->conf->read_timeout / 1000.0;
	c->state = CONN_AUTH;
	return -1;
}

/*
 * http_access, authenticating first when a proxy_auth acl needs the user:
 * 0 with the verdict in *action (*need_dst: it waits for the server's
 * address); -1 while the conn waits for a helper, or after a 407.
 */
static int
conn_http_access(struct conn *c, const struct sockaddr_storage *dst,
                 enum auth_resume resume, enum access_action *action,
                 const struct access_rule **rule, bool *need_dst)
{
	enum acl_verdict wait;

	for (;;) {
		*action = conn_check_access(c, dst, rule, &wait);
		*need_dst = wait == ACL_NEED_DST;
		if (wait != ACL_NEED_AUTH)
			return 0;
		if (conn_authenticate(c, resume) < 0)
			return -1;
	}
}

/*
 * Denied by rule (NULL: the default).  Squid's rule: a deny line whose
 * last acl is a proxy_auth one challenges again (407), so that the user
 * may log in as someone allowed; not where no client can answer one.
 */
static void
conn_deny(struct conn *c, const struct access_rule *rule)
{
	conn_log(c, LOG_DEBUG, "denied by %s",
	         rule != NULL ? rule->where : "the default rule");
	c->txn.result = "TCP_DENIED";
	if (access_rule_challenges(rule) && !c->intercepted && !c->bumped) {
		conn_challenge(c);
		return;
	}
	if (access_rule_challenges(rule) && c->bumped) {
		/* Squid answers 403 with this page inside a bump */
		conn_reply(c, 403, "ERR_CACHE_ACCESS_DENIED",
		           "proxy authentication is not possible inside an "
		           "intercepted TLS connection");
		return;
	}
	conn_reply(c, 403, "ERR_ACCESS_DENIED",
	           "Access to this URL is denied by the proxy's access rules.");
}

/*
 * http_access before DNS: false if denied (reply sent), or while it waits
 * for an auth helper (then conn_request_resume()).  When an ACL needs the
 * server address, the verdict waits for conn_resolved(), and every
 * address is checked before bascule connects to it.
 */
static bool
conn_access_allowed(struct conn *c)
{
	const struct access_rule *rule = NULL;
	enum access_action        a;
	bool                      need_dst;

	if (conn_http_access(c, NULL, AUTH_RESUME_REQUEST, &a, &rule,
	                     &need_dst) < 0)
		return false;
	if (a == ACCESS_ALLOW || need_dst) {
		c->txn.dst_acl = need_dst;
		return true;
	}
	conn_deny(c, rule);
	return false;
}

/* Sends the prepared answer to Max-Forwards: 0 (RFC 9110 7.6.2). */
static void
conn_reply_max_forwards(struct conn *c)
{
	struct txn *t = &c->txn;

	buf_free(c->client.out);
	c->client.out = t->mf_reply;
	t->mf_reply = NULL;
	t->status = 200;
	t->result = "TCP_MISS";
	t->bytes_to_client = buf_len(c->client.out);
	conn_log_txn(c);
	c->action = "answering Max-Forwards: 0";
	c->state = CONN_REPLY;
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->read_timeout / 1000.0;
}

/*
 * An intercepted request's Host must name its original destination (CVE-
 * 2009-0801: else a client could reach any site past the firewall's view).
 * bascule always connects to the original destination; on a mismatch
 * host_verify_strict answers 409 instead, as Squid does.  false if it did.
 */
static bool
conn_host_verified(struct conn *c)
{
	struct txn *t = &c->txn;
	bool        match = false;
	char        ip[64];

	for (size_t i = 0; !match && i < c->resolve.naddrs; i++) {
		struct sockaddr_storage a = c->resolve.addrs[i];

		sockaddr_unmap(&a);
		match = same_host(&a, &c->orig_dst);
	}
	if (match && t->target.port == conn_orig_port(c))
		return true;
	sockaddr_ip(&c->orig_dst, ip, sizeof(ip));
	if (c->conf->host_verify_strict) {
		conn_reply(c, 409, "ERR_CONFLICT_HOST",
		           "the Host header does not match the original "
		           "destination");
		return false;
	}
	conn_log(c, LOG_INFO, "Host %s:%u is not the original destination "
	                      "%s:%u: going there",
	         t->target.host, (unsigned)t->target.port, ip,
	         (unsigned)conn_orig_port(c));
	return true;
}

/* The server's addresses are known: check dst ACLs, then connect. */
static void
conn_resolved(struct conn *c)
{
	struct txn               *t = &c->txn;
	const struct access_rule *rule = NULL;
	bool                      any = !t->dst_acl, need_dst;
	enum access_action        a;

	c->addr_next = 0;
	c->connect_errno = 0;
	if (t->resolving_peer) {
		conn_connect_next(c);
		return;
	}
	if (c->intercepted && !t->fake_connect && !t->host_checked) {
		if (!conn_host_verified(c))
			return; /* 409 sent */
		t->host_checked = true;
		if (!t->is_connect && !t->dst_acl && t->req_done &&
		    t->retries == 0 && t->mf_reply == NULL) {
			conn_go_upstream(c); /* now a pooled one will do */
			return;
		}
	}
	if (c->intercepted)
		any = true; /* dst acls see the original destination */
	for (size_t i = 0; !any && i < c->resolve.naddrs; i++) {
		if (conn_http_access(c, &c->resolve.addrs[i],
		                     AUTH_RESUME_RESOLVED, &a, &rule,
		                     &need_dst) < 0)
			return; /* conn_auth_cb() comes back here, or 407 */
		any = a == ACCESS_ALLOW;
	}
	if (!any) {
		conn_deny(c, rule);
		return;
	}
	t->origin_checked = true;
	if (t->mf_reply != NULL) {
		conn_reply_max_forwards(c);
		return;
	}
	if (t->tls.step1_pending) { /* http_access allowed the CONNECT */
		t->tls.step1_pending = false;
		conn_bump_step1(c);
		return;
	}
	if (conn_hop_peer(c) != NULL) {
		conn_go_upstream(c); /* on to the parent */
		return;
	}
	conn_connect_next(c);
}

/*
 * The server's name did not resolve.  Without parents that is the end;
 * with them, as in Squid, a dst ACL then matches nothing, and a parent
 * may still take the request.
 */
static void
conn_unresolved(struct conn *c, const char *error)
{
	struct txn               *t = &c->txn;
	const struct access_rule *rule = NULL;
	bool                      need_dst;
	enum access_action        a;

	if (c->conf->npeers == 0) {
		conn_reply(c, 503, "ERR_DNS_FAIL", error);
		return;
	}
	t->origin_unknown = true;
	c->auth_dns_error = error; /* static text, for a resume */
	if (t->dst_acl) {
		if (conn_http_access(c, NULL, AUTH_RESUME_UNRESOLVED, &a, &rule,
		                     &need_dst) < 0)
			return; /* conn_auth_cb() comes back here, or 407 */
		if (a != ACCESS_ALLOW) {
			conn_deny(c, rule);
			return;
		}
	}
	t->origin_checked = true;
	if (t->mf_reply != NULL) {
		conn_reply_max_forwards(c);
	} else if (t->tls.step1_pending) {
		t->tls.step1_pending = false;
		conn_bump_step1(c);
	} else if (conn_hop_peer(c) != NULL) {
		conn_go_upstream(c); /* the parent resolves it */
	} else {
		conn_next_hop(c, 503, "ERR_DNS_FAIL", error);
	}
}

static void
conn_resolved_cb(struct resolve_req *req)
{
	struct conn *c = req->data;

	if (req->naddrs == 0 && c->txn.resolving_peer)
		conn_next_hop(c, 503, "ERR_DNS_FAIL",
		              req->error ? req->error : "name resolution failed");
	else if (req->naddrs == 0 && !c->intercepted)
		conn_unresolved(c, req->error ? req->error
		                              : "name resolution failed");
	else
		conn_resolved(c);
	if (c->state != CONN_CLOSING)
		conn_run(c);
	conn_after(c->worker->loop, c);
}

/* Fields a TRACE echo leaves out (RFC 9110 9.3.8: sensitive data). */
static bool
is_sensitive(struct http_span name)
{
	return http_span_eq(name, "Proxy-Authorization") ||
	       http_span_eq(name, "Authorization") ||
	       http_span_eq(name, "Cookie");
}

/*
 * The answer of the last proxy to OPTIONS or TRACE with Max-Forwards: 0:
 * the methods we relay, or the request as received less sensitive fields.
 */
static struct buf *
max_forwards_reply(const struct txn *t, const struct http_head *h)
{
	bool        trace = method_is(t, "TRACE");
	struct buf *body = NULL, *out;
	char        head[512];
	size_t      blen = 0;
	int         n;

	if (trace) {
		/* "Name:value" comes back as "Name: value": room for that. */
		if ((body = buf_new(h->head_len + 2 * h->nheaders + 2)) == NULL)
			return NULL;
		/* The request line, as received, ends where the fields begin. */
		buf_append(body, h->method.p,
		           h->nheaders > 0
		                   ? (size_t)(h->headers[0].name.p - h->method.p)
		                   : h->head_len - 2);
		for (size_t i = 0; i < h->nheaders; i++) {
			const struct http_header *f = &h->headers[i];

			if (is_sensitive(f->name))
				continue;
			buf_append(body, f->name.p, f->name.len);
			buf_append(body, ": ", 2);
			buf_append(body, f->value.p, f->value.len);
			buf_append(body, "\r\n", 2);
		}
		buf_append(body, "\r\n", 2);
		blen = buf_len(body);
	}
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 200 OK\r\nServer: bascule\r\n"
	             "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	             trace ? "Content-Type: message/http"
	                   : "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, "
	                     "PATCH, TRACE, CONNECT",
	             blen);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    (out = buf_new((size_t)n + blen + 1)) == NULL) {
		buf_free(body);
		return NULL;
	}
	buf_append(out, head, (size_t)n);
	if (body != NULL)
		buf_append(out, buf_data(body), blen);
	buf_free(body);
	return out;
}

static uint16_t
sockaddr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6
	                     ? ((const struct sockaddr_in6 *)ss)->sin6_port
	                     : ((const struct sockaddr_in *)ss)->sin_port);
}

static uint16_t
conn_orig_port(const struct conn *c)
{
	return sockaddr_port(&c->orig_dst);
}

/* The URL of an intercepted request, for the log: "http://host[:port]/p". */
static int
conn_intercepted_url(struct conn *c)
{
	struct txn *t = &c->txn;
	char       *url = NULL;
	char        port[8] = "";
	int         n;

	if (t->target.port != 80)
		snprintf(port, sizeof(port), ":%u", (unsigned)t->target.port);
	if (t->target.is_ipv6)
		n = asprintf(&url, "http://[%s]%s%.*s", t->target.host, port,
		             (int)t->target.path.len, t->target.path.p);
	else
		n = asprintf(&url, "http://%s%s%.*s", t->target.host, port,
		             (int)t->target.path.len, t->target.path.p);
	if (n < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	free(t->url);
	t->url = url;
	return 0;
}

/*
 * A request inside a bump goes to the pinned server whatever its Host
 * says: its URL, which the log and the acls see, is that server's as
 * Squid makes it, "https://" and the SNI (else the CONNECT host), port
 * and path.
 */
static int
conn_bumped_url(struct conn *c)
{
	struct txn *t = &c->txn;
	char       *url = NULL;
	char        port[8] = "";
	int         n;

	snprintf(t->target.host, sizeof(t->target.host), "%s", c->bump_host);
	t->target.is_ipv6 = c->bump_host_v6;
	t->target.port = c->bump_port;
	if (t->target.port != 443)
		snprintf(port, sizeof(port), ":%u", (unsigned)t->target.port);
	n = asprintf(&url, t->target.is_ipv6 ? "https://[%s]%s%.*s"
	                                     : "https://%s%s%.*s",
	             t->target.host, port, (int)t->target.path.len,
	             t->target.path.p);
	if (n < 0) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	free(t->url);
	t->url = url;
	return 0;
}

/* The language of our error pages for this request. */
static const struct errpage_lang *
request_language(const struct http_head *h)
{
	struct errpage_nego n;
	bool                any = false;

	memset(&n, 0, sizeof(n));
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (f->name.len == 15 && http_span_eq(f->name, "accept-language")) {
			errpage_nego_feed(&n, f->value.p, f->value.len);
			any = true;
		}
	}
	return any ? errpage_nego_pick(&n) : errpage_default();
}

/* login=PASSTHRU: the client's credentials for the parent. */
static int
conn_keep_client_auth(struct conn *c, const struct http_head *h)
{
	const struct http_header *f;
	bool                      passthru = false;

	for (size_t i = 0; i < c->conf->npeers; i++)
		passthru |= c->conf->peers[i].login_passthru;
	if (!passthru || c->intercepted || c->bumped ||
	    (f = http_head_get(h, "Proxy-Authorization")) == NULL)
		return 0;
	if ((c->txn.client_auth = span_dup(f->value)) == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	return 0;
}

/*
 * Keeps what proxy_auth acls need: the value of the client's first
 * Proxy-Authorization field with the Basic scheme (RFC 9110 11.6.2; else
 * its first, which then fails), checked only if an acl asks for the user,
 * and wiped once checked.  Inside a bump, the CONNECT's user stands (as in
 * Squid): the client sends no credentials to a server.  Intercepted
 * clients never authenticate.
 */
static int
conn_keep_credentials(struct conn *c, const struct http_head *h)
{
	struct txn               *t = &c->txn;
	const struct http_header *f = NULL;

	if (c->bumped) {
		if (c->bump_user != NULL &&
		    (t->user = strdup(c->bump_user)) == NULL)
			goto nomem;
		return 0;
	}
	if (c->intercepted || c->conf->auth.argv == NULL)
		return 0;
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct http_header *g = &h->headers[i];

		if (!http_span_eq(g->name, "Proxy-Authorization"))
			continue;
		if (f == NULL)
			f = g;
		if (g->value.len > 6 &&
		    strncasecmp(g->value.p, "Basic ", 6) == 0) {
			f = g;
			break;
		}
	}
	if (f == NULL)
		return 0;
	if (f->value.len > AUTH_FIELD_MAX) {
		t->auth_failed = true;
		t->auth_why = "Basic credentials too long";
		return 0;
	}
	if ((t->credentials = span_dup(f->value)) == NULL)
		goto nomem;
	return 0;
nomem:
	conn_fail(c, CONN_ERR_NOMEM);
	return -1;
}

static void conn_request_go(struct conn *c, const struct http_head *h);

/* A complete request head is at the front of client.in. */
static void
conn_request(struct conn *c, const struct http_head *h)
{
	struct txn *t = &c->txn;
	const char *why = NULL;

	txn_clear(t);
	t->tls.action = -1;
	resolve_cancel(&c->resolve);
	memset(&c->resolve, 0, sizeof(c->resolve));
	c->server_errno = 0;
	c->txn_active = true;
	t->start = now_realtime();
	t->client_minor = h->version_minor;
	t->lang = request_language(h);
	t->method = span_dup(h->method);
	t->url = span_dup(h->target);
	if (t->method == NULL || t->url == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	t->is_connect = method_is(t, "CONNECT");
	t->is_head = method_is(t, "HEAD");
	t->has_auth = http_head_get(h, "Authorization") != NULL;
	c->action = "checking the request";

	if (http_request_framing(h, &t->req, &why) != PARSE_OK) {
		conn_reply(c, 400, "ERR_INVALID_REQ", why);
		return;
	}
	if ((c->intercepted || c->bumped) && t->is_connect) {
		conn_reply(c, 400, "ERR_INVALID_REQ",
		           c->bumped ? "CONNECT inside a bumped connection"
		                     : "CONNECT on an intercepting port");
		return;
	}
	if ((c->intercepted || c->bumped
	             ? http_proxy_parse_intercepted(h, &t->target, &why)
	             : http_proxy_parse_target(h, t->is_connect, &t->target,
	                                       &why)) < 0) {
		conn_reply(c, 400, "ERR_INVALID_URL", why);
		return;
	}
	if (c->bumped ? conn_bumped_url(c) < 0
	              : c->intercepted && conn_intercepted_url(c) < 0)
		return;
	if (c->bump_fail != 0) {
		/* Bumped to tell the client why its server is out of reach. */
		t->client_keep_alive = false;
		conn_reply(c, c->bump_fail, c->bump_fail_code,
		           c->bump_fail_reason);
		return;
	}
	/* RFC 9112 9.3: no persistent connection with an HTTP/1.0 client. */
	t->client_keep_alive = t->req.keep_alive && t->client_minor >= 1 &&
	                       !c->worker->stopping;
	t->head_len = h->head_len;
	if (conn_keep_credentials(c, h) < 0 || !conn_access_allowed(c))
		return;
	conn_request_go(c, h);
}

/*
 * An auth helper answered what http_access asked before DNS: on with the
 * request.  Its head is still at the front of client.in, which nothing
 * read into meanwhile (CONN_AUTH reads nothing), so the spans of the
 * transaction still point into it.
 */
static void
conn_request_resume(struct conn *c)
{
	struct http_head h;
	const char      *why = NULL;

	if (!conn_access_allowed(c))
		return;
	if (http_parse_request(buf_data(c->client.in), c->txn.head_len, &h,
	                       &why) != PARSE_OK) {
		assert(!"a request head parsed once fails to parse again");
		conn_fail(c, CONN_ERR_PROTOCOL);
		return;
	}
	conn_request_go(c, &h);
}

/* The request h passed http_access: its route, its heads, then on. */
static void
conn_request_go(struct conn *c, const struct http_head *h)
{
	struct txn *t = &c->txn;
	char        key[HOSTNAME_MAX + 16];
	int         n;

	if (c->intercepted) { /* pooled by where it really goes */
		char ip[64];

		sockaddr_ip(&c->orig_dst, ip, sizeof(ip));
		n = snprintf(key, sizeof(key), "%s|%u", ip,
		             (unsigned)conn_orig_port(c));
	} else {
		n = snprintf(key, sizeof(key),
		             t->target.is_ipv6 ? "[%s]:%u" : "%s:%u",
		             t->target.host, (unsigned)t->target.port);
	}
	if (n < 0 || (size_t)n >= sizeof(key) || (t->key = strdup(key)) == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	if (http_proxy_max_forwards(h) == 0) {
		t->mf_reply = max_forwards_reply(t, h);
		buf_consume(c->client.in, h->head_len);
		if (t->mf_reply == NULL)
			conn_fail(c, CONN_ERR_NOMEM);
		else if (!t->dst_acl)
			conn_reply_max_forwards(c);
		else
			conn_go_upstream(c); /* resolve, check, then answer */
		return;
	}
	if (conn_keep_client_auth(c, h) < 0)
		return;
	if (!t->is_connect) {
		if (conn_route(c) < 0)
			return;
		if (conn_build_heads(c, h) < 0) {
			conn_reply(c, 431, "ERR_TOO_BIG", "request header too large");
			return;
		}
	}
	buf_consume(c->client.in, h->head_len);
	switch (t->req.body) {
	case HTTP_BODY_LENGTH:
		t->req_left = t->req.content_length;
		t->req_done = t->req_left == 0;
		break;
	case HTTP_BODY_CHUNKED:
		http_chunked_init(&t->req_chunked);
		break;
	case HTTP_BODY_NONE:
	case HTTP_BODY_CLOSE:
		t->req_done = true;
		break;
	}
	if (t->is_connect)
		t->req_done = true; /* what follows is tunnel data */
	t->result = t->is_connect ? "TCP_TUNNEL" : "TCP_MISS";
	if (t->is_connect && (c->listener->flags & LISTEN_SSL_BUMP)) {
		if (t->dst_acl) { /* http_access decides after DNS, first */
			t->tls.step1_pending = true;
			conn_go_upstream(c);
		} else {
			conn_bump_step1(c);
		}
	} else {
		conn_go_upstream(c);
	}
}

/* Goes on with what waited for c->auth's answer. */
static void
conn_auth_resume(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->action = "checking the request";
	c->deadline = 0; /* CONN_AUTH's: the next head's runs from its start */
	switch ((enum auth_resume)c->auth_resume) {
	case AUTH_RESUME_REQUEST:
		c->state = CONN_REQ_HEAD; /* where conn_request() ran */
		conn_request_resume(c);
		break;
	case AUTH_RESUME_RESOLVED:
		c->state = CONN_RESOLVING;
		conn_resolved(c);
		break;
	case AUTH_RESUME_UNRESOLVED:
		c->state = CONN_RESOLVING;
		conn_unresolved(c, c->auth_dns_error);
		break;
	}
}

/* CONN_AUTH: the helper answered, or failed. */
static void
conn_auth_cb(struct auth_req *req)
{
	struct conn *c = req->data;

	conn_auth_result(c);
	conn_auth_resume(c);
	if (c->state != CONN_CLOSING)
		conn_run(c);
	conn_after(c->worker->loop, c);
}

/* The client left in the middle of a request head: Squid's NONE_NONE/000. */
static void
conn_abandoned(struct conn *c)
{
	conn_log(c, LOG_INFO, "client closed after %zu bytes of a request head",
	         buf_len(c->client.in));
	c->txn_active = true;
	c->txn.start = now_realtime();
	c->txn.result = "NONE_NONE";
	conn_fail(c, CONN_ERR_CLIENT_EOF);
}

static void
conn_req_head(struct conn *c)
{
	struct http_head h;
	const char      *why = NULL;
	size_t           head_len, max = (size_t)c->conf->request_header_max_size;
	enum parse_result r;

	if (c->server.fd >= 0 &&
	    (c->server.eof || (c->server.in != NULL && buf_len(c->server.in) > 0)))
	{
		side_clear(c->worker->loop, &c->server); /* unusable now */
		free(c->server_key);
		c->server_key = NULL;
	}
	if (c->bumped && c->server.fd < 0 && c->bump_fail == 0) {
		/* The pinned server left: so does the client, as in Squid. */
		c->state = CONN_CLOSING;
		return;
	}
	if (c->client.in == NULL || buf_len(c->client.in) == 0) {
		if (c->client.eof)
			c->state = CONN_CLOSING; /* clean close between requests */
		return;
	}
	c->action = "reading the request";
	if (c->deadline == 0) /* request_timeout runs from the first byte */
		c->deadline = ev_now(c->worker->loop) +
		              (double)c->conf->request_timeout / 1000.0;
	r = http_head_find_end(&c->req_scan, buf_data(c->client.in),
	                       buf_len(c->client.in), &head_len, &why);
	if (r == PARSE_AGAIN) {
		if (buf_len(c->client.in) >= max || buf_is_full(c->client.in))
			conn_reply(c, 431, "ERR_TOO_BIG",
			           "request header too large");
		else if (c->client.eof)
			conn_abandoned(c);
		return;
	}
	memset(&c->req_scan, 0, sizeof(c->req_scan));
	c->deadline = 0;
	if (r == PARSE_OK && head_len > max) {
		conn_reply(c, 431, "ERR_TOO_BIG", "request header too large");
		return;
	}
	if (r == PARSE_OK)
		r = http_parse_request(buf_data(c->client.in), head_len, &h, &why);
	if (r != PARSE_OK) {
		conn_reply(c, 400, "ERR_INVALID_REQ", why ? why : "malformed");
		return;
	}
	conn_request(c, &h);
}

/* ------------------------------------------------------------------ */
/* Forwarding: request body out, response back */

/*
 * Approves request-body bytes at the front of client.in for forwarding, as
 * far as the framing says they belong to this request.  -1 on a malformed
 * chunked body.
 */
static int
conn_approve_request(struct conn *c)
{
	struct txn    *t = &c->txn;
	const uint8_t *p;
	size_t         avail, consumed, off, dlen;
	const char    *why = NULL;

	if (t->req_done || c->client.in == NULL)
		return 0;
	avail = buf_len(c->client.in) - t->req_pass;
	p = buf_data(c->client.in) + t->req_pass;
	if (t->req.body == HTTP_BODY_LENGTH) {
		uint64_t n = avail < t->req_left ? avail : t->req_left;

		t->req_pass += (size_t)n;
		t->req_left -= n;
		t->req_done = t->req_left == 0;
		return 0;
	}
	while (avail > 0 && !t->req_done) {
		switch (http_chunked_parse(&t->req_chunked, p, avail, &consumed,
		                           &off, &dlen, &why)) {
		case PARSE_OK:
			t->req_done = true;
			break;
		case PARSE_AGAIN:
			break;
		case PARSE_ERROR:
			conn_log(c, LOG_INFO, "request body: %s", why);
			return -1;
		}
		t->req_pass += consumed;
		p += consumed;
		avail -= consumed;
		if (consumed == 0)
			break;
	}
	return 0;
}

/* Approves response-body bytes in server.in (or decodes into client.out). */
static int
conn_approve_response(struct conn *c)
{
	struct txn    *t = &c->txn;
	const uint8_t *p;
	size_t         avail, consumed, off, dlen, room;
	const char    *why = NULL;

	if (t->resp_done || c->server.in == NULL)
		return 0;
	avail = buf_len(c->server.in) - t->resp_pass;
	p = buf_data(c->server.in) + t->resp_pass;
	switch (t->resp.body) {
	case HTTP_BODY_NONE:
		t->resp_done = true;
		return 0;
	case HTTP_BODY_CLOSE:
		t->resp_pass += avail;
		/* A reset is not an end: the body may be cut short. */
		t->resp_done = c->server.eof && c->server_errno == 0;
		return 0;
	case HTTP_BODY_LENGTH: {
		uint64_t n = avail < t->resp_left ? avail : t->resp_left;

		t->resp_pass += (size_t)n;
		t->resp_left -= n;
		t->resp_done = t->resp_left == 0;
		return 0;
	}
	case HTTP_BODY_CHUNKED:
		break;
	}
	while (avail > 0 && !t->resp_done) {
		size_t len = avail;

		if (t->dechunk) {
			/* Decode into client.out; never more than fits. */
			room = c->client.out->cap - buf_len(c->client.out);
			if (room == 0)
				break;
			len = avail < room ? avail : room;
		}
		switch (http_chunked_parse(&t->resp_chunked, p, len, &consumed,
		                           &off, &dlen, &why)) {
		case PARSE_OK:
			t->resp_done = true;
			break;
		case PARSE_AGAIN:
			break;
		case PARSE_ERROR:
			conn_log(c, LOG_INFO, "response body: %s", why);
			return -1;
		}
		if (t->dechunk) {
			if (dlen > 0)
				buf_append(c->client.out, p + off, dlen);
			buf_consume(c->server.in, consumed);
			p = buf_data(c->server.in);
		} else {
			t->resp_pass += consumed;
			p += consumed;
		}
		avail -= consumed;
		if (consumed == 0)
			break;
	}
	return 0;
}

/* Sends the request head, then approved body bytes.  -1 on error. */
static int
conn_write_server(struct conn *c)
{
	struct txn *t = &c->txn;
	size_t      hlen = 0, head_part;
	ssize_t     n;

	if (t->req_head != NULL)
		hlen = buf_len(t->req_head) - t->req_head_sent;
	if (hlen == 0 && t->req_pass == 0)
		return 0;
	n = side_write2(&c->server,
	                hlen ? buf_data(t->req_head) + t->req_head_sent : NULL,
	                hlen, t->req_pass ? buf_data(c->client.in) : NULL,
	                t->req_pass);
	if (n < 0)
		return -1;
	head_part = (size_t)n < hlen ? (size_t)n : hlen;
	t->req_head_sent += head_part;
	if ((size_t)n > head_part) {
		buf_consume(c->client.in, (size_t)n - head_part);
		t->req_pass -= (size_t)n - head_part;
	}
	return 0;
}

/* Sends our head for the client, then approved body bytes.  -1 on error. */
static int
conn_write_client(struct conn *c)
{
	struct txn *t = &c->txn;
	size_t      hlen = c->client.out ? buf_len(c->client.out) : 0, head_part;
	ssize_t     n;

	if (hlen == 0 && t->resp_pass == 0)
		return 0;
	n = side_write2(&c->client, hlen ? buf_data(c->client.out) : NULL, hlen,
	                t->resp_pass ? buf_data(c->server.in) : NULL,
	                t->resp_pass);
	if (n < 0)
		return -1;
	t->bytes_to_client += (uint64_t)n;
	head_part = (size_t)n < hlen ? (size_t)n : hlen;
	if (head_part > 0)
		buf_consume(c->client.out, head_part);
	if ((size_t)n > head_part) {
		buf_consume(c->server.in, (size_t)n - head_part);
		t->resp_pass -= (size_t)n - head_part;
	}
	return 0;
}

/*
 * Parses the response head at the front of server.in.  Returns 1 after an
 * interim (1xx) response, 0 when waiting or done, -1 when a reply was sent.
 */
static int
conn_response_head(struct conn *c)
{
	struct txn       *t = &c->txn;
	struct http_head  h;
	struct http_rewrite rw;
	const struct http_header *ct;
	const char       *why = NULL;
	size_t            head_len;
	enum parse_result r;

	if (c->server.in == NULL || buf_len(c->server.in) == 0)
		return 0;
	r = http_head_find_end(&t->resp_scan, buf_data(c->server.in),
	                       buf_len(c->server.in), &head_len, &why);
	if (r == PARSE_AGAIN) {
		if (!buf_is_full(c->server.in) && !c->server.eof)
			return 0;
		why = buf_is_full(c->server.in) ? "response header too large"
		                                : "incomplete response header";
		r = PARSE_ERROR;
	}
	if (r == PARSE_OK)
		r = http_parse_response(buf_data(c->server.in), head_len, &h,
		                        &why);
	if (r == PARSE_OK)
		r = http_response_framing(&h, (struct http_span){ t->method,
		                                                  strlen(t->method) },
		                          &t->resp, &why);
	if (r != PARSE_OK || h.status == 101) {
		conn_reply(c, 502, "ERR_INVALID_RESP",
		           r != PARSE_OK ? why : "unexpected protocol switch");
		return -1;
	}
	memset(&t->resp_scan, 0, sizeof(t->resp_scan));
	t->resp_started = true; /* no retry once the server answered */
	if (h.status < 200) {
		/* 1xx: forward to HTTP/1.1 clients, then wait for the final one. */
		if (t->client_minor >= 1) {
			memset(&rw, 0, sizeof(rw));
			if (c->client.out == NULL &&
			    (c->client.out = buf_new(RESP_HEAD_MAX)) == NULL)
				goto nomem;
			if (http_proxy_response_head(&h, t->client_minor, false, &rw,
			                             c->client.out) < 0)
				goto toobig;
		}
		buf_consume(c->server.in, head_len);
		return 1; /* the final response may already be behind it */
	}
	t->status = h.status;
	t->resp_head_done = true;
	t->dechunk = t->resp.body == HTTP_BODY_CHUNKED && t->client_minor == 0;
	t->server_keep_alive = t->resp.keep_alive &&
	                       t->resp.body != HTTP_BODY_CLOSE;
	if (t->resp.body == HTTP_BODY_CLOSE || t->dechunk || !t->req_done)
		t->client_keep_alive = false;
	if (c->worker->stopping || (c->bumped && !t->server_keep_alive))
		t->client_keep_alive = false; /* a bump ends with its server */
	if ((ct = http_head_get(&h, "Content-Type")) != NULL) {
		char esc[256];

		log_escape(ct->value.p, ct->value.len, esc, sizeof(esc));
		t->content_type = strdup(esc);
	}
	memset(&rw, 0, sizeof(rw));
	rw.via = c->conf->via ? c->worker->via : NULL;
	rw.close = !t->client_keep_alive;
	/* Our head is the server's plus Via and Connection; dechunked data
	 * goes into the same buffer, so it gets room for that too. */
	if (c->client.out == NULL &&
	    (c->client.out = buf_new(t->dechunk ? RESP_HEAD_MAX
	                                        : head_len + HEAD_SLACK)) ==
	            NULL)
		goto nomem;
	if (http_proxy_response_head(&h, t->client_minor, t->dechunk, &rw,
	                             c->client.out) < 0)
		goto toobig;
	buf_consume(c->server.in, head_len);
	if (t->resp.body == HTTP_BODY_LENGTH)
		t->resp_left = t->resp.content_length;
	if (t->resp.body == HTTP_BODY_CHUNKED)
		http_chunked_init(&t->resp_chunked);
	c->action = "relaying the response";
	return 0;
nomem:
	conn_fail(c, CONN_ERR_NOMEM);
	return -1;
toobig:
	conn_reply(c, 502, "ERR_INVALID_RESP", "response header too large");
	return -1;
}

/*
 * After a spliced body the kernel may hold bytes we never read (a server
 * sending more than its Content-Length): a connection is reused only if
 * nothing at all is waiting on it.
 */
static bool
side_is_quiet(const struct conn_side *s)
{
	char    b;
	ssize_t n = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Ends a transaction whose response was delivered. */
static void
conn_txn_end(struct conn *c)
{
	struct txn             *t = &c->txn;
	const struct peer_conf *p = conn_hop_peer(c);
	bool                    keep;

	conn_log_txn(c);
	c->ntxn++;
	keep = t->server_keep_alive && t->req_done && t->req_pass == 0 &&
	       !c->server.eof && c->server_errno == 0 &&
	       c->conf->server_idle_pconn_timeout > 0 &&
	       (t->req_head == NULL ||
	        t->req_head_sent == buf_len(t->req_head)) &&
	       (c->server.in == NULL || buf_len(c->server.in) == 0) &&
	       (!t->resp_splice || side_is_quiet(&c->server));
	if (keep && c->bumped) {
		/* Pinned: never pooled, never given to another client. */
	} else if (keep && p != NULL) {
		/* Connection-based schemes (NTLM, Negotiate) would let the
		 * next client use these credentials. */
		c->server_private = p->login_passthru && t->client_auth != NULL;
		keep = (c->server_key = strdup(p->key)) != NULL;
	} else if (keep) {
		c->server_key = t->key;
		t->key = NULL;
	}
	if (keep) {
		/* Idle and reusable: keep it for this client's next request. */
		side_release_in(&c->server);
		c->server.pipe_full = false;
		c->server_idle_end = ev_now(c->worker->loop) +
		                     (double)c->conf->server_idle_pconn_timeout /
		                             1000.0;
	} else {
		side_clear(c->worker->loop, &c->server);
	}
	/* A client that half-closed may still have requests queued. */
	if (!t->client_keep_alive || c->worker->stopping ||
	    (c->bumped && !keep && c->bump_fail == 0) ||
	    (c->client.eof &&
	     (c->client.in == NULL || buf_len(c->client.in) == 0))) {
		c->state = CONN_CLOSING;
		return;
	}
	txn_clear(t);
	buf_free(c->client.out);
	c->client.out = NULL;
	side_release_in(&c->client);
	c->action = NULL;
	c->state = CONN_REQ_HEAD;
	c->idle_end = ev_now(c->worker->loop) +
	              (double)c->conf->client_idle_pconn_timeout / 1000.0;
}

/* The server failed or closed before its response was complete. */
static void
conn_server_failed(struct conn *c, int err)
{
	struct txn *t = &c->txn;

	if (err == 0)
		err = c->server_errno;
	if (!t->resp_started && t->server_reused && t->req_head != NULL &&
	    (t->req.body == HTTP_BODY_NONE ||
	     (t->req.body == HTTP_BODY_LENGTH && t->req.content_length == 0)) &&
	    t->retries < MAX_RETRIES &&
	    (c->server.in == NULL || buf_len(c->server.in) == 0)) {
		/* A stale persistent connection: resend on a new one. */
		conn_log(c, LOG_DEBUG, "persistent connection closed, retrying");
		side_clear(c->worker->loop, &c->server);
		c->server_errno = 0;
		t->retries++;
		t->req_head_sent = 0;
		conn_go_upstream(c);
		return;
	}
	if (!t->resp_head_done) {
		conn_reply(c, 502, "ERR_READ_ERROR",
		           err ? strerror(err)
		               : "the server closed the connection without "
		                 "a response");
		return;
	}
	t->result = "TCP_MISS_ABORTED";
	conn_log(c, LOG_INFO, "server: %s",
	         err ? strerror(err) : "closed before the end of the response");
	conn_fail(c, err ? CONN_ERR_SERVER_IO : CONN_ERR_SERVER_EOF);
}

/*
 * A large Content-Length or close-delimited response body, once the bytes
 * read with its head are delivered, moves from the server to the client
 * through a kernel pipe, as a tunnel does: no copy into user space.
 */
static bool
conn_can_splice_response(const struct conn *c)
{
	const struct txn *t = &c->txn;

	if (t->resp_splice || t->resp_done || t->dechunk || c->server.nosplice ||
	    c->server.tls != NULL || c->client.tls != NULL)
		return false;
	if (t->resp.body == HTTP_BODY_LENGTH ? t->resp_left < SPLICE_MIN
	                                     : t->resp.body != HTTP_BODY_CLOSE)
		return false;
	return t->resp_pass == 0 &&
	       (c->server.in == NULL || buf_len(c->server.in) == 0) &&
	       (c->client.out == NULL || buf_len(c->client.out) == 0);
}

/* Moves response body bytes through the server side's pipe.  -1: failed. */
static int
conn_splice_response(struct conn *c)
{
	struct txn        *t = &c->txn;
	struct conn_side  *s = &c->server;
	enum tunnel_status st;
	size_t             moved;

	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (s->pipe.len > 0) {
			st = tunnel_splice_out(&s->pipe, c->client.fd, &moved);
			c->client.nwritten += moved;
			t->bytes_to_client += moved;
			if (st == TUNNEL_ERROR) {
				conn_log(c, LOG_INFO, "write client: %s",
				         strerror(errno));
				t->result = "TCP_MISS_ABORTED";
				conn_fail(c, CONN_ERR_CLIENT_IO);
				return -1;
			}
			if (moved > 0)
				s->pipe_full = false;
		}
		if (s->eof || s->pipe_full ||
		    (t->resp.body == HTTP_BODY_LENGTH && t->resp_left == 0))
			break;
		st = tunnel_splice_in(&s->pipe, s->fd,
		                      t->resp.body == HTTP_BODY_LENGTH
		                              ? (size_t)(t->resp_left < SIZE_MAX
		                                                 ? t->resp_left
		                                                 : SIZE_MAX)
		                              : SIZE_MAX,
		                      &moved);
		s->nread += moved;
		if (t->resp.body == HTTP_BODY_LENGTH)
			t->resp_left -= moved;
		if (st == TUNNEL_OK)
			continue;
		if (st == TUNNEL_EOF) {
			s->eof = true;
			continue;
		}
		if (st == TUNNEL_AGAIN) {
			if (s->pipe.len > 0)
				s->pipe_full = true; /* see conn_pump() */
			break;
		}
		if (st == TUNNEL_NOSPLICE && s->pipe.len == 0) {
			s->nosplice = true; /* back to read(2) and write(2) */
			t->resp_splice = false;
			break;
		}
		c->server_errno = errno;
		s->eof = true;
	}
	if (s->pipe.len == 0) {
		if (t->resp.body == HTTP_BODY_LENGTH)
			t->resp_done = t->resp_left == 0;
		else
			t->resp_done = s->eof && c->server_errno == 0;
	}
	return 0;
}

static void
conn_forward(struct conn *c)
{
	struct txn *t = &c->txn;

	if (conn_approve_request(c) < 0) {
		if (!t->resp_head_done)
			conn_reply(c, 400, "ERR_INVALID_REQ",
			           "malformed chunked request body");
		else
			conn_fail(c, CONN_ERR_PROTOCOL);
		return;
	}
	if (c->client.eof && !t->req_done &&
	    (c->client.in == NULL || buf_len(c->client.in) == t->req_pass) &&
	    t->req_pass == 0) {
		conn_log(c, LOG_INFO, "client closed in the request body");
		t->result = "TCP_MISS_ABORTED";
		conn_fail(c, CONN_ERR_CLIENT_EOF);
		return;
	}
	if (c->server.fd >= 0 && conn_write_server(c) < 0) {
		int err = errno;

		if (c->server.in == NULL || buf_len(c->server.in) == 0) {
			conn_server_failed(c, err);
			return;
		}
		c->server.eof = true; /* read what it said before failing */
	}
	if (!t->resp_head_done) {
		int r;

		while ((r = conn_response_head(c)) == 1)
			;
		if (r < 0)
			return;
		if (!t->resp_head_done) {
			if (c->server.eof)
				conn_server_failed(c, 0);
			else if (conn_write_client(c) < 0) /* 100 Continue */
				conn_fail(c, CONN_ERR_CLIENT_IO);
			return;
		}
	}
	if (conn_approve_response(c) < 0) {
		t->result = "TCP_MISS_ABORTED";
		conn_fail(c, CONN_ERR_PROTOCOL);
		return;
	}
	if (conn_write_client(c) < 0) {
		t->result = "TCP_MISS_ABORTED";
		conn_fail(c, CONN_ERR_CLIENT_IO);
		return;
	}
	if (conn_can_splice_response(c))
		t->resp_splice = true;
	if (t->resp_splice && conn_splice_response(c) < 0)
		return;
	if (!t->resp_done) {
		if (c->server.eof && t->resp_pass == 0 && c->server.pipe.len == 0 &&
		    (c->server.in == NULL || buf_len(c->server.in) == 0))
			conn_server_failed(c, 0);
		return;
	}
	if (t->resp_pass > 0 || c->server.pipe.len > 0 ||
	    (c->client.out && buf_len(c->client.out) > 0))
		return; /* still writing */
	if (!t->req_done || t->req_pass > 0) {
		/*
		 * The server answered before it took the whole request body:
		 * what is left of the body must never be read as a request.
		 */
		conn_log_txn(c);
		c->state = CONN_CLOSING;
		return;
	}
	conn_txn_end(c);
}

/* ------------------------------------------------------------------ */
/* Tunnel */

static bool
side_drained(const struct conn_side *s)
{
	return s->eof && s->pipe.len == 0 &&
	       (s->in == NULL || buf_len(s->in) == 0);
}

/*
 * Moves bytes from one side to the other: our own bytes for `to` first,
 * then bytes already buffered from `from`, then the kernel pipe.  Returns
 * -1 on error (conn failed).
 */
static int
conn_pump(struct conn *c, struct conn_side *from, struct conn_side *to)
{
	enum tunnel_status st;
	size_t             moved;
	ssize_t            n;

	if (side_flush_out(to) < 0)
		goto fail_to;
	if (to->out != NULL && buf_len(to->out) > 0)
		return 0;
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (from->in != NULL && buf_len(from->in) > 0) {
			n = side_write(to, buf_data(from->in), buf_len(from->in));
			if (n < 0)
				goto fail_to;
			buf_consume(from->in, (size_t)n);
			if (buf_len(from->in) > 0)
				return 0;
		}
		side_release_in(from);
		if (from->pipe.len > 0) {
			st = tunnel_splice_out(&from->pipe, to->fd, &moved);
			to->nwritten += moved;
			if (st == TUNNEL_ERROR)
				goto fail_to;
			if (moved > 0)
				from->pipe_full = false;
		}
		if (from->eof) {
			/*
			 * Pass the EOF on, unless `to` has said all it had and
			 * got it across too: then conn_tunnel() closes both,
			 * and close(2) sends the FIN without a shutdown(2).
			 */
			if (from->pipe.len == 0 && !to->shut &&
			    !side_drained(to))
				side_shutdown(to);
			return 0;
		}
		/*
		 * Read only a side the loop said is readable, and stop once a
		 * read came up short: level-triggered readiness brings us
		 * back for more.  A read that would only say EAGAIN costs a
		 * system call per event and direction.
		 */
		if (!from->readable)
			return 0;
		/*
		 * Keep reading while the pipe has room: both ends stream.  A
		 * TLS session on either side (an https_port's client) takes
		 * read(2) and write(2): records, not bytes, pass the kernel.
		 */
		if (!from->nosplice && from->tls == NULL && to->tls == NULL) {
			if (from->pipe_full)
				return 0;
			st = tunnel_splice_in(&from->pipe, from->fd, SIZE_MAX,
			                      &moved);
			from->nread += moved;
			switch (st) {
			case TUNNEL_OK:
				if (moved < PUMP_SHORT_READ)
					from->readable = false;
				continue;
			case TUNNEL_EOF:
				from->eof = true;
				continue;
			case TUNNEL_AGAIN:
				/*
				 * With bytes queued this may be a full pipe (its
				 * slots, not its bytes, ran out) under a readable
				 * socket: stop reading until splice out moves
				 * some, or level-triggered readiness would spin.
				 */
				if (from->pipe.len > 0)
					from->pipe_full = true;
				else
					from->readable = false;
				return 0;
			case TUNNEL_ERROR:
				goto fail_from;
			case TUNNEL_NOSPLICE:
				from->nosplice = true;
				break;
			}
		}
		n = side_read(c, from, SERVER_BUF_SIZE);
		if (n == -1) {
			from->readable = false;
			return 0;
		}
		if (n == -2)
			goto fail_from;
	}
	return 0;
fail_from:
	conn_log(c, LOG_INFO, "read %s: %s",
	         from == &c->client ? "client" : "server", strerror(errno));
	conn_fail(c, from == &c->client ? CONN_ERR_CLIENT_IO
	                                : CONN_ERR_SERVER_IO);
	return -1;
fail_to:
	conn_log(c, LOG_INFO, "write %s: %s",
	         to == &c->client ? "client" : "server", strerror(errno));
	conn_fail(c, to == &c->client ? CONN_ERR_CLIENT_IO : CONN_ERR_SERVER_IO);
	return -1;
}

static void
conn_tunnel(struct conn *c)
{
	uint64_t before = c->client.nwritten;

	if (conn_pump(c, &c->client, &c->server) < 0)
		return;
	if (conn_pump(c, &c->server, &c->client) < 0)
		return;
	c->txn.bytes_to_client += c->client.nwritten - before;
	if (side_drained(&c->client) && side_drained(&c->server) &&
	    (c->client.out == NULL || buf_len(c->client.out) == 0))
		c->state = CONN_CLOSING;
}

/* ------------------------------------------------------------------ */
/* require-proxy-header: the load balancer's PROXY protocol header */

/*
 * Only the balancers proxy_protocol_access allows may speak for their
 * clients (as in Squid, nobody by default): anyone else could claim any
 * address, and on an intercepting port any destination.
 */
static bool
conn_proxy_peer_allowed(struct conn *c)
{
	const struct access_rule *rule = NULL;
	struct acl_ctx            ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.src = (const struct sockaddr *)&c->client_addr;
	if (access_check(&c->conf->proxy_protocol_access, &ctx, ACCESS_DENY,
	                 &rule, NULL) == ACCESS_ALLOW)
		return true;
	conn_log(c, LOG_INFO, "PROXY header from %s refused by %s", c->client_ip,
	         rule != NULL ? rule->where : "the default of "
	                                      "proxy_protocol_access");
	return false;
}

/*
 * The header comes before anything of the client's (HAProxy's
 * proxy-protocol.txt, 2.1 and 2.2): its source address becomes the
 * client's, for http_access and the logs.  A connection without a valid
 * header is closed without an answer: nothing else may be spoken first on
 * such a port.
 */
static void
conn_proxy_hdr(struct conn *c)
{
	struct proxy_hdr h;
	const char      *why = NULL;
	size_t           len = c->client.in != NULL ? buf_len(c->client.in) : 0;

	switch (len > 0 ? proxy_proto_parse(buf_data(c->client.in), len, &h,
	                                    &why)
	                : PARSE_AGAIN) {
	case PARSE_AGAIN:
		if (c->client.eof) {
			conn_log(c, LOG_INFO, "closed before a PROXY header");
			conn_fail(c, CONN_ERR_CLIENT_EOF);
		}
		return;
	case PARSE_ERROR:
		conn_log(c, LOG_INFO, "no valid PROXY header: %s", why);
		conn_fail(c, CONN_ERR_PROTOCOL);
		return;
	case PARSE_OK:
		break;
	}
	if (!h.local) {
		char was[sizeof(c->client_ip)];

		memcpy(was, c->client_ip, sizeof(was));
		memcpy(&c->client_addr, &h.src, sizeof(h.src));
		sockaddr_unmap(&c->client_addr);
		sockaddr_ip(&c->client_addr, c->client_ip, sizeof(c->client_ip));
		conn_log(c, LOG_DEBUG, "PROXY v%d header from %s", h.version, was);
	}
	if (c->listener->flags & LISTEN_INTERCEPT) {
		if (!h.local) { /* the balancer saw the original destination */
			memcpy(&c->orig_dst, &h.dst, sizeof(h.dst));
			sockaddr_unmap(&c->orig_dst);
			c->intercepted = true;
			if (conn_is_own_address(c, &c->orig_dst)) {
				conn_log(c, LOG_INFO, "PROXY header names this "
				                      "proxy as the destination");
				conn_fail(c, CONN_ERR_PROTOCOL);
				return;
			}
		} else if (conn_original_dst(c) < 0) {
			conn_fail(c, CONN_ERR_PROTOCOL);
			return;
		}
	}
	buf_consume(c->client.in, h.len);
	c->deadline = 0;
	c->state = CONN_REQ_HEAD;
	if (c->listener->flags & LISTEN_HTTPS)
		conn_https_begin(c);
}

/* ------------------------------------------------------------------ */
/* ssl_bump: the TLS steps of a CONNECT on an ssl-bump port */

static const char *const bump_action_names[] = {
	[BUMP_SPLICE] = "splice", [BUMP_PEEK] = "peek",
	[BUMP_STARE] = "stare",   [BUMP_BUMP] = "bump",
	[BUMP_TERMINATE] = "terminate",
};

static void
tls_clear(struct txn_tls *tls)
{
	free(tls->msg);
	free(tls->sni);
	for (size_t i = 0; i < tls->nnames; i++)
		free(tls->names[i]);
	free(tls->names);
	memset(tls, 0, sizeof(*tls));
}

/*
 * Squid's step rules: every action is possible at steps 1 and 2; after a
 * peek at step 2 only splice and terminate are left (the ClientHello went
 * out as it was, so bascule can no longer be the server's TLS client),
 * after a stare only bump and terminate (the server talks to bascule's
 * own TLS client: its bytes cannot be passed on as they are).
 */
static unsigned
bump_usable(const struct txn_tls *tls)
{
	if (tls->step == BUMP_STEP3)
		return tls->staring ? 1u << BUMP_BUMP | 1u << BUMP_TERMINATE
		                    : 1u << BUMP_SPLICE | 1u << BUMP_TERMINATE;
	return 1u << BUMP_SPLICE | 1u << BUMP_PEEK | 1u << BUMP_STARE |
	       1u << BUMP_BUMP | 1u << BUMP_TERMINATE;
}

/*
 * The names ssl::server_name compares, best known first, as Squid does:
 * the server certificate's once seen, else the SNI, else the CONNECT host.
 */
static size_t
tls_server_names(const struct conn *c, const char **names)
{
	const struct txn *t = &c->txn;

	if (t->tls.nnames > 0) {
		for (size_t i = 0; i < t->tls.nnames; i++)
			names[i] = t->tls.names[i];
		return t->tls.nnames;
	}
	names[0] = t->tls.sni != NULL ? t->tls.sni : t->target.host;
	return 1;
}

/* Fills an acl context for the rules of the TLS steps. */
static void
tls_acl_ctx(const struct conn *c, struct acl_ctx *ctx, const char **names)
{
	const struct txn *t = &c->txn;

	memset(ctx, 0, sizeof(*ctx));
	ctx->src = (const struct sockaddr *)&c->client_addr;
	if (c->intercepted)
		ctx->dst = (const struct sockaddr *)&c->orig_dst;
	else if (c->server.fd >= 0)
		ctx->dst = (const struct sockaddr *)&c->server_addr;
	ctx->method = t->method;
	ctx->host = t->target.host;
	ctx->port = t->target.port;
	ctx->url = t->url;
	ctx->step = t->tls.step;
	ctx->ssl_errors = c->bump_errors;
	if (t->user != NULL) { /* authenticated by http_access */
		ctx->auth = ACL_AUTH_USER;
		ctx->user = t->user;
	}
	ctx->server_names = names;
	ctx->nserver_names = tls_server_names(c, names);
}

/*
 * The ssl_bump action at the current step: when no rule matches, splice,
 * or bump after a stare, where splicing is no longer possible.
 */
static enum bump_action
conn_bump_check(struct conn *c)
{
	const char               *names[TLS_NAMES_MAX];
	const struct access_rule *r;
	struct acl_ctx            ctx;
	enum bump_action          dflt = BUMP_SPLICE;

	if (c->txn.tls.step == BUMP_STEP3 && c->txn.tls.staring)
		dflt = BUMP_BUMP;
	tls_acl_ctx(c, &ctx, names);
	r = access_first(&c->conf->ssl_bump, &ctx, bump_usable(&c->txn.tls));
	conn_log(c, LOG_DEBUG, "ssl_bump step %d: %s (%s)", c->txn.tls.step,
	         bump_action_names[r != NULL ? (enum bump_action)r->action : dflt],
	         r != NULL ? r->where : "no rule matched");
	return r != NULL ? (enum bump_action)r->action : dflt;
}

static void
conn_bump_final(struct conn *c, enum bump_action action)
{
	c->txn.tls.action = (int)action;
	c->txn.tls.decided = c->txn.tls.step;
}

/* terminate: both sides closed at once, nothing more sent. */
static void
conn_terminate(struct conn *c)
{
	struct txn *t = &c->txn;

	conn_bump_final(c, BUMP_TERMINATE);
	if (t->tls.step == BUMP_STEP1) {
		t->result = "TCP_DENIED";
		t->status = 0;
	}
	conn_log(c, LOG_INFO, "ssl_bump terminate at step %d", t->tls.step);
	conn_log_txn(c);
	c->state = CONN_CLOSING;
}

/*
 * After the 200 to a peeked CONNECT the client expects TLS, not an error
 * page: a failure is logged with its status and the connection closed.
 */
static void
conn_tls_abort(struct conn *c, int status, const char *code,
               const char *reason)
{
	struct txn *t = &c->txn;

	if ((t->tls.action == BUMP_BUMP || t->tls.staring) &&
	    c->client.tls == NULL && c->bump_gen != NULL &&
	    conn_mimic(c) != NULL) {
		/* Bump anyway, to say it with an error page. */
		conn_bump_report(c, status, code, reason);
		return;
	}
	conn_log(c, LOG_INFO, "%d %s: %s", status, code, reason);
	t->status = status;
	if (t->result == NULL || strcmp(t->result, "TCP_DENIED") != 0)
		t->result = "NONE_NONE";
	conn_log_txn(c);
	c->state = CONN_CLOSING;
}

/* Step 1 said peek: answer the CONNECT, then read the ClientHello. */
static void
conn_peek_client(struct conn *c)
{
	static const char established[] =
	        "HTTP/1.1 200 Connection established\r\n\r\n";
	struct txn *t = &c->txn;

	/* The records carrying it must fit the client buffer too. */
	t->tls.msg_cap = (size_t)c->conf->client_hello_max_size;
	if (t->tls.msg_cap > client_buf_size(c))
		t->tls.msg_cap = client_buf_size(c);
	t->tls.msg = malloc(t->tls.msg_cap);
	if (t->tls.msg == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	if (!t->fake_connect) {
		buf_free(c->client.out);
		c->client.out = buf_new(sizeof(established) - 1);
		if (c->client.out == NULL) {
			conn_fail(c, CONN_ERR_NOMEM);
			return;
		}
		buf_append(c->client.out, established,
		           sizeof(established) - 1);
		t->bytes_to_client += sizeof(established) - 1;
	}
	tls_peek_reasm_init(&t->tls.reasm, TLS_PEER_CLIENT);
	t->status = 200;
	t->result = "TCP_TUNNEL";
	t->tls.step = BUMP_STEP2;
	c->action = "reading the ClientHello";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->request_timeout / 1000.0;
	c->state = CONN_TLS_HELLO;
}

/*
 * Step 1: the CONNECT passed http_access.  A bump here reads the
 * ClientHello first, as a peek would, so that the server hears the
 * client's SNI and the client is shown the server's names; a stare at
 * step 1 has nothing to stare at yet and is a peek.
 */
static void
conn_bump_step1(struct conn *c)
{
	c->txn.tls.step = BUMP_STEP1;
	c->txn.tls.action = -1;
	switch (conn_bump_check(c)) {
	case BUMP_BUMP:
		if (conn_bump_start(c) < 0)
			return;
		conn_bump_final(c, BUMP_BUMP);
		__attribute__((fallthrough));
	case BUMP_PEEK:
	case BUMP_STARE:
		conn_peek_client(c);
		break;
	case BUMP_TERMINATE:
		conn_terminate(c);
		break;
	default:
		conn_bump_final(c, BUMP_SPLICE);
		conn_go_upstream(c);
		break;
	}
}

/*
 * An intercepted TLS connection has no CONNECT: one is made up from the
 * original destination ("192.0.2.1:443") and goes through http_access and
 * step 1 as a real one would.  Nothing is ever sent back in HTTP.
 */
static void
conn_fake_connect(struct conn *c)
{
	struct txn *t = &c->txn;
	char        url[HOSTNAME_MAX + 16];
	uint16_t    port;

	txn_clear(t);
	t->tls.action = -1;
	c->txn_active = true;
	t->start = now_realtime();
	t->fake_connect = true;
	t->is_connect = true;
	t->req_done = true;
	t->client_minor = 1;
	t->lang = errpage_default();
	sockaddr_ip(&c->orig_dst, t->target.host, sizeof(t->target.host));
	t->target.is_ipv6 = c->orig_dst.ss_family == AF_INET6;
	port = c->orig_dst.ss_family == AF_INET6
	               ? ((struct sockaddr_in6 *)&c->orig_dst)->sin6_port
	               : ((struct sockaddr_in *)&c->orig_dst)->sin_port;
	t->target.port = ntohs(port);
	if (snprintf(url, sizeof(url), t->target.is_ipv6 ? "[%s]:%u" : "%s:%u",
	             t->target.host, (unsigned)t->target.port) >= (int)sizeof(url))
		abort(); /* an address and a port always fit */
	t->method = strdup("CONNECT");
	t->url = strdup(url);
	if (t->method == NULL || t->url == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	t->result = "TCP_TUNNEL";
	t->status = 200; /* as Squid logs its fake CONNECTs */
	c->action = "checking the intercepted connection";
	if (conn_access_allowed(c))
		conn_bump_step1(c);
}

/* on_unsupported_protocol: the client's first bytes are not TLS. */
static void
conn_unsupported(struct conn *c, const char *why)
{
	const char               *names[TLS_NAMES_MAX];
	const struct access_rule *r;
	struct acl_ctx            ctx;
	unsigned all = 1u << UNSUPPORTED_RESPOND | 1u << UNSUPPORTED_TUNNEL;

	tls_acl_ctx(c, &ctx, names);
	r = access_first(&c->conf->on_unsupported_protocol, &ctx, all);
	c->txn.tls.not_tls = true;
	free(c->txn.tls.msg);
	c->txn.tls.msg = NULL;
	if (r != NULL && r->action == UNSUPPORTED_TUNNEL) {
		conn_log(c, LOG_INFO, "not TLS (%s): tunnelled", why);
		conn_bump_final(c, BUMP_SPLICE);
		conn_go_upstream(c);
		return;
	}
	conn_log(c, LOG_INFO, "not TLS (%s): answered", why);
	conn_bump_final(c, BUMP_TERMINATE);
	conn_reply(c, 400, "ERR_PROTOCOL_UNKNOWN",
	           "the client did not start TLS in its tunnel");
}

/*
 * TLS that bascule cannot read (a malformed or oversized ClientHello) is
 * terminated: passing it through unread would let a client step around
 * every rule of steps 2 and 3.
 */
static void
conn_bad_hello(struct conn *c, const char *why)
{
	conn_log(c, LOG_INFO, "unreadable ClientHello: %s", why);
	conn_terminate(c);
}

/* Step 2: what the ClientHello says; then splice, peek or terminate. */
static void
conn_client_hello(struct conn *c, const struct tls_hs_msg *m)
{
	struct txn             *t = &c->txn;
	struct tls_client_hello ch;
	enum bump_action        action;
	char                    name[HOSTNAME_MAX + 1];
	const char             *why = NULL;

	if (tls_peek_client_hello(m->body.p, m->body.len, &ch, &why) !=
	    PARSE_OK) {
		conn_bad_hello(c, why);
		return;
	}
	if (ch.sni.len > 0 &&
	    hostname_canonical((const char *)ch.sni.p, ch.sni.len, name,
	                       sizeof(name), &why) == 0 &&
	    (t->tls.sni = strdup(name)) == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	if (t->fake_connect && t->tls.sni != NULL) {
		char *url = NULL;

		if (asprintf(&url, "%s:%u", t->tls.sni,
		             (unsigned)t->target.port) < 0) {
			conn_fail(c, CONN_ERR_NOMEM);
			return;
		}
		free(t->url);
		t->url = url;
	}
	conn_log(c, LOG_DEBUG, "ClientHello: SNI %s, up to %s, %u extensions%s",
	         t->tls.sni != NULL ? t->tls.sni : "-",
	         tls_peek_version_name(ch.max_version), ch.n_extensions,
	         ch.has_ech ? ", ECH" : "");
	free(t->tls.msg); /* step 3 reassembles the server's side */
	t->tls.msg = NULL;
	t->tls.step = BUMP_STEP2;
	action = t->tls.action == (int)BUMP_BUMP ? BUMP_BUMP : conn_bump_check(c);
	switch (action) {
	case BUMP_TERMINATE:
		conn_terminate(c);
		return;
	case BUMP_PEEK:
		break; /* on to step 3 once connected */
	case BUMP_STARE:
		if (conn_bump_start(c) < 0)
			return;
		t->tls.staring = true; /* step 3 after our own handshake */
		break;
	case BUMP_BUMP:
		if (t->tls.action < 0) { /* else decided at step 1 */
			if (conn_bump_start(c) < 0)
				return;
			conn_bump_final(c, BUMP_BUMP);
		}
		break;
	default:
		conn_bump_final(c, BUMP_SPLICE);
		break;
	}
	c->deadline = 0;
	conn_go_upstream(c);
}

/*
 * A ClientHello larger than what step 2 started with (the client buffer,
 * at most client_hello_max_size): a larger buffer and message area, and
 * the reassembly starts over on the bytes already read.  Doubling keeps
 * the rereading linear.  false when the limit is reached.
 */
static bool
conn_grow_hello(struct conn *c)
{
	struct txn *t = &c->txn;
	size_t      limit = (size_t)c->conf->client_hello_max_size;
	size_t      stream_max = limit + TLS_RECORD_HEADER_LEN *
	                                 (limit / TLS_RECORD_MAX + 2);
	size_t      cap = buf_cap(c->client.in), want;
	bool        grew = false;
	uint8_t    *msg;

	if (buf_is_full(c->client.in) && cap < stream_max) {
		struct buf *nb = buf_new(cap * 2 < stream_max ? cap * 2 : stream_max);

		if (nb == NULL)
			return false;
		buf_append(nb, buf_data(c->client.in), buf_len(c->client.in));
		buf_free(c->client.in);
		c->client.in = nb;
		grew = true;
	}
	want = t->tls.msg_cap * 2;
	if (want < buf_cap(c->client.in))
		want = buf_cap(c->client.in);
	if (want > limit)
		want = limit;
	if (want > t->tls.msg_cap && (msg = malloc(want)) != NULL) {
		free(t->tls.msg);
		t->tls.msg = msg;
		t->tls.msg_cap = want;
		grew = true;
	}
	if (grew)
		tls_peek_reasm_init(&t->tls.reasm, TLS_PEER_CLIENT);
	return grew;
}

/* CONN_TLS_HELLO: the 200 out, the ClientHello in. */
static void
conn_tls_hello(struct conn *c)
{
	struct txn       *t = &c->txn;
	struct tls_hs_msg m;
	const uint8_t    *p;
	size_t            len;
	const char       *why = NULL;

	if (side_flush_out(&c->client) < 0) {
		conn_fail(c, CONN_ERR_CLIENT_IO);
		return;
	}
again:
	len = c->client.in != NULL ? buf_len(c->client.in) : 0;
	p = len > 0 ? buf_data(c->client.in) : NULL;
	switch (len > 0 ? tls_peek_sniff(p, len) : TLS_SNIFF_MORE) {
	case TLS_SNIFF_NOT_TLS:
		conn_unsupported(c, "not a TLS handshake");
		return;
	case TLS_SNIFF_MORE:
		break;
	case TLS_SNIFF_TLS:
		switch (tls_peek_reasm_next(&t->tls.reasm, p, len, t->tls.msg,
		                            t->tls.msg_cap, &m, &why)) {
		case PARSE_OK:
			if (m.content == TLS_CT_HANDSHAKE) {
				conn_client_hello(c, &m);
				return;
			}
			conn_bad_hello(c, "a record other than handshake");
			return;
		case PARSE_ERROR:
			if (t->tls.reasm.too_large && conn_grow_hello(c))
				goto again;
			conn_bad_hello(c, why);
			return;
		case PARSE_AGAIN:
			if (!buf_is_full(c->client.in))
				break;
			if (conn_grow_hello(c))
				goto again;
			conn_bad_hello(c, "ClientHello too large");
			return;
		}
		break;
	}
	if (c->client.eof) {
		conn_log(c, LOG_INFO, "client closed before its ClientHello "
		                      "was complete");
		conn_fail(c, CONN_ERR_CLIENT_EOF);
	}
}

/* Step 3: decide on what the server showed, then splice or terminate. */
static void
conn_bump_step3(struct conn *c, const char *what)
{
	struct txn *t = &c->txn;

	conn_log(c, LOG_DEBUG, "server: %s; %s, %zu certificate names", what,
	         t->tls.version ? tls_peek_version_name(t->tls.version) : "-",
	         t->tls.nnames);
	free(t->tls.msg);
	t->tls.msg = NULL;
	t->tls.step = BUMP_STEP3;
	if (conn_bump_check(c) == BUMP_TERMINATE) {
		conn_terminate(c);
		return;
	}
	conn_bump_final(c, BUMP_SPLICE);
	c->deadline = 0;
	c->action = "tunnelling";
	c->state = CONN_TUNNEL; /* what the server sent goes out first */
}

/*
 * One handshake message of the server: true when step 3 has seen enough.
 * TLS 1.3 encrypts the certificate, so its ServerHello is all there is.
 */
static bool
conn_server_message(struct conn *c, const struct tls_hs_msg *m)
{
	struct txn             *t = &c->txn;
	struct tls_server_hello sh;
	struct tls_certificate  cert;
	struct tls_span         list, der;
	const char             *why = NULL;

	switch (m->type) {
	case TLS_HT_SERVER_HELLO:
		if (tls_peek_server_hello(m->body.p, m->body.len, &sh, &why) !=
		    PARSE_OK) {
			conn_log(c, LOG_INFO, "ServerHello: %s", why);
			return true;
		}
		t->tls.version = sh.version;
		return sh.tls13 || sh.hello_retry_request;
	case TLS_HT_CERTIFICATE:
		if (tls_peek_certificate(m->body.p, m->body.len, false, &cert,
		                         &why) != PARSE_OK) {
			conn_log(c, LOG_INFO, "Certificate: %s", why);
			return true;
		}
		list = cert.list;
		if (t->tls.names == NULL &&
		    tls_peek_cert_next(&list, false, &der, NULL) &&
		    (t->tls.names = calloc(TLS_NAMES_MAX, sizeof(char *))) != NULL)
			t->tls.nnames = x509_dns_names(der.p, der.len,
			                               t->tls.names, TLS_NAMES_MAX);
		return true;
	default:
		return true; /* no certificate: anonymous or PSK */
	}
}

/* CONN_TLS_SERVER: the ClientHello out as it was, the answer in. */
static void
conn_tls_server(struct conn *c)
{
	struct txn       *t = &c->txn;
	struct tls_hs_msg m;
	const char       *why = NULL;
	ssize_t           n;

	if (c->client.in != NULL && buf_len(c->client.in) > 0) {
		n = side_write(&c->server, buf_data(c->client.in),
		               buf_len(c->client.in));
		if (n < 0) {
			conn_tls_abort(c, 502, "ERR_WRITE_ERROR", strerror(errno));
			return;
		}
		buf_consume(c->client.in, (size_t)n);
	}
	while (c->server.in != NULL && buf_len(c->server.in) > 0) {
		switch (tls_peek_reasm_next(&t->tls.reasm, buf_data(c->server.in),
		                            buf_len(c->server.in), t->tls.msg,
		                            t->tls.msg_cap, &m, &why)) {
		case PARSE_OK:
			if (m.content != TLS_CT_HANDSHAKE) {
				conn_bump_step3(c, "end of the clear text");
				return;
			}
			if (conn_server_message(c, &m)) {
				conn_bump_step3(c, "handshake seen");
				return;
			}
			continue;
		case PARSE_ERROR:
			conn_bump_step3(c, why);
			return;
		case PARSE_AGAIN:
			if (buf_is_full(c->server.in) || c->server.eof) {
				conn_bump_step3(c, "incomplete handshake");
				return;
			}
			break;
		}
		break;
	}
	if (c->server.eof && (c->server.in == NULL || buf_len(c->server.in) == 0))
		conn_tls_abort(c, 502, "ERR_READ_ERROR",
		               "the server closed before answering the "
		               "ClientHello");
}

/* Connected at step 2 after peek: on to step 3. */
static void
conn_peek_server(struct conn *c)
{
	struct txn *t = &c->txn;

	t->tls.msg_cap = SERVER_BUF_SIZE;
	t->tls.msg = malloc(t->tls.msg_cap);
	if (t->tls.msg == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	tls_peek_reasm_init(&t->tls.reasm, TLS_PEER_SERVER);
	c->action = "peeking at the server";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->read_timeout / 1000.0;
	c->state = CONN_TLS_SERVER;
}

/* ------------------------------------------------------------------ */
/* Bump: our own TLS on both sides */

/* The decision to stare or bump: it needs the port's CA.  -1: refused. */
static int
conn_bump_start(struct conn *c)
{
	if (c->bump_gen == NULL ||
	    bump_gen_mimic(c->bump_gen, c->listener->index) == NULL) {
		conn_log(c, LOG_WARNING, "ssl_bump: port %s has no CA to bump "
		                         "with (tls-cert=, tls-key=)",
		         c->listener->text);
		conn_terminate(c);
		return -1;
	}
	return 0;
}

/* The name the client is shown and bumped URLs carry: SNI, else host. */
static int
conn_bump_names(struct conn *c)
{
	struct txn *t = &c->txn;

	if (c->bump_host != NULL)
		return 0;
	c->bump_host = strdup(t->tls.sni != NULL ? t->tls.sni : t->target.host);
	if (c->bump_host == NULL) {
		conn_fail(c, CONN_ERR_NOMEM);
		return -1;
	}
	c->bump_host_v6 = t->tls.sni == NULL && t->target.is_ipv6;
	c->bump_port = t->target.port;
	return 0;
}

static struct mimic *
conn_mimic(const struct conn *c)
{
	return bump_gen_mimic(c->bump_gen, c->listener->index);
}

/* Connected (directly, or through a parent's tunnel): our ClientHello. */
static void
conn_bump_server(struct conn *c)
{
	struct txn *t = &c->txn;
	const char *sni = t->tls.sni;
	char        why[256];
	int         r;

	if (conn_bump_names(c) < 0)
		return;
	if (sni == NULL && !hostname_is_ip(t->target.host))
		sni = t->target.host; /* RFC 6066 3: never an address */
	/* Bytes behind a parent's 2xx are the server's: the session's. */
	if (side_preload(c, &c->server) < 0)
		return;
	if (c->server.tls != NULL) {
		/* A TLS parent's: the origin's TLS goes inside it. */
		bump_io_nest(&c->server.tio, &c->server.tio_raw, c->server.tls);
		c->server.tls = NULL;
	}
	r = bump_server_session(c->bump_gen, &c->server.tio, sni,
	                        &c->server.tls);
	if (r < 0) {
		snprintf(why, sizeof(why), "TLS: %s", gnutls_strerror(r));
		conn_tls_abort(c, 500, "ERR_SECURE_CONNECT_FAIL", why);
		return;
	}
	c->action = "in a TLS handshake with the server";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->read_timeout / 1000.0;
	c->state = CONN_BUMP_SERVER;
}

/* The leaf is chosen: our handshake with the client, on its ClientHello. */
static void
conn_bump_client(struct conn *c)
{
	int r;

	if (side_preload(c, &c->client) < 0)
		return;
	r = bump_client_session(c->bump_gen, c->listener->index,
	                        &c->client.tio, c->leaf,
	                        &c->client.tls);
	if (r < 0) {
		conn_log(c, LOG_ERR, "TLS session: %s", gnutls_strerror(r));
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	c->action = "in a TLS handshake with the client";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->request_timeout / 1000.0;
	c->state = CONN_BUMP_CLIENT;
}

/*
 * The server cannot be used (it failed, or its certificate did): the
 * client is bumped all the same, with a leaf made from the names it
 * asked for, and every request it sends is answered with the error, as
 * Squid does, rather than a connection closed without a word.
 */
static void
conn_bump_report(struct conn *c, int status, const char *code,
                 const char *reason)
{
	struct txn *t = &c->txn;
	char        err[256];

	conn_log(c, LOG_INFO, "%d %s: %s", status, code, reason);
	if (c->bump_fail == 0) {
		c->bump_fail = status;
		c->bump_fail_code = code;
		if ((c->bump_fail_reason = strdup(reason)) == NULL) {
			conn_fail(c, CONN_ERR_NOMEM);
			return;
		}
	}
	side_clear(c->worker->loop, &c->server);
	resolve_cancel(&c->resolve);
	if (t->tls.action != BUMP_BUMP)
		conn_bump_final(c, BUMP_BUMP);
	if (conn_bump_names(c) < 0)
		return;
	if (c->leaf == NULL &&
	    (c->leaf = mimic_issue(conn_mimic(c), NULL, c->bump_host, false,
	                           err, sizeof(err))) == NULL) {
		conn_log(c, LOG_WARNING, "mimic %s: %s", c->bump_host, err);
		t->status = status;
		t->result = "NONE_NONE";
		conn_log_txn(c);
		c->state = CONN_CLOSING;
		return;
	}
	conn_bump_client(c);
}

/* The version of a session as the wire spells it, for the logs. */
static uint16_t
tls_wire_version(gnutls_session_t s)
{
	switch (gnutls_protocol_get_version(s)) {
	case GNUTLS_TLS1_0:
		return TLS_VERSION_TLS10;
	case GNUTLS_TLS1_1:
		return TLS_VERSION_TLS11;
	case GNUTLS_TLS1_2:
		return TLS_VERSION_TLS12;
	case GNUTLS_TLS1_3:
		return TLS_VERSION_TLS13;
	default:
		return 0;
	}
}

/* The server's certificate names, for ssl::server_name at step 3. */
static void
conn_bump_cert_names(struct conn *c)
{
	struct txn           *t = &c->txn;
	const gnutls_datum_t *der;
	unsigned              n = 0;

	der = gnutls_certificate_get_peers(c->server.tls, &n);
	if (der == NULL || n == 0 || t->tls.names != NULL ||
	    (t->tls.names = calloc(TLS_NAMES_MAX, sizeof(char *))) == NULL)
		return;
	t->tls.nnames = x509_dns_names(der[0].data, der[0].size, t->tls.names,
	                               TLS_NAMES_MAX);
}

/* sslproxy_cert_error: may a bump go on with what verification found? */
static bool
conn_cert_error_allowed(struct conn *c)
{
	const char               *names[TLS_NAMES_MAX];
	const struct access_rule *rule = NULL;
	struct acl_ctx            ctx;
	bool                      need_dst;

	tls_acl_ctx(c, &ctx, names);
	return access_check(&c->conf->sslproxy_cert_error, &ctx, ACCESS_DENY,
	                    &rule, &need_dst) == ACCESS_ALLOW;
}

static void conn_bump_verified(struct conn *c);

/* CONN_BUMP_AIA: a caIssuers fetch is over: verify again. */
static void
conn_aia_cb(struct aia_req *req)
{
	struct conn *c = req->data;

	if (req->error != NULL)
		conn_log(c, LOG_DEBUG, "AIA: %s", req->error);
	conn_bump_verified(c);
	if (c->state != CONN_CLOSING)
		conn_run(c);
	conn_after(c->worker->loop, c);
}

/*
 * Verifies the server with the issuers that caIssuers URLs brought so far,
 * and while the chain's end lacks its issuer, fetches it from the URL in
 * the end (RFC 5280 4.2.2.1).  1: *errors and *cert are final; 0: a fetch
 * is under way (CONN_BUMP_AIA), and conn_aia_cb() comes back.
 */
static int
conn_bump_verify(struct conn *c, unsigned *errors, gnutls_x509_crt_t *cert)
{
	gnutls_x509_crt_t extra[AIA_EXTRA_MAX];
	char              url[AIA_URL_MAX], esc[256];
	unsigned          n;
	uint64_t          ms;

	for (;;) {
		n = aia_req_certs(&c->aia, extra, AIA_EXTRA_MAX);
		if (bump_verify_server(c->bump_gen, c->server.tls, c->bump_host,
		                       extra, n, errors, cert, url,
		                       sizeof(url)) < 0) {
			*errors |= TLS_VERIFY_CERT_UNTRUSTED;
			return 1;
		}
		if (url[0] == '\0' || c->worker->aia == NULL ||
		    bump_gen_dont_verify(c->bump_gen))
			return 1;
		log_escape(url, strlen(url), esc, sizeof(esc));
		c->aia.cb = conn_aia_cb;
		c->aia.data = c;
		switch (aia_start(c->worker->aia, &c->aia, url,
		                  c->conf->connect_timeout,
		                  c->conf->read_timeout)) {
		case AIA_DONE:
			conn_log(c, LOG_DEBUG, "issuer from %s (AIA, cached)",
			         esc);
			break;
		case AIA_PENDING:
			conn_log(c, LOG_DEBUG, "issuer missing: %s (AIA)", esc);
			gnutls_x509_crt_deinit(*cert);
			*cert = NULL;
			c->action = "fetching a missing issuer (AIA)";
			/* a backstop: the fetch has timers of its own */
			ms = c->conf->connect_timeout + c->conf->read_timeout;
			c->deadline = ev_now(c->worker->loop) + 1.0 +
			              (double)ms / 1000.0;
			c->state = CONN_BUMP_AIA;
			return 0;
		case AIA_FAILED:
			conn_log(c, LOG_DEBUG, "AIA %s: %s", esc, c->aia.error);
			return 1;
		}
		gnutls_x509_crt_deinit(*cert);
		*cert = NULL;
	}
}

/* Our handshake with the server is done: verify, step 3, mimic. */
static void
conn_bump_verified(struct conn *c)
{
	struct txn       *t = &c->txn;
	gnutls_x509_crt_t cert = NULL;
	unsigned          errors = 0;
	char              text[256], why[320];
	const char       *pass = "";
	bool              trusted;

	t->tls.version = tls_wire_version(c->server.tls);
	conn_bump_cert_names(c);
	if (conn_bump_verify(c, &errors, &cert) == 0)
		return; /* CONN_BUMP_AIA */
	aia_req_clear(&c->aia); /* what it fetched is needed no more */
	c->action = "in a TLS handshake with the server";
	c->bump_errors = errors;
	bump_errors_text(errors, text, sizeof(text));
	if (errors != 0 && bump_gen_dont_verify(c->bump_gen))
		pass = " (DONT_VERIFY_PEER)";
	else if (errors != 0 && conn_cert_error_allowed(c))
		pass = " (allowed by sslproxy_cert_error)";
	trusted = errors == 0 || *pass != '\0';
	conn_log(c, trusted && errors == 0 ? LOG_DEBUG : LOG_INFO,
	         "server %s: %s, %zu names, %s%s", c->bump_host,
	         tls_peek_version_name(t->tls.version), t->tls.nnames,
	         errors == 0 ? "verified" : text, pass);
	if (t->tls.staring) {
		t->tls.step = BUMP_STEP3;
		if (conn_bump_check(c) == BUMP_TERMINATE) {
			gnutls_x509_crt_deinit(cert);
			conn_terminate(c);
			return;
		}
		conn_bump_final(c, BUMP_BUMP);
	}
	c->leaf = mimic_issue(conn_mimic(c), cert, c->bump_host, !trusted, why,
	                      sizeof(why));
	gnutls_x509_crt_deinit(cert);
	if (c->leaf == NULL) {
		conn_log(c, LOG_WARNING, "mimic %s: %s", c->bump_host, why);
		conn_terminate(c);
		return;
	}
	if (!trusted) {
		snprintf(why, sizeof(why),
		         "the certificate of %s is not trusted: %s", c->bump_host,
		         text);
		conn_bump_report(c, 503, "ERR_SECURE_CONNECT_FAIL", why);
		return;
	}
	conn_bump_client(c);
}

/* CONN_BUMP_SERVER */
static void
conn_bump_server_hs(struct conn *c)
{
	char why[256];

	switch (side_handshake(&c->server)) {
	case 0:
		return;
	case -1:
		snprintf(why, sizeof(why), "TLS with the server failed: %s",
		         gnutls_strerror(c->server.tls_err));
		conn_tls_abort(c, 503, "ERR_SECURE_CONNECT_FAIL", why);
		return;
	}
	conn_bump_verified(c);
}

/* CONN_BUMP_CLIENT: when done, the CONNECT is logged and HTTP begins. */
static void
conn_bump_client_hs(struct conn *c)
{
	struct txn *t = &c->txn;

	switch (side_handshake(&c->client)) {
	case 0:
		return;
	case -1:
		conn_log(c, LOG_INFO, "TLS with the client failed: %s",
		         gnutls_strerror(c->client.tls_err));
		t->result = "NONE_NONE";
		conn_log_txn(c);
		conn_fail(c, CONN_ERR_CLIENT_IO);
		return;
	}
	conn_log(c, LOG_DEBUG, "bumped %s: %s with the client",
	         c->bump_host, tls_peek_version_name(
	                               tls_wire_version(c->client.tls)));
	t->result = "NONE_NONE"; /* Squid's word for a bumped CONNECT */
	conn_log_txn(c);
	c->bump_hop = t->nhops > 0 ? t->hops[t->hop].code
	                           : c->intercepted ? HOP_ORIGINAL_DST
	                                            : HOP_DIRECT;
	c->bumped = true;
	free(c->bump_user); /* the requests inside are the CONNECT's user's */
	c->bump_user = t->user;
	t->user = NULL;
	c->ntxn++;
	txn_clear(t);
	buf_free(c->client.out);
	c->client.out = NULL;
	side_release_in(&c->client);
	c->action = NULL;
	c->deadline = 0;
	c->state = CONN_REQ_HEAD;
	c->idle_end = ev_now(c->worker->loop) +
	              (double)c->conf->client_idle_pconn_timeout / 1000.0;
}

/* ------------------------------------------------------------------ */
/* https_port: TLS to the proxy itself */

/*
 * An https_port's connection starts with TLS: intercepted, it is the
 * origin's and ssl_bump decides on a fake CONNECT; otherwise it is the
 * proxy's own, with the port's certificate, and requests follow inside.
 * The client's SNI names the proxy and is not compared with any request
 * (DESIGN.md, problem 4): a CONNECT names whatever it names.
 */
static void
conn_https_begin(struct conn *c)
{
	struct bump_gen *g = c->bump_gen;
	size_t           port = c->listener->index;
	int              r;

	if (c->listener->flags & LISTEN_INTERCEPT) {
		conn_fake_connect(c);
		return;
	}
	/* Bytes behind a PROXY header are the session's. */
	if (side_preload(c, &c->client) < 0)
		return;
	r = g != NULL ? bump_https_session(g, port, &c->client.tio,
	                                   &c->client.tls)
	              : GNUTLS_E_INVALID_REQUEST;
	if (r < 0) {
		conn_log(c, LOG_ERR, "TLS session for port %s: %s",
		         c->listener->text, gnutls_strerror(r));
		conn_fail(c, CONN_ERR_NOMEM);
		return;
	}
	c->action = "in a TLS handshake with the client";
	c->deadline = ev_now(c->worker->loop) +
	              (double)c->conf->request_timeout / 1000.0;
	c->state = CONN_CLIENT_TLS;
}

/* CONN_CLIENT_TLS: when done, requests follow, as on an http_port. */
static void
conn_https_hs(struct conn *c)
{
	char     sni[HOSTNAME_MAX + 1], esc[4 * sizeof(sni)];
	size_t   len = sizeof(sni);
	unsigned type;

	switch (side_handshake(&c->client)) {
	case 0:
		return;
	case -1:
		/* No request yet: no access-log record, as for a client
		 * that leaves before its first request. */
		conn_log(c, LOG_INFO, "TLS with the client failed: %s",
		         gnutls_strerror(c->client.tls_err));
		conn_fail(c, CONN_ERR_CLIENT_IO);
		return;
	}
	c->action = NULL;
	/* The client's SNI names the proxy; logged as sent, escaped. */
	if (gnutls_server_name_get(c->client.tls, sni, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS)
		snprintf(esc, sizeof(esc), "none");
	else
		log_escape(sni, len, esc, sizeof(esc));
	conn_log(c, LOG_DEBUG, "TLS with the client: %s%s, SNI %s",
	         tls_peek_version_name(tls_wire_version(c->client.tls)),
	         gnutls_session_is_resumed(c->client.tls) ? ", resumed" : "",
	         esc);
	side_release_in(&c->client);
	c->deadline = 0;
	c->state = CONN_REQ_HEAD;
	c->idle_end = ev_now(c->worker->loop) +
	              (double)c->conf->client_idle_pconn_timeout / 1000.0;
}

/* ------------------------------------------------------------------ */
/* The state machine */

static void
conn_run(struct conn *c)
{
	enum conn_state prev;
	int             r;

	do {
		prev = c->state;
		switch (c->state) {
		case CONN_REQ_HEAD:
			conn_req_head(c);
			break;
		case CONN_PROXY_HDR:
			conn_proxy_hdr(c);
			break;
		case CONN_CLIENT_TLS:
			conn_https_hs(c);
			break;
		case CONN_RESOLVING:
		case CONN_CONNECTING:
		case CONN_AUTH:
			break;
		case CONN_PEER_TLS:
			conn_peer_tls_hs(c);
			break;
		case CONN_PEER_CONNECT:
			conn_peer_answer(c);
			break;
		case CONN_FORWARD:
			conn_forward(c);
			break;
		case CONN_TUNNEL:
			conn_tunnel(c);
			break;
		case CONN_TLS_HELLO:
			conn_tls_hello(c);
			break;
		case CONN_TLS_SERVER:
			conn_tls_server(c);
			break;
		case CONN_BUMP_SERVER:
			conn_bump_server_hs(c);
			break;
		case CONN_BUMP_AIA:
			break; /* conn_aia_cb() */
		case CONN_BUMP_CLIENT:
			conn_bump_client_hs(c);
			break;
		case CONN_REPLY:
			r = side_flush_out(&c->client);
			if (r < 0) {
				conn_fail(c, CONN_ERR_CLIENT_IO);
			} else if (r == 1 && !c->client.shut) {
				/*
				 * Let the client read the reply before the close:
				 * drain what it still sends, for a bounded time.
				 */
				side_shutdown(&c->client);
				c->deadline = ev_now(c->worker->loop) +
				              LINGER_MS / 1000.0;
			}
			if (r == 1 && c->client.eof)
				c->state = CONN_CLOSING;
			break;
		case CONN_CLOSING:
			break;
		}
	} while (c->state != prev && c->state != CONN_CLOSING);
}

/* Reads the side that became readable, in the states that read. */
static void
conn_read_side(struct conn *c, struct conn_side *s)
{
	ssize_t n;

	if (s->eof)
		return;
	if (c->state == CONN_REPLY) {
		/* Discard what the client still sends after our reply. */
		uint8_t sink[4096];

		/* Through the session: records it already decrypted have no
		 * EV_READ left, side_feed_pending() brings us back for them. */
		if (s->tls != NULL)
			n = side_recv_tls(s, sink, sizeof(sink));
		else
			do
				n = read(s->fd, sink, sizeof(sink));
			while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			s->eof = true;
		return;
	}
	n = side_read(c, s, s == &c->client ? client_buf_size(c)
	                                    : SERVER_BUF_SIZE);
	if (n != -2)
		return;
	if (s->tls_err != 0) /* EPROTO says less than GnuTLS */
		conn_log(c, LOG_INFO, "TLS from the %s: %s",
		         s == &c->client ? "client" : "server",
		         gnutls_strerror(s->tls_err));
	if (s == &c->client) {
		conn_log(c, LOG_INFO, "read client: %s", strerror(errno));
		conn_fail(c, CONN_ERR_CLIENT_IO);
	} else {
		/* Deliver what the server said before failing (say, a 413). */
		c->server_errno = errno;
		s->eof = true;
	}
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn      *c = w->data;
	struct conn_side *side = w == &c->client.io ? &c->client : &c->server;

	if (revents & EV_READ)
		side->readable = true;
	/* Our tail first; an error shows at the next write. */
	if (revents & EV_WRITE)
		(void)side_tail_flush(side);
	if (side == &c->server && c->state == CONN_CONNECTING) {
		conn_connected(c);
	} else if (c->state == CONN_BUMP_SERVER ||
	           c->state == CONN_BUMP_CLIENT ||
	           c->state == CONN_CLIENT_TLS ||
	           (side == &c->server && c->state == CONN_PEER_TLS)) {
		/* The handshake reads for itself, in conn_run(). */
	} else if (c->state == CONN_TUNNEL ||
	           (side == &c->server && c->txn.resp_splice)) {
		/* Reading is splice(2)'s, in conn_run(). */
	} else if (c->state == CONN_AUTH) {
		/* client.in holds the head the transaction points into */
	} else if (revents & EV_READ) {
		conn_read_side(c, side);
	}
	if (c->state != CONN_CLOSING)
		conn_run(c);
	conn_after(loop, c);
}

/* Seconds of inactivity allowed in the current state. */
static double
conn_timeout(const struct conn *c)
{
	const struct conf *cf = c->conf;
	double             left;
	uint64_t           ms;

	switch (c->state) {
	case CONN_REQ_HEAD:
		if (c->client.in == NULL || buf_len(c->client.in) == 0) {
			left = c->idle_end;
			if (c->server.fd >= 0 && !c->bumped &&
			    c->server_idle_end < left)
				left = c->server_idle_end;
			left -= ev_now(c->worker->loop);
			return left > 0.001 ? left : 0.001;
		}
		/* Bytes trickling in do not extend request_timeout. */
		left = c->deadline - ev_now(c->worker->loop);
		ms = cf->read_timeout;
		if (left < (double)ms / 1000.0)
			return left > 0.001 ? left : 0.001;
		break;
	case CONN_RESOLVING:
		ms = cf->connect_timeout;
		break;
	case CONN_CONNECTING:
		ms = conn_connect_ms(c);
		break;
	case CONN_PEER_CONNECT:
	case CONN_PEER_TLS:
	case CONN_AUTH:
	case CONN_REPLY:
	case CONN_TLS_HELLO:
	case CONN_TLS_SERVER:
	case CONN_BUMP_SERVER:
	case CONN_BUMP_AIA:
	case CONN_BUMP_CLIENT:
	case CONN_CLIENT_TLS:
	case CONN_PROXY_HDR:
		/* The linger after an error reply, request_timeout for a
		 * ClientHello or a PROXY header, and read_timeout for the
		 * server's first flight have a fixed end: bytes trickling in
		 * do not extend them. */
		left = c->deadline - ev_now(c->worker->loop);
		return left > 0.001 ? left : 0.001;
	default:
		ms = cf->read_timeout;
		break;
	}
	return ms > 0 ? (double)ms / 1000.0 : 0.001;
}

/*
 * Records the session decrypted beyond what fitted the buffer wait in
 * GnuTLS, not in the socket: no EV_READ would come for them.
 */
static void
side_feed_pending(struct ev_loop *loop, struct conn_side *s, int events)
{
	if (s->tls != NULL && (events & EV_READ) && s->tls_want == 0 &&
	    (gnutls_record_check_pending(s->tls) > 0 ||
	     (s->tio.outer != NULL &&
	      gnutls_record_check_pending(s->tio.outer) > 0)))
		ev_feed_event(loop, &s->io, EV_READ);
}

static bool
out_pending(const struct conn_side *s)
{
	return s->out != NULL && buf_len(s->out) > 0;
}

/* Sets read/write interest on both sides from the state; nothing else does. */
static void
conn_update_watchers(struct ev_loop *loop, struct conn *c)
{
	const struct txn *t = &c->txn;
	int               ce = 0, se = 0;

	switch (c->state) {
	case CONN_REQ_HEAD:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		if (!c->server.eof && side_has_room(&c->server))
			se |= EV_READ; /* an attached idle server may close */
		break;
	case CONN_RESOLVING:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		break;
	case CONN_CONNECTING:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		se |= EV_WRITE;
		break;
	case CONN_PEER_TLS:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		se |= c->server.tls_want;
		break;
	case CONN_PEER_CONNECT:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		if (!c->server.eof && side_has_room(&c->server))
			se |= EV_READ;
		if (out_pending(&c->server))
			se |= EV_WRITE;
		break;
	case CONN_FORWARD:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		if (out_pending(&c->client) || t->resp_pass > 0 ||
		    c->server.pipe.len > 0)
			ce |= EV_WRITE;
		if (t->resp_splice) {
			if (!c->server.eof && !c->server.pipe_full &&
			    (t->resp.body != HTTP_BODY_LENGTH || t->resp_left > 0))
				se |= EV_READ;
		} else if (!c->server.eof && side_has_room(&c->server)) {
			se |= EV_READ;
		}
		if ((t->req_head != NULL && t->req_head_sent < buf_len(t->req_head)) ||
		    t->req_pass > 0)
			se |= EV_WRITE;
		break;
	case CONN_TUNNEL:
		/* Read a side while its pipe has room, or its buffer is empty. */
		if (!c->client.eof && !c->client.pipe_full &&
		    (c->client.in == NULL || buf_len(c->client.in) == 0))
			ce |= EV_READ;
		if (!c->server.eof && !c->server.pipe_full &&
		    (c->server.in == NULL || buf_len(c->server.in) == 0))
			se |= EV_READ;
		if (out_pending(&c->client) || c->server.pipe.len > 0 ||
		    (c->server.in != NULL && buf_len(c->server.in) > 0))
			ce |= EV_WRITE;
		if (c->client.pipe.len > 0 ||
		    (c->client.in != NULL && buf_len(c->client.in) > 0))
			se |= EV_WRITE;
		break;
	case CONN_TLS_HELLO:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		if (out_pending(&c->client))
			ce |= EV_WRITE;
		break;
	case CONN_PROXY_HDR:
		if (!c->client.eof && side_has_room(&c->client))
			ce |= EV_READ;
		break;
	case CONN_TLS_SERVER:
		if (!c->server.eof && side_has_room(&c->server))
			se |= EV_READ;
		if (c->client.in != NULL && buf_len(c->client.in) > 0)
			se |= EV_WRITE;
		break;
	case CONN_BUMP_SERVER:
		se |= c->server.tls_want;
		break;
	case CONN_BUMP_AIA:
		break; /* both sides wait for the issuer */
	case CONN_AUTH:
		/* Nothing is read into client.in, where the request head is
		 * that the transaction points into: its end, if the client
		 * goes, shows once the answer is written. */
		break;
	case CONN_BUMP_CLIENT:
	case CONN_CLIENT_TLS:
		ce |= c->client.tls_want;
		break;
	case CONN_REPLY:
		if (!c->client.eof)
			ce |= EV_READ;
		if (out_pending(&c->client))
			ce |= EV_WRITE;
		break;
	case CONN_CLOSING:
		break;
	}
	/* Record bytes in a tail (struct bump_io) go out whatever the state. */
	if (side_tail_pending(&c->client))
		ce |= EV_WRITE;
	if (side_tail_pending(&c->server))
		se |= EV_WRITE;
	side_watch(loop, &c->client, ce);
	side_watch(loop, &c->server, se);
	side_feed_pending(loop, &c->client, ce);
	side_feed_pending(loop, &c->server, se);
}

/* After any event: close, or re-arm the timer and the watchers. */
static void
conn_after(struct ev_loop *loop, struct conn *c)
{
	if (c->state == CONN_CLOSING) {
		conn_close(loop, c); /* c is gone: nothing may follow */
		return;
	}
	c->idle.repeat = conn_timeout(c);
	ev_timer_again(loop, &c->idle);
	conn_update_watchers(loop, c);
}

static void
conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)revents;
	switch (c->state) {
	case CONN_PEER_CONNECT:
		conn_next_hop(c, 504, "ERR_CONNECT_FAIL",
		              "the cache_peer did not answer the CONNECT in time");
		break;
	case CONN_PEER_TLS:
		conn_next_hop(c, 504, "ERR_SECURE_CONNECT_FAIL",
		              "the cache_peer's TLS handshake did not finish in "
		              "time");
		break;
	case CONN_CONNECTING:
		if (c->addr_next < c->resolve.naddrs ||
		    conn_hop_peer(c) != NULL || c->txn.hop + 1 < c->txn.nhops) {
			/*
			 * Try the next address, one may be unreachable; or
			 * the next hop, or the reply, when none is left.
			 */
			conn_log(c, LOG_INFO, "connect %s: timed out", c->txn.peer);
			side_clear(loop, &c->server);
			c->connect_errno = ETIMEDOUT;
			conn_connect_next(c);
			break;
		}
		__attribute__((fallthrough));
	case CONN_RESOLVING:
		if (c->state == CONN_RESOLVING && c->txn.resolving_peer) {
			conn_next_hop(c, 504, "ERR_DNS_FAIL",
			              "the cache_peer's name did not resolve in time");
			break;
		}
		c->txn.peer[0] = '\0';
		conn_reply(c, 504, "ERR_CONNECT_FAIL",
		           "the connection to the server timed out");
		break;
	case CONN_FORWARD:
		if (!c->txn.resp_head_done) {
			conn_reply(c, 504, "ERR_READ_TIMEOUT",
			           "the server did not answer in time");
			break;
		}
		conn_log(c, LOG_INFO, "read timeout");
		c->txn.result = "TCP_MISS_ABORTED";
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_BUMP_SERVER:
		conn_tls_abort(c, 504, "ERR_SECURE_CONNECT_FAIL",
		               "the server's TLS handshake did not finish in "
		               "time");
		break;
	case CONN_AUTH:
		auth_cancel(&c->auth);
		c->auth.ok = false;
		c->auth.error = "no answer from the helper in time";
		conn_auth_result(c);
		conn_auth_resume(c);
		if (c->state != CONN_CLOSING)
			conn_run(c);
		break;
	case CONN_BUMP_AIA:
		conn_log(c, LOG_INFO, "the missing issuer did not arrive in "
		                      "time (AIA)");
		aia_cancel(&c->aia);
		conn_bump_verified(c); /* then the client's handshake */
		break;
	case CONN_BUMP_CLIENT:
		conn_log(c, LOG_INFO, "the client's TLS handshake did not "
		                      "finish in time (request_timeout)");
		c->txn.result = "NONE_NONE";
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_REQ_HEAD:
		if ((c->client.in == NULL || buf_len(c->client.in) == 0) &&
		    ev_now(loop) < c->idle_end && !c->bumped) {
			/* server_idle_pconn_timeout of the attached server */
			side_clear(loop, &c->server);
			free(c->server_key);
			c->server_key = NULL;
			break;
		}
		if (c->client.in != NULL && buf_len(c->client.in) > 0 &&
		    ev_now(loop) >= c->deadline) {
			conn_reply(c, 408, "ERR_REQUEST_TIMEOUT",
			           "the request head did not arrive in time "
			           "(request_timeout)");
			break;
		}
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_TUNNEL:
		conn_log(c, LOG_DEBUG, "tunnel idle timeout");
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_PROXY_HDR:
		conn_log(c, LOG_INFO, "no PROXY header in time "
		                      "(request_timeout)");
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_CLIENT_TLS:
		conn_log(c, LOG_INFO, "the client's TLS handshake did not "
		                      "finish in time (request_timeout)");
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_TLS_HELLO:
		conn_log(c, LOG_INFO, "no complete ClientHello in time "
		                      "(request_timeout)");
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_TLS_SERVER:
		conn_log(c, LOG_INFO, "the server did not answer the "
		                      "ClientHello in time");
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	case CONN_REPLY:
	case CONN_CLOSING:
		conn_fail(c, CONN_ERR_TIMEOUT);
		break;
	}
	/*
	 * The state the timeout led to may have work before any event: the
	 * reply, a bumped client's handshake that shows it the error (its
	 * ClientHello is read already: no EV_READ comes for it), the TLS
	 * with the next parent.
	 */
	if (c->state != CONN_CLOSING)
		conn_run(c);
	conn_after(loop, c);
}

static void
conn_lifetime_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)revents;
	conn_log(c, LOG_INFO, "client_lifetime reached");
	if (c->txn_active && c->txn.result != NULL &&
	    strcmp(c->txn.result, "TCP_MISS") == 0)
		c->txn.result = "TCP_MISS_ABORTED";
	conn_fail(c, CONN_ERR_LIFETIME);
	conn_after(loop, c);
}

/* IPv4-mapped IPv6 clients of a dual-stack listener are IPv4 clients. */
static void
sockaddr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in   s4;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

/* Same address family and IP address; ports are not compared. */
static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	       memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	              &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static bool
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (!same_host(a, b))
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return ((const struct sockaddr_in6 *)a)->sin6_port ==
	       ((const struct sockaddr_in6 *)b)->sin6_port;
}

/*
 * Would a connection to a come back to this proxy?  That is the address
 * of this connection's own end, or a port bascule listens on, at that
 * port's address or, for a wildcard port, any address.
 */
static bool
conn_is_own_address(const struct conn *c, const struct sockaddr_storage *a)
{
	struct sockaddr_storage local;
	socklen_t               len = sizeof(local);

	if (getsockname(c->client.fd, (struct sockaddr *)&local, &len) < 0)
		return true;
	sockaddr_unmap(&local);
	if (same_address(a, &local))
		return true;
	for (const struct listener *l = c->worker->listeners; l != NULL;
	     l = l->next) {
		struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;

		len = sizeof(local);
		if (getsockname(l->fd, (struct sockaddr *)&local, &len) < 0)
			continue;
		if (local.ss_family == AF_INET6 &&
		    IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr)) {
			if (sockaddr_port(a) == ntohs(l6->sin6_port))
				return true; /* any address: be safe */
			continue;
		}
		if (local.ss_family == AF_INET &&
		    ((struct sockaddr_in *)&local)->sin_addr.s_addr ==
		            htonl(INADDR_ANY)) {
			if (sockaddr_port(a) ==
			    ntohs(((struct sockaddr_in *)&local)->sin_port))
				return true;
			continue;
		}
		sockaddr_unmap(&local);
		if (same_address(a, &local))
			return true;
	}
	return false;
}

/*
 * Where an intercepted connection was going before NAT redirected it to
 * us (netfilter's SO_ORIGINAL_DST).  A connection made straight to the
 * intercepting port has no such address, or has ours: it would loop.
 */
static int
conn_original_dst(struct conn *c)
{
	struct sockaddr_storage local;
	socklen_t               len = sizeof(c->orig_dst), llen = sizeof(local);
	int                     r;

	if (getsockname(c->client.fd, (struct sockaddr *)&local, &llen) < 0)
		return -1;
	/* IPv4 through a dual-stack socket is netfilter's IPv4 table. */
	if (local.ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr))
		r = getsockopt(c->client.fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST,
		               &c->orig_dst, &len);
	else
		r = getsockopt(c->client.fd, SOL_IP, SO_ORIGINAL_DST,
		               &c->orig_dst, &len);
	sockaddr_unmap(&c->orig_dst);
	if (r < 0 || conn_is_own_address(c, &c->orig_dst)) {
		conn_log(c, LOG_INFO, "intercepted connection without a NAT "
		                      "destination: closed");
		return -1;
	}
	c->intercepted = true;
	return 0;
}

void
conn_new(struct worker *w, struct listener *l, int fd,
         const struct sockaddr_storage *addr)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->id = ++w->next_conn_id;
	c->worker = w;
	c->listener = l;
	c->conf = conf_ref(w->conf);
	/* Its TLS contexts, for as long as it lives: a reload replaces them
	 * for later connections only. */
	if (w->bump != NULL)
		c->bump_gen = bump_gen_ref(w->bump);
	c->client_addr = *addr;
	sockaddr_unmap(&c->client_addr);
	sockaddr_ip(&c->client_addr, c->client_ip, sizeof(c->client_ip));
	side_init(&c->client);
	side_init(&c->server);
	side_set_fd(c, &c->client, fd); /* TCP_NODELAY from the listener */

	ev_init(&c->idle, conn_idle_cb);
	c->idle.data = c;
	ev_timer_init(&c->lifetime, conn_lifetime_cb,
	              (double)c->conf->client_lifetime / 1000.0, 0.0);
	c->lifetime.data = c;
	ev_timer_start(w->loop, &c->lifetime);

	c->idle_end = ev_now(w->loop) +
	              (double)c->conf->client_idle_pconn_timeout / 1000.0;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if ((l->flags & LISTEN_PROXY_HEADER) && !conn_proxy_peer_allowed(c)) {
		c->state = CONN_CLOSING;
	} else if (l->flags & LISTEN_PROXY_HEADER) {
		c->state = CONN_PROXY_HDR;
		c->action = "reading the PROXY header";
		c->deadline = ev_now(w->loop) +
		              (double)c->conf->request_timeout / 1000.0;
	} else if ((l->flags & LISTEN_INTERCEPT) &&
	           conn_original_dst(c) < 0) {
		c->state = CONN_CLOSING;
	} else if (l->flags & LISTEN_HTTPS) {
		conn_https_begin(c);
		if (c->state != CONN_CLOSING)
			conn_run(c);
	}
	conn_after(w->loop, c);
}

void
conn_close(struct ev_loop *loop, struct conn *c)
{
	struct worker *w = c->worker;

	if (c->txn_active && c->err != CONN_OK && c->txn.result != NULL &&
	    strcmp(c->txn.result, "TCP_MISS") == 0)
		c->txn.result = "TCP_MISS_ABORTED";
	conn_log_txn(c);
	if (c->err != CONN_OK)
		conn_log(c, LOG_DEBUG, "closed: %s", conn_err_str(c->err));
	ev_timer_stop(loop, &c->idle);
	ev_timer_stop(loop, &c->lifetime);
	resolve_cancel(&c->resolve);
	aia_req_clear(&c->aia);
	auth_cancel(&c->auth); /* an answer that comes later is dropped */
	conn_release_server(c);
	side_clear(loop, &c->client);
	side_clear(loop, &c->server);
	txn_clear(&c->txn);
	mimic_cert_unref(c->leaf);
	bump_gen_unref(c->bump_gen);
	free(c->bump_host);
	free(c->bump_user);
	free(c->bump_fail_reason);
	conf_unref(c->conf);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	free(c);
	worker_conn_closed(w);
}

void
conn_shutdown(struct conn *c)
{
	if (c->state == CONN_REQ_HEAD &&
	    (c->client.in == NULL || buf_len(c->client.in) == 0)) {
		conn_fail(c, CONN_ERR_SHUTDOWN);
		conn_close(c->worker->loop, c);
		return;
	}
	c->txn.client_keep_alive = false; /* close after this transaction */
}
