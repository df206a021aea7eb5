/*
 * listener: listening sockets and accept.  Sockets are bound by the master
 * (or the only process) before privileges are dropped; each worker starts
 * watchers on its own set (SO_REUSEPORT lets the kernel spread connections).
 */
#ifndef BASCULE_LISTENER_H
#define BASCULE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <ev.h>

struct listen_conf;
struct worker;

struct listener {
	int                       fd;
	unsigned                  flags; /* enum listen_flags, copied: the
	                                    generation that bound it goes
	                                    away at the next reload */
	size_t                    index; /* in conf->listeners: a reload
	                                    keeps the ports and their order */
	char                     *text; /* "127.0.0.1:3130" */
	ev_io                     io;
	ev_timer                  pause; /* resume after EMFILE */
	struct worker            *worker;
	struct listener          *next;
};

/*
 * Binds one socket per listen_conf of lcs (SO_REUSEPORT when reuseport).
 * Returns the list, or NULL with *why set (and *what naming the address).
 */
struct listener *listener_bind_all(const struct listen_conf *lcs, size_t n,
                                   bool reuseport, const char **what,
                                   const char **why);
void listener_start(struct listener *l, struct worker *w);
void listener_stop(struct listener *l); /* stops watching, keeps the fd */
void listener_free_all(struct listener *l); /* closes every fd */

#endif
