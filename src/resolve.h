/*
 * resolve: asynchronous name resolution for the server side.
 *
 * IP literals are answered at once; then the hosts file (hosts_file), then a
 * cache of DNS answers kept for their TTL, then c-ares driven by the libev
 * loop.  Concurrent lookups of one name share one query.  Nothing blocks.
 */
#ifndef BASCULE_RESOLVE_H
#define BASCULE_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conf;
struct ev_loop;
struct resolver;
struct resolve_req;

#define RESOLVE_MAX_ADDRS 8

enum resolve_status {
	RESOLVE_DONE = 0, /* answer in the request now, no callback */
	RESOLVE_PENDING,  /* the callback will be called once */
	RESOLVE_FAILED,   /* req->error says why, no callback */
};

typedef void resolve_fn(struct resolve_req *req);

/* Owned by the caller (embedded in struct conn); only resolve.c writes it. */
struct resolve_req {
	resolve_fn             *cb;
	void                   *data;  /* for the caller */
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS]; /* port filled in */
	size_t                  naddrs;
	const char             *error; /* static text when failed */
	/* private */
	struct resolve_query *query;
	struct resolve_req   *next;
	uint16_t              port; /* for the answer's sockaddrs */
};

/*
 * A resolver on loop, configured from conf (hosts_file, dns_nameservers).
 * NULL with *why set on failure.
 */
struct resolver *resolver_new(struct ev_loop *loop, const struct conf *conf,
                              const char **why);
void             resolver_free(struct resolver *r); /* cancels everything */

/* Applies a new generation's hosts_file and dns_nameservers; 0 or -1. */
int resolver_configure(struct resolver *r, const struct conf *conf,
                       const char **why);

/*
 * DNS query timeout per try (milliseconds, at most 60000) and tries per
 * server (at most 16); 0 keeps resolv.conf's or c-ares' default.  Kept
 * across resolver_configure(); applies to lookups started afterwards.
 * Returns 0, or -1 with *why set.
 */
int resolver_set_timeout(struct resolver *r, unsigned timeout_ms,
                         unsigned tries, const char **why);

/*
 * Resolves host (canonical name or IP literal) for port.  IPv4 and IPv6
 * answers are both returned, in the order getaddrinfo would prefer them.
 * With RESOLVE_PENDING, req->cb(req) is called once later with naddrs > 0
 * or error set, unless resolve_cancel(req) is called first.
 */
enum resolve_status resolve_start(struct resolver *r, struct resolve_req *req,
                                  const char *host, uint16_t port);
void resolve_cancel(struct resolve_req *req); /* no-op if not pending */

#endif
