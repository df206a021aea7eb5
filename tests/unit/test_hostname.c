#include "config.h"

/* hostname: canonical names (IDNA, case, dots, IP literals) and matching. */

#include <stdbool.h>
#include <string.h>

#include "hostname.h"
#include "tap.h"

static const struct {
	const char *in;
	const char *want; /* NULL: refused */
} canon_cases[] = {
	{ "example.com", "example.com" },
	{ "Example.COM", "example.com" },
	{ "example.com.", "example.com" },
	{ ".Example.Com", ".example.com" },
	{ ".example.com.", ".example.com" },
	{ "_dmarc.example.com", "_dmarc.example.com" },
	{ "a-b.c-d.example", "a-b.c-d.example" },
	{ "BÜCHER.example.", "xn--bcher-kva.example" },
	{ "bücher.example", "xn--bcher-kva.example" },
	{ ".bücher.example", ".xn--bcher-kva.example" },
	{ "www.bücher.example", "www.xn--bcher-kva.example" },
	{ "www.XN--BCHER-KVA.example", "www.xn--bcher-kva.example" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	/* non-transitional: ß stays distinct from ss, as browsers send it */
	{ "faß.de", "xn--fa-hia.de" },
	/* ideographic full stop is a label separator */
	{ "例え。テスト", "xn--r8jz45g.xn--zckzah" },
	/* IDNA2008 refuses the ASCII label; the per-label fallback keeps it */
	{ "foo-.bücher.example", "foo-.xn--bcher-kva.example" },
	{ "_srv.bücher.example", "_srv.xn--bcher-kva.example" },
	/* refused by non-transitional processing, given a form by TR46 */
	{ "\xf0\x9f\x98\x80.example", "xn--e28h.example" },
	{ "192.0.2.1", "192.0.2.1" },
	{ "[2001:DB8::1]", "2001:db8::1" },
	{ "2001:0DB8:0:0::1", "2001:db8::1" },
	{ "[::1]", "::1" },
	{ "::FFFF:192.0.2.1", "::ffff:192.0.2.1" },
	{ "1.2.3", "1.2.3" }, /* not an address: a name of digit labels */
	{ "a.b", "a.b" },
	{ "", NULL },
	{ ".", NULL },
	{ "..", NULL },
	{ "example..com", NULL },
	{ "example.com..", NULL },
	{ ".example..com", NULL },
	{ "exa mple.com", NULL },
	{ "exa/mple.com", NULL },
	{ "example.com:80", NULL },
	{ "[192.0.2.1]", NULL },
	{ "[::1", NULL },
	{ "[example.com]", NULL },
	{ "ex\"ample.com", NULL },
	{ "xn--bcher-kva.exämple\x01", NULL },
	{ "\xff\xfe.example", NULL }, /* not UTF-8 */
};

static void
test_canonical(void)
{
	size_t i;

	for (i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
		char        out[HOSTNAME_MAX + 2];
		const char *why = NULL;
		int         rc;

		rc = hostname_canonical(canon_cases[i].in,
		                        strlen(canon_cases[i].in), out,
		                        sizeof(out), &why);
		if (canon_cases[i].want == NULL)
			ok(rc == -1 && why != NULL, "refuses '%s' (%s)",
			   canon_cases[i].in, why != NULL ? why : "no reason");
		else
			ok(rc == 0 && strcmp(out, canon_cases[i].want) == 0,
			   "'%s' -> '%s' (got %s)", canon_cases[i].in,
			   canon_cases[i].want, rc == 0 ? out : why);
	}
}

/* Label and name length limits, NUL bytes, output buffer size. */
static void
test_limits(void)
{
	char        in[600], out[HOSTNAME_MAX + 2];
	const char *why;
	size_t      i;

	memset(in, 'a', 63);
	memcpy(in + 63, ".example", 9);
	ok(hostname_canonical(in, strlen(in), out, sizeof(out), &why) == 0,
	   "63-character label is accepted");
	memset(in, 'a', 64);
	memcpy(in + 64, ".example", 9);
	ok(hostname_canonical(in, strlen(in), out, sizeof(out), &why) == -1,
	   "64-character label is refused");

	/* 4 labels of 63 + 3 dots = 255: too long; trim to 253 */
	for (i = 0; i < 4; i++) {
		memset(in + i * 64, 'b', 63);
		in[i * 64 + 63] = '.';
	}
	in[255] = '\0';
	ok(hostname_canonical(in, 255, out, sizeof(out), &why) == -1,
	   "255-character name is refused");
	ok(hostname_canonical(in, 253, out, sizeof(out), &why) == 0 &&
	           strlen(out) == 253,
	   "253-character name is accepted");
	ok(hostname_canonical(in, 254, out, sizeof(out), &why) == -1,
	   "254-character name is refused");

	ok(hostname_canonical("a\0b.example", 11, out, sizeof(out), &why) == -1,
	   "NUL byte inside is refused");
	ok(hostname_canonical("example.com", 7, out, sizeof(out), &why) == 0 &&
	           strcmp(out, "example") == 0,
	   "only len bytes are read");
	ok(hostname_canonical("example.com", 11, out, 5, &why) == -1,
	   "output buffer too small is an error");
	ok(hostname_canonical("example.com", 11, out, 12, &why) == 0,
	   "output buffer of exactly the size fits");
	ok(hostname_canonical("2001:db8::1", 11, out, 8, &why) == -1,
	   "IP literal too long for the buffer is an error");
}

static const struct {
	const char *s;
	bool        ip;
} ip_cases[] = {
	{ "192.0.2.1", true },   { "::1", true },
	{ "2001:db8::1", true }, { "::ffff:192.0.2.1", true },
	{ "[::1]", false },      { "example.com", false },
	{ "1.2.3", false },      { "192.0.2.256", false },
	{ "", false },
};

static const struct {
	const char *pattern, *name;
	bool        match;
} match_cases[] = {
	{ ".example.com", "example.com", true },
	{ ".example.com", "www.example.com", true },
	{ ".example.com", "a.b.example.com", true },
	{ ".example.com", "badexample.com", false },
	{ ".example.com", "example.com.evil", false },
	{ ".example.com", "com", false },
	{ "example.com", "example.com", true },
	{ "example.com", "www.example.com", false },
	{ "www.example.com", "example.com", false },
	{ ".xn--bcher-kva.example", "www.xn--bcher-kva.example", true },
	{ "192.0.2.1", "192.0.2.1", true },
	{ "192.0.2.1", "192.0.2.10", false },
};

int
main(void)
{
	size_t i;

	test_canonical();
	test_limits();
	for (i = 0; i < sizeof(ip_cases) / sizeof(ip_cases[0]); i++)
		ok(hostname_is_ip(ip_cases[i].s) == ip_cases[i].ip,
		   "hostname_is_ip('%s') is %s", ip_cases[i].s,
		   ip_cases[i].ip ? "true" : "false");
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		ok(hostname_matches(match_cases[i].pattern,
		                    match_cases[i].name) ==
		           match_cases[i].match,
		   "'%s' %s '%s'", match_cases[i].pattern,
		   match_cases[i].match ? "matches" : "does not match",
		   match_cases[i].name);
	return tap_done();
}
