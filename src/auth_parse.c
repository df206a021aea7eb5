#include "config.h"

/*
 * auth_parse: Basic credentials, the helper's request line and its answer
 * (see auth_parse.h).  Pure: input in, result out.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth_parse.h"

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f; /* RFC 5234 B.1 CTL */
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 4648 4; -1 for a byte outside the alphabet. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes base64 p[0..len) into out (at most outsz bytes).  Padding is
 * optional, but when present it completes the last group; a group of one
 * character, or bits left over, are refused.  Returns the length, -1 for
 * what is not base64, or -2 when it does not fit.
 */
static long
b64_decode(const char *p, size_t len, uint8_t *out, size_t outsz)
{
	size_t   n = 0, pad = 0, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (len > 0 && p[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (pad > 0 && (len + pad) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (n = 0; n < len; n++) {
		int v = b64_value((unsigned char)p[n]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -2;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* RFC 4648 3.5: non-zero pad bits */
		return -1;
	return (long)o;
}

void
auth_basic_wipe(struct auth_basic *cred)
{
	explicit_bzero(cred, sizeof(*cred));
}

enum auth_basic_result
auth_basic_parse(const char *value, size_t len, struct auth_basic *out,
                 const char **why)
{
	static const char scheme[] = "basic";
	uint8_t           buf[AUTH_CRED_MAX];
	const uint8_t    *colon;
	size_t            i, ulen;
	long              n;
	const char       *ignored;

	if (why == NULL)
		why = &ignored;
	auth_basic_wipe(out);
	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	/* RFC 9110 11.1: the scheme is a case-insensitive token. */
	for (i = 0; i < sizeof(scheme) - 1; i++)
		if (i >= len || ascii_lower(value[i]) != scheme[i])
			return AUTH_BASIC_OTHER;
	if (i < len && value[i] != ' ')
		return AUTH_BASIC_OTHER; /* "Basicx" is another token */
	while (i < len && value[i] == ' ')
		i++;
	if (i == len) {
		*why = "Basic without credentials";
		return AUTH_BASIC_INVALID;
	}
	if (len - i > AUTH_FIELD_MAX) {
		*why = "Basic credentials too long";
		return AUTH_BASIC_INVALID;
	}
	n = b64_decode(value + i, len - i, buf, sizeof(buf));
	if (n < 0) {
		*why = n == -2 ? "Basic credentials too long"
		               : "Basic credentials are not base64";
		explicit_bzero(buf, sizeof(buf));
		return AUTH_BASIC_INVALID;
	}
	colon = memchr(buf, ':', (size_t)n);
	for (i = 0; i < (size_t)n; i++) {
		if (is_ctl(buf[i])) {
			*why = "control character in Basic credentials";
			goto invalid;
		}
	}
	if (colon == NULL) {
		*why = "no ':' in Basic credentials";
		goto invalid;
	}
	ulen = (size_t)(colon - buf);
	if (ulen == 0) {
		*why = "empty user name";
		goto invalid;
	}
	if (ulen > AUTH_USER_MAX) {
		*why = "user name too long";
		goto invalid;
	}
	memcpy(out->user, buf, ulen);
	out->user[ulen] = '\0';
	out->user_len = ulen;
	out->pass_len = (size_t)n - ulen - 1;
	memcpy(out->pass, colon + 1, out->pass_len);
	out->pass[out->pass_len] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return AUTH_BASIC_OK;
invalid:
	explicit_bzero(buf, sizeof(buf));
	return AUTH_BASIC_INVALID;
}

/* RFC 3986 2.3 */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int
auth_escape(const uint8_t *p, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t            o = 0;

	if (outsz == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		size_t need = is_unreserved(p[i]) ? 1 : 3;

		if (need >= outsz - o) { /* and the NUL */
			out[0] = '\0';
			return -1;
		}
		if (need == 1) {
			out[o++] = (char)p[i];
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
	return (int)o;
}

int
auth_helper_request(char *out, size_t outsz, long channel,
                    const struct auth_basic *cred)
{
	size_t o = 0;
	int    n;

	if (outsz == 0)
		return -1;
	if (channel >= 0) {
		/* at most 20 digits and a space */
		char   id[24];
		size_t i = sizeof(id);

		id[--i] = ' ';
		do {
			id[--i] = (char)('0' + channel % 10);
			channel /= 10;
		} while (channel > 0);
		if (sizeof(id) - i >= outsz)
			goto toobig;
		memcpy(out, id + i, sizeof(id) - i);
		o = sizeof(id) - i;
	}
	/* "USER PASS\n", each escaped */
	for (int f = 0; f < 2; f++) {
		n = f == 0 ? auth_escape((const uint8_t *)cred->user,
		                         cred->user_len, out + o, outsz - o)
		           : auth_escape((const uint8_t *)cred->pass,
		                         cred->pass_len, out + o, outsz - o);
		if (n < 0)
			goto toobig;
		o += (size_t)n;
		if (outsz - o < 2)
			goto toobig;
		out[o++] = f == 0 ? ' ' : '\n';
	}
	out[o] = '\0';
	return (int)o;
toobig:
	explicit_bzero(out, outsz);
	return -1;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Appends c to the message unless it is a control character or full. */
static void
message_put(struct auth_reply *out, size_t *o, char c)
{
	if (is_ctl((unsigned char)c) || *o + 1 >= sizeof(out->message))
		return;
	out->message[(*o)++] = c;
	out->message[*o] = '\0';
}

/*
 * The value of a key=value pair at p[0..len): "quoted" with backslash
 * escapes, or a word up to the next space, percent-encoded.  Returns the
 * bytes it took, or -1 for an unterminated quote.  Decoded into the
 * message when keep.
 */
static long
reply_value(const char *p, size_t len, bool keep, struct auth_reply *out)
{
	size_t i = 0, o = 0;

	if (len > 0 && p[0] == '"') {
		for (i = 1; i < len && p[i] != '"'; i++) {
			if (p[i] == '\\' && i + 1 < len)
				i++;
			if (keep)
				message_put(out, &o, p[i]);
		}
		if (i == len)
			return -1;
		return (long)i + 1;
	}
	for (i = 0; i < len && p[i] != ' '; i++) {
		int hi, lo;

		if (p[i] == '%' && i + 2 < len &&
		    (hi = hex_value(p[i + 1])) >= 0 &&
		    (lo = hex_value(p[i + 2])) >= 0) {
			if (keep)
				message_put(out, &o, (char)(hi << 4 | lo));
			i += 2;
			continue;
		}
		if (keep)
			message_put(out, &o, p[i]);
	}
	return (long)i;
}

enum parse_result
auth_helper_reply_parse(const char *line, size_t len, bool with_channel,
                        struct auth_reply *out, const char **why)
{
	static const struct {
		const char      *word;
		enum auth_answer answer;
	} words[] = {
		{ "OK", AUTH_ANSWER_OK },
		{ "ERR", AUTH_ANSWER_ERR },
		{ "BH", AUTH_ANSWER_BH },
	};
	size_t i = 0, w, o = 0;
	bool   have_message = false;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		return parse_fail(why, "NUL in the answer");
	if (with_channel) {
		unsigned long id = 0;

		if (i == len || line[i] < '0' || line[i] > '9')
			return parse_fail(why, "no channel-ID");
		for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
			if (id > 99999999)
				return parse_fail(why, "channel-ID too large");
			id = id * 10 + (unsigned long)(line[i] - '0');
		}
		if (i == len || line[i] != ' ')
			return parse_fail(why,
			                  "no result after the channel-ID");
		i++;
		out->channel = id;
	}
	for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t n = strlen(words[w].word);

		if (len - i >= n && memcmp(line + i, words[w].word, n) == 0 &&
		    (len - i == n || line[i + n] == ' '))
			break;
	}
	if (w == sizeof(words) / sizeof(words[0]))
		return parse_fail(why, "not OK, ERR or BH");
	out->answer = words[w].answer;
	i += strlen(words[w].word);
	while (i < len) {
		const char *eq, *sp;
		long        n;

		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		sp = memchr(line + i, ' ', len - i);
		eq = memchr(
		        line + i, '=',
		        (size_t)((sp != NULL ? sp : line + len) - (line + i)));
		if (eq == NULL) {
			/* free text (Squid 2 helpers): a message, word by word
			 */
			size_t end = sp != NULL ? (size_t)(sp - line) : len;

			if (!have_message) {
				if (o > 0)
					message_put(out, &o, ' ');
				for (; i < end; i++)
					message_put(out, &o, line[i]);
			}
			i = end;
			continue;
		}
		if ((size_t)(eq - (line + i)) == 7 &&
		    memcmp(line + i, "message", 7) == 0) {
			if (!have_message)
				out->message[0] = '\0';
			n = reply_value(eq + 1, len - (size_t)(eq + 1 - line),
			                !have_message, out);
			have_message = true;
		} else {
			n = reply_value(eq + 1, len - (size_t)(eq + 1 - line),
			                false, out);
		}
		if (n < 0)
			return parse_fail(why, "unterminated quoted value");
		i = (size_t)(eq + 1 - line) + (size_t)n;
		if (i < len && line[i] != ' ')
			return parse_fail(why,
			                  "text right after a quoted value");
	}
	return PARSE_OK;
}
