/*
 * auth_parse: the pure parts of proxy authentication with Squid's Basic
 * helpers: the credentials of a Proxy-Authorization field (RFC 7617), the
 * line a helper is sent for them, and the line it answers (Squid's helper
 * protocol).  No I/O, no logging, no allocation; src/auth.c runs the
 * helpers.
 */
#ifndef BASCULE_AUTH_PARSE_H
#define BASCULE_AUTH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define AUTH_CRED_MAX 4096 /* decoded "user-id:password", bytes */
#define AUTH_USER_MAX 256  /* user-id, bytes */
/* A field value that can hold AUTH_CRED_MAX bytes: "Basic " and base64. */
#define AUTH_FIELD_MAX (16 + (AUTH_CRED_MAX + 2) / 3 * 4)
/* "ID " + both escaped (3 bytes each at most) + ' ' + '\n' + NUL */
#define AUTH_LINE_MAX    (16 + 3 * AUTH_CRED_MAX + 3)
#define AUTH_REPLY_MAX   8192 /* an answer line, its newline included */
#define AUTH_MESSAGE_MAX 256  /* message= kept for the log */

/*
 * Basic credentials.  user and pass are NUL-terminated and hold neither
 * NUL nor any other control character (RFC 7617 2: "MUST NOT contain any
 * control characters"), user no ':'.  pass is a secret: whoever holds one
 * of these wipes it (auth_basic_wipe()) when done.
 */
struct auth_basic {
	char   user[AUTH_USER_MAX + 1];
	size_t user_len; /* at least 1 */
	char   pass[AUTH_CRED_MAX + 1];
	size_t pass_len;
};

enum auth_basic_result {
	AUTH_BASIC_OK = 0,  /* Basic credentials in *out */
	AUTH_BASIC_OTHER,   /* another scheme (RFC 9110 11.6.2): not ours */
	AUTH_BASIC_INVALID, /* Basic, but malformed: *why says how */
};

/*
 * Parses one Proxy-Authorization field value (value[0..len), OWS already
 * removed or not): "Basic" in any case, one or more spaces, then the
 * token68 of base64 (RFC 4648 4, padding optional) of user-id ":"
 * password, split at the first colon (RFC 7617 2).  Decoded credentials
 * longer than AUTH_CRED_MAX, a user-id longer than AUTH_USER_MAX or empty,
 * and control characters are AUTH_BASIC_INVALID.  out is wiped unless the
 * result is AUTH_BASIC_OK.
 */
enum auth_basic_result auth_basic_parse(const char *value, size_t len,
                                        struct auth_basic *out,
                                        const char       **why);

/* Overwrites the credentials, password included, in a way the compiler
 * keeps. */
void auth_basic_wipe(struct auth_basic *cred);

/*
 * RFC 3986 2.1 percent-encoding of p[0..len) into out: every byte but the
 * unreserved ones (2.3: ALPHA DIGIT "-" "." "_" "~") as %XX, so that a
 * space, '%', a newline or a NUL never reaches a helper as itself.
 * NUL-terminated; returns the length, or -1 if out is too small (out[0] is
 * then NUL).
 */
int auth_escape(const uint8_t *p, size_t len, char *out, size_t outsz);

/*
 * The request line for a Basic helper, as Squid writes it: "USER
 * PASSWORD\n", both percent-encoded (auth_escape()), preceded by the
 * channel-ID and a space when channel >= 0 (concurrency=N > 0).  Returns
 * the length, or -1 if it does not fit outsz.  out holds the password:
 * wipe it after use.
 */
int auth_helper_request(char *out, size_t outsz, long channel,
                        const struct auth_basic *cred);

enum auth_answer {
	AUTH_ANSWER_OK = 0, /* OK: the credentials are valid */
	AUTH_ANSWER_ERR,    /* ERR: they are not */
	AUTH_ANSWER_BH,     /* BH: the helper failed ("broken helper") */
};

struct auth_reply {
	unsigned long    channel; /* with_channel: the channel-ID */
	enum auth_answer answer;
	char message[AUTH_MESSAGE_MAX]; /* message=, decoded; "" if none */
};

/*
 * Parses one answer line, line[0..len) without its newline (a trailing CR
 * is ignored): "[CHANNEL ]OK|ERR|BH[ key=value...]".  Values are
 * percent-encoded or "quoted" with backslash escapes (Squid's helper
 * protocol); only message= is kept, truncated to fit, control characters
 * dropped.  Text after the result that is not key=value (Squid 2 helpers'
 * free text) is taken as the message when there is no message=.  Anything
 * else is PARSE_ERROR with *why: a helper that says it has desynchronised
 * from us.  Never PARSE_AGAIN.
 */
enum parse_result auth_helper_reply_parse(const char *line, size_t len,
                                          bool               with_channel,
                                          struct auth_reply *out,
                                          const char       **why);

#endif
