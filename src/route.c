/*
 * route: Squid's peer selection, without ICP, digests or dead-peer
 * detection: the order is fixed by the configuration and the request.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "acl.h"
#include "conf.h"
#include "route.h"

/* An allow|deny list where an unknown dst fails its rule: Squid's answer. */
static bool
route_allowed(const struct access_list *list, const struct acl_ctx *ctx,
              bool if_empty)
{
	const struct access_rule *r;

	if (list->n == 0)
		return if_empty;
	r = access_first(list, ctx, 1u << ACCESS_ALLOW | 1u << ACCESS_DENY);
	if (r != NULL)
		return r->action == ACCESS_ALLOW;
	/* No line matched: the opposite of the last one. */
	return list->rules[list->n - 1].action != ACCESS_ALLOW;
}

struct route {
	struct hop *hops;
	size_t      n;
};

static void
add(struct route *r, const struct peer_conf *peer, enum hop_code code)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->hops[i].peer == peer)
			return; /* each peer, and direct, at most once */
	if (r->n == ROUTE_HOPS_MAX)
		return;
	r->hops[r->n].peer = peer;
	r->hops[r->n].code = code;
	r->n++;
}

/*
 * Squid's first-up parent, then all the others: with no dead-peer
 * detection every parent is up, so this is file order, and a "default"
 * parent (the last resort when none is up) takes its place in it.
 */
static void
add_parents(struct route *r, const struct conf *cf, const struct acl_ctx *ctx)
{
	enum hop_code code = HOP_FIRSTUP_PARENT;

	for (size_t i = 0; i < cf->npeers; i++) {
		const struct peer_conf *p = &cf->peers[i];

		if (route_allowed(&p->access, ctx, true)) {
			add(r, p, code);
			code = HOP_ANY_OLD_PARENT;
		}
	}
}

size_t
route_select(const struct conf *cf, const struct acl_ctx *ctx,
             bool hierarchical, struct hop *hops)
{
	struct route r = { hops, 0 };
	bool         parents;

	if (cf->npeers == 0 || route_allowed(&cf->always_direct, ctx, false)) {
		add(&r, NULL, HOP_DIRECT);
		return r.n;
	}
	if (route_allowed(&cf->never_direct, ctx, false)) {
		add_parents(&r, cf, ctx);
		return r.n;
	}
	parents = hierarchical || !cf->nonhierarchical_direct;
	if (cf->prefer_direct)
		add(&r, NULL, HOP_DIRECT);
	if (parents)
		add_parents(&r, cf, ctx);
	add(&r, NULL, HOP_DIRECT);
	return r.n;
}

const char *
hop_code_name(enum hop_code code)
{
	switch (code) {
	case HOP_DIRECT:
		return "HIER_DIRECT";
	case HOP_ORIGINAL_DST:
		return "ORIGINAL_DST";
	case HOP_FIRSTUP_PARENT:
		return "FIRSTUP_PARENT";
	case HOP_ANY_OLD_PARENT:
		return "ANY_OLD_PARENT";
	}
	return "HIER_NONE";
}
