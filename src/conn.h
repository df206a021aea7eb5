/*
 * conn: one client connection and the server connection it leads to, with
 * the state machine that carries it from the first request byte to close.
 *
 *   CONN_REQ_HEAD -> (http_access) -> CONN_RESOLVING -> CONN_CONNECTING
 *     -> CONN_FORWARD (request out, response back, repeat on keep-alive)
 *     -> CONN_TUNNEL  (after CONNECT: bytes both ways, splice(2))
 *   any state -> CONN_REPLY (an error page, then close) -> CONN_CLOSING
 *
 * On an ssl-bump port a CONNECT takes the TLS steps of ssl_bump: after
 * "peek" at step 1 the client gets its 200 at once and CONN_TLS_HELLO reads
 * its ClientHello; a second "peek" leads through CONN_RESOLVING and
 * CONN_CONNECTING to CONN_TLS_SERVER, which forwards the ClientHello and
 * reads the server's answer; "splice" ends in CONN_TUNNEL with every byte
 * as it was, "terminate" in CONN_CLOSING.  "stare" and "bump" run our own
 * handshake with the server in CONN_BUMP_SERVER; a chain that lacks an
 * issuer waits in CONN_BUMP_AIA for its caIssuers URL (src/aia.c), then
 * the client's handshake runs in CONN_BUMP_CLIENT.  A client of an
 * https_port speaks TLS to the proxy itself: CONN_CLIENT_TLS runs that
 * handshake first, and everything after it, a CONNECT's tunnel too, goes
 * through the session.  Through a cache_peer parent, a tunnel passes
 * CONN_PEER_CONNECT (our CONNECT, the parent's 2xx) after CONN_CONNECTING;
 * a parent with tls takes CONN_PEER_TLS first, and everything to and from
 * it goes through that session, the TLS of a bump with the origin too,
 * inside it.  A conn owns its descriptors, watchers, timers, buffers and
 * access-log record, and holds a reference to the configuration
 * generation it was accepted under.
 *
 * When http_access reaches a proxy_auth acl and the request's Basic
 * credentials are not in the worker's cache, the request waits in
 * CONN_AUTH for a helper's answer (src/auth.c), then http_access goes on
 * where it stopped: before DNS, or with the server's addresses.
 */
#ifndef BASCULE_CONN_H
#define BASCULE_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <ev.h>
#include <gnutls/gnutls.h>

#include "acl.h"
#include "aia.h"
#include "auth.h"
#include "bump.h"
#include "http_parse.h"
#include "http_proxy.h"
#include "resolve.h"
#include "route.h"
#include "tls_peek.h"
#include "tunnel.h"

struct buf;
struct bump_gen;
struct conf;
struct errpage_lang;
struct listener;
struct mimic_cert;
struct worker;

enum conn_state {
	CONN_REQ_HEAD = 0, /* reading a request head */
	CONN_PROXY_HDR,    /* require-proxy-header: reading the PROXY header */
	CONN_CLIENT_TLS,   /* https_port: our TLS handshake with the client */
	CONN_AUTH,         /* http_access waits for an auth helper's answer */
	CONN_RESOLVING,    /* waiting for DNS */
	CONN_CONNECTING,   /* TCP connect to the server in progress */
	CONN_PEER_TLS,     /* our TLS handshake with a parent (cache_peer tls) */
	CONN_PEER_CONNECT, /* our CONNECT out to a parent, its answer in */
	CONN_FORWARD,      /* request to the server, response to the client */
	CONN_TUNNEL,       /* blind byte tunnel after CONNECT */
	CONN_TLS_HELLO,    /* ssl_bump step 2: reading the ClientHello */
	CONN_TLS_SERVER,   /* step 3: ClientHello out, the server's answer in */
	CONN_BUMP_SERVER,  /* stare or bump: our TLS handshake with the server */
	CONN_BUMP_AIA,     /* its chain lacks an issuer: fetching it (AIA) */
	CONN_BUMP_CLIENT,  /* bump: our TLS handshake with the client */
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
	bool               readable;  /* EV_READ came; not yet read to EAGAIN */
	gnutls_session_t   tls;  /* bumped: records, not bytes; NULL: none */
	bool               tls_up; /* its handshake is done */
	struct bump_io     tio;  /* its transport */
	struct bump_io     tio_raw; /* a TLS parent's under tio (tio.outer) */
	int                tls_want; /* a handshake waits for EV_READ or
	                                EV_WRITE */
	int                tls_err;  /* the GnuTLS error that ended it */
	size_t             tls_tail_user; /* bytes of the last record sent,
	                                     counted once the tail is out */
	bool               fin_pending;   /* shut: the FIN waits for the tail */
	uint64_t           nread;
	uint64_t           nwritten;
};

#define TLS_NAMES_MAX 64 /* server certificate names kept for ACLs */

/* What the TLS steps of ssl_bump saw and decided (ssl-bump ports). */
struct txn_tls {
	enum bump_step      step;     /* the step reached; 0: none */
	int                 action;   /* final enum bump_action; -1: none yet */
	enum bump_step      decided;  /* the step of the final action */
	bool                not_tls;  /* on_unsupported_protocol applied */
	bool                staring;  /* stare at step 2: our own handshake
	                                 with the server leads to step 3 */
	bool                step1_pending; /* after http_access's DNS */
	struct tls_hs_reasm reasm;    /* client at step 2, server at step 3 */
	uint8_t            *msg;      /* handshake bytes, reassembled */
	size_t              msg_cap;
	char               *sni;      /* canonical; NULL if none */
	uint16_t            version;  /* from the ServerHello; 0 if unseen */
	char              **names;    /* of the server certificate: nnames,
	                                 room for TLS_NAMES_MAX */
	size_t              nnames;
};

/* The transaction in progress: one request and its response. */
struct txn {
	struct timespec    start;
	char              *method;
	char              *url;
	char              *key; /* "host:port": pool key */
	struct http_target target;
	bool               is_connect;
	bool               fake_connect; /* made up for intercepted TLS */
	bool               host_checked; /* intercepted Host verified */
	bool               is_head;
	bool               has_auth; /* Authorization: not hierarchical */
	int                client_minor;
	bool               client_keep_alive;
	size_t             head_len; /* of the request head in client.in */
	const struct errpage_lang *lang; /* of our error pages */
	bool               dst_acl;  /* http_access needs the address */
	struct buf        *mf_reply; /* answer to Max-Forwards: 0 */
	struct txn_tls     tls;

	/* The route: hops to try in turn (NULL: direct, no cache_peer). */
	struct hop        *hops;
	size_t             nhops;
	size_t             hop;        /* the one in use */
	bool               routed;     /* hops chosen */
	bool               resolving_peer; /* c->resolve is the hop's peer */
	bool               origin_checked; /* dst ACLs passed, by DNS */
	bool               origin_unknown; /* its name did not resolve */
	bool               peer_tunnel;    /* the parent said 2xx to CONNECT */
	char              *client_auth; /* for login=PASSTHRU */
	/*
	 * proxy_auth: the client's Proxy-Authorization value until it is
	 * checked (then wiped), the user it authenticated, or why not.
	 */
	char              *credentials;
	char              *user;        /* the acls' and the access log's */
	bool               auth_failed; /* none, malformed or refused */
	const char        *auth_why;    /* static text */
	struct buf        *head_direct; /* request heads per kind of hop, */
	struct buf        *head_peer;   /* req_head is made from one of them */
	size_t             head_hop;    /* the hop req_head was made for */

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
	bool                    intercepted; /* orig_dst is the destination */
	struct sockaddr_storage orig_dst;    /* SO_ORIGINAL_DST, or PROXY's */
	struct conn_side        client;
	struct conn_side        server; /* origin */

	/* Bump: both sides decrypted, HTTP/1.1 inside, the server pinned. */
	struct bump_gen   *bump_gen; /* TLS contexts of the generation it was
	                                accepted under; NULL: none */
	struct mimic_cert *leaf;     /* what the client is shown */
	bool               bumped;   /* the client's handshake is done */
	char              *bump_user; /* the CONNECT's user: the requests'
	                                 inside */
	char              *bump_host; /* SNI, else CONNECT host: the URLs' */
	bool               bump_host_v6;
	enum hop_code      bump_hop; /* how the pinned server is reached */
	uint16_t           bump_port;
	struct aia_req     aia;      /* issuers fetched for the server's chain */
	unsigned           bump_errors; /* what verifying the server found:
	                                   enum tls_verify_error bits */
	int                bump_fail;   /* a status for every request: the
	                                   server could not be used (0: it
	                                   can) */
	const char        *bump_fail_code;
	char              *bump_fail_reason;
	struct sockaddr_storage server_addr;
	char                   *server_key; /* "host:port" of an idle server */
	bool                    server_private; /* never to the shared pool:
	                                           it carries this client's
	                                           credentials (PASSTHRU) */

	struct auth_req auth;           /* the helper's answer waited for */
	int             auth_resume;    /* what waits for it */
	const char     *auth_dns_error; /* conn_unresolved()'s, meanwhile */

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
 * Takes ownership of an accepted socket fd and starts serving it; the
 * connection may already be closed when this returns (out of memory, a
 * refused PROXY peer, an intercepted connection without a destination).
 * Only listener.c calls this.
 */
void conn_new(struct worker *w, struct listener *l, int fd,
              const struct sockaddr_storage *addr);

/* Frees the conn after writing its access-log record.  Only conn.c. */
void conn_close(struct ev_loop *loop, struct conn *c);

/* Graceful shutdown: close it now if idle, else after this transaction. */
void conn_shutdown(struct conn *c);

const char *conn_err_str(enum conn_err err);

#endif
