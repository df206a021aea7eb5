/*
 * upstream: where the server side of a connection goes, and how it gets
 * there: non-blocking connect to each resolved address in turn, and a pool
 * of idle persistent connections to origins, reused across clients.
 */
#ifndef BASCULE_UPSTREAM_H
#define BASCULE_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct upstream_pool;

/*
 * Starts a non-blocking connect to addr.  Returns the socket, or -1 with
 * errno set; *done says whether the connect has already completed, which
 * on loopback it has: the handshake runs inside connect(2).  If not, wait
 * for writability and ask upstream_connect_result().
 */
int upstream_connect(const struct sockaddr_storage *addr, bool *done);

/* After the socket became writable: 0 if connected, else -1 with errno. */
int upstream_connect_result(int fd);

/*
 * Pool of idle server connections keyed by "host:port".  Idle ones are
 * watched: the server closing one, or sending anything, drops it; so does
 * idle_timeout.  At most per_key per origin and max in all.
 */
struct upstream_pool *upstream_pool_new(struct ev_loop *loop, size_t max,
                                        size_t per_key);
void upstream_pool_free(struct upstream_pool *p); /* closes all */
void upstream_pool_set_timeout(struct upstream_pool *p, uint64_t ms);

/* Takes ownership of fd (idle, no unread bytes).  Closes it if full. */
void upstream_pool_put(struct upstream_pool *p, const char *key, int fd,
                       const struct sockaddr_storage *peer);
/* An idle connection for key, or -1.  The caller owns the fd. */
int  upstream_pool_get(struct upstream_pool *p, const char *key,
                       struct sockaddr_storage *peer);
/* Closes every idle connection (shutdown). */
void upstream_pool_flush(struct upstream_pool *p);

#endif
