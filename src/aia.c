/*
 * aia: caIssuers fetches and their cache (see aia.h).
 *
 * The cache is a list of entries, most recently used first, one per URL.
 * An entry is either being fetched (entry->fetch, with the requests that
 * wait for it) or done: certificates, or the reason it failed, until it
 * expires.  A fetch goes: resolve (resolve.c), connect to each address in
 * turn (upstream_connect()), send the request, read the response into a
 * bounded buffer, parse it (aia_parse.c), then completes exactly once in
 * fetch_done(), which fills the entry and calls the waiting requests back
 * one at a time.  A callback may start or cancel any request: while it
 * runs, the entry keeps its fetch, which no eviction touches, and new
 * requests for its URL are answered from it at once.
 *
 * A fetch lives on when every request that waited for it is gone: it is
 * bounded by its timers, and its answer goes to the cache.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "aia.h"
#include "aia_parse.h"
#include "log.h"
#include "resolve.h"
#include "upstream.h"

#define AIA_TTL          3600.0     /* s: certificates */
#define AIA_TTL_FAILED   60.0       /* s: a failure, so it is not hammered */
#define AIA_CACHE_MAX    256        /* entries */
#define AIA_CACHE_BYTES  (4u << 20) /* response bodies of entries */
#define AIA_FETCHING_MAX 32         /* fetches in flight per worker */
/* a chunked body carries framing besides its AIA_BODY_MAX bytes */
#define AIA_IN_MAX  (AIA_HEAD_MAX + AIA_BODY_MAX + 16384)
#define AIA_REQ_MAX (AIA_URL_MAX + HOSTNAME_MAX + 256)

struct aia_certs {
	unsigned          refs;
	unsigned          n;
	gnutls_x509_crt_t crt[AIA_CERTS_MAX];
};

struct aia_entry {
	struct aia_entry *newer, *older; /* the LRU list */
	struct aia_fetch *fetch;   /* in flight or calling back; NULL: done */
	struct aia_certs *certs;   /* done: what came, NULL if it failed */
	double            expires; /* monotonic seconds */
	size_t            bytes;   /* counted in aia->bytes */
	uint32_t          hash;
	char              why[160]; /* done and failed: why */
	char              url[];
};

struct aia_fetch {
	struct aia         *aia;
	struct aia_entry   *entry;
	struct aia_url      url;
	struct resolve_req  resolve;
	size_t              addr_next;
	int                 connect_errno;
	int                 fd;
	ev_io               io;
	ev_timer            timer;
	double              read_s;
	bool                connecting;
	bool                done; /* calling back: the entry has the answer */
	char                req[AIA_REQ_MAX];
	size_t              req_len;
	size_t              req_sent;
	uint8_t            *in; /* AIA_IN_MAX */
	size_t              in_len;
	uint8_t            *body; /* AIA_BODY_MAX */
	struct aia_response resp;
	struct aia_req     *waiters;
};

struct aia {
	struct ev_loop   *loop;
	struct resolver  *resolver;
	struct aia_entry *newest, *oldest;
	size_t            nentries;
	size_t            bytes;
	unsigned          nfetching;
};

static void fetch_connect_next(struct aia_fetch *f);

static double
aia_now(void)
{
	struct timespec ts;

	/* Monotonic: a clock step must not age or revive cache entries. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a. */
static uint32_t
aia_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static const char *
url_for_log(const char *url, char *out, size_t outsz)
{
	return log_escape(url, strlen(url), out, outsz);
}

/* ------------------------------------------------------------------ */
/* Certificates and the cache */

static struct aia_certs *
certs_ref(struct aia_certs *c)
{
	c->refs++;
	return c;
}

static void
certs_unref(struct aia_certs *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	for (unsigned i = 0; i < c->n; i++)
		gnutls_x509_crt_deinit(c->crt[i]);
	free(c);
}

static void
lru_unlink(struct aia *a, struct aia_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		a->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		a->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct aia *a, struct aia_entry *e)
{
	e->newer = NULL;
	e->older = a->newest;
	if (a->newest != NULL)
		a->newest->newer = e;
	a->newest = e;
	if (a->oldest == NULL)
		a->oldest = e;
}

/* Frees a done entry. */
static void
entry_free(struct aia *a, struct aia_entry *e)
{
	assert(e->fetch == NULL);
	lru_unlink(a, e);
	a->nentries--;
	a->bytes -= e->bytes;
	certs_unref(e->certs);
	free(e);
}

static struct aia_entry *
entry_find(struct aia *a, const char *url, uint32_t hash)
{
	for (struct aia_entry *e = a->newest; e != NULL; e = e->older)
		if (e->hash == hash && strcmp(e->url, url) == 0)
			return e;
	return NULL;
}

/* Makes room for one more entry: the least recently used done ones go. */
static void
cache_trim(struct aia *a)
{
	struct aia_entry *e = a->oldest, *newer;

	while (e != NULL &&
	       (a->nentries >= AIA_CACHE_MAX || a->bytes > AIA_CACHE_BYTES)) {
		newer = e->newer;
		if (e->fetch == NULL)
			entry_free(a, e);
		e = newer;
	}
}

static struct aia_entry *
entry_new(struct aia *a, const char *url, uint32_t hash)
{
	size_t            len = strlen(url);
	struct aia_entry *e;

	cache_trim(a);
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->url, url, len + 1);
	e->hash = hash;
	e->bytes = sizeof(*e) + len + 1;
	a->bytes += e->bytes;
	a->nentries++;
	lru_push(a, e);
	return e;
}

/* What a done entry says to req: DONE with its certificates, or FAILED. */
static enum aia_status
req_answer(struct aia_req *req, const struct aia_entry *e)
{
	assert(req->nurls > 0);
	if (e->certs != NULL) {
		req->got[req->nurls - 1] = certs_ref(e->certs);
		req->error = NULL;
		return AIA_DONE;
	}
	snprintf(req->why, sizeof(req->why), "%s", e->why);
	req->error = req->why;
	return AIA_FAILED;
}

static enum aia_status
req_fail(struct aia_req *req, const char *why)
{
	snprintf(req->why, sizeof(req->why), "%s", why);
	req->error = req->why;
	return AIA_FAILED;
}

/* ------------------------------------------------------------------ */
/* A fetch */

static void
fetch_close(struct aia_fetch *f)
{
	struct ev_loop *loop = f->aia->loop;

	ev_timer_stop(loop, &f->timer);
	resolve_cancel(&f->resolve);
	if (f->fd >= 0) {
		ev_io_stop(loop, &f->io);
		close(f->fd);
		f->fd = -1;
	}
	free(f->in);
	f->in = NULL;
	free(f->body);
	f->body = NULL;
}

/*
 * The end of a fetch: the entry gets certs (a reference handed over) or,
 * when certs is NULL, the failure already in entry->why; every waiting
 * request is called back.  f is freed.
 */
static void
fetch_done(struct aia_fetch *f, struct aia_certs *certs, size_t body_len)
{
	struct aia       *a = f->aia;
	struct aia_entry *e = f->entry;
	struct aia_req   *req;
	char              url[256];

	fetch_close(f);
	e->certs = certs;
	e->expires = aia_now() + (certs != NULL ? AIA_TTL : AIA_TTL_FAILED);
	e->bytes += body_len;
	a->bytes += body_len;
	if (certs != NULL)
		log_msg(LOG_DEBUG, "aia %s: %u certificate%s, %zu bytes",
		        url_for_log(e->url, url, sizeof(url)), certs->n,
		        certs->n == 1 ? "" : "s", body_len);
	else
		log_msg(LOG_INFO, "aia %s: %s",
		        url_for_log(e->url, url, sizeof(url)), e->why);
	f->done = true;
	while ((req = f->waiters) != NULL) {
		f->waiters = req->next;
		req->next = NULL;
		req->wait = NULL;
		(void)req_answer(req, e);
		req->cb(req);
	}
	e->fetch = NULL;
	a->nfetching--;
	free(f);
}

static void __attribute__((format(printf, 2, 3)))
fetch_fail(struct aia_fetch *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->entry->why, sizeof(f->entry->why), fmt, ap);
	va_end(ap);
	fetch_done(f, NULL, 0);
}

/* The body is in: its certificates. */
static void
fetch_parse_body(struct aia_fetch *f)
{
	struct aia_certs *c;
	const char       *why = NULL;
	int               n;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fetch_fail(f, "out of memory");
		return;
	}
	n = aia_certs_parse(f->body, f->resp.body_len, c->crt, AIA_CERTS_MAX,
	                    &why);
	if (n <= 0) {
		free(c);
		fetch_fail(f, "%s", why != NULL ? why : "no certificate");
		return;
	}
	c->n = (unsigned)n;
	c->refs = 1; /* the entry's */
	fetch_done(f, c, f->resp.body_len);
}

static void
fetch_watch(struct aia_fetch *f, int events)
{
	ev_io_stop(f->aia->loop, &f->io);
	ev_io_set(&f->io, f->fd, events);
	ev_io_start(f->aia->loop, &f->io);
}

/* Reads what the socket has; parses; completes or waits. */
static void
fetch_read(struct aia_fetch *f)
{
	enum parse_result pr;
	const char       *why = NULL;
	ssize_t           n;
	bool              eof;

	if (f->in == NULL && ((f->in = malloc(AIA_IN_MAX)) == NULL ||
	                      (f->body = malloc(AIA_BODY_MAX)) == NULL)) {
		fetch_fail(f, "out of memory");
		return;
	}
	for (;;) {
		if (f->in_len == AIA_IN_MAX) {
			fetch_fail(f, "response too large");
			return;
		}
		n = recv(f->fd, f->in + f->in_len, AIA_IN_MAX - f->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			fetch_fail(f, "read: %s", strerror(errno));
			return;
		}
		eof = n == 0;
		f->in_len += (size_t)n;
		pr = aia_response_parse(&f->resp, f->in, f->in_len, eof,
		                        f->body, AIA_BODY_MAX, &why);
		if (pr == PARSE_OK) {
			fetch_parse_body(f);
			return;
		}
		if (pr == PARSE_ERROR && f->resp.status != 0 &&
		    f->resp.status != 200) {
			fetch_fail(f, "HTTP status %d", f->resp.status);
			return;
		}
		if (pr == PARSE_ERROR || eof) {
			fetch_fail(f, "bad response: %s",
			           why != NULL ? why : "closed early");
			return;
		}
	}
}

static void
fetch_send(struct aia_fetch *f)
{
	ssize_t n;

	while (f->req_sent < f->req_len) {
		n = send(f->fd, f->req + f->req_sent, f->req_len - f->req_sent,
		         MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fetch_watch(f, EV_WRITE);
			return;
		}
		if (n < 0) {
			fetch_fail(f, "write: %s", strerror(errno));
			return;
		}
		f->req_sent += (size_t)n;
	}
	fetch_watch(f, EV_READ);
}

/* Connected: read_timeout bounds the request and the response. */
static void
fetch_connected(struct aia_fetch *f)
{
	f->connecting = false;
	ev_timer_stop(f->aia->loop, &f->timer);
	ev_timer_set(&f->timer, f->read_s, 0.0);
	ev_timer_start(f->aia->loop, &f->timer);
	fetch_send(f);
}

static void
fetch_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct aia_fetch *f = w->data;

	(void)loop;
	if (f->connecting) {
		if (upstream_connect_result(f->fd) < 0) {
			f->connect_errno = errno;
			ev_io_stop(f->aia->loop, &f->io);
			close(f->fd);
			f->fd = -1;
			fetch_connect_next(f);
			return;
		}
		fetch_connected(f);
		return;
	}
	if (f->req_sent < f->req_len) {
		fetch_send(f);
		return;
	}
	if (revents & EV_READ)
		fetch_read(f);
}

static void
fetch_connect_next(struct aia_fetch *f)
{
	while (f->addr_next < f->resolve.naddrs) {
		const struct sockaddr_storage *sa =
		        &f->resolve.addrs[f->addr_next++];
		bool done = false;
		int  fd = upstream_connect(sa, &done);

		if (fd < 0) {
			f->connect_errno = errno;
			continue;
		}
		f->fd = fd;
		ev_io_init(&f->io, fetch_io_cb, fd, EV_WRITE);
		f->io.data = f;
		if (done) {
			fetch_connected(f);
		} else {
			f->connecting = true;
			ev_io_start(f->aia->loop, &f->io);
		}
		return;
	}
	fetch_fail(f, "connect: %s",
	           f->connect_errno != 0 ? strerror(f->connect_errno)
	                                 : "no address");
}

static void
fetch_resolved_cb(struct resolve_req *req)
{
	struct aia_fetch *f = req->data;

	if (req->naddrs == 0)
		fetch_fail(f, "%s",
		           req->error != NULL ? req->error
		                              : "name resolution failed");
	else
		fetch_connect_next(f);
}

static void
fetch_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct aia_fetch *f = w->data;

	(void)loop;
	(void)revents;
	if (f->fd < 0 || f->connecting)
		fetch_fail(f, "no connection in time (connect_timeout)");
	else
		fetch_fail(f, "no complete response in time (read_timeout)");
}

/* Starts the fetch of entry e; it may be over (e->fetch NULL) on return. */
static void
fetch_start(struct aia *a, struct aia_entry *e, const struct aia_url *u,
            uint64_t connect_ms, uint64_t read_ms)
{
	struct aia_fetch *f;
	char              url[256];

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(e->why, sizeof(e->why), "out of memory");
		e->expires = aia_now() + AIA_TTL_FAILED;
		return;
	}
	f->aia = a;
	f->entry = e;
	f->url = *u;
	f->fd = -1;
	f->read_s = (double)read_ms / 1000.0;
	f->req_len = aia_request(u, "bascule/" PACKAGE_VERSION, f->req,
	                         sizeof(f->req));
	e->fetch = f;
	a->nfetching++;
	ev_timer_init(&f->timer, fetch_timeout_cb, (double)connect_ms / 1000.0,
	              0.0);
	f->timer.data = f;
	ev_timer_start(a->loop, &f->timer);
	log_msg(LOG_DEBUG, "aia %s: fetching",
	        url_for_log(e->url, url, sizeof(url)));
	if (f->req_len == 0) {
		fetch_fail(f, "URL too long");
		return;
	}
	f->resolve.cb = fetch_resolved_cb;
	f->resolve.data = f;
	switch (resolve_start(a->resolver, &f->resolve, u->host, u->port)) {
	case RESOLVE_DONE:
		fetch_connect_next(f);
		break;
	case RESOLVE_PENDING:
		break;
	case RESOLVE_FAILED:
		fetch_fail(f, "%s",
		           f->resolve.error != NULL ? f->resolve.error
		                                    : "name resolution failed");
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The interface */

struct aia *
aia_new(struct ev_loop *loop, struct resolver *r)
{
	struct aia *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->loop = loop;
	a->resolver = r;
	return a;
}

void
aia_free(struct aia *a)
{
	struct aia_entry *e, *older;

	if (a == NULL)
		return;
	for (e = a->newest; e != NULL; e = older) {
		older = e->older;
		if (e->fetch != NULL) {
			struct aia_fetch *f = e->fetch;

			for (struct aia_req *req = f->waiters; req != NULL;
			     req = req->next)
				req->wait = NULL;
			fetch_close(f);
			free(f);
			e->fetch = NULL;
		}
		entry_free(a, e);
	}
	free(a);
}

enum aia_status
aia_start(struct aia *a, struct aia_req *req, const char *url,
          uint64_t connect_ms, uint64_t read_ms)
{
	struct aia_entry *e;
	struct aia_url    u;
	const char       *why = NULL;
	uint32_t          hash = aia_hash(url);

	assert(req->wait == NULL && req->cb != NULL);
	req->error = NULL;
	if (req->stopped)
		return req_fail(req, "no more fetches for this connection");
	for (unsigned i = 0; i < req->nurls; i++)
		if (req->urls[i] == hash)
			return req_fail(req, "asked for already: a loop");
	if (req->nurls == AIA_FETCHES_MAX)
		return req_fail(req, "too many missing issuers");
	if (aia_url_parse(url, &u, &why) < 0)
		return req_fail(req, why);
	e = entry_find(a, url, hash);
	if (e != NULL && e->fetch == NULL && e->expires <= aia_now()) {
		entry_free(a, e);
		e = NULL;
	}
	if (e == NULL && a->nfetching >= AIA_FETCHING_MAX)
		return req_fail(req, "too many fetches in flight");
	req->urls[req->nurls++] = hash;
	if (e == NULL) {
		if ((e = entry_new(a, url, hash)) == NULL)
			return req_fail(req, "out of memory");
		fetch_start(a, e, &u, connect_ms, read_ms);
	} else {
		lru_unlink(a, e);
		lru_push(a, e);
	}
	if (e->fetch != NULL && !e->fetch->done) {
		req->wait = e;
		req->next = e->fetch->waiters;
		e->fetch->waiters = req;
		return AIA_PENDING;
	}
	return req_answer(req, e);
}

void
aia_cancel(struct aia_req *req)
{
	struct aia_req **pp;

	req->stopped = true;
	if (req->wait == NULL)
		return;
	for (pp = &req->wait->fetch->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	}
	req->wait = NULL;
	req->next = NULL;
}

void
aia_req_clear(struct aia_req *req)
{
	aia_cancel(req);
	for (unsigned i = 0; i < AIA_FETCHES_MAX; i++) {
		certs_unref(req->got[i]);
		req->got[i] = NULL;
	}
	req->nurls = 0;
	req->error = NULL;
}

unsigned
aia_req_certs(const struct aia_req *req, gnutls_x509_crt_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < AIA_FETCHES_MAX; i++)
		for (unsigned j = 0;
		     req->got[i] != NULL && j < req->got[i]->n && n < max; j++)
			out[n++] = req->got[i]->crt[j];
	return n;
}
