#include "config.h"

/*
 * conf: every directive (valid, bad, out of range, default), includes,
 * ACL files, diagnostics with file and line, Squid's default ACL block, the
 * shipped bascule.conf, reload checks.  Fixtures are in $srcdir/data/conf.
 */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "conf.h"
#include "tap.h"

/* "$srcdir/rel" (srcdir defaults to "."). */
static const char *
src_path(const char *rel, char *buf, size_t size)
{
	const char *srcdir = getenv("srcdir");
	int         n;

	n = snprintf(buf, size, "%s/%s", srcdir != NULL ? srcdir : ".", rel);
	if (n < 0 || (size_t)n >= size)
		abort();
	return buf;
}

/* "$TMPDIR/name" (TMPDIR defaults to /tmp), for mkdtemp/mkstemp. */
static char *
tmp_path(const char *name, char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	int         n;

	n = snprintf(buf, size, "%s/%s", tmp != NULL && *tmp ? tmp : "/tmp",
	             name);
	if (n < 0 || (size_t)n >= size)
		abort();
	return buf;
}

/* Loads "http_port 3130" + line from a string named test.conf. */
static struct conf *
load_line(const char *line, struct conf_diag *d)
{
	char text[1024];
	int  n;

	n = snprintf(text, sizeof(text), "http_port 3130\n%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	return conf_load_string("test.conf", text, d);
}

static size_t
count_warnings(const struct conf_diag *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += !d->v[i].is_error;
	return n;
}

/* The i-th error's text, or "" */
static const char *
error_text(const struct conf_diag *d, size_t i)
{
	size_t j;

	for (j = 0; j < d->n; j++)
		if (d->v[j].is_error && i-- == 0)
			return d->v[j].text;
	return "";
}

static bool
has_message(const struct conf_diag *d, bool is_error, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].is_error == is_error &&
		    strstr(d->v[i].text, text) != NULL)
			return true;
	return false;
}

/* Some diagnostic ends with suffix. */
static bool
has_suffix_message(const struct conf_diag *d, const char *suffix)
{
	size_t i, n = strlen(suffix);

	for (i = 0; i < d->n; i++) {
		size_t len = strlen(d->v[i].text);

		if (len >= n && strcmp(d->v[i].text + len - n, suffix) == 0)
			return true;
	}
	return false;
}

/* s with newlines shown as "\n", for test names (TAP is line-based). */
static const char *
oneline(const char *s)
{
	static char buf[512];
	size_t      i = 0;

	for (; *s != '\0' && i + 3 < sizeof(buf); s++) {
		if (*s == '\n') {
			buf[i++] = '\\';
			buf[i++] = 'n';
		} else {
			buf[i++] = *s;
		}
	}
	buf[i] = '\0';
	return buf;
}

/* The acl called name, or NULL. */
static const struct acl *
acl_named(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nacls; i++)
		if (strcmp(c->acls[i]->name, name) == 0)
			return c->acls[i];
	return NULL;
}

static void
dump(const struct conf_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		printf("# %s: %s\n", d->v[i].is_error ? "error" : "warning",
		       d->v[i].text);
}

/* Scalar fields, by name, for the directive table */
enum field {
	F_CONNECT_TIMEOUT = 0,
	F_READ_TIMEOUT,
	F_REQUEST_TIMEOUT,
	F_CLIENT_IDLE,
	F_SERVER_IDLE,
	F_CLIENT_LIFETIME,
	F_SHUTDOWN_LIFETIME,
	F_HEADER_MAX,
	F_MAX_FDS,
	F_WORKERS,
	F_VIA,
	F_FORWARDED_FOR,
	F_PID,
	F_HOSTS,
	F_USER,
	F_VISIBLE,
	F_NFIELDS,
};

static uint64_t
num_field(const struct conf *c, enum field f)
{
	switch (f) {
	case F_CONNECT_TIMEOUT:
		return c->connect_timeout;
	case F_READ_TIMEOUT:
		return c->read_timeout;
	case F_REQUEST_TIMEOUT:
		return c->request_timeout;
	case F_CLIENT_IDLE:
		return c->client_idle_pconn_timeout;
	case F_SERVER_IDLE:
		return c->server_idle_pconn_timeout;
	case F_CLIENT_LIFETIME:
		return c->client_lifetime;
	case F_SHUTDOWN_LIFETIME:
		return c->shutdown_lifetime;
	case F_HEADER_MAX:
		return c->request_header_max_size;
	case F_MAX_FDS:
		return c->max_filedescriptors;
	case F_WORKERS:
		return c->workers;
	case F_VIA:
		return c->via;
	case F_FORWARDED_FOR:
		return c->forwarded_for;
	default:
		abort();
	}
}

static const char *
str_field(const struct conf *c, enum field f)
{
	switch (f) {
	case F_PID:
		return c->pid_filename;
	case F_HOSTS:
		return c->hosts_file;
	case F_USER:
		return c->cache_effective_user;
	case F_VISIBLE:
		return c->visible_hostname;
	default:
		abort();
	}
}

static bool
is_str_field(enum field f)
{
	return f >= F_PID;
}

/* clang-format off */
#define SEC(n)  ((uint64_t)(n) * 1000)
#define MINS(n) SEC((uint64_t)(n) * 60)
#define HOUR(n) MINS((uint64_t)(n) * 60)
#define DAY(n)  HOUR((uint64_t)(n) * 24)
/* clang-format on */

static const struct {
	enum field  f;
	uint64_t    num;
	const char *str; /* NULL for NULL */
} defaults[] = {
	{ F_CONNECT_TIMEOUT, SEC(30), NULL },
	{ F_REQUEST_TIMEOUT, MINS(5), NULL },
	{ F_READ_TIMEOUT, MINS(15), NULL },
	{ F_CLIENT_IDLE, MINS(2), NULL },
	{ F_SERVER_IDLE, MINS(1), NULL },
	{ F_CLIENT_LIFETIME, DAY(1), NULL },
	{ F_SHUTDOWN_LIFETIME, SEC(30), NULL },
	{ F_HEADER_MAX, 64 * 1024, NULL },
	{ F_MAX_FDS, 0, NULL },
	{ F_WORKERS, 1, NULL },
	{ F_VIA, 1, NULL },
	{ F_FORWARDED_FOR, FORWARDED_FOR_ON, NULL },
	{ F_PID, 0, RUNSTATEDIR "/bascule/bascule.pid" },
	{ F_HOSTS, 0, "/etc/hosts" },
	{ F_USER, 0, NULL },
	{ F_VISIBLE, 0, NULL },
};

static void
test_defaults(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c = load_line("", &d);
	size_t           i;

	ok(c != NULL && d.n == 0, "minimal configuration loads cleanly");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		enum field f = defaults[i].f;

		if (is_str_field(f)) {
			const char *s = str_field(c, f);

			ok(defaults[i].str == NULL
			           ? s == NULL
			           : s != NULL &&
			                     strcmp(s, defaults[i].str) == 0,
			   "default %d is %s", (int)f,
			   defaults[i].str ? defaults[i].str : "unset");
		} else {
			ok(num_field(c, f) == defaults[i].num,
			   "default %d is %llu (got %llu)", (int)f,
			   (unsigned long long)defaults[i].num,
			   (unsigned long long)num_field(c, f));
		}
	}
	ok(c->dns_nameservers == NULL, "default dns_nameservers: system");
	ok(c->naccess_logs == 1 && c->access_logs[0].kind == ACCESS_LOG_STDIO &&
	           strcmp(c->access_logs[0].path,
	                  LOCALSTATEDIR "/log/bascule/access.log") == 0,
	   "default access_log");
	ok(c->http_access.n == 0, "no http_access lines by default");
	ok(c->nacls == 9, "nine predefined acls");
	ok(acl_named(c, "all") != NULL && acl_named(c, "localhost") != NULL &&
	           acl_named(c, "to_localhost") != NULL &&
	           acl_named(c, "manager") != NULL,
	   "all, localhost, to_localhost and manager");
	ok(strcmp(c->path, "test.conf") == 0, "path is the name given");
	conf_unref(c);
	conf_diag_clear(&d);
}

#define BAD(line, err)                                                         \
	{                                                                      \
		line, err, F_NFIELDS, 0, NULL                                  \
	}

/*
 * One line after "http_port 3130".  err NULL: loads, and field f has num
 * (or str); else the only diagnostic is the error "test.conf:2: " + err.
 */
static const struct {
	const char *line;
	const char *err;
	enum field  f;
	uint64_t    num;
	const char *str;
} cases[] = {
	/* connect_timeout: 1 s .. 10 min */
	{ "connect_timeout 45 seconds", NULL, F_CONNECT_TIMEOUT, SEC(45),
	  NULL },
	{ "connect_timeout 45", NULL, F_CONNECT_TIMEOUT, SEC(45), NULL },
	{ "connect_timeout 45s", NULL, F_CONNECT_TIMEOUT, SEC(45), NULL },
	{ "connect_timeout 2min", NULL, F_CONNECT_TIMEOUT, MINS(2), NULL },
	{ "connect_timeout 2 m", NULL, F_CONNECT_TIMEOUT, MINS(2), NULL },
	{ "connect_timeout 1500 ms", NULL, F_CONNECT_TIMEOUT, 1500, NULL },
	{ "connect_timeout 1500 milliseconds", NULL, F_CONNECT_TIMEOUT, 1500,
	  NULL },
	{ "connect_timeout 0.5 minutes", NULL, F_CONNECT_TIMEOUT, SEC(30),
	  NULL },
	{ "connect_timeout 1.25", NULL, F_CONNECT_TIMEOUT, 1250, NULL },
	{ "connect_timeout 10 Minutes", NULL, F_CONNECT_TIMEOUT, MINS(10),
	  NULL },
	{ "connect_timeout 1 sec", NULL, F_CONNECT_TIMEOUT, SEC(1), NULL },
	BAD("connect_timeout 11 minutes",
	    "connect_timeout: 11 min is above the maximum of 10 min"),
	BAD("connect_timeout 0",
	    "connect_timeout: 0 s is below the minimum of 1 s"),
	BAD("connect_timeout 999 ms",
	    "connect_timeout: 999 ms is below the minimum of 1 s"),
	BAD("connect_timeout soon", "connect_timeout: 'soon' is not a number"),
	BAD("connect_timeout -1", "connect_timeout: '-1' is not a number"),
	BAD("connect_timeout 1.2.3",
	    "connect_timeout: '1.2.3' is not a number"),
	BAD("connect_timeout .", "connect_timeout: '.' is not a number"),
	BAD("connect_timeout 30 parsecs",
	    "connect_timeout: unknown unit 'parsecs'"),
	BAD("connect_timeout", "connect_timeout: missing value"),
	BAD("connect_timeout 30 seconds please",
	    "connect_timeout: unexpected 'please'"),
	BAD("connect_timeout 30s seconds",
	    "connect_timeout: unexpected 'seconds'"),
	BAD("connect_timeout 99999999999999999999",
	    "connect_timeout: '99999999999999999999' is too large"),
	BAD("connect_timeout 9999999999999999 days",
	    "connect_timeout: '9999999999999999' is too large"),
	/* read_timeout: 1 s .. 1 day */
	{ "read_timeout 1 day", NULL, F_READ_TIMEOUT, DAY(1), NULL },
	{ "read_timeout 2 hours", NULL, F_READ_TIMEOUT, HOUR(2), NULL },
	BAD("read_timeout 25 hours",
	    "read_timeout: 25 h is above the maximum of 1 d"),
	BAD("read_timeout 0", "read_timeout: 0 s is below the minimum of 1 s"),
	BAD("read_timeout", "read_timeout: missing value"),
	/* request_timeout: 1 s .. 1 day */
	{ "request_timeout 30 seconds", NULL, F_REQUEST_TIMEOUT, SEC(30), NULL },
	BAD("request_timeout 0",
	    "request_timeout: 0 s is below the minimum of 1 s"),
	BAD("request_timeout 2 days",
	    "request_timeout: 2 d is above the maximum of 1 d"),
	/* client_idle_pconn_timeout: 0 .. 1 day */
	{ "client_idle_pconn_timeout 0", NULL, F_CLIENT_IDLE, 0, NULL },
	{ "client_idle_pconn_timeout 30 seconds", NULL, F_CLIENT_IDLE, SEC(30),
	  NULL },
	BAD("client_idle_pconn_timeout 1 week",
	    "client_idle_pconn_timeout: 7 d is above the maximum of 1 d"),
	BAD("client_idle_pconn_timeout x",
	    "client_idle_pconn_timeout: 'x' is not a number"),
	/* server_idle_pconn_timeout: 0 .. 1 day */
	{ "server_idle_pconn_timeout 0", NULL, F_SERVER_IDLE, 0, NULL },
	{ "server_idle_pconn_timeout 1 d", NULL, F_SERVER_IDLE, DAY(1), NULL },
	BAD("server_idle_pconn_timeout 2 days",
	    "server_idle_pconn_timeout: 2 d is above the maximum of 1 d"),
	BAD("server_idle_pconn_timeout 1 fortnight",
	    "server_idle_pconn_timeout: 14 d is above the maximum of 1 d"),
	/* client_lifetime: 1 min .. 1 year */
	{ "client_lifetime 1 week", NULL, F_CLIENT_LIFETIME, DAY(7), NULL },
	{ "client_lifetime 1 year", NULL, F_CLIENT_LIFETIME, DAY(365), NULL },
	{ "client_lifetime 1 minute", NULL, F_CLIENT_LIFETIME, MINS(1), NULL },
	BAD("client_lifetime 59 seconds",
	    "client_lifetime: 59 s is below the minimum of 1 min"),
	BAD("client_lifetime 2 years",
	    "client_lifetime: 730 d is above the maximum of 365 d"),
	/* shutdown_lifetime: 0 .. 1 hour */
	{ "shutdown_lifetime 0", NULL, F_SHUTDOWN_LIFETIME, 0, NULL },
	{ "shutdown_lifetime 1 hour", NULL, F_SHUTDOWN_LIFETIME, HOUR(1),
	  NULL },
	BAD("shutdown_lifetime 61 minutes",
	    "shutdown_lifetime: 61 min is above the maximum of 1 h"),
	/* request_header_max_size: 1 KB .. 1 MB */
	{ "request_header_max_size 32 KB", NULL, F_HEADER_MAX, 32768, NULL },
	{ "request_header_max_size 32KB", NULL, F_HEADER_MAX, 32768, NULL },
	{ "request_header_max_size 32 kb", NULL, F_HEADER_MAX, 32768, NULL },
	{ "request_header_max_size 32k", NULL, F_HEADER_MAX, 32768, NULL },
	{ "request_header_max_size 1 MB", NULL, F_HEADER_MAX, 1048576, NULL },
	{ "request_header_max_size 1M", NULL, F_HEADER_MAX, 1048576, NULL },
	{ "request_header_max_size 2048", NULL, F_HEADER_MAX, 2048, NULL },
	{ "request_header_max_size 2048 bytes", NULL, F_HEADER_MAX, 2048,
	  NULL },
	{ "request_header_max_size 1.5 KB", NULL, F_HEADER_MAX, 1536, NULL },
	BAD("request_header_max_size 1023 bytes",
	    "request_header_max_size: 1023 bytes is below the minimum of 1 KB"),
	BAD("request_header_max_size 2 MB",
	    "request_header_max_size: 2 MB is above the maximum of 1 MB"),
	BAD("request_header_max_size 1 GB",
	    "request_header_max_size: 1024 MB is above the maximum of 1 MB"),
	BAD("request_header_max_size 64 XB",
	    "request_header_max_size: unknown unit 'XB'"),
	BAD("request_header_max_size big",
	    "request_header_max_size: 'big' is not a number"),
	/* max_filedescriptors: 0 .. 1048576 */
	{ "max_filedescriptors 0", NULL, F_MAX_FDS, 0, NULL },
	{ "max_filedescriptors 65536", NULL, F_MAX_FDS, 65536, NULL },
	{ "max_filedescriptors 1048576", NULL, F_MAX_FDS, 1048576, NULL },
	BAD("max_filedescriptors 1048577",
	    "max_filedescriptors: 1048577 is above the maximum of 1048576"),
	BAD("max_filedescriptors many",
	    "max_filedescriptors: 'many' is not a number"),
	BAD("max_filedescriptors -1",
	    "max_filedescriptors: '-1' is not a number"),
	BAD("max_filedescriptors 1 2", "max_filedescriptors: unexpected '2'"),
	/* workers: 1 .. 64 */
	{ "workers 4", NULL, F_WORKERS, 4, NULL },
	{ "workers 64", NULL, F_WORKERS, 64, NULL },
	BAD("workers 0", "workers: 0 is below the minimum of 1"),
	BAD("workers 65", "workers: 65 is above the maximum of 64"),
	BAD("workers 99999999999999999999999",
	    "workers: 99999999999999999999999 is above the maximum of 64"),
	BAD("workers two", "workers: 'two' is not a number"),
	BAD("workers", "workers: missing value"),
	/* via */
	{ "via off", NULL, F_VIA, 0, NULL },
	{ "via on", NULL, F_VIA, 1, NULL },
	BAD("via yes", "via: expected on or off, not 'yes'"),
	BAD("via", "via: missing value"),
	/* forwarded_for */
	{ "forwarded_for off", NULL, F_FORWARDED_FOR, FORWARDED_FOR_OFF, NULL },
	{ "forwarded_for transparent", NULL, F_FORWARDED_FOR,
	  FORWARDED_FOR_TRANSPARENT, NULL },
	{ "forwarded_for delete", NULL, F_FORWARDED_FOR, FORWARDED_FOR_DELETE,
	  NULL },
	{ "forwarded_for truncate", NULL, F_FORWARDED_FOR,
	  FORWARDED_FOR_TRUNCATE, NULL },
	{ "forwarded_for on", NULL, F_FORWARDED_FOR, FORWARDED_FOR_ON, NULL },
	BAD("forwarded_for maybe",
	    "forwarded_for: expected on, off, transparent, delete or truncate, "
	    "not 'maybe'"),
	/* pid_filename */
	{ "pid_filename /tmp/b.pid", NULL, F_PID, 0, "/tmp/b.pid" },
	{ "pid_filename none", NULL, F_PID, 0, NULL },
	BAD("pid_filename", "pid_filename: missing value"),
	BAD("pid_filename /a /b", "pid_filename: unexpected '/b'"),
	/* hosts_file */
	{ "hosts_file /tmp/hosts", NULL, F_HOSTS, 0, "/tmp/hosts" },
	{ "hosts_file none", NULL, F_HOSTS, 0, NULL },
	BAD("hosts_file", "hosts_file: missing value"),
	/* cache_effective_user */
	{ "cache_effective_user proxy", NULL, F_USER, 0, "proxy" },
	BAD("cache_effective_user", "cache_effective_user: missing value"),
	BAD("cache_effective_user a b", "cache_effective_user: unexpected 'b'"),
	/* visible_hostname: canonical */
	{ "visible_hostname Proxy.Example.COM", NULL, F_VISIBLE, 0,
	  "proxy.example.com" },
	{ "visible_hostname proxy.bücher.example", NULL, F_VISIBLE, 0,
	  "proxy.xn--bcher-kva.example" },
	BAD("visible_hostname bad!name",
	    "visible_hostname: 'bad!name' is not a valid host name"),
	BAD("visible_hostname .example.com",
	    "visible_hostname: '.example.com' is not a valid host name"),
	BAD("visible_hostname", "visible_hostname: missing value"),
	/* later lines win */
	{ "workers 2\nworkers 3", NULL, F_WORKERS, 3, NULL },
	{ "pid_filename /a\npid_filename none\npid_filename /b", NULL, F_PID, 0,
	  "/b" },
	/* the other directives' errors, checked here for their text */
	BAD("dns_nameservers", "dns_nameservers: missing value"),
	BAD("dns_nameservers ns.example.com",
	    "dns_nameservers: 'ns.example.com' is not ADDRESS, ADDRESS:PORT or "
	    "[IPv6]:PORT"),
	BAD("dns_nameservers 192.0.2.53:0",
	    "dns_nameservers: '192.0.2.53:0' is not ADDRESS"),
	BAD("dns_nameservers [::1", "dns_nameservers: '[::1' is not ADDRESS"),
	BAD("dns_nameservers [::1]x", "dns_nameservers: '[::1]x' is not"),
	BAD("access_log", "access_log: missing value"),
	BAD("access_log stdio:/tmp/a.log combined",
	    "access_log: log format 'combined' is not supported (only "
	    "'squid')"),
	BAD("access_log stdio:/tmp/a.log squid all",
	    "access_log: unexpected 'all' (acls are not supported)"),
	BAD("access_log tcp://192.0.2.1:514",
	    "access_log: expected stdio:PATH, syslog or none, not "
	    "'tcp://192.0.2.1:514'"),
	BAD("access_log stdio:", "access_log: expected stdio:PATH"),
	BAD("access_log syslog:local4.info", "access_log: expected stdio:PATH"),
	BAD("http_port 3131 accel",
	    "http_port: option 'accel' is not supported yet"),
	BAD("http_port 3131 intercept ssl-bump",
	    "http_port: intercepted TLS needs https_port ... intercept "
	    "ssl-bump"),
	BAD("https_port 3131",
	    "https_port: tls-cert= is required: the proxy's own certificate"),
	BAD("https_port 3131 intercept tls-cert=/a",
	    "https_port: intercept needs ssl-bump"),
	BAD("https_port 3131 ssl-bump tls-cert=/a",
	    "https_port: ssl-bump needs intercept (TLS to the proxy itself is "
	    "not bumped)"),
	BAD("https_port 3131 tls-key=/a",
	    "https_port: tls-key= needs tls-cert="),
	BAD("https_port 3131 tls-cert=/a tls-min-version=1.4",
	    "https_port: tls-min-version= takes 1.0, 1.1, 1.2 or 1.3, not "
	    "'1.4'"),
	BAD("http_port 3131 tls-min-version=1.3",
	    "http_port: tls-min-version= needs ssl-bump"),
	BAD("http_port 3131 ssl-bump=on",
	    "http_port: option 'ssl-bump=on' needs a value, or has a bad one"),
	BAD("http_port 3131 tls-cert=",
	    "http_port: option 'tls-cert=' needs a value"),
	BAD("http_port 3131 generate-host-certificates=maybe",
	    "http_port: expected on or off, not 'maybe'"),
	BAD("http_port 3131 dynamic_cert_mem_cache_size=lots",
	    "http_port: 'lots' is not a number"),
	BAD("ssl_bump", "ssl_bump: expected peek, stare, splice, bump or "
	                "terminate"),
	BAD("ssl_bump allow all", "ssl_bump: expected peek, stare, splice, "
	                          "bump or terminate, not 'allow'"),
	BAD("http_port 3131 generate-host-certificates=off",
	    "http_port: generate-host-certificates=off is not supported: "
	    "bumped connections always get mimicked certificates"),
	BAD("ssl_bump splice", "ssl_bump: splice needs at least one acl"),
	BAD("ssl_bump peek nosuchacl", "ssl_bump: unknown acl 'nosuchacl'"),
	BAD("on_unsupported_protocol deny all",
	    "on_unsupported_protocol: expected tunnel or respond, not 'deny'"),
	BAD("client_hello_max_size 32 MB",
	    "client_hello_max_size: 32 MB is above the maximum"),
	BAD("client_hello_max_size 100 bytes",
	    "client_hello_max_size: 100 bytes is below the minimum"),
	BAD("http_port", "http_port: missing value"),
	BAD("http_port 0", "http_port: '0' is not a port number (1-65535)"),
	BAD("http_port 65536", "http_port: '65536' is not a port number"),
	BAD("http_port proxy", "http_port: 'proxy' is not a port number"),
	BAD("http_port 127.0.0.1:", "http_port: '' is not a port number"),
	BAD("http_port proxy.example.com:3128",
	    "http_port: 'proxy.example.com' is not an IPv4 address, [IPv6] "
	    "address or localhost"),
	BAD("http_port 300.0.0.1:3128",
	    "http_port: '300.0.0.1' is not an IPv4"),
	BAD("http_port ::1:3128", "http_port: '::1' is not an IPv4"),
	BAD("http_port [::1]", "http_port: '[::1]' is not [IPv6]:PORT"),
	BAD("http_port [::1:3128", "http_port: '[::1:3128' is not [IPv6]:PORT"),
	BAD("http_port [example]:3128", "http_port: 'example' is not an IPv4"),
	BAD("http_port 3130", "http_port: '3130' is already configured at "
	                      "test.conf:1"),
	BAD("include", "include: missing file name"),
	BAD("frobnicate on", "unknown directive 'frobnicate'"),
	BAD("request_body_max_size 1 MB",
	    "unknown directive 'request_body_max_size'"),
	BAD("\"http_port\" 3131", "unknown directive 'http_port'"),
	BAD("acl x src \"unterminated", "unterminated quoted string"),
	BAD("acl x src \"a\"b", "text right after a closing quote"),
	BAD("cache_peer p parent 3128",
	    "cache_peer: expected HOST parent HTTP_PORT ICP_PORT"),
	BAD("cache_peer p sibling 3128 0",
	    "cache_peer: type 'sibling' is not supported"),
	BAD("cache_peer p parent 0 0", "cache_peer: '0' is not a port"),
	BAD("cache_peer p parent 65536 0", "cache_peer: '65536' is not a port"),
	BAD("cache_peer p parent 3128 x", "cache_peer: 'x' is not an ICP port"),
	BAD("cache_peer bad..name parent 3128 0",
	    "cache_peer: 'bad..name' is not a host name or address"),
	BAD("cache_peer [::1 parent 3128 0",
	    "cache_peer: '[::1' is not a host name or address"),
	BAD("cache_peer p parent 3128 0 tls tls-cert=/a",
	    "cache_peer: option 'tls-cert=/a' is not supported yet"),
	BAD("cache_peer p parent 3128 0 tls tls-min-version=1.9",
	    "cache_peer: min-version= takes 1.0, 1.1, 1.2 or 1.3, not '1.9'"),
	BAD("cache_peer p parent 3128 0 tls tls-flags=NO_SUCH_FLAG",
	    "cache_peer: unknown flag 'NO_SUCH_FLAG'"),
	BAD("cache_peer p parent 3128 0 round-robin",
	    "cache_peer: option 'round-robin' is not supported yet"),
	BAD("cache_peer p parent 3128 0 originserver",
	    "cache_peer: option 'originserver' is not supported yet"),
	BAD("cache_peer p parent 3128 0 name=", "cache_peer: option 'name=' "
	                                       "needs a value"),
	BAD("cache_peer p parent 3128 0 login=PASS",
	    "cache_peer: login= takes USER:PASSWORD or PASSTHRU"),
	BAD("cache_peer p parent 3128 0 login=*:secret",
	    "cache_peer: login= takes USER:PASSWORD or PASSTHRU"),
	BAD("cache_peer p parent 3128 0 login=alice",
	    "cache_peer: login= takes USER:PASSWORD or PASSTHRU"),
	BAD("cache_peer p parent 3128 0 connect-timeout=0",
	    "cache_peer: 0 s is below the minimum of 1 s"),
	BAD("cache_peer p parent 3128 0 name=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "cache_peer: name= is longer than 255 characters"),
	BAD("cache_peer p parent 3128 0 connect-fail-limit=0",
	    "cache_peer: 0 is below the minimum of 1"),
	BAD("cache_peer_access p allow all",
	    "cache_peer_access: no cache_peer named 'p' above"),
	BAD("cache_peer_access", "cache_peer_access: expected NAME allow|deny"),
	BAD("never_direct maybe all", "never_direct: expected allow or deny"),
	BAD("always_direct allow nosuchacl",
	    "always_direct: unknown acl 'nosuchacl'"),
	BAD("sslproxy_cert_error",
	    "sslproxy_cert_error: expected allow or deny"),
	BAD("sslproxy_cert_error bump all",
	    "sslproxy_cert_error: expected allow or deny, not 'bump'"),
	BAD("sslproxy_cert_error allow",
	    "sslproxy_cert_error: allow needs at least one acl (use 'all')"),
	BAD("sslproxy_cert_error allow certUntrusted",
	    "sslproxy_cert_error: unknown acl 'certUntrusted'"),
	BAD("tls_outgoing_options", "tls_outgoing_options: missing value"),
	BAD("tls_outgoing_options min-version=1.4",
	    "tls_outgoing_options: min-version= takes 1.0, 1.1, 1.2 or 1.3, "
	    "not '1.4'"),
	BAD("tls_outgoing_options min-version=TLSv1.2",
	    "tls_outgoing_options: min-version= takes 1.0, 1.1, 1.2 or 1.3, "
	    "not 'TLSv1.2'"),
	BAD("tls_outgoing_options min-version",
	    "tls_outgoing_options: option 'min-version' needs a value, or has "
	    "a bad one"),
	BAD("tls_outgoing_options flags=DONT_VERIFY_PEERS",
	    "tls_outgoing_options: unknown flag 'DONT_VERIFY_PEERS'"),
	BAD("tls_outgoing_options flags=DONT_VERIFY_PEER,",
	    "tls_outgoing_options: unknown flag ''"),
	BAD("tls_outgoing_options flags=VERIFY_CRL_ALL",
	    "tls_outgoing_options: flag 'VERIFY_CRL_ALL' is not supported yet"),
	BAD("tls_outgoing_options flags=",
	    "tls_outgoing_options: option 'flags=' needs a value, or has a bad "
	    "one"),
	BAD("tls_outgoing_options cert=/etc/bascule/client.pem",
	    "tls_outgoing_options: option 'cert=/etc/bascule/client.pem' is "
	    "not supported yet"),
	BAD("tls_outgoing_options crlfile=/etc/bascule/crl.pem",
	    "tls_outgoing_options: option 'crlfile=/etc/bascule/crl.pem' is "
	    "not supported yet"),
	BAD("tls_outgoing_options domain=example.com",
	    "tls_outgoing_options: option 'domain=example.com' is not "
	    "supported yet"),
	BAD("tls_outgoing_options disable",
	    "tls_outgoing_options: option 'disable' is not supported yet"),
	BAD("tls_outgoing_options verify=off",
	    "tls_outgoing_options: unknown option 'verify=off'"),
	BAD("tls_outgoing_options cert",
	    "tls_outgoing_options: unknown option 'cert'"),
	BAD("tls_outgoing_options default-ca=yes",
	    "tls_outgoing_options: option 'default-ca=yes' needs on or off"),
	BAD("tls_outgoing_options no-default-ca=on",
	    "tls_outgoing_options: unknown option 'no-default-ca=on'"),
	BAD("tls_outgoing_options cafile=/nonexistent/ca.pem",
	    "tls_outgoing_options: cannot read '/nonexistent/ca.pem': No such "
	    "file or directory"),
	BAD("tls_outgoing_options cafile=/",
	    "tls_outgoing_options: cannot read '/': Is a directory"),
	BAD("tls_outgoing_options capath=/nonexistent",
	    "tls_outgoing_options: cannot read '/nonexistent': No such file or "
	    "directory"),
	BAD("sslproxy_foreign_intermediate_certs",
	    "sslproxy_foreign_intermediate_certs: missing value"),
	BAD("sslproxy_foreign_intermediate_certs /a.pem /b.pem",
	    "sslproxy_foreign_intermediate_certs: unexpected '/b.pem'"),
	BAD("sslproxy_foreign_intermediate_certs /nonexistent/i.pem",
	    "sslproxy_foreign_intermediate_certs: cannot read "
	    "'/nonexistent/i.pem': No such file or directory"),
	BAD("sslproxy_foreign_intermediate_certs /",
	    "sslproxy_foreign_intermediate_certs: cannot read '/': Is a "
	    "directory"),
};

static void
test_directives(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_diag d = { 0 };
		struct conf     *c = load_line(cases[i].line, &d);

		if (cases[i].err != NULL) {
			const char *t = error_text(&d, 0);

			ok(c == NULL && d.nerrors == 1 &&
			           strncmp(t, "test.conf:2: ", 13) == 0 &&
			           strncmp(t + 13, cases[i].err,
			                   strlen(cases[i].err)) == 0,
			   "'%s': error '%s'", oneline(cases[i].line),
			   cases[i].err);
			if (c != NULL || d.nerrors != 1 ||
			    strncmp(t + 13, cases[i].err,
			            strlen(cases[i].err)) != 0)
				dump(&d);
		} else if (c == NULL) {
			ok(0, "'%s' loads", oneline(cases[i].line));
			dump(&d);
		} else if (is_str_field(cases[i].f)) {
			const char *s = str_field(c, cases[i].f);

			ok(d.n == 0 &&
			           (cases[i].str == NULL
			                    ? s == NULL
			                    : s != NULL &&
			                              strcmp(s, cases[i].str) ==
			                                      0),
			   "'%s' gives '%s'", oneline(cases[i].line),
			   cases[i].str ? cases[i].str : "(unset)");
		} else {
			ok(d.n == 0 && num_field(c, cases[i].f) == cases[i].num,
			   "'%s' gives %llu (got %llu)", oneline(cases[i].line),
			   (unsigned long long)cases[i].num,
			   (unsigned long long)num_field(c, cases[i].f));
		}
		conf_unref(c);
		conf_diag_clear(&d);
	}
}

static void
test_nameservers(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;
	char           **v;

	c = load_line("dns_nameservers 192.0.2.53\n"
	              "dns_nameservers 192.0.2.54:5353 [2001:DB8::53]:53 "
	              "2001:db8:0::1 [::1]",
	              &d);
	ok(c != NULL && d.n == 0, "dns_nameservers lines load");
	v = c != NULL ? c->dns_nameservers : NULL;
	ok(v != NULL && v[0] != NULL && strcmp(v[0], "192.0.2.53") == 0 &&
	           v[1] != NULL && strcmp(v[1], "192.0.2.54:5353") == 0 &&
	           v[2] != NULL && strcmp(v[2], "[2001:db8::53]:53") == 0 &&
	           v[3] != NULL && strcmp(v[3], "[2001:db8::1]") == 0 &&
	           v[4] != NULL && strcmp(v[4], "[::1]") == 0 && v[5] == NULL,
	   "dns_nameservers lines add up, canonical");
	conf_unref(c);
	conf_diag_clear(&d);
}

static void
test_access_log(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;

	c = load_line("access_log stdio:/tmp/a.log squid\n"
	              "access_log syslog\n"
	              "access_log daemon:/tmp/b.log\n"
	              "access_log /tmp/c.log squid",
	              &d);
	ok(c != NULL && d.n == 0 && c->naccess_logs == 4 &&
	           c->access_logs[0].kind == ACCESS_LOG_STDIO &&
	           strcmp(c->access_logs[0].path, "/tmp/a.log") == 0 &&
	           c->access_logs[1].kind == ACCESS_LOG_SYSLOG &&
	           c->access_logs[1].path == NULL &&
	           strcmp(c->access_logs[2].path, "/tmp/b.log") == 0 &&
	           strcmp(c->access_logs[3].path, "/tmp/c.log") == 0,
	   "several access_log lines, each kept");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("access_log none", &d);
	ok(c != NULL && d.n == 0 && c->naccess_logs == 0,
	   "access_log none: no access log");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("access_log stdio:/tmp/a.log\naccess_log none\n"
	              "access_log stdio:/tmp/b.log",
	              &d);
	ok(c != NULL && d.nerrors == 0 && c->naccess_logs == 1 &&
	           strcmp(c->access_logs[0].path, "/tmp/a.log") == 0 &&
	           count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text, "test.conf:4: access_log: never used "
	                               "after 'access_log none' at "
	                               "test.conf:3") == 0,
	   "lines after access_log none are dropped with a warning");
	conf_unref(c);
	conf_diag_clear(&d);
}

static const struct sockaddr_in *
in4(const struct listen_conf *l)
{
	return (const struct sockaddr_in *)&l->addr;
}

static const struct sockaddr_in6 *
in6(const struct listen_conf *l)
{
	return (const struct sockaddr_in6 *)&l->addr;
}

/* ssl-bump ports and the rule lists of the TLS steps. */
static void
test_ssl_bump(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;

	c = conf_load_string(
	        "b.conf",
	        "http_port 127.0.0.1:3128 ssl-bump tls-cert=/e/ca.crt "
	        "tls-key=/e/ca.key generate-host-certificates=on "
	        "dynamic_cert_mem_cache_size=16MB\n"
	        "http_port 127.0.0.1:3129 ssl-bump\n"
	        "http_port 127.0.0.1:3130 intercept require-proxy-header\n"
	        "https_port 127.0.0.1:3131 intercept ssl-bump\n"
	        "http_port 127.0.0.1:3132 transparent\n"
	        "https_port 127.0.0.1:3133 tls-cert=/e/proxy.pem "
	        "tls-min-version=1.3\n"
	        "https_port 127.0.0.1:3134 tls-cert=/e/proxy.pem "
	        "tls-key=/e/proxy.key\n"
	        "http_port 127.0.0.1:3135 ssl-bump tls-cert=/e/ca.pem\n"
	        "acl step1 at_step SslBump1\n"
	        "acl nobump ssl::server_name .bank.example\n"
	        "ssl_bump peek step1\n"
	        "ssl_bump splice nobump\n"
	        "ssl_bump terminate all\n"
	        "on_unsupported_protocol tunnel all\n"
	        "client_hello_max_size 1 MB\n",
	        &d);
	ok(c != NULL && d.n == 0, "ssl-bump configuration loads");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(c->listeners[0].flags & LISTEN_SSL_BUMP, "ssl-bump flag");
	ok(strcmp(c->listeners[0].tls_cert, "/e/ca.crt") == 0 &&
	           strcmp(c->listeners[0].tls_key, "/e/ca.key") == 0,
	   "tls-cert and tls-key");
	ok(c->listeners[0].generate_host_certificates &&
	           c->listeners[0].dynamic_cert_mem_cache_size == 16u << 20,
	   "certificate generation options");
	ok(c->listeners[1].tls_cert == NULL &&
	           c->listeners[1].generate_host_certificates,
	   "peek and splice need no CA");
	ok(c->listeners[2].flags ==
	           (LISTEN_INTERCEPT | LISTEN_PROXY_HEADER),
	   "intercept and require-proxy-header");
	ok(c->listeners[3].flags ==
	           (LISTEN_HTTPS | LISTEN_INTERCEPT | LISTEN_SSL_BUMP),
	   "https_port intercept ssl-bump");
	ok(c->listeners[4].flags == LISTEN_INTERCEPT,
	   "transparent is Squid's old name of intercept");
	ok(c->listeners[5].flags == LISTEN_HTTPS &&
	           c->listeners[5].tls_min_version == 0x0304,
	   "https_port: TLS to the proxy, tls-min-version=1.3");
	ok(strcmp(c->listeners[5].tls_key, "/e/proxy.pem") == 0,
	   "without tls-key= the key is in the tls-cert= file");
	ok(strcmp(c->listeners[6].tls_key, "/e/proxy.key") == 0 &&
	           c->listeners[6].tls_min_version == 0,
	   "https_port with tls-key=");
	ok(strcmp(c->listeners[7].tls_key, "/e/ca.pem") == 0,
	   "a CA whose key is in its certificate file");
	ok(c->ssl_bump.n == 3 && c->ssl_bump.rules[0].action == BUMP_PEEK &&
	           c->ssl_bump.rules[1].action == BUMP_SPLICE &&
	           c->ssl_bump.rules[2].action == BUMP_TERMINATE,
	   "ssl_bump rules in order");
	ok(c->on_unsupported_protocol.n == 1 &&
	           c->on_unsupported_protocol.rules[0].action ==
	                   UNSUPPORTED_TUNNEL,
	   "on_unsupported_protocol rule");
	ok(c->client_hello_max_size == 1u << 20, "client_hello_max_size");
	conf_unref(c);
	conf_diag_clear(&d);
}

static void
test_cache_peer(void)
{
	struct conf_diag        d = { 0 };
	struct conf            *c;
	const struct peer_conf *p;

	c = conf_load_string(
	        "p.conf",
	        "http_port 3128\n"
	        "acl intranet dstdomain .corp.example\n"
	        "cache_peer Parent.Example parent 3128 3130 no-query default\n"
	        "cache_peer 192.0.2.1 parent 8080 0 no-query no-digest "
	        "proxy-only name=second login=alice:s3cret "
	        "connect-timeout=5\n"
	        "cache_peer [2001:db8::1] parent 3129 0 name=v6 login=PASSTHRU\n"
	        "cache_peer_access second deny intranet\n"
	        "cache_peer_access SECOND allow all\n"
	        "never_direct allow all\n"
	        "always_direct allow intranet\n"
	        "nonhierarchical_direct off\n"
	        "prefer_direct on\n",
	        &d);
	ok(c != NULL && d.nerrors == 0, "cache_peer configuration loads");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(d.n == 0, "no-query, no-digest and proxy-only load silently");
	ok(c->npeers == 3, "three peers");
	p = &c->peers[0];
	ok(strcmp(p->name, "Parent.Example") == 0 &&
	           strcmp(p->host, "parent.example") == 0 && p->port == 3128 &&
	           p->is_default && p->login == NULL && !p->login_passthru,
	   "name defaults to the host as written; host canonical");
	p = &c->peers[1];
	ok(strcmp(p->name, "second") == 0 &&
	           strcmp(p->host, "192.0.2.1") == 0 && p->port == 8080 &&
	           !p->is_default && p->connect_timeout == 5000,
	   "name= and connect-timeout=");
	ok(p->login != NULL &&
	           strcmp(p->login, "Basic YWxpY2U6czNjcmV0") == 0,
	   "login=USER:PASSWORD is a Basic credential (RFC 7617)");
	ok(p->access.n == 2 && p->access.rules[0].action == ACCESS_DENY &&
	           p->access.rules[1].action == ACCESS_ALLOW,
	   "cache_peer_access by name, case-insensitive as in Squid");
	p = &c->peers[2];
	ok(strcmp(p->host, "2001:db8::1") == 0 && p->is_ipv6 &&
	           p->login_passthru && p->login == NULL,
	   "[IPv6] peer and login=PASSTHRU");
	ok(c->never_direct.n == 1 && c->always_direct.n == 1,
	   "never_direct and always_direct");
	ok(c->peers[0].connect_fail_limit == 10,
	   "connect-fail-limit defaults to Squid's 10");
	ok(!c->nonhierarchical_direct && c->prefer_direct,
	   "nonhierarchical_direct and prefer_direct");
	ok(!c->peers[0].tls, "no TLS to a parent by default");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("cache_peer 192.0.2.1 parent 3129 0 name=a tls "
	              "tls-domain=proxy.example tls-min-version=1.3 "
	              "tls-flags=DONT_VERIFY_DOMAIN tls-default-ca=off\n"
	              "cache_peer 192.0.2.2 parent 3129 0 name=b ssl "
	              "sslflags=DONT_VERIFY_PEER ssldomain=b.example\n"
	              "cache_peer 192.0.2.3 parent 3129 0 name=c tls",
	              &d);
	ok(c != NULL && d.n == 0, "cache_peer TLS options load");
	if (c != NULL) {
		p = &c->peers[0];
		ok(p->tls && strcmp(p->tls_domain, "proxy.example") == 0 &&
		           p->tls_opts.min_version == 0x0304 &&
		           p->tls_opts.dont_verify_domain &&
		           !p->tls_opts.dont_verify_peer &&
		           !p->tls_opts.default_ca,
		   "tls, tls-domain=, tls-min-version=, tls-flags=, "
		   "tls-default-ca=off");
		p = &c->peers[1];
		ok(p->tls && strcmp(p->tls_domain, "b.example") == 0 &&
		           p->tls_opts.dont_verify_peer,
		   "Squid 3's ssl, sslflags= and ssldomain=");
		p = &c->peers[2];
		ok(p->tls && p->tls_domain == NULL &&
		           p->tls_opts.min_version == 0x0303 &&
		           p->tls_opts.default_ca && !p->tls_opts.dont_verify_peer,
		   "tls defaults: system CAs, TLS 1.2 at least, verified");
	}
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("", &d);
	ok(c != NULL && c->npeers == 0 && c->nonhierarchical_direct &&
	           !c->prefer_direct,
	   "defaults: no peer, nonhierarchical_direct on, prefer_direct off");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("cache_peer p parent 3128 3130", &d);
	ok(c != NULL && has_message(&d, false, "ICP is not supported"),
	   "an ICP port without no-query warns");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("cache_peer p parent 3128 0 connect-fail-limit=3", &d);
	ok(c != NULL && d.n == 0 && c->peers[0].connect_fail_limit == 3,
	   "connect-fail-limit=");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("cache_peer p parent 3128 0\n"
	              "cache_peer q parent 3129 0 name=p",
	              &d);
	ok(c == NULL && has_message(&d, true, "test.conf:3: cache_peer: a peer "
	                                      "named 'p' is already "
	                                      "configured at test.conf:2"),
	   "peer names are unique");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("acl d dst 192.0.2.0/24\nnever_direct allow d", &d);
	ok(c != NULL && has_message(&d, false, "never_direct: dst acl 'd' "
	                                       "never matches here"),
	   "a dst acl in never_direct warns");
	conf_unref(c);
	conf_diag_clear(&d);
}

static void
test_http_port(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;
	struct in6_addr  lo6 = IN6ADDR_LOOPBACK_INIT;

	c = conf_load_string("p.conf",
	                     "http_port 3128\n"
	                     "http_port 127.0.0.1:3129\n"
	                     "http_port [::1]:3130\n"
	                     "http_port localhost:3131\n"
	                     "http_port [::]:3132\n"
	                     "http_port 0.0.0.0:3132\n",
	                     &d);
	ok(c != NULL && d.n == 0 && c->nlisteners == 6, "six http_port lines");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(in6(&c->listeners[0])->sin6_family == AF_INET6 &&
	           IN6_IS_ADDR_UNSPECIFIED(&in6(&c->listeners[0])->sin6_addr) &&
	           ntohs(in6(&c->listeners[0])->sin6_port) == 3128 &&
	           c->listeners[0].flags == 0 &&
	           c->listeners[0].addrlen == sizeof(struct sockaddr_in6),
	   "bare port: [::] dual stack");
	ok(in4(&c->listeners[1])->sin_family == AF_INET &&
	           ntohl(in4(&c->listeners[1])->sin_addr.s_addr) ==
	                   INADDR_LOOPBACK &&
	           ntohs(in4(&c->listeners[1])->sin_port) == 3129 &&
	           c->listeners[1].addrlen == sizeof(struct sockaddr_in),
	   "127.0.0.1:3129");
	ok(in6(&c->listeners[2])->sin6_family == AF_INET6 &&
	           memcmp(&in6(&c->listeners[2])->sin6_addr, &lo6,
	                  sizeof(lo6)) == 0 &&
	           ntohs(in6(&c->listeners[2])->sin6_port) == 3130 &&
	           c->listeners[2].flags == 0,
	   "[::1]:3130");
	ok(in4(&c->listeners[3])->sin_family == AF_INET &&
	           ntohl(in4(&c->listeners[3])->sin_addr.s_addr) ==
	                   INADDR_LOOPBACK,
	   "localhost is 127.0.0.1");
	ok(c->listeners[4].flags & LISTEN_V6ONLY, "explicit [::] is IPv6 only");
	ok(in4(&c->listeners[5])->sin_family == AF_INET &&
	           in4(&c->listeners[5])->sin_addr.s_addr == INADDR_ANY,
	   "0.0.0.0 is IPv4 any");
	ok(strcmp(c->listeners[1].text, "127.0.0.1:3129") == 0 &&
	           strcmp(c->listeners[0].text, "3128") == 0,
	   "listeners keep their text");
	ok(strcmp(c->listeners[3].where, "p.conf:4") == 0,
	   "listeners know where they were configured");
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load_string("none.conf", "workers 2\n", &d);
	ok(c == NULL && d.nerrors == 1 &&
	           strcmp(error_text(&d, 0),
	                  "none.conf: no http_port configured") == 0,
	   "no http_port: 'FILE: no http_port configured'");
	conf_diag_clear(&d);
}

/* A line after "http_port 3130" and the start of its only error. */
struct bad_line {
	const char *line, *err;
};

/* Each line of v fails to load, with its error. */
static void
check_bad_lines(const struct bad_line *v, size_t n)
{
	struct conf_diag d = { 0 };
	struct conf     *c;

	for (size_t i = 0; i < n; i++) {
		c = load_line(v[i].line, &d);
		ok(c == NULL && d.nerrors == 1 &&
		           strncmp(error_text(&d, 0), v[i].err,
		                   strlen(v[i].err)) == 0,
		   "'%s': %s", oneline(v[i].line), v[i].err);
		if (c != NULL || d.nerrors != 1)
			dump(&d);
		conf_unref(c);
		conf_diag_clear(&d);
	}
}

static void
test_acl_directive(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;
	size_t           i;

	c = load_line("acl p port 80\nacl p port 443 8000-8080\n"
	              "acl d dstdomain -i .Example.com\n"
	              "acl d dstdomain -n -- www.example.net\n"
	              "acl e src\n"
	              "acl everything all\n"
	              "http_access allow p d !e everything",
	              &d);
	ok(c != NULL && d.nerrors == 0, "acl lines load");
	if (c != NULL) {
		const struct acl *p = NULL, *dd = NULL;

		for (i = 0; i < c->nacls; i++) {
			if (strcmp(c->acls[i]->name, "p") == 0)
				p = c->acls[i];
			if (strcmp(c->acls[i]->name, "d") == 0)
				dd = c->acls[i];
		}
		ok(p != NULL && p->n == 3,
		   "same name, same type: values add up");
		ok(dd != NULL && dd->n == 2 &&
		           strcmp(dd->u.strings[0], ".example.com") == 0,
		   "dstdomain -i and -n accepted, names canonical");
		ok(c->nacls == 13 && c->acls[0]->predefined &&
		           c->acls[8]->predefined && !c->acls[9]->predefined &&
		           strcmp(c->acls[9]->name, "p") == 0,
		   "predefined acls first, then file order");
		ok(c->http_access.n == 1 && c->http_access.rules[0].n == 4 &&
		           c->http_access.rules[0].refs[2].negate &&
		           !c->http_access.rules[0].refs[1].negate &&
		           strcmp(c->http_access.rules[0].where,
		                  "test.conf:8") == 0,
		   "http_access rule with negation and where");
	}
	ok(count_warnings(&d) == 1 &&
	           has_message(&d, false, "test.conf:6: acl 'e' has no values"),
	   "acl without values: warning");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("acl all src 0.0.0.0/0\nacl localhost src 127.0.0.1\n"
	              "acl manager proto cache_object\n"
	              "acl to_localhost dst 127.0.0.0/8",
	              &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 4 &&
	           strcmp(d.v[0].text, "test.conf:2: acl 'all' is predefined; "
	                               "this definition is ignored") == 0 &&
	           has_message(&d, false,
	                       "test.conf:4: acl 'manager' is "
	                       "predefined"),
	   "redefining a predefined acl: warning, ignored");
	conf_unref(c);
	conf_diag_clear(&d);

	{
		static const struct bad_line bad[] = {
			{ "acl x src 1.2.3.4\nacl x dst 1.2.3.4",
			  "test.conf:3: acl 'x' is already defined with type "
			  "'src'" },
			{ "acl x url_regex ^http:",
			  "test.conf:2: acl type 'url_regex' is not "
			  "supported" },
			{ "acl x proxy_auth REQUIRED",
			  "test.conf:2: acl x: invalid acl: proxy_auth needs "
			  "'auth_param basic program'" },
			{ "acl x at_step SslBump9",
			  "test.conf:2: acl x: 'SslBump9': not a step" },
			{ "acl x ssl::server_name --consensus a.example",
			  "test.conf:2: acl x: option '--consensus' is not "
			  "supported for type 'ssl::server_name'" },
			{ "acl x ssl_error X509_V_ERR_BOGUS",
			  "test.conf:2: acl x: 'X509_V_ERR_BOGUS': not a TLS "
			  "error name (X509_V_ERR_..., "
			  "SQUID_X509_V_ERR_DOMAIN_MISMATCH or ssl::cert...)" },
			{ "acl x ssl_error -i certUntrusted",
			  "test.conf:2: acl x: option '-i' is not supported "
			  "for type 'ssl_error'" },
			{ "acl x ssl::server_name_regex (",
			  "test.conf:2: acl x: '(': not a valid regular "
			  "expression" },
			{ "acl x frob 1",
			  "test.conf:2: unknown acl type 'frob'" },
			{ "acl x",
			  "test.conf:2: acl: expected NAME TYPE VALUE..." },
			{ "acl x!y src 1.2.3.4",
			  "test.conf:2: acl: 'x!y' is not a valid acl name" },
			{ "acl x src 1.2.3.4/33",
			  "test.conf:2: acl x: '1.2.3.4/33': prefix length out "
			  "of range" },
			{ "acl x src -i 1.2.3.4", "test.conf:2: acl x: option "
			                          "'-i' is not supported for "
			                          "type 'src'" },
			{ "acl x port 1-2-3",
			  "test.conf:2: acl x: '1-2-3': not a port number" },
			{ "acl x all foo",
			  "test.conf:2: acl x: 'foo': this acl type takes no "
			  "values" },
			{ "acl x dstdomain exa..mple.com",
			  "test.conf:2: acl x: 'exa..mple.com': empty label" },
			{ "acl x src \"/nonexistent/acl.txt\"",
			  "test.conf:2: acl x: cannot read "
			  "'/nonexistent/acl.txt': "
			  "No such file or directory" },
			{ "http_access",
			  "test.conf:2: http_access: expected allow "
			  "or deny" },
			{ "http_access permit all",
			  "test.conf:2: http_access: expected allow or deny, "
			  "not "
			  "'permit'" },
			{ "http_access allow", "test.conf:2: http_access: "
			                       "allow needs at least one acl" },
			{ "http_access allow nosuch",
			  "test.conf:2: http_access: unknown acl 'nosuch'" },
			{ "http_access allow !",
			  "test.conf:2: http_access: unknown acl ''" },
			{ "http_access allow later\nacl later src all",
			  "test.conf:2: http_access: unknown acl 'later'" },
		};

		check_bad_lines(bad, sizeof(bad) / sizeof(bad[0]));
	}
}

/* auth_param basic, and the proxy_auth acls that need it. */
static void
test_auth_param(void)
{
	struct conf_diag        d = { 0 };
	struct conf            *c;
	const struct auth_conf *a;
	const struct acl       *acl;
	size_t                  i;

	c = load_line("", &d);
	a = c != NULL ? &c->auth : NULL;
	ok(a != NULL && a->argv == NULL &&
	           strcmp(a->realm, "Squid proxy-caching web server") == 0 &&
	           a->children == 20 && a->startup == 0 && a->idle == 1 &&
	           a->concurrency == 0 && a->queue_size == 40 &&
	           a->credentialsttl == 2 * 3600 * 1000,
	   "auth_param defaults: Squid's");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("auth_param basic program /bin/sh -c \"exit 0\"\n"
	              "auth_param basic realm  Our  proxy (\"lab\")\n"
	              "auth_param basic children 5 startup=2 idle=3 "
	              "concurrency=4 queue-size=9 on-persistent-overload=ERR\n"
	              "auth_param basic credentialsttl 30 minutes\n"
	              "acl users proxy_auth -i Alice bob\n"
	              "acl any proxy_auth REQUIRED\n"
	              "acl re proxy_auth_regex -i ^adm\n"
	              "http_access deny !any\n"
	              "http_access allow users re",
	              &d);
	a = c != NULL ? &c->auth : NULL;
	ok(c != NULL && d.n == 0, "auth_param basic lines load cleanly");
	if (c == NULL)
		dump(&d);
	ok(a != NULL && a->argv != NULL && strcmp(a->argv[0], "/bin/sh") == 0 &&
	           strcmp(a->argv[1], "-c") == 0 &&
	           strcmp(a->argv[2], "exit 0") == 0 && a->argv[3] == NULL &&
	           strcmp(a->where, "test.conf:2") == 0,
	   "program: the command and its arguments, no shell");
	ok(a != NULL && strcmp(a->realm, "Our proxy (\"lab\")") == 0,
	   "realm: the rest of the line, words joined by a space");
	ok(a != NULL && a->children == 5 && a->startup == 2 && a->idle == 3 &&
	           a->concurrency == 4 && a->queue_size == 9,
	   "children N startup= idle= concurrency= queue-size=");
	ok(a != NULL && a->credentialsttl == 30 * 60 * 1000, "credentialsttl");
	acl = c != NULL ? acl_named(c, "users") : NULL;
	ok(acl != NULL && acl->type == ACL_PROXY_AUTH && acl->icase &&
	           acl->n == 2 && strcmp(acl->u.strings[0], "alice") == 0,
	   "proxy_auth -i: names kept in lower case");
	acl = c != NULL ? acl_named(c, "any") : NULL;
	ok(acl != NULL && acl->required, "proxy_auth REQUIRED");
	acl = c != NULL ? acl_named(c, "re") : NULL;
	ok(acl != NULL && acl->type == ACL_PROXY_AUTH_REGEX && acl->icase &&
	           acl->n == 1,
	   "proxy_auth_regex -i");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("auth_param basic children 7", &d);
	ok(c != NULL && c->auth.children == 7 && c->auth.queue_size == 14,
	   "queue-size defaults to twice the children");
	conf_unref(c);
	conf_diag_clear(&d);

	/* Squid wants auth_param above the acl; bascule does not mind. */
	c = load_line("acl u proxy_auth REQUIRED\n"
	              "auth_param basic program /bin/sh",
	              &d);
	ok(c != NULL && d.nerrors == 0, "auth_param after the acl");
	conf_unref(c);
	conf_diag_clear(&d);

	{
		static const struct {
			const char *line, *warning;
		} warned[] = {
			{ "auth_param basic casesensitive on",
			  "test.conf:2: auth_param basic casesensitive is "
			  "ignored" },
			{ "auth_param basic utf8 off",
			  "test.conf:2: auth_param basic utf8 is ignored" },
			{ "auth_param basic keep_alive on",
			  "test.conf:2: auth_param basic keep_alive is "
			  "ignored" },
			{ "auth_param basic key_extras \"%>a\"",
			  "test.conf:2: auth_param basic key_extras is "
			  "ignored" },
			{ "auth_param digest program /bin/sh",
			  "test.conf:2: auth_param digest: only the basic "
			  "scheme is supported" },
			{ "auth_param ntlm children 5",
			  "test.conf:2: auth_param ntlm: only the basic" },
			{ "auth_param basic children 5 startup=9",
			  "test.conf:2: auth_param basic children: startup=9 "
			  "is more than 5: 5 are started" },
			{ "auth_param basic children 5 idle=0",
			  "test.conf:2: auth_param basic children: idle=0 is "
			  "taken as idle=1" },
			{ "auth_param basic children 5 "
			  "on-persistent-overload=die",
			  "test.conf:2: auth_param basic children: "
			  "on-persistent-overload=die is ignored" },
			{ "auth_param basic children 5 reservation-timeout=60",
			  "test.conf:2: auth_param basic children: "
			  "reservation-timeout= is ignored" },
		};

		for (i = 0; i < sizeof(warned) / sizeof(warned[0]); i++) {
			c = load_line(warned[i].line, &d);
			ok(c != NULL && d.nerrors == 0 && d.n == 1 &&
			           has_message(&d, false, warned[i].warning),
			   "'%s': warning", warned[i].line);
			if (c == NULL || d.n != 1)
				dump(&d);
			conf_unref(c);
			conf_diag_clear(&d);
		}
	}
	c = load_line("auth_param basic children 5 startup=9", &d);
	ok(c != NULL && c->auth.startup == 5, "startup= cut to children");
	conf_unref(c);
	conf_diag_clear(&d);

	{
		static const struct bad_line bad[] = {
			{ "auth_param", "test.conf:2: auth_param: expected "
			                "SCHEME PARAMETER [VALUE...]" },
			{ "auth_param basic", "test.conf:2: auth_param: "
			                      "expected SCHEME PARAMETER" },
			{ "auth_param kerberos program /bin/sh",
			  "test.conf:2: auth_param: unknown scheme "
			  "'kerberos'" },
			{ "auth_param basic program",
			  "test.conf:2: auth_param basic program: expected a "
			  "command" },
			{ "auth_param basic program /nonexistent/helper -x",
			  "test.conf:2: auth_param basic program: "
			  "'/nonexistent/helper': No such file or directory" },
			{ "auth_param basic realm",
			  "test.conf:2: auth_param basic realm: expected a "
			  "text" },
			{ "auth_param basic children",
			  "test.conf:2: auth_param basic children: '' is not "
			  "a number of helpers from 1 to 100" },
			{ "auth_param basic children 0",
			  "test.conf:2: auth_param basic children: '0' is not "
			  "a number of helpers" },
			{ "auth_param basic children 101",
			  "test.conf:2: auth_param basic children: '101' is "
			  "not a number of helpers" },
			{ "auth_param basic children five",
			  "test.conf:2: auth_param basic children: 'five' is "
			  "not a number of helpers" },
			{ "auth_param basic children -1",
			  "test.conf:2: auth_param basic children: '-1' is "
			  "not a number of helpers" },
			{ "auth_param basic children 5 concurrency=x",
			  "test.conf:2: auth_param basic children: bad value "
			  "in 'concurrency=x'" },
			{ "auth_param basic children 5 concurrency=1001",
			  "test.conf:2: auth_param basic children: bad value "
			  "in 'concurrency=1001'" },
			{ "auth_param basic children 5 startup=",
			  "test.conf:2: auth_param basic children: bad value "
			  "in 'startup='" },
			{ "auth_param basic children 5 "
			  "on-persistent-overload=maybe",
			  "test.conf:2: auth_param basic children: bad value "
			  "in 'on-persistent-overload=maybe'" },
			{ "auth_param basic children 5 frob=1",
			  "test.conf:2: auth_param basic children: unknown "
			  "option 'frob=1'" },
			{ "auth_param basic credentialsttl forever",
			  "test.conf:2: auth_param basic credentialsttl: " },
			{ "auth_param basic casesensitive maybe",
			  "test.conf:2: auth_param basic casesensitive: "
			  "expected on or off, not 'maybe'" },
			{ "auth_param basic concurrency x",
			  "test.conf:2: auth_param basic concurrency: "
			  "expected a number from 0 to 1000" },
			{ "auth_param basic nonce_max_count 5",
			  "test.conf:2: auth_param basic: unknown parameter "
			  "'nonce_max_count'" },
			{ "acl x proxy_auth_regex ^a",
			  "test.conf:2: acl x: invalid acl: proxy_auth needs "
			  "'auth_param basic program'" },
			{ "auth_param basic program /bin/sh\n"
			  "acl x proxy_auth_regex (",
			  "test.conf:3: acl x: '(': not a valid regular "
			  "expression" },
		};

		check_bad_lines(bad, sizeof(bad) / sizeof(bad[0]));
	}
}

/* ssl_error acls: Squid's names and groups, and the predefined groups. */
static void
test_ssl_error_acl(void)
{
	struct conf_diag  d = { 0 };
	struct conf      *c;
	const struct acl *a;

	c = load_line("acl bad ssl_error X509_V_ERR_CERT_HAS_EXPIRED "
	              "ssl::certSelfSigned\n"
	              "acl bad ssl_error certNotYetValid\n"
	              "acl odd ssl_error X509_V_ERR_CERT_CHAIN_TOO_LONG",
	              &d);
	ok(c != NULL && d.nerrors == 0, "ssl_error acls load");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	a = acl_named(c, "bad");
	ok(a != NULL && a->type == ACL_SSL_ERROR && a->n == 3 &&
	           a->u.ssl_errors == (TLS_VERIFY_CERT_HAS_EXPIRED |
	                               TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT |
	                               TLS_VERIFY_CERT_NOT_YET_VALID),
	   "names and groups of two lines add up");
	ok(count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text,
	                  "test.conf:4: acl odd: "
	                  "'X509_V_ERR_CERT_CHAIN_TOO_LONG': bascule never "
	                  "reports this error: it matches nothing") == 0,
	   "an error GnuTLS never shows: a warning, not an error");
	a = acl_named(c, "ssl::certUntrusted");
	ok(a != NULL && a->predefined && a->type == ACL_SSL_ERROR &&
	           (a->u.ssl_errors &
	            TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
	   "ssl::certUntrusted is predefined, as in Squid");
	ok(acl_named(c, "ssl::certHasExpired") != NULL &&
	           acl_named(c, "ssl::certNotYetValid") != NULL &&
	           acl_named(c, "ssl::certDomainMismatch") != NULL &&
	           acl_named(c, "ssl::certSelfSigned") != NULL,
	   "and the four other groups");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("acl ssl::certUntrusted ssl_error certHasExpired", &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 1 &&
	           has_message(&d, false,
	                       "test.conf:2: acl 'ssl::certUntrusted' is "
	                       "predefined; this definition is ignored"),
	   "redefining a predefined group: warning, ignored");
	conf_unref(c);
	conf_diag_clear(&d);
}

/* sslproxy_cert_error: which certificate errors a bumped connection bears. */
static void
test_cert_error(void)
{
	struct conf_diag          d = { 0 };
	struct conf              *c;
	struct acl_ctx            ctx;
	const struct access_rule *rule;

	c = load_line("acl lab ssl::server_name .lab.example\n"
	              "acl expired ssl_error X509_V_ERR_CERT_HAS_EXPIRED\n"
	              "sslproxy_cert_error allow lab ssl::certSelfSigned\n"
	              "sslproxy_cert_error allow lab expired\n"
	              "sslproxy_cert_error deny all",
	              &d);
	ok(c != NULL && d.n == 0, "sslproxy_cert_error lines load");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(c->sslproxy_cert_error.n == 3 &&
	           c->sslproxy_cert_error.rules[0].action == ACCESS_ALLOW &&
	           c->sslproxy_cert_error.rules[2].action == ACCESS_DENY &&
	           strcmp(c->sslproxy_cert_error.rules[1].where,
	                  "test.conf:5") == 0,
	   "rules in order, with where");
	memset(&ctx, 0, sizeof(ctx));
	ctx.server_names = (const char *const[]){ "www.lab.example" };
	ctx.nserver_names = 1;
	ctx.ssl_errors = TLS_VERIFY_CERT_HAS_EXPIRED;
	ok(access_check(&c->sslproxy_cert_error, &ctx, ACCESS_DENY, &rule,
	                NULL) == ACCESS_ALLOW &&
	           rule == &c->sslproxy_cert_error.rules[1],
	   "an expired certificate of the lab is allowed by line 5");
	ctx.ssl_errors = TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT;
	ok(access_check(&c->sslproxy_cert_error, &ctx, ACCESS_DENY, &rule,
	                NULL) == ACCESS_ALLOW &&
	           rule == &c->sslproxy_cert_error.rules[0],
	   "a self-signed one by the predefined ssl::certSelfSigned");
	ctx.ssl_errors = TLS_VERIFY_DOMAIN_MISMATCH;
	ok(access_check(&c->sslproxy_cert_error, &ctx, ACCESS_DENY, &rule,
	                NULL) == ACCESS_DENY,
	   "another error is denied");
	ctx.server_names = (const char *const[]){ "www.example.org" };
	ctx.ssl_errors = TLS_VERIFY_CERT_HAS_EXPIRED;
	ok(access_check(&c->sslproxy_cert_error, &ctx, ACCESS_DENY, &rule,
	                NULL) == ACCESS_DENY,
	   "and so is an expired certificate elsewhere");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("", &d);
	memset(&ctx, 0, sizeof(ctx));
	ctx.ssl_errors = TLS_VERIFY_CERT_HAS_EXPIRED;
	ok(c != NULL && c->sslproxy_cert_error.n == 0 &&
	           access_check(&c->sslproxy_cert_error, &ctx, ACCESS_DENY,
	                        NULL, NULL) == ACCESS_DENY,
	   "no sslproxy_cert_error: every error is denied");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("http_access deny ssl::certUntrusted\n"
	              "acl e ssl_error certHasExpired\n"
	              "ssl_bump terminate e",
	              &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text,
	                  "test.conf:2: http_access: ssl_error acl "
	                  "'ssl::certUntrusted' matches only in "
	                  "sslproxy_cert_error and ssl_bump") == 0,
	   "an ssl_error acl elsewhere than ssl_bump: a warning");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("http_port 127.0.0.1:3131 ssl-bump\n"
	              "http_port 127.0.0.1:3132 ssl-bump tls-cert=/e/ca.crt "
	              "tls-key=/e/ca.key\n"
	              "ssl_bump peek all\n"
	              "ssl_bump stare all\n"
	              "ssl_bump bump all",
	              &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text,
	                  "test.conf:5: ssl_bump stare: 127.0.0.1:3131 has "
	                  "no tls-cert= and tls-key=: its connections are "
	                  "terminated instead") == 0,
	   "bump or stare with an ssl-bump port without a CA: a warning");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("http_port 127.0.0.1:3131 tls-cert=/e/ca.crt", &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text,
	                  "test.conf:2: http_port: tls-cert= is ignored "
	                  "without ssl-bump") == 0,
	   "tls-cert= on an http_port without ssl-bump: a warning");
	conf_unref(c);
	conf_diag_clear(&d);
}

static int  enter_data_dir(void);
static void leave_data_dir(int fd);

/* tls_outgoing_options: Squid's options, the files they name, defaults. */
static void
test_tls_outgoing(void)
{
	static const struct bad_line bad_files[] = {
		{ "tls_outgoing_options cafile=tls_none.pem",
		  "test.conf:2: tls_outgoing_options: 'tls_none.pem' holds no "
		  "PEM certificate" },
		{ "tls_outgoing_options cafile=tls_corrupt.pem",
		  "test.conf:2: tls_outgoing_options: 'tls_corrupt.pem' is not "
		  "a file of PEM certificates: " },
		{ "tls_outgoing_options cafile=tls_truncated.pem",
		  "test.conf:2: tls_outgoing_options: 'tls_truncated.pem' is "
		  "not a file of PEM certificates: " },
		{ "tls_outgoing_options capath=tls_ca.pem",
		  "test.conf:2: tls_outgoing_options: cannot read "
		  "'tls_ca.pem': Not a directory" },
	};
	const struct tls_outgoing *t;
	struct conf_diag           d = { 0 };
	struct conf               *c;
	char                       ca[4096], dir[4096], text[16384];
	int                        n, fd;

	c = load_line("", &d);
	t = c != NULL ? &c->tls_outgoing : NULL;
	ok(t != NULL && t->cafiles == NULL && t->capath == NULL &&
	           t->min_version == 0x0303 && t->default_ca &&
	           !t->dont_verify_peer && !t->dont_verify_domain,
	   "default: the system's CAs, TLS 1.2 or later, verified");
	conf_unref(c);
	conf_diag_clear(&d);

	src_path("data/conf/tls_ca.pem", ca, sizeof(ca));
	src_path("data/conf", dir, sizeof(dir));
	n = snprintf(text, sizeof(text),
	             "tls_outgoing_options cafile=%s min-version=1.3\n"
	             "tls_outgoing_options cafile=%s capath=%s\n"
	             "tls_outgoing_options default-ca=off "
	             "flags=DONT_VERIFY_PEER:DONT_VERIFY_DOMAIN",
	             ca, ca, dir);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	c = load_line(text, &d);
	t = c != NULL ? &c->tls_outgoing : NULL;
	ok(t != NULL && d.n == 0, "tls_outgoing_options lines load");
	ok(t != NULL && t->cafiles != NULL && t->cafiles[0] != NULL &&
	           strcmp(t->cafiles[0], ca) == 0 && t->cafiles[1] != NULL &&
	           strcmp(t->cafiles[1], ca) == 0 && t->cafiles[2] == NULL,
	   "cafile= adds up, over lines");
	ok(t != NULL && t->capath != NULL && strcmp(t->capath, dir) == 0,
	   "capath=");
	ok(t != NULL && t->min_version == 0x0304, "min-version=1.3 is 0x0304");
	ok(t != NULL && !t->default_ca && t->dont_verify_peer &&
	           t->dont_verify_domain,
	   "default-ca=off, flags=DONT_VERIFY_PEER:DONT_VERIFY_DOMAIN");
	if (t == NULL)
		dump(&d);
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("tls_outgoing_options min-version=1.0 "
	              "flags=DONT_VERIFY_PEER\n"
	              "tls_outgoing_options "
	              "flags=DONT_VERIFY_DOMAIN,NO_DEFAULT_CA",
	              &d);
	t = c != NULL ? &c->tls_outgoing : NULL;
	ok(t != NULL && d.n == 0 && t->min_version == 0x0301 &&
	           !t->dont_verify_peer && t->dont_verify_domain &&
	           !t->default_ca,
	   "a later flags= replaces the flags; NO_DEFAULT_CA is "
	   "default-ca=off");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("tls_outgoing_options no-default-ca min-version=1.1\n"
	              "tls_outgoing_options default-ca no-npn",
	              &d);
	t = c != NULL ? &c->tls_outgoing : NULL;
	ok(t != NULL && d.n == 0 && t->default_ca && t->min_version == 0x0302,
	   "no-default-ca, then default-ca: the later wins; no-npn is fine");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("tls_outgoing_options options=NO_SSLv3,NO_TICKET "
	              "cipher=HIGH:!aNULL flags=NO_SESSION_REUSE",
	              &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 3 &&
	           strcmp(d.v[0].text,
	                  "test.conf:2: tls_outgoing_options: "
	                  "'options=NO_SSLv3,NO_TICKET' is ignored: GnuTLS's "
	                  "default priorities apply") == 0 &&
	           strcmp(d.v[1].text,
	                  "test.conf:2: tls_outgoing_options: "
	                  "'cipher=HIGH:!aNULL' is ignored: GnuTLS's default "
	                  "priorities apply") == 0 &&
	           strcmp(d.v[2].text,
	                  "test.conf:2: tls_outgoing_options: flag "
	                  "'NO_SESSION_REUSE' is ignored") == 0,
	   "options=, cipher= and NO_SESSION_REUSE: warnings, ignored");
	if (c == NULL || count_warnings(&d) != 3)
		dump(&d);
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("tls_outgoing_options cafile=/nonexistent min-version=2 "
	              "frob",
	              &d);
	ok(c == NULL && d.nerrors == 3 &&
	           strncmp(error_text(&d, 0), "test.conf:2: ", 13) == 0 &&
	           strncmp(error_text(&d, 2), "test.conf:2: ", 13) == 0,
	   "each bad option of a line is reported");
	conf_unref(c);
	conf_diag_clear(&d);

	fd = enter_data_dir();
	c = load_line("tls_outgoing_options cafile=tls_ca.pem capath=.", &d);
	ok(c != NULL && d.n == 0 &&
	           strcmp(c->tls_outgoing.cafiles[0], "tls_ca.pem") == 0,
	   "relative names: from the current directory, kept as written");
	conf_unref(c);
	conf_diag_clear(&d);
	check_bad_lines(bad_files, sizeof(bad_files) / sizeof(bad_files[0]));
	leave_data_dir(fd);
}

/* sslproxy_foreign_intermediate_certs: a PEM file, parsed at load. */
static void
test_intermediates(void)
{
	static const struct bad_line bad_files[] = {
		{ "sslproxy_foreign_intermediate_certs tls_corrupt.pem",
		  "test.conf:2: sslproxy_foreign_intermediate_certs: "
		  "'tls_corrupt.pem' is not a file of PEM certificates: " },
		{ "sslproxy_foreign_intermediate_certs tls_truncated.pem",
		  "test.conf:2: sslproxy_foreign_intermediate_certs: "
		  "'tls_truncated.pem' is not a file of PEM certificates: " },
	};
	struct conf_diag d = { 0 };
	struct conf     *c;
	int              fd;

	c = load_line("", &d);
	ok(c != NULL && c->sslproxy_foreign_intermediate_certs == NULL,
	   "sslproxy_foreign_intermediate_certs: none by default");
	conf_unref(c);
	conf_diag_clear(&d);

	fd = enter_data_dir();
	c = load_line("sslproxy_foreign_intermediate_certs tls_intermediate.pem",
	              &d);
	ok(c != NULL && d.n == 0 &&
	           strcmp(c->sslproxy_foreign_intermediate_certs,
	                  "tls_intermediate.pem") == 0,
	   "a PEM file: its name kept as written");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("sslproxy_foreign_intermediate_certs tls_ca.pem\n"
	              "sslproxy_foreign_intermediate_certs none",
	              &d);
	ok(c != NULL && d.n == 0 &&
	           c->sslproxy_foreign_intermediate_certs == NULL,
	   "none: no file; the later line wins");
	conf_unref(c);
	conf_diag_clear(&d);

	c = load_line("sslproxy_foreign_intermediate_certs tls_none.pem", &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 1 &&
	           strcmp(d.v[0].text,
	                  "test.conf:2: sslproxy_foreign_intermediate_certs: "
	                  "'tls_none.pem' holds no PEM certificate") == 0 &&
	           strcmp(c->sslproxy_foreign_intermediate_certs,
	                  "tls_none.pem") == 0,
	   "a file without a certificate: a warning (Squid takes zero or "
	   "more)");
	conf_unref(c);
	conf_diag_clear(&d);

	check_bad_lines(bad_files, sizeof(bad_files) / sizeof(bad_files[0]));
	leave_data_dir(fd);
}

/* Builds an acl_ctx for a request from src to host:port. */
static struct acl_ctx *
request(struct acl_ctx *ctx, struct sockaddr_storage *ss, const char *src,
        const char *method, const char *host, uint16_t port, const char *url)
{
	memset(ctx, 0, sizeof(*ctx));
	memset(ss, 0, sizeof(*ss));
	if (strchr(src, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, src, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &s4->sin_addr) != 1)
			abort();
	}
	ctx->src = (const struct sockaddr *)ss;
	ctx->method = method;
	ctx->host = host;
	ctx->port = port;
	ctx->url = url;
	return ctx;
}

static const struct {
	const char        *src, *method, *host;
	uint16_t           port;
	const char        *url;
	enum access_action want;
	const char        *rule; /* "FILE:LINE" suffix, NULL: the default */
} squid_cases[] = {
	{ "127.0.0.1", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_ALLOW, "squid_default.conf:29" },
	{ "::1", "GET", "example.com", 80, "http://example.com/", ACCESS_ALLOW,
	  "squid_default.conf:29" },
	{ "10.1.2.3", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_ALLOW, "squid_default.conf:28" },
	{ "::ffff:10.1.2.3", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_ALLOW, "squid_default.conf:28" },
	{ "0.1.2.3", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_ALLOW, "squid_default.conf:28" },
	{ "fe80::1", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_ALLOW, "squid_default.conf:28" },
	{ "fd00::1", "CONNECT", "example.com", 443, "example.com:443",
	  ACCESS_ALLOW, "squid_default.conf:28" },
	{ "192.0.2.1", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_DENY, "squid_default.conf:30" },
	{ "2001:db8::1", "GET", "example.com", 80, "http://example.com/",
	  ACCESS_DENY, "squid_default.conf:30" },
	{ "127.0.0.1", "GET", "example.com", 25, "http://example.com:25/",
	  ACCESS_DENY, "squid_default.conf:24" },
	{ "127.0.0.1", "CONNECT", "example.com", 22, "example.com:22",
	  ACCESS_DENY, "squid_default.conf:24" },
	{ "127.0.0.1", "CONNECT", "example.com", 8443, "example.com:8443",
	  ACCESS_DENY, "squid_default.conf:25" },
	{ "127.0.0.1", "CONNECT", "example.com", 443, "example.com:443",
	  ACCESS_ALLOW, "squid_default.conf:29" },
	{ "127.0.0.1", "GET", "localhost", 3128,
	  "cache_object://localhost/info", ACCESS_ALLOW,
	  "squid_default.conf:26" },
	{ "10.0.0.5", "GET", "proxy", 3128,
	  "http://proxy:3128/squid-internal-mgr/info", ACCESS_DENY,
	  "squid_default.conf:27" },
	{ "127.0.0.1", "GET", "example.com", 8080, "http://example.com:8080/",
	  ACCESS_ALLOW, "squid_default.conf:29" },
};

static void
test_squid_default(void)
{
	struct conf_diag          d = { 0 };
	struct sockaddr_storage   ss;
	struct acl_ctx            ctx;
	const struct access_rule *rule;
	struct conf              *c;
	char                      path[4096];
	size_t                    i;
	bool                      need;

	c = conf_load(
	        src_path("data/conf/squid_default.conf", path, sizeof(path)),
	        &d);
	ok(c != NULL && d.n == 0, "Squid's default ACL block loads cleanly");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(c->http_access.n == 7, "seven http_access rules");
	for (i = 0; i < sizeof(squid_cases) / sizeof(squid_cases[0]); i++) {
		enum access_action a;
		size_t             wl, rl;

		request(&ctx, &ss, squid_cases[i].src, squid_cases[i].method,
		        squid_cases[i].host, squid_cases[i].port,
		        squid_cases[i].url);
		a = access_check(&c->http_access, &ctx, ACCESS_DENY, &rule,
		                 &need);
		wl = strlen(squid_cases[i].rule);
		rl = rule != NULL ? strlen(rule->where) : 0;
		ok(a == squid_cases[i].want && !need && rule != NULL &&
		           rl >= wl &&
		           strcmp(rule->where + rl - wl, squid_cases[i].rule) ==
		                   0,
		   "%s %s %s:%u -> %s by %s (got %s)", squid_cases[i].src,
		   squid_cases[i].method, squid_cases[i].host,
		   squid_cases[i].port,
		   squid_cases[i].want == ACCESS_ALLOW ? "allow" : "deny",
		   squid_cases[i].rule, rule != NULL ? rule->where : "default");
	}
	conf_unref(c);
	conf_diag_clear(&d);
}

/* The shipped configuration: clean, and not an open proxy. */
static void
test_shipped(void)
{
	struct conf_diag          d = { 0 };
	struct sockaddr_storage   ss;
	struct acl_ctx            ctx;
	const struct access_rule *rule;
	struct conf              *c;
	char                      path[4096];
	bool                      need;

	c = conf_load(src_path("../conf/bascule.conf", path, sizeof(path)), &d);
	ok(c != NULL && d.nerrors == 0, "bascule.conf: no errors");
	ok(count_warnings(&d) == 0, "bascule.conf: no warnings");
	if (c == NULL) {
		dump(&d);
		conf_diag_clear(&d);
		return;
	}
	ok(c->nlisteners == 2 &&
	           strcmp(c->listeners[0].text, "127.0.0.1:3130") == 0 &&
	           strcmp(c->listeners[1].text, "[::1]:3130") == 0,
	   "bascule.conf listens on loopback port 3130");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "192.0.2.1", "GET", "example.com",
	                        80, "http://example.com/"),
	                ACCESS_DENY, &rule, &need) == ACCESS_DENY,
	   "bascule.conf denies an external client");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "10.0.0.1", "GET", "example.com", 80,
	                        "http://example.com/"),
	                ACCESS_DENY, &rule, &need) == ACCESS_DENY,
	   "bascule.conf denies a private-network client (localnet is off)");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "127.0.0.1", "GET", "example.com",
	                        80, "http://example.com/"),
	                ACCESS_DENY, &rule, &need) == ACCESS_ALLOW,
	   "bascule.conf allows localhost");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "::1", "CONNECT", "example.com", 443,
	                        "example.com:443"),
	                ACCESS_DENY, &rule, &need) == ACCESS_ALLOW,
	   "bascule.conf allows CONNECT to 443 from ::1");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "127.0.0.1", "CONNECT",
	                        "example.com", 25, "example.com:25"),
	                ACCESS_DENY, &rule, &need) == ACCESS_DENY,
	   "bascule.conf denies CONNECT to port 25");
	ok(access_check(&c->http_access,
	                request(&ctx, &ss, "127.0.0.1", "GET", "localhost",
	                        3130, "cache_object://localhost/info"),
	                ACCESS_DENY, &rule, &need) == ACCESS_DENY,
	   "bascule.conf denies manager requests, even from localhost");
	ok(c->naccess_logs == 1 &&
	           strcmp(c->access_logs[0].path,
	                  "/var/log/bascule/access.log") == 0 &&
	           c->pid_filename != NULL &&
	           strcmp(c->pid_filename, "/run/bascule/bascule.pid") == 0,
	   "bascule.conf access_log and pid_filename");
	conf_unref(c);
	conf_diag_clear(&d);
}

/* Changes directory to $srcdir/data/conf for relative names; restores. */
static int
enter_data_dir(void)
{
	char path[4096];
	int  fd = open(".", O_RDONLY | O_DIRECTORY);

	if (fd < 0 || chdir(src_path("data/conf", path, sizeof(path))) < 0)
		abort();
	return fd;
}

static void
leave_data_dir(int fd)
{
	if (fchdir(fd) < 0)
		abort();
	close(fd);
}

static void
test_include(void)
{
	struct conf_diag          d = { 0 };
	struct sockaddr_storage   ss;
	struct acl_ctx            ctx;
	const struct access_rule *rule;
	struct conf              *c;
	int                       fd = enter_data_dir();
	bool                      need;

	c = conf_load("rel_main.conf", &d);
	ok(c != NULL && d.n == 0,
	   "relative include, glob include, empty glob, relative acl file");
	if (c != NULL) {
		ok(c->connect_timeout == SEC(20),
		   "glob matches are read in sorted order");
		ok(access_check(&c->http_access,
		                request(&ctx, &ss, "192.0.2.9", "GET", "a", 80,
		                        NULL),
		                ACCESS_DENY, &rule, &need) == ACCESS_ALLOW &&
		           rule != NULL &&
		           strcmp(rule->where, "rel_main.conf:9") == 0,
		   "acl from an included file is usable");
		ok(access_check(&c->http_access,
		                request(&ctx, &ss, "198.51.100.2", "GET", "a",
		                        80, NULL),
		                ACCESS_DENY, &rule, &need) == ACCESS_ALLOW,
		   "acl values from two globbed files add up");
	} else {
		dump(&d);
	}
	conf_unref(c);
	conf_diag_clear(&d);

	/* errors inside an included file carry its name and lines */
	c = conf_load("errors_main.conf", &d);
	ok(c == NULL && d.nerrors == 4 &&
	           strcmp(error_text(&d, 0), "inc/bad.conf:2: workers: 100 is "
	                                     "above the maximum of 64") == 0 &&
	           strcmp(error_text(&d, 1),
	                  "inc/bad.conf:4: acl bad_src: '300.1.1.1': not an IP "
	                  "address") == 0 &&
	           strcmp(error_text(&d, 2),
	                  "errors_main.conf:3: unknown "
	                  "directive 'bogus_directive'") == 0 &&
	           strcmp(error_text(&d, 3), "errors_main.conf:4: http_access: "
	                                     "unknown acl 'nosuch'") == 0,
	   "all errors reported, in order, with FILE:LINE of each file");
	if (c != NULL || d.nerrors != 4)
		dump(&d);
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load("loop_a.conf", &d);
	ok(c == NULL && d.nerrors == 1 &&
	           strcmp(error_text(&d, 0),
	                  "loop_b.conf:2: include: 'loop_a.conf' is already "
	                  "being read (include loop)") == 0,
	   "include loop through two files");
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load("self.conf", &d);
	ok(c == NULL && d.nerrors == 1 &&
	           strcmp(error_text(&d, 0),
	                  "self.conf:2: include: 'self.conf' is already being "
	                  "read (include loop)") == 0,
	   "a file including itself");
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load_string("s.conf",
	                     "http_port 3130\ninclude inc/acl.conf\n"
	                     "include inc/acl.conf\n",
	                     &d);
	ok(c != NULL && d.n == 0,
	   "the same file twice, not nested, is no loop");
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load_string("s.conf",
	                     "http_port 3130\ninclude missing.conf\n"
	                     "include inc/nothing-*.conf\n",
	                     &d);
	ok(c == NULL && d.nerrors == 1 &&
	           strcmp(error_text(&d, 0),
	                  "s.conf:2: include: cannot read 'missing.conf': No "
	                  "such file or directory") == 0,
	   "missing include file is an error; empty glob is not");
	conf_unref(c);
	conf_diag_clear(&d);

	c = conf_load("missing-main.conf", &d);
	ok(c == NULL && d.nerrors >= 1 &&
	           strcmp(error_text(&d, 0), "missing-main.conf: No such file "
	                                     "or directory") == 0,
	   "missing main file: 'FILE: reason'");
	conf_unref(c);
	conf_diag_clear(&d);

	leave_data_dir(fd);
}

/* 17 nested files: the 17th level is refused. */
static void
test_include_depth(void)
{
	struct conf_diag d = { 0 };
	struct conf     *c;
	char             dir[4096];
	char             path[18][4200];
	int              i, n = 18;

	if (mkdtemp(tmp_path("bascule-test-conf-XXXXXX", dir, sizeof(dir))) ==
	    NULL)
		abort();
	for (i = 0; i < n; i++) {
		FILE *f;

		snprintf(path[i], sizeof(path[i]), "%s/d%02d.conf", dir, i);
		f = fopen(path[i], "w");
		if (f == NULL)
			abort();
		if (i == 0)
			fprintf(f, "http_port 3130\n");
		if (i + 1 < n)
			fprintf(f, "include %s/d%02d.conf\n", dir, i + 1);
		fclose(f);
	}
	c = conf_load(path[0], &d);
	ok(c == NULL && d.nerrors == 1 &&
	           strstr(error_text(&d, 0), "/d16.conf:1: include: ") !=
	                   NULL &&
	           strstr(error_text(&d, 0), "nested more than 16 deep") !=
	                   NULL,
	   "includes nest at most 16 deep");
	if (d.nerrors != 1)
		dump(&d);
	conf_unref(c);
	conf_diag_clear(&d);

	/* 16 levels are fine: d01.conf .. d16.conf below the main file */
	unlink(path[n - 1]);
	{
		FILE *f = fopen(path[n - 2], "w");

		if (f == NULL)
			abort();
		fclose(f);
	}
	c = conf_load(path[0], &d);
	ok(c != NULL && d.n == 0, "16 levels of include are fine");
	conf_unref(c);
	conf_diag_clear(&d);

	for (i = 0; i < n - 1; i++)
		unlink(path[i]);
	rmdir(dir);
}

static void
test_acl_file(void)
{
	struct conf_diag        d = { 0 };
	struct acl_ctx          ctx;
	struct sockaddr_storage ss;
	struct conf            *c;
	char                    file[4096], text[8192];
	int                     n;
	static const struct {
		const char *host;
		bool        allow;
	} hosts[] = {
		{ "xn--bcher-kva.example", true }, { "BÜCHER.example.", true },
		{ "www.bücher.example", true },    { "example.org", true },
		{ "www.example.net", true },       { "a.example.net", false },
		{ "bucher.example", false },
	};
	size_t i;

	src_path("data/conf/acl_domains.txt", file, sizeof(file));
	n = snprintf(text, sizeof(text),
	             "http_port 3130\n"
	             "acl books dstdomain \"%s\" extra.example\n"
	             "http_access allow books\n",
	             file);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	c = conf_load_string("f.conf", text, &d);
	ok(c != NULL && d.n == 0, "acl values from a quoted file");
	for (i = 0; c != NULL && i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		request(&ctx, &ss, "127.0.0.1", "GET", hosts[i].host, 80, NULL);
		ok((access_check(&c->http_access, &ctx, ACCESS_DENY, NULL,
		                 NULL) == ACCESS_ALLOW) == hosts[i].allow,
		   "dstdomain from file %s '%s'",
		   hosts[i].allow ? "matches" : "rejects", hosts[i].host);
	}
	if (c != NULL) {
		request(&ctx, &ss, "127.0.0.1", "GET", "extra.example", 80,
		        NULL);
		ok(access_check(&c->http_access, &ctx, ACCESS_DENY, NULL,
		                NULL) == ACCESS_ALLOW,
		   "inline value beside the quoted file");
	}
	conf_unref(c);
	conf_diag_clear(&d);

	src_path("data/conf/acl_bad.txt", file, sizeof(file));
	n = snprintf(text, sizeof(text),
	             "http_port 3130\nacl nets src \"%s\"\n", file);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	c = conf_load_string("f.conf", text, &d);
	ok(c == NULL && d.nerrors == 1 &&
	           has_suffix_message(&d, "data/conf/acl_bad.txt:3: acl nets: "
	                                  "'10.0.0.0/40': prefix length out of "
	                                  "range"),
	   "bad value in an acl file: reported at the file's line");
	conf_unref(c);
	conf_diag_clear(&d);

	/* relative acl file name: from the current directory */
	{
		int fd = enter_data_dir();

		c = conf_load_string("r.conf",
		                     "http_port 3130\n"
		                     "acl d dstdomain \"acl_domains.txt\"\n",
		                     &d);
		ok(c != NULL && d.n == 0, "relative acl file name");
		conf_unref(c);
		conf_diag_clear(&d);
		leave_data_dir(fd);
	}
}

static void
test_syntax(void)
{
	struct conf_diag        d = { 0 };
	struct conf            *c;
	struct acl_ctx          ctx;
	struct sockaddr_storage ss;

	/* continuation, comments, CRLF, blank lines, tabs */
	c = conf_load_string("s.conf",
	                     "# comment\r\n"
	                     "\r\n"
	                     "http_port 3130\r\n"
	                     "acl ports port 80 \\\n"
	                     "\t443 \\\n"
	                     "   8080 # trailing comment\n"
	                     "  # indented comment \\\n"
	                     "acl m method GET#X\n"
	                     "http_access allow ports m\n"
	                     "http_access deny all\n",
	                     &d);
	ok(c != NULL && d.n == 0, "continuations, comments, CRLF");
	if (c != NULL) {
		const struct acl *p = acl_named(c, "ports");
		const struct acl *m = acl_named(c, "m");

		ok(p != NULL && p->n == 3 && p->u.ranges[2].lo == 8080,
		   "a continued line gives all its values");
		ok(m != NULL && strcmp(m->u.strings[0], "GET#X") == 0,
		   "'#' inside a word is not a comment");
		ok(strcmp(c->http_access.rules[0].where, "s.conf:9") == 0,
		   "line numbers count continued lines");
		request(&ctx, &ss, "192.0.2.1", "GET", "a", 443, NULL);
		ok(access_check(&c->http_access, &ctx, ACCESS_DENY, NULL,
		                NULL) == ACCESS_DENY,
		   "443 from a continued line is an ACL value (needs m)");
	} else {
		dump(&d);
	}
	conf_unref(c);
	conf_diag_clear(&d);

	/* an error on a continued line names its first line */
	c = conf_load_string("s.conf",
	                     "http_port 3130\n"
	                     "workers \\\n"
	                     "  99\n"
	                     "via maybe\n",
	                     &d);
	ok(c == NULL && d.nerrors == 2 &&
	           strcmp(error_text(&d, 0), "s.conf:2: workers: 99 is above "
	                                     "the maximum of 64") == 0 &&
	           strcmp(error_text(&d, 1), "s.conf:4: via: expected on or "
	                                     "off, not 'maybe'") == 0,
	   "error on a continued line: its first line");
	conf_unref(c);
	conf_diag_clear(&d);

	/* backslash on the last line */
	c = conf_load_string("s.conf", "http_port 3130 \\", &d);
	ok(c != NULL && d.n == 0, "backslash at the end of the text");
	conf_unref(c);
	conf_diag_clear(&d);

	/* Squid joins without adding a space */
	c = conf_load_string("s.conf", "http_port 31\\\n30\n", &d);
	ok(c != NULL && d.n == 0 && strcmp(c->listeners[0].text, "3130") == 0,
	   "continuation joins the lines as they are");
	conf_unref(c);
	conf_diag_clear(&d);

	/* ignored Squid directive: warning, still loads */
	c = conf_load_string("s.conf",
	                     "http_port 3130\n"
	                     "cache_dir ufs /var/spool/squid 100 16 256\n"
	                     "coredump_dir /var/spool/squid\n"
	                     "refresh_pattern . 0 20% 4320\n",
	                     &d);
	ok(c != NULL && d.nerrors == 0 && count_warnings(&d) == 3 &&
	           strcmp(d.v[0].text, "s.conf:2: directive 'cache_dir' is "
	                               "ignored by bascule") == 0 &&
	           strcmp(d.v[2].text, "s.conf:4: directive 'refresh_pattern' "
	                               "is ignored by bascule") == 0,
	   "ignored Squid directives: one warning each, FILE:LINE");
	conf_unref(c);
	conf_diag_clear(&d);

	/* many errors: all reported, warnings kept beside them */
	c = conf_load_string("m.conf",
	                     "http_port 3130\n"
	                     "unknown_one\n"
	                     "cache_mem 256 MB\n"
	                     "workers 0\n"
	                     "\n"
	                     "unknown_two x\n"
	                     "connect_timeout 1 hour\n",
	                     &d);
	ok(c == NULL && d.nerrors == 4 && count_warnings(&d) == 1 &&
	           strcmp(error_text(&d, 0),
	                  "m.conf:2: unknown directive 'unknown_one'") == 0 &&
	           strcmp(error_text(&d, 1),
	                  "m.conf:4: workers: 0 is below the "
	                  "minimum of 1") == 0 &&
	           strcmp(error_text(&d, 2),
	                  "m.conf:6: unknown directive 'unknown_two'") == 0 &&
	           strcmp(error_text(&d, 3),
	                  "m.conf:7: connect_timeout: 1 h is above the maximum "
	                  "of 10 min") == 0,
	   "all errors are collected with their lines");
	conf_unref(c);
	conf_diag_clear(&d);

	/* a NUL byte in a line of a file */
	{
		static const char bytes[] = "http_port 3130\nvia o\0n\nvia x\n";
		char              path[4096];
		int fd = mkstemp(tmp_path("bascule-test-nul-XXXXXX", path,
		                          sizeof(path)));

		if (fd < 0 || write(fd, bytes, sizeof(bytes) - 1) !=
		                      (ssize_t)sizeof(bytes) - 1)
			abort();
		close(fd);
		c = conf_load(path, &d);
		ok(c == NULL && d.nerrors == 2 &&
		           strstr(error_text(&d, 0), ":2: NUL byte in line") !=
		                   NULL &&
		           strstr(error_text(&d, 1), ":3: via: expected on") !=
		                   NULL,
		   "NUL byte in a line is an error; later lines still read");
		unlink(path);
		conf_unref(c);
		conf_diag_clear(&d);
	}
}

static void
test_names(void)
{
	static const char *const spec[] = {
		"http_port",
		"acl",
		"http_access",
		"include",
		"access_log",
		"pid_filename",
		"cache_effective_user",
		"workers",
		"hosts_file",
		"dns_nameservers",
		"visible_hostname",
		"via",
		"forwarded_for",
		"connect_timeout",
		"read_timeout",
		"client_idle_pconn_timeout",
		"server_idle_pconn_timeout",
		"client_lifetime",
		"shutdown_lifetime",
		"request_header_max_size",
		"max_filedescriptors",
		"sslproxy_cert_error",
		"tls_outgoing_options",
		"sslproxy_foreign_intermediate_certs",
		"sslcrtd_program",
		"cache_dir",
		"coredump_dir",
		"refresh_pattern",
		"pconn_lifetime",
	};
	size_t i, j, n = 0;
	bool   all_known = true;

	while (conf_directive_name(n) != NULL)
		n++;
	ok(n >= 70, "conf_directive_name() lists %zu directives", n);
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		for (j = 0; j < n; j++)
			if (strcmp(conf_directive_name(j), spec[i]) == 0)
				break;
		ok(j < n, "conf_directive_name() has %s", spec[i]);
	}
	for (i = 0; i < n; i++) {
		struct conf_diag d = { 0 };
		struct conf     *c = load_line(conf_directive_name(i), &d);

		if (has_message(&d, true, "unknown directive")) {
			printf("# %s is unknown\n", conf_directive_name(i));
			all_known = false;
		}
		conf_unref(c);
		conf_diag_clear(&d);
	}
	ok(all_known, "every listed name is a directive");
}

static void
test_generations(void)
{
	struct conf_diag d = { 0 };
	struct conf     *a, *b, *same;
	size_t           n;

	a = conf_load_string("a.conf",
	                     "http_port 3130\nworkers 2\n"
	                     "pid_filename /run/a.pid\n",
	                     &d);
	same = conf_load_string("a.conf",
	                        "http_port 3130\nworkers 2\n"
	                        "pid_filename /run/a.pid\nvia off\n",
	                        &d);
	b = conf_load_string("b.conf",
	                     "http_port 3131\nworkers 3\n"
	                     "pid_filename /run/a.pid\n"
	                     "cache_effective_user proxy\n"
	                     "max_filedescriptors 4096\n",
	                     &d);
	ok(a != NULL && b != NULL && same != NULL && d.n == 0,
	   "three generations");
	if (a == NULL || b == NULL || same == NULL) {
		conf_unref(a);
		conf_unref(b);
		conf_unref(same);
		conf_diag_clear(&d);
		return;
	}
	n = conf_restart_needed(a, same, &d);
	ok(n == 0 && d.n == 0, "reload changing via needs no restart");
	n = conf_restart_needed(a, b, &d);
	ok(n == 4 && d.n == 4 && d.nerrors == 0 &&
	           has_message(&d, false, "b.conf: http_port cannot change") &&
	           has_message(&d, false, "b.conf: workers cannot change") &&
	           has_message(&d, false, "cache_effective_user cannot") &&
	           has_message(&d, false, "max_filedescriptors cannot"),
	   "http_port, workers, user, descriptor limit need a restart");
	conf_diag_clear(&d);

	ok(conf_ref(a) == a && a->refs == 2, "conf_ref counts");
	conf_unref(a);
	ok(a->refs == 1, "conf_unref counts");
	conf_unref(a);
	conf_unref(b);
	conf_unref(same);
	conf_unref(NULL);
	conf_diag_clear(&d);
	conf_diag_clear(NULL);
	ok(1, "conf_unref(NULL) and conf_diag_clear(NULL) are no-ops");
}

int
main(void)
{
	test_defaults();
	test_directives();
	test_nameservers();
	test_access_log();
	test_http_port();
	test_ssl_bump();
	test_cache_peer();
	test_acl_directive();
	test_auth_param();
	test_ssl_error_acl();
	test_cert_error();
	test_tls_outgoing();
	test_intermediates();
	test_squid_default();
	test_shipped();
	test_include();
	test_include_depth();
	test_acl_file();
	test_syntax();
	test_names();
	test_generations();
	return tap_done();
}
