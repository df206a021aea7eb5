/*
 * acl: Squid's access control lists and allow/deny rule lists.  Pure: the
 * caller describes a transaction in struct acl_ctx and gets a verdict.
 */
#ifndef BASCULE_ACL_H
#define BASCULE_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <sys/socket.h>

#include "tls_verify.h"

enum acl_type {
	ACL_ALL = 0,
	ACL_SRC,       /* client address: addresses, CIDR, ranges a-b */
	ACL_DST,       /* server address (needs DNS) */
	ACL_PORT,      /* destination port: numbers and ranges */
	ACL_METHOD,    /* request method, case-sensitive */
	ACL_DSTDOMAIN, /* host name, IDNA-canonical, ".suffix" patterns */
	ACL_MANAGER,   /* cache_object: URLs and /squid-internal-mgr/ paths */
	ACL_AT_STEP,   /* ssl_bump step: SslBump1, SslBump2, SslBump3 */
	ACL_SERVER_NAME,       /* ssl::server_name: like dstdomain */
	ACL_SERVER_NAME_REGEX, /* ssl::server_name_regex: POSIX ERE */
	ACL_SSL_ERROR, /* ssl_error: server certificate verification errors */
	/* proxy_auth: user names (sorted), or REQUIRED */
	ACL_PROXY_AUTH,
	ACL_PROXY_AUTH_REGEX, /* proxy_auth_regex: POSIX ERE on the user */
};

/* Steps of ssl_bump, as at_step names them. */
enum bump_step {
	BUMP_STEP_NONE = 0, /* not on an ssl-bump port, or no TLS yet */
	BUMP_STEP1,         /* CONNECT (or fake CONNECT) received */
	BUMP_STEP2,         /* ClientHello read */
	BUMP_STEP3,         /* ServerHello (and certificate) read */
};

struct acl_net {
	int     family; /* AF_INET or AF_INET6 */
	uint8_t lo[16]; /* inclusive range, network byte order */
	uint8_t hi[16];
};

struct acl_range {
	uint32_t lo, hi;
};

struct acl {
	char         *name;
	enum acl_type type;
	bool          predefined; /* all, localhost, to_localhost, manager */
	size_t        n;          /* entries in the array for the type */
	union {
		struct acl_net   *nets;    /* SRC, DST */
		struct acl_range *ranges;  /* PORT */
		char            **strings; /* METHOD, DSTDOMAIN, SERVER_NAME,
		                              PROXY_AUTH (sorted) */
		struct acl_regex *regexes; /* SERVER_NAME_REGEX,
		                              PROXY_AUTH_REGEX */
		unsigned          steps;   /* AT_STEP: 1 << enum bump_step */
		unsigned ssl_errors; /* SSL_ERROR: enum tls_verify_error bits */
	} u;
	bool icase;    /* -i: SERVER_NAME_REGEX, PROXY_AUTH(_REGEX) */
	bool required; /* PROXY_AUTH "REQUIRED": any authenticated user */
};

struct acl_regex {
	char   *text;
	regex_t re;
};

struct acl_ref {
	const struct acl *acl;
	bool              negate; /* written as !NAME */
};

enum access_action {
	ACCESS_DENY = 0,
	ACCESS_ALLOW,
};

/* ssl_bump actions (Squid's); the order is the configuration's names. */
enum bump_action {
	BUMP_SPLICE = 0,
	BUMP_PEEK,
	BUMP_STARE,
	BUMP_BUMP,
	BUMP_TERMINATE,
};

/* on_unsupported_protocol actions. */
enum unsupported_action {
	UNSUPPORTED_RESPOND = 0,
	UNSUPPORTED_TUNNEL,
};

/*
 * One "http_access allow|deny [!]ACL..." line, or a line of another rule
 * list: action is then an enum bump_action or enum unsupported_action.
 */
struct access_rule {
	int                action;
	size_t             n;
	struct acl_ref    *refs;
	char             *where; /* "FILE:LINE", for debugging logs */
};

struct access_list {
	size_t              n;
	struct access_rule *rules;
};

/* What proxy_auth and proxy_auth_regex acls can know of the user. */
enum acl_auth {
	ACL_AUTH_NONE = 0, /* nothing, and nobody can be asked: they never
	                      match (no request yet, an intercepted one, or a
	                      list that cannot wait for a helper) */
	ACL_AUTH_NEEDED,   /* not known yet: they answer ACL_NEED_AUTH */
	ACL_AUTH_USER,     /* acl_ctx.user is authenticated */
};

/* What is known of a transaction when an access list is checked. */
struct acl_ctx {
	const struct sockaddr *src;   /* client address (after PROXY header) */
	const struct sockaddr *dst;   /* NULL while not yet resolved */
	bool                   dst_unknown; /* no address: dst never matches */
	const char            *method;
	const char            *host;  /* canonical host name or IP literal */
	uint16_t               port;
	const char            *url;   /* request target as received, or NULL */
	enum bump_step         step;  /* for at_step */
	/*
	 * ssl::server_name: the best names known at this step, canonical
	 * (hostname_canonical): the CONNECT host, then the SNI, then the
	 * names of the server certificate.  A match of any one matches.
	 */
	const char *const *server_names;
	size_t             nserver_names;
	/*
	 * ssl_error: what verifying the server's certificate found, a mask
	 * of enum tls_verify_error (tls_verify_errors()); 0 when it verified
	 * or was not verified.  An ssl_error acl matches when one of its
	 * errors is here.
	 */
	unsigned ssl_errors;
	/*
	 * proxy_auth, proxy_auth_regex: the user they compare when auth is
	 * ACL_AUTH_USER.
	 */
	enum acl_auth auth;
	const char   *user;
};

enum acl_verdict {
	ACL_NO_MATCH = 0,
	ACL_MATCH,
	ACL_NEED_DST,  /* a dst ACL was reached before DNS: resolve, retry */
	ACL_NEED_AUTH, /* a proxy_auth ACL needs the user: check, retry */
};

/*
 * Squid semantics: the first rule whose ACLs all match decides; with no
 * match the answer is the opposite of the last rule's action; with no rules
 * at all it is if_empty.  *rule (may be NULL) is set to the deciding rule,
 * or NULL for a default.  ACL_NEED_DST is returned as *need_dst = true and
 * ACCESS_DENY; call again once ctx->dst is set.
 */
enum access_action access_check(const struct access_list *list,
                                const struct acl_ctx *ctx,
                                enum access_action if_empty,
                                const struct access_rule **rule,
                                bool *need_dst);

/*
 * access_check() that also stops at a proxy_auth acl while ctx->auth is
 * ACL_AUTH_NEEDED: *wait is ACL_NEED_DST or ACL_NEED_AUTH when an acl
 * waits for that (the answer is then ACCESS_DENY: find it out, and call
 * again), ACL_MATCH when a rule or the default decided.  http_access does
 * this; lists that cannot wait use access_check() or access_first().
 */
enum access_action access_evaluate(const struct access_list  *list,
                                   const struct acl_ctx      *ctx,
                                   enum access_action         if_empty,
                                   const struct access_rule **rule,
                                   enum acl_verdict          *wait);

/*
 * Squid's re-challenge: a deny rule whose last acl is a proxy_auth or
 * proxy_auth_regex acl answers 407, so that the user may log in as
 * someone else, where any other deny answers 403.
 */
bool access_rule_challenges(const struct access_rule *rule);

/*
 * The first rule whose ACLs all match and whose action is in usable (a
 * mask of 1 << action), or NULL: ssl_bump and on_unsupported_protocol,
 * where impossible actions are skipped and no match has a per-directive
 * default.  A dst ACL does not match while ctx->dst is NULL, nor a
 * proxy_auth ACL while the user is not known.
 */
const struct access_rule *access_first(const struct access_list *list,
                                       const struct acl_ctx *ctx,
                                       unsigned usable);

enum acl_verdict acl_match(const struct acl *acl, const struct acl_ctx *ctx);

/*
 * Adds one value (as written on an acl line, or a line of an acl file) to
 * acl.  Returns 0; 1 with *why set to a warning (the value is taken, but
 * matches nothing); or -1 with *why set.  *why is an N_() string.  Flags
 * such as -i are handled by the configuration parser before values reach
 * this function.
 */
int  acl_add_value(struct acl *acl, const char *value, const char **why);
/* Sorts and deduplicates after the last acl_add_value(). */
void acl_finish(struct acl *acl);
void acl_clear(struct acl *acl);
/* "src" -> ACL_SRC; -1 if unknown, with *why naming a known-later type. */
int  acl_type_from_name(const char *name, const char **why);

#endif
