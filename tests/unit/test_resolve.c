#include "config.h"

/*
 * test_resolve: resolve.c against a real libev loop and a tiny DNS server
 * on 127.0.0.1 run by the same loop.  The server answers A and AAAA
 * queries from a table, NXDOMAIN for other names, never answers "slow.test"
 * and counts what it receives, so the cases can tell a cache hit from a
 * query.  Every loop run is bounded by a safety timer.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "resolve.h"
#include "tap.h"

/* What the test server knows; every other name is NXDOMAIN. */
struct dns_name {
	const char *name;
	const char *a;    /* NULL: no A record */
	const char *aaaa; /* NULL: no AAAA record */
	uint32_t    ttl;
	bool        silent; /* never answered */
};

static const struct dns_name dns_names[] = {
	{ "a.test", "192.0.2.1", NULL, 300, false },
	{ "dual.test", "192.0.2.2", "2001:db8::2", 300, false },
	{ "cached.test", "192.0.2.3", NULL, 300, false },
	{ "short.test", "192.0.2.4", NULL, 1, false },
	{ "shared.test", "192.0.2.5", NULL, 300, false },
	{ "cancel.test", "192.0.2.6", NULL, 300, false },
	{ "orphan.test", "192.0.2.7", NULL, 300, false },
	{ "reentry.test", "192.0.2.8", NULL, 300, false },
	{ "fresh.test", "192.0.2.9", NULL, 300, false },
	{ "hosted.test", "192.0.2.10", NULL, 300, false },
	{ "inflight.test", "192.0.2.11", NULL, 300, false },
	{ "nodata.test", NULL, NULL, 300, false },
	{ "slow.test", NULL, NULL, 300, true },
};

#define NNAMES (sizeof(dns_names) / sizeof(dns_names[0]))

#define DNS_TYPE_A    1
#define DNS_TYPE_AAAA 28

struct dns_server {
	int      fd;
	ev_io    io;
	uint16_t port;
	unsigned a[NNAMES];    /* A queries received, per name */
	unsigned aaaa[NNAMES]; /* AAAA queries received, per name */
	unsigned unknown;      /* queries for other names */
};

struct fixture {
	struct ev_loop   *loop;
	struct dns_server dns;
	char              dir[PATH_MAX];
	char              hosts1[PATH_MAX];
	char              hosts2[PATH_MAX];
	char              big[PATH_MAX];
	char              missing[PATH_MAX];
	char              server[32]; /* "127.0.0.1:PORT" */
	char             *ns[2];
	struct conf       conf;
	struct resolver  *r;
	int               callbacks; /* resolve_fn calls in this case */
};

/* One request and what its callback saw. */
struct lookup {
	struct resolve_req req;
	struct fixture    *f;
	int                calls;
	/* reentry case: what the callback does */
	struct lookup      *other;
	struct lookup      *cached;
	struct lookup      *fresh;
	enum resolve_status cached_status;
	enum resolve_status fresh_status;
};

static size_t
dns_find(const char *name)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		if (strcmp(dns_names[i].name, name) == 0)
			return i;
	return NNAMES;
}

/* Appends one answer record for the question's name; 0 or -1 if no room. */
static int
dns_add_answer(uint8_t *r, size_t *len, size_t cap, uint16_t type, uint32_t ttl,
               const char *text)
{
	uint8_t rdata[16];
	size_t  rdlen = type == DNS_TYPE_A ? 4 : 16;
	int     family = type == DNS_TYPE_A ? AF_INET : AF_INET6;
	uint8_t rr[12];

	if (inet_pton(family, text, rdata) != 1)
		return -1;
	if (sizeof(rr) + rdlen > cap - *len)
		return -1;
	rr[0] = 0xc0; /* pointer to the question name at offset 12 */
	rr[1] = 12;
	rr[2] = (uint8_t)(type >> 8);
	rr[3] = (uint8_t)type;
	rr[4] = 0;
	rr[5] = 1; /* IN */
	rr[6] = (uint8_t)(ttl >> 24);
	rr[7] = (uint8_t)(ttl >> 16);
	rr[8] = (uint8_t)(ttl >> 8);
	rr[9] = (uint8_t)ttl;
	rr[10] = 0;
	rr[11] = (uint8_t)rdlen;
	memcpy(r + *len, rr, sizeof(rr));
	memcpy(r + *len + sizeof(rr), rdata, rdlen);
	*len += sizeof(rr) + rdlen;
	return 0;
}

/* RFC 1035 4.1: one question in, header + question + answers out. */
static void
dns_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_server      *s = w->data;
	struct sockaddr_storage from;
	socklen_t               fromlen = sizeof(from);
	uint8_t                 q[512], r[512];
	ssize_t                 n;
	size_t                  off = 12, nlen = 0, rlen, i;
	uint16_t                qtype;
	char                    name[256];
	const struct dns_name  *d = NULL;
	const char             *text = NULL;
	uint8_t                 rcode = 0;

	(void)loop;
	(void)revents;
	n = recvfrom(w->fd, q, sizeof(q), 0, (struct sockaddr *)&from,
	             &fromlen);
	if (n < 12)
		return;
	while (off < (size_t)n && q[off] != 0) {
		size_t l = q[off];

		if (l > 63 || l + 1 > (size_t)n - off ||
		    nlen + l + 1 >= sizeof(name))
			return;
		if (nlen > 0)
			name[nlen++] = '.';
		for (i = 0; i < l; i++) {
			char c = (char)q[off + 1 + i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			name[nlen++] = c;
		}
		off += 1 + l;
	}
	name[nlen] = '\0';
	if (5 > (size_t)n - off)
		return;
	off++; /* root label */
	qtype = (uint16_t)(q[off] << 8 | q[off + 1]);
	off += 4; /* type, class */

	i = dns_find(name);
	if (i == NNAMES) {
		s->unknown++;
		rcode = 3; /* NXDOMAIN */
	} else {
		d = &dns_names[i];
		if (qtype == DNS_TYPE_A)
			s->a[i]++;
		else if (qtype == DNS_TYPE_AAAA)
			s->aaaa[i]++;
		if (d->silent)
			return;
		if (qtype == DNS_TYPE_A)
			text = d->a;
		else if (qtype == DNS_TYPE_AAAA)
			text = d->aaaa;
	}

	memcpy(r, q, off); /* header and question; drops any EDNS record */
	rlen = off;
	r[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
	r[3] = (uint8_t)(0x80 | rcode);         /* RA */
	r[4] = 0;
	r[5] = 1; /* QDCOUNT */
	memset(r + 6, 0, 6);
	if (text != NULL &&
	    dns_add_answer(r, &rlen, sizeof(r), qtype, d->ttl, text) == 0)
		r[7] = 1; /* ANCOUNT */
	sendto(w->fd, r, rlen, 0, (struct sockaddr *)&from, fromlen);
}

static int
dns_start(struct ev_loop *loop, struct dns_server *s)
{
	struct sockaddr_in sin;
	socklen_t          len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s->fd, (struct sockaddr *)&sin, &len) == -1) {
		close(s->fd);
		return -1;
	}
	s->port = ntohs(sin.sin_port);
	ev_io_init(&s->io, dns_read_cb, s->fd, EV_READ);
	s->io.data = s;
	ev_io_start(loop, &s->io);
	return 0;
}

static void
dns_stop(struct ev_loop *loop, struct dns_server *s)
{
	ev_io_stop(loop, &s->io);
	close(s->fd);
}

/* Queries of each type the server received for name. */
static unsigned
dns_count_a(const struct fixture *f, const char *name)
{
	return f->dns.a[dns_find(name)];
}

static unsigned
dns_count_aaaa(const struct fixture *f, const char *name)
{
	return f->dns.aaaa[dns_find(name)];
}

static void
lookup_cb(struct resolve_req *req)
{
	struct lookup *l = req->data;

	l->calls++;
	l->f->callbacks++;
}

static enum resolve_status
lookup_start(struct fixture *f, struct lookup *l, const char *host,
             uint16_t port)
{
	memset(l, 0, sizeof(*l));
	l->f = f;
	l->req.cb = lookup_cb;
	l->req.data = l;
	return resolve_start(f->r, &l->req, host, port);
}

static void
safety_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	bool *expired = w->data;

	(void)revents;
	*expired = true;
	ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until want callbacks ran or secs passed: true if they ran. */
static bool
run_until(struct fixture *f, int want, double secs)
{
	ev_timer safety;
	bool     expired = false;

	ev_now_update(f->loop);
	ev_timer_init(&safety, safety_cb, secs, 0.);
	safety.data = &expired;
	ev_timer_start(f->loop, &safety);
	while (f->callbacks < want && !expired)
		ev_run(f->loop, EVRUN_ONCE);
	ev_timer_stop(f->loop, &safety);
	return f->callbacks >= want;
}

static void
run_for(struct fixture *f, double secs)
{
	run_until(f, INT_MAX, secs);
}

/* True if ss is text:port. */
static bool
addr_is(const struct sockaddr_storage *ss, const char *text, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		return ntohs(sin->sin_port) == port &&
		       inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)) &&
		       strcmp(buf, text) == 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		        (const struct sockaddr_in6 *)ss;

		return ntohs(sin6->sin6_port) == port &&
		       inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		                 sizeof(buf)) &&
		       strcmp(buf, text) == 0;
	}
	return false;
}

static bool
req_has(const struct resolve_req *req, const char *text, uint16_t port)
{
	size_t i;

	for (i = 0; i < req->naddrs; i++)
		if (addr_is(&req->addrs[i], text, port))
			return true;
	return false;
}

static bool
error_is(const struct resolve_req *req, const char *error)
{
	return req->error != NULL && strcmp(req->error, error) == 0;
}

static int
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp) == 0 ? 0 : -1;
}

static const char hosts1_text[] =
        "# test hosts file\n"
        "127.0.0.1\tlocalhost\n"
        "192.0.2.77  MyHost.Example. alias1   # trailing comment\n"
        "2001:db8::77 myhost.example\n"
        "198.51.100.9 hosted.test\n"
        "not-an-address ignored.example\n"
        "#192.0.2.99 commented.example\n"
        "192.0.2.78 last.example"; /* no final newline */

static const char hosts2_text[] = "192.0.2.88 myhost.example\n";

/* Cases. */

static void
case_literal_v4(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "192.0.2.200", 80) == RESOLVE_DONE,
	   "literal v4: done at once");
	ok(l.req.naddrs == 1 && addr_is(&l.req.addrs[0], "192.0.2.200", 80),
	   "literal v4: address and port");
	ok(l.req.error == NULL, "literal v4: no error");
}

static void
case_literal_v6(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "2001:db8::1", 443) == RESOLVE_DONE,
	   "literal v6: done at once");
	ok(l.req.naddrs == 1 && addr_is(&l.req.addrs[0], "2001:db8::1", 443),
	   "literal v6: address and port");
	ok(lookup_start(f, &l, "[2001:db8::1]", 8080) == RESOLVE_DONE &&
	           addr_is(&l.req.addrs[0], "2001:db8::1", 8080),
	   "literal v6: bracketed form");
	ok(f->dns.unknown == 0, "literal v6: no DNS query");
}

static void
case_bad_name(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	char          longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ok(lookup_start(f, &l, "", 80) == RESOLVE_FAILED &&
	           error_is(&l.req, "bad host name"),
	   "bad name: empty");
	ok(lookup_start(f, &l, "a..test", 80) == RESOLVE_FAILED &&
	           error_is(&l.req, "bad host name"),
	   "bad name: empty label");
	ok(lookup_start(f, &l, longname, 80) == RESOLVE_FAILED,
	   "bad name: too long");
	ok(lookup_start(f, &l, "a b.test", 80) == RESOLVE_FAILED,
	   "bad name: space");
	ok(f->callbacks == 0, "bad name: no callback");
}

static void
case_hosts_file(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "myhost.example", 80) == RESOLVE_DONE,
	   "hosts: done at once");
	ok(l.req.naddrs == 2 && addr_is(&l.req.addrs[0], "192.0.2.77", 80) &&
	           addr_is(&l.req.addrs[1], "2001:db8::77", 80),
	   "hosts: both lines, file order, port set");
	ok(lookup_start(f, &l, "MYHOST.example.", 81) == RESOLVE_DONE &&
	           l.req.naddrs == 2,
	   "hosts: case-insensitive, trailing dot");
	ok(lookup_start(f, &l, "alias1", 80) == RESOLVE_DONE &&
	           addr_is(&l.req.addrs[0], "192.0.2.77", 80),
	   "hosts: alias");
	ok(lookup_start(f, &l, "last.example", 80) == RESOLVE_DONE,
	   "hosts: last line without newline");
	ok(lookup_start(f, &l, "hosted.test", 80) == RESOLVE_DONE &&
	           l.req.naddrs == 1 &&
	           addr_is(&l.req.addrs[0], "198.51.100.9", 80),
	   "hosts: wins over DNS");
	ok(dns_count_a(f, "hosted.test") == 0, "hosts: DNS not asked");
	ok(lookup_start(f, &l, "ignored.example", 80) == RESOLVE_PENDING,
	   "hosts: line with a bad address ignored");
	resolve_cancel(&l.req);
	ok(lookup_start(f, &l, "commented.example", 80) == RESOLVE_PENDING,
	   "hosts: comment line ignored");
	resolve_cancel(&l.req);
}

static void
case_dns_a(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "a.test", 80) == RESOLVE_PENDING,
	   "dns A: pending");
	ok(run_until(f, 1, 5.) && l.calls == 1, "dns A: callback once");
	ok(l.req.naddrs == 1 && addr_is(&l.req.addrs[0], "192.0.2.1", 80) &&
	           l.req.error == NULL,
	   "dns A: address and port");
	ok(dns_count_a(f, "a.test") == 1 && dns_count_aaaa(f, "a.test") == 1,
	   "dns A: one A and one AAAA query");
}

static void
case_dns_dual(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "dual.test", 443) == RESOLVE_PENDING,
	   "dns AAAA+A: pending");
	ok(run_until(f, 1, 5.) && l.req.naddrs == 2,
	   "dns AAAA+A: two addresses");
	ok(req_has(&l.req, "192.0.2.2", 443) &&
	           req_has(&l.req, "2001:db8::2", 443),
	   "dns AAAA+A: both families, port set");
}

static void
case_nxdomain(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	unsigned      before = f->dns.unknown;

	ok(lookup_start(f, &l, "nope.test", 80) == RESOLVE_PENDING,
	   "nxdomain: pending");
	ok(run_until(f, 1, 5.) && l.req.naddrs == 0 &&
	           error_is(&l.req, "no such host"),
	   "nxdomain: \"no such host\"");
	ok(lookup_start(f, &l, "nope.test", 80) == RESOLVE_FAILED &&
	           error_is(&l.req, "no such host"),
	   "nxdomain: cached negative answer");
	ok(f->dns.unknown - before == 2, "nxdomain: asked once (A+AAAA)");
}

static void
case_nodata(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "nodata.test", 80) == RESOLVE_PENDING,
	   "nodata: pending");
	ok(run_until(f, 1, 5.) && l.req.naddrs == 0 &&
	           error_is(&l.req, "no address for host"),
	   "nodata: \"no address for host\"");
	ok(lookup_start(f, &l, "nodata.test", 80) == RESOLVE_FAILED,
	   "nodata: cached negative answer");
	ok(dns_count_a(f, "nodata.test") == 1, "nodata: asked once");
}

static void
case_cache_hit(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "cached.test", 80) == RESOLVE_PENDING,
	   "cache: first lookup pending");
	ok(run_until(f, 1, 5.) && l.req.naddrs == 1, "cache: answered");
	ok(lookup_start(f, &l, "cached.test", 8080) == RESOLVE_DONE,
	   "cache: second lookup done at once");
	ok(l.req.naddrs == 1 && addr_is(&l.req.addrs[0], "192.0.2.3", 8080),
	   "cache: address with the new port");
	ok(lookup_start(f, &l, "Cached.Test.", 80) == RESOLVE_DONE,
	   "cache: canonical key");
	ok(dns_count_a(f, "cached.test") == 1 &&
	           dns_count_aaaa(f, "cached.test") == 1,
	   "cache: server saw one query");
}

static void
case_ttl_expiry(struct fixture *f)
{
	struct lookup l = { .calls = 0 };

	ok(lookup_start(f, &l, "short.test", 80) == RESOLVE_PENDING,
	   "ttl: pending");
	ok(run_until(f, 1, 5.) && l.req.naddrs == 1, "ttl: answered");
	ok(lookup_start(f, &l, "short.test", 80) == RESOLVE_DONE,
	   "ttl: cached within TTL 1 s");
	ev_sleep(1.2);
	ok(lookup_start(f, &l, "short.test", 80) == RESOLVE_PENDING,
	   "ttl: expired after 1.2 s");
	ok(run_until(f, 2, 5.) && l.req.naddrs == 1 &&
	           addr_is(&l.req.addrs[0], "192.0.2.4", 80),
	   "ttl: answered again");
	ok(dns_count_a(f, "short.test") == 2, "ttl: server saw two queries");
}

static void
case_coalesce(struct fixture *f)
{
	struct lookup l1 = { .calls = 0 };
	struct lookup l2 = { .calls = 0 };

	ok(lookup_start(f, &l1, "shared.test", 80) == RESOLVE_PENDING &&
	           lookup_start(f, &l2, "shared.test", 443) == RESOLVE_PENDING,
	   "coalesce: both pending");
	ok(run_until(f, 2, 5.) && l1.calls == 1 && l2.calls == 1,
	   "coalesce: both called once");
	ok(addr_is(&l1.req.addrs[0], "192.0.2.5", 80) &&
	           addr_is(&l2.req.addrs[0], "192.0.2.5", 443),
	   "coalesce: both answered, each with its port");
	ok(dns_count_a(f, "shared.test") == 1 &&
	           dns_count_aaaa(f, "shared.test") == 1,
	   "coalesce: one query");
}

static void
case_cancel(struct fixture *f)
{
	struct lookup l1 = { .calls = 0 };
	struct lookup l2 = { .calls = 0 };

	lookup_start(f, &l1, "cancel.test", 80);
	lookup_start(f, &l2, "cancel.test", 80);
	resolve_cancel(&l1.req);
	ok(run_until(f, 1, 5.) && l2.calls == 1 && l2.req.naddrs == 1,
	   "cancel: the other request answered");
	run_for(f, 0.2);
	ok(l1.calls == 0 && l1.req.naddrs == 0, "cancel: callback never ran");
	resolve_cancel(&l1.req);
	resolve_cancel(&l2.req);
	ok(f->callbacks == 1, "cancel: later cancels are no-ops");
}

static void
case_cancel_cached(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	int           i;

	ok(lookup_start(f, &l, "orphan.test", 80) == RESOLVE_PENDING,
	   "orphan: pending");
	resolve_cancel(&l.req);
	for (i = 0; i < 50 && (dns_count_a(f, "orphan.test") == 0 ||
	                       dns_count_aaaa(f, "orphan.test") == 0);
	     i++)
		run_for(f, 0.02);
	run_for(f, 0.2); /* let the answers arrive */
	ok(l.calls == 0, "orphan: no callback");
	ok(lookup_start(f, &l, "orphan.test", 80) == RESOLVE_DONE &&
	           addr_is(&l.req.addrs[0], "192.0.2.7", 80),
	   "orphan: answer cached without waiters");
	ok(dns_count_a(f, "orphan.test") == 1, "orphan: one query");
}

/* Cancels the other request, then starts two lookups from the callback. */
static void
reentry_cb(struct resolve_req *req)
{
	struct lookup *l = req->data;

	l->calls++;
	l->f->callbacks++;
	resolve_cancel(&l->other->req);
	l->cached_status = lookup_start(l->f, l->cached, "reentry.test", 80);
	l->fresh_status = lookup_start(l->f, l->fresh, "fresh.test", 80);
}

static void
case_reentry(struct fixture *f)
{
	struct lookup l1 = { .calls = 0 };
	struct lookup l2 = { .calls = 0 };
	struct lookup cached = { .calls = 0 };
	struct lookup fresh = { .calls = 0 };

	lookup_start(f, &l1, "reentry.test", 80);
	lookup_start(f, &l2, "reentry.test", 80);
	l1.req.cb = l2.req.cb = reentry_cb;
	l1.other = &l2;
	l2.other = &l1;
	l1.cached = l2.cached = &cached;
	l1.fresh = l2.fresh = &fresh;
	ok(run_until(f, 1, 5.) && l1.calls + l2.calls == 1,
	   "reentry: first callback cancelled the second");
	ok((l1.calls ? l1.cached_status : l2.cached_status) == RESOLVE_DONE,
	   "reentry: callback sees the answer cached");
	ok((l1.calls ? l1.fresh_status : l2.fresh_status) == RESOLVE_PENDING,
	   "reentry: callback starts a new query");
	ok(run_until(f, 2, 5.) && fresh.calls == 1 &&
	           addr_is(&fresh.req.addrs[0], "192.0.2.9", 80),
	   "reentry: new query answered");
	run_for(f, 0.1);
	ok(l1.calls + l2.calls == 1, "reentry: cancelled one never called");
}

/* Reloads from inside a callback: the busy channel must outlive it. */
static void
reconfigure_cb(struct resolve_req *req)
{
	struct lookup *l = req->data;
	const char    *why = NULL;

	l->calls++;
	l->f->callbacks++;
	l->cached_status = resolver_configure(l->f->r, &l->f->conf, &why) == 0
	                           ? RESOLVE_DONE
	                           : RESOLVE_FAILED;
}

static void
case_configure_in_callback(struct fixture *f)
{
	struct lookup l1 = { .calls = 0 };
	struct lookup l2 = { .calls = 0 };

	lookup_start(f, &l1, "a.test", 80);
	lookup_start(f, &l2, "dual.test", 80);
	l1.req.cb = reconfigure_cb;
	ok(run_until(f, 2, 5.) && l1.calls == 1 && l2.calls == 1,
	   "callback configure: both answered");
	ok(l1.cached_status == RESOLVE_DONE && l1.req.naddrs == 1 &&
	           l2.req.naddrs == 2,
	   "callback configure: reload applied, answers intact");
	ok(lookup_start(f, &l1, "a.test", 80) == RESOLVE_PENDING &&
	           run_until(f, 3, 5.) && l1.req.naddrs == 1,
	   "callback configure: new channel works");
}

/* c-ares refuses .onion (RFC 7686) from inside ares_getaddrinfo(). */
static void
case_synchronous_answer(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	unsigned      before = f->dns.unknown;

	ok(lookup_start(f, &l, "hidden.onion", 80) == RESOLVE_FAILED &&
	           error_is(&l.req, "no such host"),
	   "synchronous: failed at once, no callback");
	ok(run_until(f, 1, 0.1) == false && l.calls == 0,
	   "synchronous: callback never runs");
	ok(f->dns.unknown == before, "synchronous: DNS not asked");
}

static void
case_timeout(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	const char   *why = NULL;
	double        t0, elapsed;
	bool          done;

	ok(resolver_set_timeout(f->r, 200, 1, &why) == 0, "timeout: knob set");
	ok(resolver_set_timeout(f->r, 1000000, 1, &why) == -1 && why != NULL,
	   "timeout: knob bounded");
	ev_now_update(f->loop);
	t0 = ev_now(f->loop);
	ok(lookup_start(f, &l, "slow.test", 80) == RESOLVE_PENDING,
	   "timeout: pending");
	done = run_until(f, 1, 5.);
	ev_now_update(f->loop);
	elapsed = ev_now(f->loop) - t0;
	ok(done && error_is(&l.req, "DNS timeout"), "timeout: \"DNS timeout\"");
	ok(elapsed < 3., "timeout: within %.2f s", elapsed);
	ok(lookup_start(f, &l, "slow.test", 80) == RESOLVE_PENDING,
	   "timeout: not cached");
	resolve_cancel(&l.req);
}

static void
case_configure(struct fixture *f)
{
	struct conf   conf = f->conf;
	struct lookup l = { .calls = 0 };
	const char   *why = NULL;

	conf.hosts_file = f->hosts2;
	ok(resolver_configure(f->r, &conf, &why) == 0, "configure: applied");
	ok(lookup_start(f, &l, "myhost.example", 80) == RESOLVE_DONE &&
	           l.req.naddrs == 1 &&
	           addr_is(&l.req.addrs[0], "192.0.2.88", 80),
	   "configure: new hosts file");
	ok(lookup_start(f, &l, "alias1", 80) == RESOLVE_PENDING,
	   "configure: old hosts names gone");
	ok(run_until(f, 1, 5.) && error_is(&l.req, "no such host"),
	   "configure: new channel answers");

	conf.hosts_file = f->big;
	why = NULL;
	ok(resolver_configure(f->r, &conf, &why) == -1 && why != NULL &&
	           strcmp(why, "hosts_file too large") == 0,
	   "configure: hosts file over 16 MiB refused");
	conf.hosts_file = f->dir; /* a directory */
	why = NULL;
	ok(resolver_configure(f->r, &conf, &why) == -1 && why != NULL,
	   "configure: directory refused");
	conf.hosts_file = f->dir; /* refused again: the running table stays */
	ok(lookup_start(f, &l, "myhost.example", 80) == RESOLVE_DONE &&
	           addr_is(&l.req.addrs[0], "192.0.2.88", 80),
	   "configure: failed reload keeps the running hosts");
	conf.hosts_file = f->missing;
	why = NULL;
	ok(resolver_configure(f->r, &conf, &why) == 0 &&
	           lookup_start(f, &l, "myhost.example", 80) == RESOLVE_PENDING,
	   "configure: a missing file is an empty one (with a warning)");
	resolve_cancel(&l.req);
	conf.hosts_file = NULL;
	ok(resolver_configure(f->r, &conf, &why) == 0 &&
	           lookup_start(f, &l, "myhost.example", 80) == RESOLVE_PENDING,
	   "configure: no hosts file");
	resolve_cancel(&l.req);
}

static void
case_configure_inflight(struct fixture *f)
{
	struct lookup l = { .calls = 0 };
	const char   *why = NULL;

	ok(lookup_start(f, &l, "inflight.test", 80) == RESOLVE_PENDING,
	   "inflight: pending");
	ok(resolver_configure(f->r, &f->conf, &why) == 0,
	   "inflight: reconfigured");
	ok(run_until(f, 1, 5.) && addr_is(&l.req.addrs[0], "192.0.2.11", 80),
	   "inflight: old channel still answers");
	ok(lookup_start(f, &l, "inflight.test", 80) == RESOLVE_PENDING,
	   "inflight: old answer not in the new cache");
	ok(run_until(f, 2, 5.) && l.req.naddrs == 1, "inflight: new channel");
	run_for(f, 0.1);
}

static void
case_free_pending(struct fixture *f)
{
	struct lookup l1 = { .calls = 0 };
	struct lookup l2 = { .calls = 0 };

	ok(lookup_start(f, &l1, "slow.test", 80) == RESOLVE_PENDING &&
	           lookup_start(f, &l2, "slow.test", 80) == RESOLVE_PENDING,
	   "free: lookups pending");
	resolver_free(f->r);
	f->r = NULL;
	run_for(f, 0.1);
	ok(l1.calls == 0 && l2.calls == 0, "free: no callback");
	resolve_cancel(&l1.req); /* no-op now */
}

static void
case_bad_nameserver(struct fixture *f)
{
	struct conf      conf = f->conf;
	char             bad[] = "not-an-address";
	char            *ns[] = { bad, NULL };
	const char      *why = NULL;
	struct resolver *r;

	conf.dns_nameservers = ns;
	r = resolver_new(f->loop, &conf, &why);
	ok(r == NULL && why != NULL && strcmp(why, "bad dns_nameservers") == 0,
	   "nameservers: bad address refused");
	resolver_free(r);
}

static void
case_nameserver_forms(struct fixture *f)
{
	struct conf      conf = f->conf;
	char             v6[] = "[::1]", v6port[] = "[::1]:5353";
	char             v4[] = "192.0.2.53", v4port[] = "192.0.2.53:5353";
	char            *ns[] = { v6, v6port, v4, v4port, NULL };
	const char      *why = NULL;
	struct resolver *r;

	conf.dns_nameservers = ns;
	r = resolver_new(f->loop, &conf, &why);
	ok(r != NULL, "nameservers: ADDR, ADDR:PORT, [V6], [V6]:PORT (%s)",
	   r != NULL ? "ok" : why);
	resolver_free(r);
}

static const struct test_case {
	const char *name;
	void (*fn)(struct fixture *f);
} cases[] = {
	{ "literal v4", case_literal_v4 },
	{ "literal v6", case_literal_v6 },
	{ "bad name", case_bad_name },
	{ "hosts file", case_hosts_file },
	{ "DNS A", case_dns_a },
	{ "DNS AAAA+A", case_dns_dual },
	{ "NXDOMAIN", case_nxdomain },
	{ "NODATA", case_nodata },
	{ "cache hit", case_cache_hit },
	{ "TTL expiry", case_ttl_expiry },
	{ "coalescing", case_coalesce },
	{ "cancel", case_cancel },
	{ "cancel, answer cached", case_cancel_cached },
	{ "callback reentry", case_reentry },
	{ "configure from a callback", case_configure_in_callback },
	{ "synchronous c-ares answer", case_synchronous_answer },
	{ "timeout", case_timeout },
	{ "configure", case_configure },
	{ "configure in flight", case_configure_inflight },
	{ "free with pending", case_free_pending },
	{ "bad nameserver", case_bad_nameserver },
	{ "nameserver forms", case_nameserver_forms },
};

static int
fixture_files(struct fixture *f)
{
	const char *tmp = getenv("TMPDIR");
	int         fd, n;

	n = snprintf(f->dir, sizeof(f->dir), "%s/test_resolve.XXXXXX",
	             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(f->dir) || mkdtemp(f->dir) == NULL)
		return -1;
	n = snprintf(f->hosts1, sizeof(f->hosts1), "%s/hosts1", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->hosts1))
		return -1;
	n = snprintf(f->hosts2, sizeof(f->hosts2), "%s/hosts2", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->hosts2))
		return -1;
	n = snprintf(f->big, sizeof(f->big), "%s/big", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->big))
		return -1;
	n = snprintf(f->missing, sizeof(f->missing), "%s/missing", f->dir);
	if (n < 0 || (size_t)n >= sizeof(f->missing))
		return -1;
	if (write_file(f->hosts1, hosts1_text) == -1 ||
	    write_file(f->hosts2, hosts2_text) == -1)
		return -1;
	/* Sparse: bigger than the bound without writing it. */
	fd = open(f->big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (ftruncate(fd, (off_t)17 << 20) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
fixture_files_remove(struct fixture *f)
{
	unlink(f->hosts1);
	unlink(f->hosts2);
	unlink(f->big);
	rmdir(f->dir);
}

int
main(void)
{
	struct fixture f;
	size_t         i;
	int            n;

	setvbuf(stdout, NULL, _IONBF, 0);
	memset(&f, 0, sizeof(f));
	f.loop = ev_loop_new(EVFLAG_AUTO);
	if (f.loop == NULL || fixture_files(&f) == -1 ||
	    dns_start(f.loop, &f.dns) == -1) {
		printf("1..0 # SKIP cannot set up: %s\n", strerror(errno));
		return 77;
	}
	n = snprintf(f.server, sizeof(f.server), "127.0.0.1:%u",
	             (unsigned)f.dns.port);
	if (n < 0 || (size_t)n >= sizeof(f.server))
		return 99;
	f.ns[0] = f.server;
	f.ns[1] = NULL;
	f.conf.hosts_file = f.hosts1;
	f.conf.dns_nameservers = f.ns;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;

		printf("# %s\n", cases[i].name);
		f.callbacks = 0;
		f.r = resolver_new(f.loop, &f.conf, &why);
		ok(f.r != NULL, "%s: resolver_new (%s)", cases[i].name,
		   why ? why : "ok");
		if (f.r == NULL)
			continue;
		cases[i].fn(&f);
		resolver_free(f.r);
		f.r = NULL;
	}

	dns_stop(f.loop, &f.dns);
	fixture_files_remove(&f);
	ev_loop_destroy(f.loop);
	return tap_done();
}
