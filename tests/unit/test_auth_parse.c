#include "config.h"

/*
 * auth_parse: Basic credentials (RFC 7617), the percent-encoding and the
 * request line of Squid's helper protocol, and the helpers' answers.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_parse.h"
#include "tap.h"

/* base64 of p[0..len), RFC 4648 4, padded unless nopad. */
static void
b64(const char *p, size_t len, bool nopad, char *out)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t            o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned char)p[i] << 16 |
		             (unsigned char)p[i + 1] << 8 |
		             (unsigned char)p[i + 2];

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned char)p[i] << 16;

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		if (!nopad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		unsigned v = (unsigned char)p[i] << 16 | (unsigned char)p[i + 1]
		                                                 << 8;

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (!nopad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static struct auth_basic cred;

/* "Basic " + base64(p[0..len)), parsed. */
static enum auth_basic_result
parse_plain(const char *p, size_t len, const char **why)
{
	static char field[2 * AUTH_FIELD_MAX];

	memcpy(field, "Basic ", 6);
	b64(p, len, false, field + 6);
	return auth_basic_parse(field, strlen(field), &cred, why);
}

static void
test_basic(void)
{
	static const struct {
		const char            *field;
		enum auth_basic_result r;
		const char            *user, *pass;
	} cases[] = {
		/* RFC 7617 2's example: Aladdin, open sesame */
		{ "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", AUTH_BASIC_OK,
		  "Aladdin", "open sesame" },
		{ "basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", AUTH_BASIC_OK,
		  "Aladdin", "open sesame" },
		{ "BASIC    QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ", AUTH_BASIC_OK,
		  "Aladdin", "open sesame" },
		{ "  Basic YWxpY2U6c2VjcmV0", AUTH_BASIC_OK, "alice",
		  "secret" },
		/* "alice:" without padding, and an empty password */
		{ "Basic YWxpY2U6", AUTH_BASIC_OK, "alice", "" },
		/* "a:b:c": the password keeps its colons */
		{ "Basic YTpiOmM=", AUTH_BASIC_OK, "a", "b:c" },
		{ "Basic YTpiOmM", AUTH_BASIC_OK, "a", "b:c" },
		/* UTF-8 "jürgen:pässe" */
		{ "Basic asO8cmdlbjpww6Rzc2U=", AUTH_BASIC_OK, "j\xc3\xbcrgen",
		  "p\xc3\xa4sse" },
		{ "Bearer abc", AUTH_BASIC_OTHER, NULL, NULL },
		{ "Basicx YWxpY2U6c2VjcmV0", AUTH_BASIC_OTHER, NULL, NULL },
		{ "Digest username=\"a\"", AUTH_BASIC_OTHER, NULL, NULL },
		{ "Basi", AUTH_BASIC_OTHER, NULL, NULL },
		{ "", AUTH_BASIC_OTHER, NULL, NULL },
		{ "Basic", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic   ", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic\tYWxpY2U6c2VjcmV0", AUTH_BASIC_OTHER, NULL, NULL },
		{ "Basic YWxp Y2U6", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic YWxpY2U6c2VjcmV0=", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic YWxpY2U6c2VjcmV0===", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic Y", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic YR==", AUTH_BASIC_INVALID, NULL, NULL }, /* pad bits */
		{ "Basic YW*j", AUTH_BASIC_INVALID, NULL, NULL },
		{ "Basic YWxpY2U=", AUTH_BASIC_INVALID, NULL, NULL }, /* no : */
		{ "Basic OnNlY3JldA==", AUTH_BASIC_INVALID, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char            *why = NULL;
		enum auth_basic_result r;

		r = auth_basic_parse(cases[i].field, strlen(cases[i].field),
		                     &cred, &why);
		ok(r == cases[i].r &&
		           (r != AUTH_BASIC_OK ||
		            (strcmp(cred.user, cases[i].user) == 0 &&
		             cred.user_len == strlen(cases[i].user) &&
		             strcmp(cred.pass, cases[i].pass) == 0 &&
		             cred.pass_len == strlen(cases[i].pass))) &&
		           (r != AUTH_BASIC_INVALID || why != NULL),
		   "Basic field %zu: '%s' -> %d (%s)", i, cases[i].field,
		   (int)r, why != NULL ? why : "-");
		if (r != AUTH_BASIC_OK)
			ok(cred.user[0] == '\0' && cred.pass_len == 0,
			   "field %zu: nothing left in the result", i);
	}
}

static void
test_basic_bytes(void)
{
	static char big[AUTH_CRED_MAX + 2];
	const char *why = NULL;
	static const struct {
		const char *cred;
		size_t      len;
		const char *name;
	} ctl[] = {
		{ "al\0ce:secret", 12, "NUL in the user" },
		{ "alice:sec\0ret", 13, "NUL in the password" },
		{ "alice:sec\nret", 13, "newline in the password" },
		{ "ali\rce:secret", 13, "CR in the user" },
		{ "alice:secret\x7f", 13, "DEL in the password" },
		{ "alice:\tsecret", 13, "tab in the password" },
	};

	for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		why = NULL;
		ok(parse_plain(ctl[i].cred, ctl[i].len, &why) ==
		                   AUTH_BASIC_INVALID &&
		           strcmp(why, "control character in Basic "
		                       "credentials") == 0,
		   "RFC 7617 2: %s is refused", ctl[i].name);
	}
	ok(parse_plain("sp ace%:p w:d%", 14, &why) == AUTH_BASIC_OK &&
	           strcmp(cred.user, "sp ace%") == 0 &&
	           strcmp(cred.pass, "p w:d%") == 0,
	   "spaces and '%%' are taken");

	/* The bounds: AUTH_CRED_MAX decoded, AUTH_USER_MAX for the user. */
	memset(big, 'a', sizeof(big));
	big[1] = ':';
	ok(parse_plain(big, AUTH_CRED_MAX, &why) == AUTH_BASIC_OK &&
	           cred.pass_len == AUTH_CRED_MAX - 2,
	   "%d bytes of credentials are taken", AUTH_CRED_MAX);
	ok(parse_plain(big, AUTH_CRED_MAX + 1, &why) == AUTH_BASIC_INVALID &&
	           strcmp(why, "Basic credentials too long") == 0,
	   "%d bytes are too long", AUTH_CRED_MAX + 1);
	memset(big, 'u', sizeof(big));
	big[AUTH_USER_MAX] = ':';
	ok(parse_plain(big, AUTH_USER_MAX + 3, &why) == AUTH_BASIC_OK &&
	           cred.user_len == AUTH_USER_MAX,
	   "a user name of %d bytes", AUTH_USER_MAX);
	big[AUTH_USER_MAX] = 'u';
	big[AUTH_USER_MAX + 1] = ':';
	ok(parse_plain(big, AUTH_USER_MAX + 3, &why) == AUTH_BASIC_INVALID &&
	           strcmp(why, "user name too long") == 0,
	   "a user name of %d bytes is too long", AUTH_USER_MAX + 1);
	auth_basic_wipe(&cred);
	ok(cred.user[0] == '\0' && cred.pass[0] == '\0' && cred.pass_len == 0,
	   "auth_basic_wipe() clears");
}

static void
test_escape(void)
{
	char out[64];

	ok(auth_escape((const uint8_t *)"a b%c\n\0~._-Z9", 13, out,
	               sizeof(out)) == 21 &&
	           strcmp(out, "a%20b%25c%0A%00~._-Z9") == 0,
	   "RFC 3986: all but the unreserved are %%XX");
	ok(auth_escape((const uint8_t *)"\xc3\xbc:+/", 5, out, sizeof(out)) ==
	                   15 &&
	           strcmp(out, "%C3%BC%3A%2B%2F") == 0,
	   "non-ASCII and reserved bytes are escaped");
	ok(auth_escape((const uint8_t *)"", 0, out, sizeof(out)) == 0 &&
	           out[0] == '\0',
	   "empty");
	ok(auth_escape((const uint8_t *)"abc", 3, out, 4) == 3 &&
	           strcmp(out, "abc") == 0,
	   "exactly fits with its NUL");
	ok(auth_escape((const uint8_t *)"abc", 3, out, 3) == -1 &&
	           out[0] == '\0',
	   "one byte short: -1");
	ok(auth_escape((const uint8_t *)" ", 1, out, 3) == -1 && out[0] == '\0',
	   "no room for %%20: -1");
}

static void
test_request(void)
{
	char out[AUTH_LINE_MAX];
	int  n;

	memset(&cred, 0, sizeof(cred));
	strcpy(cred.user, "alice");
	cred.user_len = 5;
	strcpy(cred.pass, "secret");
	cred.pass_len = 6;
	n = auth_helper_request(out, sizeof(out), -1, &cred);
	ok(n == 13 && strcmp(out, "alice secret\n") == 0, "USER PASSWORD\\n");
	n = auth_helper_request(out, sizeof(out), 7, &cred);
	ok(n == 15 && strcmp(out, "7 alice secret\n") == 0,
	   "concurrency: the channel-ID first");
	n = auth_helper_request(out, sizeof(out), 1234567, &cred);
	ok(n > 0 && strcmp(out, "1234567 alice secret\n") == 0,
	   "a long channel-ID");
	strcpy(cred.user, "sp ace%");
	cred.user_len = 7;
	memcpy(cred.pass, "p w\n\0x", 6);
	cred.pass_len = 6;
	n = auth_helper_request(out, sizeof(out), -1, &cred);
	ok(n > 0 && strcmp(out, "sp%20ace%25 p%20w%0A%00x\n") == 0,
	   "nothing in the names can split or end the line");
	ok(auth_helper_request(out, 10, -1, &cred) == -1 && out[0] == '\0',
	   "too small: -1, nothing left");
	memset(cred.pass, 0xff, AUTH_CRED_MAX);
	cred.pass_len = AUTH_CRED_MAX - 8;
	n = auth_helper_request(out, sizeof(out), 999, &cred);
	ok(n > 0 && (size_t)n < sizeof(out) && out[n - 1] == '\n',
	   "AUTH_LINE_MAX holds the largest credentials");
	auth_basic_wipe(&cred);
}

static void
test_reply(void)
{
	static const struct {
		const char      *line;
		bool             with_channel;
		int              ok; /* 1 parses, 0 garbage */
		enum auth_answer answer;
		unsigned long    channel;
		const char      *message;
	} cases[] = {
		{ "OK", false, 1, AUTH_ANSWER_OK, 0, "" },
		{ "ERR", false, 1, AUTH_ANSWER_ERR, 0, "" },
		{ "BH", false, 1, AUTH_ANSWER_BH, 0, "" },
		{ "OK ", false, 1, AUTH_ANSWER_OK, 0, "" },
		{ "OK\r", false, 1, AUTH_ANSWER_OK, 0, "" },
		{ "ERR message=bad%20password", false, 1, AUTH_ANSWER_ERR, 0,
		  "bad password" },
		{ "ERR message=\"bad \\\"password\\\"\"", false, 1,
		  AUTH_ANSWER_ERR, 0, "bad \"password\"" },
		{ "BH message=\"it broke\" log=x", false, 1, AUTH_ANSWER_BH, 0,
		  "it broke" },
		{ "OK user=\"a b\" ttl=5", false, 1, AUTH_ANSWER_OK, 0, "" },
		{ "ERR Wrong password", false, 1, AUTH_ANSWER_ERR, 0,
		  "Wrong password" },
		{ "ERR free text message=wins", false, 1, AUTH_ANSWER_ERR, 0,
		  "wins" },
		{ "ERR message=%0A%00x", false, 1, AUTH_ANSWER_ERR, 0, "x" },
		{ "ERR message=%zz", false, 1, AUTH_ANSWER_ERR, 0, "%zz" },
		{ "0 OK", true, 1, AUTH_ANSWER_OK, 0, "" },
		{ "17 ERR message=no", true, 1, AUTH_ANSWER_ERR, 17, "no" },
		{ "3 BH", true, 1, AUTH_ANSWER_BH, 3, "" },
		{ "", false, 0, 0, 0, NULL },
		{ " OK", false, 0, 0, 0, NULL },
		{ "OKAY", false, 0, 0, 0, NULL },
		{ "ok", false, 0, 0, 0, NULL },
		{ "alice secret", false, 0, 0, 0, NULL },
		{ "HELLO there", false, 0, 0, 0, NULL },
		{ "ERR message=\"open", false, 0, 0, 0, NULL },
		{ "ERR message=\"a\"b", false, 0, 0, 0, NULL },
		{ "OK", true, 0, 0, 0, NULL },
		{ "x OK", true, 0, 0, 0, NULL },
		{ "3", true, 0, 0, 0, NULL },
		{ "3 ", true, 0, 0, 0, NULL },
		{ "3  OK", true, 0, 0, 0, NULL },
		{ "1234567890 OK", true, 0, 0, 0, NULL },
		{ "1 OK", false, 0, 0, 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_reply r;
		const char       *why = NULL;
		enum parse_result pr;

		pr = auth_helper_reply_parse(cases[i].line,
		                             strlen(cases[i].line),
		                             cases[i].with_channel, &r, &why);
		if (cases[i].ok)
			ok(pr == PARSE_OK && r.answer == cases[i].answer &&
			           r.channel == cases[i].channel &&
			           strcmp(r.message, cases[i].message) == 0,
			   "answer '%s' (message '%s')", cases[i].line,
			   pr == PARSE_OK ? r.message : "-");
		else
			ok(pr == PARSE_ERROR && why != NULL,
			   "garbage '%s' (%s)", cases[i].line,
			   why != NULL ? why : "-");
	}
	{
		struct auth_reply r;
		const char       *why = NULL;
		char              line[1200];

		memcpy(line, "OK\0", 3);
		ok(auth_helper_reply_parse(line, 3, false, &r, &why) ==
		           PARSE_ERROR,
		   "a NUL in the line is garbage");
		memcpy(line, "ERR message=", 12);
		memset(line + 12, 'm', 1000);
		ok(auth_helper_reply_parse(line, 1012, false, &r, &why) ==
		                   PARSE_OK &&
		           strlen(r.message) == AUTH_MESSAGE_MAX - 1,
		   "a long message is cut to fit");
	}
}

int
main(void)
{
	test_basic();
	test_basic_bytes();
	test_escape();
	test_request();
	test_reply();
	return tap_done();
}
