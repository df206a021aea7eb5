/*
 * test_proxy_proto: PROXY protocol headers, v1 and v2, run through
 * proxy_proto.h.  Every case is also fed as each of its prefixes, to check
 * that a header arriving in pieces is awaited (PARSE_AGAIN) and that bad
 * input is refused at the very byte that makes it bad, not later.  Then
 * TLVs, the formatters, and headers captured from HAProxy and curl
 * (tests/fuzz/proxy_proto.in, made by tests/fuzz/proxy_proto_capture.sh).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy_proto.h"
#include "tap.h"

/* A string literal as pointer and length, so it may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

#define OK    PARSE_OK
#define AGAIN PARSE_AGAIN
#define ERROR PARSE_ERROR

/* v2 pieces: signature; TCP4 192.0.2.1:56324 -> 198.51.100.2:443 */
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define A4                                                                     \
	"\xc0\x00\x02\x01"                                                     \
	"\xc6\x33\x64\x02"                                                     \
	"\xdc\x04"                                                             \
	"\x01\xbb"
/* TCP6 2001:db8::1:1234 -> 2001:db8::2:443 */
#define A6                                                                     \
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"                           \
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"                           \
	"\x04\xd2"                                                             \
	"\x01\xbb"
#define Z8    "\0\0\0\0\0\0\0\0"
#define Z24   Z8 Z8 Z8
#define Z216  Z24 Z24 Z24 Z24 Z24 Z24 Z24 Z24 Z24
#define F39   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
#define V6_45 "0000:0000:0000:0000:0000:ffff:255.255.255.255"
#define HTTP  "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

/* CRC32c values for the cases below, from an independent implementation */
#define CRC_A4     "\x20\xec\x95\x49"
#define CRC_A4_BAD "\x20\xec\x95\x48"
#define CRC_TLVS   "\x4d\x14\xa1\x1e"
#define CRC_LOCAL  "\xa9\xb8\x7e\x8f"
#define CRC_A6     "\x8a\x66\xd8\xf6"
#define CRC_SSL    "\xa4\x17\xbc\x41"

struct pp_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	/*
	 * OK: the header's length; ERROR: the shortest prefix refused.
	 * Every shorter prefix must give AGAIN, every longer one the result.
	 */
	size_t      decided;
	int         family; /* OK: AF_INET or AF_INET6, or 0 for local */
	const char *src;    /* "address port" */
	const char *dst;
};

static const struct pp_case cases[] = {
	/* 2.1, version 1 */
	{ "v1 TCP4", S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"), OK,
	  45, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v1 TCP4 then HTTP",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" HTTP), OK, 45,
	  AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v1 TCP4 then a TLS record",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n\x16\x03\x01"), OK,
	  45, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v1 TCP4 longest",
	  S("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), OK,
	  56, AF_INET, "255.255.255.255 65535", "255.255.255.255 65535" },
	{ "v1 TCP4 zeros", S("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n"), OK, 33,
	  AF_INET, "0.0.0.0 0", "10.0.0.1 0" },
	{ "v1 TCP6", S("PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\n"), OK,
	  45, AF_INET6, "2001:db8::1 1234", "2001:db8::2 443" },
	{ "v1 TCP6 longest", S("PROXY TCP6 " F39 " " F39 " 65535 65535\r\n"),
	  OK, 104, AF_INET6, F39 " 65535", F39 " 65535" },
	{ "v1 TCP6 upper case", S("PROXY TCP6 2001:DB8::A ::1 1 2\r\n"), OK, 32,
	  AF_INET6, "2001:db8::a 1", "::1 2" },
	{ "v1 TCP6 v4-mapped", S("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"), OK,
	  37, AF_INET6, "::ffff:192.0.2.1 1", "::1 2" },
	{ "v1 UNKNOWN", S("PROXY UNKNOWN\r\n" HTTP), OK, 15, 0, NULL, NULL },
	{ "v1 UNKNOWN with addresses", S("PROXY UNKNOWN ::1 ::1 1 2\r\n"), OK,
	  27, 0, NULL, NULL },
	{ "v1 UNKNOWN anything", S("PROXY UNKNOWN whatever: it is\r\n"), OK, 31,
	  0, NULL, NULL },
	{ "v1 UNKNOWN 107 bytes",
	  S("PROXY UNKNOWN " F39 " " F39 " 65535 65535\r\n"), OK, 107, 0, NULL,
	  NULL },
	/* decided at the first byte that cannot start a header */
	{ "HTTP request", S(HTTP), ERROR, 1, 0, NULL, NULL },
	{ "TLS ClientHello record", S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc"),
	  ERROR, 1, 0, NULL, NULL },
	{ "POST", S("POST / HTTP/1.1\r\n"), ERROR, 2, 0, NULL, NULL },
	{ "PRI (HTTP/2 preface)", S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ERROR,
	  3, 0, NULL, NULL },
	{ "PROPFIND", S("PROPFIND / HTTP/1.1\r\n"), ERROR, 4, 0, NULL, NULL },
	{ "CRLF then HTTP", S("\r\nGET / HTTP/1.1\r\n"), ERROR, 3, 0, NULL,
	  NULL },
	{ "NUL", S("\0"), ERROR, 1, 0, NULL, NULL },
	{ "lower case proxy", S("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 1,
	  0, NULL, NULL },
	{ "PROXY without space", S("PROXYTCP4"), ERROR, 6, 0, NULL, NULL },
	{ "PROXY HTAB", S("PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 6, 0,
	  NULL, NULL },
	/* v1 protocol and spaces */
	{ "v1 TCP5", S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 10, 0,
	  NULL, NULL },
	{ "v1 lower case tcp4", S("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), ERROR,
	  7, 0, NULL, NULL },
	{ "v1 TCP4 alone", S("PROXY TCP4\r\n"), ERROR, 11, 0, NULL, NULL },
	{ "v1 UNKNOWNX", S("PROXY UNKNOWNX\r\n"), ERROR, 14, 0, NULL, NULL },
	{ "v1 double space after PROXY",
	  S("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 7, 0, NULL, NULL },
	{ "v1 double space after TCP4",
	  S("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 12, 0, NULL, NULL },
	{ "v1 double space between addresses",
	  S("PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n"), ERROR, 22, 0,
	  NULL, NULL },
	{ "v1 double space between ports",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324  443\r\n"), ERROR, 41, 0,
	  NULL, NULL },
	{ "v1 HTAB between addresses",
	  S("PROXY TCP4 192.0.2.1\t198.51.100.2 56324 443\r\n"), ERROR, 21, 0,
	  NULL, NULL },
	/* v1 addresses */
	{ "v1 256.1.1.1", S("PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n"), ERROR, 14,
	  0, NULL, NULL },
	{ "v1 1.2.3.256", S("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), ERROR, 20,
	  0, NULL, NULL },
	{ "v1 leading zero in address",
	  S("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), ERROR, 13, 0, NULL, NULL },
	{ "v1 three numbers", S("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), ERROR, 17,
	  0, NULL, NULL },
	{ "v1 five numbers", S("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), ERROR,
	  19, 0, NULL, NULL },
	{ "v1 empty number", S("PROXY TCP4 1..2.3 5.6.7.8 1 2\r\n"), ERROR, 14,
	  0, NULL, NULL },
	{ "v1 address starts with a dot",
	  S("PROXY TCP4 .1.2.3 5.6.7.8 1 2\r\n"), ERROR, 12, 0, NULL, NULL },
	{ "v1 IPv6 in TCP4", S("PROXY TCP4 ::1 ::1 1 2\r\n"), ERROR, 12, 0,
	  NULL, NULL },
	{ "v1 IPv6 destination in TCP4", S("PROXY TCP4 192.0.2.1 ::1 1 2\r\n"),
	  ERROR, 22, 0, NULL, NULL },
	{ "v1 IPv4 in TCP6", S("PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n"), ERROR,
	  21, 0, NULL, NULL },
	{ "v1 triple colon", S("PROXY TCP6 2001:db8:::1 ::1 1 2\r\n"), ERROR,
	  24, 0, NULL, NULL },
	{ "v1 five hex digits", S("PROXY TCP6 12345::1 ::1 1 2\r\n"), ERROR, 20,
	  0, NULL, NULL },
	{ "v1 IPv6 zone", S("PROXY TCP6 fe80::1%1 ::1 1 2\r\n"), ERROR, 19, 0,
	  NULL, NULL },
	{ "v1 host name", S("PROXY TCP4 localhost 1.2.3.4 1 2\r\n"), ERROR, 12,
	  0, NULL, NULL },
	/* v1 ports: 2.1 "[0..65535]", no "Heading zeroes" */
	{ "v1 port 65536", S("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n"),
	  ERROR, 39, 0, NULL, NULL },
	{ "v1 port 655350",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 65535 655350\r\n"), ERROR, 46, 0,
	  NULL, NULL },
	{ "v1 port with leading zero",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 0443\r\n"), ERROR, 42, 0,
	  NULL, NULL },
	{ "v1 port 00", S("PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n"),
	  ERROR, 36, 0, NULL, NULL },
	{ "v1 empty port", S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 \r\n"),
	  ERROR, 41, 0, NULL, NULL },
	{ "v1 port with sign",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n"), ERROR, 35, 0, NULL,
	  NULL },
	{ "v1 no destination port",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n"), ERROR, 40, 0, NULL,
	  NULL },
	/* v1 line ends: 2.1 "must not tolerate a single CR or LF" */
	{ "v1 space before CRLF",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n"), ERROR, 44, 0,
	  NULL, NULL },
	{ "v1 extra field",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 x\r\n"), ERROR, 44, 0,
	  NULL, NULL },
	{ "v1 LF only", S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n" HTTP),
	  ERROR, 44, 0, NULL, NULL },
	{ "v1 CR only", S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r" HTTP),
	  ERROR, 45, 0, NULL, NULL },
	{ "v1 no CRLF, request follows",
	  S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443" HTTP), ERROR, 44, 0,
	  NULL, NULL },
	{ "v1 NUL in line", S("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"), ERROR,
	  19, 0, NULL, NULL },
	{ "v1 UNKNOWN LF only", S("PROXY UNKNOWN\n"), ERROR, 14, 0, NULL,
	  NULL },
	{ "v1 UNKNOWN CR only", S("PROXY UNKNOWN\rx"), ERROR, 15, 0, NULL,
	  NULL },
	{ "v1 UNKNOWN control byte", S("PROXY UNKNOWN \x01\r\n"), ERROR, 15, 0,
	  NULL, NULL },
	{ "v1 UNKNOWN 8-bit byte", S("PROXY UNKNOWN caf\xc3\xa9\r\n"), ERROR,
	  18, 0, NULL, NULL },
	/* 2.1: "not found in the first 107 characters" */
	{ "v1 UNKNOWN 108 bytes",
	  S("PROXY UNKNOWN " F39 " " F39 " 65535 655355\r\n"), ERROR, 107, 0,
	  NULL, NULL },
	{ "v1 TCP6 line over 107 bytes",
	  S("PROXY TCP6 " V6_45 " " V6_45 " 65535 65535\r\n"), ERROR, 107, 0,
	  NULL, NULL },
	/* incomplete: AGAIN at every length */
	{ "empty", S(""), AGAIN, 0, 0, NULL, NULL },
	{ "v1 without LF", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), AGAIN, 0, 0,
	  NULL, NULL },
	{ "v1 UNKNOWN without CRLF", S("PROXY UNKNOWN 1 2 3"), AGAIN, 0, 0,
	  NULL, NULL },
	{ "v2 fixed part", S(SIG "\x21\x11\x00\x0c"), AGAIN, 0, 0, NULL, NULL },
	{ "v2 half the addresses", S(SIG "\x21\x11\x00\x0c\xc0\x00\x02\x01"),
	  AGAIN, 0, 0, NULL, NULL },

	/* 2.2, version 2 */
	{ "v2 PROXY TCP4", S(SIG "\x21\x11\x00\x0c" A4), OK, 28, AF_INET,
	  "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 PROXY TCP4 then HTTP", S(SIG "\x21\x11\x00\x0c" A4 HTTP), OK, 28,
	  AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 PROXY TCP6", S(SIG "\x21\x21\x00\x24" A6), OK, 52, AF_INET6,
	  "2001:db8::1 1234", "2001:db8::2 443" },
	{ "v2 LOCAL", S(SIG "\x20\x00\x00\x00" HTTP), OK, 16, 0, NULL, NULL },
	{ "v2 LOCAL with TCP4 addresses", S(SIG "\x20\x11\x00\x0c" A4), OK, 28,
	  0, NULL, NULL },
	{ "v2 LOCAL with TCP4 and no addresses", S(SIG "\x20\x11\x00\x00"), OK,
	  16, 0, NULL, NULL },
	{ "v2 PROXY UNSPEC", S(SIG "\x21\x00\x00\x00"), OK, 16, 0, NULL, NULL },
	{ "v2 PROXY UDP4", S(SIG "\x21\x12\x00\x0c" A4), OK, 28, 0, NULL,
	  NULL },
	{ "v2 PROXY UDP6", S(SIG "\x21\x22\x00\x24" A6), OK, 52, 0, NULL,
	  NULL },
	{ "v2 PROXY AF_UNIX stream", S(SIG "\x21\x31\x00\xd8" Z216), OK, 232, 0,
	  NULL, NULL },
	{ "v2 PROXY AF_UNIX datagram", S(SIG "\x21\x32\x00\xd8" Z216), OK, 232,
	  0, NULL, NULL },
	{ "v2 TLVs: authority, ALPN, NOOP, custom",
	  S(SIG "\x21\x11\x00\x28" A4 "\x02\x00\x0b"
	        "example.com"
	        "\x01\x00\x02"
	        "h2"
	        "\x04\x00\x00"
	        "\xe0\x00\x03"
	        "abc"),
	  OK, 56, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 CRC32C", S(SIG "\x21\x11\x00\x13" A4 "\x03\x00\x04" CRC_A4), OK,
	  35, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 TLVs and CRC32C",
	  S(SIG "\x21\x11\x00\x26" A4 "\x02\x00\x0b"
	        "example.com"
	        "\x01\x00\x02"
	        "h2"
	        "\x03\x00\x04" CRC_TLVS),
	  OK, 54, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 TCP6 CRC32C", S(SIG "\x21\x21\x00\x2b" A6 "\x03\x00\x04" CRC_A6),
	  OK, 59, AF_INET6, "2001:db8::1 1234", "2001:db8::2 443" },
	{ "v2 LOCAL CRC32C", S(SIG "\x20\x00\x00\x07\x03\x00\x04" CRC_LOCAL),
	  OK, 23, 0, NULL, NULL },
	{ "v2 SSL TLV",
	  S(SIG "\x21\x11\x00\x3e" A4 "\x20\x00\x28\x01\0\0\0\0"
	        "\x21\x00\x07"
	        "TLSv1.3"
	        "\x23\x00\x16"
	        "TLS_AES_128_GCM_SHA256"
	        "\x03\x00\x04" CRC_SSL),
	  OK, 78, AF_INET, "192.0.2.1 56324", "198.51.100.2 443" },
	{ "v2 unique ID of 128 bytes",
	  S(SIG "\x21\x00\x00\x83\x05\x00\x80" Z24 Z24 Z24 Z24 Z24 Z8), OK, 147,
	  0, NULL, NULL },
	/* v2 errors */
	{ "v2 signature broken", S("\r\n\r\n\0\r\nQX"), ERROR, 9, 0, NULL,
	  NULL },
	{ "v2 signature without NUL", S("\r\n\r\nX"), ERROR, 5, 0, NULL, NULL },
	{ "v2 version 1", S(SIG "\x11\x11\x00\x0c" A4), ERROR, 13, 0, NULL,
	  NULL },
	{ "v2 version 3", S(SIG "\x31\x11\x00\x0c" A4), ERROR, 13, 0, NULL,
	  NULL },
	{ "v2 command 2", S(SIG "\x22\x11\x00\x0c" A4), ERROR, 13, 0, NULL,
	  NULL },
	{ "v2 command 15", S(SIG "\x2f\x11\x00\x0c" A4), ERROR, 13, 0, NULL,
	  NULL },
	{ "v2 family 4", S(SIG "\x21\x41\x00\x0c" A4), ERROR, 14, 0, NULL,
	  NULL },
	{ "v2 transport 3", S(SIG "\x21\x13\x00\x0c" A4), ERROR, 14, 0, NULL,
	  NULL },
	{ "v2 TCP4 without the family", S(SIG "\x21\x10\x00\x0c" A4), ERROR, 14,
	  0, NULL, NULL },
	{ "v2 UNSPEC family, stream", S(SIG "\x21\x01\x00\x00"), ERROR, 14, 0,
	  NULL, NULL },
	{ "v2 LOCAL with an unknown family", S(SIG "\x20\x41\x00\x00"), ERROR,
	  14, 0, NULL, NULL },
	{ "v2 length too short for TCP4", S(SIG "\x21\x11\x00\x0b" A4), ERROR,
	  16, 0, NULL, NULL },
	{ "v2 length too short for TCP6", S(SIG "\x21\x21\x00\x0c" A4), ERROR,
	  16, 0, NULL, NULL },
	{ "v2 length too short for AF_UNIX", S(SIG "\x21\x31\x00\xd7" Z216),
	  ERROR, 16, 0, NULL, NULL },
	{ "v2 length beyond the limit", S(SIG "\x21\x11\x0f\xf1" A4), ERROR, 16,
	  0, NULL, NULL },
	{ "v2 length 65535", S(SIG "\x21\x11\xff\xff" A4), ERROR, 16, 0, NULL,
	  NULL },
	{ "v2 TLV overrun",
	  S(SIG "\x21\x11\x00\x11" A4 "\x02\x00\x03"
	        "ab"),
	  ERROR, 33, 0, NULL, NULL },
	{ "v2 TLV header cut", S(SIG "\x21\x11\x00\x0e" A4 "\x02\x00" HTTP),
	  ERROR, 30, 0, NULL, NULL },
	{ "v2 CRC32C mismatch",
	  S(SIG "\x21\x11\x00\x13" A4 "\x03\x00\x04" CRC_A4_BAD), ERROR, 35, 0,
	  NULL, NULL },
	{ "v2 CRC32C of 3 bytes",
	  S(SIG "\x21\x11\x00\x12" A4 "\x03\x00\x03"
	        "\x20\xec\x95"),
	  ERROR, 34, 0, NULL, NULL },
	{ "v2 two CRC32C TLVs",
	  S(SIG "\x21\x11\x00\x1a" A4 "\x03\x00\x04" CRC_A4
	        "\x03\x00\x04" CRC_A4),
	  ERROR, 42, 0, NULL, NULL },
	{ "v2 two authorities",
	  S(SIG "\x21\x11\x00\x16" A4 "\x02\x00\x02"
	        "ab"
	        "\x02\x00\x02"
	        "cd"),
	  ERROR, 38, 0, NULL, NULL },
	{ "v2 unique ID of 129 bytes",
	  S(SIG "\x21\x00\x00\x84\x05\x00\x81" Z24 Z24 Z24 Z24 Z24 Z8 "\0"),
	  ERROR, 148, 0, NULL, NULL },
	{ "v2 SSL TLV too short",
	  S(SIG "\x21\x11\x00\x13" A4 "\x20\x00\x04\x01\0\0\0"), ERROR, 35, 0,
	  NULL, NULL },
	{ "v2 SSL sub-TLV overrun",
	  S(SIG "\x21\x11\x00\x17" A4 "\x20\x00\x08\x01\0\0\0\0\x21\x00\x01"),
	  ERROR, 39, 0, NULL, NULL },
	{ "v2 two SSL TLVs",
	  S(SIG "\x21\x11\x00\x1c" A4 "\x20\x00\x05\x01\0\0\0\0"
	        "\x20\x00\x05\x01\0\0\0\0"),
	  ERROR, 44, 0, NULL, NULL },
};

/* "address port" of an AF_INET or AF_INET6 sockaddr. */
static const char *
addr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf,
          size_t cap)
{
	char        addr[INET6_ADDRSTRLEN];
	const void *a;
	unsigned    port;

	if (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)ss;

		a = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6 &&
	           len == sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		a = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else {
		return "(none)";
	}
	if (inet_ntop(ss->ss_family, a, addr, sizeof(addr)) == NULL)
		return "(bad)";
	snprintf(buf, cap, "%s %u", addr, port);
	return buf;
}

static bool
same_addr(const struct sockaddr_storage *ss, socklen_t len, const char *want)
{
	char buf[80];

	return strcmp(addr_text(ss, len, buf, sizeof(buf)), want) == 0;
}

/* What the parser should make of a complete OK header. */
static bool
header_is(const struct proxy_hdr *h, const struct pp_case *c)
{
	int version = c->in[0] == 'P' ? 1 : 2;

	if (h->version != version || h->len != c->decided)
		return false;
	if (c->family == 0)
		return h->local && h->src_len == 0 && h->dst_len == 0 &&
		       h->src.ss_family == 0 && h->dst.ss_family == 0;
	return !h->local && h->src.ss_family == c->family &&
	       h->dst.ss_family == c->family &&
	       same_addr(&h->src, h->src_len, c->src) &&
	       same_addr(&h->dst, h->dst_len, c->dst);
}

static void
test_cases(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pp_case *c = &cases[i];
		const uint8_t        *p = (const uint8_t *)c->in;
		struct proxy_hdr      h;
		const char           *why = NULL;
		enum parse_result     r;
		size_t                bad = SIZE_MAX;

		r = proxy_proto_parse(p, c->len, &h, &why);
		if (r == OK)
			ok(r == c->result && header_is(&h, c), "%s", c->name);
		else
			ok(r == c->result && (r != ERROR || why != NULL),
			   "%s: %s", c->name, r == ERROR ? why : "again");
		for (k = 0; k <= c->len && bad == SIZE_MAX; k++) {
			enum parse_result want = c->result;

			if (want == AGAIN || k < c->decided)
				want = AGAIN;
			r = proxy_proto_parse(p, k, &h, &why);
			if (r != want || (r == OK && !header_is(&h, c)))
				bad = k;
		}
		ok(bad == SIZE_MAX, "%s: every prefix", c->name);
		if (bad != SIZE_MAX)
			printf("# first wrong with %zu bytes\n", bad);
	}
}

static const struct pp_case *
find_case(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	}
	abort();
}

static bool
span_is(struct proxy_span s, const char *str)
{
	return s.p != NULL && s.len == strlen(str) &&
	       memcmp(s.p, str, s.len) == 0;
}

static void
parse_case(const char *name, struct proxy_hdr *h)
{
	const struct pp_case *c = find_case(name);
	const char           *why = NULL;

	if (proxy_proto_parse((const uint8_t *)c->in, c->len, h, &why) != OK)
		memset(h, 0, sizeof(*h));
}

/* Spans point into the input; absent TLVs have a NULL span. */
static void
test_tlvs(void)
{
	struct proxy_hdr  h;
	struct proxy_span rest, v;
	const char       *in;
	uint8_t           type, types[8];
	size_t            n = 0;

	in = find_case("v2 TLVs: authority, ALPN, NOOP, custom")->in;
	parse_case("v2 TLVs: authority, ALPN, NOOP, custom", &h);
	ok(span_is(h.authority, "example.com") && span_is(h.alpn, "h2"),
	   "TLVs: authority and ALPN");
	ok(h.authority.p == (const uint8_t *)in + 31,
	   "TLVs: spans point into the input");
	ok(h.unique_id.p == NULL && !h.ssl && !h.crc32c,
	   "TLVs: absent ones are empty");
	ok(h.tlvs.p == (const uint8_t *)in + 28 && h.tlvs.len == 28,
	   "TLVs: all of them after the addresses");
	rest = h.tlvs;
	while (n < sizeof(types) && proxy_proto_tlv_next(&rest, &type, &v))
		types[n++] = type;
	ok(n == 4 && types[0] == PROXY_PROTO_TLV_AUTHORITY &&
	           types[1] == PROXY_PROTO_TLV_ALPN &&
	           types[2] == PROXY_PROTO_TLV_NOOP && types[3] == 0xe0 &&
	           rest.len == 0 && v.len == 3 && memcmp(v.p, "abc", 3) == 0,
	   "tlv_next: walks all four, custom last");
	rest.p = (const uint8_t *)"\x02\x00\x05"
	                          "abcd";
	rest.len = 7;
	ok(!proxy_proto_tlv_next(&rest, &type, &v) && rest.len == 7,
	   "tlv_next: value overrun");
	rest.len = 2;
	ok(!proxy_proto_tlv_next(&rest, &type, &v), "tlv_next: header cut");

	parse_case("v2 TLVs and CRC32C", &h);
	ok(h.crc32c && span_is(h.authority, "example.com"),
	   "CRC32C: verified, with other TLVs");
	parse_case("v2 LOCAL CRC32C", &h);
	ok(h.crc32c && h.local, "CRC32C: verified on a LOCAL header");
	parse_case("v2 PROXY TCP4", &h);
	ok(!h.crc32c && h.tlvs.len == 0, "CRC32C: absent, no TLVs");

	parse_case("v2 SSL TLV", &h);
	ok(h.ssl && h.ssl_client == PROXY_PROTO_SSL_CLIENT_SSL &&
	           h.ssl_verify == 0 && span_is(h.ssl_version, "TLSv1.3") &&
	           span_is(h.ssl_cipher, "TLS_AES_128_GCM_SHA256") &&
	           h.ssl_cn.p == NULL && h.crc32c,
	   "SSL: client, verify, version, cipher");
	parse_case("v2 unique ID of 128 bytes", &h);
	ok(h.unique_id.len == 128 && h.local, "unique ID: 128 bytes");
	parse_case("v2 LOCAL with TCP4 and no addresses", &h);
	ok(h.tlvs.p == NULL, "LOCAL without its addresses: no TLVs read");
}

/* CRC32c check values: the usual one, and RFC 3720 B.4's. */
static void
test_crc32c(void)
{
	uint8_t buf[32];
	size_t  i;

	ok(proxy_proto_crc32c((const uint8_t *)"123456789", 9) == 0xe3069283,
	   "crc32c: \"123456789\"");
	memset(buf, 0, sizeof(buf));
	ok(proxy_proto_crc32c(buf, sizeof(buf)) == 0x8a9136aa,
	   "crc32c: 32 zeros");
	memset(buf, 0xff, sizeof(buf));
	ok(proxy_proto_crc32c(buf, sizeof(buf)) == 0x62a8ab43,
	   "crc32c: 32 bytes of 0xff");
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	ok(proxy_proto_crc32c(buf, sizeof(buf)) == 0x46dd794e,
	   "crc32c: 0 to 31");
	ok(proxy_proto_crc32c(buf, 0) == 0, "crc32c: nothing");
}

/* The longest v2 header we take, and one byte more. */
static void
test_v2_limit(void)
{
	static uint8_t    buf[PROXY_PROTO_V2_MAX + 1];
	struct proxy_hdr  h;
	size_t            tlv = PROXY_PROTO_V2_MAX - 16 - 12 - 3;
	const char       *why = NULL;
	enum parse_result r;

	memcpy(buf, SIG "\x21\x11\x0f\xf0" A4, 28);
	buf[28] = PROXY_PROTO_TLV_NOOP;
	buf[29] = (uint8_t)(tlv >> 8);
	buf[30] = (uint8_t)tlv;
	r = proxy_proto_parse(buf, PROXY_PROTO_V2_MAX, &h, &why);
	ok(r == OK && h.len == PROXY_PROTO_V2_MAX && !h.local,
	   "v2: %d bytes with a NOOP TLV", PROXY_PROTO_V2_MAX);
	r = proxy_proto_parse(buf, PROXY_PROTO_V2_MAX - 1, &h, &why);
	ok(r == AGAIN, "v2: %d bytes, one short", PROXY_PROTO_V2_MAX);
	buf[15] = 0xf1;
	buf[30]++;
	r = proxy_proto_parse(buf, 16, &h, &why);
	ok(r == ERROR && why != NULL, "v2: %d bytes refused at once (%s)",
	   PROXY_PROTO_V2_MAX + 1, why);
	r = proxy_proto_parse((const uint8_t *)"GET", 3, &h, NULL);
	ok(r == ERROR, "why may be NULL");
}

/*
 * Headers written by real senders, captured by
 * tests/fuzz/proxy_proto_capture.sh into the seed corpus: each file is
 * what a listener received, the header and then the client's first bytes.
 * Ports differ between captures; a request's Host names the port that the
 * header's destination must carry.
 */
struct capture {
	const char *file;
	int         version;
	int         family; /* 0: local */
	const char *addr;   /* of both ends */
	const char *next;   /* the bytes after the header begin so */
	size_t      next_len;
};

static const struct capture captures[] = {
	{ "capture-curl-v1-tcp4", 1, AF_INET, "127.0.0.1", S("GET / ") },
	{ "capture-curl-v1-tcp6", 1, AF_INET6, "::1", S("GET / ") },
	{ "capture-haproxy-v1-tcp4", 1, AF_INET, "127.0.0.1", S("GET / ") },
	{ "capture-haproxy-v1-tcp6", 1, AF_INET6, "::1", S("GET / ") },
	{ "capture-haproxy-v1-check", 1, AF_INET, "127.0.0.1", S("") },
	{ "capture-haproxy-v2-tcp4", 2, AF_INET, "127.0.0.1", S("GET / ") },
	{ "capture-haproxy-v2-tcp6", 2, AF_INET6, "::1", S("GET / ") },
	{ "capture-haproxy-v2-check", 2, 0, NULL, S("") },
	{ "capture-haproxy-v2-crc32c-unique-id", 2, AF_INET, "127.0.0.1",
	  S("GET / ") },
	{ "capture-haproxy-v2-ssl", 2, AF_INET, "127.0.0.1", S("GET / ") },
	{ "capture-haproxy-v2-tls-passthrough", 2, AF_INET, "127.0.0.1",
	  S("\x16\x03\x01") },
};

/* Reads $srcdir/fuzz/proxy_proto.in/NAME into buf; its length, or 0. */
static size_t
read_capture(const char *name, uint8_t *buf, size_t cap)
{
	const char *srcdir = getenv("srcdir");
	char        path[4096];
	FILE       *f;
	size_t      n;
	int         len;

	len = snprintf(path, sizeof(path), "%s/fuzz/proxy_proto.in/%s",
	               srcdir != NULL ? srcdir : ".", name);
	if (len < 0 || (size_t)len >= sizeof(path) ||
	    (f = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* The port of the Host field in the request at p[0..len), or -1. */
static long
host_port(const uint8_t *p, size_t len)
{
	char        head[1024];
	const char *host, *end, *colon;

	if (len >= sizeof(head))
		len = sizeof(head) - 1;
	memcpy(head, p, len);
	head[len] = '\0';
	if ((host = strstr(head, "\r\nHost: ")) == NULL ||
	    (end = strstr(host + 2, "\r\n")) == NULL)
		return -1;
	for (colon = end; colon > host && *colon != ':'; colon--)
		;
	return colon > host ? strtol(colon + 1, NULL, 10) : -1;
}

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)
		                     ->sin_port);
	return ntohs(
	        ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

static bool
addr_is(const struct sockaddr_storage *ss, socklen_t len, const char *want)
{
	char buf[80], *sp;

	addr_text(ss, len, buf, sizeof(buf));
	if ((sp = strchr(buf, ' ')) != NULL)
		*sp = '\0';
	return strcmp(buf, want) == 0;
}

static void
test_captures(void)
{
	static uint8_t buf[65536];
	size_t         i, k;

	for (i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		const struct capture *c = &captures[i];
		struct proxy_hdr      h;
		const char           *why = "";
		size_t            len = read_capture(c->file, buf, sizeof(buf));
		enum parse_result r;
		bool              pass, prefixes = true;

		r = proxy_proto_parse(buf, len, &h, &why);
		pass = len > 0 && r == OK && h.version == c->version &&
		       len - h.len >= c->next_len &&
		       memcmp(buf + h.len, c->next, c->next_len) == 0;
		if (pass && c->family == 0)
			pass = h.local;
		else if (pass)
			pass = !h.local && h.src.ss_family == c->family &&
			       h.dst.ss_family == c->family &&
			       addr_is(&h.src, h.src_len, c->addr) &&
			       addr_is(&h.dst, h.dst_len, c->addr);
		ok(pass, "%s: %zu bytes, header of %zu%s%s", c->file, len,
		   h.len, r == ERROR ? ": " : "", r == ERROR ? why : "");
		if (pass && c->next_len >= 3 && memcmp(c->next, "GET", 3) == 0)
			ok(host_port(buf + h.len, len - h.len) ==
			           (long)port_of(&h.dst),
			   "%s: destination port %u is the Host's", c->file,
			   port_of(&h.dst));
		for (k = 0; k < h.len; k++) {
			if (proxy_proto_parse(buf, k, &h, &why) != AGAIN)
				prefixes = false;
		}
		ok(pass && prefixes, "%s: every prefix awaited", c->file);
	}
}

/* What HAProxy puts in its TLVs, beyond the addresses. */
static void
test_capture_tlvs(void)
{
	static uint8_t   buf[4096];
	struct proxy_hdr h;
	size_t           len;

	len = read_capture("capture-haproxy-v2-crc32c-unique-id", buf,
	                   sizeof(buf));
	memset(&h, 0, sizeof(h));
	ok(proxy_proto_parse(buf, len, &h, NULL) == OK && h.crc32c &&
	           h.unique_id.len > 0 &&
	           memcmp(h.unique_id.p, "127.0.0.1:", 10) == 0 && !h.ssl,
	   "HAProxy: CRC32C matches, unique ID");
	/* a bit flipped anywhere in the header fails its CRC or framing */
	buf[20] ^= 0x01;
	ok(proxy_proto_parse(buf, len, &h, NULL) == ERROR,
	   "HAProxy: a flipped address bit fails CRC32C");

	len = read_capture("capture-haproxy-v2-ssl", buf, sizeof(buf));
	memset(&h, 0, sizeof(h));
	ok(proxy_proto_parse(buf, len, &h, NULL) == OK && h.crc32c &&
	           span_is(h.authority, "proxy.example") &&
	           span_is(h.alpn, "http/1.1") && h.ssl &&
	           (h.ssl_client & PROXY_PROTO_SSL_CLIENT_SSL) &&
	           h.ssl_verify == 0 && span_is(h.ssl_version, "TLSv1.3") &&
	           h.ssl_cipher.len > 0 && h.ssl_cn.p == NULL,
	   "HAProxy: SSL TLV, authority (SNI), ALPN, CRC32C");
}

/*
 * Formatters
 */

static struct sockaddr_in
sin4(const char *addr, unsigned port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	return sin;
}

static struct sockaddr_in6
sin6(const char *addr, unsigned port)
{
	struct sockaddr_in6 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin6_family = AF_INET6;
	sin.sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, addr, &sin.sin6_addr);
	return sin;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
test_format_v1(void)
{
	struct sockaddr_in  a = sin4("192.0.2.1", 56324);
	struct sockaddr_in  b = sin4("198.51.100.2", 443);
	struct sockaddr_in6 c = sin6("2001:db8::1", 1234);
	struct sockaddr_in6 d = sin6("2001:db8::2", 443);
	const char         *tcp4 = find_case("v1 TCP4")->in;
	char                buf[PROXY_PROTO_V1_MAX + 1];
	size_t              n;

	n = proxy_proto_format_v1(buf, sizeof(buf), SA(a), SA(b));
	ok(n == 45 && strcmp(buf, tcp4) == 0, "format v1: TCP4");
	n = proxy_proto_format_v1(buf, sizeof(buf), SA(c), SA(d));
	ok(n == 45 && strcmp(buf, find_case("v1 TCP6")->in) == 0,
	   "format v1: TCP6");
	n = proxy_proto_format_v1(buf, sizeof(buf), SA(a), SA(d));
	ok(n == 15 && strcmp(buf, "PROXY UNKNOWN\r\n") == 0,
	   "format v1: mixed families give UNKNOWN");
	n = proxy_proto_format_v1(buf, sizeof(buf), NULL, NULL);
	ok(n == 15 && strcmp(buf, "PROXY UNKNOWN\r\n") == 0,
	   "format v1: no addresses give UNKNOWN");
	ok(proxy_proto_format_v1(buf, 45, SA(a), SA(b)) == 0,
	   "format v1: no room for the NUL");
	ok(proxy_proto_format_v1(buf, 46, SA(a), SA(b)) == 45,
	   "format v1: just enough room");
	ok(proxy_proto_format_v1(NULL, 0, SA(a), SA(b)) == 0,
	   "format v1: no buffer");
}

static void
test_format_v2(void)
{
	struct sockaddr_in    a = sin4("192.0.2.1", 56324);
	struct sockaddr_in    b = sin4("198.51.100.2", 443);
	struct sockaddr_in6   c = sin6("2001:db8::1", 1234);
	struct sockaddr_in6   d = sin6("2001:db8::2", 443);
	const struct pp_case *crc6 = find_case("v2 TCP6 CRC32C");
	uint8_t               buf[128];
	size_t                n;

	n = proxy_proto_format_v2(buf, sizeof(buf), SA(a), SA(b), false);
	ok(n == 28 && memcmp(buf, find_case("v2 PROXY TCP4")->in, n) == 0,
	   "format v2: TCP4");
	n = proxy_proto_format_v2(buf, sizeof(buf), SA(a), SA(b), true);
	ok(n == 35 && memcmp(buf, find_case("v2 CRC32C")->in, n) == 0,
	   "format v2: TCP4 with CRC32C");
	n = proxy_proto_format_v2(buf, sizeof(buf), SA(c), SA(d), true);
	ok(n == crc6->len && memcmp(buf, crc6->in, n) == 0,
	   "format v2: TCP6 with CRC32C");
	n = proxy_proto_format_v2(buf, sizeof(buf), SA(c), SA(b), true);
	ok(n == 23 && memcmp(buf, find_case("v2 LOCAL CRC32C")->in, n) == 0,
	   "format v2: mixed families give LOCAL");
	n = proxy_proto_format_v2(buf, sizeof(buf), NULL, NULL, false);
	ok(n == 16 && memcmp(buf, SIG "\x20\x00\x00\x00", 16) == 0,
	   "format v2: LOCAL");
	ok(proxy_proto_format_v2(buf, 34, SA(a), SA(b), true) == 0 &&
	           proxy_proto_format_v2(buf, 35, SA(a), SA(b), true) == 35,
	   "format v2: room checked");
}

/* Formatted, then parsed: the same addresses come back. */
static void
test_round_trip(void)
{
	static const struct {
		const char *src, *dst;
		unsigned    sport, dport;
	} pairs[] = {
		{ "192.0.2.1", "198.51.100.2", 56324, 443 },
		{ "0.0.0.0", "255.255.255.255", 0, 65535 },
		{ "10.0.0.1", "10.0.0.2", 1, 10 },
		{ "::", "::1", 0, 65535 },
		{ "::ffff:192.0.2.1", "2001:db8::2", 8080, 80 },
		{ F39, F39, 65535, 65535 },
		{ "fe80::1:2:3:4", "2001:db8:0:1:1:1:1:1", 100, 1000 },
	};
	size_t i;
	int    v;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct sockaddr_storage s, d;
		struct proxy_hdr        h;
		uint8_t                 buf[PROXY_PROTO_V1_MAX + 64];
		char                    want_s[80], want_d[80];
		const char             *why = NULL;
		size_t                  n;
		enum parse_result       r;

		memset(&s, 0, sizeof(s));
		memset(&d, 0, sizeof(d));
		if (strchr(pairs[i].src, ':') != NULL) {
			struct sockaddr_in6 a =
			        sin6(pairs[i].src, pairs[i].sport);
			struct sockaddr_in6 b =
			        sin6(pairs[i].dst, pairs[i].dport);

			memcpy(&s, &a, sizeof(a));
			memcpy(&d, &b, sizeof(b));
		} else {
			struct sockaddr_in a =
			        sin4(pairs[i].src, pairs[i].sport);
			struct sockaddr_in b =
			        sin4(pairs[i].dst, pairs[i].dport);

			memcpy(&s, &a, sizeof(a));
			memcpy(&d, &b, sizeof(b));
		}
		addr_text(&s,
		          s.ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                 : sizeof(struct sockaddr_in6),
		          want_s, sizeof(want_s));
		addr_text(&d,
		          d.ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                 : sizeof(struct sockaddr_in6),
		          want_d, sizeof(want_d));
		for (v = 1; v <= 2; v++) {
			if (v == 1)
				n = proxy_proto_format_v1(
				        (char *)buf, sizeof(buf), SA(s), SA(d));
			else
				n = proxy_proto_format_v2(buf, sizeof(buf),
				                          SA(s), SA(d), v == 2);
			r = proxy_proto_parse(buf, n, &h, &why);
			ok(n > 0 && r == OK && h.len == n && h.version == v &&
			           !h.local &&
			           same_addr(&h.src, h.src_len, want_s) &&
			           same_addr(&h.dst, h.dst_len, want_d),
			   "round trip v%d: %s -> %s", v, want_s, want_d);
		}
	}
}

int
main(void)
{
	test_cases();
	test_tlvs();
	test_crc32c();
	test_v2_limit();
	test_captures();
	test_capture_tlvs();
	test_format_v1();
	test_format_v2();
	test_round_trip();
	return tap_done();
}
