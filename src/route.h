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
 * Fills hops (room for ROUTE_HOPS_MAX) in the order to try them and
 * returns how many; 0 means no route at all (never_direct with no parent
 * allowed).  always_direct allow: direct only; never_direct allow: parents
 * only; otherwise a hierarchical request (GET or HEAD, not CONNECT) tries
 * the parents and then direct, and any other only direct while
 * nonhierarchical_direct is on; prefer_direct puts direct first.  The
 * parents: those cache_peer_access allows, in file order ("default" only
 * matters in Squid when no parent is up, and every parent counts as up
 * here).  A dst ACL never matches here: the route is chosen before DNS.
 */
size_t route_select(const struct conf *cf, const struct acl_ctx *ctx,
                    bool hierarchical, struct hop *hops);

/* "HIER_DIRECT", "FIRSTUP_PARENT", ...: the access log's hierarchy code. */
const char *hop_code_name(enum hop_code code);

#endif
