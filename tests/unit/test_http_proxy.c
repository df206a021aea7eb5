/* Unit tests for http_proxy: targets, head rewriting, error pages. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "errpage.h"
#include "http_parse.h"
#include "http_proxy.h"
#include "tap.h"

static int
parse(const char *text, struct http_head *h)
{
	const char *why = NULL;

	return http_parse_request((const uint8_t *)text, strlen(text), h,
	                          &why) == PARSE_OK
	               ? 0
	               : -1;
}

struct target_case {
	const char *name;
	const char *request;
	int         rc;
	const char *host;
	unsigned    port;
	const char *path;
};

static const struct target_case targets[] = {
	{ "absolute URL", "GET http://Example.COM/a?b HTTP/1.1\r\nHost: x\r\n\r\n",
	  0, "example.com", 80, "/a?b" },
	{ "port", "GET http://example.com:8080/ HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "example.com", 8080, "/" },
	{ "no path", "GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "example.com", 80, "" },
	{ "query without path",
	  "GET http://example.com?q HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "example.com", 80, "?q" },
	{ "IPv6 literal", "GET http://[2001:DB8::1]:81/ HTTP/1.1\r\nHost: x\r\n\r\n",
	  0, "2001:db8::1", 81, "/" },
	{ "trailing dot", "GET http://example.com./ HTTP/1.1\r\nHost: x\r\n\r\n",
	  0, "example.com", 80, "/" },
	{ "scheme case", "GET HTTP://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "example.com", 80, "/" },
	{ "userinfo", "GET http://u:p@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
	  -1, NULL, 0, NULL },
	{ "origin-form", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL, 0, NULL },
	{ "https scheme", "GET https://x/ HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL,
	  0, NULL },
	{ "port zero", "GET http://x:0/ HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL, 0,
	  NULL },
	{ "port too big", "GET http://x:65536/ HTTP/1.1\r\nHost: x\r\n\r\n", -1,
	  NULL, 0, NULL },
	{ "empty host", "GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL, 0,
	  NULL },
	{ "bad IPv6", "GET http://[zz]/ HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL, 0,
	  NULL },
	{ "fragment", "GET http://x/#f HTTP/1.1\r\nHost: x\r\n\r\n", -1, NULL, 0,
	  NULL },
	{ "CONNECT", "CONNECT Example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "example.com", 443, "" },
	{ "CONNECT IPv6", "CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  "::1", 443, "" },
	{ "CONNECT without port", "CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n", -1,
	  NULL, 0, NULL },
};

static void
test_targets(void)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target_case *tc = &targets[i];
		struct http_head          h;
		struct http_target        t;
		const char               *why = NULL;
		int                       rc;

		if (parse(tc->request, &h) < 0) {
			/* The head parser may already refuse it: fine if expected. */
			ok(tc->rc < 0, "%s: refused by the head parser", tc->name);
			continue;
		}
		rc = http_proxy_parse_target(
		        &h, http_span_eq(h.method, "CONNECT"), &t, &why);
		ok(rc == tc->rc, "%s: result %d", tc->name, rc);
		if (rc != 0 || tc->rc != 0)
			continue;
		ok(strcmp(t.host, tc->host) == 0 && t.port == tc->port &&
		           t.path.len == strlen(tc->path) &&
		           (t.path.len == 0 ||
		            memcmp(t.path.p, tc->path, t.path.len) == 0),
		   "%s: host %s port %u", tc->name, t.host, (unsigned)t.port);
	}
}

/* Requests to an intercepting port: origin-form with Host. */
static void
test_intercepted(void)
{
	static const struct {
		const char *request, *host, *path;
		uint16_t    port;
		int         rc;
	} cases[] = {
		{ "GET /a?b HTTP/1.1\r\nHost: Example.ORG\r\n\r\n",
		  "example.org", "/a?b", 80, 0 },
		{ "GET / HTTP/1.1\r\nHost: example.org:8080\r\n\r\n",
		  "example.org", "/", 8080, 0 },
		{ "GET / HTTP/1.1\r\nHost: [2001:db8::1]:81\r\n\r\n",
		  "2001:db8::1", "/", 81, 0 },
		{ "GET http://a.example/x HTTP/1.1\r\nHost: b\r\n\r\n",
		  "a.example", "/x", 80, 0 },
		{ "GET / HTTP/1.0\r\n\r\n", NULL, NULL, 0, -1 },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", NULL, NULL, 0, -1 },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", NULL, NULL, 0, -1 },
		{ "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", NULL, NULL, 0, -1 },
		{ "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", NULL, NULL, 0, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_head   h;
		struct http_target t;
		const char        *why = NULL;
		int                rc;

		if (parse(cases[i].request, &h) < 0) {
			ok(cases[i].rc < 0, "intercepted %zu: refused by the head "
			                    "parser", i);
			continue;
		}
		rc = http_proxy_parse_intercepted(&h, &t, &why);
		ok(rc == cases[i].rc && (rc == 0 || why != NULL),
		   "intercepted %zu: result %d", i, rc);
		if (rc != 0 || cases[i].rc != 0)
			continue;
		ok(strcmp(t.host, cases[i].host) == 0 && t.port == cases[i].port &&
		           t.path.len == strlen(cases[i].path) &&
		           memcmp(t.path.p, cases[i].path, t.path.len) == 0,
		   "intercepted %zu: %s port %u", i, t.host, (unsigned)t.port);
	}
}

static void
test_request_head(void)
{
	static const char req[] =
	        "OPTIONS http://example.com:8080/p HTTP/1.1\r\n"
	        "Host: wrong\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
	        "Keep-Alive: 1\r\nTE: trailers\r\nUpgrade: h2c\r\n"
	        "Proxy-Authorization: Basic x\r\nProxy-Connection: x\r\n"
	        "Via: 1.0 a\r\nX-Forwarded-For: 192.0.2.1\r\n"
	        "Max-Forwards: 5\r\nX-End: kept\r\n\r\n";
	static const char want[] =
	        "OPTIONS /p HTTP/1.1\r\nHost: example.com:8080\r\n"
	        "Max-Forwards: 4\r\nX-End: kept\r\n"
	        "Via: 1.0 a, 1.1 proxy (bascule/0)\r\n"
	        "X-Forwarded-For: 192.0.2.1, 127.0.0.1\r\n\r\n";
	struct http_head    h;
	struct http_target  t;
	struct http_rewrite rw = { .via = "1.1 proxy (bascule/0)",
		                   .client_ip = "127.0.0.1" };
	struct buf         *out = buf_new(4096);
	const char         *why = NULL;

	ok(parse(req, &h) == 0 && http_proxy_parse_target(&h, false, &t, &why) == 0,
	   "rewrite: request parses");
	ok(http_proxy_request_head(&h, &t, &rw, out) == 0, "rewrite: fits");
	ok(buf_len(out) == strlen(want) &&
	           memcmp(buf_data(out), want, strlen(want)) == 0,
	   "rewrite: hop-by-hop removed, Host, Via, XFF, Max-Forwards");
	if (buf_len(out) != strlen(want) ||
	    memcmp(buf_data(out), want, strlen(want)) != 0)
		printf("# got:\n# %.*s\n", (int)buf_len(out), buf_data(out));
	ok(http_proxy_max_forwards(&h) == 5, "Max-Forwards read");
	buf_free(out);

	out = buf_new(16);
	ok(http_proxy_request_head(&h, &t, &rw, out) < 0,
	   "rewrite: too small a buffer fails");
	buf_free(out);
}

/* The heads for a parent proxy: absolute-form, CONNECT, credentials. */
static void
test_parent_heads(void)
{
	static const char req[] =
	        "GET http://[2001:db8::1]:8080/p?q HTTP/1.1\r\n"
	        "Host: [2001:db8::1]:8080\r\nProxy-Authorization: Basic c\r\n"
	        "Accept: */*\r\n\r\n";
	static const char want_abs[] =
	        "GET http://[2001:db8::1]:8080/p?q HTTP/1.1\r\n"
	        "Host: [2001:db8::1]:8080\r\nAccept: */*\r\n\r\n";
	static const char want_auth[] =
	        "GET http://[2001:db8::1]:8080/p?q HTTP/1.1\r\n"
	        "Host: [2001:db8::1]:8080\r\nAccept: */*\r\n"
	        "Proxy-Authorization: Basic YQ==\r\n\r\n";
	static const char want_connect[] =
	        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
	        "Via: 1.1 proxy (bascule/0)\r\n"
	        "Proxy-Authorization: Basic YQ==\r\n\r\n";
	static const char want_connect6[] =
	        "CONNECT [2001:db8::1]:80 HTTP/1.1\r\n"
	        "Host: [2001:db8::1]:80\r\n\r\n";
	struct http_head    h;
	struct http_target  t;
	struct http_rewrite rw = { .absolute = true };
	struct buf         *out = buf_new(4096), *auth = buf_new(4096);
	const char         *why = NULL;

	ok(parse(req, &h) == 0 && http_proxy_parse_target(&h, false, &t, &why) == 0,
	   "parent: request parses");
	ok(http_proxy_request_head(&h, &t, &rw, out) == 0 &&
	           buf_len(out) == strlen(want_abs) &&
	           memcmp(buf_data(out), want_abs, strlen(want_abs)) == 0,
	   "absolute-form for a parent, the client's credentials dropped");
	ok(http_proxy_add_proxy_auth(out, "Basic YQ==", auth) == 0 &&
	           buf_len(auth) == strlen(want_auth) &&
	           memcmp(buf_data(auth), want_auth, strlen(want_auth)) == 0,
	   "Proxy-Authorization added before the blank line");
	buf_free(auth);
	auth = buf_new(strlen(want_abs) + 8);
	ok(http_proxy_add_proxy_auth(out, "Basic YQ==", auth) < 0,
	   "Proxy-Authorization: too small a buffer fails");
	buf_free(auth);

	memset(&t, 0, sizeof(t));
	strcpy(t.host, "example.com");
	t.port = 443;
	buf_free(out);
	out = buf_new(4096);
	ok(http_proxy_connect_head(&t, "1.1 proxy (bascule/0)", "Basic YQ==",
	                           out) == 0 &&
	           buf_len(out) == strlen(want_connect) &&
	           memcmp(buf_data(out), want_connect, strlen(want_connect)) ==
	                   0,
	   "CONNECT for a parent: authority-form, Via, credentials");
	strcpy(t.host, "2001:db8::1");
	t.is_ipv6 = true;
	t.port = 80;
	buf_free(out);
	out = buf_new(4096);
	ok(http_proxy_connect_head(&t, NULL, NULL, out) == 0 &&
	           buf_len(out) == strlen(want_connect6) &&
	           memcmp(buf_data(out), want_connect6,
	                  strlen(want_connect6)) == 0,
	   "CONNECT to an IPv6 literal: brackets, port always written");
	buf_free(out);
}

static void
test_response_head(void)
{
	static const char resp[] =
	        "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
	        "Transfer-Encoding: chunked\r\nKeep-Alive: 5\r\n"
	        "Content-Type: text/plain\r\n\r\n";
	struct http_head    h;
	struct http_rewrite rw = { .via = "1.1 p", .close = true };
	struct buf         *out = buf_new(4096);
	const char         *why = NULL;
	const char         *s;

	ok(http_parse_response((const uint8_t *)resp, strlen(resp), &h, &why) ==
	           PARSE_OK,
	   "response parses");
	ok(http_proxy_response_head(&h, 0, true, &rw, out) == 0,
	   "response rewrite fits");
	buf_append(out, "", 1);
	s = (const char *)buf_data(out);
	ok(strstr(s, "Transfer-Encoding") == NULL, "dechunked: no TE");
	ok(strstr(s, "X-Hop") == NULL && strstr(s, "Keep-Alive") == NULL,
	   "hop-by-hop removed");
	ok(strstr(s, "Connection: close\r\n") != NULL, "close announced");
	ok(strstr(s, "Via: 1.1 p\r\n") != NULL, "Via added");
	ok(strstr(s, "Content-Type: text/plain\r\n") != NULL, "end-to-end kept");
	buf_free(out);
}

/* Regression: "Connection: Content-Length" must not strip the framing. */
static void
test_connection_names_framing(void)
{
	static const char req[] =
	        "POST http://o/a HTTP/1.1\r\nHost: o\r\n"
	        "Connection: Content-Length, Transfer-Encoding, Host, X-Hop\r\n"
	        "Content-Length: 5\r\nX-Hop: 1\r\n\r\n";
	static const char resp[] =
	        "HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n";
	struct http_head    h;
	struct http_target  t;
	struct http_rewrite rw = { 0 };
	struct buf         *out = buf_new(4096);
	const char         *why = NULL, *text;

	ok(parse(req, &h) == 0 && http_proxy_parse_target(&h, false, &t, &why) == 0,
	   "framing: request parses");
	ok(http_proxy_request_head(&h, &t, &rw, out) == 0, "framing: rewritten");
	buf_append(out, "", 1);
	text = (const char *)buf_data(out);
	ok(strstr(text, "Content-Length: 5\r\n") != NULL,
	   "Content-Length kept although Connection names it");
	ok(strstr(text, "X-Hop") == NULL, "other named fields still removed");
	buf_reset(out);
	ok(http_parse_response((const uint8_t *)resp, strlen(resp), &h, &why) ==
	           PARSE_OK &&
	           http_proxy_response_head(&h, 1, false, &rw, out) == 0,
	   "framing: response rewritten");
	buf_append(out, "", 1);
	ok(strstr((const char *)buf_data(out), "Transfer-Encoding: chunked") !=
	           NULL,
	   "Transfer-Encoding kept although Connection names it");
	buf_free(out);
}

static void
test_error_page(void)
{
	struct buf *out = buf_new(8192);
	const char *s;

	ok(http_proxy_error(out, errpage_default(), 403, "ERR_ACCESS_DENIED", "<script>",
	                    "http://x/<b>", "proxy") == 0,
	   "error page fits");
	buf_append(out, "", 1);
	s = (const char *)buf_data(out);
	ok(strncmp(s, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "status line");
	ok(strstr(s, "X-Bascule-Error: ERR_ACCESS_DENIED\r\n") != NULL,
	   "error code field");
	ok(strstr(s, "<script>") == NULL && strstr(s, "&lt;script&gt;") != NULL,
	   "reason is HTML-escaped");
	ok(strstr(s, "&lt;b&gt;") != NULL, "URL is HTML-escaped");
	ok(strstr(s, "Content-Language: en\r\n") != NULL, "Content-Language");
	buf_free(out);
	out = buf_new(64);
	ok(http_proxy_error(out, errpage_default(), 500, "X", "y", NULL, "p") < 0,
	   "too small a buffer fails");
	buf_free(out);

	/* 407: RFC 9110 11.7.1, the realm a quoted-string (5.6.4) */
	out = buf_new(8192);
	ok(http_proxy_error_challenge(
	           out, errpage_default(), 407, "ERR_CACHE_ACCESS_DENIED",
	           "log in", "http://x/", "proxy", "Our \"lab\" \\ proxy") == 0,
	   "407 fits");
	buf_append(out, "", 1);
	s = (const char *)buf_data(out);
	ok(strncmp(s, "HTTP/1.1 407 Proxy Authentication Required\r\n", 44) ==
	           0,
	   "407 status line");
	ok(strstr(s, "\r\nProxy-Authenticate: Basic realm=\"Our \\\"lab\\\" "
	             "\\\\ proxy\"\r\n") != NULL,
	   "Proxy-Authenticate: Basic, the realm's quote and backslash "
	   "escaped");
	ok(strstr(s, "\r\nConnection: close\r\n\r\n") != NULL &&
	           strstr(s, "ERR_CACHE_ACCESS_DENIED") != NULL,
	   "the rest of the error response");
	buf_free(out);
	out = buf_new(8192);
	ok(http_proxy_error_challenge(out, errpage_default(), 403,
	                              "ERR_ACCESS_DENIED", "r", NULL, "p",
	                              NULL) == 0 &&
	           buf_append(out, "", 1) == 0 &&
	           strstr((const char *)buf_data(out), "Proxy-Authenticate") ==
	                   NULL,
	   "no realm: no challenge");
	buf_free(out);
}

int
main(void)
{
	test_targets();
	test_intercepted();
	test_request_head();
	test_parent_heads();
	test_response_head();
	test_connection_names_framing();
	test_error_page();
	return tap_done();
}
