/*
 * route: where a request goes: to the origin itself or through cache_peer
 * parents, and in which order to try them, as Squid's peer selection
 * orders them.  Pure: the configuration and what is known of the request
 * in, a list of hops out.
 */
#ifndef BASCULE_ROUTE_H
#define BASCULE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct acl_ctx;
struct conf;
struct peer_conf;

/* Squid's hierarchy codes, as the access log shows them. */
enum hop_code {
	HOP_DIRECT = 0,      /* HIER_DIRECT: the origin */
	HOP_ORIGINAL_DST,    /* ORIGINAL_DST: an intercepted destination */
	HOP_FIRSTUP_PARENT,  /* the first parent cache_peer_access allows */
	HOP_ANY_OLD_PARENT,  /* any other allowed parent, as a fallback */
};

struct hop {
	const struct peer_conf *peer; /* NULL: direct */
	enum hop_code           code;
};

/* At most this many hops per request (Squid's forward_max_tries). */
#define ROUTE_HOPS_MAX 25

/*
 * How the parents of one process have been answering, by pool key: after
 * connect-fail-limit failures in a row a parent counts as down (Squid's
 * dead peer) until it has rested ROUTE_DOWN_SECONDS, and any success
 * makes it up again.
 */
struct peer_health;

#define ROUTE_DOWN_SECONDS 30.0

struct peer_health *peer_health_new(void);
void                peer_health_free(struct peer_health *h); /* NULL ok */
bool peer_health_is_down(const struct peer_health *h, const char *key,
                         double now);
/* One more failure; true when this one takes the parent down. */
bool peer_health_failed(struct peer_health *h, const char *key,
                        unsigned limit, double now);
void peer_health_ok(struct peer_health *h, const char *key);

/*
 * Fills hops (room for ROUTE_HOPS_MAX) in the order to try them and
 * returns how many; 0 means no route at all (never_direct with no parent
 * allowed).  always_direct allow: direct only; never_direct allow: parents
 * only; otherwise a hierarchical request (route_hierarchical()) tries
 * the parents and then direct, and any other only direct while
 * nonhierarchical_direct is on; prefer_direct puts direct first.  The
 * parents: those cache_peer_access allows, in file order ("default" only
 * matters in Squid when no parent is up, and every parent counts as up
 * here).  down, when not NULL, flags the parents (by index in cf->peers)
 * that count as down: they come last, after direct, so that a request
 * still reaches one when nothing else answers.  A dst ACL never matches
 * here: the route is chosen before DNS.
 */
size_t route_select(const struct conf *cf, const struct acl_ctx *ctx,
                    bool hierarchical, const bool *down, struct hop *hops);

/*
 * Squid's hierarchical requests (clientHierarchical()): GET and TRACE
 * without credentials for the server (an Authorization field).
 */
bool route_hierarchical(const char *method, bool has_auth);

/* "HIER_DIRECT", "FIRSTUP_PARENT", ...: the access log's hierarchy code. */
const char *hop_code_name(enum hop_code code);

#endif
