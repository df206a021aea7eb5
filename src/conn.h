/*
 * conn: one client connection and the server connection it leads to, with
 * the state machine that carries it from the first request byte to close.
 *
 *   CONN_REQ_HEAD -> (http_access) -> CONN_RESOLVING -> CONN_CONNECTING
 *     -> CONN_FORWARD (request out, response back, repeat on keep-alive)
 *     -> CONN_TUNNEL  (after CONNECT: bytes both ways, splice(2))
 *   any state -> CONN_REPLY (an error page, then close) -> CONN_CLOSING
 *
 * The TLS steps of ssl_bump slot in after CONNECT, between CONN_CONNECTING
 * and CONN_TUNNEL.  A conn owns its descriptors, watchers, timers, buffers
 * and access-log record, and holds a reference to the configuration
 * generation it was accepted under.
 */
#ifndef BASCULE_CONN_H
#define BASCULE_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <ev.h>

#include "http_parse.h"
#include "http_proxy.h"
#include "resolve.h"
#include "tunnel.h"

struct buf;
struct conf;
struct errpage_lang;
struct listener;
struct worker;

enum conn_state {
	CONN_REQ_HEAD = 0, /* reading a request head */
	CONN_RESOLVING,    /* waiting for DNS */
	CONN_CONNECTING,   /* TCP connect to the server in progress */
	CONN_FORWARD,      /* request to the server, response to the client */
	CONN_TUNNEL,       /* blind byte tunnel after CONNECT */
	CONN_REPLY,        /* sending a response of ours, then close */
	CONN_CLOSING,      /* conn_close() follows */
};

/* Why a connection ended; conn_err_str() is its log token. */
enum conn_err {
	CONN_OK = 0,
	CONN_ERR_CLIENT_EOF,     /* client closed mid-transaction */
	CONN_ERR_CLIENT_IO,      /* read/write error on the client */
	CONN_ERR_SERVER_IO,      /* read/write error on the server */
	CONN_ERR_SERVER_EOF,     /* server closed mid-response */
	CONN_ERR_PROTOCOL,       /* the server spoke garbage */
	CONN_ERR_TIMEOUT,        /* read_timeout or idle timeout */
	CONN_ERR_LIFETIME,       /* client_lifetime */
	CONN_ERR_NOMEM,
	CONN_ERR_SHUTDOWN,
};

struct conn_side {
	int                fd; /* -1 when none */
	ev_io              io;
	struct buf        *in;  /* read from this side, not yet passed on */
	struct buf        *out; /* generated for this side (heads, errors) */
	struct tunnel_pipe pipe; /* CONN_TUNNEL: bytes read from this side */
	bool               eof;  /* read returned 0 */
	bool               shut; /* we shut down writing towards it */
	bool               nosplice;
	bool               pipe_full; /* splice in said EAGAIN with bytes queued */
	uint64_t           nread;
	uint64_t           nwritten;
};

/* The transaction in progress: one request and its response. */
struct txn {
	struct timespec    start;
	char              *method;
	char              *url;
	char              *key; /* "host:port": pool key */
	struct http_target target;
	bool               is_connect;
	bool               is_head;
	int                client_minor;
	bool               client_keep_alive;
	const struct errpage_lang *lang; /* of our error pages */
	bool               dst_acl;  /* http_access needs the address */
	struct buf        *mf_reply; /* answer to Max-Forwards: 0 */

	struct http_framing req;
	uint64_t            req_left;
	struct http_chunked req_chunked;
	size_t              req_pass; /* approved bytes at the front of client.in */
	bool                req_done;
	struct buf         *req_head; /* for the server; kept for a retry */
	size_t              req_head_sent;

	struct http_head_scan resp_scan;
	bool                  resp_started; /* a head, even 1xx, came */
	bool                  resp_head_done;
	struct http_framing   resp;
	uint64_t              resp_left;
	struct http_chunked   resp_chunked;
	size_t                resp_pass;
	bool                  dechunk;
	bool                  resp_splice; /* body moves by splice(2) */
	bool                  resp_done;
	bool                  server_keep_alive;
	bool                  server_reused;
	int                   retries;

	int         status;
	const char *result;
	char       *content_type;
	char        peer[64];
	uint64_t    bytes_to_client;
};

struct conn {
	uint64_t         id; /* printed in every log line */
	enum conn_state  state;
	enum conn_err    err;    /* first failure, CONN_OK if clean */
	const char      *action; /* "connecting", for log lines */
	struct conf     *conf;   /* generation pinned at accept */
	struct worker   *worker;
	struct listener *listener;

	struct sockaddr_storage client_addr;
	char                    client_ip[64];
	struct conn_side        client;
	struct conn_side        server; /* origin */
	struct sockaddr_storage server_addr;
	char                   *server_key; /* "host:port" of an idle server */

	struct resolve_req resolve;
	size_t             addr_next; /* next address of resolve to try */
	int                connect_errno; /* why the last connect failed */
	int                server_errno;  /* why the server side failed */
	ev_tstamp          deadline; /* request head or linger: absolute */
	ev_tstamp          idle_end; /* client idle between requests */
	ev_tstamp          server_idle_end; /* the attached idle server's */

	struct http_head_scan req_scan;
	struct txn            txn;
	unsigned              ntxn; /* transactions served */
	bool                  txn_active;

	ev_timer idle;     /* read_timeout / idle / connect timeout */
	ev_timer lifetime; /* client_lifetime */

	struct conn *prev, *next; /* worker->conns */
};

/*
 * Takes ownership of an accepted socket fd.  Returns the conn, or NULL
 * (fd closed) when memory ran out.  Only listener.c calls this.
 */
struct conn *conn_new(struct worker *w, struct listener *l, int fd,
                      const struct sockaddr_storage *addr);

/* Frees the conn after writing its access-log record.  Only conn.c. */
void conn_close(struct ev_loop *loop, struct conn *c);

/* Graceful shutdown: close it now if idle, else after this transaction. */
void conn_shutdown(struct conn *c);

const char *conn_err_str(enum conn_err err);

#endif
