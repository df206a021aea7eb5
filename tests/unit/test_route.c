#include "config.h"

/*
 * route: Squid's peer selection as route_select() orders it: always_direct,
 * never_direct, hierarchical requests, nonhierarchical_direct,
 * prefer_direct, cache_peer_access, and the hierarchy codes of the log.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conf.h"
#include "route.h"
#include "tap.h"

static struct conf *
load(const char *text)
{
	struct conf_diag d = { 0 };
	struct conf     *c;
	char             buf[4096];

	snprintf(buf, sizeof(buf), "http_port 3128\n%s", text);
	c = conf_load_string("r.conf", buf, &d);
	for (size_t i = 0; i < d.n; i++)
		printf("# %s\n", d.v[i].text);
	conf_diag_clear(&d);
	if (c == NULL)
		abort();
	return c;
}

/* The parents that count as down, by index; NULL: none. */
static const bool *down;

/* The route as "name/CODE name/CODE", direct written as "-". */
static const char *
route(const struct conf *c, const char *method, const char *host)
{
	static char    out[512];
	struct hop     hops[ROUTE_HOPS_MAX];
	struct acl_ctx ctx;
	size_t         n, len = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.method = method;
	ctx.host = host;
	ctx.port = 80;
	n = route_select(c, &ctx, route_hierarchical(method, false), down, hops);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s/%s",
		                        i ? " " : "",
		                        hops[i].peer ? hops[i].peer->name : "-",
		                        hop_code_name(hops[i].code));
	return out;
}

static void
expect(const struct conf *c, const char *method, const char *host,
       const char *want, const char *what)
{
	const char *got = route(c, method, host);

	ok(strcmp(got, want) == 0, "%s: %s %s -> %s", what, method, host, want);
	if (strcmp(got, want) != 0)
		printf("# got '%s'\n", got);
}

static void
test_health(void)
{
	struct peer_health *h = peer_health_new();

	ok(h != NULL && !peer_health_is_down(h, "p", 0),
	   "health: unknown parents are up");
	ok(!peer_health_failed(h, "p", 3, 100) &&
	           !peer_health_failed(h, "p", 3, 101),
	   "health: two failures of three");
	peer_health_ok(h, "p");
	ok(!peer_health_failed(h, "p", 3, 102) &&
	           !peer_health_failed(h, "p", 3, 103),
	   "health: a success starts the count again");
	ok(peer_health_failed(h, "p", 3, 104) && peer_health_is_down(h, "p", 104),
	   "health: the third failure in a row takes it down");
	ok(!peer_health_failed(h, "p", 3, 110),
	   "health: failures while down do not extend the rest");
	ok(peer_health_is_down(h, "p", 104 + ROUTE_DOWN_SECONDS - 1) &&
	           !peer_health_is_down(h, "p", 104 + ROUTE_DOWN_SECONDS),
	   "health: up again after its rest");
	ok(peer_health_failed(h, "p", 3, 200) && peer_health_is_down(h, "p", 200),
	   "health: one failed try after the rest: down again");
	ok(!peer_health_is_down(h, "q", 200), "health: by key");
	peer_health_ok(h, "p");
	ok(!peer_health_is_down(h, "p", 201), "health: a success: up");
	peer_health_free(h);
	peer_health_free(NULL);
}

int
main(void)
{
	struct conf *c;

	c = load("");
	expect(c, "GET", "a.example", "-/HIER_DIRECT", "no peer");
	conf_unref(c);

	c = load("cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer p2 parent 3128 0 no-query default\n");
	expect(c, "GET", "a.example",
	       "p1/FIRSTUP_PARENT p2/ANY_OLD_PARENT -/HIER_DIRECT",
	       "hierarchical: parents, then direct");
	expect(c, "TRACE", "a.example",
	       "p1/FIRSTUP_PARENT p2/ANY_OLD_PARENT -/HIER_DIRECT",
	       "TRACE is hierarchical");
	expect(c, "HEAD", "a.example", "-/HIER_DIRECT",
	       "HEAD is not hierarchical (Squid's clientHierarchical())");
	expect(c, "POST", "a.example", "-/HIER_DIRECT",
	       "nonhierarchical_direct: POST direct");
	expect(c, "CONNECT", "a.example", "-/HIER_DIRECT",
	       "nonhierarchical_direct: CONNECT direct");
	conf_unref(c);

	c = load("cache_peer p1 parent 3128 0 no-query\n"
	         "nonhierarchical_direct off\n");
	expect(c, "CONNECT", "a.example", "p1/FIRSTUP_PARENT -/HIER_DIRECT",
	       "nonhierarchical_direct off");
	conf_unref(c);

	c = load("cache_peer p1 parent 3128 0 no-query\n"
	         "prefer_direct on\n");
	expect(c, "GET", "a.example", "-/HIER_DIRECT p1/FIRSTUP_PARENT",
	       "prefer_direct on");
	conf_unref(c);

	c = load("acl inside dstdomain .corp.example\n"
	         "acl p2only dstdomain p2.example\n"
	         "cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer_access p1 deny p2only\n"
	         "cache_peer p2 parent 3128 0 no-query\n"
	         "cache_peer_access p2 allow p2only\n"
	         "always_direct allow inside\n"
	         "never_direct allow all\n");
	expect(c, "GET", "www.example", "p1/FIRSTUP_PARENT",
	       "never_direct: parents only");
	expect(c, "CONNECT", "www.example", "p1/FIRSTUP_PARENT",
	       "never_direct: CONNECT through a parent");
	expect(c, "GET", "p2.example", "p2/FIRSTUP_PARENT",
	       "cache_peer_access chooses the parent");
	expect(c, "POST", "intranet.corp.example", "-/HIER_DIRECT",
	       "always_direct wins over never_direct");
	conf_unref(c);

	c = load("acl none dstdomain none.example\n"
	         "cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer_access p1 deny none\n"
	         "never_direct allow all\n");
	expect(c, "GET", "none.example", "", "no route at all");
	conf_unref(c);

	c = load("acl d dst 192.0.2.0/24\n"
	         "cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer_access p1 allow !d\n"
	         "never_direct allow all\n");
	expect(c, "GET", "a.example", "",
	       "an unknown dst fails the rule, negated or not");
	conf_unref(c);

	c = load("cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer p2 parent 3128 0 no-query\n"
	         "cache_peer p3 parent 3128 0 no-query\n");
	{
		static const bool p1_down[] = { true, false, false };

		down = p1_down;
		expect(c, "GET", "a.example",
		       "p2/FIRSTUP_PARENT p3/ANY_OLD_PARENT -/HIER_DIRECT "
		       "p1/ANY_OLD_PARENT",
		       "a parent that is down comes last");
		expect(c, "POST", "a.example", "-/HIER_DIRECT",
		       "down or not, POST goes direct");
		down = NULL;
	}
	conf_unref(c);
	c = load("cache_peer p1 parent 3128 0 no-query\n"
	         "cache_peer p2 parent 3128 0 no-query\n"
	         "never_direct allow all\n");
	{
		static const bool all_down[] = { true, true };

		down = all_down;
		expect(c, "GET", "a.example",
		       "p1/FIRSTUP_PARENT p2/ANY_OLD_PARENT",
		       "never_direct, every parent down: all tried still");
		down = NULL;
	}
	conf_unref(c);

	test_health();
	ok(route_hierarchical("GET", false) && route_hierarchical("TRACE", false) &&
	           !route_hierarchical("GET", true) &&
	           !route_hierarchical("HEAD", false) &&
	           !route_hierarchical("POST", false),
	   "hierarchical: GET and TRACE without Authorization");
	ok(strcmp(hop_code_name(HOP_ORIGINAL_DST), "ORIGINAL_DST") == 0,
	   "ORIGINAL_DST");
	return tap_done();
}
