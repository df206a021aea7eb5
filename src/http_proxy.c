/*
 * http_proxy: the forward-proxy transformations of HTTP/1.x heads.  Pure:
 * spans in, bytes into a caller's struct buf out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "errpage.h"
#include "hostname.h"
#include "http_parse.h"
#include "http_proxy.h"

/* RFC 9110 7.6.1 and RFC 9112 9.6: fields meaningful to one hop only. */
static const char *const hop_by_hop[] = {
	"Connection", "Proxy-Connection", "Keep-Alive", "TE", "Trailer",
	"Upgrade",    NULL,
};

static bool
span_ieq(struct http_span a, const char *b, size_t blen)
{
	return a.len == blen && strncasecmp(a.p, b, blen) == 0;
}

/* True when some Connection header lists the field name (RFC 9110 7.6.1). */
static bool
connection_lists(const struct http_head *h, struct http_span name)
{
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char               *p = f->value.p, *end = p + f->value.len;

		if (!http_span_eq(f->name, "Connection"))
			continue;
		while (p < end) {
			const char *tok, *comma = memchr(p, ',', (size_t)(end - p));
			const char *stop = comma != NULL ? comma : end;

			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			tok = p;
			while (p < stop && *p != ' ' && *p != '\t')
				p++;
			if (span_ieq(name, tok, (size_t)(p - tok)))
				return true;
			p = comma != NULL ? comma + 1 : end;
		}
	}
	return false;
}

/*
 * Fields that carry the message's framing.  A Connection option naming one
 * of them is never honoured: the framing we parsed and forward by must be
 * the framing the next hop sees, or the two disagree on where the message
 * ends (request smuggling, response queue poisoning).
 */
static const char *const framing_fields[] = {
	"Content-Length", "Transfer-Encoding", "Host", NULL,
};

static bool
is_hop_by_hop(const struct http_head *h, struct http_span name)
{
	for (size_t i = 0; hop_by_hop[i] != NULL; i++)
		if (http_span_eq(name, hop_by_hop[i]))
			return true;
	for (size_t i = 0; framing_fields[i] != NULL; i++)
		if (http_span_eq(name, framing_fields[i]))
			return false;
	return connection_lists(h, name);
}

static int
put(struct buf *out, const void *p, size_t len)
{
	return buf_append(out, p, len);
}

static int
puts_(struct buf *out, const char *s)
{
	return buf_append(out, s, strlen(s));
}

static int
put_span(struct buf *out, struct http_span s)
{
	return buf_append(out, s.p, s.len);
}

static int
put_field(struct buf *out, struct http_span name, struct http_span value)
{
	if (put_span(out, name) < 0 || put(out, ": ", 2) < 0 ||
	    put_span(out, value) < 0 || put(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

/* host[:port], the port left out when it is default_port. */
static int
put_authority(struct buf *out, const struct http_target *t,
              unsigned default_port)
{
	char port[8];
	int  n;

	if ((t->is_ipv6 && put(out, "[", 1) < 0) || puts_(out, t->host) < 0 ||
	    (t->is_ipv6 && put(out, "]", 1) < 0))
		return -1;
	if (t->port == default_port)
		return 0;
	n = snprintf(port, sizeof(port), ":%u", (unsigned)t->port);
	return put(out, port, (size_t)n);
}

/* Parses a decimal port 1..65535 from p[0..len). */
static int
parse_port(const char *p, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* host [":" port] with host a reg-name, IPv4 or "[" IPv6 "]". */
static int
parse_authority(const char *p, size_t len, bool port_required,
                struct http_target *out, const char **why)
{
	const char *host = p, *colon = NULL;
	size_t      hlen;

	if (memchr(p, '@', len) != NULL) {
		*why = "user information in the URL is not allowed";
		return -1;
	}
	out->is_ipv6 = false;
	if (len > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', len);
		char        tmp[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;

		if (close == NULL || (size_t)(close - p - 1) >= sizeof(tmp)) {
			*why = "invalid IPv6 address in the URL";
			return -1;
		}
		hlen = (size_t)(close - p - 1);
		memcpy(tmp, p + 1, hlen);
		tmp[hlen] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1) {
			*why = "invalid IPv6 address in the URL";
			return -1;
		}
		inet_ntop(AF_INET6, &a6, out->host, sizeof(out->host));
		out->is_ipv6 = true;
		if ((size_t)(close - p + 1) < len) {
			if (close[1] != ':') {
				*why = "invalid authority in the URL";
				return -1;
			}
			colon = close + 1;
		}
	} else {
		colon = memchr(p, ':', len);
		hlen = colon != NULL ? (size_t)(colon - p) : len;
		if (hlen == 0) {
			*why = "no host in the URL";
			return -1;
		}
		if (hostname_canonical(host, hlen, out->host, sizeof(out->host),
		                       why) < 0 ||
		    out->host[0] == '.') {
			*why = "invalid host name in the URL";
			return -1;
		}
	}
	if (colon != NULL && (size_t)(p + len - colon - 1) > 0) {
		if (parse_port(colon + 1, (size_t)(p + len - colon - 1),
		               &out->port) < 0) {
			*why = "invalid port in the URL";
			return -1;
		}
	} else if (port_required) {
		*why = "CONNECT needs host:port";
		return -1;
	} else {
		out->port = 80;
	}
	return 0;
}

int
http_proxy_parse_target(const struct http_head *req, bool is_connect,
                        struct http_target *out, const char **why)
{
	const char *p = req->target.p, *end = p + req->target.len, *auth;
	static const char scheme[] = "http://";

	memset(out, 0, sizeof(*out));
	if (is_connect) /* RFC 9112 3.2.3: authority-form */
		return parse_authority(p, req->target.len, true, out, why);
	if (req->target.len > 0 && p[0] == '/') {
		*why = "a proxy needs an absolute URL (http://host/path)";
		return -1;
	}
	if (req->target.len < sizeof(scheme) - 1 ||
	    strncasecmp(p, scheme, sizeof(scheme) - 1) != 0) {
		*why = memchr(p, ':', req->target.len) != NULL
		               ? "unsupported URL scheme"
		               : "invalid URL";
		return -1;
	}
	if (memchr(p, '#', req->target.len) != NULL) {
		*why = "a fragment is not allowed in a request URL";
		return -1;
	}
	auth = p + sizeof(scheme) - 1;
	p = auth;
	while (p < end && *p != '/' && *p != '?')
		p++;
	if (parse_authority(auth, (size_t)(p - auth), false, out, why) < 0)
		return -1;
	out->path.p = p;
	out->path.len = (size_t)(end - p);
	return 0;
}

int
http_proxy_parse_intercepted(const struct http_head *req,
                             struct http_target *out, const char **why)
{
	const struct http_header *host;

	if (req->target.len == 0 || req->target.p[0] != '/')
		return http_proxy_parse_target(req, false, out, why);
	memset(out, 0, sizeof(*out));
	host = http_head_get(req, "Host");
	if (host == NULL || host->value.len == 0) {
		*why = "no Host header: the site is unknown";
		return -1;
	}
	if (parse_authority(host->value.p, host->value.len, false, out, why) < 0)
		return -1;
	out->path = req->target;
	return 0;
}

long
http_proxy_max_forwards(const struct http_head *req)
{
	const struct http_header *h;
	long                      v = 0;

	if (!http_span_eq(req->method, "OPTIONS") &&
	    !http_span_eq(req->method, "TRACE"))
		return -1;
	if ((h = http_head_get(req, "Max-Forwards")) == NULL || h->value.len == 0)
		return -1;
	for (size_t i = 0; i < h->value.len; i++) {
		if (!isdigit((unsigned char)h->value.p[i]))
			return -1;
		if (v > (LONG_MAX - 9) / 10)
			return INT_MAX;
		v = v * 10 + (h->value.p[i] - '0');
	}
	return v > INT_MAX ? INT_MAX : v;
}

/* Writes "Name: old, ours" merging every received field named name. */
static int
put_merged(struct buf *out, const struct http_head *h, const char *name,
           const char *ours)
{
	bool first = true;

	if (puts_(out, name) < 0 || put(out, ": ", 2) < 0)
		return -1;
	for (size_t i = 0; i < h->nheaders; i++) {
		if (!http_span_eq(h->headers[i].name, name))
			continue;
		if ((!first && put(out, ", ", 2) < 0) ||
		    put_span(out, h->headers[i].value) < 0)
			return -1;
		first = false;
	}
	if ((!first && put(out, ", ", 2) < 0) || puts_(out, ours) < 0 ||
	    put(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int
http_proxy_request_head(const struct http_head *req,
                        const struct http_target *t,
                        const struct http_rewrite *rw, struct buf *out)
{
	long mf = http_proxy_max_forwards(req);
	char line[64];
	int  n;

	/*
	 * Request line in origin-form (RFC 9112 3.2.1), or in absolute-form
	 * for a proxy (3.2.2), whose authority is then the Host's.
	 */
	if (put_span(out, req->method) < 0 || put(out, " ", 1) < 0)
		return -1;
	if (rw->absolute && (puts_(out, "http://") < 0 ||
	                     put_authority(out, t, 80) < 0))
		return -1;
	if ((t->path.len == 0 || t->path.p[0] != '/') && put(out, "/", 1) < 0)
		return -1;
	if (put_span(out, t->path) < 0 || puts_(out, " HTTP/1.1\r\nHost: ") < 0)
		return -1;
	/* RFC 9112 3.2.2: Host is replaced by the target's authority. */
	if (put_authority(out, t, 80) < 0 || put(out, "\r\n", 2) < 0)
		return -1;

	for (size_t i = 0; i < req->nheaders; i++) {
		const struct http_header *f = &req->headers[i];

		if (is_hop_by_hop(req, f->name) || http_span_eq(f->name, "Host") ||
		    http_span_eq(f->name, "Proxy-Authorization"))
			continue;
		if (http_span_eq(f->name, "Via") && rw->via != NULL)
			continue; /* merged below */
		if (http_span_eq(f->name, "X-Forwarded-For") &&
		    (rw->xff_delete || rw->client_ip != NULL))
			continue;
		if (mf > 0 && http_span_eq(f->name, "Max-Forwards")) {
			n = snprintf(line, sizeof(line), "Max-Forwards: %ld\r\n",
			             mf - 1);
			if (put(out, line, (size_t)n) < 0)
				return -1;
			continue;
		}
		if (put_field(out, f->name, f->value) < 0)
			return -1;
	}
	if (rw->via != NULL && put_merged(out, req, "Via", rw->via) < 0)
		return -1;
	if (!rw->xff_delete && rw->client_ip != NULL) {
		struct http_head none;

		none.nheaders = 0;
		if (put_merged(out, rw->xff_replace ? &none : req,
		               "X-Forwarded-For", rw->client_ip) < 0)
			return -1;
	}
	if (rw->close && puts_(out, "Connection: close\r\n") < 0)
		return -1;
	return put(out, "\r\n", 2);
}

int
http_proxy_connect_head(const struct http_target *t, const char *via,
                        const char *proxy_auth, struct buf *out)
{
	/* Port 0 is never a target's: the port is always written. */
	if (puts_(out, "CONNECT ") < 0 || put_authority(out, t, 0) < 0 ||
	    puts_(out, " HTTP/1.1\r\nHost: ") < 0 ||
	    put_authority(out, t, 0) < 0 || put(out, "\r\n", 2) < 0)
		return -1;
	if (via != NULL && (puts_(out, "Via: ") < 0 || puts_(out, via) < 0 ||
	                    put(out, "\r\n", 2) < 0))
		return -1;
	if (proxy_auth != NULL &&
	    (puts_(out, "Proxy-Authorization: ") < 0 ||
	     puts_(out, proxy_auth) < 0 || put(out, "\r\n", 2) < 0))
		return -1;
	return put(out, "\r\n", 2);
}

int
http_proxy_add_proxy_auth(const struct buf *in, const char *value,
                          struct buf *out)
{
	size_t len = buf_len(in);

	if (len < 2)
		return -1;
	/* Before the blank line that ends the head. */
	if (put(out, buf_data(in), len - 2) < 0 ||
	    puts_(out, "Proxy-Authorization: ") < 0 || puts_(out, value) < 0 ||
	    put(out, "\r\n\r\n", 4) < 0)
		return -1;
	return 0;
}

int
http_proxy_response_head(const struct http_head *resp, int client_minor,
                         bool dechunk, const struct http_rewrite *rw,
                         struct buf *out)
{
	char line[32];
	int  n;

	n = snprintf(line, sizeof(line), "HTTP/1.1 %03d ", resp->status);
	if (put(out, line, (size_t)n) < 0 || put_span(out, resp->reason) < 0 ||
	    put(out, "\r\n", 2) < 0)
		return -1;
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct http_header *f = &resp->headers[i];

		if (is_hop_by_hop(resp, f->name))
			continue;
		if (dechunk && http_span_eq(f->name, "Transfer-Encoding"))
			continue;
		if (http_span_eq(f->name, "Via") && rw->via != NULL)
			continue;
		if (put_field(out, f->name, f->value) < 0)
			return -1;
	}
	if (rw->via != NULL && put_merged(out, resp, "Via", rw->via) < 0)
		return -1;
	if (resp->status >= 200) {
		if (rw->close) {
			if (puts_(out, "Connection: close\r\n") < 0)
				return -1;
		} else if (client_minor == 0 &&
		           puts_(out, "Connection: keep-alive\r\n") < 0) {
			return -1;
		}
	}
	return put(out, "\r\n", 2);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Unknown";
	}
}

/*
 * "Proxy-Authenticate: Basic realm=REALM" (RFC 9110 11.7.1, RFC 7617 2)
 * into out; the realm is a quoted-string, '"' and '\\' escaped (RFC 9110
 * 5.6.4).  "" when realm is NULL.  -1 if it does not fit.
 */
static int
challenge_field(const char *realm, char *out, size_t outsz)
{
	static const char start[] = "Proxy-Authenticate: Basic realm=\"";
	size_t            o = sizeof(start) - 1;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (realm == NULL)
		return 0;
	if (outsz <= o)
		return -1;
	memcpy(out, start, o);
	for (; *realm != '\0'; realm++) {
		if (outsz - o < 2 + 4) /* an escape, then "\r\n and NUL */
			return -1;
		if (*realm == '"' || *realm == '\\')
			out[o++] = '\\';
		out[o++] = *realm;
	}
	memcpy(out + o, "\"\r\n", 4);
	return 0;
}

int
http_proxy_error(struct buf *out, const struct errpage_lang *lang, int status,
                 const char *code, const char *reason, const char *url,
                 const char *hostname)
{
	return http_proxy_error_challenge(out, lang, status, code, reason, url,
	                                  hostname, NULL);
}

int
http_proxy_error_challenge(struct buf *out, const struct errpage_lang *lang,
                           int status, const char *code, const char *reason,
                           const char *url, const char *hostname,
                           const char *realm)
{
	char      body[4096], head[1200], date[64], challenge[600];
	time_t    now = time(NULL);
	struct tm tm;
	int       blen, hlen;

	if (challenge_field(realm, challenge, sizeof(challenge)) < 0)
		return -1;
	blen = errpage_render(lang, body, sizeof(body), status, code, reason,
	                      url, hostname);
	if (blen < 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	hlen = snprintf(head, sizeof(head),
	                "HTTP/1.1 %d %s\r\nServer: bascule\r\nDate: %s\r\n"
	                "Content-Type: text/html; charset=utf-8\r\n"
	                "Content-Language: %s\r\n"
	                "Content-Length: %d\r\nCache-Control: no-store\r\n"
	                "X-Bascule-Error: %s\r\n%sConnection: close\r\n\r\n",
	                status, http_status_text(status), date,
	                errpage_tag(lang), blen, code, challenge);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return -1;
	if (put(out, head, (size_t)hlen) < 0 || put(out, body, (size_t)blen) < 0)
		return -1;
	return 0;
}
