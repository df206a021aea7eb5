/*
 * access_log: one line per transaction in Squid's native format, to the
 * files or syslog named by access_log.
 */
#ifndef BASCULE_ACCESS_LOG_H
#define BASCULE_ACCESS_LOG_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

struct conf;
struct access_log;

struct access_record {
	struct timespec        start;
	struct timespec        end;
	const struct sockaddr *client;
	const char            *result; /* "TCP_MISS", "TCP_TUNNEL", ... */
	int                    status; /* 0 when no response was sent */
	uint64_t               bytes;  /* sent to the client */
	const char            *method; /* "-" when unknown */
	const char            *url;    /* as Squid prints it */
	const char            *user;   /* authenticated by proxy_auth, or
	                                  NULL */
	const char            *hier;   /* "HIER_DIRECT", "HIER_NONE" */
	const char            *peer;   /* server address, or "-" */
	const char            *content_type; /* or "-" */
	/*
	 * bascule's fields after Squid's, for CONNECTs on ssl-bump ports:
	 * " sni=NAME ssl_bump=ACTION step=N up=BYTES".  NULL: not written.
	 */
	const char *bump;        /* splice, terminate, tunnel, respond, none */
	const char *sni;         /* "-" when none */
	int         bump_step;   /* when decided, 0 if never */
	uint64_t    bytes_up;    /* client to server */
};

/*
 * Opens the logs of conf (files O_APPEND, created 0640; chowned to
 * owner when owner != (uid_t)-1).  NULL with errno set and *path naming the
 * failing file.
 */
struct access_log *access_log_open(const struct conf *conf, uid_t owner,
                                   gid_t group, const char **path);
void               access_log_close(struct access_log *al); /* accepts NULL */
/* Reopens every file (after rotation); -1 if one failed (old fd kept). */
int                access_log_reopen(struct access_log *al, const char **path);
void               access_log_write(struct access_log *al,
                                    const struct access_record *r);

#endif
