/*
 * route: Squid's peer selection, without ICP, digests or dead-peer
 * detection: the order is fixed by the configuration and the request.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
	bool        first; /* no parent added yet */
};

static void
add(struct route *r, const struct peer_conf *peer, enum hop_code code)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->hops[i].peer == peer)
			return; /* each peer, and direct, at most once */
	if (r->n == ROUTE_HOPS_MAX)
		return;
	if (peer != NULL)
		r->first = false;
	r->hops[r->n].peer = peer;
	r->hops[r->n].code = code;
	r->n++;
}

/*
 * Squid's first-up parent, then all the others: every parent not down
 * counts as up, so this is file order, and a "default" parent (the last
 * resort when none is up) takes its place in it.  With down_too, the
 * parents that are down, in the same order.
 */
static void
add_parents(struct route *r, const struct conf *cf, const struct acl_ctx *ctx,
            const bool *down, bool down_too)
{
	for (size_t i = 0; i < cf->npeers; i++) {
		const struct peer_conf *p = &cf->peers[i];
		bool                    is_down = down != NULL && down[i];

		if (is_down == down_too && route_allowed(&p->access, ctx, true))
			add(r, p, r->first ? HOP_FIRSTUP_PARENT
			                   : HOP_ANY_OLD_PARENT);
	}
}

size_t
route_select(const struct conf *cf, const struct acl_ctx *ctx,
             bool hierarchical, const bool *down, struct hop *hops)
{
	struct route r = { hops, 0, true };
	bool         parents;

	if (cf->npeers == 0 || route_allowed(&cf->always_direct, ctx, false)) {
		add(&r, NULL, HOP_DIRECT);
		return r.n;
	}
	if (route_allowed(&cf->never_direct, ctx, false)) {
		add_parents(&r, cf, ctx, down, false);
		add_parents(&r, cf, ctx, down, true);
		return r.n;
	}
	parents = hierarchical || !cf->nonhierarchical_direct;
	if (cf->prefer_direct)
		add(&r, NULL, HOP_DIRECT);
	if (parents)
		add_parents(&r, cf, ctx, down, false);
	add(&r, NULL, HOP_DIRECT);
	if (parents)
		add_parents(&r, cf, ctx, down, true);
	return r.n;
}

/* Peer health */

struct peer_health_entry {
	char    *key;
	unsigned fails;      /* in a row */
	double   down_until; /* 0: up */
};

struct peer_health {
	struct peer_health_entry *v;
	size_t                    n;
};

struct peer_health *
peer_health_new(void)
{
	return calloc(1, sizeof(struct peer_health));
}

void
peer_health_free(struct peer_health *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].key);
	free(h->v);
	free(h);
}

static struct peer_health_entry *
health_find(const struct peer_health *h, const char *key)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].key, key) == 0)
			return &h->v[i];
	return NULL;
}

bool
peer_health_is_down(const struct peer_health *h, const char *key, double now)
{
	const struct peer_health_entry *e = health_find(h, key);

	return e != NULL && now < e->down_until;
}

bool
peer_health_failed(struct peer_health *h, const char *key, unsigned limit,
                   double now)
{
	struct peer_health_entry *e = health_find(h, key), *v;

	if (e == NULL) {
		/* A few parents per configuration: a list is enough. */
		v = realloc(h->v, (h->n + 1) * sizeof(*v));
		if (v == NULL)
			return false;
		h->v = v;
		e = &h->v[h->n];
		if ((e->key = strdup(key)) == NULL)
			return false;
		e->fails = 0;
		e->down_until = 0;
		h->n++;
	}
	/* After its rest a down parent gets one try: a failure, more rest. */
	if (++e->fails >= limit && now >= e->down_until) {
		e->down_until = now + ROUTE_DOWN_SECONDS;
		return true;
	}
	return false;
}

void
peer_health_ok(struct peer_health *h, const char *key)
{
	struct peer_health_entry *e = health_find(h, key);

	if (e != NULL) {
		e->fails = 0;
		e->down_until = 0;
	}
}

bool
route_hierarchical(const char *method, bool has_auth)
{
	return !has_auth &&
	       (strcmp(method, "GET") == 0 || strcmp(method, "TRACE") == 0);
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
