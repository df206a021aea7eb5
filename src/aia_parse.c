/*
 * aia_parse: caIssuers URLs, the request, the response and the
 * certificates it carries (see aia_parse.h).  Pure: GnuTLS decodes the
 * certificates, nothing here reads a socket or logs.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509-ext.h>
#include <gnutls/x509.h>

#include "aia_parse.h"
#include "hostname.h"
#include "http_parse.h"
#include "parse.h"

/* ------------------------------------------------------------------ */
/* The URL in a certificate */

static bool
is_http(const unsigned char *p, size_t len)
{
	return len >= 7 && strncasecmp((const char *)p, "http://", 7) == 0;
}

bool
aia_crt_issuer_url(gnutls_x509_crt_t crt, char *out, size_t outsz)
{
	gnutls_datum_t    ext = { NULL, 0 }, oid, san;
	gnutls_x509_aia_t aia = NULL;
	unsigned          critical, type;
	bool              found = false, http = false;

	if (outsz > 0)
		out[0] = '\0';
	if (outsz == 0 || gnutls_x509_crt_get_extension_by_oid2(
	                          crt, GNUTLS_OID_AIA, 0, &ext, &critical) < 0)
		return false;
	if (gnutls_x509_aia_init(&aia) < 0 ||
	    gnutls_x509_ext_import_aia(&ext, aia, 0) < 0)
		goto out;
	/* oid and san belong to aia: not freed here */
	for (unsigned seq = 0;
	     !http && gnutls_x509_aia_get(aia, seq, &oid, &type, &san) >= 0;
	     seq++) {
		if (type != GNUTLS_SAN_URI || oid.data == NULL ||
		    oid.size != strlen(GNUTLS_OID_AD_CAISSUERS) ||
		    memcmp(oid.data, GNUTLS_OID_AD_CAISSUERS, oid.size) != 0)
			continue;
		if (san.data == NULL || san.size == 0 || san.size >= outsz ||
		    memchr(san.data, '\0', san.size) != NULL)
			continue;
		if (found && !is_http(san.data, san.size))
			continue;
		memcpy(out, san.data, san.size);
		out[san.size] = '\0';
		found = true;
		http = is_http(san.data, san.size);
	}
out:
	if (aia != NULL)
		gnutls_x509_aia_deinit(aia);
	gnutls_free(ext.data);
	return found;
}

/* ------------------------------------------------------------------ */
/* The URL */

int
aia_url_parse(const char *url, struct aia_url *out, const char **why)
{
	const char *p, *auth, *host, *end, *rest;
	size_t      len = strlen(url), hlen;
	const char *hwhy = NULL;
	unsigned    port = 80;

	memset(out, 0, sizeof(*out));
	if (len >= AIA_URL_MAX) {
		*why = "URL too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			*why = "URL with a space or a control character";
			return -1;
		}
	}
	if (len >= 8 && strncasecmp(url, "https://", 8) == 0) {
		*why = "https is not fetched: it would need the chain it "
		       "completes";
		return -1;
	}
	if (len < 7 || strncasecmp(url, "http://", 7) != 0) {
		*why = "not an http URL";
		return -1;
	}
	auth = url + 7;
	rest = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(rest - auth)) != NULL) {
		*why = "URL with userinfo";
		return -1;
	}
	/* host and port */
	if (*auth == '[') {
		host = auth;
		p = memchr(auth, ']', (size_t)(rest - auth));
		if (p == NULL) {
			*why = "bad IPv6 literal";
			return -1;
		}
		end = p + 1;
	} else {
		host = auth;
		p = memchr(auth, ':', (size_t)(rest - auth));
		end = p != NULL ? p : rest;
	}
	hlen = (size_t)(end - host);
	if (hlen == 0 ||
	    hostname_canonical(host, hlen, out->host, sizeof(out->host),
	                       &hwhy) < 0 ||
	    out->host[0] == '.') {
		*why = "bad host name";
		return -1;
	}
	out->is_ipv6 = strchr(out->host, ':') != NULL;
	if (*auth == '[' && !out->is_ipv6) {
		*why = "bad IPv6 literal";
		return -1;
	}
	if (end < rest) {
		if (*end != ':') {
			*why = "bad port";
			return -1;
		}
		if (end + 1 < rest) { /* "host:" is port 80 (RFC 3986 3.2.3) */
			port = 0;
			for (p = end + 1; p < rest; p++) {
				if (*p < '0' || *p > '9' || p - end > 5) {
					*why = "bad port";
					return -1;
				}
				port = port * 10 + (unsigned)(*p - '0');
			}
		}
		if (port == 0 || port > 65535) {
			*why = "bad port";
			return -1;
		}
	}
	out->port = (uint16_t)port;
	/* path and query, without the fragment */
	len = strcspn(rest, "#");
	if (len == 0 || *rest == '?')
		out->path[0] = '/';
	if (len >= sizeof(out->path) - 1) {
		*why = "URL too long";
		return -1;
	}
	memcpy(out->path + strlen(out->path), rest, len);
	return 0;
}

size_t
aia_request(const struct aia_url *u, const char *product, char *out,
            size_t outsz)
{
	char port[8] = "";
	int  n;

	if (u->port != 80)
		snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
	n = snprintf(out, outsz,
	             "GET %s HTTP/1.1\r\n"
	             "Host: %s%s%s%s\r\n"
	             "Accept: application/pkix-cert, application/pkcs7-mime, "
	             "*/*\r\n"
	             "User-Agent: %s\r\n"
	             "Connection: close\r\n"
	             "\r\n",
	             u->path, u->is_ipv6 ? "[" : "", u->host,
	             u->is_ipv6 ? "]" : "", port, product);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	return (size_t)n;
}

/* ------------------------------------------------------------------ */
/* The response */

static enum parse_result
response_head(struct aia_response *r, const uint8_t *p, size_t len, bool eof,
              const char **why)
{
	static const struct http_span get = { "GET", 3 };
	struct http_head             *h;
	enum parse_result             pr;
	size_t                        head_len = 0;

	pr = http_head_find_end(&r->scan, p,
	                        len < AIA_HEAD_MAX ? len : AIA_HEAD_MAX,
	                        &head_len, why);
	if (pr == PARSE_ERROR)
		return pr;
	if (pr == PARSE_AGAIN) {
		if (len >= AIA_HEAD_MAX)
			return parse_fail(why, "response head too long");
		if (eof)
			return parse_fail(why, "closed before the response "
			                       "head");
		return PARSE_AGAIN;
	}
	/* struct http_head is large: not on a fuzzer's small stack */
	if ((h = malloc(sizeof(*h))) == NULL)
		return parse_fail(why, "out of memory");
	pr = http_parse_response(p, head_len, h, why);
	if (pr == PARSE_OK) {
		r->status = h->status;
		if (h->status != 200)
			pr = parse_fail(why, "status is not 200");
	}
	if (pr == PARSE_OK)
		pr = http_response_framing(h, get, &r->framing, why);
	free(h);
	if (pr != PARSE_OK)
		return pr;
	if (r->framing.body == HTTP_BODY_NONE)
		return parse_fail(why, "response without a body");
	http_chunked_init(&r->chunked);
	r->head_len = head_len;
	r->pos = head_len;
	return PARSE_OK;
}

/* Appends a run of body bytes; PARSE_ERROR past bodysz. */
static enum parse_result
body_add(struct aia_response *r, const uint8_t *p, size_t n, uint8_t *body,
         size_t bodysz, const char **why)
{
	if (n > bodysz - r->body_len)
		return parse_fail(why, "response body too large");
	memcpy(body + r->body_len, p, n);
	r->body_len += n;
	return PARSE_OK;
}

enum parse_result
aia_response_parse(struct aia_response *r, const uint8_t *p, size_t len,
                   bool eof, uint8_t *body, size_t bodysz, const char **why)
{
	enum parse_result pr;
	size_t            n, consumed, off, dlen;

	if (r->head_len == 0 &&
	    (pr = response_head(r, p, len, eof, why)) != PARSE_OK)
		return pr;
	if (len < r->pos)
		return parse_fail(why, "input shrank"); /* the caller's bug */
	switch (r->framing.body) {
	case HTTP_BODY_LENGTH:
		if (r->framing.content_length > bodysz)
			return parse_fail(why, "response body too large");
		n = len - r->pos;
		if (n > r->framing.content_length - r->body_len)
			n = (size_t)r->framing.content_length - r->body_len;
		if (body_add(r, p + r->pos, n, body, bodysz, why) != PARSE_OK)
			return PARSE_ERROR;
		r->pos += n;
		if (r->body_len == r->framing.content_length)
			return PARSE_OK;
		return eof ? parse_fail(why, "response body truncated")
		           : PARSE_AGAIN;
	case HTTP_BODY_CLOSE:
		n = len - r->pos;
		if (body_add(r, p + r->pos, n, body, bodysz, why) != PARSE_OK)
			return PARSE_ERROR;
		r->pos += n;
		return eof ? PARSE_OK : PARSE_AGAIN;
	case HTTP_BODY_CHUNKED:
		while (r->pos < len) {
			pr = http_chunked_parse(&r->chunked, p + r->pos,
			                        len - r->pos, &consumed, &off,
			                        &dlen, why);
			if (pr == PARSE_ERROR)
				return pr;
			if (dlen > 0 && body_add(r, p + r->pos + off, dlen,
			                         body, bodysz, why) != PARSE_OK)
				return PARSE_ERROR;
			r->pos += consumed;
			if (pr == PARSE_OK)
				return PARSE_OK;
			if (consumed == 0 && dlen == 0)
				break;
		}
		return eof ? parse_fail(why, "response body truncated")
		           : PARSE_AGAIN;
	case HTTP_BODY_NONE:
		break;
	}
	return parse_fail(why, "response without a body");
}

/* ------------------------------------------------------------------ */
/* The certificates */

/* Keeps c in out unless it is self-issued or out is full; else frees it. */
static void
certs_keep(gnutls_x509_crt_t c, gnutls_x509_crt_t *out, unsigned max,
           unsigned *n)
{
	if (*n < max && !gnutls_x509_crt_check_issuer(c, c))
		out[(*n)++] = c;
	else
		gnutls_x509_crt_deinit(c);
}

/* The certificates of a PKCS#7 (CMS) structure; a GnuTLS error or 0. */
static int
certs_pkcs7(const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt,
            gnutls_x509_crt_t *out, unsigned max, unsigned *n)
{
	gnutls_pkcs7_t p7;
	int            r, count;

	if ((r = gnutls_pkcs7_init(&p7)) < 0)
		return r;
	if ((r = gnutls_pkcs7_import(p7, d, fmt)) < 0) {
		gnutls_pkcs7_deinit(p7);
		return r;
	}
	count = gnutls_pkcs7_get_crt_count(p7);
	for (int i = 0; i < count && *n < max; i++) {
		gnutls_datum_t    raw = { NULL, 0 };
		gnutls_x509_crt_t c;

		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &raw) < 0)
			continue;
		if (gnutls_x509_crt_init(&c) >= 0) {
			if (gnutls_x509_crt_import(c, &raw,
			                           GNUTLS_X509_FMT_DER) >= 0)
				certs_keep(c, out, max, n);
			else
				gnutls_x509_crt_deinit(c);
		}
		gnutls_free(raw.data);
	}
	gnutls_pkcs7_deinit(p7);
	return 0;
}

/* PEM "CERTIFICATE" blocks, one or more; a GnuTLS error or 0. */
static int
certs_pem(const gnutls_datum_t *d, gnutls_x509_crt_t *out, unsigned max,
          unsigned *n)
{
	gnutls_x509_crt_t *list = NULL;
	unsigned           count = 0;
	int                r;

	r = gnutls_x509_crt_list_import2(&list, &count, d, GNUTLS_X509_FMT_PEM,
	                                 0);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < count; i++)
		certs_keep(list[i], out, max, n);
	gnutls_free(list);
	return 0;
}

int
aia_certs_parse(const uint8_t *p, size_t len, gnutls_x509_crt_t *out,
                unsigned max, const char **why)
{
	gnutls_datum_t    d;
	gnutls_x509_crt_t c;
	unsigned          n = 0;
	uint8_t          *copy;

	if (len == 0 || len > AIA_BODY_MAX) {
		*why = len == 0 ? "empty body" : "body too large";
		return -1;
	}
	/* PEM is text: GnuTLS gets it NUL-terminated, whatever came. */
	if ((copy = malloc(len + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(copy, p, len);
	copy[len] = '\0';
	d.data = copy;
	d.size = (unsigned)len;
	if (memmem(copy, len, "-----BEGIN ", 11) != NULL) {
		if (certs_pem(&d, out, max, &n) < 0)
			(void)certs_pkcs7(&d, GNUTLS_X509_FMT_PEM, out, max,
			                  &n);
	} else if (gnutls_x509_crt_init(&c) >= 0) {
		if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) >= 0) {
			certs_keep(c, out, max, &n);
		} else {
			gnutls_x509_crt_deinit(c);
			(void)certs_pkcs7(&d, GNUTLS_X509_FMT_DER, out, max,
			                  &n);
		}
	}
	free(copy);
	if (n == 0) {
		*why = "no CA certificate in the response (neither DER, PEM "
		       "nor PKCS#7, or only self-issued ones)";
		return -1;
	}
	return (int)n;
}
