/*
 * proxy_proto: a pure parser for the PROXY protocol header, versions 1 and
 * 2 (HAProxy's doc/proxy-protocol.txt, 2020/03/05), which a load balancer
 * sends before the client's own bytes on a `require-proxy-header` port, and
 * formatters to send one.  No I/O, no allocation, no logging.
 *
 * Parsed TLV values are spans (pointer + length) into the caller's buffer;
 * they stay valid while that buffer is not modified.
 */
#ifndef BASCULE_PROXY_PROTO_H
#define BASCULE_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parse.h"

/* 2.1: the longest v1 line, "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n" */
#define PROXY_PROTO_V1_MAX 107

/*
 * Our limit on a whole v2 header (16 fixed bytes, addresses and TLVs).  The
 * wire allows 16 + 65535; what senders put there (addresses, SNI, ALPN, a
 * unique ID of at most 128 bytes, TLS version, cipher and client CN) fits
 * in a few hundred bytes.  A longer header is refused as soon as its length
 * field arrives, so a caller needs this much room before the first byte of
 * the stream proper.
 */
#define PROXY_PROTO_V2_MAX 4096

/* Room for either header: what a caller must be able to buffer. */
#define PROXY_PROTO_MAX PROXY_PROTO_V2_MAX

/* 2.2: the 12-byte v2 signature, then version and command, family, length */
#define PROXY_PROTO_V2_SIG     "\r\n\r\n\0\r\nQUIT\n"
#define PROXY_PROTO_V2_SIG_LEN 12

/* 2.2: registered TLV types (PP2_TYPE_*, PP2_SUBTYPE_SSL_*) */
#define PROXY_PROTO_TLV_ALPN       0x01
#define PROXY_PROTO_TLV_AUTHORITY  0x02
#define PROXY_PROTO_TLV_CRC32C     0x03
#define PROXY_PROTO_TLV_NOOP       0x04
#define PROXY_PROTO_TLV_UNIQUE_ID  0x05
#define PROXY_PROTO_TLV_SSL        0x20
#define PROXY_PROTO_SSL_VERSION    0x21
#define PROXY_PROTO_SSL_CN         0x22
#define PROXY_PROTO_SSL_CIPHER     0x23
#define PROXY_PROTO_SSL_SIG_ALG    0x24
#define PROXY_PROTO_SSL_KEY_ALG    0x25
#define PROXY_PROTO_TLV_NETNS      0x30
#define PROXY_PROTO_UNIQUE_ID_MAX  128  /* 2.2.5 */
#define PROXY_PROTO_SSL_CLIENT_SSL 0x01 /* 2.2.6: client field bits */
#define PROXY_PROTO_SSL_CERT_CONN  0x02
#define PROXY_PROTO_SSL_CERT_SESS  0x04

struct proxy_span {
	const uint8_t *p; /* NULL when absent; may be non-NULL with len 0 */
	size_t         len;
};

struct proxy_hdr {
	int version; /* 1 or 2 */
	/*
	 * Keep the socket's own addresses: v1 UNKNOWN, v2 LOCAL, and v2
	 * PROXY with an address family or transport bascule does not relay
	 * (UNSPEC, AF_UNIX, DGRAM).  src and dst are then zero, lengths 0.
	 */
	bool local;
	/* AF_INET or AF_INET6, both the same; ports in network order */
	struct sockaddr_storage src, dst;
	socklen_t               src_len, dst_len;
	size_t                  len; /* bytes of the header: skip them */

	/* v2 only: all TLVs (framing checked), and those we look into */
	struct proxy_span tlvs;
	struct proxy_span alpn;      /* as the balancer saw it, e.g. "h2" */
	struct proxy_span authority; /* SNI or host name, not checked */
	struct proxy_span unique_id;
	bool              crc32c;     /* a CRC32C TLV was present and matched */
	bool              ssl;        /* a PP2_TYPE_SSL TLV was present: */
	uint8_t           ssl_client; /* PROXY_PROTO_SSL_CLIENT_SSL, ... */
	uint32_t          ssl_verify; /* 0: client certificate verified */
	struct proxy_span ssl_version;
	struct proxy_span ssl_cn;
	struct proxy_span ssl_cipher;
};

/*
 * Parses the PROXY protocol header at the start of p[0..len), which may be
 * incomplete: call again with more bytes (from the start).  Returns
 *   PARSE_OK     *out is filled; the stream proper starts at p + out->len.
 *   PARSE_AGAIN  p[0..len) is the start of a header that is still valid
 *                as far as it goes; never for more than PROXY_PROTO_MAX
 *                bytes.
 *   PARSE_ERROR  *why says why; decided as soon as the bytes so far can
 *                start no valid header, e.g. at the first byte of "GET /".
 * Strict, as 2.1 asks ("any sequence which does not exactly match the
 * protocol must be discarded"): single spaces, CRLF, canonical addresses,
 * ports without leading zeros; v2 version 2, commands LOCAL and PROXY,
 * only the seven family and transport bytes 2.2 lists, TLVs (after the
 * addresses; right after the fixed part for UNSPEC) that exactly fill the
 * header, a CRC32C TLV that matches (2.2.3), no second TLV of a type we
 * look into.  Each call reads the header from its start; both versions are
 * short enough.
 */
enum parse_result proxy_proto_parse(const uint8_t *p, size_t len,
                                    struct proxy_hdr *out, const char **why);

/*
 * Takes the next TLV off *rest (a struct proxy_hdr's tlvs, or an SSL TLV's
 * value past its 5-byte client and verify fields): sets *type and *value,
 * advances *rest and returns true; false at the end or if what is left
 * is not a whole TLV.
 */
bool proxy_proto_tlv_next(struct proxy_span *rest, uint8_t *type,
                          struct proxy_span *value);

/* CRC32c (Castagnoli, RFC 4960 appendix B) of p[0..len), as 2.2.3 uses. */
uint32_t proxy_proto_crc32c(const uint8_t *p, size_t len);

/*
 * Writes a v1 line for src -> dst into buf[0..cap) with a terminating NUL
 * and returns its length without the NUL, or 0 if it does not fit.  Both
 * AF_INET, or both AF_INET6, give TCP4 or TCP6; anything else (NULL, mixed
 * or other families) gives "PROXY UNKNOWN\r\n".
 */
size_t proxy_proto_format_v1(char *buf, size_t cap, const struct sockaddr *src,
                             const struct sockaddr *dst);

/*
 * Writes a v2 header for src -> dst into buf[0..cap) and returns its
 * length, or 0 if it does not fit.  Both AF_INET or both AF_INET6 give a
 * PROXY command over TCP; anything else a LOCAL command with family UNSPEC.
 * With crc32c, a CRC32C TLV follows the addresses.
 */
size_t proxy_proto_format_v2(uint8_t *buf, size_t cap,
                             const struct sockaddr *src,
                             const struct sockaddr *dst, bool crc32c);

#endif
