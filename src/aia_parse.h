/*
 * aia_parse: the pure parts of fetching a missing issuer certificate from
 * the caIssuers URL of a certificate's Authority Information Access
 * extension (RFC 5280 4.2.2.1): the URL in a certificate, the URL itself,
 * the request bascule sends, the response it gets, and the certificates
 * in its body.  No I/O, no logging; src/aia.c does the fetching.
 */
#ifndef BASCULE_AIA_PARSE_H
#define BASCULE_AIA_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "hostname.h"
#include "http_parse.h"
#include "parse.h"

#define AIA_URL_MAX   1024  /* longer caIssuers URLs are not fetched */
#define AIA_HEAD_MAX  8192  /* bytes of a response head */
#define AIA_BODY_MAX  65536 /* bytes of a response body */
#define AIA_CERTS_MAX 8     /* certificates kept from one response */

/*
 * The caIssuers URL of crt into out (NUL-terminated): the first with the
 * http scheme, else the first of any scheme (which aia_url_parse() then
 * refuses, with a reason to log).  Returns true if there is one that fits
 * outsz, false if crt has none.
 */
bool aia_crt_issuer_url(gnutls_x509_crt_t crt, char *out, size_t outsz);

/* A caIssuers URL that bascule fetches. */
struct aia_url {
	char     host[HOSTNAME_MAX + 1]; /* canonical, no brackets */
	bool     is_ipv6;
	uint16_t port;
	char     path[AIA_URL_MAX]; /* origin-form: "/" at least, no fragment */
};

/*
 * Parses "http://host[:port][/path][?query][#fragment]".  Only http: RFC
 * 5280 4.2.2.1 publishes certificates over HTTP (or LDAP), and fetching
 * over https would need the very chain being completed.  Rejects userinfo,
 * empty hosts, bad ports, and bytes outside visible ASCII.  0, or -1 with
 * *why set.
 */
int aia_url_parse(const char *url, struct aia_url *out, const char **why);

/*
 * The request for u: "GET path HTTP/1.1" with Host, Accept, User-Agent
 * (product, e.g. "bascule/0.1.0") and "Connection: close", into out.
 * Returns its length, or 0 if it does not fit outsz.
 */
size_t aia_request(const struct aia_url *u, const char *product, char *out,
                   size_t outsz);

/* The state of aia_response_parse(): zero it before the first call. */
struct aia_response {
	int    status;   /* once the head is in: its status code */
	size_t body_len; /* bytes of body copied out so far */
	/* private */
	struct http_head_scan scan;
	size_t                head_len; /* 0: the head is not in yet */
	struct http_framing   framing;
	struct http_chunked   chunked;
	size_t                pos; /* bytes of the input consumed */
};

/*
 * Reads the response to aia_request() as it arrives: p[0..len) is all of
 * it so far (the same bytes on every call, more at the end), eof says the
 * server closed.  The body, decoded from chunked if it was, is copied to
 * body[0..bodysz).  PARSE_OK: body[0..r->body_len) is complete; PARSE_AGAIN:
 * more input is needed; PARSE_ERROR: *why says what is wrong: not 200
 * (r->status), a head over AIA_HEAD_MAX, a body over bodysz, a truncated
 * response, bad framing.
 */
enum parse_result aia_response_parse(struct aia_response *r, const uint8_t *p,
                                     size_t len, bool eof, uint8_t *body,
                                     size_t bodysz, const char **why);

/*
 * The certificates of a response body: one DER certificate, a DER
 * "certs-only" CMS SignedData (what RFC 5280 4.2.2.1 calls PKCS#7), or the
 * same in PEM, several certificates possibly.  Self-issued ones are left
 * out: a chain ends at an anchor of the trust store, never at one fetched.
 * Up to max of them go to out, which the caller deinits.  Returns how
 * many, or -1 with *why set (no certificate, or not one of those formats).
 */
int aia_certs_parse(const uint8_t *p, size_t len, gnutls_x509_crt_t *out,
                    unsigned max, const char **why);

#endif
