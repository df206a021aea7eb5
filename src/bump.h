/*
 * bump: the GnuTLS sessions of a bumped connection, one on each side.
 *
 * Towards the server bascule is a TLS client that verifies the server as a
 * browser would (tls_outgoing_options); towards the client it is a TLS
 * server that presents a leaf mimicked from the server's certificate and
 * signed by the port's CA (src/mimic.c).  Both sessions run non-blocking
 * over the connection's own sockets: this module sets them up, and
 * conn.c drives the handshakes and the records from its event loop.
 *
 * The same sessions serve the clients of an https_port, which speak TLS to
 * the proxy itself: there bascule presents its own certificate; and the
 * parents with tls, which bascule speaks TLS to as a client.
 *
 * A struct bump_gen is what one worker needs for one configuration
 * generation: the trust store for servers, per ssl-bump port the signing
 * context and the credentials that hand out its leaves, per https_port
 * its own certificate chain and the key of its session tickets, and per
 * TLS parent its trust and the session to resume.
 * Connections hold a reference, so a reload never pulls a context from
 * under a handshake.
 */
#ifndef BASCULE_BUMP_H
#define BASCULE_BUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct conf;
struct peer_conf;
struct mimic;
struct mimic_cert;

/*
 * The transport under a session: the socket, and bytes already read from
 * it before TLS started (the ClientHello that step 2 parsed), which the
 * session reads first.  pre is owned, freed once consumed.  With outer
 * set, the session's records travel inside that session's instead of the
 * socket's bytes: TLS to an origin through a TLS parent.  outer is the
 * caller's.
 *
 * Once keep_tail is set (after the handshake), what the socket does not
 * take of a record GnuTLS writes waits in tail, owned, and GnuTLS is told
 * it went out: GnuTLS then never holds a half-sent record of its own.  It
 * would send such a record again when a TLS 1.3 KeyUpdate or an alert
 * comes between the GNUTLS_E_AGAIN and the retry (gnutls_record_send2()
 * keeps the retried data as new data after a KeyUpdate request; an alert
 * flushes the record and is dropped), and the peer would get bytes twice.
 */
struct bump_io {
	int              fd;
	uint8_t         *pre;
	size_t           pre_len;
	size_t           pre_off;
	gnutls_session_t outer;
	bool             keep_tail;
	int              tail_err; /* errno that ended the socket's writes */
	uint8_t         *tail;     /* BUMP_TAIL_MAX bytes; NULL when empty */
	size_t           tail_len;
	size_t           tail_off;
};

/*
 * The most a tail holds: what one gnutls_record_send() writes after the
 * last flush (a KeyUpdate and a record of 16 KiB and its overhead, some
 * 17 KiB through a TLS parent, whose session wraps the inner record in
 * two of its own), and a few alerts.  More is the peer misbehaving (a
 * stream of HelloRequests while it does not read): the session fails.
 */
#define BUMP_TAIL_MAX (32 * 1024)

struct bump_gen;

/*
 * Loads, for the ports of cf that have tls-cert=, their CAs (ssl-bump) or
 * their own certificates (https_port), the trust of its TLS parents, and
 * the trust store for servers.
 * NULL with a message in err on failure (a certificate that does not load
 * names its port).  One that no longer loads (its key is read at start,
 * with privileges; a reload runs without) is taken from prev, the running
 * generation, when it was loaded from the same files: warn then says so.
 */
struct bump_gen *bump_gen_new(const struct conf *cf,
                              const struct bump_gen *prev, char *err,
                              size_t errsz, char *warn, size_t warnsz);
struct bump_gen *bump_gen_ref(struct bump_gen *g);
void             bump_gen_unref(struct bump_gen *g); /* accepts NULL */

/* The signing context of cf->listeners[port]; NULL: the port has no CA. */
struct mimic *bump_gen_mimic(const struct bump_gen *g, size_t port);

/*
 * Takes the bytes already read for the session: they are copied, and the
 * session reads them before the socket.  -1 on ENOMEM.
 */
int bump_io_preload(struct bump_io *io, const uint8_t *p, size_t len);
void bump_io_clear(struct bump_io *io);

/* From now on, unsent record bytes wait in io's tail (see struct bump_io). */
void bump_io_keep_tail(struct bump_io *io);

/* Bytes waiting in io's tail. */
size_t bump_io_tail_len(const struct bump_io *io);

/*
 * Writes what waits in io's tail: 1 when it is empty, 0 if the socket is
 * full, -1 when writing failed (errno; the tail is dropped, and so is
 * everything written after).
 */
int bump_io_flush(struct bump_io *io);

/* Drops io's tail and ends keep_tail: the socket is closed or reused. */
void bump_io_drop_tail(struct bump_io *io);

/*
 * Puts the session that runs on io (its transport) under the next one:
 * io's data become outer's records, and outer moves onto raw, the plain
 * socket, which must live as long as outer.  raw takes io's tail.
 */
void bump_io_nest(struct bump_io *io, struct bump_io *raw,
                  gnutls_session_t outer);

/*
 * A client session towards a server: server name sni (a host name; NULL
 * for none, as for an IP address), ALPN http/1.1 only, the protocol
 * versions tls_outgoing_options allows.  GNUTLS error code or 0.
 */
int bump_server_session(struct bump_gen *g, struct bump_io *io,
                        const char *sni, gnutls_session_t *out);

/*
 * A server session towards a client of cf->listeners[port] that presents
 * leaf (the session keeps no reference: the caller keeps leaf alive as
 * long as the session).  ALPN http/1.1 only, versions from the port's
 * tls-min-version= (1.2 by default).  GNUTLS error code or 0.
 */
int bump_client_session(struct bump_gen *g, size_t port, struct bump_io *io,
                        struct mimic_cert *leaf, gnutls_session_t *out);

/* Does cf->listeners[port] have a certificate of its own (https_port)? */
bool bump_gen_https(const struct bump_gen *g, size_t port);

/*
 * A server session towards a client of the https_port cf->listeners[port],
 * with the port's own certificate, as bump_client_session() otherwise, and
 * session tickets.  GNUTLS error code or 0.
 */
int bump_https_session(struct bump_gen *g, size_t port, struct bump_io *io,
                       gnutls_session_t *out);

/*
 * A client session towards the TLS parent p (cache_peer ... tls): the
 * trust of its tls-* options, SNI tls-domain= or its host name, ALPN
 * http/1.1.  Unless tls-flags=DONT_VERIFY_PEER, the handshake fails when
 * the parent's certificate does not verify for tls-domain= or its host.
 * GNUTLS_E_INVALID_REQUEST when g has no trust for p (a reload that added
 * p could not load it); else a GNUTLS error code or 0.
 */
int bump_peer_session(struct bump_gen *g, const struct peer_conf *p,
                      struct bump_io *io, gnutls_session_t *out);

/*
 * After a handshake of bump_peer_session()'s: the next connection to the
 * parent resumes this session (TLS 1.2; TLS 1.3 sessions are kept when
 * their tickets come).  Per worker: each has its own.
 */
void bump_peer_resumable(gnutls_session_t s);

/*
 * Verifies the server of a finished handshake for host (a name or an IP
 * literal; not checked with flags=DONT_VERIFY_DOMAIN): *errors gets what
 * is wrong, a mask of enum tls_verify_error (tls_verify.h), 0 when the
 * chain is trusted and names host.  The chain is completed from
 * sslproxy_foreign_intermediate_certs, then from extra[0..nextra) (issuers
 * fetched from caIssuers URLs, borrowed), when the server left
 * intermediates out.  When an issuer is still missing
 * (TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), aia_url (if not NULL)
 * gets the caIssuers URL of the completed chain's end, "" if it has none.
 * *leaf gets the server's certificate (NULL if it sent none), which the
 * caller frees.  GNUTLS error code or 0.
 */
int bump_verify_server(struct bump_gen *g, gnutls_session_t s,
                       const char *host, gnutls_x509_crt_t *extra,
                       unsigned nextra, unsigned *errors,
                       gnutls_x509_crt_t *leaf, char *aia_url,
                       size_t aia_urlsz);

/* verify_peer is off (tls_outgoing_options flags=DONT_VERIFY_PEER). */
bool bump_gen_dont_verify(const struct bump_gen *g);

/* Squid's names of the errors, comma separated, for logs and pages. */
void bump_errors_text(unsigned errors, char *out, size_t outsz);

#endif
