/*
 * Fuzz target for http_parse: the input is a head, a chunked body, or both.
 * Checks that every span and count stays inside the input, and that parsing
 * in pieces gives the same answer as parsing in one go.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "errpage.h"
#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_head head;

static void
check_span(struct http_span s, const uint8_t *p, size_t len)
{
	if (s.len == 0)
		return;
	CHECK((const uint8_t *)s.p >= p);
	CHECK(s.len <= len);
	CHECK((size_t)((const uint8_t *)s.p - p) <= len - s.len);
}

/* Accept-Language negotiation for the error pages reads request fields. */
static void
check_languages(const struct http_head *h)
{
	struct errpage_nego        n;
	const struct errpage_lang *l;
	char                       page[4096];

	memset(&n, 0, sizeof(n));
	for (size_t i = 0; i < h->nheaders; i++)
		if (http_span_eq(h->headers[i].name, "accept-language"))
			errpage_nego_feed(&n, h->headers[i].value.p,
			                  h->headers[i].value.len);
	l = errpage_nego_pick(&n);
	CHECK(l != NULL);
	CHECK(errpage_render(l, page, sizeof(page), 400, "ERR_INVALID_REQ",
	                     "reason", "url", "host") > 0);
}

static void
check_head(const struct http_head *h, const uint8_t *p, size_t len)
{
	const struct http_header *host = http_head_get(h, "Host");
	size_t                    i;

	CHECK(h->head_len >= 4 && h->head_len <= len);
	CHECK(memcmp(p + h->head_len - 4, "\r\n\r\n", 4) == 0);
	CHECK(h->version_minor == 0 || h->version_minor == 1);
	CHECK(h->nheaders <= HTTP_MAX_HEADERS);
	check_span(h->method, p, h->head_len);
	check_span(h->target, p, h->head_len);
	check_span(h->reason, p, h->head_len);
	for (i = 0; i < h->nheaders; i++) {
		CHECK(h->headers[i].name.len > 0);
		check_span(h->headers[i].name, p, h->head_len);
		check_span(h->headers[i].value, p, h->head_len);
	}
	CHECK(host == NULL || http_span_eq(host->name, "host"));
	check_languages(h);
}

/* The end of a head in one call, then fed one byte at a time. */
static enum parse_result
find_end(const uint8_t *p, size_t len, size_t *head_len)
{
	struct http_head_scan scan = { 0 };
	enum parse_result     r, r1 = PARSE_AGAIN;
	size_t                n, hl1 = 0;
	const char           *why = NULL;

	r = http_head_find_end(&scan, p, len, head_len, &why);
	CHECK(r != PARSE_ERROR || why != NULL);
	CHECK(r != PARSE_OK || (*head_len >= 4 && *head_len <= len));
	memset(&scan, 0, sizeof(scan));
	for (n = 0; n <= len && r1 == PARSE_AGAIN; n++) {
		r1 = http_head_find_end(&scan, p, n, &hl1, &why);
		CHECK(scan.pos <= n);
	}
	CHECK(r1 == r);
	CHECK(r != PARSE_OK || hl1 == *head_len);
	return r;
}

static void
check_framing(enum parse_result r, const struct http_framing *f,
              const char *why)
{
	CHECK(r == PARSE_OK || r == PARSE_ERROR);
	CHECK(r == PARSE_OK || why != NULL);
	if (r != PARSE_OK)
		return;
	CHECK(f->body <= HTTP_BODY_CLOSE);
	CHECK(f->body == HTTP_BODY_LENGTH || f->content_length == 0);
	CHECK(f->body != HTTP_BODY_CLOSE || !f->keep_alive);
}

static void
fuzz_request(const uint8_t *p, size_t len)
{
	struct http_framing f;
	const char         *why = NULL;
	enum parse_result   r;

	r = http_parse_request(p, len, &head, &why);
	CHECK(r == PARSE_OK || (r == PARSE_ERROR && why != NULL));
	if (r != PARSE_OK)
		return;
	check_head(&head, p, len);
	CHECK(head.method.len > 0 && head.target.len > 0);
	r = http_request_framing(&head, &f, &why);
	check_framing(r, &f, why);
	CHECK(r != PARSE_OK || f.body != HTTP_BODY_CLOSE);
	(void)http_head_has_token(&head, "Connection", "close");
}

static void
fuzz_response(const uint8_t *p, size_t len, uint8_t pick)
{
	static const char *const methods[] = { "GET", "HEAD", "CONNECT",
		                               "POST" };
	struct http_framing      f;
	struct http_span         m;
	const char              *why = NULL;
	enum parse_result        r;

	r = http_parse_response(p, len, &head, &why);
	CHECK(r == PARSE_OK || (r == PARSE_ERROR && why != NULL));
	if (r != PARSE_OK)
		return;
	check_head(&head, p, len);
	CHECK(head.status >= 100 && head.status <= 599);
	m.p = methods[pick % 4];
	m.len = strlen(m.p);
	r = http_response_framing(&head, m, &f, &why);
	check_framing(r, &f, why);
}

struct decoded {
	enum parse_result r;
	uint8_t          *data;
	size_t            data_len;
	size_t            consumed;
};

/* Decodes p[0..len) offered up to split first, then step bytes at a time. */
static void
decode(const uint8_t *p, size_t len, size_t split, size_t step,
       struct decoded *d)
{
	struct http_chunked ch;
	size_t              off = 0, avail = split < len ? split : len;
	size_t              used, doff, dlen;
	const char         *why = NULL;

	http_chunked_init(&ch);
	d->data_len = 0;
	for (;;) {
		d->r = http_chunked_parse(&ch, p + off, avail - off, &used,
		                          &doff, &dlen, &why);
		CHECK(used <= avail - off);
		CHECK(dlen == 0 || (doff < used && dlen == used - doff));
		CHECK(d->r != PARSE_ERROR || why != NULL);
		/* progress: no caller can loop forever on PARSE_AGAIN */
		CHECK(d->r != PARSE_AGAIN || used > 0 || off == avail);
		if (dlen > 0)
			memcpy(d->data + d->data_len, p + off + doff, dlen);
		d->data_len += dlen;
		off += used;
		if (d->r != PARSE_AGAIN || (off == avail && avail == len))
			break;
		if (off == avail)
			avail = len - avail < step ? len : avail + step;
	}
	d->consumed = off;
	CHECK(d->data_len <= d->consumed);
	if (d->r == PARSE_AGAIN)
		return;
	/* the end, or an error, is final */
	CHECK(http_chunked_parse(&ch, p + off, len - off, &used, &doff, &dlen,
	                         &why) == d->r);
	CHECK(used == 0 && dlen == 0);
}

static void
same_decoding(const struct decoded *a, const struct decoded *b)
{
	CHECK(a->r == b->r);
	CHECK(a->data_len == b->data_len);
	CHECK(a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
	if (a->r != PARSE_ERROR)
		CHECK(a->consumed == b->consumed);
}

static void
fuzz_chunked(const uint8_t *p, size_t len, size_t split)
{
	struct decoded whole, parts, bytes;

	whole.data = malloc(len + 1);
	parts.data = malloc(len + 1);
	bytes.data = malloc(len + 1);
	CHECK(whole.data != NULL && parts.data != NULL && bytes.data != NULL);
	decode(p, len, len, len, &whole);
	decode(p, len, split, len, &parts);
	decode(p, len, 0, 1, &bytes);
	same_decoding(&whole, &parts);
	same_decoding(&whole, &bytes);
	CHECK(whole.r != PARSE_AGAIN || whole.consumed == len);
	free(whole.data);
	free(parts.data);
	free(bytes.data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t head_len = 0;
	size_t split = size > 0 ? data[0] % (size + 1) : 0;

	if (find_end(data, size, &head_len) == PARSE_OK) {
		fuzz_request(data, head_len);
		fuzz_response(data, head_len, size > 1 ? data[1] : 0);
		/* what follows a head is often a chunked body */
		fuzz_chunked(data + head_len, size - head_len,
		             split < size - head_len ? split : 0);
	}
	/* the parsers must also cope with input not ending in CRLF CRLF */
	fuzz_request(data, size);
	fuzz_response(data, size, size > 2 ? data[2] : 0);
	fuzz_chunked(data, size, split);
	return 0;
}
