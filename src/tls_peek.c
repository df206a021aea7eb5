/*
 * tls_peek: the plaintext start of a TLS handshake, read without taking
 * part in it: record sniffing, handshake message reassembly, and strict
 * parsers for ClientHello, ServerHello and Certificate (RFC 8446, RFC 5246).
 *
 * Wire structures are read through a bounds-checked cursor (struct reader)
 * whose every read fails cleanly on underrun, so no parser here computes a
 * pointer it has not checked against what is left.  Where the RFCs tell a
 * peer to abort a handshake on malformed input we refuse it too: a proxy
 * that reads a hello differently from the origin can be steered around its
 * own rules.
 */
#include "config.h"

#include <string.h>

#include "tls_peek.h"

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest"), the random of an HRR */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t
get24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

/*
 * A cursor over a span: each read takes bytes off the front, or fails and
 * leaves the cursor where it was if fewer are left.
 */
struct reader {
	const uint8_t *p;
	size_t         left;
};

static struct reader
reader_of(struct tls_span s)
{
	struct reader r = { s.p, s.len };

	return r;
}

static struct tls_span
reader_rest(const struct reader *r)
{
	struct tls_span s = { r->p, r->left };

	return s;
}

static bool
read_bytes(struct reader *r, size_t n, struct tls_span *s)
{
	if (n > r->left)
		return false;
	s->p = r->p;
	s->len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool
read_u8(struct reader *r, uint8_t *v)
{
	struct tls_span s;

	if (!read_bytes(r, 1, &s))
		return false;
	*v = s.p[0];
	return true;
}

static bool
read_u16(struct reader *r, uint16_t *v)
{
	struct tls_span s;

	if (!read_bytes(r, 2, &s))
		return false;
	*v = get16(s.p);
	return true;
}

/* opaque x<0..2^8-1>, <0..2^16-1>, <0..2^24-1>: length, then bytes */
static bool
read_vec(struct reader *r, size_t width, struct tls_span *s)
{
	struct reader   saved = *r;
	struct tls_span n;
	size_t          len = 0, i;

	if (!read_bytes(r, width, &n))
		return false;
	for (i = 0; i < width; i++)
		len = len << 8 | n.p[i];
	if (!read_bytes(r, len, s)) {
		*r = saved;
		return false;
	}
	return true;
}

static bool
read_vec8(struct reader *r, struct tls_span *s)
{
	return read_vec(r, 1, s);
}

static bool
read_vec16(struct reader *r, struct tls_span *s)
{
	return read_vec(r, 2, s);
}

static bool
read_vec24(struct reader *r, struct tls_span *s)
{
	return read_vec(r, 3, s);
}

/*
 * A vector that is all of data: extension_data holding one length-prefixed
 * list, as most extensions do.
 */
static bool
read_whole_vec(struct tls_span data, size_t width, struct tls_span *s)
{
	struct reader r = reader_of(data);

	return read_vec(&r, width, s) && r.left == 0;
}

bool
tls_peek_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && v >> 8 == (v & 0xff);
}

/* Even length, at least one value; counts the GREASE ones. */
static bool
u16_list_ok(struct tls_span list, unsigned *grease)
{
	uint16_t v;

	if (list.len < 2 || list.len % 2 != 0)
		return false;
	while (tls_peek_u16_next(&list, &v)) {
		if (tls_peek_is_grease(v))
			(*grease)++;
	}
	return true;
}

/*
 * Records.
 */

/*
 * Largest record body per type: handshake, alert and ChangeCipherSpec are
 * plaintext (RFC 8446 5.1); application data may be TLS 1.2 ciphertext,
 * which may grow by 2048 bytes (RFC 5246 6.2.3).
 */
static size_t
record_max(uint8_t type)
{
	if (type == TLS_CT_APPLICATION_DATA)
		return TLS_RECORD_MAX + 2048;
	return TLS_RECORD_MAX;
}

/*
 * Why the n bytes at h cannot start a TLS record, or NULL; only the 5 bytes
 * of a record header are looked at.  The record version is
 * legacy_record_version (RFC 8446 5.1), which says little: a ClientHello may
 * carry 0x0300 or 0x0301 there.
 */
static const char *
record_prefix_error(const uint8_t *h, size_t n)
{
	size_t len;

	if (n >= 1 && (h[0] < TLS_CT_CHANGE_CIPHER_SPEC ||
	               h[0] > TLS_CT_APPLICATION_DATA))
		return "not a TLS record";
	if ((n >= 2 && h[1] != 3) || (n >= 3 && h[2] > 4))
		return "unsupported record version";
	if (n >= 4 && (size_t)h[3] << 8 > record_max(h[0]))
		return "record too long";
	if (n < TLS_RECORD_HEADER_LEN)
		return NULL;
	len = get16(h + 3);
	if (len > record_max(h[0]))
		return "record too long";
	/* RFC 8446 5.1: no zero-length fragments but of application data */
	if (len == 0 && h[0] != TLS_CT_APPLICATION_DATA)
		return "empty record";
	return NULL;
}

/* Prefix of a handshake record whose message is of type hs_type. */
static enum tls_sniff
sniff_handshake(const uint8_t *p, size_t len, uint8_t hs_type)
{
	if (record_prefix_error(p, len) != NULL)
		return TLS_SNIFF_NOT_TLS;
	if (len <= TLS_RECORD_HEADER_LEN)
		return TLS_SNIFF_MORE;
	return p[5] == hs_type ? TLS_SNIFF_TLS : TLS_SNIFF_NOT_TLS;
}

enum tls_sniff
tls_peek_sniff(const uint8_t *p, size_t len)
{
	if (len == 0)
		return TLS_SNIFF_MORE;
	if (p[0] != TLS_CT_HANDSHAKE)
		return TLS_SNIFF_NOT_TLS;
	return sniff_handshake(p, len, TLS_HT_CLIENT_HELLO);
}

enum tls_sniff
tls_peek_sniff_server(const uint8_t *p, size_t len)
{
	if (len == 0)
		return TLS_SNIFF_MORE;
	if (p[0] == TLS_CT_HANDSHAKE)
		return sniff_handshake(p, len, TLS_HT_SERVER_HELLO);
	/* an alert is two bytes: level and description (RFC 8446 6) */
	if (p[0] != TLS_CT_ALERT || record_prefix_error(p, len) != NULL ||
	    (len >= 4 && p[3] != 0))
		return TLS_SNIFF_NOT_TLS;
	if (len < TLS_RECORD_HEADER_LEN)
		return TLS_SNIFF_MORE;
	return p[4] == 2 ? TLS_SNIFF_TLS : TLS_SNIFF_NOT_TLS;
}

/*
 * Handshake reassembly.  Whole records are taken from the stream in order;
 * handshake payloads are appended to msg, and messages are cut from msg
 * (RFC 8446 5.1: a message may span records, a record hold several).
 */

/* RFC 8446 4: HandshakeType msg_type, then a 24-bit length */
#define HS_HEADER_LEN 4

struct record {
	uint8_t        type;
	uint16_t       version;
	size_t         len;
	const uint8_t *body; /* len bytes, except for application data */
};

void
tls_peek_reasm_init(struct tls_hs_reasm *r, enum tls_peer peer)
{
	memset(r, 0, sizeof(*r));
	r->peer = peer;
}

/* Fails for good: later calls return the same error. */
static enum parse_result
reasm_fail(struct tls_hs_reasm *r, const char **why, const char *msg)
{
	r->error = msg;
	return parse_fail(why, msg);
}

static enum parse_result
too_large(struct tls_hs_reasm *r, const char **why)
{
	r->too_large = true;
	if (r->peer == TLS_PEER_CLIENT && r->nmsgs == 0)
		return reasm_fail(r, why, "ClientHello too large");
	return reasm_fail(r, why, "handshake message too large");
}

/* The next complete message in msg, if there is one. */
static enum parse_result
message_ready(struct tls_hs_reasm *r, const uint8_t *msg, size_t cap,
              struct tls_hs_msg *out, const char **why)
{
	size_t         have = r->hs_len - r->msg_off, len;
	const uint8_t *m;

	if (have == 0)
		return PARSE_AGAIN;
	m = msg + r->msg_off;
	if (r->nmsgs == 0) {
		if (r->peer == TLS_PEER_CLIENT && m[0] != TLS_HT_CLIENT_HELLO)
			return reasm_fail(r, why,
			                  "first message not ClientHello");
		if (r->peer == TLS_PEER_SERVER && m[0] != TLS_HT_SERVER_HELLO)
			return reasm_fail(r, why,
			                  "first message not ServerHello");
	}
	if (have < HS_HEADER_LEN)
		return PARSE_AGAIN;
	len = get24(m + 1);
	if (len > cap - r->msg_off - HS_HEADER_LEN)
		return too_large(r, why);
	if (len > have - HS_HEADER_LEN)
		return PARSE_AGAIN;
	memset(out, 0, sizeof(*out));
	out->content = TLS_CT_HANDSHAKE;
	out->type = m[0];
	out->body.p = m + HS_HEADER_LEN;
	out->body.len = len;
	out->stream_len = r->pos;
	r->msg_off += HS_HEADER_LEN + len;
	r->nmsgs++;
	return PARSE_OK;
}

/*
 * The record at r->pos: its header once complete, and its body too but for
 * application data, which is reported from the header alone.
 */
static enum parse_result
record_ready(struct tls_hs_reasm *r, const uint8_t *p, size_t len,
             struct record *rec, const char **why)
{
	size_t         left = len - r->pos;
	const uint8_t *h;
	const char    *err;

	if (left == 0)
		return PARSE_AGAIN;
	h = p + r->pos;
	err = record_prefix_error(h, left);
	if (err != NULL)
		return reasm_fail(r, why, err);
	if (left < TLS_RECORD_HEADER_LEN)
		return PARSE_AGAIN;
	rec->type = h[0];
	rec->version = get16(h + 1);
	rec->len = get16(h + 3);
	rec->body = h + TLS_RECORD_HEADER_LEN;
	if (rec->type != TLS_CT_APPLICATION_DATA &&
	    rec->len > left - TLS_RECORD_HEADER_LEN)
		return PARSE_AGAIN;
	return PARSE_OK;
}

static enum parse_result
append(struct tls_hs_reasm *r, const struct record *rec, uint8_t *msg,
       size_t cap, const char **why)
{
	if (rec->len > cap - r->hs_len)
		return too_large(r, why);
	memcpy(msg + r->hs_len, rec->body, rec->len);
	r->hs_len += rec->len;
	r->pos += TLS_RECORD_HEADER_LEN + rec->len;
	if (r->record_version == 0)
		r->record_version = rec->version;
	return PARSE_OK;
}

static enum parse_result
report_end(const struct tls_hs_reasm *r, struct tls_hs_msg *out)
{
	memset(out, 0, sizeof(*out));
	out->content = r->end;
	if (r->end == TLS_CT_ALERT) {
		out->alert_level = r->alert[0];
		out->alert_desc = r->alert[1];
	}
	out->stream_len = r->pos;
	return PARSE_OK;
}

/* A ChangeCipherSpec, alert or application data record: the clear ends. */
static enum parse_result
record_end(struct tls_hs_reasm *r, const struct record *rec,
           struct tls_hs_msg *out, const char **why)
{
	/* RFC 8446 5.1: handshake messages MUST NOT be interleaved */
	if (r->hs_len != r->msg_off)
		return reasm_fail(r, why, "record inside a handshake message");
	if (r->nmsgs == 0 && r->peer == TLS_PEER_CLIENT)
		return reasm_fail(r, why, "record before the ClientHello");
	if (r->nmsgs == 0 && rec->type != TLS_CT_ALERT)
		return reasm_fail(r, why, "record before the ServerHello");
	switch (rec->type) {
	case TLS_CT_CHANGE_CIPHER_SPEC: /* RFC 5246 7.1 */
		if (rec->len != 1 || rec->body[0] != 1)
			return reasm_fail(r, why, "malformed ChangeCipherSpec");
		break;
	case TLS_CT_ALERT: /* RFC 8446 5.1: never fragmented or coalesced */
		if (rec->len != 2)
			return reasm_fail(r, why, "malformed alert");
		r->alert[0] = rec->body[0];
		r->alert[1] = rec->body[1];
		break;
	default:
		break;
	}
	r->end = rec->type;
	if (rec->type != TLS_CT_APPLICATION_DATA)
		r->pos += TLS_RECORD_HEADER_LEN + rec->len;
	return report_end(r, out);
}

enum parse_result
tls_peek_reasm_next(struct tls_hs_reasm *r, const uint8_t *p, size_t len,
                    uint8_t *msg, size_t cap, struct tls_hs_msg *out,
                    const char **why)
{
	struct record     rec;
	enum parse_result res;

	if (r->error != NULL)
		return parse_fail(why, r->error);
	if (r->end != 0)
		return report_end(r, out);
	if (len < r->pos)
		return reasm_fail(r, why, "input shrank while reading records");
	for (;;) {
		res = message_ready(r, msg, cap, out, why);
		if (res != PARSE_AGAIN)
			return res;
		res = record_ready(r, p, len, &rec, why);
		if (res != PARSE_OK)
			return res;
		if (rec.type != TLS_CT_HANDSHAKE)
			return record_end(r, &rec, out, why);
		if (append(r, &rec, msg, cap, why) != PARSE_OK)
			return PARSE_ERROR;
	}
}

/*
 * Iterators.  Each reads one item from a copy of the list and moves the
 * list only once the whole item was read.
 */

bool
tls_peek_u16_next(struct tls_span *list, uint16_t *v)
{
	struct reader r = reader_of(*list);

	if (!read_u16(&r, v))
		return false;
	*list = reader_rest(&r);
	return true;
}

bool
tls_peek_ext_next(struct tls_span *list, uint16_t *type, struct tls_span *data)
{
	struct reader   r = reader_of(*list);
	struct tls_span d;
	uint16_t        t;

	if (!read_u16(&r, &t) || !read_vec16(&r, &d))
		return false;
	*type = t;
	*data = d;
	*list = reader_rest(&r);
	return true;
}

/* RFC 7301 3.1: opaque ProtocolName<1..2^8-1> */
bool
tls_peek_alpn_next(struct tls_span *list, struct tls_span *name)
{
	struct reader   r = reader_of(*list);
	struct tls_span n;

	if (!read_vec8(&r, &n) || n.len == 0)
		return false;
	*name = n;
	*list = reader_rest(&r);
	return true;
}

/* RFC 8446 4.2.8: NamedGroup group; opaque key_exchange<1..2^16-1> */
bool
tls_peek_key_share_next(struct tls_span *list, uint16_t *group,
                        struct tls_span *key)
{
	struct reader   r = reader_of(*list);
	struct tls_span k;
	uint16_t        g;

	if (!read_u16(&r, &g) || !read_vec16(&r, &k) || k.len == 0)
		return false;
	*group = g;
	*key = k;
	*list = reader_rest(&r);
	return true;
}

/* A block of extensions that frames exactly. */
static bool
ext_block_ok(struct tls_span list)
{
	struct tls_span data;
	uint16_t        type;

	while (tls_peek_ext_next(&list, &type, &data))
		continue;
	return list.len == 0;
}

/*
 * RFC 5246 7.4.2: opaque ASN.1Cert<1..2^24-1>; RFC 8446 4.4.2 adds
 * Extension extensions<0..2^16-1> after each.
 */
bool
tls_peek_cert_next(struct tls_span *list, bool tls13, struct tls_span *der,
                   struct tls_span *exts)
{
	struct reader   r = reader_of(*list);
	struct tls_span d, e = { NULL, 0 };

	if (!read_vec24(&r, &d) || d.len == 0)
		return false;
	if (tls13 && (!read_vec16(&r, &e) || !ext_block_ok(e)))
		return false;
	*der = d;
	if (exts != NULL)
		*exts = e;
	*list = reader_rest(&r);
	return true;
}

/*
 * Hellos.
 */

/* Remembers extension types: true if type was seen before. */
static bool
seen_before(uint64_t *seen, uint16_t type)
{
	uint64_t bit = (uint64_t)1 << (type % 64);
	bool     was = (seen[type / 64] & bit) != 0;

	seen[type / 64] |= bit;
	return was;
}

/* Reads one extension into the hello being parsed. */
typedef enum parse_result ext_fn(void *hello, uint16_t type,
                                 struct tls_span data, const char **why);

/*
 * Calls ext_cb for each extension of list, refusing a type seen twice
 * (RFC 8446 4.2) and a list that does not frame exactly.  A 65536-bit map
 * keeps that linear however many extensions there are.
 */
static enum parse_result
walk_extensions(struct tls_span list, unsigned *count, ext_fn *ext_cb,
                void *hello, const char **why)
{
	uint64_t        seen[65536 / 64];
	struct tls_span data;
	uint16_t        type;

	memset(seen, 0, sizeof(seen));
	*count = 0;
	while (tls_peek_ext_next(&list, &type, &data)) {
		if (seen_before(seen, type))
			return parse_fail(why, "duplicate extension");
		(*count)++;
		if (ext_cb(hello, type, data, why) != PARSE_OK)
			return PARSE_ERROR;
	}
	if (list.len != 0)
		return parse_fail(why, "malformed extension block");
	return PARSE_OK;
}

/* legacy_version, random and legacy_session_id: how both hellos start */
static enum parse_result
hello_start(struct reader *r, uint16_t *version, struct tls_span *random,
            struct tls_span *session_id, const char **why)
{
	if (!read_u16(r, version) || !read_bytes(r, 32, random) ||
	    !read_vec8(r, session_id))
		return parse_fail(why, "truncated hello");
	if (*version >> 8 != 3)
		return parse_fail(why, "unsupported hello version");
	if (session_id->len > 32)
		return parse_fail(why, "session_id longer than 32 bytes");
	return PARSE_OK;
}

static bool
is_ldh_or_underscore(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * A plausible DNS name: labels of 1..63 letters, digits, '-' or '_' (seen
 * in real names), 253 characters at most (the 255 octets of RFC 1035 2.3.4
 * in dotted form), and a trailing dot is tolerated.
 */
static enum parse_result
check_host_name(struct tls_span name, const char **why)
{
	size_t i, n = name.len, label = 0;

	if (n > 0 && name.p[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return parse_fail(why, "server name length out of range");
	for (i = 0; i < n; i++) {
		if (name.p[i] == '.') {
			if (label == 0)
				return parse_fail(why, "empty label in server name");
			label = 0;
		} else if (!is_ldh_or_underscore(name.p[i])) {
			return parse_fail(why, "invalid character in server name");
		} else if (++label > 63) {
			return parse_fail(why, "server name label over 63 bytes");
		}
	}
	if (label == 0)
		return parse_fail(why, "empty label in server name");
	return PARSE_OK;
}

/*
 * RFC 6066 3: ServerName server_name_list<1..2^16-1>, each a NameType and
 * HostName<1..2^16-1>.  Only host_name (0) is defined, and at most one of
 * each type is allowed: we want exactly one.
 */
static enum parse_result
client_sni(struct tls_client_hello *ch, struct tls_span data, const char **why)
{
	struct tls_span list;
	struct reader   r;
	uint8_t         type;

	if (!read_whole_vec(data, 2, &list))
		return parse_fail(why, "malformed server_name extension");
	r = reader_of(list);
	if (!read_u8(&r, &type) || !read_vec16(&r, &ch->sni))
		return parse_fail(why, "malformed server_name extension");
	if (type != 0)
		return parse_fail(why, "server_name is not a host_name");
	if (r.left != 0)
		return parse_fail(why, "more than one server_name");
	return check_host_name(ch->sni, why);
}

/* RFC 7301 3.1: ProtocolName protocol_name_list<2..2^16-1> */
static bool
alpn_list_ok(struct tls_span data, struct tls_span *list)
{
	struct tls_span rest, name;

	if (!read_whole_vec(data, 2, list) || list->len == 0)
		return false;
	for (rest = *list; tls_peek_alpn_next(&rest, &name);)
		continue;
	return rest.len == 0;
}

/* RFC 8446 4.2.1: ProtocolVersion versions<2..254> */
static bool
client_versions_ok(struct tls_client_hello *ch, struct tls_span data)
{
	struct tls_span list;
	uint16_t        v;

	if (!read_whole_vec(data, 1, &ch->supported_versions) ||
	    !u16_list_ok(ch->supported_versions, &ch->grease.versions))
		return false;
	list = ch->supported_versions;
	while (tls_peek_u16_next(&list, &v)) {
		if (!tls_peek_is_grease(v) && v > ch->max_version)
			ch->max_version = v;
	}
	return true;
}

/* RFC 8446 4.2.8: KeyShareEntry client_shares<0..2^16-1> */
static bool
client_key_shares_ok(struct tls_client_hello *ch, struct tls_span data)
{
	struct tls_span rest, key;
	uint16_t        group;

	if (!read_whole_vec(data, 2, &ch->key_shares))
		return false;
	ch->has_key_share = true;
	rest = ch->key_shares;
	while (tls_peek_key_share_next(&rest, &group, &key)) {
		ch->n_key_shares++;
		if (tls_peek_is_grease(group))
			ch->grease.key_shares++;
	}
	return rest.len == 0;
}

/* One extension of a ClientHello. */
static enum parse_result
client_ext_cb(void *hello, uint16_t type, struct tls_span data,
              const char **why)
{
	struct tls_client_hello *ch = hello;

	/* RFC 8446 4.2.11: pre_shared_key MUST be the last extension */
	if (ch->has_pre_shared_key)
		return parse_fail(why, "pre_shared_key is not the last extension");
	switch (type) {
	case TLS_EXT_SERVER_NAME:
		return client_sni(ch, data, why);
	case TLS_EXT_ALPN:
		if (!alpn_list_ok(data, &ch->alpn))
			return parse_fail(why, "malformed ALPN extension");
		break;
	case TLS_EXT_SUPPORTED_VERSIONS:
		if (!client_versions_ok(ch, data))
			return parse_fail(why,
			            "malformed supported_versions extension");
		break;
	case TLS_EXT_SUPPORTED_GROUPS:
		if (!read_whole_vec(data, 2, &ch->supported_groups) ||
		    !u16_list_ok(ch->supported_groups, &ch->grease.groups))
			return parse_fail(why,
			            "malformed supported_groups extension");
		break;
	case TLS_EXT_KEY_SHARE:
		if (!client_key_shares_ok(ch, data))
			return parse_fail(why, "malformed key_share extension");
		break;
	case TLS_EXT_SIGNATURE_ALGORITHMS:
		if (!read_whole_vec(data, 2, &ch->signature_algorithms) ||
		    !u16_list_ok(ch->signature_algorithms,
		                 &ch->grease.signature_algorithms))
			return parse_fail(why,
			            "malformed signature_algorithms extension");
		break;
	case TLS_EXT_EXTENDED_MASTER_SECRET:
		if (data.len != 0)
			return parse_fail(
			        why,
			        "malformed extended_master_secret extension");
		ch->has_extended_master_secret = true;
		break;
	case TLS_EXT_ECH:
		ch->has_ech = true;
		break;
	case TLS_EXT_SESSION_TICKET:
		ch->has_session_ticket = true;
		break;
	case TLS_EXT_PRE_SHARED_KEY:
		ch->has_pre_shared_key = true;
		break;
	case TLS_EXT_PADDING:
		ch->has_padding = true;
		break;
	default:
		if (tls_peek_is_grease(type))
			ch->grease.extensions++;
		break;
	}
	return PARSE_OK;
}

enum parse_result
tls_peek_client_hello(const uint8_t *body, size_t len,
                      struct tls_client_hello *out, const char **why)
{
	struct tls_client_hello ch;
	struct tls_span         all = { body, len };
	struct reader           r = reader_of(all);
	const struct tls_span  *cm = &ch.compression_methods;

	memset(&ch, 0, sizeof(ch));
	if (hello_start(&r, &ch.legacy_version, &ch.random, &ch.session_id,
	                why) != PARSE_OK)
		return PARSE_ERROR;
	if (!read_vec16(&r, &ch.cipher_suites) ||
	    !read_vec8(&r, &ch.compression_methods))
		return parse_fail(why, "truncated ClientHello");
	if (!u16_list_ok(ch.cipher_suites, &ch.grease.cipher_suites))
		return parse_fail(why, "malformed cipher_suites");
	/* RFC 5246 7.4.1.2: the list MUST contain null */
	if (cm->len == 0 || memchr(cm->p, 0, cm->len) == NULL)
		return parse_fail(why, "no null compression method");
	/* RFC 5246 7.4.1.2: nothing after compression, or extensions */
	if (r.left > 0) {
		if (!read_vec16(&r, &ch.extensions) || r.left != 0)
			return parse_fail(why, "extensions length mismatch");
		if (walk_extensions(ch.extensions, &ch.n_extensions,
		                    client_ext_cb, &ch, why) != PARSE_OK)
			return PARSE_ERROR;
	}
	if (ch.supported_versions.len == 0)
		ch.max_version = ch.legacy_version;
	*out = ch;
	return PARSE_OK;
}

/* RFC 8446 4.2.1: a server selects one version, TLS 1.3 or later */
static enum parse_result
server_version(struct tls_server_hello *sh, struct tls_span data,
               const char **why)
{
	struct reader r = reader_of(data);

	if (!read_u16(&r, &sh->version) || r.left != 0)
		return parse_fail(why, "malformed supported_versions extension");
	if (sh->version < TLS_VERSION_TLS13 || tls_peek_is_grease(sh->version))
		return parse_fail(why, "supported_versions selects no TLS 1.3");
	return PARSE_OK;
}

/*
 * RFC 8446 4.2.8: a ServerHello holds one KeyShareEntry; a
 * HelloRetryRequest only the NamedGroup selected_group.
 */
static enum parse_result
server_key_share(struct tls_server_hello *sh, struct tls_span data,
                 const char **why)
{
	struct reader r = reader_of(data);

	if (!read_u16(&r, &sh->key_share_group) ||
	    (!sh->hello_retry_request &&
	     (!read_vec16(&r, &sh->key_share) || sh->key_share.len == 0)) ||
	    r.left != 0)
		return parse_fail(why, "malformed key_share extension");
	return PARSE_OK;
}

/* One extension of a ServerHello. */
static enum parse_result
server_ext_cb(void *hello, uint16_t type, struct tls_span data,
              const char **why)
{
	struct tls_server_hello *sh = hello;
	struct tls_span          list;
	struct reader            r;
	uint16_t                 identity;

	switch (type) {
	case TLS_EXT_SUPPORTED_VERSIONS:
		return server_version(sh, data, why);
	case TLS_EXT_KEY_SHARE:
		return server_key_share(sh, data, why);
	case TLS_EXT_ALPN: /* RFC 7301 3.1: exactly one protocol */
		if (!read_whole_vec(data, 2, &list) ||
		    !tls_peek_alpn_next(&list, &sh->alpn) || list.len != 0)
			return parse_fail(why, "malformed ALPN extension");
		break;
	case TLS_EXT_EXTENDED_MASTER_SECRET:
		if (data.len != 0)
			return parse_fail(
			        why,
			        "malformed extended_master_secret extension");
		sh->has_extended_master_secret = true;
		break;
	case TLS_EXT_PRE_SHARED_KEY: /* uint16 selected_identity */
		r = reader_of(data);
		if (!read_u16(&r, &identity) || r.left != 0)
			return parse_fail(why, "malformed pre_shared_key extension");
		sh->has_pre_shared_key = true;
		break;
	default:
		break;
	}
	return PARSE_OK;
}

/*
 * RFC 8446 4.1.3 and 4.2.1: the version is that of supported_versions,
 * with legacy_version 0x0303, or legacy_version itself, at most TLS 1.2.
 */
static enum parse_result
server_negotiated(struct tls_server_hello *sh, const char **why)
{
	if (sh->version == 0) {
		if (sh->hello_retry_request)
			return parse_fail(why, "HelloRetryRequest without "
			                 "supported_versions");
		if (sh->legacy_version > TLS_VERSION_TLS12)
			return parse_fail(why, "unsupported hello version");
		sh->version = sh->legacy_version;
	} else if (sh->legacy_version != TLS_VERSION_TLS12) {
		return parse_fail(why, "legacy_version is not 0x0303");
	}
	sh->tls13 = sh->version == TLS_VERSION_TLS13;
	return PARSE_OK;
}

enum parse_result
tls_peek_server_hello(const uint8_t *body, size_t len,
                      struct tls_server_hello *out, const char **why)
{
	static const uint8_t downgrade[7] = {
		'D', 'O', 'W', 'N', 'G', 'R', 'D'
	};
	struct tls_server_hello sh;
	struct tls_span         all = { body, len };
	struct reader           r = reader_of(all);
	unsigned                n;
	uint8_t                 compression;

	memset(&sh, 0, sizeof(sh));
	if (hello_start(&r, &sh.legacy_version, &sh.random, &sh.session_id,
	                why) != PARSE_OK)
		return PARSE_ERROR;
	if (!read_u16(&r, &sh.cipher_suite) || !read_u8(&r, &compression))
		return parse_fail(why, "truncated ServerHello");
	if (compression != 0)
		return parse_fail(why, "compression method not null");
	sh.hello_retry_request = memcmp(sh.random.p, hrr_random, 32) == 0;
	sh.downgrade_sentinel = memcmp(sh.random.p + 24, downgrade, 7) == 0 &&
	                        sh.random.p[31] <= 1;
	if (r.left > 0) {
		if (!read_vec16(&r, &sh.extensions) || r.left != 0)
			return parse_fail(why, "extensions length mismatch");
		if (walk_extensions(sh.extensions, &n, server_ext_cb, &sh,
		                    why) != PARSE_OK)
			return PARSE_ERROR;
	}
	if (server_negotiated(&sh, why) != PARSE_OK)
		return PARSE_ERROR;
	*out = sh;
	return PARSE_OK;
}

enum parse_result
tls_peek_certificate(const uint8_t *body, size_t len, bool tls13,
                     struct tls_certificate *out, const char **why)
{
	struct tls_certificate c;
	struct tls_span        all = { body, len }, rest, der;
	struct reader          r = reader_of(all);

	memset(&c, 0, sizeof(c));
	c.tls13 = tls13;
	if ((tls13 && !read_vec8(&r, &c.context)) || !read_vec24(&r, &c.list))
		return parse_fail(why, "truncated Certificate");
	if (r.left != 0)
		return parse_fail(why, "bytes after certificate_list");
	rest = c.list;
	while (tls_peek_cert_next(&rest, tls13, &der, NULL))
		c.count++;
	if (rest.len != 0)
		return parse_fail(why, "malformed certificate_list");
	*out = c;
	return PARSE_OK;
}

const char *
tls_peek_version_name(uint16_t v)
{
	switch (v) {
	case TLS_VERSION_SSL3:
		return "SSLv3";
	case TLS_VERSION_TLS10:
		return "TLSv1.0";
	case TLS_VERSION_TLS11:
		return "TLSv1.1";
	case TLS_VERSION_TLS12:
		return "TLSv1.2";
	case TLS_VERSION_TLS13:
		return "TLSv1.3";
	default:
		return tls_peek_is_grease(v) ? "GREASE" : "unknown";
	}
}
