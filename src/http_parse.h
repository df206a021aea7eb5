/*
 * http_parse: a pure parser for HTTP/1.x message heads and chunked bodies
 * (RFC 9112).  No I/O, no allocation, no logging: input in, result out.
 *
 * Parsed strings are spans (pointer + length) into the caller's buffer; they
 * stay valid while that buffer is not modified.  Copy what must outlive it.
 */
#ifndef BASCULE_HTTP_PARSE_H
#define BASCULE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define HTTP_MAX_HEADERS 128

/*
 * Chunked bodies: longest chunk size line (size and extensions, without
 * CRLF), and longest trailer section (its field lines with their CRLFs).
 */
#define HTTP_CHUNK_LINE_MAX 4096
#define HTTP_TRAILER_MAX    8192

struct http_span {
	const char *p;
	size_t      len;
};

struct http_header {
	struct http_span name;
	struct http_span value; /* leading and trailing OWS removed */
};

struct http_head {
	/* request line: method SP target SP HTTP/1.x */
	struct http_span method;
	struct http_span target;
	/* status line: HTTP/1.x SP code SP reason */
	int              status;
	struct http_span reason;

	int                version_minor; /* major is always 1 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t             nheaders;
	size_t             head_len; /* bytes up to and including CRLF CRLF */
};

/* Resumable search for the end of a head. Zero-initialise before use. */
struct http_head_scan {
	size_t pos; /* bytes already examined */
};

/*
 * Looks for the empty line ending a head in p[0..len), resuming where the
 * previous call on the same scan stopped, so a head arriving one byte at a
 * time costs O(n) in all.  Returns PARSE_OK with *head_len set, PARSE_AGAIN,
 * or PARSE_ERROR (bare CR or LF, NUL, or a head starting with whitespace).
 * Zero the scan again before looking for the next head.
 */
enum parse_result http_head_find_end(struct http_head_scan *scan,
                                     const uint8_t *p, size_t len,
                                     size_t *head_len, const char **why);

/*
 * Parses a complete request head (p[0..len) ends with CRLF CRLF, as found by
 * http_head_find_end).  Strict about RFC 9112 grammar: token method, no
 * whitespace in the target, a target form that suits the method (RFC 9112
 * 3.2), HTTP/1.0 or HTTP/1.1 only, header names are tokens, no whitespace
 * before the colon, no obs-fold, no bare CR or LF, no control characters
 * in values.  Returns PARSE_OK or PARSE_ERROR.  Bytes after the head are
 * ignored; a head without its end is an error.
 */
enum parse_result http_parse_request(const uint8_t *p, size_t len,
                                     struct http_head *out, const char **why);

/* Same for a response head; status must be three digits 100..599. */
enum parse_result http_parse_response(const uint8_t *p, size_t len,
                                      struct http_head *out, const char **why);

/* Case-insensitive comparison of a span with a NUL-terminated string. */
bool http_span_eq(struct http_span s, const char *str);

/* First header named name (case-insensitive), or NULL. */
const struct http_header *http_head_get(const struct http_head *h,
                                        const char *name);

/*
 * True when the comma-separated list in every header named name contains
 * token (case-insensitive), e.g. http_head_has_token(h, "Connection",
 * "close").
 */
bool http_head_has_token(const struct http_head *h, const char *name,
                         const char *token);

enum http_body {
	HTTP_BODY_NONE = 0,
	HTTP_BODY_LENGTH,  /* exactly content_length bytes */
	HTTP_BODY_CHUNKED, /* chunked transfer coding (RFC 9112 7.1) */
	HTTP_BODY_CLOSE,   /* response delimited by connection close */
};

struct http_framing {
	enum http_body body;
	uint64_t       content_length;
	bool           keep_alive; /* persistence per RFC 9112 9.3 */
};

/*
 * Message framing of a request (RFC 9112 6): Transfer-Encoding whose final
 * coding is chunked wins; any other Transfer-Encoding, Transfer-Encoding
 * together with Content-Length, several differing Content-Length values, or
 * an invalid one are PARSE_ERROR (request smuggling vectors).  HTTP/1.1
 * requests must carry exactly one Host header.
 */
enum parse_result http_request_framing(const struct http_head *req,
                                       struct http_framing *out,
                                       const char **why);

/*
 * Framing of a response to a request with method req_method: no body for
 * HEAD, 1xx, 204 and 304 (and 2xx to CONNECT); chunked; Content-Length; else
 * until close.  Conflicts are PARSE_ERROR as for requests.
 */
enum parse_result http_response_framing(const struct http_head *resp,
                                        struct http_span req_method,
                                        struct http_framing *out,
                                        const char **why);

/* Resumable chunked-body decoder.  Zero-initialise or http_chunked_init(). */
struct http_chunked {
	int      state;
	uint64_t remaining; /* data bytes left in the current chunk */
	size_t   line_len;  /* bytes of the current size or trailer line */
	size_t   trailer_len;
	unsigned digits;
};

void http_chunked_init(struct http_chunked *ch);

/*
 * Feeds p[0..len).  Consumes framing bytes up to the next run of chunk data
 * and at most that run, then returns, so the caller can copy data out:
 *   PARSE_AGAIN: *consumed bytes were used; if *data_len > 0 they end with
 *                a run of data at p + *data_off.  Call again with the rest
 *                (or with more input once all of it was consumed).
 *   PARSE_OK:    the last chunk and the trailer section ended after
 *                *consumed bytes (a data run may still be reported).
 *   PARSE_ERROR: invalid chunk size (not hex, over 16 digits), bare CR or
 *                LF, missing CRLF after data, oversized line or trailers.
 */
enum parse_result http_chunked_parse(struct http_chunked *ch, const uint8_t *p,
                                     size_t len, size_t *consumed,
                                     size_t *data_off, size_t *data_len,
                                     const char **why);

#endif
