/*
 * http_proxy: what a forward proxy does to HTTP/1.x messages: parse the
 * request target, rewrite heads for the next hop (RFC 9110 7.6: hop-by-hop
 * fields, Via, Max-Forwards), and build error responses.  Pure: no I/O.
 */
#ifndef BASCULE_HTTP_PROXY_H
#define BASCULE_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hostname.h"
#include "http_parse.h"

struct buf;

/* A request target as a forward proxy understands it. */
struct http_target {
	char             host[HOSTNAME_MAX + 1]; /* canonical, no brackets */
	uint16_t         port;
	bool             is_ipv6;  /* host is an IPv6 literal */
	struct http_span path;     /* origin-form: "/" when absent; into head */
};

/*
 * Absolute-form "http://host[:port][/path]" (RFC 9112 3.2.2), or for
 * CONNECT authority-form "host:port" (3.2.3).  Rejects userinfo, schemes
 * other than http, empty hosts, bad ports.  0, or -1 with *why set.
 */
int http_proxy_parse_target(const struct http_head *req, bool is_connect,
                            struct http_target *out, const char **why);

/*
 * The target of a request to an intercepting port: an origin-form request
 * ("/path") names its site in Host (RFC 9112 3.2.1, 7.2), which is
 * required; the port is the Host's or 80.  An absolute-form request is
 * read as by http_proxy_parse_target().  0, or -1 with *why set.
 */
int http_proxy_parse_intercepted(const struct http_head *req,
                                 struct http_target *out, const char **why);

struct http_rewrite {
	const char *via;        /* "1.1 host (bascule/VERSION)", or NULL */
	const char *client_ip;  /* for X-Forwarded-For; NULL: leave as is */
	bool        xff_delete; /* remove X-Forwarded-For */
	bool        xff_replace;/* replace instead of appending */
	bool        close;      /* ask the next hop to close */
	bool        absolute;   /* absolute-form target: for a parent proxy */
};

/*
 * Writes the request head for the origin to out: origin-form target (or
 * absolute-form when rw->absolute, for a parent proxy: RFC 9112 3.2.2),
 * HTTP/1.1, Host from the target (RFC 9112 3.2.2), hop-by-hop fields removed
 * (Connection and the fields it names, Proxy-Connection, Keep-Alive, TE,
 * Trailer, Upgrade, Proxy-Authorization), Max-Forwards decremented, Via and
 * X-Forwarded-For per rw.  -1 if out is too small.
 */
int http_proxy_request_head(const struct http_head *req,
                            const struct http_target *t,
                            const struct http_rewrite *rw, struct buf *out);

/*
 * The CONNECT bascule sends to a parent proxy for a tunnel (RFC 9110
 * 9.3.6): authority-form target, Host, Via when via is not NULL, and
 * Proxy-Authorization when proxy_auth is not NULL.  -1 if out is too small.
 */
int http_proxy_connect_head(const struct http_target *t, const char *via,
                            const char *proxy_auth, struct buf *out);

/*
 * Adds "Proxy-Authorization: value" to a complete request head of ours
 * (in, ending in CRLF CRLF), into out.  -1 if out is too small.
 */
int http_proxy_add_proxy_auth(const struct buf *in, const char *value,
                              struct buf *out);

/*
 * Writes the response head for the client: the server's status and fields
 * less hop-by-hop ones (and Proxy-Authenticate is kept: it is end-to-end
 * towards our client), Via added, "Connection: close" or "keep-alive" per
 * rw->close and the client's version, Transfer-Encoding dropped when
 * dechunk is set (the body is then close-delimited).  -1 if out is full.
 */
int http_proxy_response_head(const struct http_head *resp, int client_minor,
                             bool dechunk, const struct http_rewrite *rw,
                             struct buf *out);

/*
 * Max-Forwards of an OPTIONS or TRACE request (RFC 9110 7.6.2): -1 when
 * absent or not applicable, else its value (clamped to INT_MAX).
 */
long http_proxy_max_forwards(const struct http_head *req);

/* The reason phrase for status, or "Unknown". */
const char *http_status_text(int status);

/*
 * A complete error response: status line, Server, Content-Type text/html,
 * Content-Language, Content-Length, X-Bascule-Error: code, Connection:
 * close, and the page of errpage_render() in language lang.  -1 if out is
 * too small.
 */
struct errpage_lang;
int http_proxy_error(struct buf *out, const struct errpage_lang *lang,
                     int status, const char *code, const char *reason,
                     const char *url, const char *hostname);

/*
 * http_proxy_error() that challenges: with "Proxy-Authenticate: Basic
 * realm=..." when realm is not NULL (RFC 9110 11.7.1 for a 407, RFC 7617
 * 2; the realm quoted and escaped).  -1 if out is too small.
 */
int http_proxy_error_challenge(struct buf *out, const struct errpage_lang *lang,
                               int status, const char *code, const char *reason,
                               const char *url, const char *hostname,
                               const char *realm);

#endif
