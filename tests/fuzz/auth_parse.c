/*
 * Fuzz target for auth_parse: the input is a client's Proxy-Authorization
 * field value, and also a helper's answer line.  Credentials that parse
 * must be within their bounds, free of control characters, and make a
 * request line that a helper reads as exactly one line of two (or, with a
 * channel-ID, three) words: nothing a client sends can desynchronise the
 * helper protocol.  An answer parses or not, never "more"; its message is
 * bounded and free of control characters.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_parse.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Only unreserved bytes and %XX (RFC 3986 2.1, 2.3). */
static void
check_escaped(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			CHECK(i + 2 < len);
			CHECK(strchr("0123456789ABCDEF", p[i + 1]) != NULL);
			CHECK(strchr("0123456789ABCDEF", p[i + 2]) != NULL);
			i += 2;
			continue;
		}
		CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("-._~", c) != NULL);
	}
}

static void
check_request(const struct auth_basic *cred, long channel)
{
	static char line[AUTH_LINE_MAX];
	int         n = auth_helper_request(line, sizeof(line), channel, cred);
	const char *sp, *user;

	CHECK(n > 0 && (size_t)n < sizeof(line) && line[n] == '\0');
	CHECK(line[n - 1] == '\n');
	CHECK(memchr(line, '\n', (size_t)n - 1) == NULL);
	user = line;
	if (channel >= 0) {
		user = strchr(line, ' ');
		CHECK(user != NULL);
		user++;
	}
	sp = strchr(user, ' ');
	CHECK(sp != NULL);
	CHECK(strchr(sp + 1, ' ') == NULL);
	check_escaped(user, (size_t)(sp - user));
	check_escaped(sp + 1, (size_t)(line + n - 1 - (sp + 1)));
}

static void
check_basic(const char *value, size_t len)
{
	static struct auth_basic cred;
	const char              *why = NULL;
	enum auth_basic_result   r;

	r = auth_basic_parse(value, len, &cred, &why);
	if (r == AUTH_BASIC_INVALID)
		CHECK(why != NULL);
	if (r != AUTH_BASIC_OK) {
		CHECK(cred.user_len == 0 && cred.pass_len == 0);
		return;
	}
	CHECK(cred.user_len >= 1 && cred.user_len <= AUTH_USER_MAX);
	CHECK(cred.pass_len <= AUTH_CRED_MAX - 1 - cred.user_len);
	CHECK(strlen(cred.user) == cred.user_len);
	CHECK(strlen(cred.pass) == cred.pass_len);
	CHECK(strchr(cred.user, ':') == NULL);
	for (size_t i = 0; i < cred.user_len; i++)
		CHECK(!is_ctl((unsigned char)cred.user[i]));
	for (size_t i = 0; i < cred.pass_len; i++)
		CHECK(!is_ctl((unsigned char)cred.pass[i]));
	check_request(&cred, -1);
	check_request(&cred, 999);
	auth_basic_wipe(&cred);
}

static void
check_reply(const char *line, size_t len, bool with_channel)
{
	struct auth_reply r;
	const char       *why = NULL;
	enum parse_result pr;
	size_t            mlen;

	pr = auth_helper_reply_parse(line, len, with_channel, &r, &why);
	CHECK(pr == PARSE_OK || pr == PARSE_ERROR);
	if (pr == PARSE_ERROR) {
		CHECK(why != NULL);
		return;
	}
	CHECK(r.answer == AUTH_ANSWER_OK || r.answer == AUTH_ANSWER_ERR ||
	      r.answer == AUTH_ANSWER_BH);
	mlen = strnlen(r.message, sizeof(r.message));
	CHECK(mlen < sizeof(r.message));
	for (size_t i = 0; i < mlen; i++)
		CHECK(!is_ctl((unsigned char)r.message[i]));
	if (!with_channel)
		CHECK(r.channel == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char esc[3 * 8192 + 1];
	char       *copy = malloc(size + 1);
	int         n;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	check_basic(copy, size);
	check_reply(copy, size, false);
	check_reply(copy, size, true);
	if (size <= 8192) {
		n = auth_escape(data, size, esc, sizeof(esc));
		CHECK(n >= 0 && (size_t)n <= 3 * size);
		check_escaped(esc, (size_t)n);
	}
	free(copy);
	return 0;
}
