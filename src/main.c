/*
 * main: the command line, the master and its workers, privileges, signals,
 * and the worker's event loop.
 *
 * With "workers 1" one process does everything.  With more, a master binds
 * one set of listening sockets per worker (SO_REUSEPORT: the kernel spreads
 * connections), forks the workers, drops privileges, then only supervises:
 * it restarts a worker that dies and relays signals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <linux/capability.h>

#include "access_log.h"
#include "aia.h"
#include "auth.h"
#include "buf.h"
#include "bump.h"
#include "ca.h"
#include "conf.h"
#include "conn.h"
#include "i18n.h"
#include "listener.h"
#include "log.h"
#include "resolve.h"
#include "route.h"
#include "tunnel.h"
#include "upstream.h"
#include "worker.h"

#define POOL_MAX         1024 /* idle server connections per worker */
#define POOL_PER_ORIGIN  64
#define RESTART_DELAY    1.0  /* seconds before restarting a worker */
#define RESTART_QUICK    10.0 /* a worker dying sooner died "at once" */
#define MAX_WORKERS      64

struct options {
	const char *config;
	const char *action; /* -k */
	const char *ca_dir; /* --init-ca */
	bool        init_ca;
	bool        foreground;
	int         debug;
};

static struct options opt = {
	.config = SYSCONFDIR "/bascule/bascule.conf",
	.ca_dir = SYSCONFDIR "/bascule",
	.debug = 2,
};

static const struct option long_options[] = {
	{ "foreground", no_argument, NULL, 'N' },
	{ "config", required_argument, NULL, 'f' },
	{ "signal", required_argument, NULL, 'k' },
	{ "debug", required_argument, NULL, 'd' },
	{ "version", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "test-config", no_argument, NULL, 'T' },
	{ "init-ca", no_argument, NULL, 'I' },
	{ "ca-dir", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fprintf(f, _("Usage: %s [OPTION]...\n"), PACKAGE);
	fputs(_("HTTP/HTTPS forward proxy reading Squid's configuration "
	        "language.\n\n"),
	      f);
	fputs(_("  -N, --foreground        log to stderr instead of syslog\n"
	        "  -f, --config=FILE       read the configuration from FILE\n"
	        "  -k, --signal=ACTION     parse | check | reconfigure | "
	        "shutdown | rotate\n"
	        "      --test-config       same as -k parse\n"
	        "  -d, --debug=LEVEL       log level 0 (errors) to 9 (debug)\n"
	        "  -v, --version           print the version and exit\n"
	        "  -h, --help              print this help and exit\n"),
	      f);
	fprintf(f, _("\n  or:  %s --init-ca [--ca-dir=DIR]\n"), PACKAGE);
	fputs(_("      --init-ca           create the signing CA for bumping, "
	        "never replacing one\n"
	        "      --ca-dir=DIR        create it in DIR\n"),
	      f);
	fprintf(f, _("\nDefault configuration file: %s\n"),
	        SYSCONFDIR "/bascule/bascule.conf");
	fprintf(f, _("Default CA directory: %s\n"), SYSCONFDIR "/bascule");
}

/* Squid's debug levels 0..9 onto syslog levels. */
static int
debug_to_syslog(int level)
{
	static const int map[] = { LOG_ERR,  LOG_WARNING, LOG_NOTICE, LOG_INFO,
		                   LOG_INFO, LOG_DEBUG };

	return map[level < 5 ? level : 5];
}

/* Prints (-k parse, start-up) or logs (reload) configuration messages. */
static void
print_diag(const struct conf_diag *d, bool to_log)
{
	for (size_t i = 0; i < d->n; i++) {
		if (to_log)
			log_msg(d->v[i].is_error ? LOG_ERR : LOG_WARNING, "%s",
			        d->v[i].text);
		else
			fprintf(stderr, "%s\n", d->v[i].text);
	}
}

static struct conf *
load_conf(bool to_log)
{
	struct conf_diag d = { 0 };
	struct conf     *c = conf_load(opt.config, &d);

	print_diag(&d, to_log);
	if (c == NULL && !to_log)
		fprintf(stderr,
		        ngettext("%s: %zu error in the configuration\n",
		                 "%s: %zu errors in the configuration\n",
		                 d.nerrors),
		        opt.config, d.nerrors);
	conf_diag_clear(&d);
	return c;
}

/* ------------------------------------------------------------------ */
/* sd_notify(3) protocol, without libsystemd */

static void
notify(const char *state)
{
	const char        *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t          len;
	int                fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	           (struct sockaddr *)&sun, len) < 0)
		log_msg(LOG_DEBUG, "notify %s: %s", path, strerror(errno));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* -k ACTION: talk to the running daemon */

static pid_t
read_pid(const struct conf *c)
{
	const char *mainpid = getenv("MAINPID"); /* set by systemd */
	char        text[32];
	long        v;
	char       *end;
	FILE       *f;

	if (mainpid != NULL && *mainpid != '\0') {
		v = strtol(mainpid, &end, 10);
		if (*end == '\0' && v > 1)
			return (pid_t)v;
	}
	if (c->pid_filename == NULL) {
		fprintf(stderr, _("%s: pid_filename is none: cannot find the "
		                  "running daemon\n"),
		        PACKAGE);
		return -1;
	}
	f = fopen(c->pid_filename, "r");
	if (f == NULL || fgets(text, sizeof(text), f) == NULL) {
		fprintf(stderr, _("%s: cannot read %s: %s\n"), PACKAGE,
		        c->pid_filename, f ? _("empty file") : strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || v <= 1 || (*end != '\n' && *end != '\0')) {
		fprintf(stderr, _("%s: %s does not hold a process id\n"), PACKAGE,
		        c->pid_filename);
		return -1;
	}
	return (pid_t)v;
}

/*
 * The TLS of the ports: the CAs of the ssl-bump ports, the certificates of
 * the https_ports, the trust of the TLS parents, and the trust store for
 * servers.  *out stays NULL when no port has tls-cert= and no parent tls.
 * -1 after logging why.
 */
static int
worker_load_bump(const struct conf *c, const struct bump_gen *prev,
                 struct bump_gen **out)
{
	char err[512], warn[512] = "";
	bool any = false;

	*out = NULL;
	for (size_t i = 0; i < c->nlisteners; i++)
		any |= c->listeners[i].tls_cert != NULL;
	for (size_t i = 0; i < c->npeers; i++)
		any |= c->peers[i].tls;
	if (!any)
		return 0;
	*out = bump_gen_new(c, prev, err, sizeof(err), warn, sizeof(warn));
	if (*out == NULL) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (warn[0] != '\0')
		log_msg(LOG_WARNING, "%s", warn);
	return 0;
}

static int
run_action(const char *action)
{
	static const struct {
		const char *name;
		int         sig;
	} actions[] = {
		{ "check", 0 },
		{ "reconfigure", SIGHUP },
		{ "shutdown", SIGTERM },
		{ "rotate", SIGUSR1 },
	};
	struct conf *c;
	pid_t        pid;

	c = load_conf(false);
	if (strcmp(action, "parse") == 0) {
		struct bump_gen *bump = NULL;
		int              rc = c != NULL ? 0 : 1;

		/* The CAs too: a key that does not load stops the start. */
		if (c != NULL && worker_load_bump(c, NULL, &bump) < 0)
			rc = 1;
		bump_gen_unref(bump);
		conf_unref(c);
		return rc;
	}
	if (c == NULL)
		return 1; /* never signal a daemon with a broken configuration */
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(action, actions[i].name) != 0)
			continue;
		pid = read_pid(c);
		conf_unref(c);
		if (pid < 0)
			return 1;
		if (kill(pid, actions[i].sig) < 0) {
			fprintf(stderr, _("%s: cannot signal process %ld: %s\n"),
			        PACKAGE, (long)pid, strerror(errno));
			return 1;
		}
		return 0;
	}
	conf_unref(c);
	fprintf(stderr, _("%s: unknown -k action '%s'\n"), PACKAGE, action);
	return 2;
}

/* --init-ca: a new signing CA, its key readable by its owner only. */
static int
init_ca(void)
{
	struct ca_created made;
	char              host[256], cn[64], err[512];

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* RFC 5280 ub-common-name: 64 characters. */
	snprintf(cn, sizeof(cn), "bascule CA on %.49s", host);
	umask(077);
	if (ca_create(opt.ca_dir, cn, &made, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", PACKAGE, err);
		return 1;
	}
	printf(_("Created the signing CA for bumping: %s\n"), made.cert_path);
	printf(_("SHA-256 fingerprint: %s\n"), made.fingerprint);
	fputs(_("Clients must trust this certificate before bumped "
	        "connections succeed.\n"),
	      stdout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Start-up: limits, pid file, privileges */

static void
set_fd_limit(const struct conf *c)
{
	struct rlimit rl;

	if (c->max_filedescriptors == 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = (rlim_t)c->max_filedescriptors;
	if (rl.rlim_max < rl.rlim_cur) {
		if (geteuid() == 0)
			rl.rlim_max = rl.rlim_cur;
		else
			rl.rlim_cur = rl.rlim_max;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_msg(LOG_WARNING, _("max_filedescriptors %llu: %s"),
		        (unsigned long long)c->max_filedescriptors,
		        strerror(errno));
}

static int   pid_fd = -1;
static char *pid_path;

/*
 * Writes our pid to pid_filename and keeps the file locked for as long as
 * we run, so a second bascule on the same configuration refuses to start
 * instead of sharing the ports (SO_REUSEPORT) and overwriting the file.
 * Symbolic links are not followed: the directory may be the service
 * user's, and we may still be root.
 */
static void
write_pid_file(const struct conf *c)
{
	struct stat st;
	char        text[32];
	int         n;

	if (c->pid_filename == NULL)
		return;
	pid_fd = open(c->pid_filename,
	              O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	if (pid_fd < 0)
		fatal(_("pid_filename %s: %s"), c->pid_filename, strerror(errno));
	if (fstat(pid_fd, &st) < 0 || !S_ISREG(st.st_mode))
		fatal(_("pid_filename %s: not a regular file"), c->pid_filename);
	if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0)
		fatal(_("pid_filename %s is locked: is another bascule running?"),
		      c->pid_filename);
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) < 0 || write(pid_fd, text, (size_t)n) != n)
		fatal(_("pid_filename %s: %s"), c->pid_filename, strerror(errno));
	pid_path = strdup(c->pid_filename); /* generations come and go */
}

static void
remove_pid_file(void)
{
	if (pid_path != NULL && unlink(pid_path) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, _("pid_filename %s: %s"), pid_path,
		        strerror(errno));
}

/* The account to run as: cache_effective_user, or nobody when root. */
static const struct passwd *
target_user(const struct conf *c)
{
	const struct passwd *pw;
	const char          *name = c->cache_effective_user;

	if (geteuid() != 0) {
		if (name != NULL && (pw = getpwnam(name)) != NULL &&
		    pw->pw_uid != geteuid())
			log_msg(LOG_WARNING,
			        _("cache_effective_user %s ignored: not started "
			        "as root"),
			        name);
		return NULL;
	}
	if (name == NULL)
		name = "nobody";
	pw = getpwnam(name);
	if (pw == NULL)
		fatal(_("cache_effective_user %s: no such user"), name);
	return pw;
}

/*
 * Gives up every capability, ambient ones included.  A service manager may
 * grant CAP_NET_BIND_SERVICE to a non-root start for ports below 1024; once
 * they are bound it is no longer needed: a reload never binds new ports.
 */
static void
drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct   data[2];

	memset(data, 0, sizeof(data));
	/* A seccomp filter may forbid these: keep going then, since the
	 * bounding set is what limits the process. */
	if ((prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	     errno != EINVAL) ||
	    syscall(SYS_capset, &hdr, data) < 0)
		log_msg(LOG_WARNING, _("cannot drop capabilities: %s"),
		        strerror(errno));
}

static void
drop_privileges(const struct passwd *pw)
{
	if (pw != NULL) {
		if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			fatal(_("cannot become %s: %s"), pw->pw_name,
			      strerror(errno));
		if (pw->pw_uid != 0 && setuid(0) == 0)
			fatal(_("cannot drop root privileges"));
	}
	if (geteuid() != 0)
		drop_capabilities();
}

/* ------------------------------------------------------------------ */
/* The worker */

static struct worker worker;
static ev_signal     w_sighup, w_sigterm, w_sigint, w_sigusr1;
static ev_timer      w_shutdown;

static void
worker_update_names(struct worker *w)
{
	const struct conf *c = w->conf;

	if (c->visible_hostname != NULL)
		snprintf(w->hostname, sizeof(w->hostname), "%s",
		         c->visible_hostname);
	else if (gethostname(w->hostname, sizeof(w->hostname) - 1) < 0)
		snprintf(w->hostname, sizeof(w->hostname), "localhost");
	snprintf(w->via, sizeof(w->via), "1.1 %s (bascule/%s)", w->hostname,
	         PACKAGE_VERSION);
}

void
worker_conn_closed(struct worker *w)
{
	if (w->stopping && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

static void
worker_reload(struct worker *w)
{
	struct conf_diag   d = { 0 };
	struct conf       *c;
	struct access_log *al;
	struct bump_gen   *bump = NULL;
	const char        *why = NULL, *path = NULL;

	notify("RELOADING=1");
	c = conf_load(opt.config, &d);
	print_diag(&d, true);
	conf_diag_clear(&d);
	if (c == NULL) {
		log_msg(LOG_ERR, _("reload: %s has errors: keeping the running "
		                 "configuration"),
		        opt.config);
		notify("READY=1");
		return;
	}
	conf_restart_needed(w->conf, c, &d);
	print_diag(&d, true);
	conf_diag_clear(&d);
	if (conf_keep_listeners(c, w->conf) < 0) {
		log_msg(LOG_ERR, _("reload: out of memory: keeping the running "
		                 "configuration"));
		conf_unref(c);
		notify("READY=1");
		return;
	}
	/* Loaded at start with privileges, a CA key may be out of reach now. */
	if (worker_load_bump(c, w->bump, &bump) < 0) {
		log_msg(LOG_ERR, _("reload: keeping the CAs and the trust store "
		                 "loaded before"));
	} else {
		bump_gen_unref(w->bump);
		w->bump = bump;
	}
	if (resolver_configure(w->resolver, c, &why) < 0)
		log_msg(LOG_ERR, _("reload: resolver: %s"), _(why));
	al = access_log_open(c, (uid_t)-1, (gid_t)-1, &path);
	if (al == NULL) {
		log_msg(LOG_ERR, _("reload: access_log %s: %s: keeping the old logs"),
		        path, strerror(errno));
	} else {
		access_log_close(w->access_log);
		w->access_log = al;
	}
	upstream_pool_set_timeout(w->pool, c->server_idle_pconn_timeout);
	auth_configure(w->auth, &c->auth, c->read_timeout);
	conf_unref(w->conf);
	w->conf = c;
	worker_update_names(w);
	log_msg(LOG_NOTICE, _("reloaded %s"), opt.config);
	notify("READY=1");
}

static void
worker_shutdown_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	log_msg(LOG_NOTICE, _("shutdown_lifetime over: closing %u connections"),
	        worker.nconns);
	ev_break(loop, EVBREAK_ALL);
}

static void
worker_stop(struct worker *w)
{
	struct conn *c, *next;

	if (w->stopping) {
		log_msg(LOG_NOTICE, _("second stop signal: exiting now"));
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	log_msg(LOG_NOTICE, _("shutting down: %u connections open"), w->nconns);
	notify("STOPPING=1");
	w->stopping = true;
	listener_stop(w->listeners);
	upstream_pool_flush(w->pool);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		conn_shutdown(c);
	}
	if (w->nconns == 0) {
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&w_shutdown, worker_shutdown_timeout_cb,
	              (double)w->conf->shutdown_lifetime / 1000.0, 0.0);
	ev_timer_start(w->loop, &w_shutdown);
}

static void
worker_signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	const char *path = NULL;

	(void)loop;
	(void)revents;
	switch (s->signum) {
	case SIGHUP:
		worker_reload(&worker);
		break;
	case SIGUSR1:
		if (access_log_reopen(worker.access_log, &path) < 0)
			log_msg(LOG_ERR, _("rotate: %s: %s"), path, strerror(errno));
		else
			log_msg(LOG_NOTICE, _("logs reopened"));
		break;
	default:
		worker_stop(&worker);
		break;
	}
}

/*
 * Runs one worker on the default loop until it stops.  Takes the
 * reference to conf and the listeners; access_log is already open.
 */
static int
worker_run(struct conf *conf, struct listener *ls, struct access_log *al,
           struct bump_gen *bump, bool supervised)
{
	struct worker *w = &worker;
	const char    *why = NULL;
	struct conn   *c;

	w->loop = EV_DEFAULT;
	w->conf = conf;
	w->access_log = al;
	w->bump = bump;
	w->listeners = ls;
	worker_update_names(w);
	w->resolver = resolver_new(w->loop, conf, &why);
	if (w->resolver == NULL)
		fatal(_("resolver: %s"), _(why));
	w->pool = upstream_pool_new(w->loop, POOL_MAX, POOL_PER_ORIGIN);
	if (w->pool == NULL)
		fatal(_("out of memory"));
	upstream_pool_set_timeout(w->pool, conf->server_idle_pconn_timeout);
	w->peer_health = peer_health_new();
	if (w->peer_health == NULL)
		fatal(_("out of memory"));
	if ((w->aia = aia_new(w->loop, w->resolver)) == NULL)
		fatal(_("out of memory"));
	/*
	 * Auth helpers are this worker's children, started after the
	 * privileges were dropped, as Squid runs them: see auth.h.
	 */
	if ((w->auth = auth_new(w->loop)) == NULL)
		fatal(_("out of memory"));
	auth_configure(w->auth, &conf->auth, conf->read_timeout);

	ev_signal_init(&w_sighup, worker_signal_cb, SIGHUP);
	ev_signal_init(&w_sigterm, worker_signal_cb, SIGTERM);
	ev_signal_init(&w_sigint, worker_signal_cb, SIGINT);
	ev_signal_init(&w_sigusr1, worker_signal_cb, SIGUSR1);
	ev_signal_start(w->loop, &w_sighup);
	ev_signal_start(w->loop, &w_sigterm);
	ev_signal_start(w->loop, &w_sigusr1);
	/* Under a master, Ctrl-C reaches us too: the master relays SIGTERM. */
	if (!supervised)
		ev_signal_start(w->loop, &w_sigint);
	listener_start(ls, w);
	if (!supervised)
		notify("READY=1"); /* the only process: ports, logs, resolver */

	ev_run(w->loop, 0);

	while ((c = w->conns) != NULL) {
		conn_shutdown(c);
		if (w->conns == c) {
			c->err = CONN_ERR_SHUTDOWN;
			conn_close(w->loop, c);
		}
	}
	auth_free(w->auth); /* its requests went with the conns */
	w->auth = NULL;
	upstream_pool_free(w->pool);
	peer_health_free(w->peer_health);
	bump_gen_unref(w->bump);
	w->bump = NULL;
	aia_free(w->aia); /* its fetches resolve with the resolver */
	w->aia = NULL;
	resolver_free(w->resolver);
	listener_free_all(w->listeners);
	access_log_close(w->access_log);
	conf_unref(w->conf);
	tunnel_pool_drain();
	buf_cache_drain();
	return 0;
}

/* ------------------------------------------------------------------ */
/* The master */

struct child {
	pid_t            pid;
	struct listener *ls;
	ev_child         watch;
	ev_timer         restart;
	int              index;
	ev_tstamp        started;
	unsigned         quick_deaths; /* in a row, for the restart backoff */
};

static struct child        children[MAX_WORKERS];
static unsigned            nchildren;
static bool                master_stopping;
static bool                in_worker; /* this process is a forked worker */
static struct conf        *master_conf;
static struct access_log  *master_log; /* opened privileged, inherited */
static struct bump_gen    *master_bump; /* loaded privileged, inherited */
static ev_signal           m_sighup, m_sigterm, m_sigint, m_sigusr1;

static void master_child_cb(struct ev_loop *loop, ev_child *w, int revents);

/*
 * In a new worker: forget the master's children and sockets, become a
 * worker.  The master's signal watchers stay active (and do nothing here)
 * so that no signal finds its default disposition before the worker's own
 * watchers are started: a relayed SIGHUP must not kill a worker at birth.
 */
static void __attribute__((noreturn))
become_worker(struct child *ch)
{
	struct ev_loop *loop = EV_DEFAULT;

	in_worker = true;
	/* Only the master speaks for the service (NotifyAccess=main). */
	unsetenv("NOTIFY_SOCKET");
	ev_loop_fork(loop);
	for (unsigned i = 0; i < nchildren; i++) {
		ev_child_stop(loop, &children[i].watch);
		ev_timer_stop(loop, &children[i].restart);
		if (&children[i] != ch)
			listener_free_all(children[i].ls);
	}
	log_msg(LOG_INFO, _("worker %d started"), ch->index + 1);
	exit(worker_run(conf_ref(master_conf), ch->ls, master_log,
	                master_bump != NULL ? bump_gen_ref(master_bump) : NULL,
	                true));
}

static void
master_spawn(struct ev_loop *loop, struct child *ch)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_msg(LOG_ERR, _("fork: %s"), strerror(errno));
		ev_timer_set(&ch->restart, RESTART_DELAY, 0.0);
		ev_timer_start(loop, &ch->restart);
		return;
	}
	if (pid == 0)
		become_worker(ch);
	ch->pid = pid;
	ch->started = ev_now(loop);
	ev_child_set(&ch->watch, pid, 0);
	ev_child_start(loop, &ch->watch);
}

static void
master_restart_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	if (!master_stopping)
		master_spawn(loop, t->data);
}

static void
master_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct child *ch = w->data;
	bool          any = false;
	double        delay;

	(void)revents;
	ev_child_stop(loop, w);
	ch->pid = 0;
	if (master_stopping) {
		for (unsigned i = 0; i < nchildren; i++)
			any |= children[i].pid != 0;
		if (!any)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	/* A worker that keeps dying at once is restarted ever more slowly. */
	if (ev_now(loop) - ch->started < RESTART_QUICK)
		ch->quick_deaths++;
	else
		ch->quick_deaths = 0;
	delay = RESTART_DELAY;
	for (unsigned i = 1; i < ch->quick_deaths && delay < 60.0; i++)
		delay *= 2; /* 1, 1, 2, 4 ... 64 s */
	if (WIFSIGNALED(w->rstatus))
		log_msg(LOG_ERR, _("worker %d (pid %d) killed by signal %d: "
		                 "restarting in %.0f s"),
		        ch->index + 1, (int)w->rpid, WTERMSIG(w->rstatus), delay);
	else
		log_msg(LOG_ERR, _("worker %d (pid %d) exited with status %d: "
		                 "restarting in %.0f s"),
		        ch->index + 1, (int)w->rpid, WEXITSTATUS(w->rstatus), delay);
	ev_timer_set(&ch->restart, delay, 0.0);
	ev_timer_start(loop, &ch->restart);
}

static void
master_signal_children(int sig)
{
	for (unsigned i = 0; i < nchildren; i++)
		if (children[i].pid > 0)
			kill(children[i].pid, sig);
}

static void
master_signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct conf       *c;
	struct access_log *al;
	struct bump_gen   *bump;
	const char        *path = NULL;

	(void)revents;
	if (in_worker)
		return; /* a worker's own watchers handle it */
	switch (s->signum) {
	case SIGHUP:
		/* Workers reload themselves; refuse a broken file here once. */
		c = load_conf(true);
		if (c == NULL) {
			log_msg(LOG_ERR, _("reload: %s has errors: keeping the "
			                 "running configuration"),
			        opt.config);
			return;
		}
		/* Restarted workers run the sockets bound at start. */
		if (conf_keep_listeners(c, master_conf) < 0) {
			log_msg(LOG_ERR, _("reload: out of memory: keeping the "
			                 "running configuration"));
			conf_unref(c);
			return;
		}
		notify("RELOADING=1");
		al = access_log_open(c, (uid_t)-1, (gid_t)-1, &path);
		if (al == NULL) {
			log_msg(LOG_ERR, _("reload: access_log %s: %s"), path,
			        strerror(errno));
		} else {
			access_log_close(master_log);
			master_log = al;
		}
		if (worker_load_bump(c, master_bump, &bump) == 0) {
			bump_gen_unref(master_bump);
			master_bump = bump;
		}
		conf_unref(master_conf);
		master_conf = c; /* restarted workers start with it */
		master_signal_children(SIGHUP);
		notify("READY=1");
		break;
	case SIGUSR1:
		/* Workers started later must not write to a rotated file. */
		if (access_log_reopen(master_log, &path) < 0)
			log_msg(LOG_ERR, _("rotate: %s: %s"), path, strerror(errno));
		master_signal_children(SIGUSR1);
		break;
	default:
		if (master_stopping) {
			master_signal_children(SIGTERM);
			break;
		}
		master_stopping = true;
		notify("STOPPING=1");
		log_msg(LOG_NOTICE, _("shutting down %u workers"), nchildren);
		for (unsigned i = 0; i < nchildren; i++)
			ev_timer_stop(loop, &children[i].restart);
		master_signal_children(SIGTERM);
		break;
	}
}

static int
master_run(unsigned nworkers)
{
	struct ev_loop *loop = EV_DEFAULT;

	ev_signal_init(&m_sighup, master_signal_cb, SIGHUP);
	ev_signal_init(&m_sigterm, master_signal_cb, SIGTERM);
	ev_signal_init(&m_sigint, master_signal_cb, SIGINT);
	ev_signal_init(&m_sigusr1, master_signal_cb, SIGUSR1);
	ev_signal_start(loop, &m_sighup);
	ev_signal_start(loop, &m_sigterm);
	ev_signal_start(loop, &m_sigint);
	ev_signal_start(loop, &m_sigusr1);
	for (unsigned i = 0; i < nworkers; i++) {
		struct child *ch = &children[i];

		ch->index = (int)i;
		ev_child_init(&ch->watch, master_child_cb, 0, 0);
		ch->watch.data = ch;
		ev_init(&ch->restart, master_restart_cb);
		ch->restart.data = ch;
	}
	nchildren = nworkers;
	for (unsigned i = 0; i < nworkers; i++)
		master_spawn(loop, &children[i]);
	ev_run(loop, 0);
	for (unsigned i = 0; i < nworkers; i++)
		listener_free_all(children[i].ls);
	access_log_close(master_log);
	bump_gen_unref(master_bump);
	conf_unref(master_conf);
	return 0;
}

/* ------------------------------------------------------------------ */

static int
serve(void)
{
	struct conf         *c;
	struct listener     *sets[MAX_WORKERS];
	struct access_log   *al = NULL;
	struct bump_gen     *bump = NULL;
	const struct passwd *pw;
	const char          *what = NULL, *why = NULL, *path = NULL;
	struct sigaction     sa;
	int                  rc;

	c = load_conf(false);
	if (c == NULL)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN; /* splice(2) has no MSG_NOSIGNAL */
	sigaction(SIGPIPE, &sa, NULL);
	set_fd_limit(c);
	pw = target_user(c);

	/* Locked before binding: a second instance must not even join the
	 * SO_REUSEPORT group for a moment. */
	write_pid_file(c);
	for (unsigned i = 0; i < c->workers; i++) {
		sets[i] = listener_bind_all(c->listeners, c->nlisteners,
		                            c->workers > 1, &what, &why);
		if (sets[i] == NULL) {
			remove_pid_file();
			fatal(_("http_port %s: %s"), what, why);
		}
	}
	/* Opened while privileged; workers inherit the descriptors. */
	al = access_log_open(c, pw ? pw->pw_uid : (uid_t)-1,
	                     pw ? pw->pw_gid : (gid_t)-1, &path);
	if (al == NULL)
		fatal(_("access_log %s: %s"), path, strerror(errno));
	/* CA keys are read while privileged, as the ports are bound. */
	if (worker_load_bump(c, NULL, &bump) < 0) {
		remove_pid_file();
		return 1;
	}
	drop_privileges(pw);
	log_msg(LOG_NOTICE,
	        ngettext("bascule %s started: %zu ports, %u worker",
	                 "bascule %s started: %zu ports, %u workers",
	                 c->workers),
	        PACKAGE_VERSION, c->nlisteners, c->workers);
	if (c->workers == 1) { /* ready once its resolver is up */
		rc = worker_run(c, sets[0], al, bump, false);
	} else {
		for (unsigned i = 0; i < c->workers; i++)
			children[i].ls = sets[i];
		master_conf = c;
		master_log = al;
		master_bump = bump;
		notify("READY=1"); /* the workers start under supervision */
		rc = master_run(c->workers);
	}
	remove_pid_file();
	log_msg(LOG_NOTICE, _("bascule stopped"));
	return rc;
}

int
main(int argc, char **argv)
{
	bool  ca_dir_set = false;
	char *end;
	int   ch;
	long  v;

	setlocale(LC_ALL, "");
#ifdef ENABLE_NLS
	bindtextdomain(PACKAGE, LOCALEDIR);
	textdomain(PACKAGE);
#endif
	while ((ch = getopt_long(argc, argv, "Nf:k:d:vh", long_options,
	                         NULL)) != -1) {
		switch (ch) {
		case 'N':
			opt.foreground = true;
			break;
		case 'f':
			opt.config = optarg;
			break;
		case 'k':
			opt.action = optarg;
			break;
		case 'T':
			opt.action = "parse";
			break;
		case 'I':
			opt.init_ca = true;
			break;
		case 'C':
			opt.ca_dir = optarg;
			ca_dir_set = true;
			break;
		case 'd':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 0 || v > 9) {
				fprintf(stderr,
				        _("%s: -d needs a level from 0 to 9\n"),
				        PACKAGE);
				return 2;
			}
			opt.debug = (int)v;
			break;
		case 'v':
			printf("bascule %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, _("%s: unexpected argument '%s'\n"), PACKAGE,
		        argv[optind]);
		usage(stderr);
		return 2;
	}
	if (ca_dir_set && !opt.init_ca) {
		fprintf(stderr, _("%s: --ca-dir goes with --init-ca\n"), PACKAGE);
		return 2;
	}
	if (opt.init_ca)
		return init_ca();
	log_init(PACKAGE, opt.foreground || opt.action != NULL ||
	                          isatty(STDERR_FILENO),
	         debug_to_syslog(opt.debug));
	if (opt.action != NULL)
		return run_action(opt.action);
	return serve();
}
