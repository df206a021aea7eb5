/*
 * test_tls_peek: the sniffers on the first bytes of TLS and of other
 * protocols; the reassembler on the real hellos and server flights of
 * $srcdir/fuzz/tls_peek.in (see capture_hello.py), whole, byte by byte,
 * re-recorded and cut at every length; the hello and Certificate parsers
 * on those and on hand-built messages, one for each way to be wrong.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tls_peek.h"

/* A string literal as pointer and length, so it may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

#define OK    PARSE_OK
#define AGAIN PARSE_AGAIN
#define ERROR PARSE_ERROR

#define CLIENT TLS_PEER_CLIENT
#define SERVER TLS_PEER_SERVER

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define BIG (1 << 18) /* stream and message buffers of the tests */

static bool
span_is(struct tls_span s, const char *str)
{
	return s.len == strlen(str) &&
	       (s.len == 0 || memcmp(s.p, str, s.len) == 0);
}

static bool
same_bytes(struct tls_span a, struct tls_span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* A corpus file: "$srcdir/fuzz/tls_peek.in/name"; 0 if unreadable. */
static size_t
load(const char *name, uint8_t *buf, size_t cap)
{
	const char *srcdir = getenv("srcdir");
	char        path[4096];
	FILE       *f;
	size_t      n;

	snprintf(path, sizeof(path), "%s/fuzz/tls_peek.in/%s",
	         srcdir != NULL ? srcdir : ".", name);
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* A heap copy of exactly n bytes, so that ASan sees any overread. */
static uint8_t *
exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n > 0 ? n : 1);

	if (q == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/*
 * The handshake bytes of the leading handshake records of a stream, and
 * the length of those records.
 */
static size_t
unrecord(const uint8_t *p, size_t len, uint8_t *out, size_t *stream_len)
{
	size_t pos = 0, n = 0, rlen;

	while (len - pos >= 5 && p[pos] == TLS_CT_HANDSHAKE) {
		rlen = (size_t)p[pos + 3] << 8 | p[pos + 4];
		memcpy(out + n, p + pos + 5, rlen);
		n += rlen;
		pos += 5 + rlen;
	}
	*stream_len = pos;
	return n;
}

/* Cuts handshake bytes into records of at most size bytes. */
static size_t
rerecord(const uint8_t *hs, size_t len, size_t size, uint8_t *out)
{
	size_t i, n, o = 0;

	for (i = 0; i < len; i += n) {
		n = len - i < size ? len - i : size;
		out[o++] = TLS_CT_HANDSHAKE;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(n >> 8);
		out[o++] = (uint8_t)n;
		memcpy(out + o, hs + i, n);
		o += n;
	}
	return o;
}

/*
 * Message builder: bytes appended to a buffer; vec_open() and vec_close()
 * wrap what lies between them in a length of 1, 2 or 3 bytes.
 */
struct build {
	uint8_t b[BIG];
	size_t  n;
};

static void
put(struct build *b, const void *p, size_t n)
{
	if (n > 0)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put8(struct build *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void
put16(struct build *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static size_t
vec_open(struct build *b, size_t width)
{
	size_t mark = b->n;

	memset(b->b + b->n, 0, width);
	b->n += width;
	return mark;
}

static void
vec_close(struct build *b, size_t mark, size_t width)
{
	size_t len = b->n - mark - width, i;

	for (i = 0; i < width; i++)
		b->b[mark + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
}

/*
 * Feeding a reassembler: all results up to the first that is not a
 * handshake message, with the stream offered step bytes at a time (all at
 * once if step is 0).
 */
#define MAX_MSGS 16

struct flight {
	struct tls_hs_msg msgs[MAX_MSGS];
	size_t            n;    /* PARSE_OK results, the final one included */
	enum parse_result last; /* result after them: AGAIN, ERROR, or OK */
	const char       *why;
	unsigned          calls;
	uint8_t           msg[BIG];
};

static struct flight fl_a, fl_b;
static uint8_t       stream[BIG], stream2[BIG], hs[BIG];
static struct build  bld;

static void
read_flight(const uint8_t *p, size_t len, enum tls_peer peer, size_t step,
            size_t cap, struct flight *f)
{
	struct tls_hs_reasm r;
	struct tls_hs_msg   m;
	size_t              avail = step == 0 ? len : 0;
	enum parse_result   res;

	tls_peek_reasm_init(&r, peer);
	f->n = 0;
	f->why = NULL;
	f->calls = 0;
	for (;;) {
		f->calls++;
		res = tls_peek_reasm_next(&r, p, avail, f->msg, cap, &m,
		                          &f->why);
		if (res == OK) {
			f->msgs[f->n++] = m;
			if (m.content == TLS_CT_HANDSHAKE && f->n < MAX_MSGS)
				continue;
			break;
		}
		if (res == ERROR || avail == len)
			break;
		avail = len - avail < step ? len : avail + step;
	}
	f->last = res;
}

static bool
same_flight(const struct flight *a, const struct flight *b)
{
	size_t i;

	if (a->n != b->n || a->last != b->last || a->why != b->why)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct tls_hs_msg *x = &a->msgs[i], *y = &b->msgs[i];

		if (x->content != y->content || x->type != y->type ||
		    x->stream_len != y->stream_len ||
		    x->alert_level != y->alert_level ||
		    x->alert_desc != y->alert_desc ||
		    !same_bytes(x->body, y->body))
			return false;
	}
	return true;
}

/*
 * tls_peek_sniff and tls_peek_sniff_server
 */

struct sniff_case {
	const char    *name;
	const char    *in;
	size_t         len;
	bool           server;
	enum tls_sniff result;
};

static const struct sniff_case sniff_cases[] = {
	{ "sniff: empty", S(""), false, TLS_SNIFF_MORE },
	{ "sniff: HTTP request", S("GET / HTTP/1.1\r\n"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: HTTP request, first byte", S("G"), false, TLS_SNIFF_NOT_TLS },
	{ "sniff: SSH banner", S("SSH-2.0-OpenSSH_9.2\r\n"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: NUL", S("\0"), false, TLS_SNIFF_NOT_TLS },
	{ "sniff: SSLv2 ClientHello", S("\x80\x2e\x01\x03\x01"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: handshake type only", S("\x16"), false, TLS_SNIFF_MORE },
	{ "sniff: 16 03 01", S("\x16\x03\x01"), false, TLS_SNIFF_MORE },
	{ "sniff: record header", S("\x16\x03\x01\x02\x00"), false,
	  TLS_SNIFF_MORE },
	{ "sniff: client_hello", S("\x16\x03\x01\x02\x00\x01"), false,
	  TLS_SNIFF_TLS },
	{ "sniff: record version SSL 3.0", S("\x16\x03\x00\x00\x30\x01"), false,
	  TLS_SNIFF_TLS },
	{ "sniff: record version 0x0304", S("\x16\x03\x04\x00\x30\x01"), false,
	  TLS_SNIFF_TLS },
	{ "sniff: record version 0x0305", S("\x16\x03\x05"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: record version 2.0", S("\x16\x02"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: empty record", S("\x16\x03\x01\x00\x00"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: record of 2^14", S("\x16\x03\x01\x40\x00\x01"), false,
	  TLS_SNIFF_TLS },
	{ "sniff: record of 2^14 + 1", S("\x16\x03\x01\x40\x01"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: record length high byte too big", S("\x16\x03\x01\x41"),
	  false, TLS_SNIFF_NOT_TLS },
	{ "sniff: server_hello from a client", S("\x16\x03\x03\x00\x30\x02"),
	  false, TLS_SNIFF_NOT_TLS },
	{ "sniff: alert from a client", S("\x15\x03\x03\x00\x02"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff: application data", S("\x17\x03\x03\x00\x10"), false,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff server: empty", S(""), true, TLS_SNIFF_MORE },
	{ "sniff server: server_hello", S("\x16\x03\x03\x00\x5a\x02"), true,
	  TLS_SNIFF_TLS },
	{ "sniff server: client_hello", S("\x16\x03\x03\x00\x5a\x01"), true,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff server: alert", S("\x15\x03\x03\x00\x02\x02\x28"), true,
	  TLS_SNIFF_TLS },
	{ "sniff server: alert header", S("\x15\x03\x03"), true,
	  TLS_SNIFF_MORE },
	{ "sniff server: alert of 3 bytes", S("\x15\x03\x03\x00\x03"), true,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff server: alert of 258 bytes", S("\x15\x03\x03\x01"), true,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff server: ChangeCipherSpec", S("\x14\x03\x03\x00\x01\x01"), true,
	  TLS_SNIFF_NOT_TLS },
	{ "sniff server: HTTP response", S("HTTP/1.1 400 Bad Request\r\n"),
	  true, TLS_SNIFF_NOT_TLS },
};

static void
test_sniff(void)
{
	size_t i, n;

	for (i = 0; i < NELEM(sniff_cases); i++) {
		const struct sniff_case *c = &sniff_cases[i];
		const uint8_t           *p = (const uint8_t *)c->in;
		enum tls_sniff           s, prev = TLS_SNIFF_MORE;
		bool                     steady = true;

		s = c->server ? tls_peek_sniff_server(p, c->len)
		              : tls_peek_sniff(p, c->len);
		ok(s == c->result, "%s", c->name);
		/* no prefix answers differently, but for MORE */
		for (n = 0; n <= c->len; n++) {
			s = c->server ? tls_peek_sniff_server(p, n)
			              : tls_peek_sniff(p, n);
			if (prev != TLS_SNIFF_MORE && s != prev)
				steady = false;
			prev = s;
		}
		ok(steady, "%s: every prefix", c->name);
	}
}

/*
 * The corpus: real ClientHellos
 */

struct client_file {
	const char *file;
	uint16_t    max_version;
	unsigned    n_key_shares;
	uint16_t    first_group; /* of the key shares (0: none) */
	bool        padding, ech, psk;
	unsigned    grease_extensions;
	size_t      records;
};

static const struct client_file client_files[] = {
	{ "gnutls-cli-tls13.bin", TLS_VERSION_TLS13, 2, 0x0017, false, false,
	  false, 0, 1 },
	{ "gnutls-cli-tls12.bin", TLS_VERSION_TLS12, 0, 0, false, false, false,
	  0, 1 },
	{ "openssl-s_client-tls13.bin", TLS_VERSION_TLS13, 1, 0x001d, false,
	  false, false, 0, 1 },
	{ "openssl-s_client-tls12.bin", TLS_VERSION_TLS12, 0, 0, false, false,
	  false, 0, 1 },
	{ "openssl-s_client-p256-first.bin", TLS_VERSION_TLS13, 1, 0x0017,
	  false, false, false, 0, 1 },
	{ "curl-tls13.bin", TLS_VERSION_TLS13, 1, 0x001d, true, false, false, 0,
	  1 },
	{ "curl-tls12-only.bin", TLS_VERSION_TLS12, 0, 0, false, false, false,
	  0, 1 },
	{ "chromium-like.bin", TLS_VERSION_TLS13, 3, 0, true, true, false, 2,
	  1 },
	{ "chromium-like-psk.bin", TLS_VERSION_TLS13, 3, 0, true, true, true, 2,
	  1 },
	{ "chromium-like-records.bin", TLS_VERSION_TLS13, 3, 0, true, true,
	  false, 2, 4 },
};

/* What every captured hello offers: see capture_hello.py. */
static bool
common_fields(const struct tls_client_hello *ch)
{
	struct tls_span list = ch->alpn, name;
	bool            good;

	good = span_is(ch->sni, "www.example.test") && ch->random.len == 32;
	good = good && tls_peek_alpn_next(&list, &name) && span_is(name, "h2");
	good = good && tls_peek_alpn_next(&list, &name) &&
	       span_is(name, "http/1.1");
	return good && !tls_peek_alpn_next(&list, &name) && list.len == 0;
}

static bool
key_shares_as(const struct tls_client_hello *ch, const struct client_file *f)
{
	struct tls_span list = ch->key_shares, key;
	uint16_t        group;
	unsigned        n = 0;
	bool            first = true, good = true;

	while (tls_peek_key_share_next(&list, &group, &key)) {
		n++;
		if (first && f->first_group != 0 && group != f->first_group)
			good = false;
		/* RFC 8446 4.2.8.2: X25519 shares are 32 bytes */
		if (group == 0x001d && key.len != 32)
			good = false;
		/* ML-KEM-768 encapsulation key, then X25519 */
		if (group == 0x11ec && key.len != 1216)
			good = false;
		first = false;
	}
	return good && n == f->n_key_shares && list.len == 0;
}

static void
test_client_file_fields(const struct client_file *f, const struct flight *fl)
{
	const struct tls_hs_msg *m = &fl->msgs[0];
	struct tls_client_hello  ch;
	const char              *why = NULL;
	enum parse_result        r;

	r = tls_peek_client_hello(m->body.p, m->body.len, &ch, &why);
	ok(r == OK, "%s: parses (%s)", f->file, r == OK ? "ok" : why);
	if (r != OK)
		return;
	ok(common_fields(&ch), "%s: SNI and ALPN", f->file);
	ok(ch.max_version == f->max_version, "%s: offers %s", f->file,
	   tls_peek_version_name(f->max_version));
	ok(key_shares_as(&ch, f), "%s: %u key shares", f->file,
	   f->n_key_shares);
	ok(ch.has_padding == f->padding && ch.has_ech == f->ech &&
	           ch.has_pre_shared_key == f->psk &&
	           ch.has_extended_master_secret,
	   "%s: padding %d, ECH %d, PSK %d, EMS", f->file, f->padding, f->ech,
	   f->psk);
	ok(ch.grease.extensions == f->grease_extensions &&
	           (f->grease_extensions == 0) ==
	                   (ch.grease.cipher_suites == 0 &&
	                    ch.grease.groups == 0 && ch.grease.versions == 0 &&
	                    ch.grease.key_shares == 0),
	   "%s: GREASE values", f->file);
}

/* Every strict prefix of the stream, each in a fresh reassembler. */
static bool
every_prefix_again(const uint8_t *p, size_t len, enum tls_peer peer)
{
	struct tls_hs_reasm r;
	struct tls_hs_msg   m;
	const char         *why;
	size_t              n;
	bool                good = true;

	for (n = 0; n < len; n++) {
		uint8_t *q = exact_copy(p, n);

		tls_peek_reasm_init(&r, peer);
		if (tls_peek_reasm_next(&r, q, n, fl_b.msg, BIG, &m, &why) !=
		    AGAIN)
			good = false;
		free(q);
	}
	return good;
}

/*
 * Byte by byte, with every byte the reassembler has consumed overwritten:
 * it must never look at them again (and so works in O(n) overall).
 */
static bool
never_looks_back(const uint8_t *p, size_t len, struct tls_span *body)
{
	struct tls_hs_reasm r;
	struct tls_hs_msg   m;
	const char         *why;
	size_t              n;

	memcpy(stream2, p, len);
	tls_peek_reasm_init(&r, CLIENT);
	for (n = 0; n <= len; n++) {
		switch (tls_peek_reasm_next(&r, stream2, n, fl_b.msg, BIG, &m,
		                            &why)) {
		case OK:
			*body = m.body;
			return n == len && m.stream_len == len;
		case AGAIN:
			memset(stream2, 0xee, r.pos);
			break;
		case ERROR:
			return false;
		}
	}
	return false;
}

static void
test_client_file(const struct client_file *f)
{
	size_t          len = load(f->file, stream, BIG), hs_len, slen, rl;
	struct tls_span body = { NULL, 0 };
	bool            good;

	ok(len > 0, "%s: loaded", f->file);
	if (len == 0)
		return;
	ok(tls_peek_sniff(stream, len) == TLS_SNIFF_TLS &&
	           tls_peek_sniff_server(stream, len) == TLS_SNIFF_NOT_TLS,
	   "%s: sniffed as a client's TLS", f->file);
	read_flight(stream, len, CLIENT, 0, BIG, &fl_a);
	ok(fl_a.last == AGAIN && fl_a.n == 1 &&
	           fl_a.msgs[0].content == TLS_CT_HANDSHAKE &&
	           fl_a.msgs[0].type == TLS_HT_CLIENT_HELLO &&
	           fl_a.msgs[0].stream_len == len,
	   "%s: one ClientHello in all %zu bytes", f->file, len);
	if (fl_a.n != 1)
		return;
	test_client_file_fields(f, &fl_a);

	read_flight(stream, len, CLIENT, 1, BIG, &fl_b);
	ok(same_flight(&fl_a, &fl_b) && fl_b.calls == len + 2,
	   "%s: byte by byte", f->file);
	ok(every_prefix_again(stream, len, CLIENT), "%s: every prefix is AGAIN",
	   f->file);
	ok(never_looks_back(stream, len, &body) &&
	           same_bytes(body, fl_a.msgs[0].body),
	   "%s: consumed bytes never read again", f->file);

	hs_len = unrecord(stream, len, hs, &slen);
	ok(slen == len && hs_len == len - 5 * f->records, "%s: %zu record(s)",
	   f->file, f->records);
	good = true;
	for (rl = 1; rl <= 1001; rl += rl < 8 ? 1 : 99) {
		size_t n = rerecord(hs, hs_len, rl, stream2);

		read_flight(stream2, n, CLIENT, rl % 3 == 0 ? 7 : 0, BIG,
		            &fl_b);
		if (fl_b.n != 1 || fl_b.last != AGAIN ||
		    !same_bytes(fl_b.msgs[0].body, fl_a.msgs[0].body) ||
		    fl_b.msgs[0].stream_len != n)
			good = false;
	}
	ok(good, "%s: re-recorded into records of 1..1001 bytes", f->file);
}

/*
 * The corpus: what servers sent in reply
 */

struct server_file {
	const char *file;
	const char *types; /* handshake types delivered, then the end */
	uint8_t     end;   /* TLS_CT_* of the last result, 0: AGAIN */
	uint16_t    version;
	bool        hrr, downgrade;
	uint16_t    group; /* key_share */
	const char *alpn;
	unsigned    certs; /* in a TLS 1.2 Certificate */
};

static const struct server_file server_files[] = {
	{ "gnutls-serv-tls12.bin", "\x02\x0b\x0c\x0d\x0e", 0, TLS_VERSION_TLS12,
	  false, false, 0, "", 2 },
	{ "openssl-s_server-tls12.bin", "\x02\x0b\x0c\x0e", 0,
	  TLS_VERSION_TLS12, false, false, 0, "http/1.1", 2 },
	{ "openssl-s_server-downgrade.bin", "\x02\x0b\x0c\x0e", 0,
	  TLS_VERSION_TLS12, false, true, 0, "", 2 },
	{ "gnutls-serv-tls13.bin", "\x02", TLS_CT_CHANGE_CIPHER_SPEC,
	  TLS_VERSION_TLS13, false, false, 0x0017, "", 0 },
	{ "openssl-s_server-tls13.bin", "\x02", TLS_CT_CHANGE_CIPHER_SPEC,
	  TLS_VERSION_TLS13, false, false, 0x001d, "", 0 },
	{ "openssl-s_server-hrr.bin", "\x02", TLS_CT_CHANGE_CIPHER_SPEC,
	  TLS_VERSION_TLS13, true, false, 0x001d, "", 0 },
	{ "gnutls-serv-tls13-only-alert.bin", "", TLS_CT_ALERT, 0, false, false,
	  0, "", 0 },
};

static bool
flight_as(const struct flight *fl, const struct server_file *f)
{
	size_t i, n = strlen(f->types);

	if (fl->n != n + (f->end != 0) || fl->last != (f->end ? OK : AGAIN))
		return false;
	for (i = 0; i < n; i++) {
		if (fl->msgs[i].content != TLS_CT_HANDSHAKE ||
		    fl->msgs[i].type != (uint8_t)f->types[i])
			return false;
	}
	return f->end == 0 || fl->msgs[n].content == f->end;
}

static void
test_server_hello_of(const struct server_file *f, const struct flight *fl)
{
	const struct tls_hs_msg *m = &fl->msgs[0];
	struct tls_server_hello  sh;
	const char              *why = NULL;
	enum parse_result        r;

	r = tls_peek_server_hello(m->body.p, m->body.len, &sh, &why);
	ok(r == OK, "%s: ServerHello parses (%s)", f->file,
	   r == OK ? "ok" : why);
	if (r != OK)
		return;
	ok(sh.version == f->version &&
	           sh.tls13 == (f->version == TLS_VERSION_TLS13),
	   "%s: %s", f->file, tls_peek_version_name(f->version));
	ok(sh.hello_retry_request == f->hrr &&
	           sh.downgrade_sentinel == f->downgrade,
	   "%s: HelloRetryRequest %d, downgrade %d", f->file, f->hrr,
	   f->downgrade);
	ok(sh.key_share_group == f->group &&
	           (f->group == 0 || f->hrr || sh.key_share.len > 0) &&
	           (!f->hrr || sh.key_share.len == 0),
	   "%s: key_share %04x", f->file, f->group);
	ok(span_is(sh.alpn, f->alpn), "%s: ALPN \"%s\"", f->file, f->alpn);
}

static void
test_certificate_of(const struct server_file *f, const struct flight *fl)
{
	const struct tls_hs_msg *m = &fl->msgs[1];
	struct tls_certificate   c;
	struct tls_span          list, der;
	const char              *why = NULL;
	unsigned                 n = 0;
	bool                     der_ok = true;

	ok(tls_peek_certificate(m->body.p, m->body.len, false, &c, &why) ==
	                   OK &&
	           c.count == f->certs,
	   "%s: Certificate with %u certs", f->file, f->certs);
	for (list = c.list; tls_peek_cert_next(&list, false, &der, NULL);) {
		/* a DER SEQUENCE with a two-byte length: 30 82 hi lo */
		if (der.len < 4 || der.p[0] != 0x30 || der.p[1] != 0x82 ||
		    (size_t)(der.p[2] << 8 | der.p[3]) != der.len - 4)
			der_ok = false;
		n++;
	}
	ok(der_ok && n == f->certs && list.len == 0,
	   "%s: iterator yields each DER", f->file);
	ok(tls_peek_certificate(m->body.p, m->body.len, true, &c, &why) ==
	           ERROR,
	   "%s: not a TLS 1.3 Certificate", f->file);
}

static void
test_server_file(const struct server_file *f)
{
	size_t len = load(f->file, stream, BIG), hs_len, slen, n, rl;
	bool   good;

	ok(len > 0, "%s: loaded", f->file);
	if (len == 0)
		return;
	ok(tls_peek_sniff_server(stream, len) == TLS_SNIFF_TLS &&
	           tls_peek_sniff(stream, len) == TLS_SNIFF_NOT_TLS,
	   "%s: sniffed as a server's TLS", f->file);
	read_flight(stream, len, SERVER, 0, BIG, &fl_a);
	ok(flight_as(&fl_a, f), "%s: %zu messages, then %s", f->file,
	   strlen(f->types), f->end != 0 ? "the end" : "AGAIN");
	read_flight(stream, len, SERVER, 1, BIG, &fl_b);
	ok(same_flight(&fl_a, &fl_b), "%s: byte by byte", f->file);
	if (fl_a.n == 0 || fl_a.msgs[0].content != TLS_CT_HANDSHAKE)
		return;
	test_server_hello_of(f, &fl_a);
	if (f->certs > 0)
		test_certificate_of(f, &fl_a);
	if (f->end != 0)
		return;
	/* the TLS 1.2 flights: all in one record, or in records of 1..1001 */
	hs_len = unrecord(stream, len, hs, &slen);
	good = slen == len;
	for (rl = 1; rl <= 1001; rl += rl < 8 ? 1 : 99) {
		n = rerecord(hs, hs_len, rl, stream2);
		read_flight(stream2, n, SERVER, rl % 3 == 0 ? 7 : 0, BIG,
		            &fl_b);
		if (!flight_as(&fl_b, f) ||
		    fl_b.msgs[fl_b.n - 1].stream_len != n)
			good = false;
	}
	ok(good, "%s: re-recorded into records of 1..1001 bytes", f->file);
	n = rerecord(hs, hs_len, TLS_RECORD_MAX, stream2);
	read_flight(stream2, n, SERVER, 0, BIG, &fl_b);
	ok(flight_as(&fl_b, f) && fl_b.msgs[0].stream_len == n,
	   "%s: all messages in one record", f->file);
}

/*
 * tls_peek_reasm_next: hand-made streams
 */

struct reasm_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum tls_peer     peer;
	size_t            cap;
	size_t            msgs;   /* handshake messages before the end */
	enum parse_result result; /* of the last call */
	uint8_t           end;    /* TLS_CT_* if result is OK */
	const char       *why;    /* if result is ERROR */
};

/* A ClientHello record with a 0-byte body (enough for the reassembler). */
#define CH0 "\x16\x03\x01\x00\x04\x01\x00\x00\x00"
#define SH0 "\x16\x03\x03\x00\x04\x02\x00\x00\x00"

static const struct reasm_case reasm_cases[] = {
	{ "reasm: HTTP", S("GET / HTTP/1.1\r\n"), CLIENT, BIG, 0, ERROR, 0,
	  "not a TLS record" },
	{ "reasm: record type 24", S("\x18\x03\x03\x00\x01\x00"), CLIENT, BIG,
	  0, ERROR, 0, "not a TLS record" },
	{ "reasm: alert before ClientHello", S("\x15\x03\x03\x00\x02\x02\x28"),
	  CLIENT, BIG, 0, ERROR, 0, "record before the ClientHello" },
	{ "reasm: CCS before ClientHello", S("\x14\x03\x03\x00\x01\x01"),
	  CLIENT, BIG, 0, ERROR, 0, "record before the ClientHello" },
	{ "reasm: data before ClientHello", S("\x17\x03\x03\x00\x01"), CLIENT,
	  BIG, 0, ERROR, 0, "record before the ClientHello" },
	{ "reasm: record version 3.5", S("\x16\x03\x05"), CLIENT, BIG, 0, ERROR,
	  0, "unsupported record version" },
	{ "reasm: record version 2.0", S("\x16\x02\x00"), CLIENT, BIG, 0, ERROR,
	  0, "unsupported record version" },
	{ "reasm: empty handshake record", S("\x16\x03\x01\x00\x00"), CLIENT,
	  BIG, 0, ERROR, 0, "empty record" },
	{ "reasm: record of 2^14 + 1", S("\x16\x03\x01\x40\x01"), CLIENT, BIG,
	  0, ERROR, 0, "record too long" },
	{ "reasm: first message a ServerHello", S(SH0), CLIENT, BIG, 0, ERROR,
	  0, "first message not ClientHello" },
	{ "reasm: ClientHello", S(CH0), CLIENT, BIG, 1, AGAIN, 0, NULL },
	{ "reasm: ClientHello in 2 records",
	  S("\x16\x03\x01\x00\x02\x01\x00\x16\x03\x01\x00\x02\x00\x00"), CLIENT,
	  BIG, 1, AGAIN, 0, NULL },
	{ "reasm: ClientHello header incomplete",
	  S("\x16\x03\x01\x00\x03\x01\x00\x00"), CLIENT, BIG, 0, AGAIN, 0,
	  NULL },
	{ "reasm: ClientHello body incomplete",
	  S("\x16\x03\x01\x00\x05\x01\x00\x00\x02\x00"), CLIENT, BIG, 0, AGAIN,
	  0, NULL },
	{ "reasm: ClientHello record incomplete",
	  S("\x16\x03\x01\x00\x05\x01\x00\x00\x00"), CLIENT, BIG, 0, AGAIN, 0,
	  NULL },
	{ "reasm: ClientHello over cap",
	  S("\x16\x03\x01\x00\x04\x01\x00\x10\x00"), CLIENT, 4099, 0, ERROR, 0,
	  "ClientHello too large" },
	{ "reasm: ClientHello at cap",
	  S("\x16\x03\x01\x00\x04\x01\x00\x10\x00"), CLIENT, 4100, 0, AGAIN, 0,
	  NULL },
	{ "reasm: ClientHello of 2^24 - 1",
	  S("\x16\x03\x01\x00\x04\x01\xff\xff\xff"), CLIENT,
	  TLS_CLIENT_HELLO_LIMIT, 0, ERROR, 0, "ClientHello too large" },
	{ "reasm: record over cap", S(CH0), CLIENT, 3, 0, ERROR, 0,
	  "ClientHello too large" },
	{ "reasm: ClientHello, CCS", S(CH0 "\x14\x03\x03\x00\x01\x01"), CLIENT,
	  BIG, 1, OK, TLS_CT_CHANGE_CIPHER_SPEC, NULL },
	{ "reasm: ClientHello, early data", S(CH0 "\x17\x03\x03\x00\x20"),
	  CLIENT, BIG, 1, OK, TLS_CT_APPLICATION_DATA, NULL },
	{ "reasm: ClientHello, second message over cap",
	  S(CH0 "\x16\x03\x03\x00\x04\x0b\x00\x00\x02"), CLIENT, 9, 1, ERROR, 0,
	  "handshake message too large" },
	{ "reasm server: alert", S("\x15\x03\x03\x00\x02\x02\x28"), SERVER, BIG,
	  0, OK, TLS_CT_ALERT, NULL },
	{ "reasm server: alert of 3 bytes",
	  S("\x15\x03\x03\x00\x03\x02\x28\x00"), SERVER, BIG, 0, ERROR, 0,
	  "malformed alert" },
	{ "reasm server: empty alert", S("\x15\x03\x03\x00\x00"), SERVER, BIG,
	  0, ERROR, 0, "empty record" },
	{ "reasm server: CCS first", S("\x14\x03\x03\x00\x01\x01"), SERVER, BIG,
	  0, ERROR, 0, "record before the ServerHello" },
	{ "reasm server: data first", S("\x17\x03\x03\x00\x01"), SERVER, BIG, 0,
	  ERROR, 0, "record before the ServerHello" },
	{ "reasm server: ClientHello first", S(CH0), SERVER, BIG, 0, ERROR, 0,
	  "first message not ServerHello" },
	{ "reasm server: ServerHello", S(SH0), SERVER, BIG, 1, AGAIN, 0, NULL },
	{ "reasm server: ServerHello, CCS", S(SH0 "\x14\x03\x03\x00\x01\x01"),
	  SERVER, BIG, 1, OK, TLS_CT_CHANGE_CIPHER_SPEC, NULL },
	{ "reasm server: CCS of 2 bytes", S(SH0 "\x14\x03\x03\x00\x02\x01\x01"),
	  SERVER, BIG, 1, ERROR, 0, "malformed ChangeCipherSpec" },
	{ "reasm server: CCS of value 2", S(SH0 "\x14\x03\x03\x00\x01\x02"),
	  SERVER, BIG, 1, ERROR, 0, "malformed ChangeCipherSpec" },
	{ "reasm server: ServerHello, alert",
	  S(SH0 "\x15\x03\x03\x00\x02\x01\x00"), SERVER, BIG, 1, OK,
	  TLS_CT_ALERT, NULL },
	{ "reasm server: ServerHello, data header",
	  S(SH0 "\x17\x03\x03\x00\x35"), SERVER, BIG, 1, OK,
	  TLS_CT_APPLICATION_DATA, NULL },
	{ "reasm server: empty data record", S(SH0 "\x17\x03\x03\x00\x00"),
	  SERVER, BIG, 1, OK, TLS_CT_APPLICATION_DATA, NULL },
	{ "reasm server: data record of 2^14 + 2048",
	  S(SH0 "\x17\x03\x03\x48\x00"), SERVER, BIG, 1, OK,
	  TLS_CT_APPLICATION_DATA, NULL },
	{ "reasm server: data record of 2^14 + 2049",
	  S(SH0 "\x17\x03\x03\x48\x01"), SERVER, BIG, 1, ERROR, 0,
	  "record too long" },
	{ "reasm server: CCS inside a message",
	  S("\x16\x03\x03\x00\x04\x02\x00\x00\x01\x14\x03\x03\x00\x01\x01"),
	  SERVER, BIG, 0, ERROR, 0, "record inside a handshake message" },
	{ "reasm server: alert inside a message",
	  S(SH0 "\x16\x03\x03\x00\x02\x0b\x00\x15\x03\x03\x00\x02\x02\x28"),
	  SERVER, BIG, 1, ERROR, 0, "record inside a handshake message" },
	{ "reasm server: two messages in a record",
	  S("\x16\x03\x03\x00\x08\x02\x00\x00\x00\x0e\x00\x00\x00"), SERVER,
	  BIG, 2, AGAIN, 0, NULL },
	{ "reasm server: message over 3 records",
	  S(SH0 "\x16\x03\x03\x00\x02\x0b\x00\x16\x03\x03\x00\x02\x00\x01"
	        "\x16\x03\x03\x00\x01\x00"),
	  SERVER, BIG, 2, AGAIN, 0, NULL },
};

static void
test_reasm_cases(void)
{
	size_t i;

	for (i = 0; i < NELEM(reasm_cases); i++) {
		const struct reasm_case *c = &reasm_cases[i];
		size_t                   msgs;
		bool                     good;
		uint8_t *p = exact_copy((const uint8_t *)c->in, c->len);

		read_flight(p, c->len, c->peer, 0, c->cap, &fl_a);
		msgs = fl_a.n - (fl_a.last == OK);
		good = msgs == c->msgs && fl_a.last == c->result;
		if (c->result == OK)
			good = good && fl_a.msgs[fl_a.n - 1].content == c->end;
		if (c->result == ERROR)
			good = good && fl_a.why != NULL &&
			       strcmp(fl_a.why, c->why) == 0;
		ok(good, "%s", c->name);
		if (!good)
			printf("# %zu messages, result %d, %s\n", msgs,
			       fl_a.last, fl_a.why ? fl_a.why : "");
		read_flight(p, c->len, c->peer, 1, c->cap, &fl_b);
		ok(same_flight(&fl_a, &fl_b), "%s: byte by byte", c->name);
		free(p);
	}
}

/* Details of the results: alerts, stream_len, what is final. */
static void
test_reasm_results(void)
{
	static const uint8_t in[] = SH0 "\x15\x03\x03\x00\x02\x02\x28"
	                                "\x16\x03\x03\x00\x01\x02";
	static const uint8_t data[] = SH0 SH0 "\x17\x03\x03\x00\x10";
	struct tls_hs_reasm               r;
	struct tls_hs_msg                 m;
	const char                       *why = NULL;
	bool                              good;

	tls_peek_reasm_init(&r, SERVER);
	good = tls_peek_reasm_next(&r, in, sizeof(in) - 1, hs, BIG, &m, &why) ==
	               OK &&
	       m.stream_len == 9 && m.body.len == 0 && m.body.p == hs + 4;
	ok(good &&
	           tls_peek_reasm_next(&r, in, sizeof(in) - 1, hs, BIG, &m,
	                               &why) == OK &&
	           m.content == TLS_CT_ALERT && m.alert_level == 2 &&
	           m.alert_desc == 40 && m.stream_len == 16,
	   "reasm: alert level and description");
	ok(tls_peek_reasm_next(&r, in, sizeof(in) - 1, hs, BIG, &m, &why) ==
	                   OK &&
	           m.content == TLS_CT_ALERT && m.alert_desc == 40 &&
	           m.stream_len == 16 && r.pos == 16,
	   "reasm: the end is final, whatever follows");

	tls_peek_reasm_init(&r, SERVER);
	good = tls_peek_reasm_next(&r, data, sizeof(data) - 1, hs, BIG, &m,
	                           &why) == OK &&
	       m.stream_len == 9;
	good = good &&
	       tls_peek_reasm_next(&r, data, sizeof(data) - 1, hs, BIG, &m,
	                           &why) == OK &&
	       m.type == TLS_HT_SERVER_HELLO && m.stream_len == 18;
	ok(good &&
	           tls_peek_reasm_next(&r, data, sizeof(data) - 1, hs, BIG, &m,
	                               &why) == OK &&
	           m.content == TLS_CT_APPLICATION_DATA && m.stream_len == 18,
	   "reasm: application data not counted in stream_len");

	tls_peek_reasm_init(&r, CLIENT);
	good = tls_peek_reasm_next(&r, (const uint8_t *)CH0, 9, hs, BIG, &m,
	                           &why) == OK &&
	       r.record_version == TLS_VERSION_TLS10;
	ok(good &&
	           tls_peek_reasm_next(&r, (const uint8_t *)CH0, 8, hs, BIG, &m,
	                               &why) == ERROR &&
	           strcmp(why, "input shrank while reading records") == 0,
	   "reasm: input shorter than before");
	why = NULL;
	ok(tls_peek_reasm_next(&r, (const uint8_t *)CH0, 9, hs, BIG, &m,
	                       &why) == ERROR &&
	           why == r.error,
	   "reasm: an error is final");

	tls_peek_reasm_init(&r, SERVER);
	ok(tls_peek_reasm_next(&r, NULL, 0, hs, BIG, &m, &why) == AGAIN &&
	           tls_peek_sniff(NULL, 0) == TLS_SNIFF_MORE &&
	           tls_peek_sniff_server(NULL, 0) == TLS_SNIFF_MORE,
	   "reasm and sniff: no input yet");

	/* zero-initialised: reads a client */
	memset(&r, 0, sizeof(r));
	ok(tls_peek_reasm_next(&r, (const uint8_t *)CH0, 9, hs, BIG, &m,
	                       &why) == OK &&
	           m.type == TLS_HT_CLIENT_HELLO,
	   "reasm: zeroed state reads a client");
}

/*
 * A ClientHello of 64 KB: a padding extension over 4 records,
 * accepted with a cap that fits it, refused with one that does not.
 */
static void
test_reasm_big(void)
{
	struct tls_client_hello ch;
	size_t                  msg, ch_body, exts, ext, n;
	const char             *why = NULL;

	bld.n = 0;
	put8(&bld, TLS_HT_CLIENT_HELLO);
	msg = vec_open(&bld, 3);
	put16(&bld, TLS_VERSION_TLS12);
	memset(bld.b + bld.n, 0x5a, 32);
	bld.n += 32;
	put(&bld, S("\x00\x00\x02\x13\x01\x01\x00"));
	exts = vec_open(&bld, 2);
	put16(&bld, TLS_EXT_PADDING);
	ext = vec_open(&bld, 2);
	memset(bld.b + bld.n, 0, 65000);
	bld.n += 65000;
	vec_close(&bld, ext, 2);
	vec_close(&bld, exts, 2);
	vec_close(&bld, msg, 3);
	ch_body = bld.n - 4;
	n = rerecord(bld.b, bld.n, TLS_RECORD_MAX, stream);
	read_flight(stream, n, CLIENT, 0, bld.n, &fl_a);
	ok(fl_a.n == 1 && fl_a.msgs[0].body.len == ch_body &&
	           fl_a.msgs[0].stream_len == n &&
	           tls_peek_client_hello(fl_a.msgs[0].body.p, ch_body, &ch,
	                                 &why) == OK &&
	           ch.has_padding,
	   "reasm: ClientHello of %zu bytes in %zu records", ch_body,
	   (bld.n + TLS_RECORD_MAX - 1) / TLS_RECORD_MAX);
	read_flight(stream, n, CLIENT, 0, bld.n - 1, &fl_a);
	ok(fl_a.n == 0 && fl_a.last == ERROR &&
	           strcmp(fl_a.why, "ClientHello too large") == 0,
	   "reasm: the same with a byte less room");
	read_flight(stream, n, CLIENT, 0, TLS_CLIENT_HELLO_LIMIT, &fl_a);
	ok(fl_a.n == 0 && fl_a.last == ERROR &&
	           strcmp(fl_a.why, "ClientHello too large") == 0,
	   "reasm: the same over TLS_CLIENT_HELLO_LIMIT");
}

/*
 * tls_peek_client_hello: hand-built
 */

#define RANDOM32 "0123456789abcdef0123456789ABCDEF"
/* legacy_version, random, no session_id, 2 suites, null compression */
#define CH_HEAD "\x03\x03" RANDOM32 "\x00\x00\x04\x13\x01\x13\x02\x01\x00"

struct body_case {
	const char       *name;
	const char       *in;
	size_t            len;
	enum parse_result result;
	const char       *why;
};

static const struct body_case ch_body_cases[] = {
	{ "ClientHello: no extensions", S(CH_HEAD), OK, NULL },
	{ "ClientHello: empty extension block", S(CH_HEAD "\x00\x00"), OK,
	  NULL },
	{ "ClientHello: version 2.0",
	  S("\x02\x00" RANDOM32 "\x00\x00\x02\x13\x01\x01\x00"), ERROR,
	  "unsupported hello version" },
	{ "ClientHello: SSL 3.0",
	  S("\x03\x00" RANDOM32 "\x00\x00\x02\x00\x2f\x01\x00"), OK, NULL },
	{ "ClientHello: random cut",
	  S("\x03\x03"
	    "0123456789"),
	  ERROR, "truncated hello" },
	{ "ClientHello: session_id of 32",
	  S("\x03\x03" RANDOM32 "\x20" RANDOM32 "\x00\x02\x13\x01\x01\x00"), OK,
	  NULL },
	{ "ClientHello: session_id of 33",
	  S("\x03\x03" RANDOM32 "\x21" RANDOM32 "!\x00\x02\x13\x01\x01\x00"),
	  ERROR, "session_id longer than 32 bytes" },
	{ "ClientHello: cipher_suites odd",
	  S("\x03\x03" RANDOM32 "\x00\x00\x03\x13\x01\x13\x01\x00"), ERROR,
	  "malformed cipher_suites" },
	{ "ClientHello: cipher_suites empty",
	  S("\x03\x03" RANDOM32 "\x00\x00\x00\x01\x00"), ERROR,
	  "malformed cipher_suites" },
	{ "ClientHello: cipher_suites cut",
	  S("\x03\x03" RANDOM32 "\x00\x00\x04\x13\x01"), ERROR,
	  "truncated ClientHello" },
	{ "ClientHello: no compression methods",
	  S("\x03\x03" RANDOM32 "\x00\x00\x02\x13\x01\x00"), ERROR,
	  "no null compression method" },
	{ "ClientHello: only deflate",
	  S("\x03\x03" RANDOM32 "\x00\x00\x02\x13\x01\x01\x01"), ERROR,
	  "no null compression method" },
	{ "ClientHello: deflate and null",
	  S("\x03\x03" RANDOM32 "\x00\x00\x02\x13\x01\x02\x01\x00"), OK, NULL },
	{ "ClientHello: one stray byte", S(CH_HEAD "\x00"), ERROR,
	  "extensions length mismatch" },
	{ "ClientHello: extension block too long",
	  S(CH_HEAD "\x00\x05\x00\x17\x00\x00"), ERROR,
	  "extensions length mismatch" },
	{ "ClientHello: bytes after the extensions",
	  S(CH_HEAD "\x00\x04\x00\x17\x00\x00\x00"), ERROR,
	  "extensions length mismatch" },
	{ "ClientHello: extension overruns the block",
	  S(CH_HEAD "\x00\x05\x00\x17\x00\x02\x00"), ERROR,
	  "malformed extension block" },
	{ "ClientHello: half an extension header",
	  S(CH_HEAD "\x00\x02\x00\x17"), ERROR, "malformed extension block" },
};

static void
test_body_cases(const struct body_case *cases, size_t n, bool server)
{
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	size_t                  i;

	for (i = 0; i < n; i++) {
		const struct body_case *c = &cases[i];
		const char             *why = NULL;
		enum parse_result       r;
		uint8_t *p = exact_copy((const uint8_t *)c->in, c->len);

		r = server ? tls_peek_server_hello(p, c->len, &sh, &why)
		           : tls_peek_client_hello(p, c->len, &ch, &why);
		ok(r == c->result && (r != ERROR || strcmp(why, c->why) == 0),
		   "%s", c->name);
		if (r == ERROR && c->why != NULL && strcmp(why, c->why) != 0)
			printf("# got: %s\n", why);
		free(p);
	}
}

/*
 * One extension by type and data, each case on its own line; the builder
 * frames it.  Cases with several extensions give the block itself.
 */
struct ext_case {
	const char       *name;
	uint16_t          type;
	const char       *data;
	size_t            len;
	enum parse_result result;
	const char       *expect; /* ERROR: why; OK: the SNI, or NULL */
};

#define SNI_EXT TLS_EXT_SERVER_NAME
#define BAD_SNI "invalid character in server name"

static const struct ext_case ch_ext_cases[] = {
	{ "SNI", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "example.com"),
	  OK, "example.com" },
	{ "SNI with '-', '_', digits", SNI_EXT,
	  S("\x00\x16\x00\x00\x13"
	    "a_1-b.x-y.example.0"),
	  OK, "a_1-b.x-y.example.0" },
	{ "SNI trailing dot left", SNI_EXT,
	  S("\x00\x0f\x00\x00\x0c"
	    "example.com."),
	  OK, "example.com." },
	{ "SNI one label", SNI_EXT,
	  S("\x00\x04\x00\x00\x01"
	    "a"),
	  OK, "a" },
	{ "SNI two trailing dots", SNI_EXT,
	  S("\x00\x10\x00\x00\x0d"
	    "example.com.."),
	  ERROR, "empty label in server name" },
	{ "SNI only a dot", SNI_EXT, S("\x00\x04\x00\x00\x01."), ERROR,
	  "server name length out of range" },
	{ "SNI leading dot", SNI_EXT, S("\x00\x0f\x00\x00\x0c.example.com"),
	  ERROR, "empty label in server name" },
	{ "SNI double dot", SNI_EXT,
	  S("\x00\x0f\x00\x00\x0c"
	    "example..com"),
	  ERROR, "empty label in server name" },
	{ "SNI empty name", SNI_EXT, S("\x00\x03\x00\x00\x00"), ERROR,
	  "server name length out of range" },
	{ "SNI with NUL", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "exa\0ple.com"),
	  ERROR, BAD_SNI },
	{ "SNI with space", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "exa ple.com"),
	  ERROR, BAD_SNI },
	{ "SNI with a control byte", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "exa\x01ple.com"),
	  ERROR, BAD_SNI },
	{ "SNI with DEL", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "exa\x7fple.com"),
	  ERROR, BAD_SNI },
	{ "SNI with UTF-8", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0b"
	    "ex\xc3\xa9mple.fr"),
	  ERROR, BAD_SNI },
	{ "SNI with '*'", SNI_EXT, S("\x00\x0e\x00\x00\x0b*.example.c"), ERROR,
	  BAD_SNI },
	{ "SNI with ':'", SNI_EXT,
	  S("\x00\x10\x00\x00\x0d"
	    "example.com:4"),
	  ERROR, BAD_SNI },
	{ "SNI with two names", SNI_EXT,
	  S("\x00\x1c\x00\x00\x0b"
	    "example.com\x00\x00\x0b"
	    "example.org"),
	  ERROR, "more than one server_name" },
	{ "SNI of name type 1", SNI_EXT,
	  S("\x00\x0e\x01\x00\x0b"
	    "example.com"),
	  ERROR, "server_name is not a host_name" },
	{ "SNI list shorter than the extension", SNI_EXT,
	  S("\x00\x0d\x00\x00\x0b"
	    "example.com"),
	  ERROR, "malformed server_name extension" },
	{ "SNI name longer than the list", SNI_EXT,
	  S("\x00\x0e\x00\x00\x0c"
	    "example.com"),
	  ERROR, "malformed server_name extension" },
	{ "SNI empty extension", SNI_EXT, S(""), ERROR,
	  "malformed server_name extension" },
	{ "SNI empty list", SNI_EXT, S("\x00\x00"), ERROR,
	  "malformed server_name extension" },
	{ "ALPN", TLS_EXT_ALPN, S("\x00\x0c\x02h2\x08http/1.1"), OK, NULL },
	{ "ALPN empty name", TLS_EXT_ALPN, S("\x00\x04\x02h2\x00"), ERROR,
	  "malformed ALPN extension" },
	{ "ALPN empty list", TLS_EXT_ALPN, S("\x00\x00"), ERROR,
	  "malformed ALPN extension" },
	{ "ALPN name overruns", TLS_EXT_ALPN, S("\x00\x03\x03h2"), ERROR,
	  "malformed ALPN extension" },
	{ "ALPN bytes after the list", TLS_EXT_ALPN, S("\x00\x03\x02h2!"),
	  ERROR, "malformed ALPN extension" },
	{ "supported_versions odd", TLS_EXT_SUPPORTED_VERSIONS,
	  S("\x03\x03\x04\x03"), ERROR,
	  "malformed supported_versions extension" },
	{ "supported_versions empty", TLS_EXT_SUPPORTED_VERSIONS, S("\x00"),
	  ERROR, "malformed supported_versions extension" },
	{ "supported_groups odd", TLS_EXT_SUPPORTED_GROUPS,
	  S("\x00\x03\x00\x1d\x00"), ERROR,
	  "malformed supported_groups extension" },
	{ "supported_groups empty", TLS_EXT_SUPPORTED_GROUPS, S("\x00\x00"),
	  ERROR, "malformed supported_groups extension" },
	{ "signature_algorithms odd", TLS_EXT_SIGNATURE_ALGORITHMS,
	  S("\x00\x01\x04"), ERROR,
	  "malformed signature_algorithms extension" },
	{ "signature_algorithms cut", TLS_EXT_SIGNATURE_ALGORITHMS,
	  S("\x00\x04\x04\x03"), ERROR,
	  "malformed signature_algorithms extension" },
	{ "key_share with no entries", TLS_EXT_KEY_SHARE, S("\x00\x00"), OK,
	  NULL },
	{ "key_share with an empty key", TLS_EXT_KEY_SHARE,
	  S("\x00\x04\x00\x1d\x00\x00"), ERROR,
	  "malformed key_share extension" },
	{ "key_share key overruns", TLS_EXT_KEY_SHARE,
	  S("\x00\x05\x00\x1d\x00\x02\x00"), ERROR,
	  "malformed key_share extension" },
	{ "key_share list overruns", TLS_EXT_KEY_SHARE,
	  S("\x00\x07\x00\x1d\x00\x01\x00"), ERROR,
	  "malformed key_share extension" },
	{ "extended_master_secret with data", TLS_EXT_EXTENDED_MASTER_SECRET,
	  S("\x00"), ERROR, "malformed extended_master_secret extension" },
	{ "unknown extension", 0x7777, S("anything"), OK, NULL },
};

/* Whole extension blocks, each extension given as type, length, data. */
#define EMS_EXT     "\x00\x17\x00\x00"
#define PADDING_EXT "\x00\x15\x00\x01\x00"
#define PSK_EXT     "\x00\x29\x00\x03psk"

static const struct body_case ch_block_cases[] = {
	{ "ClientHello: duplicate extension", S(EMS_EXT PADDING_EXT EMS_EXT),
	  ERROR, "duplicate extension" },
	{ "ClientHello: duplicate GREASE extension",
	  S("\x3a\x3a\x00\x00\x3a\x3a\x00\x00"), ERROR, "duplicate extension" },
	{ "ClientHello: two different GREASE extensions",
	  S("\x3a\x3a\x00\x00\x4a\x4a\x00\x00"), OK, NULL },
	{ "ClientHello: pre_shared_key last", S(EMS_EXT PSK_EXT), OK, NULL },
	{ "ClientHello: pre_shared_key not last", S(PSK_EXT EMS_EXT), ERROR,
	  "pre_shared_key is not the last extension" },
};

/* A ClientHello body in bld: CH_HEAD and an extension block. */
static void
build_client_hello(const void *block, size_t len)
{
	size_t mark;

	bld.n = 0;
	put(&bld, S(CH_HEAD));
	mark = vec_open(&bld, 2);
	put(&bld, block, len);
	vec_close(&bld, mark, 2);
}

/* One extension, framed, in buf. */
static size_t
ext_bytes(uint16_t type, const void *data, size_t len, uint8_t *buf)
{
	buf[0] = (uint8_t)(type >> 8);
	buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, data, len);
	return len + 4;
}

static void
test_ext_cases(void)
{
	struct tls_client_hello ch;
	uint8_t                 ext[512];
	size_t                  i;

	for (i = 0; i < NELEM(ch_ext_cases); i++) {
		const struct ext_case *c = &ch_ext_cases[i];
		const char            *why = NULL;
		enum parse_result      r;
		uint8_t               *p;
		bool                   good;

		build_client_hello(ext,
		                   ext_bytes(c->type, c->data, c->len, ext));
		p = exact_copy(bld.b, bld.n);
		r = tls_peek_client_hello(p, bld.n, &ch, &why);
		good = r == c->result;
		if (r == ERROR)
			good = good && strcmp(why, c->expect) == 0;
		if (r == OK && c->expect != NULL)
			good = good && span_is(ch.sni, c->expect);
		ok(good, "ClientHello: %s", c->name);
		if (!good)
			printf("# result %d: %s\n", r, r == ERROR ? why : "");
		free(p);
	}
}

static void
test_block_cases(void)
{
	struct tls_client_hello ch;
	size_t                  i;

	for (i = 0; i < NELEM(ch_block_cases); i++) {
		const struct body_case *c = &ch_block_cases[i];
		const char             *why = NULL;
		enum parse_result       r;

		build_client_hello(c->in, c->len);
		r = tls_peek_client_hello(bld.b, bld.n, &ch, &why);
		ok(r == c->result && (r != ERROR || strcmp(why, c->why) == 0),
		   "%s", c->name);
	}
}

/* Names of 253 bytes and labels of 63 are the longest. */
static void
test_sni_lengths(void)
{
	static const size_t     lens[] = { 63, 64, 253, 254 };
	struct tls_client_hello ch;
	uint8_t                 data[300], ext[310];
	const char             *why = NULL;
	size_t                  i, k, n;
	bool                    dot;

	for (i = 0; i < 2 * NELEM(lens); i++) {
		n = lens[i / 2];
		dot = i % 2 == 1;
		/* labels of 63 separated by dots, or one label of n */
		for (k = 0; k < n; k++)
			data[5 + k] = n > 64 && k % 64 == 63 ? '.' : 'a';
		if (dot)
			data[5 + n++] = '.';
		data[0] = (uint8_t)((n + 3) >> 8);
		data[1] = (uint8_t)(n + 3);
		data[2] = 0;
		data[3] = (uint8_t)(n >> 8);
		data[4] = (uint8_t)n;
		build_client_hello(ext, ext_bytes(SNI_EXT, data, n + 5, ext));
		ok((tls_peek_client_hello(bld.b, bld.n, &ch, &why) == OK) ==
		           (lens[i / 2] == 63 || lens[i / 2] == 253),
		   "ClientHello: SNI %s of %zu bytes%s",
		   lens[i / 2] > 64 ? "name" : "label", lens[i / 2],
		   dot ? " and a trailing dot" : "");
	}
}

/* max_version and GREASE counts of supported_versions. */
static void
test_versions(void)
{
	static const struct {
		const char *name, *data;
		size_t      len;
		uint16_t    max;
		unsigned    grease;
	} cases[] = {
		{ "1.3, 1.2", S("\x04\x03\x04\x03\x03"), TLS_VERSION_TLS13, 0 },
		{ "1.2, 1.3", S("\x04\x03\x03\x03\x04"), TLS_VERSION_TLS13, 0 },
		{ "GREASE, 1.3", S("\x04\x7a\x7a\x03\x04"), TLS_VERSION_TLS13,
		  1 },
		{ "only GREASE", S("\x02\xfa\xfa"), 0, 1 },
		{ "1.2 only", S("\x02\x03\x03"), TLS_VERSION_TLS12, 0 },
	};
	struct tls_client_hello ch;
	uint8_t                 ext[32];
	const char             *why = NULL;
	size_t                  i;

	for (i = 0; i < NELEM(cases); i++) {
		build_client_hello(ext,
		                   ext_bytes(TLS_EXT_SUPPORTED_VERSIONS,
		                             cases[i].data, cases[i].len, ext));
		ok(tls_peek_client_hello(bld.b, bld.n, &ch, &why) == OK &&
		           ch.max_version == cases[i].max &&
		           ch.grease.versions == cases[i].grease,
		   "ClientHello: supported_versions %s", cases[i].name);
	}
	build_client_hello(NULL, 0); /* an empty extension block */
	ok(tls_peek_client_hello(bld.b, bld.n, &ch, &why) == OK &&
	           ch.max_version == TLS_VERSION_TLS12 &&
	           ch.n_extensions == 0 && !ch.has_key_share,
	   "ClientHello: no supported_versions, legacy_version counts");
}

/*
 * Every prefix of a real hello body: an error, but for the one that ends
 * after the compression methods (a hello without extensions) and the
 * whole.  Each prefix is an exact heap copy, for ASan.
 */
static void
test_client_hello_prefixes(const char *file)
{
	struct tls_client_hello ch, full;
	size_t                  len = load(file, stream, BIG), n, oks = 0;
	const char             *why = NULL;
	bool                    good = true;

	read_flight(stream, len, CLIENT, 0, BIG, &fl_a);
	if (fl_a.n != 1 ||
	    tls_peek_client_hello(fl_a.msgs[0].body.p, fl_a.msgs[0].body.len,
	                          &full, &why) != OK) {
		ok(0, "%s: prefixes", file);
		return;
	}
	for (n = 0; n < fl_a.msgs[0].body.len; n++) {
		uint8_t *p = exact_copy(fl_a.msgs[0].body.p, n);

		switch (tls_peek_client_hello(p, n, &ch, &why)) {
		case OK:
			oks++;
			if (n != (size_t)(full.extensions.p -
			                  fl_a.msgs[0].body.p) -
			                    2 ||
			    ch.extensions.len != 0)
				good = false;
			break;
		case ERROR:
			break;
		case AGAIN:
			good = false;
			break;
		}
		free(p);
	}
	ok(good && oks == 1, "%s: every prefix of the body is an error", file);
}

/* The fields of the hand-made Chromium-like hello, exactly. */
static void
test_chromium_like(void)
{
	struct tls_client_hello ch;
	struct tls_span         list, data;
	size_t                  len = load("chromium-like.bin", stream, BIG);
	uint16_t                v, type, last = 0;
	unsigned                n = 0;
	const char             *why = NULL;

	read_flight(stream, len, CLIENT, 0, BIG, &fl_a);
	ok(fl_a.n == 1 && tls_peek_client_hello(fl_a.msgs[0].body.p,
	                                        fl_a.msgs[0].body.len, &ch,
	                                        &why) == OK,
	   "chromium-like: parses");
	if (fl_a.n != 1)
		return;
	ok(ch.n_extensions == 19 && ch.grease.cipher_suites == 1 &&
	           ch.grease.extensions == 2 && ch.grease.groups == 1 &&
	           ch.grease.key_shares == 1 && ch.grease.versions == 1 &&
	           ch.grease.signature_algorithms == 0,
	   "chromium-like: 19 extensions, GREASE everywhere");
	for (list = ch.extensions; tls_peek_ext_next(&list, &type, &data);) {
		n += type == TLS_EXT_ECH && data.len > 200;
		last = type;
	}
	ok(n == 1 && tls_peek_is_grease(last),
	   "chromium-like: ECH GREASE, GREASE extension last");
	n = 0;
	for (list = ch.supported_groups; tls_peek_u16_next(&list, &v);)
		n += v == 0x11ec;
	ok(n == 1 && ch.supported_groups.len == 10,
	   "chromium-like: X25519MLKEM768 among 5 groups");
	ok(ch.session_id.len == 32 && ch.cipher_suites.len == 32 &&
	           ch.signature_algorithms.len == 16 &&
	           ch.supported_versions.len == 6,
	   "chromium-like: list lengths");
}

/*
 * tls_peek_server_hello: hand-built
 */

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Server extensions, each as type, length, data */
#define SV13 "\x00\x2b\x00\x02\x03\x04"
#define KS                                                                     \
	"\x00\x33\x00\x08\x00\x1d\x00\x04"                                     \
	"abcd"
#define KS_HRR         "\x00\x33\x00\x02\x00\x17"
#define ALPN_H2        "\x00\x10\x00\x05\x00\x03\x02h2"
#define PSK0           "\x00\x29\x00\x02\x00\x00"
#define EMS            "\x00\x17\x00\x00"
#define NO_EXTS        NULL, 0 /* no extension block at all */
#define MALFORMED(ext) "malformed " ext " extension"

/* random: 0 plain, 1 HelloRetryRequest, 2 and 3 "DOWNGRD" 0 and 1 */
enum { PLAIN = 0, HRR, DOWNGRD0, DOWNGRD1 };

struct sh_case {
	const char       *name;
	uint16_t          legacy_version;
	int               random;
	uint8_t           compression;
	const char       *exts; /* the extension block, without its length */
	size_t            len;
	enum parse_result result;
	const char       *why;     /* if ERROR */
	uint16_t          version; /* if OK */
};

static const struct sh_case sh_cases[] = {
	{ "TLS 1.2, no extensions", 0x0303, PLAIN, 0, NO_EXTS, OK, NULL,
	  TLS_VERSION_TLS12 },
	{ "TLS 1.0, EMS", 0x0301, PLAIN, 0, S(EMS), OK, NULL,
	  TLS_VERSION_TLS10 },
	{ "TLS 1.3", 0x0303, PLAIN, 0, S(SV13 KS), OK, NULL,
	  TLS_VERSION_TLS13 },
	{ "TLS 1.3 resumed", 0x0303, PLAIN, 0, S(SV13 KS PSK0), OK, NULL,
	  TLS_VERSION_TLS13 },
	{ "HelloRetryRequest", 0x0303, HRR, 0, S(SV13 KS_HRR), OK, NULL,
	  TLS_VERSION_TLS13 },
	{ "downgrade to 1.2", 0x0303, DOWNGRD1, 0, NO_EXTS, OK, NULL,
	  TLS_VERSION_TLS12 },
	{ "downgrade to 1.1", 0x0302, DOWNGRD0, 0, NO_EXTS, OK, NULL,
	  TLS_VERSION_TLS11 },
	{ "ALPN", 0x0303, PLAIN, 0, S(ALPN_H2), OK, NULL, TLS_VERSION_TLS12 },
	{ "HelloRetryRequest without supported_versions", 0x0303, HRR, 0,
	  S(KS_HRR), ERROR, "HelloRetryRequest without supported_versions", 0 },
	{ "HelloRetryRequest with a key", 0x0303, HRR, 0, S(SV13 KS), ERROR,
	  MALFORMED("key_share"), 0 },
	{ "key_share without a key", 0x0303, PLAIN, 0, S(SV13 KS_HRR), ERROR,
	  MALFORMED("key_share"), 0 },
	{ "key_share of one byte", 0x0303, PLAIN, 0,
	  S(SV13 "\x00\x33\x00\x01\x00"), ERROR, MALFORMED("key_share"), 0 },
	{ "key_share with an empty key", 0x0303, PLAIN, 0,
	  S(SV13 "\x00\x33\x00\x04\x00\x17\x00\x00"), ERROR,
	  MALFORMED("key_share"), 0 },
	{ "key_share with a byte after it", 0x0303, PLAIN, 0,
	  S(SV13 "\x00\x33\x00\x06\x00\x1d\x00\x01"
	         "ab"),
	  ERROR, MALFORMED("key_share"), 0 },
	{ "supported_versions 1.2", 0x0303, PLAIN, 0,
	  S("\x00\x2b\x00\x02\x03\x03"), ERROR,
	  "supported_versions selects no TLS 1.3", 0 },
	{ "supported_versions GREASE", 0x0303, PLAIN, 0,
	  S("\x00\x2b\x00\x02\x0a\x0a"), ERROR,
	  "supported_versions selects no TLS 1.3", 0 },
	{ "supported_versions as a list", 0x0303, PLAIN, 0,
	  S("\x00\x2b\x00\x03\x02\x03\x04"), ERROR,
	  MALFORMED("supported_versions"), 0 },
	{ "supported_versions with legacy 1.0", 0x0301, PLAIN, 0, S(SV13),
	  ERROR, "legacy_version is not 0x0303", 0 },
	{ "legacy_version 1.3", 0x0304, PLAIN, 0, NO_EXTS, ERROR,
	  "unsupported hello version", 0 },
	{ "legacy_version 4.0", 0x0400, PLAIN, 0, NO_EXTS, ERROR,
	  "unsupported hello version", 0 },
	{ "compression deflate", 0x0303, PLAIN, 1, NO_EXTS, ERROR,
	  "compression method not null", 0 },
	{ "ALPN with two protocols", 0x0303, PLAIN, 0,
	  S("\x00\x10\x00\x08\x00\x06\x02h2\x02h3"), ERROR, MALFORMED("ALPN"),
	  0 },
	{ "ALPN with an empty name", 0x0303, PLAIN, 0,
	  S("\x00\x10\x00\x03\x00\x01\x00"), ERROR, MALFORMED("ALPN"), 0 },
	{ "duplicate extension", 0x0303, PLAIN, 0, S(SV13 KS SV13), ERROR,
	  "duplicate extension", 0 },
	{ "pre_shared_key of 3 bytes", 0x0303, PLAIN, 0,
	  S(SV13 KS "\x00\x29\x00\x03\x00\x00\x00"), ERROR,
	  MALFORMED("pre_shared_key"), 0 },
	{ "extended_master_secret with data", 0x0303, PLAIN, 0,
	  S("\x00\x17\x00\x01x"), ERROR, MALFORMED("extended_master_secret"),
	  0 },
};

static void
build_server_hello(const struct sh_case *c)
{
	size_t mark;

	bld.n = 0;
	put16(&bld, c->legacy_version);
	if (c->random == HRR)
		put(&bld, hrr_random, 32);
	else
		put(&bld, S(RANDOM32));
	if (c->random == DOWNGRD0 || c->random == DOWNGRD1) {
		/* RFC 8446 4.1.3 */
		memcpy(bld.b + bld.n - 8, "DOWNGRD", 7);
		bld.b[bld.n - 1] = c->random == DOWNGRD1;
	}
	put(&bld, S("\x04sid!\x13\x01"));
	put8(&bld, c->compression);
	if (c->exts == NULL)
		return;
	mark = vec_open(&bld, 2);
	put(&bld, c->exts, c->len);
	vec_close(&bld, mark, 2);
}

static void
test_sh_cases(void)
{
	struct tls_server_hello sh;
	size_t                  i;

	for (i = 0; i < NELEM(sh_cases); i++) {
		const struct sh_case *c = &sh_cases[i];
		const char           *why = NULL;
		enum parse_result     r;
		uint8_t              *p;
		bool                  good;

		build_server_hello(c);
		p = exact_copy(bld.b, bld.n);
		r = tls_peek_server_hello(p, bld.n, &sh, &why);
		good = r == c->result;
		if (r == ERROR)
			good = good && strcmp(why, c->why) == 0;
		if (r == OK)
			good = good && sh.version == c->version &&
			       sh.tls13 == (c->version == TLS_VERSION_TLS13) &&
			       sh.hello_retry_request == (c->random == HRR) &&
			       sh.downgrade_sentinel ==
			               (c->random >= DOWNGRD0) &&
			       sh.cipher_suite == 0x1301 &&
			       span_is(sh.session_id, "sid!");
		ok(good, "ServerHello: %s", c->name);
		if (!good)
			printf("# result %d: %s\n", r, r == ERROR ? why : "");
		free(p);
	}
}

static void
test_sh_fields(void)
{
	struct tls_server_hello sh;
	const char             *why = NULL;

	build_server_hello(&sh_cases[3]); /* TLS 1.3 resumed */
	ok(tls_peek_server_hello(bld.b, bld.n, &sh, &why) == OK &&
	           sh.key_share_group == 0x001d &&
	           span_is(sh.key_share, "abcd") && sh.has_pre_shared_key &&
	           sh.alpn.len == 0,
	   "ServerHello: key_share and pre_shared_key");
	build_server_hello(&sh_cases[4]); /* HRR */
	ok(tls_peek_server_hello(bld.b, bld.n, &sh, &why) == OK &&
	           sh.key_share_group == 0x0017 && sh.key_share.len == 0,
	   "ServerHello: HelloRetryRequest asks for secp256r1");
	build_server_hello(&sh_cases[7]); /* ALPN */
	ok(tls_peek_server_hello(bld.b, bld.n, &sh, &why) == OK &&
	           span_is(sh.alpn, "h2"),
	   "ServerHello: ALPN selects h2");
}

static const struct body_case sh_body_cases[] = {
	{ "ServerHello: random cut",
	  S("\x03\x03"
	    "0123"),
	  ERROR, "truncated hello" },
	{ "ServerHello: no cipher suite", S("\x03\x03" RANDOM32 "\x00\x13"),
	  ERROR, "truncated ServerHello" },
	{ "ServerHello: no compression", S("\x03\x03" RANDOM32 "\x00\x13\x01"),
	  ERROR, "truncated ServerHello" },
	{ "ServerHello: session_id of 33",
	  S("\x03\x03" RANDOM32 "\x21" RANDOM32 "!\x13\x01\x00"), ERROR,
	  "session_id longer than 32 bytes" },
	{ "ServerHello: one stray byte",
	  S("\x03\x03" RANDOM32 "\x00\x13\x01\x00\x00"), ERROR,
	  "extensions length mismatch" },
	{ "ServerHello: extension overruns",
	  S("\x03\x03" RANDOM32 "\x00\x13\x01\x00\x00\x04\x00\x17\x00\x01"),
	  ERROR, "malformed extension block" },
};

/*
 * tls_peek_certificate: hand-built
 */

static const struct body_case cert_cases[] = {
	{ "Certificate: empty list", S("\x00\x00\x00"), OK, NULL },
	{ "Certificate: one", S("\x00\x00\x05\x00\x00\x02\x30\x00"), OK, NULL },
	{ "Certificate: two",
	  S("\x00\x00\x0a\x00\x00\x02\x30\x00\x00\x00\x02\x30\x00"), OK, NULL },
	{ "Certificate: empty", S(""), ERROR, "truncated Certificate" },
	{ "Certificate: list overruns", S("\x00\x00\x06\x00\x00\x02\x30\x00"),
	  ERROR, "truncated Certificate" },
	{ "Certificate: bytes after the list",
	  S("\x00\x00\x05\x00\x00\x02\x30\x00\x00"), ERROR,
	  "bytes after certificate_list" },
	{ "Certificate: empty certificate", S("\x00\x00\x03\x00\x00\x00"),
	  ERROR, "malformed certificate_list" },
	{ "Certificate: certificate overruns the list",
	  S("\x00\x00\x05\x00\x00\x03\x30\x00"), ERROR,
	  "malformed certificate_list" },
};

static const struct body_case cert13_cases[] = {
	{ "Certificate 1.3: empty list", S("\x00\x00\x00\x00"), OK, NULL },
	{ "Certificate 1.3: one",
	  S("\x00\x00\x00\x07\x00\x00\x02\x30\x00\x00\x00"), OK, NULL },
	{ "Certificate 1.3: context, one with an extension",
	  S("\x02\x63x\x00\x00\x0b\x00\x00\x02\x30\x00\x00\x04\x00\x05\x00"
	    "\x00"),
	  OK, NULL },
	{ "Certificate 1.3: no extensions field",
	  S("\x00\x00\x00\x05\x00\x00\x02\x30\x00"), ERROR,
	  "malformed certificate_list" },
	{ "Certificate 1.3: malformed extension",
	  S("\x00\x00\x00\x0a\x00\x00\x02\x30\x00\x00\x03\x00\x05\x00"), ERROR,
	  "malformed certificate_list" },
	{ "Certificate 1.3: context overruns", S("\x05\x00\x00"), ERROR,
	  "truncated Certificate" },
};

static void
test_cert_cases(const struct body_case *cases, size_t n, bool tls13)
{
	struct tls_certificate c;
	size_t                 i;

	for (i = 0; i < n; i++) {
		const struct body_case *k = &cases[i];
		const char             *why = NULL;
		enum parse_result       r;
		uint8_t *p = exact_copy((const uint8_t *)k->in, k->len);

		r = tls_peek_certificate(p, k->len, tls13, &c, &why);
		ok(r == k->result && (r != ERROR || strcmp(why, k->why) == 0),
		   "%s", k->name);
		if (r == ERROR && strcmp(why, k->why) != 0)
			printf("# got: %s\n", why);
		free(p);
	}
}

static void
test_cert13_iterator(void)
{
	static const uint8_t in[] =
	        "\x02\x63x\x00\x00\x11"
	        "\x00\x00\x02\x30\x00\x00\x04\x00\x05\x00\x00"
	        "\x00\x00\x01\x31\x00\x00";
	struct tls_certificate c;
	struct tls_span        list, der, exts;
	const char            *why = NULL;
	bool                   good;

	good = tls_peek_certificate(in, sizeof(in) - 1, true, &c, &why) == OK &&
	       c.count == 2 && span_is(c.context, "cx");
	list = c.list;
	good = good && tls_peek_cert_next(&list, true, &der, &exts) &&
	       der.len == 2 && der.p[0] == 0x30 && exts.len == 4;
	good = good && tls_peek_cert_next(&list, true, &der, &exts) &&
	       span_is(der, "1") && exts.len == 0;
	ok(good && !tls_peek_cert_next(&list, true, &der, &exts) &&
	           list.len == 0,
	   "Certificate 1.3: context, DER and extensions of each");
}

/*
 * Iterators and names
 */

static void
test_iterators(void)
{
	static const uint8_t odd[] = { 0x13, 0x01, 0x13 };
	static const uint8_t alpn[] = { 2, 'h', '2', 0, 1 };
	struct tls_span      list = { odd, sizeof(odd) }, name;
	uint16_t             v = 0, type;

	ok(tls_peek_u16_next(&list, &v) && v == 0x1301 &&
	           !tls_peek_u16_next(&list, &v) && list.len == 1 &&
	           list.p == odd + 2,
	   "u16 iterator stops before half a value");
	list.p = alpn;
	list.len = sizeof(alpn);
	ok(tls_peek_alpn_next(&list, &name) && span_is(name, "h2") &&
	           !tls_peek_alpn_next(&list, &name) && list.len == 2,
	   "ALPN iterator stops at an empty name");
	list.p = odd;
	list.len = sizeof(odd);
	ok(!tls_peek_ext_next(&list, &type, &name) && list.len == 3,
	   "extension iterator leaves a malformed list alone");
	list.p = NULL;
	list.len = 0;
	ok(!tls_peek_ext_next(&list, &type, &name) &&
	           !tls_peek_u16_next(&list, &v) &&
	           !tls_peek_key_share_next(&list, &v, &name) &&
	           !tls_peek_cert_next(&list, false, &name, NULL),
	   "iterators on an empty list");
}

static void
test_names(void)
{
	static const struct {
		uint16_t    v;
		const char *name;
	} names[] = {
		{ 0x0300, "SSLv3" },   { 0x0301, "TLSv1.0" },
		{ 0x0302, "TLSv1.1" }, { 0x0303, "TLSv1.2" },
		{ 0x0304, "TLSv1.3" }, { 0x0a0a, "GREASE" },
		{ 0xfafa, "GREASE" },  { 0x0305, "unknown" },
		{ 0x0000, "unknown" }, { 0x0a1a, "unknown" },
	};
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		ok(strcmp(tls_peek_version_name(names[i].v), names[i].name) ==
		           0,
		   "version %04x is %s", names[i].v, names[i].name);
	ok(tls_peek_is_grease(0x1a1a) && tls_peek_is_grease(0xaaaa) &&
	           !tls_peek_is_grease(0x1a2a) && !tls_peek_is_grease(0x0b0b),
	   "GREASE values are 0x?A?A with equal bytes");
}

int
main(void)
{
	size_t i;

	test_sniff();
	for (i = 0; i < NELEM(client_files); i++)
		test_client_file(&client_files[i]);
	for (i = 0; i < NELEM(server_files); i++)
		test_server_file(&server_files[i]);
	test_reasm_cases();
	test_reasm_results();
	test_reasm_big();
	test_body_cases(ch_body_cases, NELEM(ch_body_cases), false);
	test_ext_cases();
	test_block_cases();
	test_sni_lengths();
	test_versions();
	test_client_hello_prefixes("chromium-like-psk.bin");
	test_client_hello_prefixes("gnutls-cli-tls12.bin");
	test_chromium_like();
	test_sh_cases();
	test_sh_fields();
	test_body_cases(sh_body_cases, NELEM(sh_body_cases), true);
	test_cert_cases(cert_cases, NELEM(cert_cases), false);
	test_cert_cases(cert13_cases, NELEM(cert13_cases), true);
	test_cert13_iterator();
	test_iterators();
	test_names();
	return tap_done();
}
