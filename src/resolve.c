#include "config.h"

/*
 * resolve: asynchronous name resolution, the only user of c-ares.
 *
 * Owns the resolver: the parsed hosts_file, a cache of DNS answers, the
 * c-ares channels and their libev watchers, and the queries in flight.
 *
 * A lookup goes: IP literal, hosts_file, cache, then ares_getaddrinfo() on
 * the current channel.  Each c-ares socket gets one ev_io, started and
 * stopped from ARES_OPT_SOCK_STATE_CB; each channel has one ev_timer armed
 * from ares_timeout(); both call ares_process_fd().
 *
 * A cache entry per name doubles as the rendezvous for coalescing: while a
 * query is in flight the entry points at it, and later lookups of the name
 * join its list of waiting requests.  A query completes exactly once, from
 * the ares_getaddrinfo() callback: it first updates its entry (positive
 * answers for min(TTL, 1 hour), NXDOMAIN/NODATA for 30 s, other failures not
 * at all), then pops its waiters one at a time, so a callback may cancel or
 * start any lookup.  A callback must not call resolver_free().
 *
 * resolver_configure() builds a new hosts table and a new channel (which
 * rereads /etc/resolv.conf when dns_nameservers is unset) and flushes the
 * cache.  The old channel is retired, not destroyed: its queries still
 * answer their waiters (without touching the new cache), and it is
 * destroyed once its last query is done.  This is simpler than changing the
 * servers of a live channel, which c-ares refuses while queries are out.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <ev.h>

#include "conf.h"
#include "i18n.h"
#include "log.h"
#include "resolve.h"

#define RESOLVE_NAME_MAX       253        /* RFC 1035 2.3.4, no final dot */
#define RESOLVE_LABEL_MAX      63         /* RFC 1035 2.3.4 */
#define RESOLVE_CACHE_MAX      10000      /* entries, least recently used go */
#define RESOLVE_TTL_MAX        3600       /* s, cap on a positive answer */
#define RESOLVE_TTL_NEGATIVE   30         /* s, NXDOMAIN and NODATA */
#define RESOLVE_HOSTS_MAX      (16 << 20) /* bytes of hosts_file */
#define RESOLVE_HOSTS_LINE_MAX 4096       /* longer lines are skipped */
#define RESOLVE_TIMEOUT_MAX_MS 60000
#define RESOLVE_TRIES_MAX      16

/* An address without a port: what the hosts table and cache keep. */
struct resolve_addr {
	sa_family_t family; /* AF_INET or AF_INET6 */
	uint32_t    scope_id;
	uint8_t     ip[16];
};

/* A name in the hosts table or the cache. */
struct resolve_entry {
	struct resolve_entry *hnext; /* hash chain */
	struct resolve_entry *newer; /* cache LRU list */
	struct resolve_entry *older;
	struct resolve_query *query;   /* cache: lookup in flight, or NULL */
	double                expires; /* cache: monotonic seconds */
	const char           *error;   /* cache: negative answer, or NULL */
	struct resolve_addr  *addrs;
	size_t                naddrs;
	uint32_t              hash;
	char                  name[]; /* canonical */
};

/* Chained hash table; nbuckets is 0 or a power of two. */
struct resolve_table {
	struct resolve_entry **buckets;
	size_t                 nbuckets;
	size_t                 n;
};

/* One c-ares socket and its watcher. */
struct resolve_sock {
	ev_io                io; /* data: the channel */
	struct resolve_sock *next;
};

/* One c-ares channel with its watchers. */
struct resolve_chan {
	struct resolver      *r;
	ares_channel          channel;
	struct resolve_sock  *socks;
	ev_timer              timer;   /* from ares_timeout() */
	struct resolve_query *queries; /* in flight on this channel */
	bool                  busy;    /* in ares_process_fd(): keep alive */
	struct resolve_chan  *next;    /* r->retired */
};

/* One ares_getaddrinfo() call and the requests waiting for it. */
struct resolve_query {
	struct resolve_chan  *chan;
	struct resolve_entry *entry;   /* cache entry to fill, or NULL */
	struct resolve_req   *waiters; /* linked by req->next */
	struct resolve_query *prev;    /* chan->queries */
	struct resolve_query *next;
	bool                  starting; /* inside ares_getaddrinfo() */
	bool                  done;
	int                   status; /* ARES_SUCCESS or ARES_E... */
	int                   ttl;    /* s, with ARES_SUCCESS */
	size_t                naddrs;
	struct resolve_addr   addrs[RESOLVE_MAX_ADDRS];
};

struct resolver {
	struct ev_loop       *loop;
	struct resolve_chan  *chan;       /* new queries go here */
	struct resolve_chan  *retired;    /* replaced, queries still out */
	char                 *servers;    /* dns_nameservers as CSV, or NULL */
	int                   timeout_ms; /* 0: resolv.conf or c-ares default */
	int                   tries;      /* 0: likewise */
	struct resolve_table  hosts;
	struct resolve_table  cache;
	struct resolve_entry *newest; /* cache LRU list */
	struct resolve_entry *oldest;
};

/* Static text for req->error and logs. */
static const char *
resolve_strerror(int status)
{
	switch (status) {
	case ARES_ENOTFOUND:
		return "no such host";
	case ARES_ENODATA:
		return "no address for host";
	case ARES_ETIMEOUT:
		return "DNS timeout";
	case ARES_ESERVFAIL:
		return "DNS server failure";
	case ARES_EREFUSED:
		return "DNS query refused";
	case ARES_ECONNREFUSED:
		return "DNS server unreachable";
	case ARES_EFORMERR:
	case ARES_EBADRESP:
	case ARES_EOF:
		return "bad DNS response";
	case ARES_EBADNAME:
		return "bad host name";
	case ARES_ENOMEM:
		return "out of memory";
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return "DNS lookup cancelled";
	default:
		return "DNS failure";
	}
}

static double
resolve_now(void)
{
	struct timespec ts;

	/* Monotonic: a clock step must not age or revive cache entries. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a. */
static uint32_t
resolve_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++) {
		h ^= (uint8_t)*name;
		h *= 16777619u;
	}
	return h;
}

/*
 * Canonical form of name[0..len) in out (RESOLVE_NAME_MAX + 1 bytes): ASCII
 * lower case, one trailing dot removed.  Returns its length, 0 if it is
 * empty or too long.
 */
static size_t
resolve_canonical(const char *name, size_t len, char *out)
{
	size_t i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RESOLVE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return len;
}

/* True for a canonical name c-ares may put in a query: LDH and '_'. */
static bool
resolve_is_dns_name(const char *name)
{
	size_t label = 0;

	for (; *name != '\0'; name++) {
		char c = *name;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > RESOLVE_LABEL_MAX)
			return false;
	}
	return label > 0;
}

/* Parses an IPv4 or IPv6 literal (no brackets, no zone). */
static bool
resolve_parse_addr(const char *s, struct resolve_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->ip) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->ip) == 1) {
		a->family = AF_INET6;
		return true;
	}
	return false;
}

static bool
resolve_addr_from_sockaddr(struct resolve_addr *a, const struct sockaddr *sa,
                           size_t salen)
{
	struct sockaddr_in  sin;
	struct sockaddr_in6 sin6;

	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET && salen >= sizeof(sin)) {
		memcpy(&sin, sa, sizeof(sin));
		a->family = AF_INET;
		memcpy(a->ip, &sin.sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(sin6)) {
		memcpy(&sin6, sa, sizeof(sin6));
		a->family = AF_INET6;
		a->scope_id = sin6.sin6_scope_id;
		memcpy(a->ip, &sin6.sin6_addr, 16);
		return true;
	}
	return false;
}

static bool
resolve_addr_in(const struct resolve_addr *v, size_t n,
                const struct resolve_addr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(&v[i], a, sizeof(*a)) == 0)
			return true;
	return false;
}

/* Answers req with n addresses and port; none means failure. */
static void
resolve_req_fill(struct resolve_req *req, const struct resolve_addr *a,
                 size_t n, const char *error)
{
	size_t i;

	if (n > RESOLVE_MAX_ADDRS)
		n = RESOLVE_MAX_ADDRS;
	for (i = 0; i < n; i++) {
		struct sockaddr_storage *ss = &req->addrs[i];

		memset(ss, 0, sizeof(*ss));
		if (a[i].family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(req->port);
			memcpy(&sin->sin_addr, a[i].ip, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(req->port);
			sin6->sin6_scope_id = a[i].scope_id;
			memcpy(&sin6->sin6_addr, a[i].ip, 16);
		}
	}
	req->naddrs = n;
	req->error = NULL;
	if (n == 0)
		req->error = error != NULL ? error : "no address for host";
}

static struct resolve_entry *
resolve_entry_new(const char *name, size_t len, uint32_t hash)
{
	struct resolve_entry *e;

	e = calloc(1, sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->hash = hash;
	return e;
}

static void
resolve_entry_free(struct resolve_entry *e)
{
	if (e == NULL)
		return;
	free(e->addrs);
	free(e);
}

static struct resolve_entry *
resolve_table_find(const struct resolve_table *t, const char *name,
                   uint32_t hash)
{
	struct resolve_entry *e;

	if (t->nbuckets == 0)
		return NULL;
	for (e = t->buckets[hash & (t->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
resolve_table_grow(struct resolve_table *t)
{
	struct resolve_entry **b;
	size_t                 n = t->nbuckets > 0 ? t->nbuckets * 2 : 64;
	size_t                 i;

	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return; /* chains get longer, nothing worse */
	for (i = 0; i < t->nbuckets; i++) {
		struct resolve_entry *e, *next;

		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* Links e (not yet in t); 0, or -1 when t has no buckets and none fit. */
static int
resolve_table_add(struct resolve_table *t, struct resolve_entry *e)
{
	struct resolve_entry **head;

	if (t->n >= t->nbuckets)
		resolve_table_grow(t);
	if (t->nbuckets == 0)
		return -1;
	head = &t->buckets[e->hash & (t->nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	t->n++;
	return 0;
}

static void
resolve_table_remove(struct resolve_table *t, struct resolve_entry *e)
{
	struct resolve_entry **pp;

	for (pp = &t->buckets[e->hash & (t->nbuckets - 1)]; *pp != NULL;
	     pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			t->n--;
			return;
		}
	}
	assert(!"entry not in its table");
}

/* Frees every entry and the buckets; t is empty afterwards. */
static void
resolve_table_clear(struct resolve_table *t)
{
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		struct resolve_entry *e, *next;

		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			resolve_entry_free(e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->n = 0;
}

/*
 * Adds a to name in the hosts table t, keeping file order and the first
 * RESOLVE_MAX_ADDRS distinct addresses.  0, or -1 if out of memory.
 */
static int
resolve_hosts_add(struct resolve_table *t, const char *name, size_t len,
                  const struct resolve_addr *a)
{
	struct resolve_entry *e;
	struct resolve_addr  *v;
	uint32_t              hash = resolve_hash(name);

	e = resolve_table_find(t, name, hash);
	if (e == NULL) {
		e = resolve_entry_new(name, len, hash);
		if (e == NULL)
			return -1;
		if (resolve_table_add(t, e) == -1) {
			resolve_entry_free(e);
			return -1;
		}
	}
	if (e->naddrs >= RESOLVE_MAX_ADDRS ||
	    resolve_addr_in(e->addrs, e->naddrs, a))
		return 0;
	v = realloc(e->addrs, (e->naddrs + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	v[e->naddrs++] = *a;
	e->addrs = v;
	return 0;
}

static bool
resolve_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Next blank-separated token of [*p, end): 0 when there is none. */
static size_t
resolve_token(const char **p, const char *end, const char **tok)
{
	const char *s = *p;

	while (s < end && resolve_is_blank(*s))
		s++;
	*tok = s;
	while (s < end && !resolve_is_blank(*s))
		s++;
	*p = s;
	return (size_t)(s - *tok);
}

/*
 * One hosts(5) line, "ADDR NAME [ALIAS...]", comment already cut.  Lines
 * with an address we can't parse are ignored, as the C library does.
 */
static int
resolve_hosts_line(struct resolve_table *t, const char *p, const char *end)
{
	struct resolve_addr a;
	const char         *tok;
	size_t              len;
	char                text[INET6_ADDRSTRLEN];
	char                name[RESOLVE_NAME_MAX + 1];

	len = resolve_token(&p, end, &tok);
	if (len == 0 || len >= sizeof(text))
		return 0;
	memcpy(text, tok, len);
	text[len] = '\0';
	if (!resolve_parse_addr(text, &a))
		return 0;
	while ((len = resolve_token(&p, end, &tok)) > 0) {
		len = resolve_canonical(tok, len, name);
		if (len > 0 && resolve_hosts_add(t, name, len, &a) == -1)
			return -1;
	}
	return 0;
}

static int
resolve_hosts_parse(struct resolve_table *t, const char *buf, size_t len)
{
	const char *p = buf;
	const char *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *hash = memchr(p, '#', (size_t)(eol - p));

		if ((size_t)(eol - p) <= RESOLVE_HOSTS_LINE_MAX &&
		    resolve_hosts_line(t, p, hash != NULL ? hash : eol) == -1)
			return -1;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/*
 * Reads and parses path into the empty table t.  0, or -1 with *why set
 * (and errno, for file errors); t is empty then.  A file that does not
 * exist is an empty table, with a warning.  A local file read at
 * startup and reload, like the configuration itself.
 */
static int
resolve_hosts_load(struct resolve_table *t, const char *path, const char **why)
{
	struct stat st;
	char       *buf;
	size_t      len = 0;
	int         fd;
	int         saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		/* As Squid: minimal systems and containers may have none. */
		log_msg(LOG_WARNING, _("hosts_file %s does not exist: names go "
		                       "to DNS only"),
		        path);
		return 0;
	}
	if (fd == -1) {
		*why = N_("cannot open hosts_file");
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = N_("cannot read hosts_file");
		goto fail_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		*why = N_("hosts_file is not a regular file");
		goto fail_fd;
	}
	if (st.st_size > RESOLVE_HOSTS_MAX) {
		errno = EFBIG;
		*why = N_("hosts_file too large");
		goto fail_fd;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		*why = N_("out of memory");
		goto fail_fd;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = N_("cannot read hosts_file");
			free(buf);
			goto fail_fd;
		}
		if (n == 0)
			break; /* shrank under us: use what is there */
		len += (size_t)n;
	}
	close(fd);
	if (resolve_hosts_parse(t, buf, len) == -1) {
		free(buf);
		resolve_table_clear(t);
		errno = ENOMEM;
		*why = N_("out of memory");
		return -1;
	}
	free(buf);
	return 0;

fail_fd:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * dns_nameservers ("ADDR", "ADDR:PORT", "[V6]:PORT", "[V6]") joined with
 * commas for ares_set_servers_ports_csv() in *out; NULL for resolv.conf.
 */
static int
resolve_servers_csv(char *const *servers, char **out, const char **why)
{
	size_t i, len = 0, pos = 0;
	char  *csv;

	*out = NULL;
	if (servers == NULL || servers[0] == NULL)
		return 0;
	for (i = 0; servers[i] != NULL; i++) {
		if (servers[i][0] == '\0' || strchr(servers[i], ',') != NULL) {
			*why = N_("bad dns_nameservers");
			return -1;
		}
		len += strlen(servers[i]) + 1;
	}
	csv = malloc(len);
	if (csv == NULL) {
		*why = N_("out of memory");
		return -1;
	}
	for (i = 0; servers[i] != NULL; i++) {
		const char *s = servers[i];
		size_t      n = strlen(s);

		/* c-ares 1.18 takes "[V6]:PORT" but not a bare "[V6]". */
		if (n > 2 && s[0] == '[' && s[n - 1] == ']') {
			s++;
			n -= 2;
		}
		if (i > 0)
			csv[pos++] = ',';
		memcpy(csv + pos, s, n);
		pos += n;
	}
	csv[pos] = '\0';
	*out = csv;
	return 0;
}

/* Cache: LRU list and table together. */

static void
resolve_lru_unlink(struct resolver *r, struct resolve_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		r->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	e->newer = NULL;
	e->older = NULL;
}

static void
resolve_lru_push(struct resolver *r, struct resolve_entry *e)
{
	e->older = r->newest;
	e->newer = NULL;
	if (r->newest != NULL)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
}

/* Forgets e; a query filling it goes on but won't be cached. */
static void
resolve_cache_drop(struct resolver *r, struct resolve_entry *e)
{
	if (e->query != NULL) {
		e->query->entry = NULL;
		e->query = NULL;
	}
	resolve_table_remove(&r->cache, e);
	resolve_lru_unlink(r, e);
	resolve_entry_free(e);
}

/* Forgets every entry; queries filling them go on uncached. */
static void
resolve_cache_clear(struct resolver *r)
{
	struct resolve_entry *e;

	for (e = r->oldest; e != NULL; e = e->newer) {
		if (e->query != NULL) {
			e->query->entry = NULL;
			e->query = NULL;
		}
	}
	r->oldest = NULL;
	r->newest = NULL;
	resolve_table_clear(&r->cache); /* frees the entries */
}

/* A new, empty entry for name, evicting the least recently used. */
static struct resolve_entry *
resolve_cache_add(struct resolver *r, const char *name, size_t len,
                  uint32_t hash)
{
	struct resolve_entry *e;

	if (r->cache.n >= RESOLVE_CACHE_MAX && r->oldest != NULL)
		resolve_cache_drop(r, r->oldest); /* one out, one in */
	e = resolve_entry_new(name, len, hash);
	if (e == NULL)
		return NULL;
	if (resolve_table_add(&r->cache, e) == -1) {
		resolve_entry_free(e);
		return NULL;
	}
	resolve_lru_push(r, e);
	return e;
}

/* Records the finished query q in its entry, or forgets the entry. */
static void
resolve_cache_store(struct resolver *r, struct resolve_query *q)
{
	struct resolve_entry *e = q->entry;
	struct resolve_addr  *v;

	e->query = NULL;
	q->entry = NULL;
	switch (q->status) {
	case ARES_SUCCESS:
		v = malloc(q->naddrs * sizeof(*v));
		if (v == NULL) {
			resolve_cache_drop(r, e);
			return;
		}
		memcpy(v, q->addrs, q->naddrs * sizeof(*v));
		free(e->addrs);
		e->addrs = v;
		e->naddrs = q->naddrs;
		e->error = NULL;
		e->expires = resolve_now() + q->ttl;
		return;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		free(e->addrs);
		e->addrs = NULL;
		e->naddrs = 0;
		e->error = resolve_strerror(q->status);
		e->expires = resolve_now() + RESOLVE_TTL_NEGATIVE;
		return;
	default:
		/* Timeouts and server failures: ask again next time. */
		resolve_cache_drop(r, e);
		return;
	}
}

/* Channels and their watchers. */

static void resolve_chan_free(struct resolve_chan *chan);

/* Arms the channel's timer for c-ares' next timeout, if any. */
static void
resolve_chan_arm(struct resolve_chan *chan)
{
	struct ev_loop *loop = chan->r->loop;
	struct timeval  tv;

	ev_timer_stop(loop, &chan->timer);
	if (ares_timeout(chan->channel, NULL, &tv) == NULL)
		return;
	ev_timer_set(&chan->timer, (double)tv.tv_sec + (double)tv.tv_usec / 1e6,
	             0.);
	ev_timer_start(loop, &chan->timer);
}

/* After ares_process_fd(): rearm, or destroy a retired channel now idle. */
static void
resolve_chan_processed(struct resolve_chan *chan)
{
	struct resolver      *r = chan->r;
	struct resolve_chan **pp;

	chan->busy = false;
	if (chan == r->chan || chan->queries != NULL) {
		resolve_chan_arm(chan);
		return;
	}
	for (pp = &r->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == chan) {
			*pp = chan->next;
			break;
		}
	}
	resolve_chan_free(chan);
}

static void
resolve_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct resolve_chan *chan = w->data;
	ares_socket_t        fd = w->fd;

	(void)loop;
	/* w may be freed by the socket state callback in here. */
	chan->busy = true;
	ares_process_fd(chan->channel,
	                (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolve_chan_processed(chan);
}

static void
resolve_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolve_chan *chan = w->data;

	(void)loop;
	(void)revents;
	chan->busy = true;
	ares_process_fd(chan->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolve_chan_processed(chan);
}

/*
 * ARES_OPT_SOCK_STATE_CB: c-ares opened, changed or (neither readable nor
 * writable) is about to close fd.  If no watcher can be allocated, queries
 * on fd end by timeout: there is nobody to tell.
 */
static void
resolve_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolve_chan  *chan = data;
	struct ev_loop       *loop = chan->r->loop;
	struct resolve_sock **pp, *s;
	int                   events;

	for (pp = &chan->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->io.fd == fd)
			break;
	s = *pp;
	if (!readable && !writable) {
		if (s != NULL) {
			ev_io_stop(loop, &s->io);
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return;
		ev_io_init(&s->io, resolve_io_cb, fd, 0);
		s->io.data = chan;
		s->next = chan->socks;
		chan->socks = s;
	}
	events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	ev_io_stop(loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(loop, &s->io);
}

static struct resolve_chan *
resolve_chan_new(struct resolver *r, const char *servers, const char **why)
{
	struct resolve_chan *chan;
	struct ares_options  opts;
	char                 lookups[] = "b"; /* DNS only: hosts_file is ours */
	int                  mask;
	int                  rc;

	chan = calloc(1, sizeof(*chan));
	if (chan == NULL) {
		*why = N_("out of memory");
		return NULL;
	}
	chan->r = r;
	ev_timer_init(&chan->timer, resolve_timer_cb, 0., 0.);
	chan->timer.data = chan;

	memset(&opts, 0, sizeof(opts));
	/* Names are absolute: no search list, no HOSTALIASES. */
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opts.domains = NULL;
	opts.ndomains = 0;
	opts.lookups = lookups;
	opts.sock_state_cb = resolve_sock_state_cb;
	opts.sock_state_cb_data = chan;
	mask = ARES_OPT_FLAGS | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS |
	       ARES_OPT_SOCK_STATE_CB;
	if (r->timeout_ms > 0) {
		opts.timeout = r->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (r->tries > 0) {
		opts.tries = r->tries;
		mask |= ARES_OPT_TRIES;
	}
	rc = ares_init_options(&chan->channel, &opts, mask);
	if (rc != ARES_SUCCESS) {
		*why = rc == ARES_ENOMEM ? "out of memory"
		                         : "cannot initialise c-ares";
		free(chan);
		return NULL;
	}
	if (servers != NULL) {
		rc = ares_set_servers_ports_csv(chan->channel, servers);
		if (rc != ARES_SUCCESS) {
			*why = rc == ARES_ENOMEM ? "out of memory"
			                         : "bad dns_nameservers";
			ares_destroy(chan->channel);
			free(chan);
			return NULL;
		}
	}
	return chan;
}

/*
 * Destroys chan.  Its waiting requests are dropped without a callback;
 * ares_destroy() ends its queries (ARES_EDESTRUCTION) and closes sockets.
 */
static void
resolve_chan_free(struct resolve_chan *chan)
{
	struct ev_loop       *loop;
	struct resolve_query *q;

	if (chan == NULL)
		return;
	loop = chan->r->loop;
	for (q = chan->queries; q != NULL; q = q->next) {
		struct resolve_req *req, *next;

		for (req = q->waiters; req != NULL; req = next) {
			next = req->next;
			req->query = NULL;
			req->next = NULL;
		}
		q->waiters = NULL;
		if (q->entry != NULL) {
			q->entry->query = NULL;
			q->entry = NULL;
		}
	}
	ev_timer_stop(loop, &chan->timer);
	ares_destroy(chan->channel);
	assert(chan->queries == NULL);
	while (chan->socks != NULL) {
		struct resolve_sock *s = chan->socks;

		chan->socks = s->next;
		ev_io_stop(loop, &s->io);
		free(s);
	}
	free(chan);
}

/* Makes chan current; the old one is destroyed or retired. */
static void
resolve_chan_replace(struct resolver *r, struct resolve_chan *chan)
{
	struct resolve_chan *old = r->chan;

	r->chan = chan;
	if (old == NULL)
		return;
	if (old->queries == NULL && !old->busy) {
		resolve_chan_free(old);
		return;
	}
	old->next = r->retired;
	r->retired = old;
}

/* Queries. */

/* Keeps the addresses and the smallest TTL of a successful answer. */
static void
resolve_query_take(struct resolve_query *q, const struct ares_addrinfo *ai)
{
	const struct ares_addrinfo_cname *c;
	const struct ares_addrinfo_node  *n;
	int                               ttl = RESOLVE_TTL_MAX;

	for (c = ai->cnames; c != NULL; c = c->next)
		if (c->ttl < ttl)
			ttl = c->ttl;
	for (n = ai->nodes; n != NULL && q->naddrs < RESOLVE_MAX_ADDRS;
	     n = n->ai_next) {
		struct resolve_addr a;

		if (!resolve_addr_from_sockaddr(&a, n->ai_addr,
		                                n->ai_addrlen) ||
		    resolve_addr_in(q->addrs, q->naddrs, &a))
			continue;
		q->addrs[q->naddrs++] = a;
		if (n->ai_ttl < ttl)
			ttl = n->ai_ttl;
	}
	q->ttl = ttl < 1 ? 1 : ttl;
}

static void
resolve_query_answer(const struct resolve_query *q, struct resolve_req *req)
{
	req->query = NULL;
	req->next = NULL;
	if (q->status == ARES_SUCCESS)
		resolve_req_fill(req, q->addrs, q->naddrs, NULL);
	else
		resolve_req_fill(req, NULL, 0, resolve_strerror(q->status));
}

/*
 * ares_getaddrinfo() callback: called once per query, from inside
 * ares_getaddrinfo() itself (.onion, out of memory), ares_process_fd() or
 * ares_destroy().
 */
static void
resolve_addrinfo_cb(void *arg, int status, int timeouts,
                    struct ares_addrinfo *ai)
{
	struct resolve_query *q = arg;
	struct resolve_chan  *chan = q->chan;
	struct resolve_req   *req;

	(void)timeouts;
	q->status = status;
	if (status == ARES_SUCCESS && ai != NULL)
		resolve_query_take(q, ai);
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	if (q->status == ARES_SUCCESS && q->naddrs == 0)
		q->status = ARES_ENODATA;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		chan->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = NULL;
	q->next = NULL;

	if (q->entry != NULL)
		resolve_cache_store(chan->r, q);
	q->done = true;
	if (q->starting)
		return; /* resolve_start() answers its caller */

	/* One at a time: a callback may cancel the next waiter. */
	while ((req = q->waiters) != NULL) {
		q->waiters = req->next;
		resolve_query_answer(q, req);
		req->cb(req);
	}
	free(q);
}

/* Public interface. */

struct resolver *
resolver_new(struct ev_loop *loop, const struct conf *conf, const char **why)
{
	struct resolver *r;
	int              rc;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		*why = N_("cannot initialise c-ares");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		*why = N_("out of memory");
		ares_library_cleanup();
		return NULL;
	}
	r->loop = loop;
	if (resolver_configure(r, conf, why) == -1) {
		resolver_free(r);
		return NULL;
	}
	return r;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	resolve_cache_clear(r);
	while (r->retired != NULL) {
		struct resolve_chan *chan = r->retired;

		r->retired = chan->next;
		resolve_chan_free(chan);
	}
	resolve_chan_free(r->chan);
	resolve_table_clear(&r->hosts);
	free(r->servers);
	free(r);
	ares_library_cleanup();
}

int
resolver_configure(struct resolver *r, const struct conf *conf,
                   const char **why)
{
	struct resolve_table hosts = { 0 };
	struct resolve_chan *chan;
	char                *servers;

	if (conf->hosts_file != NULL &&
	    resolve_hosts_load(&hosts, conf->hosts_file, why) == -1)
		return -1;
	if (resolve_servers_csv(conf->dns_nameservers, &servers, why) == -1) {
		resolve_table_clear(&hosts);
		return -1;
	}
	chan = resolve_chan_new(r, servers, why);
	if (chan == NULL) {
		free(servers);
		resolve_table_clear(&hosts);
		return -1;
	}
	resolve_table_clear(&r->hosts);
	r->hosts = hosts;
	free(r->servers);
	r->servers = servers;
	resolve_cache_clear(r);
	resolve_chan_replace(r, chan);
	return 0;
}

int
resolver_set_timeout(struct resolver *r, unsigned timeout_ms, unsigned tries,
                     const char **why)
{
	struct resolve_chan *chan;
	int                  old_timeout = r->timeout_ms;
	int                  old_tries = r->tries;

	if (timeout_ms > RESOLVE_TIMEOUT_MAX_MS || tries > RESOLVE_TRIES_MAX) {
		*why = N_("DNS timeout or tries out of range");
		return -1;
	}
	r->timeout_ms = (int)timeout_ms;
	r->tries = (int)tries;
	chan = resolve_chan_new(r, r->servers, why);
	if (chan == NULL) {
		r->timeout_ms = old_timeout;
		r->tries = old_tries;
		return -1;
	}
	resolve_chan_replace(r, chan);
	return 0;
}

enum resolve_status
resolve_start(struct resolver *r, struct resolve_req *req, const char *host,
              uint16_t port)
{
	struct ares_addrinfo_hints hints;
	struct resolve_entry      *e;
	struct resolve_query      *q;
	struct resolve_addr        a;
	size_t                     len;
	uint32_t                   hash;
	char                       name[RESOLVE_NAME_MAX + 1];

	assert(req->cb != NULL);
	req->naddrs = 0;
	req->error = NULL;
	req->query = NULL;
	req->next = NULL;
	req->port = port;

	/* IP literals, "[v6]" too. */
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' &&
	    len - 2 < sizeof(name)) {
		memcpy(name, host + 1, len - 2);
		name[len - 2] = '\0';
		if (resolve_parse_addr(name, &a) && a.family == AF_INET6) {
			resolve_req_fill(req, &a, 1, NULL);
			return RESOLVE_DONE;
		}
	} else if (resolve_parse_addr(host, &a)) {
		resolve_req_fill(req, &a, 1, NULL);
		return RESOLVE_DONE;
	}

	len = resolve_canonical(host, len, name);
	if (len == 0) {
		req->error = "bad host name";
		return RESOLVE_FAILED;
	}
	hash = resolve_hash(name);

	e = resolve_table_find(&r->hosts, name, hash);
	if (e != NULL) {
		resolve_req_fill(req, e->addrs, e->naddrs, NULL);
		return RESOLVE_DONE;
	}
	if (!resolve_is_dns_name(name)) {
		req->error = "bad host name";
		return RESOLVE_FAILED;
	}

	e = resolve_table_find(&r->cache, name, hash);
	if (e != NULL) {
		resolve_lru_unlink(r, e);
		resolve_lru_push(r, e);
		if (e->query != NULL) {
			req->query = e->query;
			req->next = e->query->waiters;
			e->query->waiters = req;
			return RESOLVE_PENDING;
		}
		if (resolve_now() < e->expires) {
			resolve_req_fill(req, e->addrs, e->naddrs, e->error);
			return req->naddrs > 0 ? RESOLVE_DONE : RESOLVE_FAILED;
		}
		/* Expired: the query below refreshes it. */
	} else {
		e = resolve_cache_add(r, name, len, hash);
		/* Without an entry the lookup still works, uncached. */
	}

	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		if (e != NULL && e->naddrs == 0 && e->error == NULL)
			resolve_cache_drop(r, e);
		req->error = "out of memory";
		return RESOLVE_FAILED;
	}
	q->chan = r->chan;
	q->next = r->chan->queries;
	if (q->next != NULL)
		q->next->prev = q;
	r->chan->queries = q;
	q->entry = e;
	if (e != NULL)
		e->query = q;
	q->waiters = req;
	req->query = q;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	q->starting = true;
	ares_getaddrinfo(r->chan->channel, name, NULL, &hints,
	                 resolve_addrinfo_cb, q);
	q->starting = false;
	if (q->done) {
		/* Answered (or failed) from inside ares_getaddrinfo(). */
		resolve_query_answer(q, req);
		free(q);
		return req->naddrs > 0 ? RESOLVE_DONE : RESOLVE_FAILED;
	}
	resolve_chan_arm(r->chan);
	return RESOLVE_PENDING;
}

void
resolve_cancel(struct resolve_req *req)
{
	struct resolve_req **pp;

	if (req == NULL || req->query == NULL)
		return;
	for (pp = &req->query->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	}
	req->query = NULL;
	req->next = NULL;
}
