/*
 * access_log: Squid's native access.log format, one line per transaction:
 *
 *   time.ms elapsed client result/status bytes method URL user hier/peer type
 *
 * Lines are written with one write(2) on an O_APPEND descriptor, so lines
 * from several workers never interleave.  The user is the one proxy_auth
 * authenticated, percent-encoded as Squid's %[un does, "-" when none.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "access_log.h"
#include "conf.h"

struct access_log_file {
	enum access_log_kind kind;
	char                *path;
	int                  fd;
};

struct access_log {
	struct access_log_file *v;
	size_t                  n;
	uid_t                   owner;
	gid_t                   group;
};

/*
 * Opens a log file for appending.  Started as root, we may be opening a
 * file in a directory the service user owns: a symbolic link planted there
 * must not make us append to, or chown, a file of root's.  So links are not
 * followed (except /dev/stdout and /dev/stderr, which only root controls),
 * only regular files and character devices are accepted, and only a file
 * we just created is given to the service user.
 */
static int
open_file(const char *path, uid_t owner, gid_t group)
{
	int         flags = O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC;
	bool        created = true;
	struct stat st;
	int         fd, err;

	if (strcmp(path, "/dev/stdout") != 0 && strcmp(path, "/dev/stderr") != 0)
		flags |= O_NOFOLLOW;
	fd = open(path, flags | O_CREAT | O_EXCL, 0640);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, flags);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (created && owner != (uid_t)-1 && fchown(fd, owner, group) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

struct access_log *
access_log_open(const struct conf *conf, uid_t owner, gid_t group,
                const char **path)
{
	struct access_log *al = calloc(1, sizeof(*al));

	if (al == NULL)
		return NULL;
	al->owner = owner;
	al->group = group;
	if (conf->naccess_logs > 0) {
		al->v = calloc(conf->naccess_logs, sizeof(*al->v));
		if (al->v == NULL) {
			free(al);
			return NULL;
		}
	}
	for (size_t i = 0; i < conf->naccess_logs; i++) {
		struct access_log_file *f = &al->v[al->n];
		const struct access_log_conf *lc = &conf->access_logs[i];

		f->kind = lc->kind;
		f->fd = -1;
		if (lc->kind == ACCESS_LOG_STDIO) {
			*path = lc->path;
			if ((f->path = strdup(lc->path)) == NULL ||
			    (f->fd = open_file(lc->path, owner, group)) < 0) {
				free(f->path);
				access_log_close(al);
				return NULL;
			}
		}
		al->n++;
	}
	return al;
}

void
access_log_close(struct access_log *al)
{
	if (al == NULL)
		return;
	for (size_t i = 0; i < al->n; i++) {
		if (al->v[i].fd >= 0)
			close(al->v[i].fd);
		free(al->v[i].path);
	}
	free(al->v);
	free(al);
}

int
access_log_reopen(struct access_log *al, const char **path)
{
	int rc = 0;

	for (size_t i = 0; al != NULL && i < al->n; i++) {
		struct access_log_file *f = &al->v[i];
		int                     fd;

		if (f->kind != ACCESS_LOG_STDIO)
			continue;
		fd = open_file(f->path, al->owner, al->group);
		if (fd < 0) {
			*path = f->path;
			rc = -1;
			continue;
		}
		close(f->fd);
		f->fd = fd;
	}
	return rc;
}

static void
client_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	const void *a = sa->sa_family == AF_INET6
	                        ? (const void *)&((const struct sockaddr_in6 *)sa)
	                                  ->sin6_addr
	                        : (const void *)&((const struct sockaddr_in *)sa)
	                                  ->sin_addr;

	if (inet_ntop(sa->sa_family, a, out, (socklen_t)outsz) == NULL)
		snprintf(out, outsz, "-");
}

/*
 * A user name as one field: printable ASCII stays, but for the bytes that
 * would break or fake fields ('%', quotes, brackets, backslash), which
 * become %XX as control characters, spaces and non-ASCII bytes do.
 */
static void
user_text(const char *user, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t            o = 0;

	if (user == NULL || *user == '\0') {
		snprintf(out, outsz, "-");
		return;
	}
	for (; *user != '\0' && outsz - o > 3; user++) {
		unsigned char c = (unsigned char)*user;

		if (c > 0x20 && c < 0x7f && strchr("%\"'\\[]", c) == NULL) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
}

void
access_log_write(struct access_log *al, const struct access_record *r)
{
	char    line[8192], client[64], user[800];
	int64_t elapsed;
	int     n;

	if (al == NULL || al->n == 0)
		return;
	elapsed = (int64_t)(r->end.tv_sec - r->start.tv_sec) * 1000 +
	          (r->end.tv_nsec - r->start.tv_nsec) / 1000000;
	if (elapsed < 0)
		elapsed = 0;
	client_text(r->client, client, sizeof(client));
	user_text(r->user, user, sizeof(user));
	n = snprintf(line, sizeof(line),
	             "%lld.%03ld %6" PRId64 " %s %s/%03d %" PRIu64
	             " %s %.4000s %s %s/%s %s\n",
	             (long long)r->end.tv_sec, r->end.tv_nsec / 1000000,
	             elapsed, client, r->result, r->status, r->bytes, r->method,
	             r->url, user, r->hier, r->peer, r->content_type);
	if (n > 0 && (size_t)n < sizeof(line) && r->bump != NULL)
		n = snprintf(line + n - 1, sizeof(line) - (size_t)n + 1,
		             " sni=%.300s ssl_bump=%s step=%d up=%" PRIu64 "\n",
		             r->sni, r->bump, r->bump_step, r->bytes_up) +
		    n - 1;
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) { /* cut, but keep the newline */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	for (size_t i = 0; i < al->n; i++) {
		if (al->v[i].kind == ACCESS_LOG_SYSLOG) {
			syslog(LOG_INFO, "%.*s", n - 1, line);
			continue;
		}
		/* One write per line: O_APPEND keeps workers' lines whole. */
		if (write(al->v[i].fd, line, (size_t)n) < 0)
			continue; /* a full disk must not stop the proxy */
	}
}
