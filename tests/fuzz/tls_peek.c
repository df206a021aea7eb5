/*
 * Fuzz target for tls_peek: the input is a record stream from a client or
 * a server (the corpus holds real ones), and also, taken by itself, the
 * body of a hello or Certificate message.  Checks that every span stays
 * inside its buffer, that reassembly in pieces of every size gives the
 * same messages as in one go, that the sniffers agree with the
 * reassembler, and that the iterators walk exactly what the parsers
 * validated.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tls_peek.h"

#define MSG_CAP   65536
#define MAX_ITEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one reassembly of a stream produced, in order. */
struct item {
	struct tls_hs_msg m;
};

struct transcript {
	struct item       items[MAX_ITEMS];
	size_t            n;
	enum parse_result last; /* AGAIN or ERROR, or OK if cut at MAX_ITEMS */
	const char       *why;
	uint8_t          *msg;
};

static struct transcript runs[4];

static bool
span_inside(struct tls_span s, const uint8_t *p, size_t len)
{
	if (s.len == 0)
		return true;
	return s.p >= p && s.len <= len && (size_t)(s.p - p) <= len - s.len;
}

/* Next step of a split pattern: a small xorshift generator. */
static size_t
next_step(uint32_t *state, size_t max)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return 1 + *state % max;
}

/*
 * Reassembles p[0..len) from peer into cap bytes, offering the bytes all at
 * once (seed 0), one at a time (seed 1), or in steps drawn from seed.
 */
static void
reassemble(const uint8_t *p, size_t len, enum tls_peer peer, uint32_t seed,
           size_t cap, struct transcript *t)
{
	struct tls_hs_reasm r;
	struct tls_hs_msg   m, again;
	size_t              avail = seed == 0 ? len : 0, last_pos = 0;
	const char         *why = NULL;
	enum parse_result   res;

	tls_peek_reasm_init(&r, peer);
	t->n = 0;
	for (;;) {
		res = tls_peek_reasm_next(&r, p, avail, t->msg, cap, &m, &why);
		CHECK(r.pos <= avail && r.pos >= last_pos);
		CHECK(r.msg_off <= r.hs_len && r.hs_len <= cap);
		last_pos = r.pos;
		if (res == PARSE_ERROR) {
			CHECK(why != NULL && why == r.error);
			/* final */
			CHECK(tls_peek_reasm_next(&r, p, len, t->msg, cap,
			                          &again, &why) == PARSE_ERROR);
			break;
		}
		if (res == PARSE_AGAIN) {
			if (avail == len)
				break;
			avail += seed <= 1 ? 1 : next_step(&seed, 300);
			avail = avail < len ? avail : len;
			continue;
		}
		CHECK(m.stream_len == r.pos && m.stream_len <= avail);
		CHECK(span_inside(m.body, t->msg, r.hs_len));
		t->items[t->n++].m = m;
		if (m.content != TLS_CT_HANDSHAKE) {
			CHECK(m.content == TLS_CT_CHANGE_CIPHER_SPEC ||
			      m.content == TLS_CT_ALERT ||
			      m.content == TLS_CT_APPLICATION_DATA);
			/* final: repeated, whatever follows */
			CHECK(tls_peek_reasm_next(&r, p, len, t->msg, cap,
			                          &again, &why) == PARSE_OK);
			CHECK(memcmp(&again, &m, sizeof(m)) == 0);
			break;
		}
		if (t->n == 1)
			CHECK(m.type == (peer == TLS_PEER_CLIENT
			                         ? TLS_HT_CLIENT_HELLO
			                         : TLS_HT_SERVER_HELLO));
		if (t->n == MAX_ITEMS)
			break;
	}
	t->last = res;
	t->why = res == PARSE_ERROR ? why : NULL;
}

static void
same_transcript(const struct transcript *a, const struct transcript *b)
{
	size_t i;

	CHECK(a->n == b->n && a->last == b->last && a->why == b->why);
	for (i = 0; i < a->n; i++) {
		const struct tls_hs_msg *x = &a->items[i].m,
		                        *y = &b->items[i].m;

		CHECK(x->content == y->content && x->type == y->type);
		CHECK(x->stream_len == y->stream_len);
		CHECK(x->alert_level == y->alert_level &&
		      x->alert_desc == y->alert_desc);
		CHECK(x->body.len == y->body.len);
		CHECK(x->body.len == 0 ||
		      memcmp(x->body.p, y->body.p, x->body.len) == 0);
	}
}

/*
 * With less room the reassembler must give the same results, up to where
 * it says the handshake is too large.
 */
static void
same_until_too_large(const struct transcript *small,
                     const struct transcript *full)
{
	struct transcript head = *full;

	CHECK(small->n <= full->n);
	head.n = small->n;
	if (small->n == full->n && small->last == full->last &&
	    small->why == full->why) {
		same_transcript(small, full);
		return;
	}
	head.last = small->last;
	head.why = small->why;
	same_transcript(small, &head);
	CHECK(small->last == PARSE_ERROR);
	CHECK(strcmp(small->why, "ClientHello too large") == 0 ||
	      strcmp(small->why, "handshake message too large") == 0);
}

static void
check_u16_list(struct tls_span list, const uint8_t *p, size_t len,
               unsigned *grease)
{
	uint16_t v;

	CHECK(span_inside(list, p, len) && list.len % 2 == 0);
	*grease = 0;
	while (tls_peek_u16_next(&list, &v))
		*grease += tls_peek_is_grease(v);
	CHECK(list.len == 0);
}

static void
check_sni(struct tls_span sni)
{
	size_t i;

	CHECK(sni.len <= 254);
	for (i = 0; i < sni.len; i++) {
		uint8_t c = sni.p[i];

		CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.');
	}
}

static void
fuzz_client_hello(const uint8_t *p, size_t len)
{
	struct tls_client_hello ch;
	struct tls_span         list, data, name, key;
	unsigned                n = 0, g;
	uint16_t                type = 0, v, max = 0;
	const char             *why = NULL;

	if (tls_peek_client_hello(p, len, &ch, &why) != PARSE_OK) {
		CHECK(why != NULL);
		return;
	}
	CHECK(ch.legacy_version >> 8 == 3);
	CHECK(ch.random.len == 32 && span_inside(ch.random, p, len));
	CHECK(ch.session_id.len <= 32 && span_inside(ch.session_id, p, len));
	CHECK(ch.cipher_suites.len >= 2);
	check_u16_list(ch.cipher_suites, p, len, &g);
	CHECK(g == ch.grease.cipher_suites);
	CHECK(memchr(ch.compression_methods.p, 0, ch.compression_methods.len) !=
	      NULL);
	CHECK(span_inside(ch.extensions, p, len));
	for (list = ch.extensions; tls_peek_ext_next(&list, &type, &data);)
		n++;
	CHECK(list.len == 0 && n == ch.n_extensions);
	CHECK(!ch.has_pre_shared_key || type == TLS_EXT_PRE_SHARED_KEY);
	check_sni(ch.sni);
	CHECK(span_inside(ch.alpn, p, len));
	for (list = ch.alpn; tls_peek_alpn_next(&list, &name);)
		CHECK(name.len > 0 && span_inside(name, p, len));
	CHECK(list.len == 0);
	check_u16_list(ch.supported_versions, p, len, &g);
	CHECK(g == ch.grease.versions);
	for (list = ch.supported_versions; tls_peek_u16_next(&list, &v);)
		max = !tls_peek_is_grease(v) && v > max ? v : max;
	CHECK(ch.supported_versions.len == 0 || max == ch.max_version);
	check_u16_list(ch.supported_groups, p, len, &g);
	CHECK(g == ch.grease.groups);
	check_u16_list(ch.signature_algorithms, p, len, &g);
	CHECK(g == ch.grease.signature_algorithms);
	n = 0;
	for (list = ch.key_shares; tls_peek_key_share_next(&list, &v, &key);) {
		CHECK(key.len > 0 && span_inside(key, p, len));
		n++;
	}
	CHECK(list.len == 0 && n == ch.n_key_shares);
	CHECK(ch.has_key_share || n == 0);
	(void)tls_peek_version_name(ch.max_version);
}

static void
fuzz_server_hello(const uint8_t *p, size_t len)
{
	struct tls_server_hello sh;
	struct tls_span         list, data;
	uint16_t                type;
	const char             *why = NULL;

	if (tls_peek_server_hello(p, len, &sh, &why) != PARSE_OK) {
		CHECK(why != NULL);
		return;
	}
	CHECK(sh.random.len == 32 && span_inside(sh.random, p, len));
	CHECK(sh.session_id.len <= 32 && span_inside(sh.session_id, p, len));
	CHECK(span_inside(sh.extensions, p, len));
	for (list = sh.extensions; tls_peek_ext_next(&list, &type, &data);)
		continue;
	CHECK(list.len == 0);
	CHECK(sh.tls13 == (sh.version == TLS_VERSION_TLS13));
	CHECK(!sh.hello_retry_request || sh.key_share.len == 0);
	CHECK(!sh.hello_retry_request || sh.version >= TLS_VERSION_TLS13);
	CHECK(span_inside(sh.key_share, p, len));
	CHECK(span_inside(sh.alpn, p, len));
	(void)tls_peek_version_name(sh.version);
}

static void
fuzz_certificate(const uint8_t *p, size_t len, bool tls13)
{
	struct tls_certificate c;
	struct tls_span        list, der, exts;
	const char            *why = NULL;
	unsigned               n = 0;

	if (tls_peek_certificate(p, len, tls13, &c, &why) != PARSE_OK) {
		CHECK(why != NULL);
		return;
	}
	CHECK(c.tls13 == tls13 && span_inside(c.context, p, len));
	CHECK(span_inside(c.list, p, len));
	for (list = c.list; tls_peek_cert_next(&list, tls13, &der, &exts);) {
		CHECK(der.len > 0 && span_inside(der, p, len));
		CHECK(span_inside(exts, p, len));
		n++;
	}
	CHECK(list.len == 0 && n == c.count);
}

static void
fuzz_message(const struct tls_hs_msg *m)
{
	switch (m->type) {
	case TLS_HT_CLIENT_HELLO:
		fuzz_client_hello(m->body.p, m->body.len);
		break;
	case TLS_HT_SERVER_HELLO:
		fuzz_server_hello(m->body.p, m->body.len);
		break;
	case TLS_HT_CERTIFICATE:
		fuzz_certificate(m->body.p, m->body.len, false);
		fuzz_certificate(m->body.p, m->body.len, true);
		break;
	default:
		break;
	}
}

/* Once NOT_TLS or TLS, a sniffer never changes its mind on more bytes. */
static void
fuzz_sniff(const uint8_t *p, size_t len, bool server)
{
	enum tls_sniff first = TLS_SNIFF_MORE, s;
	size_t         n;

	for (n = 0; n <= len && n <= 8; n++) {
		s = server ? tls_peek_sniff_server(p, n) : tls_peek_sniff(p, n);
		CHECK(first == TLS_SNIFF_MORE || s == first);
		first = s;
	}
	CHECK(len < 6 || first != TLS_SNIFF_MORE);
}

static void
fuzz_stream(const uint8_t *p, size_t len, enum tls_peer peer, uint32_t seed)
{
	enum tls_sniff s;
	size_t         i;

	reassemble(p, len, peer, 0, MSG_CAP, &runs[0]);
	reassemble(p, len, peer, 1, MSG_CAP, &runs[1]);
	reassemble(p, len, peer, seed | 2, MSG_CAP, &runs[2]);
	reassemble(p, len, peer, 0, seed % 2048, &runs[3]);
	same_transcript(&runs[0], &runs[1]);
	same_transcript(&runs[0], &runs[2]);
	same_until_too_large(&runs[3], &runs[0]);
	s = peer == TLS_PEER_CLIENT ? tls_peek_sniff(p, len)
	                            : tls_peek_sniff_server(p, len);
	/* the sniffer and the reassembler agree on the first record */
	if (runs[0].n > 0)
		CHECK(s == TLS_SNIFF_TLS);
	if (s == TLS_SNIFF_NOT_TLS)
		CHECK(runs[0].n == 0 && runs[0].last != PARSE_OK);
	for (i = 0; i < runs[0].n; i++) {
		if (runs[0].items[i].m.content == TLS_CT_HANDSHAKE)
			fuzz_message(&runs[0].items[i].m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u; /* FNV-1a of the input: the split */
	size_t   i;

	if (runs[0].msg == NULL) {
		for (i = 0; i < 4; i++) {
			runs[i].msg = malloc(MSG_CAP);
			CHECK(runs[i].msg != NULL);
		}
	}
	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	fuzz_sniff(data, size, false);
	fuzz_sniff(data, size, true);
	fuzz_stream(data, size, TLS_PEER_CLIENT, seed);
	fuzz_stream(data, size, TLS_PEER_SERVER, seed);
	/* the parsers also take any bytes as a message body */
	fuzz_client_hello(data, size);
	fuzz_server_hello(data, size);
	fuzz_certificate(data, size, false);
	fuzz_certificate(data, size, true);
	return 0;
}
