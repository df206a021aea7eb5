/*
 * conf: one generation of configuration, loaded from Squid's configuration
 * language.  Plain data, immutable once loaded, shared by reference: each
 * connection keeps conf_ref() on the generation it was accepted under, and a
 * reload builds a new generation beside the old one.
 */
#ifndef BASCULE_CONF_H
#define BASCULE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl.h"
#include "hostname.h"

enum listen_flags {
	LISTEN_V6ONLY = 1 << 0,   /* explicit [::]: no IPv4-mapped addresses */
	LISTEN_SSL_BUMP = 1 << 1, /* ssl_bump rules apply to its CONNECTs */
	LISTEN_PROXY_HEADER = 1 << 2, /* PROXY protocol header first */
	LISTEN_INTERCEPT = 1 << 3,    /* connections redirected by NAT */
	LISTEN_HTTPS = 1 << 4,        /* https_port: TLS from the client */
};

/* One http_port or https_port line. */
struct listen_conf {
	struct sockaddr_storage addr; /* wildcard [::] for a bare PORT */
	socklen_t               addrlen;
	char                   *text;  /* as written, for logs: "127.0.0.1:3128" */
	char                   *where; /* "FILE:LINE" */
	unsigned                flags;
	/*
	 * tls-cert=, tls-key=: with ssl-bump the signing CA; on an
	 * https_port without it, the proxy's own certificate chain.  NULL:
	 * none.  tls_key is tls_cert when the line named no key.
	 */
	char    *tls_cert;
	char    *tls_key;
	unsigned tls_min_version; /* tls-min-version=, wire form; 0: 1.2 */
	bool     generate_host_certificates;
	uint64_t dynamic_cert_mem_cache_size;
};

enum access_log_kind {
	ACCESS_LOG_STDIO = 0,
	ACCESS_LOG_SYSLOG,
};

struct access_log_conf {
	enum access_log_kind kind;
	char                *path; /* STDIO */
};

enum forwarded_for {
	FORWARDED_FOR_ON = 0,    /* append the client address */
	FORWARDED_FOR_OFF,       /* append "unknown" */
	FORWARDED_FOR_TRANSPARENT, /* leave the header as received */
	FORWARDED_FOR_DELETE,    /* remove the header */
	FORWARDED_FOR_TRUNCATE,  /* replace with the client address */
};

/*
 * tls_outgoing_options: the TLS that bascule speaks to servers itself, when
 * it bumps; the tls-* options of a cache_peer, to that parent.  Files and
 * directories were readable, and the CA files parsed, when the
 * configuration was loaded.
 */
struct tls_outgoing {
	char   **cafiles; /* cafile=, in order, NULL-terminated; NULL: none */
	char    *capath;  /* capath=: a directory of CA certificates; NULL */
	unsigned min_version; /* min-version=: (major << 8 | minor) of the
	                         TLS record, 0x0301 (1.0) to 0x0304 (1.3) */
	bool dont_verify_peer;   /* flags=DONT_VERIFY_PEER: take any
	                            certificate, as if it verified */
	bool dont_verify_domain; /* flags=DONT_VERIFY_DOMAIN: skip the check
	                            of the server's name */
	bool default_ca; /* default-ca: also trust the system's CAs */
};

/* One cache_peer line: a parent proxy (RFC 9110 9.3.6 CONNECT for tunnels). */
struct peer_conf {
	char    *name;       /* name=, else the host as written */
	char     host[HOSTNAME_MAX + 1]; /* canonical name or IP literal */
	bool     is_ipv6;    /* host is an IPv6 literal */
	uint16_t port;
	bool     is_default; /* "default": the parent of last resort */
	char    *login;      /* Proxy-Authorization value; NULL: none */
	bool     login_passthru; /* the client's Proxy-Authorization */
	uint64_t connect_timeout; /* connect-timeout=; 0: connect_timeout */
	uint64_t connect_fail_limit; /* failures in a row that make it down */
	bool     tls;        /* "tls": TLS to the parent */
	char    *tls_domain; /* tls-domain=: its name for SNI and checks;
	                        NULL: host, when a name */
	struct tls_outgoing tls_opts; /* tls-cafile=, tls-flags=, ... */
	struct access_list access; /* cache_peer_access; empty: allow */
	char              *key;    /* "peer NAME HOST:PORT[ tls]": pool and
	                              health key; a reload may move the name */
	char              *where;  /* "FILE:LINE" */
};

#define AUTH_CHILDREN_MAX    100  /* helpers per worker */
#define AUTH_CONCURRENCY_MAX 1000 /* requests per helper at once */
#define AUTH_QUEUE_MAX       100000

/*
 * auth_param basic: the helpers that check Basic credentials with Squid's
 * helper protocol (src/auth.c), per worker.  argv NULL: not configured,
 * and proxy_auth acls are refused.
 */
struct auth_conf {
	char   **argv;        /* program, then its arguments; NULL-terminated */
	char    *where;       /* "FILE:LINE" of the program line */
	char    *realm;       /* Proxy-Authenticate's realm */
	unsigned children;    /* at most this many */
	unsigned startup;     /* started with the worker */
	unsigned idle;        /* started at once when more are needed */
	unsigned concurrency; /* requests a helper takes at once, with a
	                         channel-ID; 0: one, without */
	unsigned queue_size;  /* requests waiting for a helper */
	uint64_t credentialsttl; /* an OK answer is trusted this long */
};

/* Durations are in milliseconds, sizes in bytes. */
struct conf {
	unsigned refs;
	char    *path; /* main file */

	struct listen_conf *listeners;
	size_t              nlisteners;

	struct acl        **acls; /* predefined first, then in file order */
	size_t              nacls;
	struct access_list  http_access;
	struct access_list  proxy_protocol_access; /* empty: deny all */
	struct access_list  ssl_bump;                /* enum bump_action */
	struct access_list  on_unsupported_protocol; /* enum unsupported_action */
	/*
	 * Which server certificates that fail verification a bumped
	 * connection goes on with (allow); the acls see acl_ctx.ssl_errors.
	 * Empty: deny, as in Squid: check with if_empty ACCESS_DENY.
	 */
	struct access_list  sslproxy_cert_error;
	struct tls_outgoing tls_outgoing;
	/*
	 * sslproxy_foreign_intermediate_certs: a PEM file of intermediate
	 * CA certificates that complete the chains servers send; NULL: none.
	 * It was readable and parsed at load; the bump code loads it.
	 */
	char *sslproxy_foreign_intermediate_certs;

	struct peer_conf   *peers; /* in file order */
	size_t              npeers;
	struct access_list  never_direct;  /* allow: only through peers */
	struct access_list  always_direct; /* allow: never through peers */
	bool                nonhierarchical_direct;
	bool                prefer_direct;

	struct auth_conf auth; /* auth_param basic */

	struct access_log_conf *access_logs; /* none: "access_log none" */
	size_t                  naccess_logs;

	char    *pid_filename; /* NULL: "none" */
	char    *cache_effective_user; /* NULL: not set */
	unsigned workers;
	char    *hosts_file;   /* NULL: "none" */
	char   **dns_nameservers; /* NULL-terminated; NULL: /etc/resolv.conf */
	char    *visible_hostname; /* NULL: gethostname() */
	bool     via;
	bool     host_verify_strict; /* intercepted Host must match the
	                                original destination */
	enum forwarded_for forwarded_for;

	uint64_t connect_timeout;
	uint64_t read_timeout;
	uint64_t request_timeout;
	uint64_t client_idle_pconn_timeout;
	uint64_t server_idle_pconn_timeout;
	uint64_t client_lifetime;
	uint64_t shutdown_lifetime;
	uint64_t request_header_max_size;
	uint64_t client_hello_max_size; /* ClientHello handshake message */
	uint64_t max_filedescriptors; /* 0: keep the inherited limit */
};

/* A diagnostic: "FILE:LINE: message" (or "FILE: message"). */
struct conf_msg {
	bool  is_error;
	char *text;
};

struct conf_diag {
	struct conf_msg *v;
	size_t           n;
	size_t           nerrors;
};

/*
 * Loads path and everything it includes.  Returns a generation holding one
 * reference, or NULL when diag->nerrors > 0.  Warnings (ignored Squid
 * directives, ...) are appended to diag either way.  Relative include and
 * ACL file names are taken relative to the current directory, as Squid does.
 */
struct conf *conf_load(const char *path, struct conf_diag *diag);

/* Same from a string; name is used in messages ("FILE:LINE"). */
struct conf *conf_load_string(const char *name, const char *text,
                              struct conf_diag *diag);

struct conf *conf_ref(struct conf *c);
void         conf_unref(struct conf *c); /* accepts NULL */
void         conf_diag_clear(struct conf_diag *d);

/*
 * Directives that a reload cannot change (listeners, workers, user, pid
 * file, descriptor limit): appends one warning per differing directive to
 * diag and returns how many differ.  The running values stay in force.
 */
size_t conf_restart_needed(const struct conf *old, const struct conf *new,
                           struct conf_diag *diag);

/*
 * For a reload: when new's ports differ from old's (added, removed,
 * moved, their flags changed), new takes a copy of old's, the ports that
 * stay bound.  The TLS of a generation is found by the index of a port
 * in conf->listeners (struct listener), so every generation must list
 * the running ports in their order.  Ports that did not change keep new's
 * lines, so a reload reads renewed certificates.  -1 on ENOMEM, new
 * unchanged.
 */
int conf_keep_listeners(struct conf *new, const struct conf *old);

/*
 * Name of directive i of all those bascule implements or accepts, in the
 * order of the directive table; NULL past the last one.
 */
const char *conf_directive_name(size_t i);

#endif
