/*
 * test_http_parse: tables of heads, framings and chunked bodies run through
 * http_parse.h, each also fed in pieces to check that resuming gives the
 * same answer as parsing in one go.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_parse.h"
#include "tap.h"

/* A string literal as pointer and length, so it may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

#define OK    PARSE_OK
#define AGAIN PARSE_AGAIN
#define ERROR PARSE_ERROR

static struct http_head head; /* too big for the stack of every test */

static bool
span_is(struct http_span s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

/*
 * http_head_find_end
 */

struct find_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	size_t            head_len; /* when result is OK */
};

static const struct find_case find_cases[] = {
	{ "find: request", S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), OK, 27 },
	{ "find: body follows", S("POST / HTTP/1.1\r\nA: b\r\n\r\nhello"), OK,
	  25 },
	{ "find: next head follows", S("A\r\n\r\nB\r\n\r\n"), OK, 5 },
	{ "find: no fields", S("GET / HTTP/1.0\r\n\r\n"), OK, 18 },
	{ "find: empty", S(""), AGAIN, 0 },
	{ "find: incomplete", S("GET / HTTP/1.1\r\nHost: a\r\n"), AGAIN, 0 },
	{ "find: ends in CR", S("GET / HTTP/1.1\r\nHost: a\r\n\r"), AGAIN, 0 },
	{ "find: ends in CR LF CR", S("GET / HTTP/1.1\r\n\r"), AGAIN, 0 },
	{ "find: leading CRLF", S("\r\nGET / HTTP/1.1\r\n\r\n"), ERROR, 0 },
	{ "find: leading SP", S(" GET / HTTP/1.1\r\n\r\n"), ERROR, 0 },
	{ "find: leading HTAB", S("\tGET / HTTP/1.1\r\n\r\n"), ERROR, 0 },
	{ "find: leading LF", S("\nGET / HTTP/1.1\r\n\r\n"), ERROR, 0 },
	{ "find: NUL", S("GET /\0 HTTP/1.1\r\n\r\n"), ERROR, 0 },
	{ "find: bare CR", S("GET / HTTP/1.1\rHost: a\r\n\r\n"), ERROR, 0 },
	{ "find: CR CR LF", S("GET / HTTP/1.1\r\r\n\r\n"), ERROR, 0 },
	{ "find: bare LF ends line", S("GET / HTTP/1.1\nHost: a\r\n\r\n"),
	  ERROR, 0 },
	{ "find: LF LF", S("GET / HTTP/1.1\r\nHost: a\n\n"), ERROR, 0 },
	{ "find: CRLF LF", S("GET / HTTP/1.1\r\n\n"), ERROR, 0 },
};

/* Feeds c->in growing by step bytes; returns the final result. */
static enum parse_result
find_in_steps(const struct find_case *c, size_t first, size_t step,
              size_t *head_len, bool *linear)
{
	struct http_head_scan scan = { 0 };
	enum parse_result     r = PARSE_AGAIN;
	size_t                avail = first < c->len ? first : c->len;
	const char           *why;

	*linear = true;
	for (;;) {
		r = http_head_find_end(&scan, (const uint8_t *)c->in, avail,
		                       head_len, &why);
		/* AGAIN means every byte so far was examined, once */
		if (r == PARSE_AGAIN && scan.pos != avail)
			*linear = false;
		if (r != PARSE_AGAIN || avail == c->len)
			return r;
		avail = c->len - avail < step ? c->len : avail + step;
	}
}

static void
test_find_end(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		const struct find_case *c = &find_cases[i];
		size_t                  hl = 0, hl2;
		bool                    lin, lin2, splits_agree = true;
		enum parse_result       r;

		r = find_in_steps(c, c->len, 1, &hl, &lin);
		ok(r == c->result && (r != OK || hl == c->head_len), "%s",
		   c->name);
		r = find_in_steps(c, 1, 1, &hl2, &lin2);
		ok(r == c->result && (r != OK || hl2 == c->head_len) && lin2,
		   "%s: byte by byte", c->name);
		for (k = 0; k <= c->len; k++) {
			r = find_in_steps(c, k, c->len, &hl2, &lin2);
			if (r != c->result || (r == OK && hl2 != c->head_len))
				splits_agree = false;
		}
		ok(splits_agree, "%s: split in two everywhere", c->name);
	}
}

/*
 * A long head fed one byte at a time: the bytes before the resume point are
 * overwritten with NUL once examined, so rescanning them would fail.
 */
static void
test_find_end_no_rescan(void)
{
	static uint8_t        buf[65536];
	struct http_head_scan scan = { 0 };
	size_t                len = 0, avail, head_len = 0, work = 0;
	enum parse_result     r = PARSE_AGAIN;
	const char           *why;

	len = (size_t)snprintf((char *)buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	while (len < sizeof(buf) - 64)
		len += (size_t)snprintf((char *)buf + len, sizeof(buf) - len,
		                        "X-Filler-%05zu: some value\r\n", len);
	memcpy(buf + len, "\r\n", 2);
	len += 2;
	for (avail = 1; avail <= len && r == PARSE_AGAIN; avail++) {
		size_t before = scan.pos;

		r = http_head_find_end(&scan, buf, avail, &head_len, &why);
		work += scan.pos - before;
		/* keep the last two bytes examined: the scan may look back */
		if (r == PARSE_AGAIN && scan.pos >= 3)
			buf[scan.pos - 3] = '\0';
	}
	ok(r == PARSE_OK && head_len == len,
	   "find: %zu bytes fed one at a time, earlier bytes erased", len);
	ok(work == len, "find: examined %zu bytes for a %zu-byte head", work,
	   len);
	why = NULL;
	r = http_head_find_end(&scan, buf, 10, &head_len, &why);
	ok(r == PARSE_ERROR && why != NULL,
	   "find: input shorter than the scan");
}

/*
 * http_parse_request
 */

struct req_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	const char       *method;
	const char       *target;
	int               minor;
	size_t            nheaders;
	const char       *field; /* if set, http_head_get(field) ... */
	const char       *value; /* ... has this value, or NULL: is absent */
};

static const struct req_case req_cases[] = {
	{ "GET origin-form", S("GET /a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n"), OK,
	  "GET", "/a/b?c=d", 1, 1, "host", "x" },
	{ "HEAD", S("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "HEAD", "/", 1,
	  1, NULL, NULL },
	{ "POST", S("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n"),
	  OK, "POST", "/f", 1, 2, "Content-Length", "1" },
	{ "PUT", S("PUT /f HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "PUT", "/f", 1, 1,
	  NULL, NULL },
	{ "DELETE", S("DELETE /f HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "DELETE",
	  "/f", 1, 1, NULL, NULL },
	{ "OPTIONS", S("OPTIONS /f HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "OPTIONS",
	  "/f", 1, 1, NULL, NULL },
	{ "OPTIONS asterisk-form", S("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
	  OK, "OPTIONS", "*", 1, 1, NULL, NULL },
	{ "PATCH", S("PATCH /f HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "PATCH", "/f",
	  1, 1, NULL, NULL },
	{ "TRACE", S("TRACE /f HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "TRACE", "/f",
	  1, 1, NULL, NULL },
	{ "CONNECT authority-form",
	  S("CONNECT example.com:443 HTTP/1.1\r\nHost: "
	    "example.com:443\r\n\r\n"),
	  OK, "CONNECT", "example.com:443", 1, 1, NULL, NULL },
	{ "CONNECT IPv6",
	  S("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n"), OK,
	  "CONNECT", "[2001:db8::1]:443", 1, 1, NULL, NULL },
	{ "GET absolute-form",
	  S("GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	  OK, "GET", "http://example.com/x?y", 1, 1, NULL, NULL },
	{ "asterisk with M-SEARCH", S("M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "extension method token",
	  S("PROPFIND /d HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "PROPFIND", "/d", 1,
	  1, NULL, NULL },
	{ "HTTP/1.0 without fields", S("GET / HTTP/1.0\r\n\r\n"), OK, "GET",
	  "/", 0, 0, NULL, NULL },
	{ "OWS trimmed", S("GET / HTTP/1.1\r\nHost: \t x y \t \r\n\r\n"), OK,
	  "GET", "/", 1, 1, "Host", "x y" },
	{ "no OWS", S("GET / HTTP/1.1\r\nHost:x\r\n\r\n"), OK, "GET", "/", 1, 1,
	  "HOST", "x" },
	{ "empty value", S("GET / HTTP/1.1\r\nHost: x\r\nX-E:  \r\n\r\n"), OK,
	  "GET", "/", 1, 2, "x-e", "" },
	{ "obs-text and HTAB in value",
	  S("GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\ta\r\n\r\n"), OK,
	  "GET", "/", 1, 2, "X", "caf\xc3\xa9\ta" },
	{ "token specials in name",
	  S("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n"), OK, "GET", "/",
	  1, 1, "!#$%&'*+-.^_`|~09AZ", "v" },
	{ "bytes after the head", S("GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY"),
	  OK, "GET", "/", 1, 1, NULL, NULL },
	/* request line */
	{ "empty input", S(""), ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "no empty line", S("GET / HTTP/1.1\r\nHost: x\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "method not a token", S("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "empty method", S(" / HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "two spaces", S("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "HTAB separator", S("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "space in target", S("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "CTL in target", S("GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "DEL in target", S("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "8-bit target", S("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "fragment in target", S("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "target neither path nor URI",
	  S("GET a/b HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL, 0, 0,
	  NULL, NULL },
	{ "target scheme-like word", S("GET abc HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "target scheme not starting with a letter",
	  S("GET 1http://a/ HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL, 0,
	  0, NULL, NULL },
	{ "absent field", S("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), OK, "GET",
	  "/", 1, 1, "X-Absent", NULL },
	{ "asterisk without OPTIONS", S("GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "CONNECT origin-form", S("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "CONNECT without port",
	  S("CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "CONNECT empty port",
	  S("CONNECT example.com: HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "CONNECT absolute-form",
	  S("CONNECT http://example.com:443/ HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "CONNECT port not digits",
	  S("CONNECT a:44x3 HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL, 0,
	  0, NULL, NULL },
	{ "CONNECT port too long",
	  S("CONNECT a:000443 HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL,
	  0, 0, NULL, NULL },
	{ "CONNECT userinfo",
	  S("CONNECT u@example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "CONNECT bare IPv6", S("CONNECT ::1:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "no version", S("GET /\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL, 0, 0,
	  NULL, NULL },
	{ "HTTP/2.0", S("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL,
	  0, 0, NULL, NULL },
	{ "HTTP/1.2 (refused, not taken as 1.1)",
	  S("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL, 0, 0, NULL,
	  NULL },
	{ "HTTP/0.9", S("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL,
	  0, 0, NULL, NULL },
	{ "lowercase version", S("GET / http/1.1\r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "HTTP/11", S("GET / HTTP/11\r\nHost: x\r\n\r\n"), ERROR, NULL, NULL,
	  0, 0, NULL, NULL },
	{ "space after version", S("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "bare LF after request line", S("GET / HTTP/1.1\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "bare CR in request line", S("GET /\r HTTP/1.1\r\nHost: x\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	/* field lines */
	{ "obs-fold", S("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "obs-fold with HTAB",
	  S("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "whitespace before first field",
	  S("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), ERROR, NULL, NULL, 0, 0,
	  NULL, NULL },
	{ "SP before colon", S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "HTAB before colon", S("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "empty field name", S("GET / HTTP/1.1\r\n: x\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "no colon", S("GET / HTTP/1.1\r\nHost\r\n\r\n"), ERROR, NULL, NULL, 0,
	  0, NULL, NULL },
	{ "space in field name", S("GET / HTTP/1.1\r\nX Y: z\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "separator in field name", S("GET / HTTP/1.1\r\nX(: z\r\n\r\n"),
	  ERROR, NULL, NULL, 0, 0, NULL, NULL },
	{ "NUL in value", S("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "NUL in name", S("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "ESC in value", S("GET / HTTP/1.1\r\nHost: a\x1b\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "DEL in value", S("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "bare CR in value", S("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "bare LF between fields",
	  S("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), ERROR, NULL, NULL, 0, 0,
	  NULL, NULL },
	{ "head ends LF LF", S("GET / HTTP/1.1\r\nHost: a\n\n"), ERROR, NULL,
	  NULL, 0, 0, NULL, NULL },
	{ "head ends CRLF LF", S("GET / HTTP/1.1\r\nHost: a\r\n\n"), ERROR,
	  NULL, NULL, 0, 0, NULL, NULL },
};

static void
test_parse_request(void)
{
	size_t i;

	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case    *c = &req_cases[i];
		const struct http_header *h;
		const char               *why = NULL;
		enum parse_result         r;
		bool                      pass;

		r = http_parse_request((const uint8_t *)c->in, c->len, &head,
		                       &why);
		pass = r == c->result;
		if (pass && r == OK) {
			pass = span_is(head.method, c->method) &&
			       span_is(head.target, c->target) &&
			       head.version_minor == c->minor &&
			       head.nheaders == c->nheaders &&
			       head.head_len ==
			               (size_t)(strstr(c->in, "\r\n\r\n") -
			                        c->in) +
			                       4;
		}
		if (pass && r == OK && c->field != NULL) {
			h = http_head_get(&head, c->field);
			if (c->value == NULL)
				pass = h == NULL;
			else
				pass = h != NULL && span_is(h->value, c->value);
		}
		if (pass && r == ERROR)
			pass = why != NULL && *why != '\0';
		ok(pass, "request: %s%s%s", c->name, why ? ": " : "",
		   why ? why : "");
	}
}

/* Appends n field lines "X-Nnnn: v" and the empty line to a request line. */
static size_t
head_with_fields(char *buf, size_t size, size_t n)
{
	size_t len, i;

	len = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 1; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len,
		                        "X-N%04zu: v\r\n", i);
	len += (size_t)snprintf(buf + len, size - len, "\r\n");
	return len < size ? len : 0;
}

static void
test_max_headers(void)
{
	static char       buf[16384];
	size_t            len;
	const char       *why = NULL;
	enum parse_result r;

	len = head_with_fields(buf, sizeof(buf), HTTP_MAX_HEADERS);
	r = http_parse_request((const uint8_t *)buf, len, &head, &why);
	ok(len > 0 && r == OK && head.nheaders == HTTP_MAX_HEADERS &&
	           http_head_get(&head, "x-n0127") != NULL,
	   "request: %d fields", HTTP_MAX_HEADERS);
	len = head_with_fields(buf, sizeof(buf), HTTP_MAX_HEADERS + 1);
	r = http_parse_request((const uint8_t *)buf, len, &head, &why);
	ok(len > 0 && r == ERROR, "request: %d fields: %s",
	   HTTP_MAX_HEADERS + 1, why);
}

/*
 * http_parse_response
 */

struct resp_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	int               status;
	const char       *reason;
	int               minor;
};

static const struct resp_case resp_cases[] = {
	{ "200 OK", S("HTTP/1.1 200 OK\r\nServer: s\r\n\r\n"), OK, 200, "OK",
	  1 },
	{ "HTTP/1.0 404", S("HTTP/1.0 404 Not Found\r\n\r\n"), OK, 404,
	  "Not Found", 0 },
	{ "100 Continue", S("HTTP/1.1 100 Continue\r\n\r\n"), OK, 100,
	  "Continue", 1 },
	{ "599", S("HTTP/1.1 599 x\r\n\r\n"), OK, 599, "x", 1 },
	{ "empty reason", S("HTTP/1.1 204 \r\n\r\n"), OK, 204, "", 1 },
	{ "no SP after code", S("HTTP/1.1 204\r\n\r\n"), OK, 204, "", 1 },
	{ "reason with spaces", S("HTTP/1.1 500 Oh  no \r\n\r\n"), OK, 500,
	  "Oh  no ", 1 },
	{ "reason with obs-text and HTAB",
	  S("HTTP/1.1 200 \xc3\xa9\tb\r\n\r\n"), OK, 200, "\xc3\xa9\tb", 1 },
	{ "099", S("HTTP/1.1 099 x\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "600", S("HTTP/1.1 600 x\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "two digits", S("HTTP/1.1 20 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "four digits", S("HTTP/1.1 2000 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "code glued to reason", S("HTTP/1.1 200OK\r\n\r\n"), ERROR, 0, NULL,
	  0 },
	{ "two spaces", S("HTTP/1.1  200 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "HTTP/2", S("HTTP/2 200 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "HTTP/2.0", S("HTTP/2.0 200 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "HTTP/1.2", S("HTTP/1.2 200 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "ICY", S("ICY 200 OK\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "short", S("HTTP/1.1\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "shorter", S("HTTP/1\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "CTL in reason", S("HTTP/1.1 200 O\x01K\r\n\r\n"), ERROR, 0, NULL,
	  0 },
	{ "obs-fold", S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), ERROR, 0,
	  NULL, 0 },
	{ "bare LF", S("HTTP/1.1 200 OK\nX: a\r\n\r\n"), ERROR, 0, NULL, 0 },
	{ "SP before colon", S("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), ERROR, 0,
	  NULL, 0 },
};

static void
test_parse_response(void)
{
	size_t i;

	for (i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		const struct resp_case *c = &resp_cases[i];
		const char             *why = NULL;
		enum parse_result       r;
		bool                    pass;

		r = http_parse_response((const uint8_t *)c->in, c->len, &head,
		                        &why);
		pass = r == c->result;
		if (pass && r == OK)
			pass = head.status == c->status &&
			       span_is(head.reason, c->reason) &&
			       head.version_minor == c->minor &&
			       head.head_len == c->len;
		ok(pass, "response: %s%s%s", c->name, why ? ": " : "",
		   why ? why : "");
	}
}

/*
 * http_head_has_token
 */

struct token_case {
	const char *name;
	const char *in;
	const char *field;
	const char *token;
	bool        found;
};

static const struct token_case token_cases[] = {
	{ "single", "Connection: close\r\n", "Connection", "close", true },
	{ "case", "connection: CLOSE\r\n", "Connection", "close", true },
	{ "list", "Connection: keep-alive, close\r\n", "Connection", "close",
	  true },
	{ "list OWS", "Connection: a ,\tclose\t, b\r\n", "Connection", "close",
	  true },
	{ "no OWS", "Connection: a,close,b\r\n", "Connection", "close", true },
	{ "empty elements", "Connection: ,, close ,,\r\n", "Connection",
	  "close", true },
	{ "second field",
	  "Connection: a\r\nX: close\r\nConnection: b, close\r\n", "Connection",
	  "close", true },
	{ "other field", "Keep-Alive: close\r\n", "Connection", "close",
	  false },
	{ "prefix", "Connection: closed\r\n", "Connection", "close", false },
	{ "suffix", "Connection: x-close\r\n", "Connection", "close", false },
	{ "inner space", "Connection: clo se\r\n", "Connection", "close",
	  false },
	{ "quoted", "Connection: \"close\"\r\n", "Connection", "close", false },
	{ "absent", "X: y\r\n", "Connection", "close", false },
	{ "empty value", "Connection:\r\n", "Connection", "close", false },
};

static void
test_has_token(void)
{
	char   buf[512];
	size_t i;

	for (i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
		const struct token_case *c = &token_cases[i];
		const char              *why = NULL;
		int                      n;
		bool                     pass;

		n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n%s\r\n",
		             c->in);
		pass = n > 0 && (size_t)n < sizeof(buf) &&
		       http_parse_response((const uint8_t *)buf, (size_t)n,
		                           &head, &why) == OK &&
		       http_head_has_token(&head, c->field, c->token) ==
		               c->found;
		ok(pass, "has_token: %s", c->name);
	}
}

/*
 * Framing
 */

struct framing_case {
	const char       *name;
	const char       *method; /* of the request, for responses */
	const char       *in;     /* head, parsed first */
	enum parse_result result;
	enum http_body    body;
	uint64_t          length;
	bool              keep_alive;
};

#define NONE    HTTP_BODY_NONE
#define LENGTH  HTTP_BODY_LENGTH
#define CHUNKED HTTP_BODY_CHUNKED
#define CLOSE   HTTP_BODY_CLOSE
#define R11     "POST / HTTP/1.1\r\nHost: x\r\n"
#define R10     "POST / HTTP/1.0\r\n"

static const struct framing_case req_framing_cases[] = {
	{ "no body", NULL, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", OK, NONE, 0,
	  true },
	{ "Content-Length", NULL, R11 "Content-Length: 5\r\n\r\n", OK, LENGTH,
	  5, true },
	{ "Content-Length 0", NULL, R11 "Content-Length: 0\r\n\r\n", OK, LENGTH,
	  0, true },
	{ "Content-Length leading zeros", NULL,
	  R11 "Content-Length: 007\r\n\r\n", OK, LENGTH, 7, true },
	{ "Content-Length 2^64-1", NULL,
	  R11 "Content-Length: 18446744073709551615\r\n\r\n", OK, LENGTH,
	  UINT64_MAX, true },
	{ "Content-Length list 5, 5", NULL, R11 "Content-Length: 5, 5\r\n\r\n",
	  OK, LENGTH, 5, true },
	{ "Content-Length list 5,5", NULL, R11 "Content-Length: 5,5\r\n\r\n",
	  OK, LENGTH, 5, true },
	{ "Content-Length twice equal", NULL,
	  R11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n", OK, LENGTH, 5,
	  true },
	{ "Content-Length twice differing", NULL,
	  R11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "Content-Length list differing", NULL,
	  R11 "Content-Length: 5, 6\r\n\r\n", ERROR, NONE, 0, false },
	{ "Content-Length list with empty", NULL,
	  R11 "Content-Length: 5,,5\r\n\r\n", ERROR, NONE, 0, false },
	{ "Content-Length trailing comma", NULL,
	  R11 "Content-Length: 5,\r\n\r\n", ERROR, NONE, 0, false },
	{ "Content-Length +5", NULL, R11 "Content-Length: +5\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length -1", NULL, R11 "Content-Length: -1\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length 5a", NULL, R11 "Content-Length: 5a\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length 0x5", NULL, R11 "Content-Length: 0x5\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length 5 5", NULL, R11 "Content-Length: 5 5\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length empty", NULL, R11 "Content-Length:\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length blank", NULL, R11 "Content-Length:   \r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "Content-Length 2^64", NULL,
	  R11 "Content-Length: 18446744073709551616\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "Content-Length huge", NULL,
	  R11 "Content-Length: 99999999999999999999999999999999\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "chunked", NULL, R11 "Transfer-Encoding: chunked\r\n\r\n", OK,
	  CHUNKED, 0, true },
	{ "Chunked case", NULL, R11 "transfer-encoding: ChUnKeD\r\n\r\n", OK,
	  CHUNKED, 0, true },
	{ "gzip, chunked", NULL, R11 "Transfer-Encoding: gzip, chunked\r\n\r\n",
	  OK, CHUNKED, 0, true },
	{ "gzip then chunked fields", NULL,
	  R11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	  OK, CHUNKED, 0, true },
	{ "coding with parameter", NULL,
	  R11 "Transfer-Encoding: x;a=1, chunked\r\n\r\n", OK, CHUNKED, 0,
	  true },
	{ "CL and TE", NULL,
	  R11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "TE and CL", NULL,
	  R11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "TE gzip", NULL, R11 "Transfer-Encoding: gzip\r\n\r\n", ERROR, NONE,
	  0, false },
	{ "TE identity", NULL, R11 "Transfer-Encoding: identity\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "TE chunked, gzip", NULL,
	  R11 "Transfer-Encoding: chunked, gzip\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "TE chunked then gzip fields", NULL,
	  R11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "TE chunked, chunked", NULL,
	  R11 "Transfer-Encoding: chunked, chunked\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "TE chunked twice", NULL,
	  R11
	  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "TE chunked with parameter", NULL,
	  R11 "Transfer-Encoding: chunked;q=1\r\n\r\n", ERROR, NONE, 0, false },
	{ "TE chunked trailing comma", NULL,
	  R11 "Transfer-Encoding: chunked,\r\n\r\n", ERROR, NONE, 0, false },
	{ "TE empty", NULL, R11 "Transfer-Encoding:\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "TE quoted", NULL, R11 "Transfer-Encoding: \"chunked\"\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "TE xchunked", NULL, R11 "Transfer-Encoding: xchunked\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "TE in HTTP/1.0", NULL, R10 "Transfer-Encoding: chunked\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "HTTP/1.1 without Host", NULL, "GET / HTTP/1.1\r\n\r\n", ERROR, NONE,
	  0, false },
	{ "two Host", NULL, "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "two Host in HTTP/1.0", NULL,
	  "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", ERROR, NONE, 0,
	  false },
	{ "HTTP/1.0 without Host", NULL, "GET / HTTP/1.0\r\n\r\n", OK, NONE, 0,
	  false },
	{ "HTTP/1.0 keep-alive", NULL, R10 "Connection: Keep-Alive\r\n\r\n", OK,
	  NONE, 0, true },
	{ "HTTP/1.0 keep-alive, close", NULL,
	  R10 "Connection: keep-alive, close\r\n\r\n", OK, NONE, 0, false },
	{ "HTTP/1.0 CL", NULL, R10 "Content-Length: 3\r\n\r\n", OK, LENGTH, 3,
	  false },
	{ "HTTP/1.1 close", NULL, R11 "Connection: close\r\n\r\n", OK, NONE, 0,
	  false },
	{ "HTTP/1.1 close in second field", NULL,
	  R11 "Connection: upgrade\r\nConnection: te, close\r\n\r\n", OK, NONE,
	  0, false },
	{ "HTTP/1.1 other option", NULL, R11 "Connection: upgrade\r\n\r\n", OK,
	  NONE, 0, true },
};

static const struct framing_case resp_framing_cases[] = {
	{ "Content-Length", "GET",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", OK, LENGTH, 5, true },
	{ "HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", OK,
	  NONE, 0, true },
	{ "HEAD chunked", "HEAD",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OK, NONE, 0,
	  true },
	{ "head is not HEAD", "head",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", OK, LENGTH, 5, true },
	{ "100", "GET", "HTTP/1.1 100 Continue\r\n\r\n", OK, NONE, 0, true },
	{ "101", "GET", "HTTP/1.1 101 Switching Protocols\r\n\r\n", OK, NONE, 0,
	  true },
	{ "204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", OK, NONE, 0, true },
	{ "304 with CL", "GET",
	  "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", OK, NONE,
	  0, true },
	{ "CONNECT 200", "CONNECT",
	  "HTTP/1.1 200 Connection established\r\n\r\n", OK, NONE, 0, false },
	{ "CONNECT 200 fields ignored", "CONNECT",
	  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
	  "Transfer-Encoding: gzip\r\n\r\n",
	  OK, NONE, 0, false },
	{ "CONNECT 407", "CONNECT",
	  "HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\n", OK, LENGTH, 4,
	  true },
	{ "chunked", "GET",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OK, CHUNKED,
	  0, true },
	{ "gzip, chunked", "POST",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", OK,
	  CHUNKED, 0, true },
	{ "TE not chunked: until close", "GET",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", OK, CLOSE, 0,
	  false },
	{ "TE chunked, gzip", "GET",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ERROR,
	  NONE, 0, false },
	{ "no length: until close", "GET", "HTTP/1.1 200 OK\r\n\r\n", OK, CLOSE,
	  0, false },
	{ "CL and TE", "GET",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	  "5\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "CL and TE on 204", "GET",
	  "HTTP/1.1 204 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	  "5\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "differing CL", "GET",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "equal CL", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
	  OK, LENGTH, 5, true },
	{ "invalid CL", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5.0\r\n\r\n",
	  ERROR, NONE, 0, false },
	{ "HTTP/1.0 CL", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n",
	  OK, LENGTH, 5, false },
	{ "HTTP/1.0 CL keep-alive", "GET",
	  "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: "
	  "keep-alive\r\n\r\n",
	  OK, LENGTH, 5, true },
	{ "HTTP/1.0 keep-alive until close", "GET",
	  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", OK, CLOSE, 0,
	  false },
	{ "HTTP/1.0 TE", "GET",
	  "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ERROR, NONE,
	  0, false },
	{ "HTTP/1.1 close", "GET",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
	  OK, LENGTH, 5, false },
};

static void
test_framing(const struct framing_case *cases, size_t n, bool response)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct framing_case *c = &cases[i];
		struct http_framing        f;
		struct http_span           method;
		const char                *why = NULL;
		enum parse_result          r;
		bool                       pass;

		method.p = c->method;
		method.len = c->method ? strlen(c->method) : 0;
		if (response)
			r = http_parse_response((const uint8_t *)c->in,
			                        strlen(c->in), &head, &why);
		else
			r = http_parse_request((const uint8_t *)c->in,
			                       strlen(c->in), &head, &why);
		if (r == OK && response)
			r = http_response_framing(&head, method, &f, &why);
		else if (r == OK)
			r = http_request_framing(&head, &f, &why);
		pass = r == c->result;
		if (pass && r == OK)
			pass = f.body == c->body &&
			       f.content_length == c->length &&
			       f.keep_alive == c->keep_alive;
		ok(pass, "%s framing: %s%s%s",
		   response ? "response" : "request", c->name,
		   r == ERROR ? ": " : "", r == ERROR ? why : "");
	}
}

/*
 * Chunked decoder
 */

struct chunk_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	const char       *data;     /* decoded, for OK and AGAIN */
	size_t            consumed; /* for OK; AGAIN consumes all */
};

#define ALL ((size_t)-1)

static const struct chunk_case chunk_cases[] = {
	{ "simple", S("5\r\nhello\r\n0\r\n\r\n"), OK, "hello", ALL },
	{ "two chunks", S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), OK,
	  "hello world", ALL },
	{ "hex sizes", S("a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n"),
	  OK, "0123456789abcdefghijk", ALL },
	{ "only last chunk", S("0\r\n\r\n"), OK, "", ALL },
	{ "last chunk 000", S("000\r\n\r\n"), OK, "", ALL },
	{ "16 digits", S("0000000000000005\r\nhello\r\n0\r\n\r\n"), OK, "hello",
	  ALL },
	{ "extension", S("5;name=value\r\nhello\r\n0\r\n\r\n"), OK, "hello",
	  ALL },
	{ "extensions", S("5;a=\"b c\";d\r\nhello\r\n0;x=y\r\n\r\n"), OK,
	  "hello", ALL },
	{ "BWS before extension", S("5 \t;a\r\nhello\r\n0\r\n\r\n"), OK,
	  "hello", ALL },
	{ "trailers", S("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n"), OK,
	  "hello", ALL },
	{ "CRLF in data", S("4\r\n\r\n\r\n\r\n0\r\n\r\n"), OK, "\r\n\r\n",
	  ALL },
	{ "next message not consumed",
	  S("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), OK, "hello", 15 },
	{ "next chunked body not consumed", S("1\r\na\r\n0\r\n\r\n0\r\n\r\n"),
	  OK, "a", 11 },
	{ "empty", S(""), AGAIN, "", ALL },
	{ "in data", S("5\r\nhel"), AGAIN, "hel", ALL },
	{ "before final LF", S("5\r\nhello\r\n0\r\n\r"), AGAIN, "hello", ALL },
	{ "in trailer", S("0\r\nX: y"), AGAIN, "", ALL },
	{ "huge chunk", S("FFFFFFFFFFFFFFFF\r\nab"), AGAIN, "ab", ALL },
	{ "17 digits", S("00000000000000005\r\nhello\r\n0\r\n\r\n"), ERROR,
	  NULL, 0 },
	{ "not hex", S("g\r\nx\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "empty size line", S("\r\nx\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "size then junk", S("5x\r\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "0x prefix", S("0x5\r\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "negative", S("-5\r\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "space before size", S(" 5\r\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "space after size", S("5 \r\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "bare LF after size", S("5\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "bare CR after size", S("5\rhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "LF in extension", S("5;a\nhello\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "CTL in extension", S("5;a\x01\r\nhello\r\n0\r\n\r\n"), ERROR, NULL,
	  0 },
	{ "NUL in extension", S("5;a\0\r\nhello\r\n0\r\n\r\n"), ERROR, NULL,
	  0 },
	{ "data too long", S("5\r\nhelloX\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "data too short", S("5\r\nhell\r\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "bare LF after data", S("5\r\nhello\n0\r\n\r\n"), ERROR, NULL, 0 },
	{ "bare CR after data", S("5\r\nhello\r0\r\n\r\n"), ERROR, NULL, 0 },
	{ "bare LF at end", S("5\r\nhello\r\n0\r\n\n"), ERROR, NULL, 0 },
	{ "trailer obs-fold", S("0\r\nX: a\r\n b\r\n\r\n"), ERROR, NULL, 0 },
	{ "trailer SP before colon", S("0\r\nX : a\r\n\r\n"), ERROR, NULL, 0 },
	{ "trailer without colon", S("0\r\nX\r\n\r\n"), ERROR, NULL, 0 },
	{ "trailer empty name", S("0\r\n: a\r\n\r\n"), ERROR, NULL, 0 },
	{ "trailer bare LF", S("0\r\nX: a\n\r\n"), ERROR, NULL, 0 },
	{ "trailer bare CR", S("0\r\nX: a\rb\r\n\r\n"), ERROR, NULL, 0 },
	{ "trailer NUL", S("0\r\nX: a\0\r\n\r\n"), ERROR, NULL, 0 },
};

struct decoded {
	enum parse_result r;
	char              data[256];
	size_t            data_len;
	size_t            consumed;
	bool              sane; /* spans inside the input, progress made */
};

/*
 * Decodes in[0..len) offered in growing prefixes: split bytes first, then
 * all of it, or one more byte each time.  Data runs are appended to d.
 */
static void
decode(const char *in, size_t len, size_t split, bool bytewise,
       struct decoded *d)
{
	struct http_chunked ch;
	size_t              off = 0, avail = bytewise ? 1 : split;
	const char         *why;

	http_chunked_init(&ch);
	memset(d, 0, sizeof(*d));
	d->sane = true;
	for (;;) {
		size_t used, doff, dlen;

		avail = avail < len ? avail : len;
		d->r = http_chunked_parse(&ch, (const uint8_t *)in + off,
		                          avail - off, &used, &doff, &dlen,
		                          &why);
		if (used > avail - off || (dlen > 0 && doff + dlen != used) ||
		    dlen > sizeof(d->data) - d->data_len ||
		    (d->r == AGAIN && used == 0 && off < avail)) {
			d->sane = false;
			return;
		}
		memcpy(d->data + d->data_len, in + off + doff, dlen);
		d->data_len += dlen;
		off += used;
		d->consumed = off;
		if (d->r != AGAIN || (off == avail && avail == len))
			return;
		if (off == avail)
			avail = bytewise ? avail + 1 : len;
	}
}

static bool
decoded_as(const struct decoded *d, const struct chunk_case *c)
{
	size_t consumed = c->consumed == ALL ? c->len : c->consumed;

	if (!d->sane || d->r != c->result)
		return false;
	if (d->r == ERROR)
		return true;
	return d->data_len == strlen(c->data) &&
	       memcmp(d->data, c->data, d->data_len) == 0 &&
	       d->consumed == consumed;
}

static void
test_chunked(void)
{
	struct decoded d;
	size_t         i, k;

	for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
		const struct chunk_case *c = &chunk_cases[i];
		bool                     splits_agree = true;

		decode(c->in, c->len, c->len, false, &d);
		ok(decoded_as(&d, c), "chunked: %s", c->name);
		decode(c->in, c->len, 0, true, &d);
		ok(decoded_as(&d, c), "chunked: %s: byte by byte", c->name);
		for (k = 0; k <= c->len; k++) {
			decode(c->in, c->len, k, false, &d);
			if (!decoded_as(&d, c))
				splits_agree = false;
		}
		ok(splits_agree, "chunked: %s: split in two everywhere",
		   c->name);
	}
}

/* The first call stops after the first data run; later calls resume. */
static void
test_chunked_steps(void)
{
	static const char   in[] = "5\r\nhello\r\n0\r\n\r\nNEXT";
	const uint8_t      *p = (const uint8_t *)in;
	struct http_chunked ch = { 0 };
	size_t              used, off, len;
	const char         *why = NULL;
	enum parse_result   r;

	r = http_chunked_parse(&ch, p, sizeof(in) - 1, &used, &off, &len, &why);
	ok(r == AGAIN && used == 8 && off == 3 && len == 5,
	   "chunked steps: framing, then one data run");
	r = http_chunked_parse(&ch, p + 8, sizeof(in) - 9, &used, &off, &len,
	                       &why);
	ok(r == OK && used == 7 && len == 0, "chunked steps: end, NEXT left");
	r = http_chunked_parse(&ch, p + 15, 4, &used, &off, &len, &why);
	ok(r == OK && used == 0, "chunked steps: done stays done");
	http_chunked_init(&ch);
	r = http_chunked_parse(&ch, (const uint8_t *)"x", 1, &used, &off, &len,
	                       &why);
	ok(r == ERROR && why != NULL, "chunked steps: error: %s", why);
	why = NULL;
	r = http_chunked_parse(&ch, p, sizeof(in) - 1, &used, &off, &len, &why);
	ok(r == ERROR && why != NULL && used == 0,
	   "chunked steps: error stays error");
}

/* A body whose size line, or trailer section, is n bytes long. */
static size_t
long_body(char *buf, size_t size, size_t n, bool trailer)
{
	size_t len;

	if (n + 32 > size)
		return 0;
	if (trailer) {
		/* "X: " + value + CRLF is n bytes */
		len = (size_t)snprintf(buf, size, "1\r\nz\r\n0\r\nX: ");
		memset(buf + len, 'v', n - 5);
		len += n - 5;
		len += (size_t)snprintf(buf + len, size - len, "\r\n\r\n");
	} else {
		len = (size_t)snprintf(buf, size, "1;");
		memset(buf + len, 'e', n - 2);
		len += n - 2;
		len += (size_t)snprintf(buf + len, size - len,
		                        "\r\nz\r\n0\r\n\r\n");
	}
	return len;
}

static void
test_chunked_limits(void)
{
	static char       buf[16384];
	struct chunk_case c = { NULL, buf, 0, OK, "z", ALL };
	struct decoded    d;
	size_t            k;
	bool              all = true;

	c.len = long_body(buf, sizeof(buf), HTTP_CHUNK_LINE_MAX, false);
	decode(c.in, c.len, c.len, false, &d);
	ok(decoded_as(&d, &c), "chunked: size line of %d bytes",
	   HTTP_CHUNK_LINE_MAX);
	c.len = long_body(buf, sizeof(buf), HTTP_CHUNK_LINE_MAX + 1, false);
	c.result = ERROR;
	decode(c.in, c.len, 0, true, &d);
	ok(decoded_as(&d, &c), "chunked: size line of %d bytes",
	   HTTP_CHUNK_LINE_MAX + 1);
	c.len = long_body(buf, sizeof(buf), HTTP_TRAILER_MAX, true);
	c.result = OK;
	decode(c.in, c.len, 0, true, &d);
	ok(decoded_as(&d, &c), "chunked: trailer section of %d bytes",
	   HTTP_TRAILER_MAX);
	c.len = long_body(buf, sizeof(buf), HTTP_TRAILER_MAX + 1, true);
	c.result = ERROR;
	for (k = 0; k < c.len; k += 997) {
		decode(c.in, c.len, k, false, &d);
		if (!decoded_as(&d, &c))
			all = false;
	}
	ok(all, "chunked: trailer section of %d bytes, in two parts",
	   HTTP_TRAILER_MAX + 1);
}

int
main(void)
{
	test_find_end();
	test_find_end_no_rescan();
	test_parse_request();
	test_max_headers();
	test_parse_response();
	test_has_token();
	test_framing(req_framing_cases,
	             sizeof(req_framing_cases) / sizeof(req_framing_cases[0]),
	             false);
	test_framing(resp_framing_cases,
	             sizeof(resp_framing_cases) / sizeof(resp_framing_cases[0]),
	             true);
	test_chunked();
	test_chunked_steps();
	test_chunked_limits();
	return tap_done();
}
