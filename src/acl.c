#include "config.h"

/*
 * acl: values of Squid's ACL types, matching a transaction against them,
 * and first-match evaluation of allow/deny lists.  Pure: no I/O, no logs.
 *
 * Addresses are kept as 16 bytes in network order, IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), each entry an inclusive range [lo, hi] tagged with the
 * family it was written in.  A client that reaches us over an IPv6 socket as
 * ::ffff:a.b.c.d is an IPv4 client and matches IPv4 entries.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "array.h"
#include "hostname.h"
#include "i18n.h"

/* ::ffff:0:0/96, RFC 4291 2.5.5.2 */
static const uint8_t v4mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

/* Supported types, by the name an acl line uses. */
static const struct {
	const char   *name;
	enum acl_type type;
} acl_types[] = {
	{ "all", ACL_ALL },       { "src", ACL_SRC },
	{ "dst", ACL_DST },       { "port", ACL_PORT },
	{ "method", ACL_METHOD }, { "dstdomain", ACL_DSTDOMAIN },
	{ "at_step", ACL_AT_STEP },
	{ "ssl::server_name", ACL_SERVER_NAME },
	{ "ssl::server_name_regex", ACL_SERVER_NAME_REGEX },
	{ "ssl_error", ACL_SSL_ERROR },
	{ "proxy_auth", ACL_PROXY_AUTH },
	{ "proxy_auth_regex", ACL_PROXY_AUTH_REGEX },
};

/* Squid's other types: refused with a clearer word than "unknown". */
static const char *const squid_types[] = {
	"adaptation_service",
	"all-of",
	"annotate_client",
	"annotate_transaction",
	"any-of",
	"arp",
	"browser",
	"ca_cert",
	"client_connection_mark",
	"clientside_mark",
	"connections_encrypted",
	"dst_as",
	"dstdom_regex",
	"eui64",
	"ext_user",
	"ext_user_regex",
	"external",
	"has",
	"hier_code",
	"http_status",
	"ident",
	"ident_regex",
	"localip",
	"localport",
	"manager",
	"max_user_ip",
	"maxconn",
	"myip",
	"myport",
	"myportname",
	"note",
	"peername",
	"peername_regex",
	"proto",
	"random",
	"referer_regex",
	"rep_header",
	"rep_mime_type",
	"req_header",
	"req_mime_type",
	"server_cert_fingerprint",
	"squid_error",
	"src_as",
	"srcdom_regex",
	"srcdomain",
	"tag",
	"time",
	"transaction_initiator",
	"url_regex",
	"urlgroup",
	"urllogin",
	"urlpath_regex",
	"user_cert",
};

int
acl_type_from_name(const char *name, const char **why)
{
	size_t i;

	for (i = 0; i < sizeof(acl_types) / sizeof(acl_types[0]); i++)
		if (strcmp(name, acl_types[i].name) == 0)
			return (int)acl_types[i].type;
	for (i = 0; i < sizeof(squid_types) / sizeof(squid_types[0]); i++) {
		if (strcmp(name, squid_types[i]) == 0) {
			*why = N_("is not supported");
			return -1;
		}
	}
	*why = N_("is unknown");
	return -1;
}

/*
 * Parses an address: IPv4, IPv6, or [IPv6].  IPv4 and IPv4-mapped IPv6 both
 * come out as family AF_INET with the mapped 16-byte form.
 */
static int
parse_addr(const char *s, size_t len, int *family, uint8_t a[16])
{
	char text[INET6_ADDRSTRLEN + 2];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
		if (len >= sizeof(text))
			return -1;
		memcpy(text, s, len);
		text[len] = '\0';
		if (inet_pton(AF_INET6, text, a) != 1)
			return -1;
	} else {
		if (len >= sizeof(text))
			return -1;
		memcpy(text, s, len);
		text[len] = '\0';
		if (inet_pton(AF_INET, text, a + 12) == 1) {
			memcpy(a, v4mapped_prefix, 12);
			*family = AF_INET;
			return 0;
		}
		if (inet_pton(AF_INET6, text, a) != 1)
			return -1;
	}
	*family = memcmp(a, v4mapped_prefix, 12) == 0 ? AF_INET : AF_INET6;
	return 0;
}

/* Prefix length from "N" (0..max) or, for IPv4, a contiguous netmask. */
static int
parse_prefix(const char *s, int family, unsigned *plen, const char **why)
{
	uint8_t  m[4];
	unsigned max = family == AF_INET ? 32 : 128;
	unsigned n = 0;
	uint32_t mask;
	size_t   i;

	if (s[0] >= '0' && s[0] <= '9' &&
	    strspn(s, "0123456789") == strlen(s)) {
		for (i = 0; s[i] != '\0'; i++) {
			n = n * 10 + (unsigned)(s[i] - '0');
			if (n > max) {
				*why = N_("prefix length out of range");
				return -1;
			}
		}
		*plen = n;
		return 0;
	}
	if (family != AF_INET || inet_pton(AF_INET, s, m) != 1) {
		*why = N_("bad netmask");
		return -1;
	}
	mask = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
	       (uint32_t)m[2] << 8 | m[3];
	while (n < 32 && (mask & (UINT32_C(1) << (31 - n))) != 0)
		n++;
	if (n < 32 && (mask << n) != 0) {
		*why = N_("netmask is not contiguous");
		return -1;
	}
	*plen = n;
	return 0;
}

/* lo = a with the bits after plen (of 128) cleared, hi with them set. */
static void
net_from_prefix(struct acl_net *net, const uint8_t a[16], unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		uint8_t keep;

		if (plen >= 8 * (i + 1))
			keep = 0xff;
		else if (plen <= 8 * i)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (plen - 8 * i)));
		net->lo[i] = a[i] & keep;
		net->hi[i] = a[i] | (uint8_t)~keep;
	}
}

/*
 * "all", "ipv4", "ipv6", ADDR, ADDR/N, ADDR/NETMASK, ADDR-ADDR.  Squid's
 * ADDR-ADDR/MASK (a range of masked addresses) is refused rather than half
 * understood.  An IPv6 entry never matches an IPv4 client, not even ::/0:
 * "ipv6" is exactly ::/0.
 */
static int
add_net(struct acl *acl, const char *value, const char **why)
{
	struct acl_net net;
	const char    *dash, *slash;
	uint8_t        a[16], b[16];
	int            fa, fb;
	unsigned       plen;

	if (strcmp(value, "all") == 0) {
		if (add_net(acl, "0.0.0.0/0", why) < 0)
			return -1;
		return add_net(acl, "::/0", why);
	}
	if (strcmp(value, "ipv4") == 0)
		return add_net(acl, "0.0.0.0/0", why);
	if (strcmp(value, "ipv6") == 0)
		return add_net(acl, "::/0", why);
	memset(&net, 0, sizeof(net));
	dash = strchr(value, '-');
	slash = strchr(value, '/');
	if (dash != NULL) {
		if (slash != NULL) {
			*why = N_("address range with a mask is not supported");
			return -1;
		}
		if (parse_addr(value, (size_t)(dash - value), &fa, a) < 0 ||
		    parse_addr(dash + 1, strlen(dash + 1), &fb, b) < 0) {
			*why = N_("not an IP address range");
			return -1;
		}
		if (fa != fb) {
			*why = N_("address range mixes IPv4 and IPv6");
			return -1;
		}
		if (memcmp(a, b, 16) > 0) {
			*why = N_("address range ends before it starts");
			return -1;
		}
		net.family = fa;
		memcpy(net.lo, a, 16);
		memcpy(net.hi, b, 16);
	} else {
		size_t alen =
		        slash != NULL ? (size_t)(slash - value) : strlen(value);
		bool mapped_v6;

		if (parse_addr(value, alen, &fa, a) < 0) {
			*why = N_("not an IP address");
			return -1;
		}
		/* written as IPv6 (::ffff:a.b.c.d) rather than as IPv4? */
		mapped_v6 = fa == AF_INET && memchr(value, ':', alen) != NULL;
		if (slash == NULL) {
			plen = 128;
		} else if (parse_prefix(slash + 1, mapped_v6 ? AF_INET6 : fa,
		                        &plen, why) < 0) {
			return -1;
		} else if (fa == AF_INET && !mapped_v6) {
			plen += 96;
		} else if (mapped_v6 && plen < 96) {
			fa = AF_INET6; /* reaches beyond ::ffff:0:0/96 */
		}
		net.family = fa;
		net_from_prefix(&net, a, plen);
	}
	if (array_grow((void **)&acl->u.nets, acl->n, sizeof(net)) < 0) {
		*why = N_("out of memory");
		return -1;
	}
	acl->u.nets[acl->n++] = net;
	return 0;
}

static int
parse_port(const char *s, size_t len, uint32_t *port)
{
	uint32_t n = 0;
	size_t   i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint32_t)(s[i] - '0');
		if (n > 65535)
			return -1;
	}
	*port = n;
	return 0;
}

static int
add_port(struct acl *acl, const char *value, const char **why)
{
	struct acl_range r;
	const char      *dash = strchr(value, '-');

	if (dash == NULL) {
		if (parse_port(value, strlen(value), &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
	} else {
		if (parse_port(value, (size_t)(dash - value), &r.lo) < 0 ||
		    parse_port(dash + 1, strlen(dash + 1), &r.hi) < 0)
			goto bad;
		if (r.lo > r.hi) {
			*why = N_("port range ends before it starts");
			return -1;
		}
	}
	if (array_grow((void **)&acl->u.ranges, acl->n, sizeof(r)) < 0) {
		*why = N_("out of memory");
		return -1;
	}
	acl->u.ranges[acl->n++] = r;
	return 0;
bad:
	*why = N_("not a port number (0-65535) or range");
	return -1;
}

/* RFC 9110 5.6.2 tchar */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", c) != NULL))
			return false;
	}
	return true;
}

static int
add_string(struct acl *acl, const char *value, const char **why)
{
	char *s;

	if (array_grow((void **)&acl->u.strings, acl->n, sizeof(char *)) < 0 ||
	    (s = strdup(value)) == NULL) {
		*why = N_("out of memory");
		return -1;
	}
	acl->u.strings[acl->n++] = s;
	return 0;
}

/* Squid's names of the ssl_bump steps. */
static int
add_step(struct acl *acl, const char *value, const char **why)
{
	static const char *const names[] = {
		[BUMP_STEP1] = "SslBump1",
		[BUMP_STEP2] = "SslBump2",
		[BUMP_STEP3] = "SslBump3",
	};

	for (unsigned i = BUMP_STEP1; i <= BUMP_STEP3; i++) {
		if (strcmp(value, names[i]) == 0) {
			acl->u.steps |= 1u << i;
			acl->n++;
			return 0;
		}
	}
	*why = strcmp(value, "GeneratingCONNECT") == 0
	               ? N_("GeneratingCONNECT is not supported")
	               : N_("not a step: SslBump1, SslBump2 or SslBump3");
	return -1;
}

/*
 * Squid's names of certificate errors, and its ssl::cert* groups.  A name
 * of an error that GnuTLS never lets bascule see is taken with a warning,
 * so that Squid's configurations load.
 */
static int
add_ssl_error(struct acl *acl, const char *value, const char **why)
{
	unsigned mask;

	switch (tls_verify_error_parse(value, &mask)) {
	case 1:
		acl->u.ssl_errors |= mask;
		acl->n++;
		return 0;
	case 0:
		acl->n++;
		*why = N_("bascule never reports this error: it matches "
		          "nothing");
		return 1;
	default:
		*why = N_("not a TLS error name (X509_V_ERR_..., "
		          "SQUID_X509_V_ERR_DOMAIN_MISMATCH or ssl::cert...)");
		return -1;
	}
}

/* POSIX extended regular expressions, as Squid's *_regex types. */
static int
add_regex(struct acl *acl, const char *value, const char **why)
{
	struct acl_regex *r;
	int               flags = REG_EXTENDED | REG_NOSUB;

	if (acl->icase)
		flags |= REG_ICASE;
	if (array_grow((void **)&acl->u.regexes, acl->n, sizeof(*r)) < 0) {
		*why = N_("out of memory");
		return -1;
	}
	r = &acl->u.regexes[acl->n];
	if (regcomp(&r->re, value, flags) != 0) {
		*why = N_("not a valid regular expression");
		return -1;
	}
	if ((r->text = strdup(value)) == NULL) {
		regfree(&r->re);
		*why = N_("out of memory");
		return -1;
	}
	acl->n++;
	return 0;
}

/* -i compares user names in lower case (ASCII, as Squid). */
static void
lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * proxy_auth: user names, or REQUIRED for any user that authenticates.
 * Names are kept as written, or in lower case after -i.
 */
static int
add_user(struct acl *acl, const char *value, const char **why)
{
	if (strcmp(value, "REQUIRED") == 0) {
		acl->required = true;
		return 0;
	}
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = N_("control character in a user name");
			return -1;
		}
	}
	if (add_string(acl, value, why) < 0)
		return -1;
	if (acl->icase)
		lower_ascii(acl->u.strings[acl->n - 1]);
	return 0;
}

int
acl_add_value(struct acl *acl, const char *value, const char **why)
{
	char name[HOSTNAME_MAX + 2]; /* leading '.', NUL */

	switch (acl->type) {
	case ACL_ALL:
	case ACL_MANAGER:
		*why = N_("this acl type takes no values");
		return -1;
	case ACL_SRC:
	case ACL_DST:
		return add_net(acl, value, why);
	case ACL_PORT:
		return add_port(acl, value, why);
	case ACL_METHOD:
		if (!is_token(value)) {
			*why = N_("not a request method");
			return -1;
		}
		return add_string(acl, value, why);
	case ACL_DSTDOMAIN:
	case ACL_SERVER_NAME:
		if (hostname_canonical(value, strlen(value), name, sizeof(name),
		                       why) < 0)
			return -1;
		return add_string(acl, name, why);
	case ACL_SERVER_NAME_REGEX:
		return add_regex(acl, value, why);
	case ACL_AT_STEP:
		return add_step(acl, value, why);
	case ACL_SSL_ERROR:
		return add_ssl_error(acl, value, why);
	case ACL_PROXY_AUTH:
		return add_user(acl, value, why);
	case ACL_PROXY_AUTH_REGEX:
		return add_regex(acl, value, why);
	}
	*why = N_("bad acl type");
	return -1;
}

static int
cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
acl_finish(struct acl *acl)
{
	size_t i, out;

	if (acl->type != ACL_METHOD && acl->type != ACL_DSTDOMAIN &&
	    acl->type != ACL_SERVER_NAME && acl->type != ACL_PROXY_AUTH)
		return;
	if (acl->n == 0)
		return;
	qsort(acl->u.strings, acl->n, sizeof(char *), cmp_strings);
	for (i = 1, out = 1; i < acl->n; i++) {
		if (strcmp(acl->u.strings[i], acl->u.strings[out - 1]) == 0)
			free(acl->u.strings[i]);
		else
			acl->u.strings[out++] = acl->u.strings[i];
	}
	acl->n = out;
}

void
acl_clear(struct acl *acl)
{
	size_t i;

	if (acl == NULL)
		return;
	switch (acl->type) {
	case ACL_SRC:
	case ACL_DST:
		free(acl->u.nets);
		break;
	case ACL_PORT:
		free(acl->u.ranges);
		break;
	case ACL_METHOD:
	case ACL_DSTDOMAIN:
	case ACL_SERVER_NAME:
	case ACL_PROXY_AUTH:
		for (i = 0; i < acl->n; i++)
			free(acl->u.strings[i]);
		free(acl->u.strings);
		break;
	case ACL_SERVER_NAME_REGEX:
	case ACL_PROXY_AUTH_REGEX:
		for (i = 0; i < acl->n; i++) {
			regfree(&acl->u.regexes[i].re);
			free(acl->u.regexes[i].text);
		}
		free(acl->u.regexes);
		break;
	case ACL_ALL:
	case ACL_MANAGER:
	case ACL_AT_STEP:
	case ACL_SSL_ERROR:
		break;
	}
	free(acl->name);
	memset(acl, 0, sizeof(*acl));
}

/* The address as 16 bytes and the family it counts as; -1 if not IP. */
static int
sockaddr_key(const struct sockaddr *sa, int *family, uint8_t a[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(a, v4mapped_prefix, 12);
		memcpy(a + 12, &sin->sin_addr, 4);
		*family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		        (const struct sockaddr_in6 *)sa;

		memcpy(a, &sin6->sin6_addr, 16);
		*family = memcmp(a, v4mapped_prefix, 12) == 0 ? AF_INET
		                                              : AF_INET6;
		return 0;
	}
	return -1;
}

static bool
nets_match(const struct acl *acl, int family, const uint8_t a[16])
{
	size_t i;

	for (i = 0; i < acl->n; i++) {
		const struct acl_net *net = &acl->u.nets[i];

		if (net->family == family && memcmp(net->lo, a, 16) <= 0 &&
		    memcmp(a, net->hi, 16) <= 0)
			return true;
	}
	return false;
}

static enum acl_verdict
match_src(const struct acl *acl, const struct acl_ctx *ctx)
{
	uint8_t a[16];
	int     family;

	if (ctx->src == NULL || sockaddr_key(ctx->src, &family, a) < 0)
		return ACL_NO_MATCH;
	return nets_match(acl, family, a) ? ACL_MATCH : ACL_NO_MATCH;
}

/* A host that is an IP literal needs no DNS to be matched by dst. */
static enum acl_verdict
match_dst(const struct acl *acl, const struct acl_ctx *ctx)
{
	uint8_t a[16];
	int     family;

	if (ctx->dst != NULL) {
		if (sockaddr_key(ctx->dst, &family, a) < 0)
			return ACL_NO_MATCH;
	} else if (ctx->host == NULL ||
	           parse_addr(ctx->host, strlen(ctx->host), &family, a) < 0) {
		return ctx->dst_unknown ? ACL_NO_MATCH : ACL_NEED_DST;
	}
	return nets_match(acl, family, a) ? ACL_MATCH : ACL_NO_MATCH;
}

/* strcmp() of (dot ? "." : "") followed by key, against s. */
static int
cmp_key(bool dot, const char *key, const char *s)
{
	if (dot) {
		if (*s != '.')
			return (unsigned char)'.' - (unsigned char)*s;
		s++;
	}
	return strcmp(key, s);
}

/* Binary search in a sorted, deduplicated string array. */
static bool
strings_find(const struct acl *acl, bool dot, const char *key)
{
	size_t lo = 0, hi = acl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int    c = cmp_key(dot, key, acl->u.strings[mid]);

		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/*
 * "www.example.com" is matched by the patterns "www.example.com",
 * ".www.example.com", ".example.com" and ".com": one lookup each.
 */
static bool
domain_matches(const struct acl *acl, const char *host)
{
	char        name[HOSTNAME_MAX + 2];
	const char *why;
	const char *p;

	if (host == NULL || host[0] == '.' ||
	    hostname_canonical(host, strlen(host), name, sizeof(name), &why) < 0)
		return false;
	if (strings_find(acl, false, name) || strings_find(acl, true, name))
		return true;
	for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.'))
		if (strings_find(acl, false, p))
			return true;
	return false;
}

static enum acl_verdict
match_dstdomain(const struct acl *acl, const struct acl_ctx *ctx)
{
	return domain_matches(acl, ctx->host) ? ACL_MATCH : ACL_NO_MATCH;
}

/*
 * A certificate's "*.example.org" stands for every name one label below
 * example.org: the patterns ".example.org" and ".org" match it, as they
 * would each of those names.  "example.org" and "www.example.org" do not:
 * the certificate is not known to be for either.
 */
static bool
wildcard_matches(const struct acl *acl, const char *name)
{
	for (const char *p = name + 1; p != NULL; p = strchr(p + 1, '.'))
		if (strings_find(acl, false, p))
			return true;
	return false;
}

/* Any of the server names known at this step. */
static enum acl_verdict
match_server_name(const struct acl *acl, const struct acl_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nserver_names; i++) {
		const char *name = ctx->server_names[i];

		if (acl->type == ACL_SERVER_NAME &&
		    (name[0] == '*' ? wildcard_matches(acl, name)
		                    : domain_matches(acl, name)))
			return ACL_MATCH;
		if (acl->type != ACL_SERVER_NAME_REGEX)
			continue;
		for (size_t j = 0; j < acl->n; j++)
			if (regexec(&acl->u.regexes[j].re, name, 0, NULL, 0) == 0)
				return ACL_MATCH;
	}
	return ACL_NO_MATCH;
}

static bool
has_prefix_ascii_icase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *prefix)
			return false;
	}
	return true;
}

/*
 * proxy_auth and proxy_auth_regex (Squid's semantics): an unknown user is
 * ACL_NEED_AUTH, for the caller to authenticate, or to challenge; a user
 * never matches where proxy authentication cannot be (ACL_AUTH_NONE).
 */
static enum acl_verdict
match_user(const struct acl *acl, const struct acl_ctx *ctx)
{
	char lower[512];

	switch (ctx->auth) {
	case ACL_AUTH_NONE:
		return ACL_NO_MATCH;
	case ACL_AUTH_NEEDED:
		return ACL_NEED_AUTH;
	case ACL_AUTH_USER:
		break;
	}
	if (ctx->user == NULL)
		return ACL_NO_MATCH;
	if (acl->type == ACL_PROXY_AUTH_REGEX) {
		for (size_t i = 0; i < acl->n; i++)
			if (regexec(&acl->u.regexes[i].re, ctx->user, 0, NULL,
			            0) == 0)
				return ACL_MATCH;
		return ACL_NO_MATCH;
	}
	if (acl->required)
		return ACL_MATCH;
	if (!acl->icase)
		return strings_find(acl, false, ctx->user) ? ACL_MATCH
		                                           : ACL_NO_MATCH;
	if (strlen(ctx->user) >= sizeof(lower))
		return ACL_NO_MATCH; /* longer than any user name taken */
	memcpy(lower, ctx->user, strlen(ctx->user) + 1);
	lower_ascii(lower);
	return strings_find(acl, false, lower) ? ACL_MATCH : ACL_NO_MATCH;
}

/* Squid's cache manager: cache_object://... or .../squid-internal-mgr/... */
static enum acl_verdict
match_manager(const struct acl_ctx *ctx)
{
	static const char mgr[] = "/squid-internal-mgr/";
	const char       *path = ctx->url;

	if (path == NULL)
		return ACL_NO_MATCH;
	if (has_prefix_ascii_icase(path, "cache_object:"))
		return ACL_MATCH;
	if (path[0] != '/') {
		const char *authority = strstr(path, "://");

		if (authority == NULL)
			return ACL_NO_MATCH;
		path = authority + 3 + strcspn(authority + 3, "/?#");
	}
	return strncmp(path, mgr, sizeof(mgr) - 1) == 0 ? ACL_MATCH
	                                                : ACL_NO_MATCH;
}

enum acl_verdict
acl_match(const struct acl *acl, const struct acl_ctx *ctx)
{
	size_t i;

	switch (acl->type) {
	case ACL_ALL:
		return ACL_MATCH;
	case ACL_SRC:
		return match_src(acl, ctx);
	case ACL_DST:
		return match_dst(acl, ctx);
	case ACL_PORT:
		for (i = 0; i < acl->n; i++)
			if (ctx->port >= acl->u.ranges[i].lo &&
			    ctx->port <= acl->u.ranges[i].hi)
				return ACL_MATCH;
		return ACL_NO_MATCH;
	case ACL_METHOD:
		if (ctx->method == NULL)
			return ACL_NO_MATCH;
		return strings_find(acl, false, ctx->method) ? ACL_MATCH
		                                             : ACL_NO_MATCH;
	case ACL_DSTDOMAIN:
		return match_dstdomain(acl, ctx);
	case ACL_MANAGER:
		return match_manager(ctx);
	case ACL_AT_STEP:
		return (acl->u.steps & (1u << ctx->step)) != 0 ? ACL_MATCH
		                                              : ACL_NO_MATCH;
	case ACL_SERVER_NAME:
	case ACL_SERVER_NAME_REGEX:
		return match_server_name(acl, ctx);
	case ACL_SSL_ERROR:
		return (acl->u.ssl_errors & ctx->ssl_errors) != 0 ? ACL_MATCH
		                                                  : ACL_NO_MATCH;
	case ACL_PROXY_AUTH:
	case ACL_PROXY_AUTH_REGEX:
		return match_user(acl, ctx);
	}
	return ACL_NO_MATCH;
}

enum access_action
access_evaluate(const struct access_list *list, const struct acl_ctx *ctx,
                enum access_action if_empty, const struct access_rule **rule,
                enum acl_verdict *wait)
{
	size_t i, j;

	if (rule != NULL)
		*rule = NULL;
	*wait = ACL_MATCH;
	if (list == NULL || list->n == 0)
		return if_empty;
	for (i = 0; i < list->n; i++) {
		const struct access_rule *r = &list->rules[i];

		/* ACLs of a line are ANDed, left to right, stopping early */
		for (j = 0; j < r->n; j++) {
			enum acl_verdict v = acl_match(r->refs[j].acl, ctx);

			if (v == ACL_NEED_DST || v == ACL_NEED_AUTH) {
				*wait = v;
				return ACCESS_DENY;
			}
			if ((v == ACL_MATCH) == r->refs[j].negate)
				break;
		}
		if (j == r->n) {
			if (rule != NULL)
				*rule = r;
			return (enum access_action)r->action;
		}
	}
	/* Squid: no line matched, so the opposite of the last line */
	return list->rules[list->n - 1].action == ACCESS_ALLOW ? ACCESS_DENY
	                                                       : ACCESS_ALLOW;
}

enum access_action
access_check(const struct access_list *list, const struct acl_ctx *ctx,
             enum access_action if_empty, const struct access_rule **rule,
             bool *need_dst)
{
	enum acl_verdict   wait;
	enum access_action a =
	        access_evaluate(list, ctx, if_empty, rule, &wait);

	if (need_dst != NULL)
		*need_dst = wait == ACL_NEED_DST;
	return a;
}

bool
access_rule_challenges(const struct access_rule *rule)
{
	const struct acl *last;

	if (rule == NULL || rule->action != ACCESS_DENY || rule->n == 0)
		return false;
	last = rule->refs[rule->n - 1].acl;
	return last->type == ACL_PROXY_AUTH ||
	       last->type == ACL_PROXY_AUTH_REGEX;
}

const struct access_rule *
access_first(const struct access_list *list, const struct acl_ctx *ctx,
             unsigned usable)
{
	for (size_t i = 0; list != NULL && i < list->n; i++) {
		const struct access_rule *r = &list->rules[i];
		size_t                    j;

		if ((usable & (1u << r->action)) == 0)
			continue;
		for (j = 0; j < r->n; j++) {
			enum acl_verdict v = acl_match(r->refs[j].acl, ctx);

			/* An unknown dst or user fails the rule, negated
			 * or not. */
			if (v == ACL_NEED_DST || v == ACL_NEED_AUTH ||
			    (v == ACL_MATCH) == r->refs[j].negate)
				break;
		}
		if (j == r->n)
			return r;
	}
	return NULL;
}
