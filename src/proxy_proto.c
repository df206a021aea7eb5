/*
 * proxy_proto: the PROXY protocol header that a load balancer puts before
 * a client's bytes, version 1 (a text line) and version 2 (binary, with
 * TLVs), parsed strictly and without allocation; and the same headers
 * written for a peer.  Section numbers are those of HAProxy's
 * doc/proxy-protocol.txt (2020/03/05).
 *
 * The parser decides as early as the bytes allow (2.1: "abort the
 * connection as soon as possible"): the signatures and the v2 fixed part
 * are checked byte by byte and each field of a v1 line as it grows, so a
 * client speaking HTTP or TLS straight to a require-proxy-header port is
 * refused at its first byte, not after a timeout.  It keeps no state
 * between calls: headers are short, and each call starts over.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"

#define V1_SIG     "PROXY "
#define V1_SIG_LEN 6
#define V2_FIXED   16 /* signature, version and command, family, length */

/* 2.2: the 13th byte: version in the high nibble, command in the low one */
#define V2_VERSION   0x20
#define V2_CMD_LOCAL 0x00
#define V2_CMD_PROXY 0x01

/* 2.2: the 14th byte: address family and transport; the combinations 2.2
 * lists as "expected", the only ones we take */
#define V2_UNSPEC      0x00
#define V2_TCP4        0x11
#define V2_UDP4        0x12
#define V2_TCP6        0x21
#define V2_UDP6        0x22
#define V2_UNIX_STREAM 0x31
#define V2_UNIX_DGRAM  0x32

/* 2.2.3, RFC 4960 appendix B: CRC32c, reflected polynomial */
#define CRC32C_POLY 0x82f63b78u

static const uint8_t v2_sig[] = PROXY_PROTO_V2_SIG;

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static struct proxy_span
span(const uint8_t *p, size_t len)
{
	struct proxy_span s = { p, len };

	return s;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Whether p[0..len) and sig agree over the shorter of the two. */
static bool
agrees(const uint8_t *p, size_t len, const void *sig, size_t sig_len)
{
	return memcmp(p, sig, len < sig_len ? len : sig_len) == 0;
}

static void
set_inet(struct sockaddr_storage *ss, socklen_t *len, const uint8_t *addr,
         const uint8_t *port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, addr, 4);
	memcpy(&sin.sin_port, port, 2);
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

static void
set_inet6(struct sockaddr_storage *ss, socklen_t *len, const uint8_t *addr,
          const uint8_t *port)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, addr, 16);
	memcpy(&sin6.sin6_port, port, 2);
	memcpy(ss, &sin6, sizeof(sin6));
	*len = sizeof(sin6);
}

/*
 * CRC32c, bit by bit: headers are short and checked once.
 */

static uint32_t
crc32c_update(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;
	int    k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? crc >> 1 ^ CRC32C_POLY : crc >> 1;
	}
	return crc;
}

uint32_t
proxy_proto_crc32c(const uint8_t *p, size_t len)
{
	return ~crc32c_update(0xffffffffu, p, len);
}

/*
 * Version 1 (2.1): one line,
 *
 *	"PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF
 *	"PROXY" SP "UNKNOWN" [SP anything] CRLF
 *
 * A field is the run of bytes up to SP, CR or LF.  Its checker is called
 * on every prefix of it as bytes arrive ("whole" once its end is seen), and
 * refuses as soon as no valid field can start that way.
 */

struct line {
	const uint8_t *p;
	size_t         len; /* bytes available, at most PROXY_PROTO_V1_MAX */
	size_t         pos;
};

enum v1_proto {
	V1_TCP4 = 0,
	V1_TCP6,
	V1_UNKNOWN,
	V1_PARTIAL, /* a prefix of one of the above */
	V1_BAD,
};

/* The field at l->pos; *whole if its end (SP, CR or LF) is in sight. */
static struct proxy_span
line_field(struct line *l, bool *whole)
{
	size_t start = l->pos;

	while (l->pos < l->len && l->p[l->pos] != ' ' && l->p[l->pos] != '\r' &&
	       l->p[l->pos] != '\n')
		l->pos++;
	*whole = l->pos < l->len;
	return span(l->p + start, l->pos - start);
}

/* The byte ending a whole field must be c: exactly one SP, or the CR. */
static enum parse_result
line_sep(struct line *l, uint8_t c, const char **why)
{
	uint8_t got = l->p[l->pos];

	if (got == c) {
		l->pos++;
		return PARSE_OK;
	}
	if (got == '\n')
		return parse_fail(why, "bare LF in PROXY v1 line");
	if (got == '\r')
		return parse_fail(why, "PROXY v1 line ends early");
	return parse_fail(why, "PROXY v1 line goes on after the destination port");
}

/*
 * The rest of a line from l->pos up to and including CRLF: printable
 * US-ASCII (2.1 "one line of US-ASCII text"), no CR or LF alone.
 */
static enum parse_result
line_end(struct line *l, struct proxy_hdr *out, const char **why)
{
	for (; l->pos < l->len; l->pos++) {
		uint8_t c = l->p[l->pos];

		if (c == '\r') {
			if (l->len - l->pos < 2)
				return PARSE_AGAIN;
			if (l->p[l->pos + 1] != '\n')
				return parse_fail(why, "bare CR in PROXY v1 line");
			out->len = l->pos + 2;
			return PARSE_OK;
		}
		if (c == '\n')
			return parse_fail(why, "bare LF in PROXY v1 line");
		if (c < 0x20 || c > 0x7e)
			return parse_fail(why,
			            "control or 8-bit byte in PROXY v1 line");
	}
	return PARSE_AGAIN;
}

static enum v1_proto
v1_proto(struct proxy_span f, bool whole)
{
	static const char *const names[] = { "TCP4", "TCP6", "UNKNOWN" };
	size_t                   i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);

		if (f.len > n || memcmp(f.p, names[i], f.len) != 0)
			continue;
		if (!whole)
			return V1_PARTIAL;
		if (f.len == n)
			return (enum v1_proto)i;
	}
	return V1_BAD;
}

/*
 * 2.1: "exactly 4 integers in the range [0..255] inclusive written in
 * decimal representation separated by exactly one dot", no leading zeros.
 */
static bool
v1_ipv4(struct proxy_span f, bool whole, uint8_t addr[4])
{
	unsigned dots = 0, digits = 0, value = 0;
	size_t   i;

	for (i = 0; i < f.len; i++) {
		uint8_t c = f.p[i];

		if (c == '.') {
			if (digits == 0 || dots == 3)
				return false;
			addr[dots++] = (uint8_t)value;
			digits = 0;
			value = 0;
		} else if (is_digit(c)) {
			if (digits == 1 && value == 0)
				return false; /* 2.1: "Heading zeroes" */
			value = value * 10 + (unsigned)(c - '0');
			if (value > 255)
				return false;
			digits++;
		} else {
			return false;
		}
	}
	if (!whole)
		return true;
	if (dots != 3 || digits == 0)
		return false;
	addr[3] = (uint8_t)value;
	return true;
}

/*
 * 2.1: groups of hex digits separated by colons, one "::" at most.  We take
 * what inet_pton() takes, which includes the dotted tail of a v4-mapped
 * address ("::ffff:192.0.2.1"), as senders write it with inet_ntop().
 * Until its end is seen a field is only checked for its bytes and length.
 */
static bool
v1_ipv6(struct proxy_span f, bool whole, uint8_t addr[16])
{
	char   text[INET6_ADDRSTRLEN];
	size_t i;

	if (f.len >= sizeof(text))
		return false;
	for (i = 0; i < f.len; i++) {
		if (!is_hex(f.p[i]) && f.p[i] != ':' && f.p[i] != '.')
			return false;
	}
	if (!whole)
		return true;
	memcpy(text, f.p, f.len);
	text[f.len] = '\0';
	return inet_pton(AF_INET6, text, addr) == 1;
}

/* 2.1: a decimal integer in [0..65535], no leading zeros; network order. */
static bool
v1_port(struct proxy_span f, bool whole, uint8_t port[2])
{
	unsigned value = 0;
	size_t   i;

	for (i = 0; i < f.len; i++) {
		if (!is_digit(f.p[i]) || (i == 1 && f.p[0] == '0'))
			return false;
		value = value * 10 + (unsigned)(f.p[i] - '0');
		if (value > 65535)
			return false;
	}
	if (!whole)
		return true;
	if (f.len == 0)
		return false;
	port[0] = (uint8_t)(value >> 8);
	port[1] = (uint8_t)value;
	return true;
}

/* TCP4 or TCP6: the four fields after the protocol and its SP. */
static enum parse_result
v1_tcp(struct line *l, bool v6, struct proxy_hdr *out, const char **why)
{
	uint8_t           addr[2][16], port[2][2];
	struct proxy_span f;
	bool              whole;
	int               i;

	for (i = 0; i < 2; i++) {
		f = line_field(l, &whole);
		if (v6 ? !v1_ipv6(f, whole, addr[i])
		       : !v1_ipv4(f, whole, addr[i]))
			return parse_fail(
			        why,
			        v6 ? "invalid IPv6 address in PROXY v1 line"
			           : "invalid IPv4 address in PROXY v1 line");
		if (!whole)
			return PARSE_AGAIN;
		if (line_sep(l, ' ', why) != PARSE_OK)
			return PARSE_ERROR;
	}
	for (i = 0; i < 2; i++) {
		f = line_field(l, &whole);
		if (!v1_port(f, whole, port[i]))
			return parse_fail(why, "invalid port in PROXY v1 line");
		if (!whole)
			return PARSE_AGAIN;
		if (line_sep(l, i == 0 ? ' ' : '\r', why) != PARSE_OK)
			return PARSE_ERROR;
	}
	/* the CR was taken: its LF must follow */
	if (l->pos == l->len)
		return PARSE_AGAIN;
	if (l->p[l->pos] != '\n')
		return parse_fail(why, "bare CR in PROXY v1 line");
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage *ss = i == 0 ? &out->src : &out->dst;
		socklen_t *sslen = i == 0 ? &out->src_len : &out->dst_len;

		if (v6)
			set_inet6(ss, sslen, addr[i], port[i]);
		else
			set_inet(ss, sslen, addr[i], port[i]);
	}
	out->len = l->pos + 1;
	return PARSE_OK;
}

/* l->len bytes agree with "PROXY "; l->len is at most the v1 maximum. */
static enum parse_result
v1_line(struct line *l, struct proxy_hdr *out, const char **why)
{
	struct proxy_span f;
	bool              whole;

	if (l->len < V1_SIG_LEN)
		return PARSE_AGAIN;
	l->pos = V1_SIG_LEN;
	f = line_field(l, &whole);
	switch (v1_proto(f, whole)) {
	case V1_PARTIAL:
		return PARSE_AGAIN;
	case V1_BAD:
		return parse_fail(why, "unknown protocol in PROXY v1 line");
	case V1_UNKNOWN:
		/* 2.1: the receiver "must ignore anything presented before
		 * the CRLF" and use the connection's own addresses */
		out->local = true;
		return line_end(l, out, why);
	case V1_TCP4:
		return line_sep(l, ' ', why) != PARSE_OK
		               ? PARSE_ERROR
		               : v1_tcp(l, false, out, why);
	case V1_TCP6:
		return line_sep(l, ' ', why) != PARSE_OK
		               ? PARSE_ERROR
		               : v1_tcp(l, true, out, why);
	}
	return parse_fail(why, "unknown protocol in PROXY v1 line");
}

static enum parse_result
v1_parse(const uint8_t *p, size_t len, struct proxy_hdr *out, const char **why)
{
	struct line       l = { p, len, 0 };
	enum parse_result r;

	if (l.len > PROXY_PROTO_V1_MAX)
		l.len = PROXY_PROTO_V1_MAX;
	r = v1_line(&l, out, why);
	/* 2.1: "If the CRLF sequence is not found in the first 107
	 * characters, the receiver should declare the line invalid." */
	if (r == PARSE_AGAIN && len >= PROXY_PROTO_V1_MAX)
		return parse_fail(why, "PROXY v1 line longer than 107 bytes");
	if (r == PARSE_OK)
		out->version = 1;
	return r;
}

/*
 * Version 2 (2.2): 16 fixed bytes, addresses, then TLVs up to the length.
 */

bool
proxy_proto_tlv_next(struct proxy_span *rest, uint8_t *type,
                     struct proxy_span *value)
{
	size_t n;

	if (rest->len < 3)
		return false;
	n = (size_t)rest->p[1] << 8 | rest->p[2];
	if (n > rest->len - 3)
		return false;
	*type = rest->p[0];
	*value = span(rest->p + 3, n);
	rest->p += 3 + n;
	rest->len -= 3 + n;
	return true;
}

/* A TLV we look into may come once: two would leave the choice to us. */
static enum parse_result
tlv_once(struct proxy_span *dst, struct proxy_span v, const char **why)
{
	if (dst->p != NULL)
		return parse_fail(why, "repeated TLV in PROXY v2 header");
	*dst = v;
	return PARSE_OK;
}

/* 2.2.6: client (1 byte), verify (4 bytes), then sub-TLVs. */
static enum parse_result
v2_ssl(struct proxy_span v, struct proxy_hdr *out, const char **why)
{
	struct proxy_span rest, sub;
	uint8_t           type;

	if (out->ssl)
		return parse_fail(why, "repeated TLV in PROXY v2 header");
	if (v.len < 5)
		return parse_fail(why, "PROXY v2 SSL TLV too short");
	out->ssl = true;
	out->ssl_client = v.p[0];
	out->ssl_verify = get_be32(v.p + 1);
	rest = span(v.p + 5, v.len - 5);
	while (rest.len > 0) {
		enum parse_result r = PARSE_OK;

		if (!proxy_proto_tlv_next(&rest, &type, &sub))
			return parse_fail(why,
			            "PROXY v2 SSL sub-TLV overruns its TLV");
		if (type == PROXY_PROTO_SSL_VERSION)
			r = tlv_once(&out->ssl_version, sub, why);
		else if (type == PROXY_PROTO_SSL_CN)
			r = tlv_once(&out->ssl_cn, sub, why);
		else if (type == PROXY_PROTO_SSL_CIPHER)
			r = tlv_once(&out->ssl_cipher, sub, why);
		if (r != PARSE_OK)
			return r;
	}
	return PARSE_OK;
}

/*
 * 2.2.3: the CRC32c of the whole header with the checksum's own 4 bytes
 * taken as zeros must equal them.  crc points into hdr[0..len).
 */
static bool
v2_crc_matches(const uint8_t *hdr, size_t len, const uint8_t *crc)
{
	static const uint8_t zeros[4] = { 0 };
	size_t               off = (size_t)(crc - hdr);
	uint32_t             c;

	c = crc32c_update(0xffffffffu, hdr, off);
	c = crc32c_update(c, zeros, 4);
	c = crc32c_update(c, crc + 4, len - off - 4);
	return ~c == get_be32(crc);
}

/* Every TLV must fit whole: 3 bytes of type and length, then the value. */
static enum parse_result
v2_tlvs(const uint8_t *hdr, size_t len, struct proxy_hdr *out, const char **why)
{
	struct proxy_span rest = out->tlvs, v;
	const uint8_t    *crc = NULL;
	uint8_t           type;

	while (rest.len > 0) {
		enum parse_result r = PARSE_OK;

		if (!proxy_proto_tlv_next(&rest, &type, &v))
			return parse_fail(why, "PROXY v2 TLV overruns the header");
		switch (type) {
		case PROXY_PROTO_TLV_ALPN:
			r = tlv_once(&out->alpn, v, why);
			break;
		case PROXY_PROTO_TLV_AUTHORITY:
			r = tlv_once(&out->authority, v, why);
			break;
		case PROXY_PROTO_TLV_UNIQUE_ID:
			if (v.len > PROXY_PROTO_UNIQUE_ID_MAX)
				return parse_fail(why, "PROXY v2 unique ID over 128 "
				                 "bytes");
			r = tlv_once(&out->unique_id, v, why);
			break;
		case PROXY_PROTO_TLV_CRC32C:
			if (v.len != 4)
				return parse_fail(why, "PROXY v2 CRC32C TLV not 4 "
				                 "bytes");
			if (crc != NULL)
				return parse_fail(why, "repeated TLV in PROXY v2 "
				                 "header");
			crc = v.p;
			break;
		case PROXY_PROTO_TLV_SSL:
			r = v2_ssl(v, out, why);
			break;
		default:
			break; /* 2.2: "may choose to skip over and ignore" */
		}
		if (r != PARSE_OK)
			return r;
	}
	if (crc != NULL) {
		if (!v2_crc_matches(hdr, len, crc))
			return parse_fail(why, "PROXY v2 CRC32C mismatch");
		out->crc32c = true;
	}
	return PARSE_OK;
}

/* Bytes of addresses for a family and transport byte; -1 if unassigned. */
static int
v2_addr_len(uint8_t fam)
{
	switch (fam) {
	case V2_UNSPEC:
		return 0;
	case V2_TCP4:
	case V2_UDP4:
		return 12; /* 2 * 4 + 2 * 2 */
	case V2_TCP6:
	case V2_UDP6:
		return 36; /* 2 * 16 + 2 * 2 */
	case V2_UNIX_STREAM:
	case V2_UNIX_DGRAM:
		return 216; /* 2 * 108 */
	default:
		return -1;
	}
}

/* len bytes agree with the v2 signature. */
static enum parse_result
v2_parse(const uint8_t *p, size_t len, struct proxy_hdr *out, const char **why)
{
	size_t  total, addr_len;
	uint8_t cmd;
	int     n;

	if (len <= PROXY_PROTO_V2_SIG_LEN)
		return PARSE_AGAIN;
	/* 2.2: "must always be sent as \x2 and the receiver must only
	 * accept this value"; commands other than LOCAL and PROXY "must"
	 * make receivers drop the connection */
	if ((p[12] & 0xf0) != V2_VERSION)
		return parse_fail(why, "PROXY v2 header of another version");
	cmd = p[12] & 0x0f;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return parse_fail(why, "unknown command in PROXY v2 header");
	if (len == 13)
		return PARSE_AGAIN;
	if ((n = v2_addr_len(p[13])) < 0)
		return parse_fail(why, "unknown family or transport in PROXY v2");
	addr_len = (size_t)n;
	if (len < V2_FIXED)
		return PARSE_AGAIN;
	total = V2_FIXED + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXY_PROTO_V2_MAX)
		return parse_fail(why, "PROXY v2 header longer than we accept");
	/* 2.2: LOCAL: "discard the protocol block including the family
	 * which is ignored"; PROXY needs its addresses */
	if (total - V2_FIXED < addr_len && cmd == V2_CMD_PROXY)
		return parse_fail(why, "PROXY v2 length too short for its addresses");
	if (len < total)
		return PARSE_AGAIN;
	out->version = 2;
	out->len = total;
	if (total - V2_FIXED < addr_len) {
		out->local = true; /* a LOCAL block we cannot read: skip it */
		return PARSE_OK;
	}
	out->tlvs = span(p + V2_FIXED + addr_len, total - V2_FIXED - addr_len);
	if (v2_tlvs(p, total, out, why) != PARSE_OK)
		return PARSE_ERROR;
	if (cmd == V2_CMD_PROXY && p[13] == V2_TCP4) {
		set_inet(&out->src, &out->src_len, p + 16, p + 24);
		set_inet(&out->dst, &out->dst_len, p + 20, p + 26);
	} else if (cmd == V2_CMD_PROXY && p[13] == V2_TCP6) {
		set_inet6(&out->src, &out->src_len, p + 16, p + 48);
		set_inet6(&out->dst, &out->dst_len, p + 32, p + 50);
	} else {
		/* LOCAL; or UNSPEC, UDP, AF_UNIX: 2.2 lets a receiver that
		 * does not support them fall back to the real endpoints */
		out->local = true;
	}
	return PARSE_OK;
}

enum parse_result
proxy_proto_parse(const uint8_t *p, size_t len, struct proxy_hdr *out,
                  const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return PARSE_AGAIN;
	/* the signatures differ from their first byte */
	if (agrees(p, len, V1_SIG, V1_SIG_LEN))
		return v1_parse(p, len, out, why);
	if (agrees(p, len, v2_sig, PROXY_PROTO_V2_SIG_LEN))
		return v2_parse(p, len, out, why);
	return parse_fail(why, "not a PROXY protocol header");
}

/*
 * Formatting.
 */

/* The family both addresses share if it is AF_INET or AF_INET6, else 0. */
static int
common_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family)
		return 0;
	if (src->sa_family != AF_INET && src->sa_family != AF_INET6)
		return 0;
	return src->sa_family;
}

/* Address and port of an AF_INET or AF_INET6 sockaddr, network order. */
static void
addr_port(const struct sockaddr *sa, uint8_t addr[16], uint8_t port[2])
{
	struct sockaddr_in  sin;
	struct sockaddr_in6 sin6;

	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		memcpy(port, &sin.sin_port, 2);
	} else {
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(addr, &sin6.sin6_addr, 16);
		memcpy(port, &sin6.sin6_port, 2);
	}
}

size_t
proxy_proto_format_v1(char *buf, size_t cap, const struct sockaddr *src,
                      const struct sockaddr *dst)
{
	char    text[2][INET6_ADDRSTRLEN];
	uint8_t addr[2][16], port[2][2];
	int     fam = common_family(src, dst), n, i;

	if (fam == 0) {
		n = snprintf(buf, cap, "PROXY UNKNOWN\r\n");
	} else {
		for (i = 0; i < 2; i++) {
			addr_port(i == 0 ? src : dst, addr[i], port[i]);
			if (inet_ntop(fam, addr[i], text[i], sizeof(text[i])) ==
			    NULL)
				return 0;
		}
		n = snprintf(buf, cap, "PROXY %s %s %s %u %u\r\n",
		             fam == AF_INET ? "TCP4" : "TCP6", text[0], text[1],
		             (unsigned)port[0][0] << 8 | port[0][1],
		             (unsigned)port[1][0] << 8 | port[1][1]);
	}
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

size_t
proxy_proto_format_v2(uint8_t *buf, size_t cap, const struct sockaddr *src,
                      const struct sockaddr *dst, bool crc32c)
{
	uint8_t addr[2][16], port[2][2];
	int     fam = common_family(src, dst);
	size_t  alen = fam == AF_INET ? 4 : fam == AF_INET6 ? 16 : 0;
	size_t  len = V2_FIXED + (alen > 0 ? 2 * alen + 4 : 0);
	size_t  pos = V2_FIXED;

	if (crc32c)
		len += 7;
	if (len > cap)
		return 0;
	memcpy(buf, v2_sig, PROXY_PROTO_V2_SIG_LEN);
	buf[12] = V2_VERSION | (alen > 0 ? V2_CMD_PROXY : V2_CMD_LOCAL);
	buf[13] = fam == AF_INET    ? V2_TCP4
	          : fam == AF_INET6 ? V2_TCP6
	                            : V2_UNSPEC;
	buf[14] = (uint8_t)((len - V2_FIXED) >> 8);
	buf[15] = (uint8_t)(len - V2_FIXED);
	if (alen > 0) {
		addr_port(src, addr[0], port[0]);
		addr_port(dst, addr[1], port[1]);
		memcpy(buf + pos, addr[0], alen);
		memcpy(buf + pos + alen, addr[1], alen);
		pos += 2 * alen;
		memcpy(buf + pos, port[0], 2);
		memcpy(buf + pos + 2, port[1], 2);
		pos += 4;
	}
	if (crc32c) {
		buf[pos] = PROXY_PROTO_TLV_CRC32C;
		buf[pos + 1] = 0;
		buf[pos + 2] = 4;
		put_be32(buf + pos + 3, 0);
		put_be32(buf + pos + 3, proxy_proto_crc32c(buf, len));
	}
	return len;
}
