/*
 * worker: what one process serving connections shares between them: its
 * loop, the current configuration generation, the resolver, the pool of idle
 * server connections, the auth helpers, the access log and the list of live
 * connections.
 */
#ifndef BASCULE_WORKER_H
#define BASCULE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

struct access_log;
struct aia;
struct auth;
struct bump_gen;
struct conf;
struct conn;
struct ev_loop;
struct listener;
struct peer_health;
struct resolver;
struct upstream_pool;

struct worker {
	struct ev_loop       *loop;
	struct conf          *conf; /* current generation: new conns take it */
	struct resolver      *resolver;
	struct upstream_pool *pool;
	struct aia           *aia; /* caIssuers fetches and their cache */
	struct auth          *auth; /* auth_param basic helpers, answers */
	struct peer_health   *peer_health; /* cache_peer parents that are down */
	struct access_log    *access_log;
	struct bump_gen      *bump; /* TLS of conf's ssl-bump ports; NULL:
	                               none could be loaded */
	struct listener      *listeners;
	char                  hostname[256]; /* visible_hostname */
	char                  via[320];      /* Via field value */
	uint64_t              next_conn_id;
	unsigned              nconns;
	struct conn          *conns; /* all live connections */
	bool                  stopping; /* graceful shutdown in progress */
};

/* Called by conn_close() when a connection is freed. */
void worker_conn_closed(struct worker *w);

#endif
