/*
 * tls_peek: a pure reader of the plaintext start of a TLS handshake, for
 * peek and splice.  No I/O, no allocation, no logging: input in, result out.
 *
 *   tls_peek_sniff()          are the first bytes of a stream TLS at all?
 *   tls_peek_reasm_next()     handshake messages out of the record stream
 *   tls_peek_client_hello()   RFC 8446 4.1.2 / RFC 5246 7.4.1.2
 *   tls_peek_server_hello()   RFC 8446 4.1.3 / RFC 5246 7.4.1.3
 *   tls_peek_certificate()    RFC 5246 7.4.2 (and RFC 8446 4.4.2)
 *
 * Parsed fields are spans (pointer + length) into the caller's buffers; they
 * stay valid while those buffers are not modified.  Copy what must outlive
 * them.  Lists stay on the wire as spans, validated once by the parser, and
 * are walked with the tls_peek_*_next() iterators.  Nothing here parses
 * X.509: certificates are handed out as DER spans.
 */
#ifndef BASCULE_TLS_PEEK_H
#define BASCULE_TLS_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* Record content types (RFC 8446 5.1). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT              21
#define TLS_CT_HANDSHAKE          22
#define TLS_CT_APPLICATION_DATA   23

/* Handshake message types (RFC 8446 4, RFC 5246 7.4). */
#define TLS_HT_CLIENT_HELLO        1
#define TLS_HT_SERVER_HELLO        2
#define TLS_HT_CERTIFICATE         11
#define TLS_HT_SERVER_KEY_EXCHANGE 12
#define TLS_HT_SERVER_HELLO_DONE   14

/* Extension types (IANA TLS ExtensionType Values). */
#define TLS_EXT_SERVER_NAME            0      /* RFC 6066 3 */
#define TLS_EXT_SUPPORTED_GROUPS       10     /* RFC 8446 4.2.7 */
#define TLS_EXT_SIGNATURE_ALGORITHMS   13     /* RFC 8446 4.2.3 */
#define TLS_EXT_ALPN                   16     /* RFC 7301 3.1 */
#define TLS_EXT_PADDING                21     /* RFC 7685 */
#define TLS_EXT_EXTENDED_MASTER_SECRET 23     /* RFC 7627 */
#define TLS_EXT_SESSION_TICKET         35     /* RFC 5077 */
#define TLS_EXT_PRE_SHARED_KEY         41     /* RFC 8446 4.2.11 */
#define TLS_EXT_SUPPORTED_VERSIONS     43     /* RFC 8446 4.2.1 */
#define TLS_EXT_KEY_SHARE              51     /* RFC 8446 4.2.8 */
#define TLS_EXT_ECH                    0xfe0d /* draft-ietf-tls-esni */

/* Protocol versions as they appear on the wire. */
#define TLS_VERSION_SSL3  0x0300
#define TLS_VERSION_TLS10 0x0301
#define TLS_VERSION_TLS11 0x0302
#define TLS_VERSION_TLS12 0x0303
#define TLS_VERSION_TLS13 0x0304

/* RFC 8446 5.1: a plaintext record carries at most 2^14 bytes. */
#define TLS_RECORD_MAX        16384
#define TLS_RECORD_HEADER_LEN 5
/* RFC 8446 4: the 24-bit length of a handshake message. */
#define TLS_HANDSHAKE_MAX 0xffffff

/*
 * Suggested limit for a ClientHello (the cap of tls_peek_reasm_next()).
 * Real ones are under 2 KB, post-quantum key shares included.
 */
#define TLS_CLIENT_HELLO_LIMIT 16384

struct tls_span {
	const uint8_t *p;
	size_t         len;
};

enum tls_sniff {
	TLS_SNIFF_TLS = 0, /* a plausible start of the expected handshake */
	TLS_SNIFF_NOT_TLS, /* certainly not: HTTP, SSH, SSLv2, garbage */
	TLS_SNIFF_MORE,    /* the bytes so far are a possible start */
};

/*
 * Decides from the first bytes a client sent whether they start a TLS
 * handshake: a record header (RFC 8446 5.1) of type handshake, record
 * version 0x0300..0x0304, length 1..2^14, and, once six bytes are there,
 * handshake type client_hello.  Answers NOT_TLS from the first byte that
 * cannot belong to that (usually the first), TLS from the sixth, MORE
 * before.  An SSLv2-format ClientHello is NOT_TLS.
 */
enum tls_sniff tls_peek_sniff(const uint8_t *p, size_t len);

/*
 * The same for the first bytes a server sent in reply: a handshake record
 * starting a server_hello, or an alert record of two bytes (the server
 * refused the ClientHello).
 */
enum tls_sniff tls_peek_sniff_server(const uint8_t *p, size_t len);

/* Whose bytes a reassembler reads. */
enum tls_peer {
	TLS_PEER_CLIENT = 0, /* first message must be a ClientHello */
	TLS_PEER_SERVER,     /* ServerHello (or an alert) first */
};

/*
 * Resumable state of a handshake reassembler over one direction of a
 * connection.  Zero-initialised it reads a client; tls_peek_reasm_init()
 * chooses the peer.  Only tls_peek.c writes its fields.
 */
struct tls_hs_reasm {
	size_t        pos;     /* stream bytes of whole records consumed */
	size_t        hs_len;  /* handshake bytes copied to msg */
	size_t        msg_off; /* start in msg of the next message */
	unsigned      nmsgs;   /* handshake messages delivered */
	enum tls_peer peer;
	uint16_t      record_version; /* of the first handshake record */
	uint8_t       end;      /* content type that ended it, 0 if none */
	uint8_t       alert[2]; /* level and description, if end is alert */
	bool          too_large; /* the error: a message would pass cap, so a
	                            larger msg could still read it */
	const char   *error;    /* why it failed, NULL if it did not */
};

/*
 * One result of tls_peek_reasm_next().  stream_len counts the stream bytes
 * consumed so far: whole records, up to and including the one that
 * completed this message or carried this ChangeCipherSpec or alert.  An
 * application_data record is reported from its header alone and is not
 * counted: its body is not the reassembler's.
 */
struct tls_hs_msg {
	uint8_t         content;     /* TLS_CT_*: what was found */
	uint8_t         type;        /* handshake: TLS_HT_* */
	struct tls_span body;        /* handshake: in msg, after the header */
	uint8_t         alert_level; /* alert: 1 warning, 2 fatal */
	uint8_t         alert_desc;  /* alert: RFC 8446 6 */
	size_t          stream_len;
};

void tls_peek_reasm_init(struct tls_hs_reasm *r, enum tls_peer peer);

/*
 * Reads the records in p[0..len), the whole stream received so far from
 * peer r->peer (the caller keeps every byte and calls again with the
 * longer buffer), copies the payloads of handshake records to
 * msg[0..cap) and returns the next result:
 *
 *   PARSE_OK     out->content says what:
 *                TLS_CT_HANDSHAKE: the next complete handshake message,
 *                  out->body into msg.  Call again for the one after it
 *                  (several may share a record; one may span many).
 *                TLS_CT_CHANGE_CIPHER_SPEC, TLS_CT_ALERT,
 *                TLS_CT_APPLICATION_DATA: a record that ends what can be
 *                  read in the clear.  It is final: later calls repeat it.
 *   PARSE_AGAIN  no complete message yet; call again with more input.
 *   PARSE_ERROR  *why says what; final as well.
 *
 * Records are taken whole and each is read once over all calls, so the
 * work is linear in the stream however it arrives.  Offsets count from the
 * start of the stream, which the caller passes whole every time, though
 * bytes before r->pos are not read again.  p may be NULL while len is 0.
 *
 * msg and cap must be the same on every call.  Bytes in msg are appended,
 * never moved, so every body stays valid until msg is reused.  cap bounds
 * all handshake bytes (4-byte message headers included) of the records
 * read up to the message wanted: a ClientHello of n bytes needs n + 4 (see
 * TLS_CLIENT_HELLO_LIMIT); a server's plaintext flight may be tens of KB,
 * mostly its Certificate.  The stream itself carries 5 more bytes per
 * record, so a caller whose input buffer fills up while this still says
 * AGAIN should treat the hello as too large.
 *
 * Errors: a record other than handshake before the first message (from a
 * server an alert is reported instead), a first message of the wrong type,
 * any record type but the four above, record version not 0x0300..0x0304,
 * handshake, alert or ChangeCipherSpec records empty, over 2^14 bytes or of
 * the wrong size, a record interleaved with a partial handshake message
 * (RFC 8446 5.1), handshake data beyond cap ("ClientHello too large"), and
 * input shorter than at the previous call.
 */
enum parse_result tls_peek_reasm_next(struct tls_hs_reasm *r, const uint8_t *p,
                                      size_t len, uint8_t *msg, size_t cap,
                                      struct tls_hs_msg *out, const char **why);

/* RFC 8701: the reserved GREASE values 0x0A0A, 0x1A1A, ..., 0xFAFA. */
bool tls_peek_is_grease(uint16_t v);

/* How many GREASE values each list of a ClientHello holds. */
struct tls_grease {
	unsigned cipher_suites;
	unsigned extensions;
	unsigned groups; /* supported_groups */
	unsigned key_shares;
	unsigned versions; /* supported_versions */
	unsigned signature_algorithms;
};

/*
 * A parsed ClientHello.  Spans point into the body given to the parser;
 * a list span is empty when its extension is absent.
 *
 * sni is the one host_name of server_name (RFC 6066 3), not NUL-terminated,
 * checked to be a plausible DNS name: 1..253 bytes, labels of 1..63
 * letters, digits, '-' and '_'.  A single trailing dot is accepted and left
 * in place: case, IDNA and that dot are the caller's business.
 *
 * max_version is the highest non-GREASE value of supported_versions (0 if
 * it holds only GREASE), or legacy_version if the extension is absent.
 */
struct tls_client_hello {
	uint16_t        legacy_version;
	struct tls_span random;        /* 32 bytes */
	struct tls_span session_id;    /* 0..32 bytes */
	struct tls_span cipher_suites; /* uint16 list, tls_peek_u16_next() */
	struct tls_span compression_methods; /* bytes, null among them */
	struct tls_span extensions; /* all of them, tls_peek_ext_next() */
	unsigned        n_extensions;

	struct tls_span sni;
	struct tls_span alpn; /* ProtocolNameList, tls_peek_alpn_next() */
	struct tls_span supported_versions; /* uint16 list */
	uint16_t        max_version;
	struct tls_span supported_groups; /* uint16 list */
	struct tls_span key_shares;       /* tls_peek_key_share_next() */
	unsigned        n_key_shares;
	struct tls_span signature_algorithms; /* uint16 list */

	bool has_key_share; /* key_shares may be empty: HRR wanted */
	bool has_ech;       /* encrypted_client_hello, outer or GREASE */
	bool has_session_ticket;
	bool has_pre_shared_key; /* always last (RFC 8446 4.2.11) */
	bool has_padding;
	bool has_extended_master_secret;

	struct tls_grease grease;
};

/*
 * Parses the body of a ClientHello message (as tls_peek_reasm_next()
 * delivers it) strictly: legacy_version 3.x, session_id up to 32 bytes,
 * cipher_suites of even length >= 2, compression methods including null,
 * then no extensions at all (TLS 1.2 and before) or an extension block of
 * exactly the remaining length, with no extension type twice (RFC 8446 4.2)
 * and pre_shared_key last (RFC 8446 4.2.11).  The extensions it reads
 * (server_name, ALPN, supported_versions, supported_groups, key_share,
 * signature_algorithms, extended_master_secret) must each fill their data
 * exactly.  Others are only counted and framed.  Returns PARSE_OK or
 * PARSE_ERROR with *why set; out is filled on PARSE_OK only.
 */
enum parse_result tls_peek_client_hello(const uint8_t *body, size_t len,
                                        struct tls_client_hello *out,
                                        const char **why);

/*
 * A parsed ServerHello, spans into the body given to the parser.  RFC 8446
 * 4.1.3: a HelloRetryRequest is a ServerHello with a special random, after
 * which the client sends a second ClientHello; a TLS 1.3 server that
 * negotiates an older version ends its random in "DOWNGRD" 0 or 1.  The
 * key_share of a HelloRetryRequest names only the group wanted.
 */
struct tls_server_hello {
	uint16_t        legacy_version;
	struct tls_span random; /* 32 bytes */
	bool            hello_retry_request;
	bool            downgrade_sentinel;
	struct tls_span session_id; /* echo of the client's, 0..32 bytes */
	uint16_t        cipher_suite;
	struct tls_span extensions;      /* tls_peek_ext_next() */
	uint16_t        version;         /* supported_versions, else legacy */
	bool            tls13;           /* version is TLS 1.3 */
	uint16_t        key_share_group; /* 0 if absent */
	struct tls_span key_share;       /* empty in an HRR */
	struct tls_span alpn; /* the selected protocol, empty if none */
	bool            has_extended_master_secret;
	bool            has_pre_shared_key; /* TLS 1.3 resumption accepted */
};

/*
 * Parses the body of a ServerHello (or HelloRetryRequest) strictly:
 * legacy_version 3.x (0x0303 when supported_versions is present, at most
 * 0x0303 otherwise), session_id up to 32 bytes, compression method null,
 * extensions as for the ClientHello, supported_versions of exactly one
 * version >= TLS 1.3, required in a HelloRetryRequest, and ALPN naming
 * exactly one protocol.  PARSE_OK or PARSE_ERROR with *why set.
 */
enum parse_result tls_peek_server_hello(const uint8_t *body, size_t len,
                                        struct tls_server_hello *out,
                                        const char **why);

/* A parsed Certificate message. */
struct tls_certificate {
	bool            tls13;   /* parsed with the TLS 1.3 shape */
	struct tls_span context; /* certificate_request_context, TLS 1.3 */
	struct tls_span list;    /* certificate_list, tls_peek_cert_next() */
	unsigned        count;   /* certificates in it; leaf first */
};

/*
 * Parses the body of a Certificate message: RFC 5246 7.4.2 (a 24-bit
 * list of 24-bit-length DER certificates), or with tls13 RFC 8446 4.4.2
 * (a request context, then entries each followed by its extensions).  The
 * list must fill the body exactly and no certificate may be empty; the
 * DER itself is not looked at.  An empty list is valid (count 0).
 */
enum parse_result tls_peek_certificate(const uint8_t *body, size_t len,
                                       bool tls13, struct tls_certificate *out,
                                       const char **why);

/*
 * Iterators over the lists the parsers validated.  Each yields the first
 * item of *list and shrinks *list past it; it returns false, leaving *list
 * alone, at the end of the list or if the rest is malformed (which cannot
 * happen with a span from a parser).
 */

/* Lists of uint16: cipher suites, versions, groups, signature schemes. */
bool tls_peek_u16_next(struct tls_span *list, uint16_t *v);

/* Extensions: type and extension_data. */
bool tls_peek_ext_next(struct tls_span *list, uint16_t *type,
                       struct tls_span *data);

/* ALPN ProtocolNameList: one non-empty protocol name. */
bool tls_peek_alpn_next(struct tls_span *list, struct tls_span *name);

/* ClientHello key_share entries: group and key_exchange (non-empty). */
bool tls_peek_key_share_next(struct tls_span *list, uint16_t *group,
                             struct tls_span *key);

/*
 * Certificate list of tls_peek_certificate(): one DER certificate, and
 * with tls13 that entry's extensions (exts may be NULL).
 */
bool tls_peek_cert_next(struct tls_span *list, bool tls13, struct tls_span *der,
                        struct tls_span *exts);

/*
 * A name for logs: "SSLv3", "TLSv1.0" ... "TLSv1.3", "GREASE", or
 * "unknown".  Static strings.
 */
const char *tls_peek_version_name(uint16_t v);

#endif /* BASCULE_TLS_PEEK_H */
