/*
 * Fuzz target for proxy_proto: the input is the first bytes of a
 * connection on a require-proxy-header port.  Fed one byte more at a time,
 * the answer must stay AGAIN until it turns OK or ERROR, then never change;
 * an OK header must lie inside the input with consistent addresses and TLV
 * spans, and the formatters must write what the parser reads back.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_span(struct proxy_span s, const uint8_t *p, size_t len)
{
	if (s.p == NULL) {
		CHECK(s.len == 0);
		return;
	}
	CHECK(s.p >= p && s.len <= len);
	CHECK((size_t)(s.p - p) <= len - s.len);
}

static bool
same_span(struct proxy_span a, struct proxy_span b)
{
	return a.p == b.p && a.len == b.len;
}

/* Two parses of the same bytes found the same header. */
static bool
same_hdr(const struct proxy_hdr *a, const struct proxy_hdr *b)
{
	return a->version == b->version && a->local == b->local &&
	       a->len == b->len && a->src_len == b->src_len &&
	       a->dst_len == b->dst_len &&
	       memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 &&
	       same_span(a->tlvs, b->tlvs) && same_span(a->alpn, b->alpn) &&
	       same_span(a->authority, b->authority) &&
	       same_span(a->unique_id, b->unique_id) &&
	       a->crc32c == b->crc32c && a->ssl == b->ssl &&
	       a->ssl_client == b->ssl_client &&
	       a->ssl_verify == b->ssl_verify &&
	       same_span(a->ssl_version, b->ssl_version) &&
	       same_span(a->ssl_cn, b->ssl_cn) &&
	       same_span(a->ssl_cipher, b->ssl_cipher);
}

/* The formatters' output parses back to the same addresses. */
static void
check_round_trip(const struct proxy_hdr *h, const uint8_t *p)
{
	const struct sockaddr *src = (const struct sockaddr *)&h->src;
	const struct sockaddr *dst = (const struct sockaddr *)&h->dst;
	uint8_t                buf[PROXY_PROTO_V1_MAX + 64];
	struct proxy_hdr       back;
	size_t                 n;
	int                    crc;

	n = proxy_proto_format_v1((char *)buf, sizeof(buf), src, dst);
	CHECK(n > 0 && n <= PROXY_PROTO_V1_MAX && buf[n] == '\0');
	CHECK(proxy_proto_parse(buf, n, &back, NULL) == PARSE_OK);
	CHECK(back.len == n && !back.local);
	CHECK(back.src_len == h->src_len && back.dst_len == h->dst_len);
	CHECK(memcmp(&back.src, &h->src, h->src_len) == 0);
	CHECK(memcmp(&back.dst, &h->dst, h->dst_len) == 0);
	/* a TCP4 line has one spelling: ours must be the input's */
	if (h->version == 1 && h->src.ss_family == AF_INET)
		CHECK(n == h->len && memcmp(buf, p, n) == 0);
	for (crc = 0; crc < 2; crc++) {
		n = proxy_proto_format_v2(buf, sizeof(buf), src, dst, crc);
		CHECK(n > 0);
		CHECK(proxy_proto_parse(buf, n, &back, NULL) == PARSE_OK);
		CHECK(back.len == n && !back.local && back.crc32c == crc);
		CHECK(memcmp(&back.src, &h->src, h->src_len) == 0);
		CHECK(memcmp(&back.dst, &h->dst, h->dst_len) == 0);
		/* a v2 PROXY header without TLVs has one spelling too */
		if (!crc && h->version == 2 && h->tlvs.len == 0)
			CHECK(n == h->len && memcmp(buf, p, n) == 0);
	}
}

/* A CRC32C TLV catches any bit flipped in the addresses. */
static void
check_crc(const struct proxy_hdr *h, const uint8_t *p, uint8_t pick)
{
	static uint8_t   copy[PROXY_PROTO_V2_MAX];
	struct proxy_hdr flipped;

	if (!h->crc32c || h->local)
		return;
	CHECK(h->len >= 16 + 12 && h->len <= sizeof(copy));
	memcpy(copy, p, h->len);
	copy[16 + pick % 8] ^= (uint8_t)(1u << (pick >> 5));
	CHECK(proxy_proto_parse(copy, h->len, &flipped, NULL) == PARSE_ERROR);
}

static void
check_ok(const struct proxy_hdr *h, const uint8_t *p, size_t len)
{
	struct proxy_span rest = h->tlvs, v;
	uint8_t           type;

	CHECK(h->len > 0 && h->len <= len);
	if (h->version == 1) {
		CHECK(h->len <= PROXY_PROTO_V1_MAX);
		CHECK(memcmp(p, "PROXY ", 6) == 0);
		CHECK(memcmp(p + h->len - 2, "\r\n", 2) == 0);
		CHECK(memchr(p, '\n', h->len - 1) == NULL);
		CHECK(h->tlvs.p == NULL && !h->crc32c && !h->ssl);
	} else {
		CHECK(h->version == 2);
		CHECK(h->len >= 16 && h->len <= PROXY_PROTO_V2_MAX);
		CHECK(h->len == 16 + ((size_t)p[14] << 8 | p[15]));
		CHECK(memcmp(p, PROXY_PROTO_V2_SIG, 12) == 0);
	}
	if (h->local) {
		CHECK(h->src_len == 0 && h->dst_len == 0);
		CHECK(h->src.ss_family == 0 && h->dst.ss_family == 0);
	} else {
		CHECK(h->src.ss_family == h->dst.ss_family);
		CHECK(h->src_len == h->dst_len);
		CHECK((h->src.ss_family == AF_INET &&
		       h->src_len == sizeof(struct sockaddr_in)) ||
		      (h->src.ss_family == AF_INET6 &&
		       h->src_len == sizeof(struct sockaddr_in6)));
	}
	check_span(h->tlvs, p, h->len);
	check_span(h->alpn, p, h->len);
	check_span(h->authority, p, h->len);
	check_span(h->unique_id, p, h->len);
	check_span(h->ssl_version, p, h->len);
	check_span(h->ssl_cn, p, h->len);
	check_span(h->ssl_cipher, p, h->len);
	CHECK(h->tlvs.p == NULL || h->tlvs.p + h->tlvs.len == p + h->len);
	CHECK(h->unique_id.len <= PROXY_PROTO_UNIQUE_ID_MAX);
	/* the TLVs were found to fill their part exactly */
	while (proxy_proto_tlv_next(&rest, &type, &v))
		check_span(v, p, h->len);
	CHECK(rest.len == 0);
	if (!h->local)
		check_round_trip(h, p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr  whole, h;
	enum parse_result r, first = PARSE_AGAIN;
	const char       *why = NULL;
	size_t            k, decided = 0;

	r = proxy_proto_parse(data, size, &whole, &why);
	CHECK(r != PARSE_ERROR || (why != NULL && *why != '\0'));
	/* 2.1: abort "as soon as possible"; never wait past a header's size */
	if (r == PARSE_AGAIN && size > 0)
		CHECK(size < (data[0] == 'P' ? PROXY_PROTO_V1_MAX
		                             : PROXY_PROTO_V2_MAX));
	if (size > 0 && data[0] != 'P' && data[0] != '\r')
		CHECK(proxy_proto_parse(data, 1, &h, NULL) == PARSE_ERROR);
	if (r == PARSE_OK)
		check_ok(&whole, data, size);

	/* Fed a byte at a time: AGAIN, AGAIN, ..., then r for good. */
	for (k = 0; k <= size && first == PARSE_AGAIN; k++) {
		first = proxy_proto_parse(data, k, &h, NULL);
		decided = k;
	}
	CHECK(first == r);
	if (r == PARSE_AGAIN)
		return 0;
	if (r == PARSE_OK) {
		CHECK(decided == whole.len && same_hdr(&h, &whole));
		check_crc(&whole, data, size > 0 ? data[size - 1] : 0);
	}
	/* a few longer prefixes: what follows the decision changes nothing */
	for (k = decided + 1; k <= size && k <= decided + 3; k++) {
		CHECK(proxy_proto_parse(data, k, &h, NULL) == r);
		CHECK(r != PARSE_OK || same_hdr(&h, &whole));
	}
	return 0;
}
