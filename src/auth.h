/*
 * auth: proxy authentication with Squid's Basic helpers (auth_param basic),
 * for one worker: the helper processes, the requests that wait for them,
 * and the answers that are trusted for credentialsttl.
 *
 * Helpers are children of the worker that uses them, as in Squid, where
 * each worker (kid) runs its own: they run as the worker does, after the
 * privileges are dropped, they need no process of their own to be talked
 * to, and their answers fill that worker's cache.  They are started with
 * fork() and execv() (no shell), their standard input and output one end
 * of a socketpair, their standard error the worker's; a worker that dies
 * takes them along (PR_SET_PDEATHSIG).  They are reaped by libev's child
 * watchers, restarted when they die, with a growing delay when they keep
 * dying at once, and let go of when a reload changes the program or the
 * number of helpers: those finish what they took, then get end-of-file.
 *
 * Nothing blocks the loop: the pipes are non-blocking, a line is written
 * whole or its rest waits for EV_WRITE, answers are read as they come.
 * Requests wait in a bounded queue (queue-size=) when every helper is
 * busy; a full queue, a helper that answers BH or garbage, dies, or does
 * not answer within the timeout fails the requests it holds (req->error),
 * and one that answers garbage is killed.  Answers are delivered from the
 * loop, never from inside auth_start() or auth_cancel().
 *
 * Only OK answers are cached, keyed by the user name with an HMAC-SHA256
 * of the user name and password under a key drawn at start: no password
 * is kept once its line went to the helper, and none is ever logged.
 */
#ifndef BASCULE_AUTH_H
#define BASCULE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_parse.h"

struct auth;
struct auth_conf;
struct auth_helper;
struct ev_loop;

enum auth_status {
	AUTH_DONE = 0, /* answered at once: req->ok, req->error */
	AUTH_PENDING,  /* req->cb(req) comes once, unless auth_cancel() first */
};

struct auth_req;
typedef void auth_fn(struct auth_req *req);

/*
 * One check of a user's credentials.  Owned by the caller (embedded in
 * struct conn), zeroed before its first use; only auth.c writes it.
 */
struct auth_req {
	auth_fn *cb;
	void    *data; /* for the caller */
	/* The answer. */
	bool ok;           /* OK: valid credentials (from a helper or the
	                      cache) */
	const char *error; /* the helper failed (BH, garbage, died, timed
	                      out, queue full, none running): why, static
	                      text; NULL after OK or ERR */
	char message[AUTH_MESSAGE_MAX]; /* the helper's message= */
	/* private */
	int                 state;
	struct auth        *auth;
	struct auth_req    *prev, *next; /* in the queue or the done list */
	struct auth_helper *helper;      /* sent to it, on channel */
	unsigned            channel;
	char                user[AUTH_USER_MAX + 1];
	uint8_t             key[32]; /* HMAC of user and password */
	char               *line;    /* "USER PASS\n" escaped, until sent */
	size_t              line_len;
};

/* The helpers of one worker on loop (the default loop: they are its
 * children).  None runs before auth_configure().  NULL: no memory. */
struct auth *auth_new(struct ev_loop *loop);

/*
 * Applies a configuration generation's auth_param basic; answers are
 * expected within timeout_ms.  When the program, its arguments, children
 * or concurrency change, the running helpers are let go (after the
 * requests they hold) and new ones start, and the cache is emptied;
 * otherwise the helpers go on.  conf->argv NULL: no helper, and
 * auth_start() fails.
 */
void auth_configure(struct auth *a, const struct auth_conf *conf,
                    uint64_t timeout_ms);

/*
 * Stops every helper (end-of-file, then SIGKILL for one still running
 * after a second) and reaps it; requests are dropped without callbacks.
 * After the loop has stopped.  Accepts NULL.
 */
void auth_free(struct auth *a);

/*
 * Checks cred (which the caller wipes afterwards): AUTH_DONE with the
 * answer in req when the cache has it, or when it cannot be asked (no
 * program, the queue is full, no helper can run); else AUTH_PENDING.
 * a may be NULL (no helpers: AUTH_DONE with an error).
 */
enum auth_status auth_start(struct auth *a, struct auth_req *req,
                            const struct auth_basic *cred);

/* Forgets req: no callback comes.  No-op when it is not pending. */
void auth_cancel(struct auth_req *req);

#endif
