#include "config.h"

/*
 * conf: configuration generations.  Reads Squid's configuration language
 * (files, includes, ACL value files), fills a struct conf from a table of
 * directives, collects every diagnostic as "FILE:LINE: message", and frees a
 * generation when its last reference goes.
 *
 * The table below drives parsing, defaults, ranges and what a reload cannot
 * change.  Each value type has one typed parser; a parser reports a problem
 * in a caller-supplied cause buffer and the dispatcher prefixes it with the
 * place and the directive's name.
 */

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <nettle/base64.h>

#include "acl.h"
#include "array.h"
#include "conf.h"
#include "hostname.h"
#include "i18n.h" /* _(): -k parse prints these messages translated */
#include "tls_verify.h"

#define INCLUDE_DEPTH_MAX 16
#define CAUSE_MAX         512
#define ACL_NAME_MAX      64

/* Value types: one typed parser each. */
enum dir_type {
	DT_DURATION = 0, /* uint64_t milliseconds */
	DT_SIZE,         /* uint64_t bytes */
	DT_UINT,         /* unsigned */
	DT_COUNT,        /* uint64_t */
	DT_BOOL,         /* bool, on|off */
	DT_STRING,       /* char *, one word */
	DT_PATH,         /* char *, NULL for "none" */
	DT_PEM_FILE,     /* char *, a PATH to PEM certificates, checked */
	DT_HOSTNAME,     /* char *, canonical host name */
	DT_FORWARDED_FOR,
	DT_NAMESERVERS, /* char **, NULL-terminated, appended to */
	DT_LISTEN,      /* http_port lines */
	DT_ACL,
	DT_ACCESS, /* struct access_list, allow|deny [!]ACL... */
	DT_SSL_BUMP,    /* struct access_list, enum bump_action [!]ACL... */
	DT_UNSUPPORTED, /* struct access_list, tunnel|respond [!]ACL... */
	DT_ACCESS_LOG,
	DT_PEER,        /* cache_peer lines */
	DT_PEER_ACCESS, /* cache_peer_access NAME allow|deny [!]ACL... */
	DT_TLS_OUTGOING, /* struct tls_outgoing, KEY=VALUE... added up */
	DT_AUTH_PARAM,   /* struct auth_conf: basic PARAMETER VALUE... */
	DT_INCLUDE,
	DT_IGNORED, /* Squid's, not needed here: warn */
};

enum dir_flags {
	DIR_RESTART = 1 << 0, /* a reload keeps the running value */
};

struct directive {
	const char   *name;
	enum dir_type type;
	size_t        offset;   /* of the field in struct conf */
	uint64_t      min, max; /* DURATION, SIZE, UINT, COUNT */
	const char   *def;      /* default as written in a file; NULL: none */
	unsigned      flags;
};

/* Kept by hand: one kind of directive per line reads best. */
/* clang-format off */
/* offsetof() that fails to compile unless the field has type T. */
#define FIELD(f, T) \
	_Generic(((struct conf *)0)->f, T: offsetof(struct conf, f))

#define SEC(n)     ((uint64_t)(n) * 1000)
#define MINUTES(n) SEC((uint64_t)(n) * 60)
#define HOURS(n)   MINUTES((uint64_t)(n) * 60)
#define DAYS(n)    HOURS((uint64_t)(n) * 24)
#define KB(n)      ((uint64_t)(n) << 10)
#define MB(n)      ((uint64_t)(n) << 20)

/* name, field of struct conf, then min, max, default or flags */
#define DURATION(n, f, lo, hi, def) \
	{ n, DT_DURATION, FIELD(f, uint64_t), lo, hi, def, 0 }
#define SIZE(n, f, lo, hi, def) \
	{ n, DT_SIZE, FIELD(f, uint64_t), lo, hi, def, 0 }
#define UINT(n, f, lo, hi, def, fl) \
	{ n, DT_UINT, FIELD(f, unsigned), lo, hi, def, fl }
#define COUNT(n, f, lo, hi, def, fl) \
	{ n, DT_COUNT, FIELD(f, uint64_t), lo, hi, def, fl }
#define BOOL(n, f, def) \
	{ n, DT_BOOL, FIELD(f, bool), 0, 0, def, 0 }
#define STRING(n, f, fl) \
	{ n, DT_STRING, FIELD(f, char *), 0, 0, NULL, fl }
#define PATH(n, f, def, fl) \
	{ n, DT_PATH, FIELD(f, char *), 0, 0, def, fl }
#define PEM_FILE(n, f) \
	{ n, DT_PEM_FILE, FIELD(f, char *), 0, 0, NULL, 0 }
#define HOSTNAME(n, f) \
	{ n, DT_HOSTNAME, FIELD(f, char *), 0, 0, NULL, 0 }
#define FORWARDED_FOR(n, f, def) \
	{ n, DT_FORWARDED_FOR, FIELD(f, enum forwarded_for), 0, 0, def, 0 }
#define NAMESERVERS(n, f) \
	{ n, DT_NAMESERVERS, FIELD(f, char **), 0, 0, NULL, 0 }
#define LISTEN(n, f, fl) \
	{ n, DT_LISTEN, FIELD(f, struct listen_conf *), 0, 0, NULL, fl }
#define ACCESS(n, f) \
	{ n, DT_ACCESS, FIELD(f, struct access_list), 0, 0, NULL, 0 }
#define SSL_BUMP(n, f) \
	{ n, DT_SSL_BUMP, FIELD(f, struct access_list), 0, 0, NULL, 0 }
#define UNSUPPORTED(n, f) \
	{ n, DT_UNSUPPORTED, FIELD(f, struct access_list), 0, 0, NULL, 0 }
#define TLS_OUTGOING(n, f, def) \
	{ n, DT_TLS_OUTGOING, FIELD(f, struct tls_outgoing), 0, 0, def, 0 }
#define AUTH_PARAM(n, f) \
	{ n, DT_AUTH_PARAM, FIELD(f, struct auth_conf), 0, 0, NULL, 0 }
#define ACL(n)        { n, DT_ACL, 0, 0, 0, NULL, 0 }
#define ACCESS_LOG(n) { n, DT_ACCESS_LOG, 0, 0, 0, NULL, 0 }
#define PEER(n)        { n, DT_PEER, 0, 0, 0, NULL, 0 }
#define PEER_ACCESS(n) { n, DT_PEER_ACCESS, 0, 0, 0, NULL, 0 }
#define INCLUDE(n)    { n, DT_INCLUDE, 0, 0, 0, NULL, 0 }
#define IGNORED(n)    { n, DT_IGNORED, 0, 0, 0, NULL, 0 }
/* clang-format on */

static const struct directive directives[] = {
	LISTEN("http_port", listeners, DIR_RESTART),
	/* Same list as http_port, whose entry reports a restart needed. */
	LISTEN("https_port", listeners, 0),
	AUTH_PARAM("auth_param", auth),
	ACL("acl"),
	ACCESS("http_access", http_access),
	ACCESS("proxy_protocol_access", proxy_protocol_access),
	SSL_BUMP("ssl_bump", ssl_bump),
	UNSUPPORTED("on_unsupported_protocol", on_unsupported_protocol),
	ACCESS("sslproxy_cert_error", sslproxy_cert_error),
	/* RFC 8996: TLS 1.0 and 1.1 are deprecated; Squid's default is 1.0 */
	TLS_OUTGOING("tls_outgoing_options", tls_outgoing,
	             "min-version=1.2 default-ca"),
	PEM_FILE("sslproxy_foreign_intermediate_certs",
	         sslproxy_foreign_intermediate_certs),
	PEER("cache_peer"),
	PEER_ACCESS("cache_peer_access"),
	ACCESS("never_direct", never_direct),
	ACCESS("always_direct", always_direct),
	BOOL("nonhierarchical_direct", nonhierarchical_direct, "on"),
	BOOL("prefer_direct", prefer_direct, "off"),
	INCLUDE("include"),
	ACCESS_LOG("access_log"),
	PATH("pid_filename", pid_filename, RUNSTATEDIR "/bascule/bascule.pid",
	     DIR_RESTART),
	STRING("cache_effective_user", cache_effective_user, DIR_RESTART),
	UINT("workers", workers, 1, 64, "1", DIR_RESTART),
	PATH("hosts_file", hosts_file, "/etc/hosts", 0),
	NAMESERVERS("dns_nameservers", dns_nameservers),
	HOSTNAME("visible_hostname", visible_hostname),
	BOOL("via", via, "on"),
	BOOL("host_verify_strict", host_verify_strict, "off"),
	FORWARDED_FOR("forwarded_for", forwarded_for, "on"),
	DURATION("connect_timeout", connect_timeout, SEC(1), MINUTES(10),
	         "30 seconds"),
	DURATION("read_timeout", read_timeout, SEC(1), DAYS(1), "15 minutes"),
	DURATION("request_timeout", request_timeout, SEC(1), DAYS(1),
	         "5 minutes"),
	DURATION("client_idle_pconn_timeout", client_idle_pconn_timeout, 0,
	         DAYS(1), "2 minutes"),
	DURATION("server_idle_pconn_timeout", server_idle_pconn_timeout, 0,
	         DAYS(1), "1 minute"),
	DURATION("client_lifetime", client_lifetime, MINUTES(1), DAYS(365),
	         "1 day"),
	DURATION("shutdown_lifetime", shutdown_lifetime, 0, HOURS(1),
	         "30 seconds"),
	SIZE("request_header_max_size", request_header_max_size, KB(1), MB(1),
	     "64 KB"),
	/* RFC 8446 4: a handshake message is at most 2^24 - 1 bytes. */
	SIZE("client_hello_max_size", client_hello_max_size, KB(1),
	     (1u << 24) - 1, "64 KB"),
	COUNT("max_filedescriptors", max_filedescriptors, 0, 1048576, "0",
	      DIR_RESTART),

	IGNORED("sslcrtd_program"),
	IGNORED("sslcrtd_children"),
	IGNORED("cache_dir"),
	IGNORED("coredump_dir"),
	IGNORED("refresh_pattern"),
	IGNORED("cache_mem"),
	IGNORED("maximum_object_size"),
	IGNORED("minimum_object_size"),
	IGNORED("maximum_object_size_in_memory"),
	IGNORED("cache_replacement_policy"),
	IGNORED("memory_replacement_policy"),
	IGNORED("cache_swap_low"),
	IGNORED("cache_swap_high"),
	IGNORED("cache_log"),
	IGNORED("cache_store_log"),
	IGNORED("logfile_rotate"),
	IGNORED("dns_v4_first"),
	IGNORED("cache"),
	IGNORED("memory_pools"),
	IGNORED("httpd_suppress_version_string"),
	IGNORED("error_directory"),
	IGNORED("icp_port"),
	IGNORED("htcp_port"),
	IGNORED("icp_access"),
	IGNORED("htcp_access"),
	IGNORED("snmp_port"),
	IGNORED("snmp_access"),
	IGNORED("cache_mgr"),
	IGNORED("cachemgr_passwd"),
	IGNORED("pinger_enable"),
	IGNORED("store_id_program"),
	IGNORED("url_rewrite_program"),
	IGNORED("url_rewrite_children"),
	IGNORED("quick_abort_min"),
	IGNORED("quick_abort_max"),
	IGNORED("quick_abort_pct"),
	IGNORED("negative_ttl"),
	IGNORED("ipcache_size"),
	IGNORED("fqdncache_size"),
	IGNORED("client_db"),
	IGNORED("buffered_logs"),
	IGNORED("logformat"),
	IGNORED("strip_query_terms"),
	IGNORED("umask"),
	IGNORED("cache_effective_group"),
	IGNORED("append_domain"),
	IGNORED("half_closed_clients"),
	IGNORED("detect_broken_pconn"),
	IGNORED("client_persistent_connections"),
	IGNORED("server_persistent_connections"),
	IGNORED("pconn_lifetime"),
};

#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))

const char *
conf_directive_name(size_t i)
{
	return i < NDIRECTIVES ? directives[i].name : NULL;
}

/* The order the type names of enum acl_type have, for messages. */
static const char *const acl_type_names[] = {
	[ACL_ALL] = "all",         [ACL_SRC] = "src",
	[ACL_DST] = "dst",         [ACL_PORT] = "port",
	[ACL_METHOD] = "method",   [ACL_DSTDOMAIN] = "dstdomain",
	[ACL_MANAGER] = "manager", [ACL_AT_STEP] = "at_step",
	[ACL_SERVER_NAME] = "ssl::server_name",
	[ACL_SERVER_NAME_REGEX] = "ssl::server_name_regex",
	[ACL_SSL_ERROR] = "ssl_error",
	[ACL_PROXY_AUTH] = "proxy_auth",
	[ACL_PROXY_AUTH_REGEX] = "proxy_auth_regex",
};

static const char *const forwarded_for_names[] = {
	[FORWARDED_FOR_ON] = "on",
	[FORWARDED_FOR_OFF] = "off",
	[FORWARDED_FOR_TRANSPARENT] = "transparent",
	[FORWARDED_FOR_DELETE] = "delete",
	[FORWARDED_FOR_TRUNCATE] = "truncate",
};

/* One word of a directive line; "quoted" for a "..." token. */
struct token {
	char *s;
	bool  quoted;
};

struct loader {
	struct conf      *c;
	struct conf_diag *diag;
	const char       *file; /* being read, as named */
	unsigned          line; /* first line of the directive being parsed */
	char             *stack[INCLUDE_DEPTH_MAX + 1]; /* realpath()s */
	size_t            depth;
	bool              oom;
	bool              access_log_seen;
	char             *access_log_none; /* where "access_log none" was */
	char             *auth_acl;        /* the first proxy_auth acl: */
	char             *auth_acl_where;  /* its name and "FILE:LINE" */
};

/* Growable byte string for logical lines and file contents. */
struct strbuf {
	char  *p;
	size_t len, cap;
};

/* Diagnostics */

static void __attribute__((format(printf, 3, 0)))
diag_vadd(struct conf_diag *d, bool is_error, const char *fmt, va_list ap)
{
	struct conf_msg *v;
	va_list          aq;
	char            *text;
	int              n;

	if (is_error)
		d->nerrors++; /* counted even if the text cannot be kept */
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	text = malloc((size_t)n + 1);
	if (text == NULL)
		return;
	if (vsnprintf(text, (size_t)n + 1, fmt, ap) != n) {
		free(text);
		return;
	}
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(text);
		return;
	}
	d->v = v;
	d->v[d->n].is_error = is_error;
	d->v[d->n].text = text;
	d->n++;
}

static void __attribute__((format(printf, 3, 4)))
diag_add(struct conf_diag *d, bool is_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, is_error, fmt, ap);
	va_end(ap);
}

/* "FILE:LINE: " + message; line 0 means the file as a whole. */
static void __attribute__((format(printf, 5, 0)))
report_v(struct loader *ld, bool is_error, const char *file, unsigned line,
         const char *fmt, va_list ap)
{
	char msg[CAUSE_MAX * 2];
	int  n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4); /* truncated: say so */
	if (line > 0)
		diag_add(ld->diag, is_error, "%s:%u: %s", file, line, msg);
	else
		diag_add(ld->diag, is_error, "%s: %s", file, msg);
}

static void __attribute__((format(printf, 2, 3)))
diag_error(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(ld, true, ld->file, ld->line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
diag_warning(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(ld, false, ld->file, ld->line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
diag_error_at(struct loader *ld, const char *file, unsigned line,
              const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(ld, true, file, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
diag_warning_at(struct loader *ld, const char *file, unsigned line,
                const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(ld, false, file, line, fmt, ap);
	va_end(ap);
}

static void
out_of_memory(struct loader *ld)
{
	if (!ld->oom)
		diag_error(ld, "%s", _("out of memory"));
	ld->oom = true;
}

static void __attribute__((format(printf, 2, 3)))
set_cause(char *cause, const char *fmt, ...)
{
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(cause, CAUSE_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		cause[0] = '\0';
	else if (n >= CAUSE_MAX)
		memcpy(cause + CAUSE_MAX - 4, "...", 4);
}

/* Small helpers */

static int
strbuf_append(struct strbuf *b, const char *s, size_t len)
{
	if (len >= b->cap - b->len || b->p == NULL) {
		size_t cap = b->cap ? b->cap : 256;
		char  *p;

		while (len >= cap - b->len) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_eq_icase(const char *a, const char *b)
{
	for (; *a != '\0' && ascii_lower(*a) == ascii_lower(*b); a++, b++)
		continue;
	return *a == '\0' && *b == '\0';
}

/* "FILE:LINE" of the directive being parsed, malloc'd. */
static char *
where_now(struct loader *ld)
{
	char *s;
	int   n;

	n = snprintf(NULL, 0, "%s:%u", ld->file, ld->line);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (snprintf(s, (size_t)n + 1, "%s:%u", ld->file, ld->line) != n) {
		free(s);
		return NULL;
	}
	return s;
}

/* Whole file into b (NUL-terminated); -1 with errno. */
static int
read_file(const char *path, struct strbuf *b)
{
	char   chunk[8192];
	FILE  *f;
	size_t n;
	int    saved;

	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	b->len = 0;
	if (strbuf_append(b, "", 0) < 0)
		goto fail_nomem;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (strbuf_append(b, chunk, n) < 0)
			goto fail_nomem;
	if (ferror(f)) {
		saved = errno != 0 ? errno : EIO;
		fclose(f);
		errno = saved;
		return -1;
	}
	fclose(f);
	return 0;
fail_nomem:
	fclose(f);
	errno = ENOMEM;
	return -1;
}

/* Number formatting for range messages */

/* "30 s", "10 min", "1500 ms": the largest unit that divides ms. */
static void
format_duration(uint64_t ms, char *out, size_t outsz)
{
	static const struct {
		uint64_t    ms;
		const char *unit;
	} units[] = {
		{ DAYS(1), "d" }, { HOURS(1), "h" }, { MINUTES(1), "min" },
		{ SEC(1), "s" },  { 1, "ms" },
	};
	size_t i;
	int    n;

	for (i = 0; ms != 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0)
			break;
	if (ms == 0)
		i = 3; /* "0 s" */
	n = snprintf(out, outsz, "%llu %s",
	             (unsigned long long)(ms / units[i].ms), units[i].unit);
	assert(n > 0 && (size_t)n < outsz); /* 20 digits and a unit fit */
	(void)n;
}

/* "1023 bytes", "64 KB", "2 MB" */
static void
format_size(uint64_t bytes, char *out, size_t outsz)
{
	const char *unit = "bytes";
	int         n;

	if (bytes != 0 && bytes % MB(1) == 0) {
		bytes >>= 20;
		unit = "MB";
	} else if (bytes != 0 && bytes % KB(1) == 0) {
		bytes >>= 10;
		unit = "KB";
	}
	n = snprintf(out, outsz, "%llu %s", (unsigned long long)bytes, unit);
	assert(n > 0 && (size_t)n < outsz); /* 20 digits and a unit fit */
	(void)n;
}

static void
format_quantity(enum dir_type type, uint64_t v, char *out, size_t outsz)
{
	if (type == DT_DURATION)
		format_duration(v, out, outsz);
	else
		format_size(v, out, outsz);
}

/* Typed parsers: 0, or -1 with cause set */

static int
expect_args(const struct token *args, size_t nargs, size_t min, size_t max,
            char *cause)
{
	if (nargs < min) {
		set_cause(cause, "%s", _("missing value"));
		return -1;
	}
	if (nargs > max) {
		set_cause(cause, _("unexpected '%s'"), args[max].s);
		return -1;
	}
	return 0;
}

/*
 * "N", "N.F" times unit, truncated to an integer.  Up to six fraction
 * digits count; N * unit must fit 64 bits.
 */
static int
parse_scaled(const char *s, size_t len, uint64_t unit, uint64_t *out,
             char *cause)
{
	uint64_t ip = 0, frac = 0, div = 1;
	size_t   i = 0;
	bool     digits = false;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (ip > (UINT64_MAX - d) / 10)
			goto too_large;
		ip = ip * 10 + d;
		digits = true;
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (div < 1000000) {
				frac = frac * 10 + (uint64_t)(s[i] - '0');
				div *= 10;
			}
			digits = true;
		}
	}
	if (!digits || i != len) {
		set_cause(cause, _("'%.*s' is not a number"), (int)len, s);
		return -1;
	}
	if (ip > UINT64_MAX / unit)
		goto too_large;
	ip *= unit;
	/* frac < 10^6 and unit < 2^40 here, so no overflow */
	frac = frac * unit / div;
	if (ip > UINT64_MAX - frac)
		goto too_large;
	*out = ip + frac;
	return 0;
too_large:
	set_cause(cause, _("'%.*s' is too large"), (int)len, s);
	return -1;
}

struct unit {
	const char *name;
	uint64_t    scale;
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "msec", 1 },
	{ "millisecond", 1 },
	{ "milliseconds", 1 },
	{ "s", SEC(1) },
	{ "sec", SEC(1) },
	{ "second", SEC(1) },
	{ "seconds", SEC(1) },
	{ "m", MINUTES(1) },
	{ "min", MINUTES(1) },
	{ "minute", MINUTES(1) },
	{ "minutes", MINUTES(1) },
	{ "h", HOURS(1) },
	{ "hour", HOURS(1) },
	{ "hours", HOURS(1) },
	{ "d", DAYS(1) },
	{ "day", DAYS(1) },
	{ "days", DAYS(1) },
	{ "week", DAYS(7) },
	{ "weeks", DAYS(7) },
	{ "fortnight", DAYS(14) },
	{ "fortnights", DAYS(14) },
	{ "month", DAYS(30) }, /* Squid's month and year */
	{ "months", DAYS(30) },
	{ "year", DAYS(365) },
	{ "years", DAYS(365) },
	{ NULL, 0 },
};

static const struct unit size_units[] = {
	{ "b", 1 },        { "byte", 1 },      { "bytes", 1 },
	{ "k", KB(1) },    { "kb", KB(1) },    { "kib", KB(1) },
	{ "m", MB(1) },    { "mb", MB(1) },    { "mib", MB(1) },
	{ "g", MB(1024) }, { "gb", MB(1024) }, { "gib", MB(1024) },
	{ NULL, 0 },
};

/*
 * "N", "N unit" (two words) or "Nunit"; no unit means def_scale.  The value
 * must lie in [d->min, d->max].
 */
static int
parse_quantity(const struct token *args, size_t nargs,
               const struct directive *d, const struct unit *units,
               uint64_t def_scale, uint64_t *dst, char *cause)
{
	const char *s, *unit;
	uint64_t    scale = def_scale, v;
	char        a[64], b[64];
	size_t      numlen, i;

	if (expect_args(args, nargs, 1, 2, cause) < 0)
		return -1;
	s = args[0].s;
	numlen = strspn(s, "0123456789.");
	if (numlen == 0) {
		set_cause(cause, _("'%s' is not a number"), s);
		return -1;
	}
	if (s[numlen] != '\0') {
		if (nargs > 1) {
			set_cause(cause, _("unexpected '%s'"), args[1].s);
			return -1;
		}
		unit = s + numlen;
	} else {
		unit = nargs > 1 ? args[1].s : NULL;
	}
	if (unit != NULL) {
		for (i = 0; units[i].name != NULL; i++)
			if (ascii_eq_icase(unit, units[i].name))
				break;
		if (units[i].name == NULL) {
			set_cause(cause, _("unknown unit '%s'"), unit);
			return -1;
		}
		scale = units[i].scale;
	}
	if (parse_scaled(s, numlen, scale, &v, cause) < 0)
		return -1;
	if (v < d->min) {
		format_quantity(d->type, v, a, sizeof(a));
		format_quantity(d->type, d->min, b, sizeof(b));
		set_cause(cause, _("%s is below the minimum of %s"), a, b);
		return -1;
	}
	if (v > d->max) {
		format_quantity(d->type, v, a, sizeof(a));
		format_quantity(d->type, d->max, b, sizeof(b));
		set_cause(cause, _("%s is above the maximum of %s"), a, b);
		return -1;
	}
	*dst = v;
	return 0;
}

static int
parse_duration(const struct token *args, size_t nargs,
               const struct directive *d, uint64_t *dst, char *cause)
{
	/* no unit: seconds, as in Squid */
	return parse_quantity(args, nargs, d, duration_units, SEC(1), dst,
	                      cause);
}

static int
parse_size(const struct token *args, size_t nargs, const struct directive *d,
           uint64_t *dst, char *cause)
{
	return parse_quantity(args, nargs, d, size_units, 1, dst, cause);
}

/* Decimal digits only, within [d->min, d->max]. */
static int
parse_integer(const struct token *args, size_t nargs, const struct directive *d,
              uint64_t *dst, char *cause)
{
	const char *s;
	uint64_t    v = 0;

	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	s = args[0].s;
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s)) {
		set_cause(cause, _("'%s' is not a number"), s);
		return -1;
	}
	for (; *s != '\0'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > d->max) {
			set_cause(cause, _("%s is above the maximum of %llu"),
			          args[0].s, (unsigned long long)d->max);
			return -1;
		}
	}
	if (v < d->min) {
		set_cause(cause, _("%s is below the minimum of %llu"),
		          args[0].s, (unsigned long long)d->min);
		return -1;
	}
	*dst = v;
	return 0;
}

static int
parse_uint(const struct token *args, size_t nargs, const struct directive *d,
           unsigned *dst, char *cause)
{
	uint64_t v;

	assert(d->max <= UINT_MAX);
	if (parse_integer(args, nargs, d, &v, cause) < 0)
		return -1;
	*dst = (unsigned)v;
	return 0;
}

static int
parse_count(const struct token *args, size_t nargs, const struct directive *d,
            uint64_t *dst, char *cause)
{
	return parse_integer(args, nargs, d, dst, cause);
}

static int
parse_bool(const struct token *args, size_t nargs, bool *dst, char *cause)
{
	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	if (strcmp(args[0].s, "on") == 0) {
		*dst = true;
	} else if (strcmp(args[0].s, "off") == 0) {
		*dst = false;
	} else {
		set_cause(cause, _("expected on or off, not '%s'"), args[0].s);
		return -1;
	}
	return 0;
}

/* Replaces *dst (the later line wins); value NULL stores NULL. */
static int
store_string(char **dst, const char *value, char *cause)
{
	char *s = NULL;

	if (value != NULL && (s = strdup(value)) == NULL) {
		set_cause(cause, "%s", _("out of memory"));
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int
parse_string(const struct token *args, size_t nargs, char **dst, char *cause)
{
	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	if (args[0].s[0] == '\0') {
		set_cause(cause, "%s", _("missing value"));
		return -1;
	}
	return store_string(dst, args[0].s, cause);
}

/* PATH or none (NULL) */
static int
parse_path(const struct token *args, size_t nargs, char **dst, char *cause)
{
	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	if (strcmp(args[0].s, "none") == 0)
		return store_string(dst, NULL, cause);
	return parse_string(args, nargs, dst, cause);
}

/* Stored canonical: it goes into Via and error pages, so ASCII only. */
static int
parse_hostname(const struct token *args, size_t nargs, char **dst, char *cause)
{
	char        name[HOSTNAME_MAX + 1];
	const char *why;

	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	if (args[0].s[0] == '.' ||
	    hostname_canonical(args[0].s, strlen(args[0].s), name, sizeof(name),
	                       &why) < 0) {
		set_cause(cause, _("'%s' is not a valid host name"), args[0].s);
		return -1;
	}
	return store_string(dst, name, cause);
}

static int
parse_forwarded_for(const struct token *args, size_t nargs,
                    enum forwarded_for *dst, char *cause)
{
	size_t i;

	if (expect_args(args, nargs, 1, 1, cause) < 0)
		return -1;
	for (i = 0;
	     i < sizeof(forwarded_for_names) / sizeof(forwarded_for_names[0]);
	     i++) {
		if (strcmp(args[0].s, forwarded_for_names[i]) == 0) {
			*dst = (enum forwarded_for)i;
			return 0;
		}
	}
	set_cause(cause,
	          _("expected on, off, transparent, delete or truncate, not "
	            "'%s'"),
	          args[0].s);
	return -1;
}

/* Decimal port 1..65535. */
static int
parse_port_number(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	for (; *s != '\0'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * One name server: IPv4[:PORT], [IPv6][:PORT] or a bare IPv6 address.
 * Stored as "1.2.3.4", "1.2.3.4:5353", "[2001:db8::1]", "[::1]:5353".
 */
static int
nameserver_canonical(const char *s, char *out, size_t outsz)
{
	char        host[INET6_ADDRSTRLEN + 1];
	char        text[INET6_ADDRSTRLEN];
	uint8_t     addr[16];
	const char *port = NULL;
	const char *colon;
	uint16_t    pnum = 0;
	size_t      hlen;
	int         family, n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		hlen = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		s++;
		family = AF_INET6;
	} else if ((colon = strchr(s, ':')) != NULL &&
	           strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
		family = AF_INET;
	} else {
		hlen = strlen(s);
		family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(family, host, addr) != 1 ||
	    inet_ntop(family, addr, text, sizeof(text)) == NULL)
		return -1;
	if (port != NULL && parse_port_number(port, &pnum) < 0)
		return -1;
	if (family == AF_INET6)
		n = port != NULL ? snprintf(out, outsz, "[%s]:%u", text, pnum)
		                 : snprintf(out, outsz, "[%s]", text);
	else
		n = port != NULL ? snprintf(out, outsz, "%s:%u", text, pnum)
		                 : snprintf(out, outsz, "%s", text);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* Appends to the list (Squid: several lines add up). */
static int
parse_nameservers(const struct token *args, size_t nargs, char ***dst,
                  char *cause)
{
	char   text[INET6_ADDRSTRLEN + 16];
	char **v = *dst;
	size_t n = 0, i;

	if (expect_args(args, nargs, 1, SIZE_MAX, cause) < 0)
		return -1;
	for (i = 0; i < nargs; i++) {
		if (nameserver_canonical(args[i].s, text, sizeof(text)) < 0) {
			set_cause(cause,
			          _("'%s' is not ADDRESS, ADDRESS:PORT or "
			            "[IPv6]:PORT"),
			          args[i].s);
			return -1;
		}
	}
	while (v != NULL && v[n] != NULL)
		n++;
	v = realloc(v, (n + nargs + 1) * sizeof(*v));
	if (v == NULL)
		goto nomem;
	*dst = v;
	for (i = 0; i < nargs; i++) {
		if (nameserver_canonical(args[i].s, text, sizeof(text)) < 0 ||
		    (v[n] = strdup(text)) == NULL) {
			v[n] = NULL;
			goto nomem;
		}
		v[++n] = NULL;
	}
	return 0;
nomem:
	set_cause(cause, "%s", _("out of memory"));
	return -1;
}

/*
 * http_port [ADDR:]PORT: ADDR is IPv4, [IPv6] or localhost.  No ADDR means
 * every address, IPv4 included ([::] without IPV6_V6ONLY); an explicit
 * [::] means IPv6 only.
 */
static int
parse_listen_addr(const char *s, struct listen_conf *l, char *cause)
{
	struct sockaddr_in  *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	char                 host[INET6_ADDRSTRLEN + 1];
	const char          *port;
	uint16_t             pnum;
	size_t               hlen;

	memset(&l->addr, 0, sizeof(l->addr));
	l->flags = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			set_cause(cause, _("'%s' is not [IPv6]:PORT"), s);
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			goto bad_addr;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		port = close + 2;
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad_addr;
		l->addrlen = sizeof(*sin6);
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			l->flags |= LISTEN_V6ONLY;
	} else if ((port = strrchr(s, ':')) != NULL) {
		hlen = (size_t)(port - s);
		port++;
		if (hlen >= sizeof(host))
			goto bad_addr;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		sin->sin_family = AF_INET;
		if (strcmp(host, "localhost") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad_addr;
		l->addrlen = sizeof(*sin);
	} else {
		port = s;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		l->addrlen = sizeof(*sin6);
	}
	if (parse_port_number(port, &pnum) < 0) {
		set_cause(cause, _("'%s' is not a port number (1-65535)"),
		          port);
		return -1;
	}
	if (l->addr.ss_family == AF_INET)
		sin->sin_port = htons(pnum);
	else
		sin6->sin6_port = htons(pnum);
	return 0;
bad_addr:
	set_cause(cause,
	          _("'%.*s' is not an IPv4 address, [IPv6] address or "
	            "localhost"),
	          (int)hlen, s[0] == '[' ? s + 1 : s);
	return -1;
}

static bool
listen_same(const struct listen_conf *a, const struct listen_conf *b)
{
	return a->addrlen == b->addrlen && a->flags == b->flags &&
	       memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

static void
listen_conf_clear(struct listen_conf *l)
{
	free(l->text);
	free(l->where);
	free(l->tls_cert);
	free(l->tls_key);
}

/* Squid's TLS version words: the wire version, 0 for none of them. */
static unsigned
tls_version_parse(const char *v)
{
	static const struct {
		const char *name;
		unsigned    version;
	} versions[] = {
		{ "1.0", 0x0301 },
		{ "1.1", 0x0302 },
		{ "1.2", 0x0303 },
		{ "1.3", 0x0304 },
	};

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(v, versions[i].name) == 0)
			return versions[i].version;
	return 0;
}

/* One option of an http_port line: NAME or NAME=VALUE. */
static int
parse_listen_option(struct listen_conf *l, const char *opt, char *cause)
{
	static const struct directive cache_size = {
		"dynamic_cert_mem_cache_size", DT_SIZE, 0, 0, UINT64_MAX,
		NULL, 0,
	};
	const char  *eq = strchr(opt, '=');
	size_t       nlen = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	const char  *v = eq != NULL ? eq + 1 : NULL;
	char       **path = NULL;
	char         val[64];
	struct token tok = { val, false };

	snprintf(val, sizeof(val), "%s", v != NULL ? v : "");
#define IS(name) (nlen == sizeof(name) - 1 && memcmp(opt, name, nlen) == 0)
	if (IS("ssl-bump") && v == NULL) {
		l->flags |= LISTEN_SSL_BUMP;
		return 0;
	}
	if ((IS("intercept") || IS("transparent")) && v == NULL) {
		l->flags |= LISTEN_INTERCEPT;
		return 0;
	}
	if (IS("require-proxy-header") && v == NULL) {
		l->flags |= LISTEN_PROXY_HEADER;
		return 0;
	}
	if (IS("tls-cert") || IS("cert"))
		path = &l->tls_cert;
	else if (IS("tls-key") || IS("key"))
		path = &l->tls_key;
	if (path != NULL && v != NULL && *v != '\0') {
		free(*path);
		if ((*path = strdup(v)) == NULL) {
			set_cause(cause, "%s", _("out of memory"));
			return -1;
		}
		return 0;
	}
	if (IS("generate-host-certificates") && v != NULL) {
		if (parse_bool(&tok, 1, &l->generate_host_certificates, cause) < 0)
			return -1;
		if (!l->generate_host_certificates) {
			set_cause(cause, "%s",
			          _("generate-host-certificates=off is not "
			            "supported: bumped connections always get "
			            "mimicked certificates"));
			return -1;
		}
		return 0;
	}
	if (IS("dynamic_cert_mem_cache_size") && v != NULL)
		return parse_size(&tok, 1, &cache_size,
		                  &l->dynamic_cert_mem_cache_size, cause);
	if (IS("tls-min-version") && v != NULL) {
		if ((l->tls_min_version = tls_version_parse(v)) == 0) {
			set_cause(cause,
			          _("tls-min-version= takes 1.0, 1.1, 1.2 or "
			            "1.3, not '%s'"),
			          v);
			return -1;
		}
		return 0;
	}
#undef IS
	if (path != NULL || eq != NULL)
		set_cause(cause, _("option '%s' needs a value, or has a bad one"),
		          opt);
	else
		set_cause(cause, _("option '%s' is not supported yet"), opt);
	return -1;
}

/*
 * The combinations this version serves: http_port for proxy clients
 * (with ssl-bump for CONNECT), http_port intercept for redirected HTTP,
 * https_port for proxy clients that speak TLS to the proxy, https_port
 * intercept ssl-bump for redirected TLS.  true if refused.
 */
static bool
listen_check_mode(struct loader *ld, const char *dname,
                  const struct listen_conf *l)
{
	bool intercept = l->flags & LISTEN_INTERCEPT;
	bool bump = l->flags & LISTEN_SSL_BUMP;

	if (l->flags & LISTEN_HTTPS) {
		if (intercept != bump) {
			/* As in Squid: ssl-bump needs intercept on https_port,
			 * and an intercepting https_port can only bump. */
			diag_error(ld, "%s",
			           bump ? _("https_port: ssl-bump needs intercept "
			                    "(TLS to the proxy itself is not "
			                    "bumped)")
			                : _("https_port: intercept needs "
			                    "ssl-bump"));
			return true;
		}
		if (!intercept && l->tls_cert == NULL) {
			diag_error(ld, "%s",
			           _("https_port: tls-cert= is required: the "
			             "proxy's own certificate"));
			return true;
		}
		return false;
	}
	if (intercept && bump) {
		diag_error(ld, _("%s: intercepted TLS needs https_port ... "
		                 "intercept ssl-bump"),
		           dname);
		return true;
	}
	if (l->tls_min_version != 0 && !bump) {
		diag_error(ld, _("%s: tls-min-version= needs ssl-bump"), dname);
		return true;
	}
	if (l->tls_cert != NULL && !bump)
		diag_warning(ld, _("%s: tls-cert= is ignored without ssl-bump"),
		             dname);
	return false;
}

static void
parse_listen(struct loader *ld, const char *dname, const struct token *args,
             size_t nargs)
{
	struct conf       *c = ld->c;
	struct listen_conf l;
	char               cause[CAUSE_MAX];
	size_t             i;
	bool               bad = false;

	if (expect_args(args, nargs, 1, SIZE_MAX, cause) < 0) {
		diag_error(ld, "%s: %s", dname, cause);
		return;
	}
	memset(&l, 0, sizeof(l));
	l.generate_host_certificates = true;
	l.dynamic_cert_mem_cache_size = MB(4);
	if (parse_listen_addr(args[0].s, &l, cause) < 0) {
		diag_error(ld, "%s: %s", dname, cause);
		return;
	}
	for (i = 1; i < nargs; i++) {
		if (parse_listen_option(&l, args[i].s, cause) < 0) {
			diag_error(ld, "%s: %s", dname, cause);
			bad = true;
		}
	}
	if (strcmp(dname, "https_port") == 0)
		l.flags |= LISTEN_HTTPS;
	if (l.tls_key != NULL && l.tls_cert == NULL && !bad) {
		diag_error(ld, _("%s: tls-key= needs tls-cert="), dname);
		bad = true;
	}
	/* As in Squid: without tls-key= the key is in the tls-cert= file. */
	if (l.tls_cert != NULL && l.tls_key == NULL && !bad &&
	    (l.tls_key = strdup(l.tls_cert)) == NULL) {
		out_of_memory(ld);
		bad = true;
	}
	if (!bad)
		bad = listen_check_mode(ld, dname, &l);
	if (bad)
		goto out;
	for (i = 0; i < c->nlisteners; i++) {
		if (listen_same(&c->listeners[i], &l)) {
			diag_error(ld,
			           _("%s: '%s' is already configured at %s"),
			           dname, args[0].s, c->listeners[i].where);
			goto out;
		}
	}
	if (array_grow((void **)&c->listeners, c->nlisteners, sizeof(l)) < 0 ||
	    (l.text = strdup(args[0].s)) == NULL ||
	    (l.where = where_now(ld)) == NULL) {
		out_of_memory(ld);
		goto out;
	}
	c->listeners[c->nlisteners++] = l;
	return;
out:
	listen_conf_clear(&l);
}

/* ACLs */

static struct acl *
find_acl(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nacls; i++)
		if (strcmp(c->acls[i]->name, name) == 0)
			return c->acls[i];
	return NULL;
}

/* A new, empty acl appended to c->acls; NULL when out of memory. */
static struct acl *
append_acl(struct conf *c, const char *name, enum acl_type type,
           bool predefined)
{
	struct acl *acl;

	if (array_grow((void **)&c->acls, c->nacls, sizeof(*c->acls)) < 0)
		return NULL;
	acl = calloc(1, sizeof(*acl));
	if (acl == NULL)
		return NULL;
	acl->name = strdup(name);
	if (acl->name == NULL) {
		free(acl);
		return NULL;
	}
	acl->type = type;
	acl->predefined = predefined;
	c->acls[c->nacls++] = acl;
	return acl;
}

/*
 * Squid's built-in ACLs (Squid 4 and later), and the ssl_error groups
 * that Squid also predefines (ssl::certHasExpired, ...).
 */
static int
predefine_acls(struct conf *c)
{
	static const char *const localhost[] = { "127.0.0.1/32", "::1", NULL };
	static const char *const to_localhost[] = { "127.0.0.0/8", "0.0.0.0/32",
		                                    "::1/128", "::/128", NULL };
	const char              *why, *name;
	struct acl              *acl;
	unsigned                 mask;
	size_t                   i;

	if (append_acl(c, "all", ACL_ALL, true) == NULL)
		return -1;
	if ((acl = append_acl(c, "localhost", ACL_SRC, true)) == NULL)
		return -1;
	for (i = 0; localhost[i] != NULL; i++)
		if (acl_add_value(acl, localhost[i], &why) < 0)
			return -1;
	if ((acl = append_acl(c, "to_localhost", ACL_DST, true)) == NULL)
		return -1;
	for (i = 0; to_localhost[i] != NULL; i++)
		if (acl_add_value(acl, to_localhost[i], &why) < 0)
			return -1;
	if (append_acl(c, "manager", ACL_MANAGER, true) == NULL)
		return -1;
	for (unsigned j = 0; (name = tls_verify_group(j, &mask)) != NULL; j++) {
		if ((acl = append_acl(c, name, ACL_SSL_ERROR, true)) == NULL)
			return -1;
		acl->u.ssl_errors = mask;
		acl->n = 1;
	}
	return 0;
}

static bool
is_acl_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= ACL_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789-_.:") == len;
}

/* Adds one value; reports at file:line. */
static void
add_acl_value(struct loader *ld, struct acl *acl, const char *value,
              const char *file, unsigned line)
{
	const char *why;
	int         rc = acl_add_value(acl, value, &why);

	if (rc < 0)
		diag_error_at(ld, file, line, _("acl %s: '%s': %s"), acl->name,
		              value, _(why));
	else if (rc > 0)
		diag_warning_at(ld, file, line, _("acl %s: '%s': %s"),
		                acl->name, value, _(why));
}

/*
 * acl NAME TYPE "FILE": the values are the words of FILE, '#' comments and
 * blank lines skipped.  Errors name the line of FILE.  Returns how many
 * values were read.
 */
static size_t
read_acl_file(struct loader *ld, struct acl *acl, const char *path)
{
	struct strbuf b = { NULL, 0, 0 };
	char         *p, *eol, *w;
	unsigned      line = 0;
	size_t        count = 0;

	if (read_file(path, &b) < 0) {
		diag_error(ld, _("acl %s: cannot read '%s': %s"), acl->name,
		           path, strerror(errno));
		free(b.p);
		return 0;
	}
	for (p = b.p; p < b.p + b.len; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(b.p + b.len - p));
		if (eol == NULL)
			eol = b.p + b.len;
		*eol = '\0';
		line++;
		if (strlen(p) != (size_t)(eol - p)) {
			diag_error_at(ld, path, line, "%s",
			              _("NUL byte in line"));
			continue;
		}
		for (w = p;;) {
			char *end;

			while (is_space(*w))
				w++;
			if (*w == '\0' || *w == '#')
				break;
			for (end = w; *end != '\0' && !is_space(*end); end++)
				continue;
			if (*end != '\0')
				*end++ = '\0';
			add_acl_value(ld, acl, w, path, line);
			count++;
			w = end;
		}
	}
	free(b.p);
	return count;
}

/* Squid's -i, +i (case) and -n (no DNS lookups): dstdomain only. */
static bool
is_acl_flag(const char *v)
{
	return strcmp(v, "-i") == 0 || strcmp(v, "+i") == 0 ||
	       strcmp(v, "-n") == 0 || strncmp(v, "--", 2) == 0;
}

/* Applies a flag of an acl line; false if the type has no such flag. */
static bool
acl_flag(struct acl *acl, const char *v)
{
	bool icase = strcmp(v, "-i") == 0, cased = strcmp(v, "+i") == 0;

	switch (acl->type) {
	case ACL_DSTDOMAIN:
		/* names are always compared ignoring case; -n: no DNS */
		return icase || cased || strcmp(v, "-n") == 0;
	case ACL_SERVER_NAME:
		return icase || cased;
	case ACL_SERVER_NAME_REGEX:
	case ACL_PROXY_AUTH:
	case ACL_PROXY_AUTH_REGEX:
		if (icase || cased)
			acl->icase = icase; /* for the values that follow */
		return icase || cased;
	default:
		return false;
	}
}

static void
parse_acl(struct loader *ld, const struct token *args, size_t nargs)
{
	const char *name, *why;
	struct acl *acl;
	size_t      i, count = 0;
	bool        flags = true;
	int         type;

	if (nargs < 2) {
		diag_error(ld, "%s", _("acl: expected NAME TYPE VALUE..."));
		return;
	}
	name = args[0].s;
	if (!is_acl_name(name)) {
		diag_error(
		        ld,
		        _("acl: '%s' is not a valid acl name (letters, digits, "
		          "'-', '_', '.', ':', at most %d)"),
		        name, ACL_NAME_MAX - 1);
		return;
	}
	acl = find_acl(ld->c, name);
	if (acl != NULL && acl->predefined) {
		diag_warning(
		        ld,
		        _("acl '%s' is predefined; this definition is ignored"),
		        name);
		return;
	}
	type = acl_type_from_name(args[1].s, &why);
	if (type < 0) {
		if (strcmp(why, "is not supported") == 0)
			diag_error(ld, _("acl type '%s' is not supported"),
			           args[1].s);
		else
			diag_error(ld, _("unknown acl type '%s'"), args[1].s);
		return;
	}
	if (acl != NULL && acl->type != (enum acl_type)type) {
		diag_error(ld, _("acl '%s' is already defined with type '%s'"),
		           name, acl_type_names[acl->type]);
		return;
	}
	if (acl == NULL && (acl = append_acl(ld->c, name, (enum acl_type)type,
	                                     false)) == NULL) {
		out_of_memory(ld);
		return;
	}
	if ((type == ACL_PROXY_AUTH || type == ACL_PROXY_AUTH_REGEX) &&
	    ld->auth_acl == NULL &&
	    ((ld->auth_acl = strdup(name)) == NULL ||
	     (ld->auth_acl_where = where_now(ld)) == NULL)) {
		out_of_memory(ld);
		return;
	}
	for (i = 2; i < nargs; i++) {
		const char *v = args[i].s;

		if (flags && !args[i].quoted && strcmp(v, "--") == 0) {
			flags = false;
			continue;
		}
		if (flags && !args[i].quoted && is_acl_flag(v)) {
			if (!acl_flag(acl, v))
				diag_error(ld,
				           _("acl %s: option '%s' is not "
				             "supported for type '%s'"),
				           name, v, acl_type_names[acl->type]);
			continue;
		}
		flags = false;
		if (args[i].quoted) {
			count += read_acl_file(ld, acl, v);
		} else {
			add_acl_value(ld, acl, v, ld->file, ld->line);
			count++;
		}
	}
	if (count == 0 && acl->type != ACL_ALL)
		diag_warning(ld,
		             _("acl '%s' has no values and matches nothing"),
		             name);
}

/* A kind of rule list: its actions, by the value each stands for. */
struct rule_kind {
	const char *const *actions;
	size_t             nactions;
	const char        *expected; /* for messages: "allow or deny" */
	unsigned           refused;  /* mask of actions not available */
};

static const char *const http_access_actions[] = {
	[ACCESS_DENY] = "deny",
	[ACCESS_ALLOW] = "allow",
};
static const struct rule_kind http_access_kind = {
	http_access_actions, 2, N_("allow or deny"), 0,
};

static const char *const ssl_bump_actions[] = {
	[BUMP_SPLICE] = "splice", [BUMP_PEEK] = "peek",
	[BUMP_STARE] = "stare",   [BUMP_BUMP] = "bump",
	[BUMP_TERMINATE] = "terminate",
};
static const struct rule_kind ssl_bump_kind = {
	ssl_bump_actions, 5, N_("peek, stare, splice, bump or terminate"),
	0,
};

static const char *const unsupported_actions[] = {
	[UNSUPPORTED_RESPOND] = "respond",
	[UNSUPPORTED_TUNNEL] = "tunnel",
};
static const struct rule_kind unsupported_kind = {
	unsupported_actions, 2, N_("tunnel or respond"), 0,
};

/* The lists that choose a route (peer or direct) before DNS. */
static bool
is_route_list(const char *dname)
{
	return strcmp(dname, "never_direct") == 0 ||
	       strcmp(dname, "always_direct") == 0 ||
	       strcmp(dname, "cache_peer_access") == 0;
}

static void access_list_clear(struct access_list *list);

/* http_access and its kind: ACTION [!]ACL... */
static void
parse_rule(struct loader *ld, const char *dname, const struct rule_kind *kind,
           const struct token *args, size_t nargs, struct access_list *list)
{
	struct access_rule rule;
	size_t             i;
	bool               bad = false;

	memset(&rule, 0, sizeof(rule));
	if (nargs == 0) {
		diag_error(ld, _("%s: expected %s"), dname, _(kind->expected));
		return;
	}
	for (i = 0; i < kind->nactions; i++)
		if (strcmp(args[0].s, kind->actions[i]) == 0)
			break;
	if (i == kind->nactions) {
		diag_error(ld, _("%s: expected %s, not '%s'"), dname,
		           _(kind->expected), args[0].s);
		return;
	}
	if (kind->refused & (1u << i)) {
		diag_error(ld, _("%s %s is not supported yet"), dname,
		           args[0].s);
		return;
	}
	rule.action = (int)i;
	if (nargs == 1) {
		diag_error(ld, _("%s: %s needs at least one acl (use 'all')"),
		           dname, args[0].s);
		return;
	}
	rule.refs = calloc(nargs - 1, sizeof(*rule.refs));
	if (rule.refs == NULL)
		goto nomem;
	for (i = 1; i < nargs; i++) {
		const char *name = args[i].s;
		bool        negate = name[0] == '!';

		if (negate)
			name++;
		rule.refs[rule.n].acl = find_acl(ld->c, name);
		rule.refs[rule.n].negate = negate;
		if (rule.refs[rule.n].acl == NULL) {
			diag_error(ld, _("%s: unknown acl '%s'"), dname, name);
			bad = true;
			continue;
		}
		if (kind == &ssl_bump_kind &&
		    rule.refs[rule.n].acl->type == ACL_DST)
			diag_warning(ld,
			             _("%s: dst acl '%s' matches only once the "
			               "server is connected (step 3)"),
			             dname, name);
		if (rule.refs[rule.n].acl->type == ACL_SSL_ERROR &&
		    strcmp(dname, "sslproxy_cert_error") != 0 &&
		    kind != &ssl_bump_kind)
			diag_warning(ld,
			             _("%s: ssl_error acl '%s' matches only in "
			               "sslproxy_cert_error and ssl_bump"),
			             dname, name);
		if (is_route_list(dname) &&
		    rule.refs[rule.n].acl->type == ACL_DST)
			diag_warning(ld,
			             _("%s: dst acl '%s' never matches here: the "
			               "route is chosen before the server's "
			               "address is known"),
			             dname, name);
		rule.n++;
	}
	if (bad) {
		free(rule.refs);
		return;
	}
	if ((rule.where = where_now(ld)) == NULL)
		goto nomem;
	if (array_grow((void **)&list->rules, list->n, sizeof(rule)) < 0) {
		free(rule.where);
		goto nomem;
	}
	list->rules[list->n++] = rule;
	return;
nomem:
	free(rule.refs);
	out_of_memory(ld);
}

/* cache_peer */

static void tls_outgoing_clear(struct tls_outgoing *t);
static void parse_tls_outgoing(struct loader *ld, const char *dname,
                               const struct token *args, size_t nargs,
                               struct tls_outgoing *t);

static void
peer_conf_clear(struct peer_conf *p)
{
	free(p->name);
	free(p->login);
	free(p->where);
	free(p->key);
	free(p->tls_domain);
	tls_outgoing_clear(&p->tls_opts);
	access_list_clear(&p->access);
}

static struct peer_conf *
find_peer(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->npeers; i++)
		if (ascii_eq_icase(c->peers[i].name, name))
			return &c->peers[i];
	return NULL;
}

/* login=USER:PASSWORD as a Basic credential (RFC 7617). */
static int
peer_basic_login(struct peer_conf *p, const char *userpass, char *cause)
{
	static const char scheme[] = "Basic ";
	size_t            len = strlen(userpass);

	if (strchr(userpass, ':') == NULL || userpass[0] == ':' ||
	    userpass[0] == '*') {
		set_cause(cause, "%s",
		          _("login= takes USER:PASSWORD or PASSTHRU "
		            "(PASS, *:PASSWORD and NEGOTIATE are not "
		            "supported yet)"));
		return -1;
	}
	if (len > 1024) {
		set_cause(cause, "%s", _("login= is too long"));
		return -1;
	}
	p->login = malloc(sizeof(scheme) - 1 + BASE64_ENCODE_RAW_LENGTH(len) + 1);
	if (p->login == NULL) {
		set_cause(cause, "%s", _("out of memory"));
		return -1;
	}
	memcpy(p->login, scheme, sizeof(scheme) - 1);
	base64_encode_raw(p->login + sizeof(scheme) - 1, len,
	                  (const uint8_t *)userpass);
	p->login[sizeof(scheme) - 1 + BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return 0;
}

/*
 * Options that only concern ICP, HTCP, cache digests or a cache, none of
 * which bascule has: accepted so that Squid's lines load unchanged.
 */
static const char *const peer_noop_options[] = {
	"no-query",     "no-digest", "no-netdb-exchange", "proxy-only",
	"no-delay",     "no-tproxy", "allow-miss",        "closest-only",
	"background-ping", NULL,
};

/* One option of a cache_peer line; *no_query is set by "no-query". */
static int
parse_peer_option(struct peer_conf *p, const char *opt, bool *no_query,
                  char *cause)
{
	static const struct directive timeout = {
		"connect-timeout", DT_DURATION, 0, SEC(1), MINUTES(10),
		NULL, 0,
	};
	static const struct directive fail_limit = {
		"connect-fail-limit", DT_COUNT, 0, 1, 1000, NULL, 0,
	};
	const char  *eq = strchr(opt, '=');
	size_t       nlen = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	const char  *v = eq != NULL ? eq + 1 : NULL;
	struct token tok = { NULL, false };

#define IS(name) (nlen == sizeof(name) - 1 && memcmp(opt, name, nlen) == 0)
	for (size_t i = 0; v == NULL && peer_noop_options[i] != NULL; i++) {
		if (strcmp(opt, peer_noop_options[i]) == 0) {
			if (IS("no-query"))
				*no_query = true;
			return 0;
		}
	}
	if (IS("default") && v == NULL) {
		p->is_default = true;
		return 0;
	}
	if (IS("name") && v != NULL && *v != '\0') {
		if (strlen(v) > HOSTNAME_MAX) {
			set_cause(cause, _("name= is longer than %d characters"),
			          HOSTNAME_MAX);
			return -1;
		}
		free(p->name);
		if ((p->name = strdup(v)) == NULL) {
			set_cause(cause, "%s", _("out of memory"));
			return -1;
		}
		return 0;
	}
	if (IS("login") && v != NULL && *v != '\0') {
		free(p->login);
		p->login = NULL;
		p->login_passthru = strcmp(v, "PASSTHRU") == 0;
		return p->login_passthru ? 0 : peer_basic_login(p, v, cause);
	}
	if (IS("connect-timeout") && v != NULL) {
		tok.s = (char *)v;
		return parse_duration(&tok, 1, &timeout, &p->connect_timeout,
		                      cause);
	}
	if (IS("connect-fail-limit") && v != NULL) {
		tok.s = (char *)v;
		return parse_count(&tok, 1, &fail_limit, &p->connect_fail_limit,
		                   cause);
	}
#undef IS
	if (eq != NULL && *v == '\0')
		set_cause(cause, _("option '%s' needs a value, or has a bad one"),
		          opt);
	else
		set_cause(cause, _("option '%s' is not supported yet"), opt);
	return -1;
}

/*
 * Squid's TLS options of a cache_peer and the tls_outgoing_options words
 * they stand for: tls-cafile= is cafile=, and so on.  The ssl* names are
 * Squid 3's.
 */
static const struct {
	const char *peer;
	const char *outgoing;
} peer_tls_options[] = {
	{ "tls-cafile", "cafile" },       { "sslcafile", "cafile" },
	{ "tls-capath", "capath" },       { "sslcapath", "capath" },
	{ "tls-min-version", "min-version" },
	{ "tls-flags", "flags" },         { "sslflags", "flags" },
	{ "tls-default-ca", "default-ca" },
	{ "tls-no-default-ca", "no-default-ca" },
	{ "tls-options", "options" },     { "ssloptions", "options" },
	{ "tls-cipher", "cipher" },       { "sslcipher", "cipher" },
	{ "tls-no-npn", "no-npn" },
};

/*
 * A TLS option of a cache_peer line: into *opts as the tls_outgoing_options
 * word it stands for (allocated), or tls-domain=.  0 if opt is one, 1 if it
 * is none, -1 on error (cause).
 */
static int
parse_peer_tls_option(struct peer_conf *p, const char *opt, char **word,
                      char *cause)
{
	const char *eq = strchr(opt, '=');
	size_t      nlen = eq != NULL ? (size_t)(eq - opt) : strlen(opt);

	*word = NULL;
#define IS(name) (nlen == sizeof(name) - 1 && memcmp(opt, name, nlen) == 0)
	if ((IS("tls") || IS("ssl")) && eq == NULL) {
		p->tls = true;
		return 0;
	}
	if ((IS("tls-domain") || IS("ssldomain")) && eq != NULL &&
	    eq[1] != '\0') {
		free(p->tls_domain);
		if ((p->tls_domain = strdup(eq + 1)) == NULL) {
			set_cause(cause, "%s", _("out of memory"));
			return -1;
		}
		return 0;
	}
	if (IS("tls-cert") || IS("tls-key") || IS("sslcert") || IS("sslkey") ||
	    IS("tls-crlfile") || IS("sslcrlfile") || IS("sslversion")) {
		set_cause(cause, _("option '%s' is not supported yet"), opt);
		return -1;
	}
#undef IS
	for (size_t i = 0;
	     i < sizeof(peer_tls_options) / sizeof(peer_tls_options[0]); i++) {
		if (strlen(peer_tls_options[i].peer) != nlen ||
		    memcmp(opt, peer_tls_options[i].peer, nlen) != 0)
			continue;
		if (asprintf(word, "%s%s", peer_tls_options[i].outgoing,
		             eq != NULL ? eq : "") < 0) {
			*word = NULL;
			set_cause(cause, "%s", _("out of memory"));
			return -1;
		}
		return 0;
	}
	return 1;
}

/* cache_peer HOST parent HTTP_PORT ICP_PORT [OPTION...] */
static void
parse_cache_peer(struct loader *ld, const struct token *args, size_t nargs)
{
	struct conf     *c = ld->c;
	struct peer_conf p;
	struct in6_addr  a6;
	const char      *host, *why = NULL;
	char             cause[CAUSE_MAX], tmp[HOSTNAME_MAX + 1];
	unsigned long    port, icp;
	char            *end;
	bool             bad = false, no_query = false;
	size_t           hlen, ntls = 0;
	struct token    *tls_words;
	const char      *first_tls = NULL;

	if (nargs < 4) {
		diag_error(ld, "%s",
		           _("cache_peer: expected HOST parent HTTP_PORT "
		             "ICP_PORT [OPTION...]"));
		return;
	}
	memset(&p, 0, sizeof(p));
	p.connect_fail_limit = 10; /* Squid's */
	host = args[0].s;
	hlen = strlen(host);
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (hlen < sizeof(tmp)) {
		memcpy(tmp, host, hlen);
		tmp[hlen] = '\0';
	}
	if (hlen < sizeof(tmp) && inet_pton(AF_INET6, tmp, &a6) == 1) {
		inet_ntop(AF_INET6, &a6, p.host, sizeof(p.host));
		p.is_ipv6 = true;
	} else if (args[0].s[0] == '[' ||
	           hostname_canonical(args[0].s, strlen(args[0].s), p.host,
	                              sizeof(p.host), &why) < 0 ||
	           p.host[0] == '.') {
		diag_error(ld, _("cache_peer: '%s' is not a host name or "
		                 "address"),
		           args[0].s);
		return;
	}
	if (strcmp(args[1].s, "parent") != 0) {
		diag_error(ld,
		           _("cache_peer: type '%s' is not supported: bascule "
		             "has no cache to share, so only parent peers"),
		           args[1].s);
		return;
	}
	errno = 0;
	port = strtoul(args[2].s, &end, 10);
	if (errno != 0 || *end != '\0' || args[2].s[0] < '0' ||
	    args[2].s[0] > '9' || port == 0 || port > 65535) {
		diag_error(ld, _("cache_peer: '%s' is not a port (1-65535)"),
		           args[2].s);
		return;
	}
	p.port = (uint16_t)port;
	icp = strtoul(args[3].s, &end, 10);
	if (*end != '\0' || args[3].s[0] < '0' || args[3].s[0] > '9' ||
	    icp > 65535) {
		diag_error(ld, _("cache_peer: '%s' is not an ICP port "
		                 "(0-65535)"),
		           args[3].s);
		return;
	}
	/* TLS to the parent: Squid's defaults are tls_outgoing_options'. */
	p.tls_opts.default_ca = true;
	p.tls_opts.min_version = 0x0303; /* RFC 8996 */
	if ((tls_words = calloc(nargs, sizeof(*tls_words))) == NULL) {
		out_of_memory(ld);
		return;
	}
	for (size_t i = 4; i < nargs; i++) {
		char *word;
		int   r = parse_peer_tls_option(&p, args[i].s, &word, cause);

		if (r == 0 && word != NULL) {
			if (ntls == 0)
				first_tls = args[i].s;
			tls_words[ntls++].s = word;
		} else if (r == 1) {
			r = parse_peer_option(&p, args[i].s, &no_query, cause);
		}
		if (r < 0) {
			diag_error(ld, "cache_peer: %s", cause);
			bad = true;
		}
	}
	if (!bad && ntls > 0 && !p.tls)
		diag_warning(ld, _("cache_peer: '%s' is ignored without tls"),
		             first_tls);
	if (!bad && ntls > 0)
		parse_tls_outgoing(ld, "cache_peer", tls_words, ntls,
		                   &p.tls_opts);
	for (size_t i = 0; i < ntls; i++)
		free(tls_words[i].s);
	free(tls_words);
	if (!bad && icp != 0 && !no_query)
		diag_warning(ld, "%s",
		             _("cache_peer: ICP is not supported: the peer is "
		               "used as with no-query"));
	if (!bad && p.name == NULL && (p.name = strdup(args[0].s)) == NULL) {
		out_of_memory(ld);
		bad = true;
	}
	if (!bad && find_peer(c, p.name) != NULL) {
		diag_error(ld, _("cache_peer: a peer named '%s' is already "
		                 "configured at %s"),
		           p.name, find_peer(c, p.name)->where);
		bad = true;
	}
	/*
	 * The key names the transport too: after a reload that adds tls, a
	 * pooled plain connection to the same address must not carry the
	 * requests (and login= credentials) meant for the TLS session.
	 */
	if (!bad && asprintf(&p.key, "peer %s %s:%u%s", p.name, p.host,
	                     (unsigned)p.port, p.tls ? " tls" : "") < 0)
		p.key = NULL; /* asprintf() leaves it undefined */
	if (!bad && (p.key == NULL || (p.where = where_now(ld)) == NULL ||
	             array_grow((void **)&c->peers, c->npeers, sizeof(p)) < 0)) {
		out_of_memory(ld);
		bad = true;
	}
	if (bad) {
		peer_conf_clear(&p);
		return;
	}
	c->peers[c->npeers++] = p;
}

/* cache_peer_access NAME allow|deny [!]ACL... */
static void
parse_cache_peer_access(struct loader *ld, const struct token *args,
                        size_t nargs)
{
	struct peer_conf *p;

	if (nargs < 2) {
		diag_error(ld, "%s",
		           _("cache_peer_access: expected NAME allow|deny "
		             "[!]ACL..."));
		return;
	}
	if ((p = find_peer(ld->c, args[0].s)) == NULL) {
		diag_error(ld, _("cache_peer_access: no cache_peer named '%s' "
		                 "above"),
		           args[0].s);
		return;
	}
	parse_rule(ld, "cache_peer_access", &http_access_kind, args + 1,
	           nargs - 1, &p->access);
}

/*
 * access_log stdio:PATH [squid] | syslog | none.  Squid writes to every
 * line up to the first "none", so lines after it are dropped with a warning.
 * daemon:PATH (Squid's default module) is taken as stdio:PATH, a bare
 * absolute PATH (Squid 2 style) too.
 */
static void
parse_access_log(struct loader *ld, const struct token *args, size_t nargs)
{
	struct conf           *c = ld->c;
	struct access_log_conf log;
	const char            *s;

	memset(&log, 0, sizeof(log));
	if (nargs == 0) {
		diag_error(ld, "%s", _("access_log: missing value"));
		return;
	}
	s = args[0].s;
	if (nargs > 2) {
		diag_error(ld,
		           _("access_log: unexpected '%s' (acls are not "
		             "supported)"),
		           args[2].s);
		return;
	}
	if (nargs == 2 && strcmp(args[1].s, "squid") != 0) {
		diag_error(ld,
		           _("access_log: log format '%s' is not supported "
		             "(only 'squid')"),
		           args[1].s);
		return;
	}
	if (strcmp(s, "none") == 0) {
		ld->access_log_seen = true;
		if (ld->access_log_none == NULL &&
		    (ld->access_log_none = where_now(ld)) == NULL)
			out_of_memory(ld);
		return;
	}
	if (strcmp(s, "syslog") == 0) {
		log.kind = ACCESS_LOG_SYSLOG;
	} else if (strncmp(s, "stdio:", 6) == 0 && s[6] != '\0') {
		log.kind = ACCESS_LOG_STDIO;
		s += 6;
	} else if (strncmp(s, "daemon:", 7) == 0 && s[7] != '\0') {
		log.kind = ACCESS_LOG_STDIO;
		s += 7;
	} else if (s[0] == '/') {
		log.kind = ACCESS_LOG_STDIO;
	} else {
		diag_error(ld,
		           _("access_log: expected stdio:PATH, syslog or none, "
		             "not '%s'"),
		           s);
		return;
	}
	ld->access_log_seen = true;
	if (ld->access_log_none != NULL) {
		diag_warning(ld,
		             _("access_log: never used after 'access_log none' "
		               "at %s"),
		             ld->access_log_none);
		return;
	}
	if (log.kind == ACCESS_LOG_STDIO && (log.path = strdup(s)) == NULL)
		goto nomem;
	if (array_grow((void **)&c->access_logs, c->naccess_logs, sizeof(log)) < 0) {
		free(log.path);
		goto nomem;
	}
	c->access_logs[c->naccess_logs++] = log;
	return;
nomem:
	out_of_memory(ld);
}

/* TLS to servers: tls_outgoing_options, sslproxy_foreign_intermediate_certs */

/*
 * A file of PEM certificates named on line: readable and parsed now, so
 * that a bad one is reported here rather than at the first connection.
 * Returns how many certificates it holds, or -1 after an error.
 */
static int
check_pem_file(struct loader *ld, const char *dname, const char *path)
{
	const char *why = NULL;
	int         n = tls_verify_pem_check(path, &why);

	if (n == -1)
		diag_error(ld, _("%s: cannot read '%s': %s"), dname, path,
		           strerror(errno));
	else if (n < -1)
		diag_error(ld,
		           _("%s: '%s' is not a file of PEM certificates: %s"),
		           dname, path, why);
	return n < 0 ? -1 : n;
}

static void
tls_outgoing_clear(struct tls_outgoing *t)
{
	for (size_t i = 0; t->cafiles != NULL && t->cafiles[i] != NULL; i++)
		free(t->cafiles[i]);
	free(t->cafiles);
	free(t->capath);
	memset(t, 0, sizeof(*t));
}

/* Squid's flags= names; those bascule does not act on, and why. */
static const struct {
	const char *name;
	int         effect; /* 0: ignored (warning); -1: refused */
} squid_tls_flags[] = {
	{ "DELAYED_AUTH", 0 },   /* https_port's */
	{ "CONDITIONAL_AUTH", 0 },
	{ "NO_SESSION_REUSE", 0 }, /* a performance choice */
	{ "VERIFY_CRL", -1 },      /* needs crlfile=, not supported */
	{ "VERIFY_CRL_ALL", -1 },
};

/*
 * flags=A[,B...] (or A:B), which replaces the flags of an earlier flags=,
 * as in Squid.
 */
static void
parse_tls_flags(struct loader *ld, const char *dname, const char *v,
                struct tls_outgoing *t)
{
	char  *copy = strdup(v), *p, *flag;
	size_t i;

	if (copy == NULL) {
		out_of_memory(ld);
		return;
	}
	t->dont_verify_peer = false;
	t->dont_verify_domain = false;
	for (p = copy; p != NULL;) {
		flag = p;
		p = strpbrk(p, ",:");
		if (p != NULL)
			*p++ = '\0';
		if (strcmp(flag, "DONT_VERIFY_PEER") == 0) {
			t->dont_verify_peer = true;
			continue;
		}
		if (strcmp(flag, "DONT_VERIFY_DOMAIN") == 0) {
			t->dont_verify_domain = true;
			continue;
		}
		if (strcmp(flag, "NO_DEFAULT_CA") == 0) {
			t->default_ca = false; /* Squid's old default-ca=off */
			continue;
		}
		for (i = 0; i < sizeof(squid_tls_flags) /
		                        sizeof(squid_tls_flags[0]);
		     i++)
			if (strcmp(flag, squid_tls_flags[i].name) == 0)
				break;
		if (i == sizeof(squid_tls_flags) / sizeof(squid_tls_flags[0]))
			diag_error(ld, _("%s: unknown flag '%s'"), dname, flag);
		else if (squid_tls_flags[i].effect < 0)
			diag_error(ld, _("%s: flag '%s' is not supported yet"),
			           dname, flag);
		else
			diag_warning(ld, _("%s: flag '%s' is ignored"), dname,
			             flag);
	}
	free(copy);
}

/*
 * sslproxy_foreign_intermediate_certs FILE | none: "zero or more"
 * certificates in Squid's words, so one without any only warns.
 */
static int
parse_pem_file(struct loader *ld, const struct directive *d,
               const struct token *args, size_t nargs, char **dst,
               char *cause)
{
	if (parse_path(args, nargs, dst, cause) < 0)
		return -1;
	if (*dst != NULL && check_pem_file(ld, d->name, *dst) == 0)
		diag_warning(ld, _("%s: '%s' holds no PEM certificate"),
		             d->name, *dst);
	return 0;
}

/* cafile=FILE, added to the list. */
static void
add_cafile(struct loader *ld, const char *dname, const char *path,
           struct tls_outgoing *t)
{
	size_t n = 0;
	char **v;
	int    certs = check_pem_file(ld, dname, path);

	if (certs < 0)
		return;
	if (certs == 0) {
		diag_error(ld, _("%s: '%s' holds no PEM certificate"), dname,
		           path);
		return;
	}
	while (t->cafiles != NULL && t->cafiles[n] != NULL)
		n++;
	v = realloc(t->cafiles, (n + 2) * sizeof(*v));
	if (v == NULL) {
		out_of_memory(ld);
		return;
	}
	t->cafiles = v;
	if ((v[n] = strdup(path)) == NULL)
		out_of_memory(ld);
	v[n + 1] = NULL;
}

/*
 * tls_outgoing_options KEY[=VALUE]...: Squid's options for its TLS to
 * servers.  Lines add up as in Squid: cafile= adds a file, the other
 * options replace what came before (the default line first).
 */
static void
parse_tls_outgoing(struct loader *ld, const char *dname,
                   const struct token *args, size_t nargs,
                   struct tls_outgoing *t)
{
	/* Squid's options that change what is trusted or sent: refused. */
	static const char *const unsupported[] = {
		"cert", "key", "crlfile", "domain", "version", NULL,
	};
	char   cause[CAUSE_MAX];
	size_t i, j;

	if (expect_args(args, nargs, 1, SIZE_MAX, cause) < 0) {
		diag_error(ld, "%s: %s", dname, cause);
		return;
	}
	for (i = 0; i < nargs; i++) {
		const char *opt = args[i].s;
		const char *eq = strchr(opt, '=');
		size_t      nlen = eq != NULL ? (size_t)(eq - opt)
		                              : strlen(opt);
		const char *v = eq != NULL ? eq + 1 : NULL;
		DIR        *dir;

#define IS(name) (nlen == sizeof(name) - 1 && memcmp(opt, name, nlen) == 0)
		if (IS("no-default-ca") && v == NULL) {
			t->default_ca = false;
			continue;
		}
		if (IS("default-ca")) {
			if (v == NULL || strcmp(v, "on") == 0)
				t->default_ca = true;
			else if (strcmp(v, "off") == 0)
				t->default_ca = false;
			else
				diag_error(ld,
				           _("%s: option '%s' needs on or off"),
				           dname, opt);
			continue;
		}
		if (IS("no-npn") && v == NULL)
			continue; /* GnuTLS has no NPN: nothing to turn off */
		for (j = 0; unsupported[j] != NULL; j++)
			if (strlen(unsupported[j]) == nlen &&
			    memcmp(opt, unsupported[j], nlen) == 0 && v != NULL)
				break;
		if (unsupported[j] != NULL || (IS("disable") && v == NULL)) {
			diag_error(ld,
			           _("%s: option '%s' is not supported yet"),
			           dname, opt);
			continue;
		}
		if (!IS("options") && !IS("cipher") && !IS("cafile") &&
		    !IS("capath") && !IS("min-version") && !IS("flags")) {
			diag_error(ld, _("%s: unknown option '%s'"), dname,
			           opt);
			continue;
		}
		if (v == NULL || *v == '\0') {
			diag_error(ld,
			           _("%s: option '%s' needs a value, or has a bad "
			             "one"),
			           dname, opt);
			continue;
		}
		if (IS("options") || IS("cipher")) {
			/* OpenSSL's words: GnuTLS has priority strings */
			diag_warning(ld,
			             _("%s: '%s' is ignored: GnuTLS's default "
			               "priorities apply"),
			             dname, opt);
		} else if (IS("cafile")) {
			add_cafile(ld, dname, v, t);
		} else if (IS("capath")) {
			if ((dir = opendir(v)) == NULL) {
				diag_error(ld, _("%s: cannot read '%s': %s"),
				           dname, v, strerror(errno));
				continue;
			}
			closedir(dir);
			if (store_string(&t->capath, v, cause) < 0)
				out_of_memory(ld);
		} else if (IS("min-version")) {
			if ((t->min_version = tls_version_parse(v)) == 0)
				diag_error(ld,
				           _("%s: min-version= takes 1.0, 1.1, "
				             "1.2 or 1.3, not '%s'"),
				           dname, v);
		} else {
			parse_tls_flags(ld, dname, v, t);
		}
#undef IS
	}
}

/* auth_param */

static void
auth_conf_clear(struct auth_conf *a)
{
	for (size_t i = 0; a->argv != NULL && a->argv[i] != NULL; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->where);
	free(a->realm);
	memset(a, 0, sizeof(*a));
}

/* Squid's defaults for basic: children 20 startup=0 idle=1, 2 hours. */
static int
auth_conf_defaults(struct auth_conf *a)
{
	a->children = 20;
	a->startup = 0;
	a->idle = 1;
	a->concurrency = 0;
	a->queue_size = 2 * a->children;
	a->credentialsttl = HOURS(2);
	a->realm = strdup("Squid proxy-caching web server");
	return a->realm != NULL ? 0 : -1;
}

/* A decimal number in [lo, hi] into *out: 0, or -1. */
static int
auth_number(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v;
	char         *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * children N [startup=N] [idle=N] [concurrency=N] [queue-size=N]
 * [on-persistent-overload=ERR|die] [reservation-timeout=N], as Squid.
 */
static void
parse_auth_children(struct loader *ld, struct auth_conf *a,
                    const struct token *args, size_t nargs)
{
	unsigned n, v;
	bool     queue_set = false;

	if (nargs == 0 ||
	    auth_number(args[0].s, 1, AUTH_CHILDREN_MAX, &n) < 0) {
		diag_error(ld,
		           _("auth_param basic children: '%s' is not a number "
		             "of helpers from 1 to %d"),
		           nargs > 0 ? args[0].s : "", AUTH_CHILDREN_MAX);
		return;
	}
	a->children = n;
	for (size_t i = 1; i < nargs; i++) {
		const char *o = args[i].s, *eq = strchr(o, '=');
		const char *val = eq != NULL ? eq + 1 : "";
		size_t      olen = eq != NULL ? (size_t)(eq - o) : strlen(o);

#define IS(name) (olen == sizeof(name) - 1 && memcmp(o, name, olen) == 0)
		if (IS("startup") && auth_number(val, 0, UINT_MAX, &v) == 0) {
			a->startup = v;
		} else if (IS("idle") &&
		           auth_number(val, 0, UINT_MAX, &v) == 0) {
			if (v == 0)
				diag_warning(
				        ld, "%s",
				        _("auth_param basic children: idle=0 "
				          "is taken as idle=1, as Squid does"));
			a->idle = v > 0 ? v : 1;
		} else if (IS("concurrency") &&
		           auth_number(val, 0, AUTH_CONCURRENCY_MAX, &v) == 0) {
			a->concurrency = v;
		} else if (IS("queue-size") &&
		           auth_number(val, 0, AUTH_QUEUE_MAX, &v) == 0) {
			a->queue_size = v;
			queue_set = true;
		} else if (IS("on-persistent-overload") &&
		           (strcmp(val, "ERR") == 0 ||
		            strcmp(val, "die") == 0)) {
			if (strcmp(val, "die") == 0)
				diag_warning(ld, "%s",
				             _("auth_param basic children: "
				               "on-persistent-overload=die is "
				               "ignored: an overloaded queue "
				               "answers as ERR"));
		} else if (IS("reservation-timeout") &&
		           auth_number(val, 0, UINT_MAX, &v) == 0) {
			diag_warning(ld, "%s",
			             _("auth_param basic children: "
			               "reservation-timeout= is ignored: it "
			               "concerns NTLM and Negotiate"));
		} else if (IS("startup") || IS("idle") || IS("concurrency") ||
		           IS("queue-size") || IS("on-persistent-overload") ||
		           IS("reservation-timeout")) {
			diag_error(ld,
			           _("auth_param basic children: bad value in "
			             "'%s'"),
			           o);
		} else {
			diag_error(ld,
			           _("auth_param basic children: unknown "
			             "option '%s'"),
			           o);
		}
#undef IS
	}
	if (a->startup > n) {
		diag_warning(ld,
		             _("auth_param basic children: startup=%u is more "
		               "than %u: %u are started"),
		             a->startup, n, n);
		a->startup = n;
	}
	if (a->idle > n)
		a->idle = n;
	if (!queue_set)
		a->queue_size = 2 * n; /* Squid's default */
}

/*
 * auth_param basic program|realm|children|credentialsttl|... as Squid
 * reads it.  Other schemes are Squid's too, but bascule offers Basic only:
 * their lines are ignored with a warning.
 */
static void
parse_auth_param(struct loader *ld, const struct token *args, size_t nargs,
                 struct auth_conf *a)
{
	static const struct directive ttl = {
		"credentialsttl", DT_DURATION, 0, 0, DAYS(365), NULL, 0,
	};
	static const char *const schemes[] = { "digest", "ntlm", "negotiate" };
	const char              *param;
	char                     cause[CAUSE_MAX];
	bool                     flag;

	if (nargs < 2) {
		diag_error(
		        ld, "%s",
		        _("auth_param: expected SCHEME PARAMETER [VALUE...]"));
		return;
	}
	if (!ascii_eq_icase(args[0].s, "basic")) {
		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]);
		     i++) {
			if (ascii_eq_icase(args[0].s, schemes[i])) {
				diag_warning(ld,
				             _("auth_param %s: only the basic "
				               "scheme is supported: line "
				               "ignored"),
				             args[0].s);
				return;
			}
		}
		diag_error(ld, _("auth_param: unknown scheme '%s'"), args[0].s);
		return;
	}
	param = args[1].s;
	args += 2;
	nargs -= 2;
	if (strcmp(param, "program") == 0) {
		char **argv;

		if (nargs == 0) {
			diag_error(ld, "%s",
			           _("auth_param basic program: expected a "
			             "command"));
			return;
		}
		if (access(args[0].s, X_OK) < 0) {
			diag_error(ld, _("auth_param basic program: '%s': %s"),
			           args[0].s, strerror(errno));
			return;
		}
		if ((argv = calloc(nargs + 1, sizeof(*argv))) == NULL) {
			out_of_memory(ld);
			return;
		}
		for (size_t i = 0; i < nargs; i++) {
			if ((argv[i] = strdup(args[i].s)) == NULL) {
				for (size_t j = 0; j < i; j++)
					free(argv[j]);
				free(argv);
				out_of_memory(ld);
				return;
			}
		}
		for (size_t i = 0; a->argv != NULL && a->argv[i] != NULL; i++)
			free(a->argv[i]);
		free(a->argv);
		a->argv = argv;
		free(a->where);
		if ((a->where = where_now(ld)) == NULL)
			out_of_memory(ld);
	} else if (strcmp(param, "realm") == 0) {
		struct strbuf b = { NULL, 0, 0 };

		if (nargs == 0) {
			diag_error(
			        ld, "%s",
			        _("auth_param basic realm: expected a text"));
			return;
		}
		/* The rest of the line, as Squid takes it. */
		for (size_t i = 0; i < nargs; i++) {
			const char *w = args[i].s;

			if ((i > 0 && strbuf_append(&b, " ", 1) < 0) ||
			    strbuf_append(&b, w, strlen(w)) < 0) {
				free(b.p);
				out_of_memory(ld);
				return;
			}
		}
		for (size_t i = 0; i < b.len; i++) {
			if ((unsigned char)b.p[i] < 0x20 || b.p[i] == 0x7f) {
				diag_error(ld, "%s",
				           _("auth_param basic realm: control "
				             "character in the text"));
				free(b.p);
				return;
			}
		}
		if (b.len > 256) {
			diag_error(ld, "%s",
			           _("auth_param basic realm: longer than 256 "
			             "bytes"));
			free(b.p);
			return;
		}
		free(a->realm);
		a->realm = b.p;
	} else if (strcmp(param, "children") == 0) {
		parse_auth_children(ld, a, args, nargs);
	} else if (strcmp(param, "credentialsttl") == 0) {
		if (parse_duration(args, nargs, &ttl, &a->credentialsttl,
		                   cause) < 0)
			diag_error(ld, "auth_param basic credentialsttl: %s",
			           cause);
	} else if (strcmp(param, "concurrency") == 0) {
		/* Squid 2.6 to 3.1: children's concurrency= since */
		if (nargs != 1 ||
		    auth_number(args[0].s, 0, AUTH_CONCURRENCY_MAX,
		                &a->concurrency) < 0)
			diag_error(ld,
			           _("auth_param basic concurrency: expected a "
			             "number from 0 to %d"),
			           AUTH_CONCURRENCY_MAX);
	} else if (strcmp(param, "casesensitive") == 0 ||
	           strcmp(param, "utf8") == 0 ||
	           strcmp(param, "keep_alive") == 0) {
		if (parse_bool(args, nargs, &flag, cause) < 0) {
			diag_error(ld, "auth_param basic %s: %s", param, cause);
			return;
		}
		diag_warning(ld,
		             _("auth_param basic %s is ignored: bascule sends "
		               "the credentials as the client sent them"),
		             param);
	} else if (strcmp(param, "key_extras") == 0) {
		diag_warning(ld, "%s",
		             _("auth_param basic key_extras is ignored: the "
		               "helper is sent the user name and password "
		               "only"));
	} else {
		diag_error(ld, _("auth_param basic: unknown parameter '%s'"),
		           param);
	}
}

/* Reading files */

static void load_text(struct loader *ld, const char *text, size_t len);

/*
 * Reads path, the main file or an include.  Problems opening it are
 * reported at the including line, or as "FILE: reason" for the main file.
 */
static void
load_file(struct loader *ld, const char *path, bool is_main)
{
	struct strbuf b = { NULL, 0, 0 };
	const char   *saved_file = ld->file;
	unsigned      saved_line = ld->line;
	char         *real;
	size_t        i;

	if (ld->depth >= INCLUDE_DEPTH_MAX + 1) {
		diag_error(
		        ld,
		        _("include: '%s': includes nested more than %d deep"),
		        path, INCLUDE_DEPTH_MAX);
		return;
	}
	real = realpath(path, NULL);
	if (real == NULL || read_file(real, &b) < 0) {
		if (is_main)
			diag_add(ld->diag, true, "%s: %s", path,
			         strerror(errno));
		else
			diag_error(ld, _("include: cannot read '%s': %s"), path,
			           strerror(errno));
		free(real);
		free(b.p);
		return;
	}
	for (i = 0; i < ld->depth; i++) {
		if (strcmp(ld->stack[i], real) == 0) {
			diag_error(ld,
			           _("include: '%s' is already being read "
			             "(include loop)"),
			           path);
			free(real);
			free(b.p);
			return;
		}
	}
	ld->stack[ld->depth++] = real;
	ld->file = path;
	ld->line = 0;
	load_text(ld, b.p, b.len);
	ld->file = saved_file;
	ld->line = saved_line;
	free(ld->stack[--ld->depth]);
	free(b.p);
}

/* A directory that does not exist holds no match; other errors count. */
static int
glob_error_cb(const char *path, int err)
{
	(void)path;
	return err != ENOENT && err != ENOTDIR;
}

/*
 * include PATTERN...: each pattern is a file or a glob(7) pattern, taken
 * relative to the current directory as Squid does.  A pattern with
 * wildcards that matches nothing includes nothing (an empty conf.d is
 * fine); a plain name that does not exist is an error.
 */
static void
parse_include(struct loader *ld, const struct token *args, size_t nargs)
{
	glob_t gl;
	size_t i, j;
	int    rc;

	if (nargs == 0) {
		diag_error(ld, "%s", _("include: missing file name"));
		return;
	}
	for (i = 0; i < nargs; i++) {
		const char *pattern = args[i].s;

		if (strpbrk(pattern, "*?[") == NULL) {
			load_file(ld, pattern, false);
			continue;
		}
		memset(&gl, 0, sizeof(gl));
		rc = glob(pattern, 0, glob_error_cb, &gl);
		if (rc == GLOB_NOSPACE) {
			out_of_memory(ld);
		} else if (rc == GLOB_ABORTED) {
			diag_error(ld,
			           _("include: cannot read the directories of "
			             "'%s'"),
			           pattern);
		} else if (rc == 0) {
			/* glob() sorts: files are read in name order */
			for (j = 0; j < gl.gl_pathc; j++)
				load_file(ld, gl.gl_pathv[j], false);
		}
		globfree(&gl);
	}
}

static const struct directive *
directive_find(const char *name)
{
	size_t i;

	for (i = 0; i < NDIRECTIVES; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

/* Runs one directive: the typed parser for d->type on its field. */
static void
directive_run(struct loader *ld, const struct directive *d,
              const struct token *args, size_t nargs)
{
	char  cause[CAUSE_MAX];
	char *field = (char *)ld->c + d->offset;
	int   rc = 0;

	cause[0] = '\0';
	switch (d->type) {
	case DT_DURATION:
		rc = parse_duration(args, nargs, d, (uint64_t *)field, cause);
		break;
	case DT_SIZE:
		rc = parse_size(args, nargs, d, (uint64_t *)field, cause);
		break;
	case DT_UINT:
		rc = parse_uint(args, nargs, d, (unsigned *)field, cause);
		break;
	case DT_COUNT:
		rc = parse_count(args, nargs, d, (uint64_t *)field, cause);
		break;
	case DT_BOOL:
		rc = parse_bool(args, nargs, (bool *)field, cause);
		break;
	case DT_STRING:
		rc = parse_string(args, nargs, (char **)field, cause);
		break;
	case DT_PATH:
		rc = parse_path(args, nargs, (char **)field, cause);
		break;
	case DT_PEM_FILE:
		rc = parse_pem_file(ld, d, args, nargs, (char **)field, cause);
		break;
	case DT_HOSTNAME:
		rc = parse_hostname(args, nargs, (char **)field, cause);
		break;
	case DT_FORWARDED_FOR:
		rc = parse_forwarded_for(args, nargs,
		                         (enum forwarded_for *)field, cause);
		break;
	case DT_NAMESERVERS:
		rc = parse_nameservers(args, nargs, (char ***)field, cause);
		break;
	case DT_LISTEN:
		parse_listen(ld, d->name, args, nargs);
		break;
	case DT_ACL:
		parse_acl(ld, args, nargs);
		break;
	case DT_ACCESS:
		parse_rule(ld, d->name, &http_access_kind, args, nargs,
		           (struct access_list *)field);
		break;
	case DT_SSL_BUMP:
		parse_rule(ld, d->name, &ssl_bump_kind, args, nargs,
		           (struct access_list *)field);
		break;
	case DT_UNSUPPORTED:
		parse_rule(ld, d->name, &unsupported_kind, args, nargs,
		           (struct access_list *)field);
		break;
	case DT_ACCESS_LOG:
		parse_access_log(ld, args, nargs);
		break;
	case DT_PEER:
		parse_cache_peer(ld, args, nargs);
		break;
	case DT_PEER_ACCESS:
		parse_cache_peer_access(ld, args, nargs);
		break;
	case DT_TLS_OUTGOING:
		parse_tls_outgoing(ld, d->name, args, nargs,
		                   (struct tls_outgoing *)field);
		break;
	case DT_AUTH_PARAM:
		parse_auth_param(ld, args, nargs, (struct auth_conf *)field);
		break;
	case DT_INCLUDE:
		parse_include(ld, args, nargs);
		break;
	case DT_IGNORED:
		diag_warning(ld, _("directive '%s' is ignored by bascule"),
		             d->name);
		break;
	}
	if (rc < 0)
		diag_error(ld, "%s: %s", d->name, cause);
}

/*
 * Splits a logical line into words in place.  '#' at the start of a word
 * starts a comment; "..." is one word (quoted), without the quotes.
 * Returns the number of words, or -1 after reporting an error.
 */
static ssize_t
tokenize(struct loader *ld, char *s, struct token **tokens)
{
	struct token *t = NULL;
	size_t        n = 0;

	for (;;) {
		bool  quoted = false;
		char *start;

		while (is_space(*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (*s == '"') {
			char *close = strchr(s + 1, '"');

			if (close == NULL) {
				diag_error(ld, "%s",
				           _("unterminated quoted string"));
				goto fail;
			}
			if (close[1] != '\0' && !is_space(close[1])) {
				diag_error(
				        ld, "%s",
				        _("text right after a closing quote"));
				goto fail;
			}
			start = s + 1;
			*close = '\0';
			s = close[1] != '\0' ? close + 2 : close + 1;
			quoted = true;
		} else {
			start = s;
			while (*s != '\0' && !is_space(*s))
				s++;
			if (*s != '\0')
				*s++ = '\0';
		}
		if (array_grow((void **)&t, n, sizeof(*t)) < 0) {
			out_of_memory(ld);
			goto fail;
		}
		t[n].s = start;
		t[n].quoted = quoted;
		n++;
	}
	*tokens = t;
	return (ssize_t)n;
fail:
	free(t);
	*tokens = NULL;
	return -1;
}

static void
load_line(struct loader *ld, char *s)
{
	const struct directive *d;
	struct token           *t;
	ssize_t                 n;

	n = tokenize(ld, s, &t);
	if (n <= 0) {
		free(t);
		return;
	}
	d = t[0].quoted ? NULL : directive_find(t[0].s);
	if (d == NULL)
		diag_error(ld, _("unknown directive '%s'"), t[0].s);
	else
		directive_run(ld, d, t + 1, (size_t)n - 1);
	free(t);
}

/* A line that holds only a comment is never continued by a backslash. */
static bool
is_comment_line(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_space(p[i]))
		i++;
	return i < len && p[i] == '#';
}

/*
 * Splits text into logical lines: a line ending in a backslash continues
 * on the next, joined without the backslash (as Squid does).  Messages
 * name the first physical line of a directive.
 */
static void
load_text(struct loader *ld, const char *text, size_t len)
{
	struct strbuf line = { NULL, 0, 0 };
	const char   *p = text, *end = text + len;
	unsigned      lineno = 0, first = 0;
	bool          continued = false;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol != NULL ? eol + 1 : end;
		size_t      n = (size_t)((eol != NULL ? eol : end) - p);

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (!continued) {
			line.len = 0;
			first = lineno;
			if (is_comment_line(p, n)) {
				p = next;
				continue;
			}
		}
		if (memchr(p, '\0', n) != NULL) {
			ld->line = lineno;
			diag_error(ld, "%s", _("NUL byte in line"));
			continued = false;
			p = next;
			continue;
		}
		continued = n > 0 && p[n - 1] == '\\';
		if (strbuf_append(&line, p, continued ? n - 1 : n) < 0) {
			ld->line = lineno;
			out_of_memory(ld);
			break;
		}
		if (!continued) {
			ld->line = first;
			load_line(ld, line.p);
		}
		p = next;
	}
	if (continued) { /* backslash on the last line: nothing follows */
		ld->line = first;
		load_line(ld, line.p);
	}
	free(line.p);
}

/* Generations */

static void
access_list_clear(struct access_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->rules[i].refs);
		free(list->rules[i].where);
	}
	free(list->rules);
	list->rules = NULL;
	list->n = 0;
}

static void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nlisteners; i++)
		listen_conf_clear(&c->listeners[i]);
	free(c->listeners);
	access_list_clear(&c->http_access);
	access_list_clear(&c->proxy_protocol_access);
	access_list_clear(&c->ssl_bump);
	access_list_clear(&c->on_unsupported_protocol);
	access_list_clear(&c->sslproxy_cert_error);
	tls_outgoing_clear(&c->tls_outgoing);
	auth_conf_clear(&c->auth);
	free(c->sslproxy_foreign_intermediate_certs);
	for (i = 0; i < c->npeers; i++)
		peer_conf_clear(&c->peers[i]);
	free(c->peers);
	access_list_clear(&c->never_direct);
	access_list_clear(&c->always_direct);
	for (i = 0; i < c->nacls; i++) {
		acl_clear(c->acls[i]);
		free(c->acls[i]);
	}
	free(c->acls);
	for (i = 0; i < c->naccess_logs; i++)
		free(c->access_logs[i].path);
	free(c->access_logs);
	for (i = 0; c->dns_nameservers != NULL && c->dns_nameservers[i]; i++)
		free(c->dns_nameservers[i]);
	free(c->dns_nameservers);
	free(c->pid_filename);
	free(c->cache_effective_user);
	free(c->hosts_file);
	free(c->visible_hostname);
	free(c->path);
	free(c);
}

/* Parses each directive's default as if it were a line of a file. */
static void
apply_defaults(struct loader *ld)
{
	char   buf[128];
	size_t i;
	int    n;

	ld->file = _("(built-in default)");
	for (i = 0; i < NDIRECTIVES; i++) {
		if (directives[i].def == NULL)
			continue;
		n = snprintf(buf, sizeof(buf), "%s %s", directives[i].name,
		             directives[i].def);
		assert(n > 0 && (size_t)n < sizeof(buf));
		if (n < 0 || (size_t)n >= sizeof(buf))
			continue;
		ld->line = 0;
		load_line(ld, buf);
	}
}

/*
 * Bumping and staring need the port's CA; peeking and splicing do not, so
 * an ssl-bump port without one is fine until a rule would bump there.
 */
static void
check_bump_ca(struct loader *ld)
{
	const struct conf *c = ld->c;

	for (size_t i = 0; i < c->ssl_bump.n; i++) {
		const struct access_rule *r = &c->ssl_bump.rules[i];

		if (r->action != BUMP_BUMP && r->action != BUMP_STARE)
			continue;
		for (size_t j = 0; j < c->nlisteners; j++) {
			const struct listen_conf *l = &c->listeners[j];

			if ((l->flags & LISTEN_SSL_BUMP) && l->tls_cert == NULL)
				diag_add(ld->diag, false,
				         _("%s: ssl_bump %s: %s has no tls-cert= "
				           "and tls-key=: its connections are "
				           "terminated instead"),
				         r->where, r->action == BUMP_BUMP
				                           ? "bump"
				                           : "stare",
				         l->text);
		}
		return; /* once is enough */
	}
}

/* What every loaded file needs once all lines are in. */
static void
finish(struct loader *ld, const char *name)
{
	struct conf *c = ld->c;
	size_t       i;

	ld->file = name;
	ld->line = 0;
	if (c->nlisteners == 0)
		diag_add(ld->diag, true, "%s: %s", name,
		         _("no http_port configured"));
	check_bump_ca(ld);
	/* Squid: "ERROR: Invalid ACL" (it wants auth_param above the acl) */
	if (ld->auth_acl != NULL && c->auth.argv == NULL)
		diag_add(ld->diag, true,
		         _("%s: acl %s: invalid acl: proxy_auth needs "
		           "'auth_param basic program'"),
		         ld->auth_acl_where, ld->auth_acl);
	if (!ld->access_log_seen) {
		const char *def = LOCALSTATEDIR "/log/bascule/access.log";

		c->access_logs = calloc(1, sizeof(*c->access_logs));
		if (c->access_logs == NULL ||
		    (c->access_logs[0].path = strdup(def)) == NULL) {
			out_of_memory(ld);
		} else {
			c->access_logs[0].kind = ACCESS_LOG_STDIO;
			c->naccess_logs = 1;
		}
	}
	for (i = 0; i < c->nacls; i++)
		acl_finish(c->acls[i]);
}

/* Either loads the file path, or the text under the name path. */
static struct conf *
load(const char *path, const char *text, struct conf_diag *diag)
{
	struct loader ld;
	size_t        errors = diag->nerrors;

	memset(&ld, 0, sizeof(ld));
	ld.diag = diag;
	ld.file = path;
	ld.c = calloc(1, sizeof(*ld.c));
	if (ld.c == NULL) {
		diag_add(diag, true, "%s: %s", path, _("out of memory"));
		return NULL;
	}
	ld.c->refs = 1;
	if ((ld.c->path = strdup(path)) == NULL || predefine_acls(ld.c) < 0 ||
	    auth_conf_defaults(&ld.c->auth) < 0) {
		diag_add(diag, true, "%s: %s", path, _("out of memory"));
		conf_free(ld.c);
		return NULL;
	}
	apply_defaults(&ld);
	ld.file = path;
	if (text == NULL) {
		load_file(&ld, path, true);
	} else {
		ld.line = 0;
		load_text(&ld, text, strlen(text));
	}
	finish(&ld, path);
	free(ld.access_log_none);
	free(ld.auth_acl);
	free(ld.auth_acl_where);
	if (diag->nerrors > errors || ld.oom) {
		conf_free(ld.c);
		return NULL;
	}
	return ld.c;
}

struct conf *
conf_load(const char *path, struct conf_diag *diag)
{
	return load(path, NULL, diag);
}

struct conf *
conf_load_string(const char *name, const char *text, struct conf_diag *diag)
{
	return load(name, text, diag);
}

struct conf *
conf_ref(struct conf *c)
{
	c->refs++;
	return c;
}

void
conf_unref(struct conf *c)
{
	if (c == NULL)
		return;
	assert(c->refs > 0);
	if (--c->refs == 0)
		conf_free(c);
}

void
conf_diag_clear(struct conf_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	d->v = NULL;
	d->n = 0;
	d->nerrors = 0;
}

/* Reload */

static bool
string_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
directive_same(const struct directive *d, const struct conf *a,
               const struct conf *b)
{
	const char *fa = (const char *)a + d->offset;
	const char *fb = (const char *)b + d->offset;
	size_t      i;

	switch (d->type) {
	case DT_LISTEN:
		if (a->nlisteners != b->nlisteners)
			return false;
		for (i = 0; i < a->nlisteners; i++)
			if (!listen_same(&a->listeners[i], &b->listeners[i]))
				return false;
		return true;
	case DT_UINT:
		return *(const unsigned *)fa == *(const unsigned *)fb;
	case DT_COUNT:
	case DT_DURATION:
	case DT_SIZE:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	case DT_STRING:
	case DT_PATH:
	case DT_PEM_FILE:
	case DT_HOSTNAME:
		return string_same(*(char *const *)fa, *(char *const *)fb);
	case DT_BOOL:
	case DT_FORWARDED_FOR:
	case DT_NAMESERVERS:
	case DT_ACL:
	case DT_ACCESS:
	case DT_SSL_BUMP:
	case DT_UNSUPPORTED:
	case DT_ACCESS_LOG:
	case DT_PEER:
	case DT_PEER_ACCESS:
	case DT_TLS_OUTGOING:
	case DT_AUTH_PARAM:
	case DT_INCLUDE:
	case DT_IGNORED:
		break;
	}
	assert(!"DIR_RESTART on a type that cannot be compared");
	return true;
}

/* A copy of the strings of l into l itself; -1 on ENOMEM (l cleared). */
static int
listen_conf_dup(struct listen_conf *l)
{
	char **s[] = { &l->text, &l->where, &l->tls_cert, &l->tls_key };
	bool   bad = false;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (*s[i] != NULL && (*s[i] = strdup(*s[i])) == NULL)
			bad = true;
	if (bad) {
		/* strdup() left NULL where it failed, a copy elsewhere */
		listen_conf_clear(l);
		memset(l, 0, sizeof(*l));
	}
	return bad ? -1 : 0;
}

int
conf_keep_listeners(struct conf *new, const struct conf *old)
{
	struct listen_conf *copy;
	bool                same = new->nlisteners == old->nlisteners;

	for (size_t i = 0; same && i < old->nlisteners; i++)
		same = listen_same(&new->listeners[i], &old->listeners[i]);
	if (same)
		return 0; /* new's lines: renewed certificates are read */
	if ((copy = calloc(old->nlisteners + 1, sizeof(*copy))) == NULL)
		return -1;
	for (size_t i = 0; i < old->nlisteners; i++) {
		copy[i] = old->listeners[i];
		if (listen_conf_dup(&copy[i]) < 0) {
			while (i-- > 0)
				listen_conf_clear(&copy[i]);
			free(copy);
			return -1;
		}
	}
	for (size_t i = 0; i < new->nlisteners; i++)
		listen_conf_clear(&new->listeners[i]);
	free(new->listeners);
	new->listeners = copy;
	new->nlisteners = old->nlisteners;
	return 0;
}

size_t
conf_restart_needed(const struct conf *old, const struct conf *new,
                    struct conf_diag  *diag)
{
	size_t i, n = 0;

	for (i = 0; i < NDIRECTIVES; i++) {
		const struct directive *d = &directives[i];

		if (!(d->flags & DIR_RESTART) || directive_same(d, old, new))
			continue;
		diag_add(diag, false,
		         _("%s: %s cannot change on reload; the running value "
		           "stays until bascule is restarted"),
		         new->path, d->name);
		n++;
	}
	return n;
}
