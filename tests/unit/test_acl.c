#include "config.h"

/* acl: value parsing, matching each type, and access_check() semantics. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h> /* status bits for tls_verify_errors() */

#include "acl.h"
#include "tap.h"

/* An address and port in a sockaddr_storage; IPv6 if the text has ':'. */
static const struct sockaddr *
sa(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			abort();
	}
	return (const struct sockaddr *)ss;
}

/* An acl of type with the values, finished; NULL if a value is refused. */
static struct acl *
make(const char *name, enum acl_type type, const char *const *values)
{
	struct acl *acl = calloc(1, sizeof(*acl));
	const char *why;

	if (acl == NULL || (acl->name = strdup(name)) == NULL)
		abort();
	acl->type = type;
	for (; values != NULL && *values != NULL; values++) {
		if (acl_add_value(acl, *values, &why) < 0) {
			acl_clear(acl);
			free(acl);
			return NULL;
		}
	}
	acl_finish(acl);
	return acl;
}

static void
destroy(struct acl *acl)
{
	acl_clear(acl);
	free(acl);
}

static void
test_type_names(void)
{
	const char *why = NULL;

	ok(acl_type_from_name("src", &why) == ACL_SRC, "type src");
	ok(acl_type_from_name("dst", &why) == ACL_DST, "type dst");
	ok(acl_type_from_name("port", &why) == ACL_PORT, "type port");
	ok(acl_type_from_name("method", &why) == ACL_METHOD, "type method");
	ok(acl_type_from_name("dstdomain", &why) == ACL_DSTDOMAIN,
	   "type dstdomain");
	ok(acl_type_from_name("all", &why) == ACL_ALL, "type all");
	why = NULL;
	ok(acl_type_from_name("url_regex", &why) == -1 && why != NULL &&
	           strcmp(why, "is not supported") == 0,
	   "url_regex is a known Squid type, not supported");
	ok(acl_type_from_name("ssl::server_name", &why) == ACL_SERVER_NAME,
	   "type ssl::server_name");
	ok(acl_type_from_name("ssl::server_name_regex", &why) ==
	           ACL_SERVER_NAME_REGEX,
	   "type ssl::server_name_regex");
	ok(acl_type_from_name("at_step", &why) == ACL_AT_STEP, "type at_step");
	ok(acl_type_from_name("ssl_error", &why) == ACL_SSL_ERROR,
	   "type ssl_error");
	why = NULL;
	ok(acl_type_from_name("frobnicate", &why) == -1 && why != NULL &&
	           strcmp(why, "is unknown") == 0,
	   "frobnicate is unknown");
	ok(acl_type_from_name("SRC", &why) == -1, "type names are exact");
}

static const struct {
	enum acl_type type;
	const char   *value;
	bool          valid;
} value_cases[] = {
	{ ACL_SRC, "192.0.2.1", true },
	{ ACL_SRC, "192.0.2.0/24", true },
	{ ACL_SRC, "192.0.2.0/255.255.255.0", true },
	{ ACL_SRC, "192.0.2.0/255.0.255.0", false }, /* not contiguous */
	{ ACL_SRC, "192.0.2.0/33", false },
	{ ACL_SRC, "192.0.2.0/", false },
	{ ACL_SRC, "192.0.2.0/x", false },
	{ ACL_SRC, "0.0.0.1-0.255.255.255", true },
	{ ACL_SRC, "10.0.0.9-10.0.0.1", false },    /* backwards */
	{ ACL_SRC, "10.0.0.1-::1", false },         /* mixed families */
	{ ACL_SRC, "10.0.0.1-10.0.0.9/24", false }, /* masked range */
	{ ACL_SRC, "fc00::/7", true },
	{ ACL_SRC, "fe80::/10", true },
	{ ACL_SRC, "::1", true },
	{ ACL_SRC, "[2001:db8::1]", true },
	{ ACL_SRC, "2001:db8::/129", false },
	{ ACL_SRC, "2001:db8::/ffff::", false },
	{ ACL_SRC, "::ffff:192.0.2.0/120", true },
	{ ACL_SRC, "all", true },
	{ ACL_SRC, "ipv4", true },
	{ ACL_SRC, "ipv6", true },
	{ ACL_SRC, "localhost", false }, /* no DNS at parse time */
	{ ACL_SRC, "300.1.1.1", false },
	{ ACL_SRC, "", false },
	{ ACL_DST, "127.0.0.0/8", true },
	{ ACL_PORT, "443", true },
	{ ACL_PORT, "0", true },
	{ ACL_PORT, "65535", true },
	{ ACL_PORT, "65536", false },
	{ ACL_PORT, "1025-65535", true },
	{ ACL_PORT, "90-80", false },
	{ ACL_PORT, "-80", false },
	{ ACL_PORT, "80-", false },
	{ ACL_PORT, "http", false },
	{ ACL_PORT, "", false },
	{ ACL_METHOD, "GET", true },
	{ ACL_METHOD, "CONNECT", true },
	{ ACL_METHOD, "M-SEARCH", true },
	{ ACL_METHOD, "GE T", false },
	{ ACL_METHOD, "GET/", false },
	{ ACL_METHOD, "", false },
	{ ACL_DSTDOMAIN, ".example.com", true },
	{ ACL_DSTDOMAIN, "www.example.com.", true },
	{ ACL_DSTDOMAIN, ".bücher.example", true },
	{ ACL_DSTDOMAIN, "192.0.2.1", true },
	{ ACL_DSTDOMAIN, "exa mple.com", false },
	{ ACL_DSTDOMAIN, "example..com", false },
	{ ACL_DSTDOMAIN, ".", false },
	{ ACL_ALL, "anything", false },
	{ ACL_MANAGER, "anything", false },
	{ ACL_AT_STEP, "SslBump1", true },
	{ ACL_AT_STEP, "SslBump3", true },
	{ ACL_AT_STEP, "sslbump1", false },
	{ ACL_AT_STEP, "SslBump4", false },
	{ ACL_AT_STEP, "GeneratingCONNECT", false },
	{ ACL_SERVER_NAME, ".bücher.example", true },
	{ ACL_SERVER_NAME, "exa mple.com", false },
	{ ACL_SERVER_NAME_REGEX, "^www\\.", true },
	{ ACL_SERVER_NAME_REGEX, "(unclosed", false },
	{ ACL_SSL_ERROR, "X509_V_ERR_CERT_HAS_EXPIRED", true },
	{ ACL_SSL_ERROR, "SQUID_X509_V_ERR_DOMAIN_MISMATCH", true },
	{ ACL_SSL_ERROR, "ssl::certUntrusted", true },
	{ ACL_SSL_ERROR, "certSelfSigned", true },
	{ ACL_SSL_ERROR, "X509_V_ERR_NO_SUCH_THING", false },
	{ ACL_SSL_ERROR, "x509_v_err_cert_has_expired", false },
	{ ACL_SSL_ERROR, "10", false },
};

static void
test_values(void)
{
	size_t i;

	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		struct acl  acl;
		const char *why = NULL;
		int         rc;

		memset(&acl, 0, sizeof(acl));
		acl.type = value_cases[i].type;
		rc = acl_add_value(&acl, value_cases[i].value, &why);
		ok((rc == 0) == value_cases[i].valid &&
		           (rc == 0 || why != NULL),
		   "type %d value '%s' is %s (%s)", (int)value_cases[i].type,
		   value_cases[i].value,
		   value_cases[i].valid ? "valid" : "refused",
		   rc == 0 ? "ok" : why);
		acl_clear(&acl);
	}
}

/* Squid's default localnet, plus a netmask form and a mapped range. */
static const char *const localnet[] = {
	"0.0.0.1-0.255.255.255",
	"10.0.0.0/8",
	"100.64.0.0/10",
	"169.254.0.0/16",
	"172.16.0.0/12",
	"192.168.0.0/16",
	"fc00::/7",
	"fe80::/10",
	"198.51.100.0/255.255.255.0",
	"::ffff:203.0.113.0/120",
	NULL,
};

static const struct {
	const char *addr;
	bool        match;
} src_cases[] = {
	{ "10.0.0.0", true },
	{ "10.255.255.255", true },
	{ "11.0.0.0", false },
	{ "9.255.255.255", false },
	{ "0.0.0.0", false }, /* the range starts at 0.0.0.1 */
	{ "0.0.0.1", true },
	{ "0.255.255.255", true },
	{ "1.0.0.0", false },
	{ "100.127.255.255", true },
	{ "100.128.0.0", false },
	{ "172.31.1.1", true },
	{ "172.32.0.0", false },
	{ "192.168.1.1", true },
	{ "198.51.100.77", true },
	{ "198.51.101.1", false },
	{ "203.0.113.9", true }, /* written as ::ffff:203.0.113.0/120 */
	{ "192.0.2.1", false },
	{ "fc00::1", true },
	{ "fdff:ffff::1", true },
	{ "fe00::1", false },
	{ "fe80::1", true },
	{ "febf:ffff::1", true },
	{ "fec0::1", false },
	{ "2001:db8::1", false },
	/* IPv4-mapped clients (dual-stack sockets) are IPv4 clients */
	{ "::ffff:10.1.2.3", true },
	{ "::ffff:192.0.2.1", false },
	{ "::ffff:0.0.0.5", true },
	{ "::10.1.2.3", false }, /* IPv4-compatible is not mapped */
};

static void
test_src(void)
{
	struct sockaddr_storage ss;
	struct acl_ctx          ctx;
	struct acl             *acl = make("localnet", ACL_SRC, localnet);
	size_t                  i;

	ok(acl != NULL && acl->n == 10, "localnet parses");
	if (acl == NULL)
		return;
	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < sizeof(src_cases) / sizeof(src_cases[0]); i++) {
		ctx.src = sa(src_cases[i].addr, &ss);
		ok(acl_match(acl, &ctx) ==
		           (src_cases[i].match ? ACL_MATCH : ACL_NO_MATCH),
		   "localnet %s %s", src_cases[i].match ? "has" : "lacks",
		   src_cases[i].addr);
	}
	ctx.src = NULL;
	ok(acl_match(acl, &ctx) == ACL_NO_MATCH, "no client address: no match");
	destroy(acl);
}

static void
test_src_special(void)
{
	static const char *const all[] = { "all", NULL };
	static const char *const v4[] = { "ipv4", NULL };
	static const char *const v6[] = { "ipv6", NULL };
	static const char *const host_bits[] = { "10.1.2.3/8", NULL };
	static const char *const one[] = { "192.0.2.7", "2001:db8::7", NULL };
	static const char *const mapped[] = { "::ffff:192.0.2.8", NULL };
	struct sockaddr_storage  ss;
	struct acl_ctx           ctx;
	struct acl              *a;

	memset(&ctx, 0, sizeof(ctx));
	a = make("a", ACL_SRC, all);
	ctx.src = sa("192.0.2.1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "src all: IPv4");
	ctx.src = sa("2001:db8::1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "src all: IPv6");
	destroy(a);

	a = make("a", ACL_SRC, v4);
	ctx.src = sa("::ffff:192.0.2.1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "ipv4: mapped");
	ctx.src = sa("2001:db8::1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_NO_MATCH, "ipv4: not IPv6");
	destroy(a);

	a = make("a", ACL_SRC, v6);
	ctx.src = sa("192.0.2.1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_NO_MATCH, "ipv6: not IPv4");
	ctx.src = sa("::ffff:192.0.2.1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_NO_MATCH,
	   "ipv6: not mapped IPv4");
	ctx.src = sa("2001:db8::1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "ipv6: IPv6");
	destroy(a);

	a = make("a", ACL_SRC, host_bits);
	ctx.src = sa("10.200.0.1", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH,
	   "10.1.2.3/8 means 10.0.0.0/8");
	destroy(a);

	a = make("a", ACL_SRC, one);
	ctx.src = sa("192.0.2.7", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "single IPv4");
	ctx.src = sa("192.0.2.6", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_NO_MATCH,
	   "single IPv4 is /32");
	ctx.src = sa("2001:db8::7", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH, "single IPv6");
	destroy(a);

	a = make("a", ACL_SRC, mapped);
	ctx.src = sa("192.0.2.8", &ss);
	ok(a != NULL && acl_match(a, &ctx) == ACL_MATCH,
	   "entry written as ::ffff:a.b.c.d matches the IPv4 client");
	destroy(a);
}

static void
test_dst(void)
{
	static const char *const nets[] = { "192.0.2.0/24", "2001:db8::/32",
		                            NULL };
	struct sockaddr_storage  ss;
	struct acl_ctx           ctx;
	struct acl              *a = make("d", ACL_DST, nets);

	memset(&ctx, 0, sizeof(ctx));
	ctx.host = "www.example.com";
	ok(acl_match(a, &ctx) == ACL_NEED_DST, "dst before DNS: need dst");
	ctx.host = "192.0.2.9";
	ok(acl_match(a, &ctx) == ACL_MATCH, "dst: IPv4 literal host, no DNS");
	ctx.host = "2001:db8::9";
	ok(acl_match(a, &ctx) == ACL_MATCH, "dst: IPv6 literal host");
	ctx.host = "198.51.100.1";
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "dst: other literal host");
	ctx.host = "www.example.com";
	ctx.dst = sa("192.0.2.200", &ss);
	ok(acl_match(a, &ctx) == ACL_MATCH, "dst: resolved address");
	ctx.dst = sa("198.51.100.1", &ss);
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "dst: resolved, other");
	destroy(a);
}

static void
test_port_method(void)
{
	static const char *const ports[] = { "80", "443", "1025-65535", NULL };
	static const char *const methods[] = { "GET", "CONNECT", "GET", NULL };
	static const struct {
		uint16_t port;
		bool     match;
	} pc[] = {
		{ 80, true },    { 443, true }, { 1025, true }, { 65535, true },
		{ 1024, false }, { 25, false }, { 0, false },   { 81, false },
	};
	static const struct {
		const char *method;
		bool        match;
	} mc[] = {
		{ "GET", true },   { "CONNECT", true }, { "get", false },
		{ "POST", false }, { "GE", false },     { "GETX", false },
		{ "", false },
	};
	struct acl_ctx ctx;
	struct acl    *p = make("p", ACL_PORT, ports);
	struct acl    *m = make("m", ACL_METHOD, methods);
	size_t         i;

	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		ctx.port = pc[i].port;
		ok((acl_match(p, &ctx) == ACL_MATCH) == pc[i].match,
		   "port %u %s", pc[i].port,
		   pc[i].match ? "matches" : "does not match");
	}
	ok(m->n == 2, "duplicate methods are merged");
	for (i = 0; i < sizeof(mc) / sizeof(mc[0]); i++) {
		ctx.method = mc[i].method;
		ok((acl_match(m, &ctx) == ACL_MATCH) == mc[i].match,
		   "method '%s' %s", mc[i].method,
		   mc[i].match ? "matches" : "does not match");
	}
	ctx.method = NULL;
	ok(acl_match(m, &ctx) == ACL_NO_MATCH, "no method: no match");
	destroy(p);
	destroy(m);
}

static void
test_dstdomain(void)
{
	static const char *const names[] = {
		".bücher.example", "Example.ORG.", "www.example.net",
		".example.org",    "192.0.2.1",    ".bücher.example",
		"[2001:DB8::1]",   NULL,
	};
	static const struct {
		const char *host;
		bool        match;
	} dc[] = {
		{ "xn--bcher-kva.example", true },
		{ "BÜCHER.example.", true },
		{ "www.bücher.example", true },
		{ "a.b.xn--bcher-kva.example", true },
		{ "bucher.example", false },
		{ "example.org", true },
		{ "x.example.org", true },
		{ "EXAMPLE.ORG", true },
		{ "www.example.net", true },
		{ "example.net", false },
		{ "x.www.example.net", false },
		{ "badexample.org", false },
		{ "org", false },
		{ "192.0.2.1", true },
		{ "192.0.2.10", false },
		{ "2001:db8::1", true },
		{ "[2001:db8::1]", true },
		{ "", false },
		{ ".example.org", false },
		{ "exa mple.org", false },
	};
	struct acl_ctx ctx;
	struct acl    *d = make("d", ACL_DSTDOMAIN, names);
	size_t         i;
	bool           stored_ok;

	ok(d != NULL, "dstdomain list parses");
	if (d == NULL)
		return;
	/* canonical, sorted, deduplicated */
	stored_ok = d->n == 6;
	for (i = 0; stored_ok && i + 1 < d->n; i++)
		stored_ok = strcmp(d->u.strings[i], d->u.strings[i + 1]) < 0;
	ok(stored_ok, "patterns are sorted and unique (%zu)", d->n);
	for (i = 0; i < d->n; i++)
		if (strcmp(d->u.strings[i], ".xn--bcher-kva.example") == 0)
			break;
	ok(i < d->n, "patterns are stored as A-labels");
	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
		ctx.host = dc[i].host;
		ok((acl_match(d, &ctx) == ACL_MATCH) == dc[i].match,
		   "dstdomain %s '%s'", dc[i].match ? "matches" : "rejects",
		   dc[i].host);
	}
	ctx.host = NULL;
	ok(acl_match(d, &ctx) == ACL_NO_MATCH, "no host: no match");
	destroy(d);
}

static void
test_server_name(void)
{
	static const char *const names[] = { ".bücher.example", "Exact.ORG",
		                             NULL };
	static const char *const regexes[] = { "^www[0-9]*\\.", "\\.test$",
		                               NULL };
	const char *const        sni[] = { "xn--bcher-kva.example" };
	const char *const        two[] = { "other.example", "exact.org" };
	const char *const        www[] = { "WWW2.example.com" };
	const char *const        tst[] = { "a.test" };
	const char *const        none[] = { "www.bcher.example" };
	struct acl_ctx           ctx;
	struct acl *n = make("n", ACL_SERVER_NAME, names);
	struct acl *r = make("r", ACL_SERVER_NAME_REGEX, regexes);
	struct acl *ri;
	const char *why;

	ok(n != NULL && r != NULL, "server name acls parse");
	if (n == NULL || r == NULL)
		return;
	memset(&ctx, 0, sizeof(ctx));
	ok(acl_match(n, &ctx) == ACL_NO_MATCH, "no names: no match");
	ctx.server_names = sni;
	ctx.nserver_names = 1;
	ok(acl_match(n, &ctx) == ACL_MATCH, "IDN pattern matches punycode SNI");
	ctx.server_names = two;
	ctx.nserver_names = 2;
	ok(acl_match(n, &ctx) == ACL_MATCH, "any of several names matches");
	ctx.nserver_names = 1;
	ok(acl_match(n, &ctx) == ACL_NO_MATCH, "only the names given count");
	ctx.server_names = none;
	ok(acl_match(n, &ctx) == ACL_NO_MATCH, "other name: no match");
	{
		static const char *const wv[] = { ".wild.example", "exact.example",
			                          NULL };
		const char *const        wild[] = { "*.wild.example" };
		const char *const        wexact[] = { "*.exact.example" };
		const char *const        wup[] = { "*.sub.wild.example" };
		struct acl              *w = make("w", ACL_SERVER_NAME, wv);

		ctx.nserver_names = 1;
		ctx.server_names = wild;
		ok(acl_match(w, &ctx) == ACL_MATCH,
		   "wildcard name matches its domain pattern");
		ctx.server_names = wup;
		ok(acl_match(w, &ctx) == ACL_MATCH,
		   "deeper wildcard matches a parent pattern");
		ctx.server_names = wexact;
		ok(acl_match(w, &ctx) == ACL_NO_MATCH,
		   "wildcard does not match an exact name");
		destroy(w);
	}
	ctx.server_names = www;
	ok(acl_match(r, &ctx) == ACL_NO_MATCH, "regex is case-sensitive");
	ctx.server_names = tst;
	ok(acl_match(r, &ctx) == ACL_MATCH, "regex matches");

	ri = calloc(1, sizeof(*ri));
	ri->name = strdup("ri");
	ri->type = ACL_SERVER_NAME_REGEX;
	ri->icase = true; /* "-i" */
	ok(acl_add_value(ri, "^www[0-9]*\\.", &why) == 0, "-i regex parses");
	ctx.server_names = www;
	ok(acl_match(ri, &ctx) == ACL_MATCH, "-i regex ignores case");
	destroy(ri);
	destroy(n);
	destroy(r);
}

static void
test_at_step(void)
{
	static const char *const v[] = { "SslBump1", "SslBump3", NULL };
	struct acl              *a = make("a", ACL_AT_STEP, v);
	struct acl_ctx           ctx;

	ok(a != NULL, "at_step parses");
	if (a == NULL)
		return;
	memset(&ctx, 0, sizeof(ctx));
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "no step: no match");
	ctx.step = BUMP_STEP1;
	ok(acl_match(a, &ctx) == ACL_MATCH, "SslBump1 matches step 1");
	ctx.step = BUMP_STEP2;
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "step 2 not listed");
	ctx.step = BUMP_STEP3;
	ok(acl_match(a, &ctx) == ACL_MATCH, "SslBump3 matches step 3");
	destroy(a);
}

/* ssl_error: the errors of the server certificate, as a mask. */
static void
test_ssl_error(void)
{
	static const char *const v[] = { "X509_V_ERR_CERT_HAS_EXPIRED",
		                         "ssl::certSelfSigned", NULL };
	static const char *const untrusted[] = { "certUntrusted", NULL };
	struct acl              *a = make("a", ACL_SSL_ERROR, v);
	struct acl              *u = make("u", ACL_SSL_ERROR, untrusted);
	struct acl               never;
	struct acl_ctx           ctx;
	const char              *why = NULL;

	ok(a != NULL && u != NULL, "ssl_error parses");
	if (a == NULL || u == NULL)
		goto out;
	ok(a->n == 2 &&
	           a->u.ssl_errors == (TLS_VERIFY_CERT_HAS_EXPIRED |
	                               TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT),
	   "names and groups add up to one mask");
	memset(&ctx, 0, sizeof(ctx));
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "no error: no match");
	ctx.ssl_errors = TLS_VERIFY_CERT_HAS_EXPIRED;
	ok(acl_match(a, &ctx) == ACL_MATCH, "expired matches");
	ctx.ssl_errors = TLS_VERIFY_DOMAIN_MISMATCH;
	ok(acl_match(a, &ctx) == ACL_NO_MATCH, "another error does not");
	ctx.ssl_errors = TLS_VERIFY_DOMAIN_MISMATCH |
	                 TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT;
	ok(acl_match(a, &ctx) == ACL_MATCH,
	   "one of its errors among others matches");
	ctx.ssl_errors = tls_verify_errors(
	        GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, false);
	ok(acl_match(u, &ctx) == ACL_MATCH,
	   "an unknown issuer is ssl::certUntrusted");
	ctx.ssl_errors = tls_verify_self_signed(
	        ctx.ssl_errors, TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF);
	ok(acl_match(u, &ctx) == ACL_NO_MATCH &&
	           acl_match(a, &ctx) == ACL_MATCH,
	   "a self-signed leaf is ssl::certSelfSigned, not certUntrusted");

	memset(&never, 0, sizeof(never));
	never.type = ACL_SSL_ERROR;
	ok(acl_add_value(&never, "X509_V_ERR_CERT_CHAIN_TOO_LONG", &why) == 1 &&
	           why != NULL && strstr(why, "matches nothing") != NULL &&
	           never.n == 1 && never.u.ssl_errors == 0,
	   "an error bascule never sees: a warning, matches nothing");
	ctx.ssl_errors = TLS_VERIFY_ALL_ERRORS;
	ok(acl_match(&never, &ctx) == ACL_NO_MATCH,
	   "it matches no error at all");
	acl_clear(&never);
out:
	destroy(a);
	destroy(u);
}

static void
test_manager(void)
{
	static const struct {
		const char *url;
		bool        match;
	} uc[] = {
		{ "cache_object://localhost/info", true },
		{ "CACHE_OBJECT://localhost/", true },
		{ "http://proxy:3128/squid-internal-mgr/menu", true },
		{ "https://proxy/squid-internal-mgr/info?x", true },
		{ "/squid-internal-mgr/info", true },
		{ "http://proxy/squid-internal-mgr", false },
		{ "http://proxy/squid-internal-mgrx/", false },
		{ "http://proxy/a/squid-internal-mgr/", false },
		{ "http://proxy?/squid-internal-mgr/", false },
		{ "http://example.com/", false },
		{ "example.com:443", false },
	};
	struct acl_ctx ctx;
	struct acl     m;
	size_t         i;

	memset(&m, 0, sizeof(m));
	m.type = ACL_MANAGER;
	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < sizeof(uc) / sizeof(uc[0]); i++) {
		ctx.url = uc[i].url;
		ok((acl_match(&m, &ctx) == ACL_MATCH) == uc[i].match,
		   "manager %s '%s'", uc[i].match ? "matches" : "rejects",
		   uc[i].url);
	}
	ctx.url = NULL;
	ok(acl_match(&m, &ctx) == ACL_NO_MATCH, "manager: no URL");
}

/* Rules built by hand: first match, defaults, negation, need_dst. */
static void
test_access(void)
{
	static const char *const lan[] = { "10.0.0.0/8", NULL };
	static const char *const ssl[] = { "443", NULL };
	static const char *const conn[] = { "CONNECT", NULL };
	static const char *const far[] = { "203.0.113.0/24", NULL };
	struct acl              *all = make("all", ACL_ALL, NULL);
	struct acl              *l = make("lan", ACL_SRC, lan);
	struct acl              *s = make("ssl", ACL_PORT, ssl);
	struct acl              *c = make("conn", ACL_METHOD, conn);
	struct acl              *d = make("far", ACL_DST, far);
	struct acl_ref          r_conn_notssl[] = { { c, false }, { s, true } };
	struct acl_ref          r_lan[] = { { l, false } };
	struct acl_ref          r_far[] = { { d, false } };
	struct acl_ref          r_all[] = { { all, false } };
	struct acl_ref          r_notlan[] = { { l, true } };
	struct access_rule      rules[4];
	struct access_list      list;
	struct acl_ctx          ctx;
	struct sockaddr_storage ss, ds;
	const struct access_rule *rule;
	bool                      need;
	enum access_action        a;

	memset(rules, 0, sizeof(rules));
	rules[0] = (struct access_rule){ ACCESS_DENY, 2, r_conn_notssl,
		                         (char *)"t:1" };
	rules[1] =
	        (struct access_rule){ ACCESS_ALLOW, 1, r_lan, (char *)"t:2" };

	memset(&ctx, 0, sizeof(ctx));
	ctx.method = "GET";
	ctx.port = 80;
	ctx.src = sa("10.1.1.1", &ss);

	list.n = 0;
	list.rules = rules;
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_DENY && rule == NULL && !need,
	   "no rules: if_empty deny");
	a = access_check(&list, &ctx, ACCESS_ALLOW, &rule, &need);
	ok(a == ACCESS_ALLOW && rule == NULL, "no rules: if_empty allow");

	list.n = 2;
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_ALLOW && rule == &rules[1], "GET from lan: rule 2");
	ctx.method = "CONNECT";
	ctx.port = 8443;
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_DENY && rule == &rules[0],
	   "CONNECT to 8443: deny CONNECT !ssl, first match wins");
	ctx.port = 443;
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_ALLOW && rule == &rules[1], "CONNECT to 443: allowed");
	ctx.src = sa("192.0.2.1", &ss);
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_DENY && rule == NULL,
	   "no match after allow: implicit deny");
	a = access_check(&list, &ctx, ACCESS_DENY, NULL, NULL);
	ok(a == ACCESS_DENY, "rule and need_dst may be NULL");

	/* last rule deny => the default is allow */
	rules[0] = (struct access_rule){ ACCESS_DENY, 1, r_lan, (char *)"t:1" };
	list.n = 1;
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_ALLOW && rule == NULL,
	   "no match after deny: implicit allow");

	/* negation */
	rules[0] =
	        (struct access_rule){ ACCESS_DENY, 1, r_notlan, (char *)"t:1" };
	rules[1] =
	        (struct access_rule){ ACCESS_ALLOW, 1, r_all, (char *)"t:2" };
	list.n = 2;
	a = access_check(&list, &ctx, ACCESS_ALLOW, &rule, &need);
	ok(a == ACCESS_DENY && rule == &rules[0], "!lan denies outsiders");
	ctx.src = sa("::ffff:10.9.9.9", &ss);
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_ALLOW && rule == &rules[1],
	   "mapped lan client passes !lan");

	/* dst before DNS */
	rules[0] = (struct access_rule){ ACCESS_DENY, 1, r_far, (char *)"t:1" };
	rules[1] =
	        (struct access_rule){ ACCESS_ALLOW, 1, r_all, (char *)"t:2" };
	ctx.host = "www.example.com";
	ctx.dst = NULL;
	a = access_check(&list, &ctx, ACCESS_ALLOW, &rule, &need);
	ok(a == ACCESS_DENY && need && rule == NULL,
	   "dst acl without an address: need_dst");
	ctx.dst = sa("203.0.113.5", &ds);
	a = access_check(&list, &ctx, ACCESS_ALLOW, &rule, &need);
	ok(a == ACCESS_DENY && !need && rule == &rules[0],
	   "after DNS: dst decides");
	ctx.dst = sa("198.51.100.5", &ds);
	a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
	ok(a == ACCESS_ALLOW && !need && rule == &rules[1],
	   "after DNS: other dst falls through");

	/* an earlier ACL that fails stops before the dst ACL */
	{
		struct acl_ref     r_lan_far[] = { { l, false }, { d, false } };
		struct access_rule one = { ACCESS_DENY, 2, r_lan_far,
			                   (char *)"t:1" };

		list.n = 1;
		list.rules = &one;
		ctx.src = sa("192.0.2.1", &ss);
		ctx.dst = NULL;
		a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
		ok(a == ACCESS_ALLOW && !need,
		   "ACLs are ANDed left to right and stop at the first miss");
	}

	destroy(all);
	destroy(l);
	destroy(s);
	destroy(c);
	destroy(d);
}

/* proxy_auth and proxy_auth_regex: the user, and when it is unknown. */
static void
test_proxy_auth(void)
{
	static const char *const users[] = { "bob", "alice", "Carol", "bob",
		                             NULL };
	static const char *const required[] = { "REQUIRED", NULL };
	static const char *const re[] = { "^adm", "[0-9]$", NULL };
	struct acl              *u = make("users", ACL_PROXY_AUTH, users);
	struct acl              *any = make("any", ACL_PROXY_AUTH, required);
	struct acl              *x = make("x", ACL_PROXY_AUTH_REGEX, re);
	struct acl              *ui, *xi;
	struct acl_ctx           ctx;
	const char              *why = NULL;

	ok(acl_type_from_name("proxy_auth", &why) == ACL_PROXY_AUTH &&
	           acl_type_from_name("proxy_auth_regex", &why) ==
	                   ACL_PROXY_AUTH_REGEX,
	   "proxy_auth types are known");
	ok(u != NULL && u->n == 3 && !u->required, "user list, deduplicated");
	ok(any != NULL && any->required && any->n == 0, "REQUIRED");

	memset(&ctx, 0, sizeof(ctx));
	ok(acl_match(u, &ctx) == ACL_NO_MATCH &&
	           acl_match(any, &ctx) == ACL_NO_MATCH &&
	           acl_match(x, &ctx) == ACL_NO_MATCH,
	   "ACL_AUTH_NONE: never a match (no request, intercepted)");
	ctx.auth = ACL_AUTH_NEEDED;
	ok(acl_match(u, &ctx) == ACL_NEED_AUTH &&
	           acl_match(any, &ctx) == ACL_NEED_AUTH &&
	           acl_match(x, &ctx) == ACL_NEED_AUTH,
	   "ACL_AUTH_NEEDED: the user is needed");
	ctx.auth = ACL_AUTH_USER;
	ctx.user = "alice";
	ok(acl_match(u, &ctx) == ACL_MATCH && acl_match(any, &ctx) == ACL_MATCH,
	   "alice is listed, and any user matches REQUIRED");
	ctx.user = "ALICE";
	ok(acl_match(u, &ctx) == ACL_NO_MATCH, "names are case-sensitive");
	ctx.user = "carol";
	ok(acl_match(u, &ctx) == ACL_NO_MATCH, "Carol is not carol");
	ctx.user = "dave";
	ok(acl_match(u, &ctx) == ACL_NO_MATCH &&
	           acl_match(any, &ctx) == ACL_MATCH,
	   "dave is not listed");
	ok(acl_match(x, &ctx) == ACL_NO_MATCH, "regex: dave");
	ctx.user = "admin";
	ok(acl_match(x, &ctx) == ACL_MATCH, "regex: ^adm");
	ctx.user = "user7";
	ok(acl_match(x, &ctx) == ACL_MATCH, "regex: [0-9]$");
	ctx.user = "ADMIN";
	ok(acl_match(x, &ctx) == ACL_NO_MATCH, "regex: case-sensitive");

	/* -i: set before the values, as the configuration parser does */
	ui = calloc(1, sizeof(*ui));
	xi = calloc(1, sizeof(*xi));
	if (ui == NULL || xi == NULL || (ui->name = strdup("ui")) == NULL ||
	    (xi->name = strdup("xi")) == NULL)
		abort();
	ui->type = ACL_PROXY_AUTH;
	ui->icase = true;
	xi->type = ACL_PROXY_AUTH_REGEX;
	xi->icase = true;
	ok(acl_add_value(ui, "Carol", &why) == 0 &&
	           acl_add_value(ui, "BOB", &why) == 0 &&
	           acl_add_value(xi, "^adm", &why) == 0,
	   "-i values");
	acl_finish(ui);
	ctx.user = "cAROL";
	ok(acl_match(ui, &ctx) == ACL_MATCH, "-i: cAROL is Carol");
	ctx.user = "bob";
	ok(acl_match(ui, &ctx) == ACL_MATCH, "-i: bob is BOB");
	ctx.user = "ADMIN";
	ok(acl_match(xi, &ctx) == ACL_MATCH, "-i regex: ADMIN");
	ok(acl_add_value(ui, "a\tb", &why) == -1 && why != NULL,
	   "a control character in a user name is refused");
	ok(acl_add_value(xi, "(", &why) == -1, "a bad regex is refused");

	/* access_evaluate(): stops at the user; access_first() skips */
	{
		struct acl        *all = make("all", ACL_ALL, NULL);
		struct acl_ref     r_notu[] = { { u, true } };
		struct acl_ref     r_all_u[] = { { all, false }, { u, false } };
		struct acl_ref     r_u_all[] = { { u, false }, { all, false } };
		struct acl_ref     r_all[] = { { all, false } };
		struct access_rule rules[2];
		struct access_list list = { 2, rules };
		const struct access_rule *rule;
		enum access_action        a;
		enum acl_verdict          wait;
		bool                      need;

		rules[0] = (struct access_rule){ ACCESS_DENY, 1, r_notu,
			                         (char *)"t:1" };
		rules[1] = (struct access_rule){ ACCESS_ALLOW, 1, r_all,
			                         (char *)"t:2" };
		ctx.auth = ACL_AUTH_NEEDED;
		ctx.user = NULL;
		a = access_evaluate(&list, &ctx, ACCESS_DENY, &rule, &wait);
		ok(a == ACCESS_DENY && wait == ACL_NEED_AUTH && rule == NULL,
		   "deny !users without the user: ACL_NEED_AUTH");
		a = access_check(&list, &ctx, ACCESS_DENY, &rule, &need);
		ok(a == ACCESS_DENY && !need,
		   "access_check(): denied, not waiting for DNS");
		ctx.auth = ACL_AUTH_USER;
		ctx.user = "dave";
		a = access_evaluate(&list, &ctx, ACCESS_DENY, &rule, &wait);
		ok(a == ACCESS_DENY && wait == ACL_MATCH && rule == &rules[0] &&
		           access_rule_challenges(rule),
		   "dave denied by deny !users: a challenge (407)");
		ctx.user = "bob";
		a = access_evaluate(&list, &ctx, ACCESS_DENY, &rule, &wait);
		ok(a == ACCESS_ALLOW && rule == &rules[1] &&
		           !access_rule_challenges(rule),
		   "bob passes");
		rules[0] = (struct access_rule){ ACCESS_DENY, 2, r_u_all,
			                         (char *)"t:1" };
		a = access_evaluate(&list, &ctx, ACCESS_DENY, &rule, &wait);
		ok(a == ACCESS_DENY && rule == &rules[0] &&
		           !access_rule_challenges(rule),
		   "a deny whose last acl is not proxy_auth: no challenge");
		rules[0] = (struct access_rule){ ACCESS_DENY, 2, r_all_u,
			                         (char *)"t:1" };
		ok(access_rule_challenges(&rules[0]),
		   "deny all users: challenge");
		rules[0].action = ACCESS_ALLOW;
		ok(!access_rule_challenges(&rules[0]) &&
		           !access_rule_challenges(NULL),
		   "allow rules and the default never challenge");
		ctx.auth = ACL_AUTH_NEEDED;
		rules[0] = (struct access_rule){ ACCESS_ALLOW, 1, r_notu,
			                         (char *)"t:1" };
		ok(access_first(&list, &ctx,
		                1u << ACCESS_ALLOW | 1u << ACCESS_DENY) ==
		           &rules[1],
		   "access_first(): an unknown user fails the rule, even "
		   "!users");
		destroy(all);
	}

	destroy(u);
	destroy(any);
	destroy(x);
	destroy(ui);
	destroy(xi);
}

int
main(void)
{
	test_type_names();
	test_values();
	test_src();
	test_src_special();
	test_dst();
	test_port_method();
	test_dstdomain();
	test_manager();
	test_server_name();
	test_at_step();
	test_ssl_error();
	test_access();
	test_proxy_auth();
	return tap_done();
}
