/*
 * auth: the Basic helpers of one worker and their cache (see auth.h).
 *
 * A request goes: cache lookup; else the queue; auth_pump() starts
 * helpers as the load needs (children, startup=, idle=) and hands queued
 * requests to helpers with a free channel (concurrency=, or one request at
 * a time); the helper's answer line, matched by its channel-ID, moves the
 * request to the done list, and deliver_cb() calls the requests of that
 * list back from the loop.  A request cancelled while its helper works on
 * it leaves its channel abandoned: the answer still comes and is dropped,
 * and the channel is not reused before, so an answer can never be taken
 * for another request's.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "auth.h"
#include "auth_parse.h"
#include "conf.h"
#include "log.h"

#define AUTH_CACHE_MAX   4096 /* users whose OK is remembered */
#define AUTH_BUCKETS     1024 /* of the cache's hash table */
#define AUTH_QUICK_DEATH 10.0 /* s: a helper dying sooner died "at once" */
#define AUTH_BACKOFF_MAX 60.0 /* s: the longest wait before a restart */
#define AUTH_RETIRE_WAIT 10.0 /* s: a helper let go has to exit */
#define AUTH_STOP_WAIT   1.0  /* s: at auth_free(), before SIGKILL */

enum req_state {
	REQ_IDLE = 0,
	REQ_QUEUED, /* waits for a helper */
	REQ_SENT,   /* a helper has it */
	REQ_DONE,   /* answered: waits for deliver_cb() */
};

/* A channel: free, or a request in the helper's hands. */
struct auth_slot {
	struct auth_req *req;       /* NULL: free, unless abandoned */
	bool             abandoned; /* cancelled: its answer is to come */
	double           sent;
};

struct auth_helper {
	struct auth        *auth;
	struct auth_helper *next;
	pid_t               pid; /* 0 once reaped */
	int                 fd;  /* our end of the socketpair; -1: closed */
	ev_io               io;
	ev_child            child;
	ev_timer            timer;    /* an answer is due, or an exit */
	unsigned            gen;      /* of the configuration it runs */
	bool                retiring; /* takes no more requests */
	bool                eof_sent; /* we closed its input */
	bool                broken;   /* killed by us: garbage, timeout */
	double              started;
	unsigned            nslots; /* concurrency, or 1 */
	bool                with_channel;
	unsigned            nbusy; /* slots taken, abandoned ones too */
	struct auth_slot   *slots;
	char               *out; /* a line being written: AUTH_LINE_MAX */
	size_t              out_len, out_off;
	char                in[AUTH_REPLY_MAX];
	size_t              in_len;
};

struct auth_entry {
	struct auth_entry *hnext;         /* in its bucket */
	struct auth_entry *newer, *older; /* LRU */
	double             expires;
	uint8_t            key[32];
	char               user[];
};

struct auth {
	struct ev_loop *loop;
	/* What auth_configure() set. */
	char   **argv; /* NULL: no program */
	unsigned gen;
	unsigned children, startup, idle, concurrency, queue_size;
	double   ttl, timeout;

	struct auth_helper *helpers;
	unsigned            nrunning; /* of gen, not retiring */
	struct auth_req    *queue_head, *queue_tail;
	unsigned            nqueued;
	struct auth_req    *done_head, *done_tail;
	ev_timer            deliver; /* calls the done list back */
	ev_timer            restart; /* the end of a restart delay */
	double              backoff_until;
	unsigned            quick_deaths;

	struct auth_entry *buckets[AUTH_BUCKETS];
	struct auth_entry *newest, *oldest;
	size_t             nentries;
	uint8_t            secret[32];
	bool               cache_ok; /* secret drawn */
};

static void auth_pump(struct auth *a);
static void helper_lost(struct auth_helper *h, const char *why);

static const char *
prog_name(const struct auth *a)
{
	return a->argv != NULL ? a->argv[0] : "-";
}

/* ------------------------------------------------------------------ */
/* Requests: the queue, the done list, their delivery */

static void
list_unlink(struct auth_req **head, struct auth_req **tail, struct auth_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		*tail = r->prev;
	r->prev = r->next = NULL;
}

static void
list_append(struct auth_req **head, struct auth_req **tail, struct auth_req *r)
{
	r->next = NULL;
	r->prev = *tail;
	if (*tail != NULL)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static void
req_wipe_line(struct auth_req *r)
{
	if (r->line != NULL) {
		explicit_bzero(r->line, r->line_len);
		free(r->line);
	}
	r->line = NULL;
	r->line_len = 0;
}

/* The answer is in r: it is called back from the loop. */
static void
req_done(struct auth *a, struct auth_req *r)
{
	req_wipe_line(r);
	r->helper = NULL;
	r->state = REQ_DONE;
	list_append(&a->done_head, &a->done_tail, r);
	if (!ev_is_active(&a->deliver) && !ev_is_pending(&a->deliver)) {
		ev_timer_set(&a->deliver, 0.0, 0.0);
		ev_timer_start(a->loop, &a->deliver);
	}
}

static void
req_fail(struct auth *a, struct auth_req *r, const char *why)
{
	r->ok = false;
	r->error = why;
	req_done(a, r);
}

static void
deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct auth     *a = w->data;
	struct auth_req *r;

	(void)loop;
	(void)revents;
	/* A callback may start or cancel requests: take one at a time. */
	while ((r = a->done_head) != NULL) {
		list_unlink(&a->done_head, &a->done_tail, r);
		r->state = REQ_IDLE;
		r->auth = NULL;
		r->cb(r);
	}
}

/* ------------------------------------------------------------------ */
/* The cache of OK answers */

static uint32_t
user_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

/* HMAC-SHA256 under the worker's key of user, a NUL, and the password. */
static void
cred_key(const struct auth *a, const struct auth_basic *cred, uint8_t *out)
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, sizeof(a->secret), a->secret);
	hmac_sha256_update(&ctx, cred->user_len, (const uint8_t *)cred->user);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)"");
	hmac_sha256_update(&ctx, cred->pass_len, (const uint8_t *)cred->pass);
	hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
	explicit_bzero(&ctx, sizeof(ctx));
}

static struct auth_entry **
cache_slot(struct auth *a, const char *user)
{
	struct auth_entry **p = &a->buckets[user_hash(user) % AUTH_BUCKETS];

	while (*p != NULL && strcmp((*p)->user, user) != 0)
		p = &(*p)->hnext;
	return p;
}

static void
cache_remove(struct auth *a, struct auth_entry **slot)
{
	struct auth_entry *e = *slot;

	*slot = e->hnext;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		a->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		a->oldest = e->newer;
	a->nentries--;
	explicit_bzero(e->key, sizeof(e->key));
	free(e);
}

static void
cache_make_newest(struct auth *a, struct auth_entry *e)
{
	if (a->newest == e)
		return;
	if (e->newer != NULL)
		e->newer->older = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		a->oldest = e->newer;
	e->newer = NULL;
	e->older = a->newest;
	if (a->newest != NULL)
		a->newest->newer = e;
	a->newest = e;
	if (a->oldest == NULL)
		a->oldest = e;
}

static bool
cache_lookup(struct auth *a, const char *user, const uint8_t *key)
{
	struct auth_entry **slot = cache_slot(a, user);
	struct auth_entry  *e = *slot;

	if (e == NULL)
		return false;
	if (ev_now(a->loop) >= e->expires) {
		cache_remove(a, slot);
		return false;
	}
	if (!memeql_sec(e->key, key, sizeof(e->key)))
		return false; /* another password: the helper decides */
	cache_make_newest(a, e);
	return true;
}

/* One entry per user: the last password that was OK. */
static void
cache_put(struct auth *a, const char *user, const uint8_t *key)
{
	struct auth_entry **slot;
	struct auth_entry  *e;
	size_t              ulen = strlen(user);

	if (!a->cache_ok || a->ttl <= 0)
		return;
	slot = cache_slot(a, user);
	if (*slot != NULL)
		cache_remove(a, slot);
	while (a->nentries >= AUTH_CACHE_MAX && a->oldest != NULL)
		cache_remove(a, cache_slot(a, a->oldest->user));
	if ((e = calloc(1, sizeof(*e) + ulen + 1)) == NULL)
		return; /* asked again next time */
	memcpy(e->user, user, ulen + 1);
	memcpy(e->key, key, sizeof(e->key));
	e->expires = ev_now(a->loop) + a->ttl;
	slot = cache_slot(a, user);
	*slot = e;
	e->older = a->newest;
	if (a->newest != NULL)
		a->newest->newer = e;
	a->newest = e;
	if (a->oldest == NULL)
		a->oldest = e;
	a->nentries++;
}

static void
cache_flush(struct auth *a)
{
	while (a->oldest != NULL)
		cache_remove(a, cache_slot(a, a->oldest->user));
}

/* ------------------------------------------------------------------ */
/* Helper processes */

/*
 * In the child, between fork() and execv(): async-signal-safe calls only.
 * The helper gets the default signal mask and dispositions, fd as its
 * standard input and output, the worker's standard error, and nothing
 * else; it dies with the worker.
 */
static void __attribute__((noreturn))
helper_exec(int fd, char *const *argv, char *const *envp, pid_t parent)
{
	static const char failed[] = "bascule: cannot run the auth helper\n";
	struct sigaction  sa;
	sigset_t          none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL); /* the worker ignores it */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0)
		_exit(127);
#ifdef HAVE_CLOSE_RANGE
	if (close_range(3, ~0u, 0) < 0)
#endif
	{
		struct rlimit rl;
		rlim_t        max = 65536;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
			max = rl.rlim_cur;
		for (rlim_t i = 3; i < max; i++)
			close((int)i);
	}
	execve(argv[0], argv, envp);
	if (write(STDERR_FILENO, failed, sizeof(failed) - 1) < 0)
		_exit(127);
	_exit(127);
}

static void helper_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void helper_child_cb(struct ev_loop *loop, ev_child *w, int revents);
static void helper_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void
helper_free(struct auth_helper *h)
{
	struct auth         *a = h->auth;
	struct auth_helper **p;

	assert(h->pid == 0 && h->fd < 0);
	for (p = &a->helpers; *p != h; p = &(*p)->next)
		continue;
	*p = h->next;
	ev_timer_stop(a->loop, &h->timer);
	if (h->out != NULL) {
		explicit_bzero(h->out, AUTH_LINE_MAX);
		free(h->out);
	}
	free(h->slots);
	free(h);
}

extern char **environ;

/*
 * The worker's environment for a helper, but NOTIFY_SOCKET: only the
 * service's main process speaks to systemd.  The strings are environ's.
 */
static char **
helper_env(void)
{
	size_t n = 0, o = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
			env[o++] = environ[i];
	return env;
}

/* A new helper of the current configuration; false if it cannot start. */
static bool
helper_spawn(struct auth *a)
{
	struct auth_helper *h;
	char              **env;
	int                 sv[2];
	pid_t               pid, self = getpid();

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return false;
	h->nslots = a->concurrency > 0 ? a->concurrency : 1;
	h->with_channel = a->concurrency > 0;
	h->slots = calloc(h->nslots, sizeof(*h->slots));
	h->out = malloc(AUTH_LINE_MAX);
	if (h->slots == NULL || h->out == NULL) {
		free(h->slots);
		free(h->out);
		free(h);
		return false;
	}
	if ((env = helper_env()) == NULL)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_msg(LOG_ERR, "auth helper %s: socketpair: %s", prog_name(a),
		        strerror(errno));
		free(env);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "auth helper %s: fork: %s", prog_name(a),
		        strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(env);
		goto fail;
	}
	if (pid == 0)
		helper_exec(sv[1], a->argv, env, self);
	free(env);
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		log_msg(LOG_WARNING, "auth helper %s: O_NONBLOCK: %s",
		        prog_name(a), strerror(errno));
	h->auth = a;
	h->pid = pid;
	h->fd = sv[0];
	h->gen = a->gen;
	h->started = ev_now(a->loop);
	ev_io_init(&h->io, helper_io_cb, h->fd, EV_READ);
	h->io.data = h;
	ev_io_start(a->loop, &h->io);
	ev_child_init(&h->child, helper_child_cb, pid, 0);
	h->child.data = h;
	ev_child_start(a->loop, &h->child);
	ev_init(&h->timer, helper_timer_cb);
	h->timer.data = h;
	h->next = a->helpers;
	a->helpers = h;
	a->nrunning++;
	log_msg(LOG_INFO, "auth helper %s started (pid %d)", prog_name(a),
	        (int)pid);
	return true;
fail:
	free(h->slots);
	free(h->out);
	free(h);
	return false;
}

/* Arms the timer for the oldest answer due; stops it when none is. */
static void
helper_arm(struct auth_helper *h)
{
	struct auth *a = h->auth;
	double       oldest = 0;
	bool         any = false;

	if (h->eof_sent)
		return; /* its timer waits for the exit */
	ev_timer_stop(a->loop, &h->timer);
	for (unsigned i = 0; i < h->nslots; i++) {
		const struct auth_slot *s = &h->slots[i];

		if ((s->req != NULL || s->abandoned) &&
		    (!any || s->sent < oldest)) {
			oldest = s->sent;
			any = true;
		}
	}
	if (!any)
		return;
	oldest += a->timeout - ev_now(a->loop);
	ev_timer_set(&h->timer, oldest > 0.001 ? oldest : 0.001, 0.0);
	ev_timer_start(a->loop, &h->timer);
}

/* No more requests for h: end-of-file on its input once it is idle. */
static void
helper_retire(struct auth_helper *h)
{
	struct auth *a = h->auth;

	if (!h->retiring) {
		h->retiring = true;
		if (h->gen == a->gen && h->fd >= 0)
			a->nrunning--;
	}
	if (h->eof_sent || h->fd < 0 || h->nbusy > 0 || h->out_len > 0)
		return;
	shutdown(h->fd, SHUT_WR);
	h->eof_sent = true;
	ev_timer_stop(a->loop, &h->timer);
	ev_timer_set(&h->timer, AUTH_RETIRE_WAIT, 0.0);
	ev_timer_start(a->loop, &h->timer);
}

/*
 * Kills a helper that broke the protocol or its time: why (static text)
 * goes to its requests and the log, detail (or NULL) to the log only.
 */
static void
helper_kill(struct auth_helper *h, const char *why, const char *detail)
{
	log_msg(LOG_WARNING, "auth helper %s (pid %d): %s%s%s%s: killed",
	        prog_name(h->auth), (int)h->pid, why,
	        detail != NULL ? " (" : "", detail != NULL ? detail : "",
	        detail != NULL ? ")" : "");
	if (h->pid > 0)
		kill(h->pid, SIGKILL);
	h->broken = true;
	helper_lost(h, why);
}

/*
 * Its pipe is gone (or must be): the requests it held fail with why.  h
 * stays: helper_child_cb() reaps the process and frees it.
 */
static void
helper_lost(struct auth_helper *h, const char *why)
{
	struct auth *a = h->auth;

	if (h->fd < 0)
		return;
	if (!h->retiring) {
		h->retiring = true;
		if (h->gen == a->gen)
			a->nrunning--;
	}
	ev_io_stop(a->loop, &h->io);
	close(h->fd);
	h->fd = -1;
	ev_timer_stop(a->loop, &h->timer);
	for (unsigned i = 0; i < h->nslots; i++) {
		struct auth_slot *s = &h->slots[i];

		if (s->req != NULL)
			req_fail(a, s->req, why);
		s->req = NULL;
		s->abandoned = false;
	}
	h->nbusy = 0;
	h->out_len = h->out_off = 0;
	explicit_bzero(h->out, AUTH_LINE_MAX);
	if (h->pid > 0 && !h->eof_sent)
		kill(h->pid, SIGTERM); /* no output, but alive: broken */
}

/* Writes what is left of the line in h->out: -1 if the helper is lost. */
static int
helper_flush(struct auth_helper *h)
{
	ssize_t n;

	while (h->out_off < h->out_len) {
		n = send(h->fd, h->out + h->out_off, h->out_len - h->out_off,
		         MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_stop(h->auth->loop, &h->io);
			ev_io_set(&h->io, h->fd, EV_READ | EV_WRITE);
			ev_io_start(h->auth->loop, &h->io);
			return 0;
		}
		if (n < 0) {
			helper_lost(h, "the helper's input is closed");
			return -1;
		}
		h->out_off += (size_t)n;
	}
	explicit_bzero(h->out, h->out_len);
	h->out_len = h->out_off = 0;
	if (h->io.events & EV_WRITE) {
		ev_io_stop(h->auth->loop, &h->io);
		ev_io_set(&h->io, h->fd, EV_READ);
		ev_io_start(h->auth->loop, &h->io);
	}
	return 0;
}

static bool
helper_usable(const struct auth_helper *h)
{
	return !h->retiring && h->fd >= 0 && h->out_len == 0 &&
	       h->nbusy < h->nslots;
}

/* Gives r to h: its line goes out now, or as the socket takes it. */
static void
helper_send(struct auth_helper *h, struct auth_req *r)
{
	struct auth *a = h->auth;
	unsigned     ch = 0;
	int          n = 0;

	while (h->slots[ch].req != NULL || h->slots[ch].abandoned)
		ch++;
	assert(ch < h->nslots);
	if (h->with_channel)
		n = snprintf(h->out, AUTH_LINE_MAX, "%u ", ch);
	assert(n >= 0 && (size_t)n + r->line_len < AUTH_LINE_MAX);
	memcpy(h->out + n, r->line, r->line_len);
	h->out_len = (size_t)n + r->line_len;
	h->out_off = 0;
	req_wipe_line(r);
	h->slots[ch].req = r;
	h->slots[ch].sent = ev_now(a->loop);
	h->nbusy++;
	r->state = REQ_SENT;
	r->helper = h;
	r->channel = ch;
	if (helper_flush(h) == 0)
		helper_arm(h);
}

/* One answer line from h. */
static void
helper_answer(struct auth_helper *h, const char *line, size_t len)
{
	struct auth      *a = h->auth;
	struct auth_reply rep;
	struct auth_slot *s;
	struct auth_req  *r;
	const char       *why = NULL;

	if (auth_helper_reply_parse(line, len, h->with_channel, &rep, &why) !=
	    PARSE_OK) {
		/* Never the line itself: it may echo a password. */
		helper_kill(h, "garbage answer", why);
		return;
	}
	if (rep.channel >= h->nslots || (h->slots[rep.channel].req == NULL &&
	                                 !h->slots[rep.channel].abandoned)) {
		helper_kill(h, "answer for a request it was not sent", NULL);
		return;
	}
	s = &h->slots[rep.channel];
	r = s->req;
	s->req = NULL;
	s->abandoned = false;
	h->nbusy--;
	helper_arm(h);
	if (r == NULL)
		return; /* cancelled meanwhile */
	memcpy(r->message, rep.message, sizeof(r->message));
	switch (rep.answer) {
	case AUTH_ANSWER_OK:
		r->ok = true;
		cache_put(a, r->user, r->key);
		break;
	case AUTH_ANSWER_ERR:
		r->ok = false;
		break;
	case AUTH_ANSWER_BH:
		r->ok = false;
		r->error = "the helper answered BH";
		break;
	}
	req_done(a, r);
}

/* Reads and handles what h said: 1 if it said something, else 0. */
static int
helper_read(struct auth_helper *h)
{
	ssize_t n;
	char   *nl;

	do
		n = read(h->fd, h->in + h->in_len, sizeof(h->in) - h->in_len);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		helper_lost(h, h->in_len > 0 ? "the helper closed mid-answer"
		                             : "the helper closed its output");
		return 0;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			helper_lost(h, "cannot read the helper's output");
		return 0;
	}
	h->in_len += (size_t)n;
	while (h->fd >= 0 && (nl = memchr(h->in, '\n', h->in_len)) != NULL) {
		size_t len = (size_t)(nl - h->in);

		helper_answer(h, h->in, len);
		if (h->fd < 0)
			return 1;
		memmove(h->in, nl + 1, h->in_len - len - 1);
		h->in_len -= len + 1;
	}
	if (h->fd >= 0 && h->in_len == sizeof(h->in))
		helper_kill(h, "answer line too long", NULL);
	return 1;
}

static void
helper_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct auth_helper *h = w->data;
	struct auth        *a = h->auth;

	(void)loop;
	if ((revents & EV_WRITE) && helper_flush(h) == 0)
		helper_arm(h);
	if ((revents & EV_READ) && h->fd >= 0)
		helper_read(h);
	if (h->fd >= 0 && h->retiring)
		helper_retire(h);
	auth_pump(a);
}

static void
helper_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct auth_helper *h = w->data;
	struct auth        *a = h->auth;

	(void)loop;
	(void)revents;
	if (h->eof_sent) {
		/* Let go, but still running: it will not exit by itself. */
		if (h->pid > 0) {
			log_msg(LOG_WARNING,
			        "auth helper %s (pid %d) did not exit after "
			        "end-of-file: killed",
			        prog_name(a), (int)h->pid);
			kill(h->pid, SIGKILL);
		}
		return;
	}
	helper_kill(h, "no answer in time", NULL);
	auth_pump(a);
}

static void
restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	auth_pump(w->data);
}

static void
helper_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct auth_helper *h = w->data;
	struct auth        *a = h->auth;
	bool                expected = h->eof_sent && !h->broken;
	bool                current = h->gen == a->gen;
	double              lived = ev_now(loop) - h->started;
	int                 st = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	h->pid = 0;
	/* What it said before it went is in the socket still. */
	while (h->fd >= 0 && helper_read(h) == 1)
		continue;
	helper_lost(h, "the helper exited");
	if (!expected && !h->broken) {
		if (WIFSIGNALED(st))
			log_msg(LOG_WARNING,
			        "auth helper %s (pid %d) killed by signal %d",
			        prog_name(a), (int)w->rpid, WTERMSIG(st));
		else
			log_msg(LOG_WARNING,
			        "auth helper %s (pid %d) exited with status %d",
			        prog_name(a), (int)w->rpid, WEXITSTATUS(st));
	} else {
		log_msg(LOG_DEBUG, "auth helper %s (pid %d) exited",
		        prog_name(a), (int)w->rpid);
	}
	helper_free(h);
	if (!expected && current) {
		/* A helper that keeps dying at once is restarted ever more
		 * slowly: 0, 1, 2, 4 ... 60 s. */
		if (lived < AUTH_QUICK_DEATH)
			a->quick_deaths++;
		else
			a->quick_deaths = 0;
		if (a->quick_deaths > 1) {
			double delay = 1.0;

			for (unsigned i = 2;
			     i < a->quick_deaths && delay < AUTH_BACKOFF_MAX;
			     i++)
				delay *= 2;
			if (delay > AUTH_BACKOFF_MAX)
				delay = AUTH_BACKOFF_MAX;
			a->backoff_until = ev_now(loop) + delay;
			log_msg(LOG_WARNING,
			        "auth helper %s keeps exiting: restarting it "
			        "in %.0f s",
			        prog_name(a), delay);
			ev_timer_stop(loop, &a->restart);
			ev_timer_set(&a->restart, delay, 0.0);
			ev_timer_start(loop, &a->restart);
		}
	}
	auth_pump(a);
}

/* ------------------------------------------------------------------ */
/* Scheduling */

/*
 * Starts helpers the load needs, hands queued requests to them, and fails
 * the queue when no helper runs or can start now.
 */
static void
auth_pump(struct auth *a)
{
	unsigned            free_slots = 0, spawn = 0, want;
	struct auth_helper *h;
	struct auth_req    *r;
	bool                can_spawn;

	can_spawn = a->argv != NULL && ev_now(a->loop) >= a->backoff_until;
	if (can_spawn && a->nrunning < a->startup)
		spawn = a->startup - a->nrunning;
	for (h = a->helpers; h != NULL; h = h->next)
		if (!h->retiring && h->fd >= 0)
			free_slots += h->nslots - h->nbusy;
	if (can_spawn && a->nqueued > free_slots) {
		unsigned per = a->concurrency > 0 ? a->concurrency : 1;

		/* Squid: in groups of up to idle=, to stay ahead of the load */
		want = (a->nqueued - free_slots + per - 1) / per;
		if (want < a->idle)
			want = a->idle;
		if (want > spawn)
			spawn = want;
	}
	if (spawn > a->children - a->nrunning)
		spawn = a->children - a->nrunning;
	for (unsigned i = 0; i < spawn; i++) {
		if (!helper_spawn(a)) {
			/* fork failed: try again after a while */
			a->backoff_until = ev_now(a->loop) + 1.0;
			ev_timer_stop(a->loop, &a->restart);
			ev_timer_set(&a->restart, 1.0, 0.0);
			ev_timer_start(a->loop, &a->restart);
			break;
		}
	}
	while ((r = a->queue_head) != NULL) {
		for (h = a->helpers; h != NULL && !helper_usable(h);
		     h = h->next)
			continue;
		if (h == NULL)
			break;
		list_unlink(&a->queue_head, &a->queue_tail, r);
		a->nqueued--;
		helper_send(h, r);
	}
	if (a->nrunning > 0)
		return;
	/* Nobody to wait for. */
	while ((r = a->queue_head) != NULL) {
		list_unlink(&a->queue_head, &a->queue_tail, r);
		a->nqueued--;
		req_fail(a, r,
		         a->argv == NULL
		                 ? "no auth_param basic program since the "
		                   "reload"
		                 : "no authentication helper is running");
	}
}

/* ------------------------------------------------------------------ */

struct auth *
auth_new(struct ev_loop *loop)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->loop = loop;
	ev_init(&a->deliver, deliver_cb);
	a->deliver.data = a;
	ev_init(&a->restart, restart_cb);
	a->restart.data = a;
	a->cache_ok = getrandom(a->secret, sizeof(a->secret), 0) ==
	              (ssize_t)sizeof(a->secret);
	if (!a->cache_ok)
		log_msg(LOG_WARNING,
		        "auth: no random key (%s): answers are "
		        "not cached",
		        strerror(errno));
	return a;
}

static bool
argv_same(char *const *a, char *const *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return a[i] == b[i];
}

static void
argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static char **
argv_copy(char *const *argv)
{
	size_t n = 0;
	char **copy;

	while (argv[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((copy[i] = strdup(argv[i])) == NULL) {
			argv_free(copy);
			return NULL;
		}
	}
	return copy;
}

void
auth_configure(struct auth *a, const struct auth_conf *conf,
               uint64_t timeout_ms)
{
	bool same = argv_same(a->argv, conf->argv) &&
	            a->children == conf->children &&
	            a->concurrency == conf->concurrency;

	if (!same) {
		struct auth_helper *h, *next;
		char              **argv = NULL;

		if (conf->argv != NULL &&
		    (argv = argv_copy(conf->argv)) == NULL)
			log_msg(LOG_ERR, "auth helper %s: out of memory",
			        conf->argv[0]);
		if (a->helpers != NULL)
			log_msg(LOG_NOTICE,
			        "auth_param basic changed: the "
			        "helpers of %s are restarted",
			        prog_name(a));
		a->gen++;
		for (h = a->helpers; h != NULL; h = next) {
			next = h->next; /* helper_retire() keeps h */
			helper_retire(h);
		}
		a->nrunning = 0;
		argv_free(a->argv);
		a->argv = argv;
		a->children = conf->children;
		a->concurrency = conf->concurrency;
		a->quick_deaths = 0;
		a->backoff_until = 0;
		ev_timer_stop(a->loop, &a->restart);
		cache_flush(a);
	}
	a->startup = conf->startup;
	a->idle = conf->idle;
	a->queue_size = conf->queue_size;
	a->ttl = (double)conf->credentialsttl / 1000.0;
	a->timeout = (double)timeout_ms / 1000.0;
	auth_pump(a);
}

enum auth_status
auth_start(struct auth *a, struct auth_req *req, const struct auth_basic *cred)
{
	char line[AUTH_LINE_MAX];
	int  n;

	assert(req->state == REQ_IDLE);
	req->ok = false;
	req->error = NULL;
	req->message[0] = '\0';
	memcpy(req->user, cred->user, cred->user_len + 1);
	if (a == NULL || a->argv == NULL) {
		req->error = "no auth_param basic program";
		return AUTH_DONE;
	}
	cred_key(a, cred, req->key);
	if (a->cache_ok && cache_lookup(a, req->user, req->key)) {
		req->ok = true;
		return AUTH_DONE;
	}
	if (a->nqueued >= a->queue_size) {
		/* Full, unless a helper takes it now or one can start. */
		bool idle = a->nrunning < a->children &&
		            ev_now(a->loop) >= a->backoff_until;

		for (struct auth_helper *h = a->helpers; h != NULL; h = h->next)
			idle |= helper_usable(h);
		if (!idle) {
			log_msg(LOG_WARNING,
			        "auth helper %s: %u requests queued: "
			        "overloaded",
			        prog_name(a), a->nqueued);
			req->error = "the helpers are overloaded";
			return AUTH_DONE;
		}
	}
	n = auth_helper_request(line, sizeof(line), -1, cred);
	if (n < 0 || (req->line = malloc((size_t)n)) == NULL) {
		explicit_bzero(line, sizeof(line));
		req->error = "out of memory";
		return AUTH_DONE;
	}
	memcpy(req->line, line, (size_t)n);
	req->line_len = (size_t)n;
	explicit_bzero(line, (size_t)n);
	req->auth = a;
	req->state = REQ_QUEUED;
	list_append(&a->queue_head, &a->queue_tail, req);
	a->nqueued++;
	auth_pump(a);
	return AUTH_PENDING;
}

void
auth_cancel(struct auth_req *req)
{
	struct auth *a = req->auth;

	switch (req->state) {
	case REQ_IDLE:
		return;
	case REQ_QUEUED:
		list_unlink(&a->queue_head, &a->queue_tail, req);
		a->nqueued--;
		break;
	case REQ_SENT:
		/* The answer comes anyway: the channel waits for it. */
		req->helper->slots[req->channel].req = NULL;
		req->helper->slots[req->channel].abandoned = true;
		break;
	case REQ_DONE:
		list_unlink(&a->done_head, &a->done_tail, req);
		break;
	}
	req_wipe_line(req);
	req->helper = NULL;
	req->auth = NULL;
	req->state = REQ_IDLE;
}

/* Waits for h's exit at most until deadline (CLOCK_MONOTONIC seconds). */
static void
helper_reap(struct auth_helper *h, double deadline)
{
	struct timespec now, pause = { 0, 10 * 1000 * 1000 };
	int             st;

	for (;;) {
		pid_t r = waitpid(h->pid, &st, WNOHANG);

		if (r == h->pid || (r < 0 && errno == ECHILD)) {
			h->pid = 0; /* or reaped already by libev */
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)now.tv_sec + (double)now.tv_nsec / 1e9 >= deadline)
			return;
		nanosleep(&pause, NULL);
	}
}

void
auth_free(struct auth *a)
{
	struct auth_helper *h;
	struct auth_req    *r;
	struct timespec     now;
	double              deadline;
	int                 st;

	if (a == NULL)
		return;
	while ((r = a->queue_head) != NULL)
		auth_cancel(r);
	while ((r = a->done_head) != NULL)
		auth_cancel(r);
	for (h = a->helpers; h != NULL; h = h->next) {
		for (unsigned i = 0; i < h->nslots; i++)
			if (h->slots[i].req != NULL)
				auth_cancel(h->slots[i].req);
		if (h->fd >= 0)
			shutdown(h->fd, SHUT_WR); /* helpers exit on EOF */
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline =
	        (double)now.tv_sec + (double)now.tv_nsec / 1e9 + AUTH_STOP_WAIT;
	for (h = a->helpers; h != NULL; h = h->next)
		if (h->pid > 0)
			helper_reap(h, deadline);
	while ((h = a->helpers) != NULL) {
		if (h->pid > 0) {
			log_msg(LOG_WARNING,
			        "auth helper %s (pid %d) still running: killed",
			        prog_name(a), (int)h->pid);
			kill(h->pid, SIGKILL);
			while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
				continue;
			h->pid = 0;
		}
		ev_child_stop(a->loop, &h->child);
		if (h->fd >= 0) {
			ev_io_stop(a->loop, &h->io);
			close(h->fd);
			h->fd = -1;
		}
		helper_free(h);
	}
	ev_timer_stop(a->loop, &a->deliver);
	ev_timer_stop(a->loop, &a->restart);
	cache_flush(a);
	argv_free(a->argv);
	explicit_bzero(a->secret, sizeof(a->secret));
	free(a);
}
