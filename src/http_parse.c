/*
 * http_parse: HTTP/1.x message heads, message framing and the chunked
 * transfer coding (RFC 9112), parsed strictly and without allocation.
 *
 * Everything here reads only p[0..len) and keeps resumable state in structs
 * the caller owns.  Where RFC 9112 lets a recipient choose between repairing
 * and rejecting a message, we reject: a proxy that repairs differently from
 * the next hop is how requests get smuggled.
 */
#include "config.h"

#include <string.h>

#include "http_parse.h"

/* Internal states of struct http_chunked; zero is the start state. */
enum chunked_state {
	CH_SIZE = 0, /* hex digits of a chunk size */
	CH_SIZE_BWS, /* whitespace after the size, before ';' */
	CH_EXT,      /* chunk extensions, skipped up to CR */
	CH_SIZE_LF,  /* CR of the size line seen */
	CH_DATA,     /* remaining bytes of chunk data */
	CH_DATA_CR,  /* CRLF after chunk data */
	CH_DATA_LF,
	CH_TRAILER,       /* start of a trailer field line, or the final CRLF */
	CH_TRAILER_NAME,  /* field name up to ':' */
	CH_TRAILER_VALUE, /* field value up to CR */
	CH_TRAILER_LF,    /* CR of a trailer line seen */
	CH_END_LF,        /* CR of the final CRLF seen */
	CH_DONE,
	CH_FAILED,
};

/* Transfer-Encoding of a message, once checked. */
enum te {
	TE_NONE = 0,
	TE_CHUNKED, /* final coding is chunked */
	TE_OTHER,   /* present, final coding is not chunked */
};

/* Content-Length and Transfer-Encoding of a message, once checked. */
struct fields {
	enum te  te;
	bool     has_length;
	uint64_t length;
};

/* Iterates over a comma-separated list (RFC 9110 5.6.1). */
struct list_iter {
	struct http_span rest;
	bool             done;
};

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* RFC 9110 5.6.2: tchar */
static bool
is_tchar(uint8_t c)
{
	static const char specials[] = "!#$%&'*+-.^_`|~";

	if (is_digit(c) || is_alpha(c))
		return true;
	return c != 0 && memchr(specials, c, sizeof(specials) - 1) != NULL;
}

/* RFC 9110 5.6.3: OWS = *( SP / HTAB ) */
static bool
is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 5.5: field-vchar, SP or HTAB; obs-text allowed, other CTLs not */
static bool
is_field_byte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* RFC 5234 B.1: VCHAR, the visible US-ASCII characters */
static bool
is_vchar(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

static int
hex_value(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint8_t
ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static struct http_span
span(const uint8_t *p, size_t len)
{
	struct http_span s = { (const char *)p, len };

	return s;
}

static uint8_t
span_at(struct http_span s, size_t i)
{
	return (uint8_t)s.p[i];
}

/* Case-sensitive: methods are (RFC 9110 9.1). */
static bool
span_is(struct http_span s, const char *str)
{
	size_t n = strlen(str);

	return s.len == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

/* Length of the run of tchar at the start of p[0..len). */
static size_t
token_len(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_tchar(p[i]))
		i++;
	return i;
}

static struct http_span
trim_ows(const char *p, size_t len)
{
	while (len > 0 && is_ows((uint8_t)p[0])) {
		p++;
		len--;
	}
	while (len > 0 && is_ows((uint8_t)p[len - 1]))
		len--;
	return span((const uint8_t *)p, len);
}

/*
 * Head scanning.  Only the bytes just before scan->pos are looked at again
 * when resuming: one to find a bare CR, two to find the empty line.
 */

enum parse_result
http_head_find_end(struct http_head_scan *scan, const uint8_t *p, size_t len,
                   size_t *head_len, const char **why)
{
	size_t i;

	if (scan->pos > len)
		return parse_fail(why, "input shrank while scanning a head");
	for (i = scan->pos; i < len; i++) {
		uint8_t c = p[i];

		/* RFC 9112 2.2: leading CRLF is refused, not skipped */
		if (i == 0 && (is_ows(c) || c == '\r' || c == '\n'))
			return parse_fail(why, "whitespace before the start line");
		if (c == '\0')
			return parse_fail(why, "NUL in head");
		if (i > 0 && p[i - 1] == '\r' && c != '\n')
			return parse_fail(why, "bare CR in head");
		if (c != '\n')
			continue;
		/* i > 0: a LF at 0 was refused above */
		if (p[i - 1] != '\r')
			return parse_fail(why, "bare LF in head");
		/* p[i - 2] is LF only if it ended a line: CR LF CR LF */
		if (i >= 3 && p[i - 2] == '\n') {
			scan->pos = i + 1;
			*head_len = i + 1;
			return PARSE_OK;
		}
	}
	scan->pos = len;
	return PARSE_AGAIN;
}

/*
 * Head parsing: the head is split into lines ending in CRLF; no line may
 * contain another CR or LF (RFC 9112 2.2).
 */

struct cursor {
	const uint8_t *p;
	size_t         len;
	size_t         pos;
};

/* The next line without its CRLF; moves the cursor past the CRLF. */
static enum parse_result
next_line(struct cursor *c, const uint8_t **line, size_t *line_len,
          const char **why)
{
	size_t i;

	for (i = c->pos; i < c->len; i++) {
		if (c->p[i] == '\n')
			return parse_fail(why, "bare LF in head");
		if (c->p[i] == '\r')
			break;
	}
	if (c->len - i < 2)
		return parse_fail(why, "head does not end with an empty line");
	if (c->p[i + 1] != '\n')
		return parse_fail(why, "bare CR in head");
	*line = c->p + c->pos;
	*line_len = i - c->pos;
	c->pos = i + 2;
	return PARSE_OK;
}

/* RFC 9112 2.3: "HTTP/1.0" or "HTTP/1.1"; we refuse 1.2 and up as well. */
static enum parse_result
parse_version(const uint8_t *p, size_t len, int *minor, const char **why)
{
	if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) ||
	    p[6] != '.' || !is_digit(p[7]))
		return parse_fail(why, "malformed HTTP version");
	if (p[5] != '1' || p[7] > '1')
		return parse_fail(why, "unsupported HTTP version");
	*minor = p[7] - '0';
	return PARSE_OK;
}

/* RFC 3986 3.1: scheme ":" starts an absolute URI. */
static bool
is_absolute_uri(struct http_span t)
{
	size_t i;

	if (t.len == 0 || !is_alpha(span_at(t, 0)))
		return false;
	for (i = 1; i < t.len; i++) {
		uint8_t c = span_at(t, i);

		if (c == ':')
			return true;
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			return false;
	}
	return false;
}

/* RFC 9112 3.2.3: uri-host ":" port, nothing else. */
static bool
is_authority_form(struct http_span t)
{
	size_t colon = t.len, i;

	for (i = 0; i < t.len; i++) {
		uint8_t c = span_at(t, i);

		if (c == '/' || c == '?' || c == '@')
			return false;
		if (c == ':')
			colon = i;
	}
	if (colon == 0 || colon == t.len || t.len - colon - 1 == 0 ||
	    t.len - colon - 1 > 5)
		return false;
	for (i = colon + 1; i < t.len; i++) {
		if (!is_digit(span_at(t, i)))
			return false;
	}
	/* an IPv6 address needs its brackets before the port */
	if (memchr(t.p, ':', colon) != NULL)
		return span_at(t, 0) == '[' && span_at(t, colon - 1) == ']';
	return true;
}

/* RFC 9112 3.2: which request-target form goes with which method. */
static enum parse_result
check_target_form(struct http_span method, struct http_span t, const char **why)
{
	if (memchr(t.p, '#', t.len) != NULL)
		return parse_fail(why, "fragment in request target");
	if (span_is(method, "CONNECT")) {
		if (!is_authority_form(t))
			return parse_fail(why, "CONNECT target is not host:port");
		return PARSE_OK;
	}
	if (span_is(t, "*")) {
		if (!span_is(method, "OPTIONS"))
			return parse_fail(why, "asterisk target without OPTIONS");
		return PARSE_OK;
	}
	if (span_at(t, 0) != '/' && !is_absolute_uri(t))
		return parse_fail(why, "request target is neither a path nor a URI");
	return PARSE_OK;
}

/* RFC 9112 3: method SP request-target SP HTTP-version, single spaces. */
static enum parse_result
parse_request_line(const uint8_t *p, size_t len, struct http_head *out,
                   const char **why)
{
	size_t m, t, v;

	m = token_len(p, len);
	if (m == 0 || m == len || p[m] != ' ')
		return parse_fail(why, "invalid method");
	/* the target starts at m + 1 and runs for t bytes */
	t = 0;
	while (t < len - m - 1 && is_vchar(p[m + 1 + t]))
		t++;
	if (t == 0)
		return parse_fail(why, "empty request target");
	v = m + 1 + t; /* the SP before the version */
	if (v == len)
		return parse_fail(why, "no HTTP version");
	if (p[v] != ' ')
		return parse_fail(why, "invalid character in request target");
	out->method = span(p, m);
	out->target = span(p + m + 1, t);
	if (parse_version(p + v + 1, len - v - 1, &out->version_minor, why) !=
	    PARSE_OK)
		return PARSE_ERROR;
	return check_target_form(out->method, out->target, why);
}

/*
 * RFC 9112 4: HTTP-version SP status-code SP [ reason-phrase ].  A missing
 * SP after the code is accepted: it cannot change the framing.
 */
static enum parse_result
parse_status_line(const uint8_t *p, size_t len, struct http_head *out,
                  const char **why)
{
	size_t i;

	if (len < 8)
		return parse_fail(why, "malformed status line");
	if (parse_version(p, 8, &out->version_minor, why) != PARSE_OK)
		return PARSE_ERROR;
	if (len < 12 || p[8] != ' ' || !is_digit(p[9]) || !is_digit(p[10]) ||
	    !is_digit(p[11]) || (len > 12 && p[12] != ' '))
		return parse_fail(why, "malformed status code");
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100 || out->status > 599)
		return parse_fail(why, "status code out of range");
	for (i = 13; i < len; i++) {
		if (!is_field_byte(p[i]))
			return parse_fail(why, "control character in reason phrase");
	}
	out->reason = len > 13 ? span(p + 13, len - 13) : span(p + len, 0);
	return PARSE_OK;
}

/* RFC 9112 5: field-name ":" OWS field-value OWS */
static enum parse_result
parse_field_line(const uint8_t *p, size_t len, struct http_header *h,
                 const char **why)
{
	size_t n, i;

	/* RFC 9112 5.2: obs-fold, which we reject (400, or 502 upstream) */
	if (is_ows(p[0]))
		return parse_fail(why, "obsolete line folding");
	n = token_len(p, len);
	if (n == 0 || n == len)
		return parse_fail(why, "invalid field name");
	/* RFC 9112 5.1: a server MUST reject this with 400 */
	if (is_ows(p[n]))
		return parse_fail(why, "whitespace between field name and colon");
	if (p[n] != ':')
		return parse_fail(why, "invalid field name");
	for (i = n + 1; i < len; i++) {
		if (!is_field_byte(p[i]))
			return parse_fail(why, "control character in field value");
	}
	h->name = span(p, n);
	h->value = trim_ows((const char *)p + n + 1, len - n - 1);
	return PARSE_OK;
}

/* Field lines up to the empty line that ends the head. */
static enum parse_result
parse_fields(struct cursor *c, struct http_head *out, const char **why)
{
	const uint8_t *line;
	size_t         len;

	for (;;) {
		if (next_line(c, &line, &len, why) != PARSE_OK)
			return PARSE_ERROR;
		if (len == 0)
			break;
		if (out->nheaders == HTTP_MAX_HEADERS)
			return parse_fail(why, "too many header fields");
		if (parse_field_line(line, len, &out->headers[out->nheaders],
		                     why) != PARSE_OK)
			return PARSE_ERROR;
		out->nheaders++;
	}
	out->head_len = c->pos;
	return PARSE_OK;
}

static void
head_reset(struct http_head *out)
{
	out->method = span(NULL, 0);
	out->target = span(NULL, 0);
	out->status = 0;
	out->reason = span(NULL, 0);
	out->version_minor = 0;
	out->nheaders = 0;
	out->head_len = 0;
}

enum parse_result
http_parse_request(const uint8_t *p, size_t len, struct http_head *out,
                   const char **why)
{
	struct cursor  c = { p, len, 0 };
	const uint8_t *line;
	size_t         line_len;

	head_reset(out);
	if (next_line(&c, &line, &line_len, why) != PARSE_OK ||
	    parse_request_line(line, line_len, out, why) != PARSE_OK)
		return PARSE_ERROR;
	return parse_fields(&c, out, why);
}

enum parse_result
http_parse_response(const uint8_t *p, size_t len, struct http_head *out,
                    const char **why)
{
	struct cursor  c = { p, len, 0 };
	const uint8_t *line;
	size_t         line_len;

	head_reset(out);
	if (next_line(&c, &line, &line_len, why) != PARSE_OK ||
	    parse_status_line(line, line_len, out, why) != PARSE_OK)
		return PARSE_ERROR;
	return parse_fields(&c, out, why);
}

/*
 * Looking at fields.
 */

bool
http_span_eq(struct http_span s, const char *str)
{
	size_t i;

	if (strlen(str) != s.len)
		return false;
	for (i = 0; i < s.len; i++) {
		if (ascii_lower(span_at(s, i)) != ascii_lower((uint8_t)str[i]))
			return false;
	}
	return true;
}

const struct http_header *
http_head_get(const struct http_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nheaders; i++) {
		if (http_span_eq(h->headers[i].name, name))
			return &h->headers[i];
	}
	return NULL;
}

static void
list_init(struct list_iter *it, struct http_span value)
{
	it->rest = value;
	it->done = false;
}

/* The next element, OWS trimmed and possibly empty; false after the last. */
static bool
list_next(struct list_iter *it, struct http_span *elem)
{
	const char *comma = NULL;
	size_t      n;

	if (it->done)
		return false;
	if (it->rest.len > 0)
		comma = memchr(it->rest.p, ',', it->rest.len);
	n = comma != NULL ? (size_t)(comma - it->rest.p) : it->rest.len;
	*elem = trim_ows(it->rest.p, n);
	if (comma != NULL) {
		it->rest.p = comma + 1;
		it->rest.len -= n + 1;
	} else {
		it->done = true;
	}
	return true;
}

bool
http_head_has_token(const struct http_head *h, const char *name,
                    const char *token)
{
	struct list_iter it;
	struct http_span elem;
	size_t           i;

	for (i = 0; i < h->nheaders; i++) {
		if (!http_span_eq(h->headers[i].name, name))
			continue;
		list_init(&it, h->headers[i].value);
		while (list_next(&it, &elem)) {
			if (http_span_eq(elem, token))
				return true;
		}
	}
	return false;
}

/*
 * Framing (RFC 9112 6).
 */

/* RFC 9110 8.6: Content-Length = 1*DIGIT, refused if over 2^64 - 1. */
static bool
parse_decimal(struct http_span s, uint64_t *out)
{
	uint64_t v = 0;
	size_t   i;

	if (s.len == 0)
		return false;
	for (i = 0; i < s.len; i++) {
		uint8_t d = span_at(s, i);

		if (!is_digit(d))
			return false;
		if (v > (UINT64_MAX - (d - '0')) / 10)
			return false;
		v = v * 10 + (d - '0');
	}
	*out = v;
	return true;
}

/*
 * RFC 9110 8.6: every Content-Length value, in every field and list
 * element ("5, 5"), must be valid and the same.
 */
static enum parse_result
check_content_length(const struct http_head *h, struct fields *f,
                     const char **why)
{
	struct list_iter it;
	struct http_span elem;
	uint64_t         v;
	size_t           i;

	for (i = 0; i < h->nheaders; i++) {
		if (!http_span_eq(h->headers[i].name, "Content-Length"))
			continue;
		list_init(&it, h->headers[i].value);
		while (list_next(&it, &elem)) {
			if (!parse_decimal(elem, &v))
				return parse_fail(why, "invalid Content-Length");
			if (f->has_length && v != f->length)
				return parse_fail(why, "conflicting Content-Length");
			f->has_length = true;
			f->length = v;
		}
	}
	return PARSE_OK;
}

/*
 * One transfer-coding (RFC 9112 7): a token, maybe parameters.  chunked
 * takes none and may only be the final coding (RFC 9112 6.1, 7).
 */
static enum parse_result
check_coding(struct http_span elem, bool *chunked, const char **why)
{
	size_t           n = token_len((const uint8_t *)elem.p, elem.len);
	struct http_span rest;

	if (*chunked)
		return parse_fail(why, "chunked is not the final transfer coding");
	if (n == 0)
		return parse_fail(why, "invalid Transfer-Encoding");
	*chunked = http_span_eq(span((const uint8_t *)elem.p, n), "chunked");
	if (n == elem.len)
		return PARSE_OK;
	rest = trim_ows(elem.p + n, elem.len - n);
	if (*chunked || rest.len == 0 || span_at(rest, 0) != ';')
		return parse_fail(why, "invalid Transfer-Encoding");
	return PARSE_OK;
}

static enum parse_result
check_transfer_encoding(const struct http_head *h, struct fields *f,
                        const char **why)
{
	struct list_iter it;
	struct http_span elem;
	bool             chunked = false;
	size_t           i;

	for (i = 0; i < h->nheaders; i++) {
		if (!http_span_eq(h->headers[i].name, "Transfer-Encoding"))
			continue;
		list_init(&it, h->headers[i].value);
		while (list_next(&it, &elem)) {
			if (check_coding(elem, &chunked, why) != PARSE_OK)
				return PARSE_ERROR;
		}
		f->te = chunked ? TE_CHUNKED : TE_OTHER;
	}
	return PARSE_OK;
}

/* Content-Length and Transfer-Encoding, checked against each other. */
static enum parse_result
check_fields(const struct http_head *h, struct fields *f, const char **why)
{
	f->te = TE_NONE;
	f->has_length = false;
	f->length = 0;
	if (check_transfer_encoding(h, f, why) != PARSE_OK ||
	    check_content_length(h, f, why) != PARSE_OK)
		return PARSE_ERROR;
	/* RFC 9112 6.1: faulty framing; we refuse the message */
	if (f->te != TE_NONE && h->version_minor == 0)
		return parse_fail(why, "Transfer-Encoding in HTTP/1.0");
	/* RFC 9112 6.3 (3): "ought to be handled as an error" */
	if (f->te != TE_NONE && f->has_length)
		return parse_fail(why, "both Transfer-Encoding and Content-Length");
	return PARSE_OK;
}

/*
 * RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with
 * "keep-alive" (which 9.3 tells proxies to ignore in requests; the caller
 * may still refuse to keep an HTTP/1.0 client).
 */
static bool
is_persistent(const struct http_head *h)
{
	if (http_head_has_token(h, "Connection", "close"))
		return false;
	if (h->version_minor >= 1)
		return true;
	return http_head_has_token(h, "Connection", "keep-alive");
}

/* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host, others one at most */
static enum parse_result
check_host(const struct http_head *h, const char **why)
{
	size_t i, n = 0;

	for (i = 0; i < h->nheaders; i++) {
		if (http_span_eq(h->headers[i].name, "Host"))
			n++;
	}
	if (n > 1)
		return parse_fail(why, "several Host fields");
	if (n == 0 && h->version_minor >= 1)
		return parse_fail(why, "HTTP/1.1 request without Host");
	return PARSE_OK;
}

static void
framing_reset(struct http_framing *out)
{
	out->body = HTTP_BODY_NONE;
	out->content_length = 0;
	out->keep_alive = false;
}

enum parse_result
http_request_framing(const struct http_head *req, struct http_framing *out,
                     const char **why)
{
	struct fields f;

	framing_reset(out);
	if (check_host(req, why) != PARSE_OK ||
	    check_fields(req, &f, why) != PARSE_OK)
		return PARSE_ERROR;
	/* RFC 9112 6.3 (4): the server MUST respond 400 */
	if (f.te == TE_OTHER)
		return parse_fail(why, "Transfer-Encoding does not end in chunked");
	if (f.te == TE_CHUNKED) {
		out->body = HTTP_BODY_CHUNKED;
	} else if (f.has_length) {
		out->body = HTTP_BODY_LENGTH;
		out->content_length = f.length;
	}
	/* RFC 9112 6.3 (7): otherwise the body is empty */
	out->keep_alive = is_persistent(req);
	return PARSE_OK;
}

enum parse_result
http_response_framing(const struct http_head *resp, struct http_span req_method,
                      struct http_framing *out, const char **why)
{
	struct fields f;

	framing_reset(out);
	/*
	 * RFC 9110 9.3.6: a client MUST ignore Content-Length and
	 * Transfer-Encoding in a 2xx to CONNECT; the connection becomes a
	 * tunnel, so it is not kept for another request.
	 */
	if (span_is(req_method, "CONNECT") && resp->status / 100 == 2)
		return PARSE_OK;
	if (check_fields(resp, &f, why) != PARSE_OK)
		return PARSE_ERROR;
	out->keep_alive = is_persistent(resp);
	/* RFC 9112 6.3 (1) */
	if (span_is(req_method, "HEAD") || resp->status / 100 == 1 ||
	    resp->status == 204 || resp->status == 304)
		return PARSE_OK;
	if (f.te == TE_CHUNKED) {
		out->body = HTTP_BODY_CHUNKED;
	} else if (f.te == TE_NONE && f.has_length) {
		out->body = HTTP_BODY_LENGTH;
		out->content_length = f.length;
	} else {
		/* RFC 9112 6.3 (4), (8): read until the server closes */
		out->body = HTTP_BODY_CLOSE;
		out->keep_alive = false;
	}
	return PARSE_OK;
}

/*
 * Chunked transfer coding (RFC 9112 7.1):
 *
 *	chunked-body = *chunk last-chunk trailer-section CRLF
 *	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *
 * Extensions are skipped, not interpreted; since they may hold no CR, LF
 * or other control character, where the size line ends is never in doubt.
 */

void
http_chunked_init(struct http_chunked *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->state = CH_SIZE;
}

/* A byte of chunk-size, or the one after it. */
static enum parse_result
chunked_size_digit(struct http_chunked *ch, uint8_t c, const char **why)
{
	int v = hex_value(c);

	if (v >= 0) {
		if (ch->digits == 16)
			return parse_fail(why, "chunk size over 16 hex digits");
		ch->remaining = ch->remaining << 4 | (uint64_t)v;
		ch->digits++;
		return PARSE_AGAIN;
	}
	if (ch->digits == 0)
		return parse_fail(why, "invalid chunk size");
	if (c == '\r')
		ch->state = CH_SIZE_LF;
	else if (c == ';')
		ch->state = CH_EXT;
	else if (is_ows(c))
		ch->state = CH_SIZE_BWS; /* RFC 9112 7.1.1: BWS before ';' */
	else
		return parse_fail(why, "invalid chunk size");
	return PARSE_AGAIN;
}

/* One byte of a chunk size line, before its LF. */
static enum parse_result
chunked_size_byte(struct http_chunked *ch, uint8_t c, const char **why)
{
	if (c != '\r' && ++ch->line_len > HTTP_CHUNK_LINE_MAX)
		return parse_fail(why, "chunk size line too long");
	if (c == '\n')
		return parse_fail(why, "bare LF in chunk size line");
	switch (ch->state) {
	case CH_SIZE:
		return chunked_size_digit(ch, c, why);
	case CH_SIZE_BWS:
		/* "5 CRLF" is not chunk-size [ chunk-ext ] CRLF */
		if (c == ';')
			ch->state = CH_EXT;
		else if (!is_ows(c))
			return parse_fail(why, "invalid chunk size line");
		return PARSE_AGAIN;
	default: /* CH_EXT */
		if (c == '\r')
			ch->state = CH_SIZE_LF;
		else if (!is_field_byte(c))
			return parse_fail(why,
			            "control character in chunk extension");
		return PARSE_AGAIN;
	}
}

/* The LF ending a size line: data follows, or trailers after size 0. */
static enum parse_result
chunked_size_end(struct http_chunked *ch, uint8_t c, const char **why)
{
	if (c != '\n')
		return parse_fail(why, "bare CR in chunk size line");
	ch->state = ch->remaining > 0 ? CH_DATA : CH_TRAILER;
	ch->line_len = 0;
	ch->digits = 0;
	return PARSE_AGAIN;
}

/* One byte of the CRLF after chunk data. */
static enum parse_result
chunked_data_end(struct http_chunked *ch, uint8_t c, const char **why)
{
	if (ch->state == CH_DATA_CR && c != '\r')
		return parse_fail(why, "missing CRLF after chunk data");
	if (ch->state == CH_DATA_LF && c != '\n')
		return parse_fail(why, "missing CRLF after chunk data");
	ch->state = ch->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
	return PARSE_AGAIN;
}

/* At the start of a trailer line: a field line, or CRLF for the end. */
static enum parse_result
chunked_trailer_start(struct http_chunked *ch, uint8_t c, const char **why)
{
	if (c == '\r')
		ch->state = CH_END_LF;
	else if (is_tchar(c))
		ch->state = CH_TRAILER_NAME;
	else if (is_ows(c))
		return parse_fail(why, "obsolete line folding in trailer");
	else
		return parse_fail(why, "invalid trailer field");
	return PARSE_AGAIN;
}

/* One byte of the trailer section (RFC 9112 7.1.2), as strict as a head. */
static enum parse_result
chunked_trailer_byte(struct http_chunked *ch, uint8_t c, const char **why)
{
	if (ch->state != CH_END_LF && !(ch->state == CH_TRAILER && c == '\r') &&
	    ++ch->trailer_len > HTTP_TRAILER_MAX)
		return parse_fail(why, "trailer section too long");
	switch (ch->state) {
	case CH_TRAILER:
		return chunked_trailer_start(ch, c, why);
	case CH_TRAILER_NAME:
		if (c == ':')
			ch->state = CH_TRAILER_VALUE;
		else if (is_ows(c))
			return parse_fail(why,
			            "whitespace between field name and colon");
		else if (!is_tchar(c))
			return parse_fail(why, "invalid trailer field");
		return PARSE_AGAIN;
	case CH_TRAILER_VALUE:
		if (c == '\r')
			ch->state = CH_TRAILER_LF;
		else if (!is_field_byte(c))
			return parse_fail(why, "control character in trailer field");
		return PARSE_AGAIN;
	case CH_TRAILER_LF:
	case CH_END_LF:
		if (c != '\n')
			return parse_fail(why, "bare CR in trailer section");
		if (ch->state == CH_END_LF) {
			ch->state = CH_DONE;
			return PARSE_OK;
		}
		ch->state = CH_TRAILER;
		return PARSE_AGAIN;
	default:
		return parse_fail(why, "chunked decoder in a bad state");
	}
}

/* One framing byte: PARSE_AGAIN to go on, PARSE_OK at the very end. */
static enum parse_result
chunked_byte(struct http_chunked *ch, uint8_t c, const char **why)
{
	switch (ch->state) {
	case CH_SIZE:
	case CH_SIZE_BWS:
	case CH_EXT:
		return chunked_size_byte(ch, c, why);
	case CH_SIZE_LF:
		return chunked_size_end(ch, c, why);
	case CH_DATA_CR:
	case CH_DATA_LF:
		return chunked_data_end(ch, c, why);
	default:
		return chunked_trailer_byte(ch, c, why);
	}
}

enum parse_result
http_chunked_parse(struct http_chunked *ch, const uint8_t *p, size_t len,
                   size_t *consumed, size_t *data_off, size_t *data_len,
                   const char **why)
{
	enum parse_result r = PARSE_AGAIN;
	size_t            i = 0;

	*consumed = 0;
	*data_off = 0;
	*data_len = 0;
	if (ch->state == CH_DONE)
		return PARSE_OK;
	if (ch->state == CH_FAILED)
		return parse_fail(why, "chunked body already failed");
	while (i < len && r == PARSE_AGAIN) {
		if (ch->state == CH_DATA) {
			size_t left = len - i;
			size_t n = ch->remaining < left ? (size_t)ch->remaining
			                                : left;

			ch->remaining -= n;
			if (ch->remaining == 0)
				ch->state = CH_DATA_CR;
			*data_off = i;
			*data_len = n;
			*consumed = i + n;
			return PARSE_AGAIN;
		}
		r = chunked_byte(ch, p[i], why);
		if (r != PARSE_ERROR)
			i++;
	}
	if (r == PARSE_ERROR)
		ch->state = CH_FAILED;
	*consumed = i;
	return r;
}
