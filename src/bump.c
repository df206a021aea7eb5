/*
 * bump: the GnuTLS sessions of a bumped connection (see bump.h).
 *
 * The server's chain is verified by bascule itself, after the handshake,
 * with a trust list (gnutls_x509_trust_list_verify_crt2()), rather than
 * inside the handshake: a failure must not end the handshake, because the
 * client is then shown the failure through a mimicked certificate of an
 * untrusted issuer (DESIGN.md, "Certificates"), and sslproxy_cert_error
 * may allow it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "aia_parse.h"
#include "bump.h"
#include "conf.h"
#include "i18n.h"
#include "mimic.h"
#include "tls_verify.h"

#define CHAIN_MAX 16 /* certificates of a server chain we look at */

/*
 * A port's certificate: the signing CA of an ssl-bump port, or the
 * proxy's own certificate chain of an https_port.  Generations share it
 * when a reload cannot read it.
 */
struct bump_ca {
	unsigned                         refs;
	struct mimic                    *mimic; /* ssl-bump */
	gnutls_certificate_credentials_t own;   /* https_port */
	char                            *cert, *key; /* the paths it was
	                                                loaded from */
};

/* The trust for one TLS parent (cache_peer ... tls). */
struct bump_peer {
	char                            *key; /* its peer_conf's */
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t                   resume; /* the newest session, to
	                                            resume (this worker's) */
};

/* What sessions with the clients of one port use. */
struct bump_port {
	struct bump_ca *ca;   /* NULL: none */
	const char     *prio; /* "-VERS-...": tls-min-version= */
};

struct bump_gen {
	unsigned                         refs;
	gnutls_certificate_credentials_t server_cred; /* we are the client */
	gnutls_certificate_credentials_t client_cred; /* we are the server */
	gnutls_x509_trust_list_t         trust;
	gnutls_x509_crt_t               *inter; /* foreign intermediates */
	unsigned                         ninter;
	bool                             dont_verify;
	bool                             dont_verify_domain;
	const char                      *priority_extra; /* "-VERS-..." */
	gnutls_datum_t                   ticket_key; /* https_port sessions */
	size_t                           nports;
	struct bump_port                *ports; /* by listener */
	size_t                           npeers;
	struct bump_peer                *peers; /* the TLS parents */
};

static const gnutls_datum_t alpn_http11 = {
	(unsigned char *)"http/1.1", 8,
};

/* ------------------------------------------------------------------ */
/* Transport */

int
bump_io_preload(struct bump_io *io, const uint8_t *p, size_t len)
{
	bump_io_clear(io);
	if (len == 0)
		return 0;
	if ((io->pre = malloc(len)) == NULL)
		return -1;
	memcpy(io->pre, p, len);
	io->pre_len = len;
	return 0;
}

void
bump_io_clear(struct bump_io *io)
{
	free(io->pre);
	io->pre = NULL;
	io->pre_len = io->pre_off = 0;
}

/* A GnuTLS result of the outer session as read(2)'s or write(2)'s. */
static ssize_t
outer_result(ssize_t r)
{
	if (r >= 0)
		return r;
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	if (r == GNUTLS_E_AGAIN)
		errno = EAGAIN;
	else if (r == GNUTLS_E_INTERRUPTED ||
	         r == GNUTLS_E_WARNING_ALERT_RECEIVED ||
	         r == GNUTLS_E_REHANDSHAKE)
		errno = EINTR; /* the inner session comes back; a parent's
		                  HelloRequest may be ignored (RFC 5246
		                  7.4.1.1) */
	else
		errno = EPROTO;
	return -1;
}

static ssize_t
bump_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
	struct bump_io *io = ptr;
	ssize_t         n;

	if (io->pre != NULL) {
		size_t left = io->pre_len - io->pre_off;

		n = (ssize_t)(left < size ? left : size);
		memcpy(data, io->pre + io->pre_off, (size_t)n);
		io->pre_off += (size_t)n;
		if (io->pre_off == io->pre_len)
			bump_io_clear(io);
		return n;
	}
	if (io->outer != NULL)
		return outer_result(gnutls_record_recv(io->outer, data, size));
	do
		n = recv(io->fd, data, size, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * Records of the inner session as the outer session's data.  After
 * GNUTLS_E_AGAIN the outer session wants the same bytes again: the inner
 * one offers them, as it resends what it could not push.
 */
static ssize_t
outer_push(gnutls_session_t outer, const giovec_t *iov, int iovcnt)
{
	size_t  total = 0;
	ssize_t r;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t         off = 0;

		while (off < iov[i].iov_len) {
			r = gnutls_record_send(outer, p + off,
			                       iov[i].iov_len - off);
			if (r <= 0)
				return total > 0 ? (ssize_t)total
				                 : outer_result(r == 0 ? GNUTLS_E_AGAIN
				                                       : r);
			off += (size_t)r;
			total += (size_t)r;
		}
	}
	return (ssize_t)total;
}

void
bump_io_keep_tail(struct bump_io *io)
{
	io->keep_tail = true;
}

size_t
bump_io_tail_len(const struct bump_io *io)
{
	return io->tail_len - io->tail_off;
}

void
bump_io_drop_tail(struct bump_io *io)
{
	free(io->tail);
	io->tail = NULL;
	io->tail_len = io->tail_off = 0;
	io->tail_err = 0;
	io->keep_tail = false;
}

/* After a failed write nothing more goes out: the stream has a hole. */
static void
tail_fail(struct bump_io *io, int err)
{
	free(io->tail);
	io->tail = NULL;
	io->tail_len = io->tail_off = 0;
	io->tail_err = err;
}

int
bump_io_flush(struct bump_io *io)
{
	ssize_t n;

	if (io->tail_err != 0) {
		errno = io->tail_err;
		return -1;
	}
	while (io->tail_off < io->tail_len) {
		do
			n = send(io->fd, io->tail + io->tail_off,
			         io->tail_len - io->tail_off, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			tail_fail(io, errno);
			return -1;
		}
		io->tail_off += (size_t)n;
	}
	free(io->tail);
	io->tail = NULL;
	io->tail_len = io->tail_off = 0;
	return 1;
}

/* Appends iov[0..iovcnt) to io's tail, from byte skip on.  -1: too much. */
static int
tail_append(struct bump_io *io, const giovec_t *iov, int iovcnt, size_t skip)
{
	if (io->tail == NULL && (io->tail = malloc(BUMP_TAIL_MAX)) == NULL)
		return -1;
	if (io->tail_off > 0) { /* room at the end for what comes */
		memmove(io->tail, io->tail + io->tail_off,
		        io->tail_len - io->tail_off);
		io->tail_len -= io->tail_off;
		io->tail_off = 0;
	}
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t         len = iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		if (len > BUMP_TAIL_MAX - io->tail_len)
			return -1;
		memcpy(io->tail + io->tail_len, p, len);
		io->tail_len += len;
	}
	return 0;
}

/* GnuTLS hands its records over in pieces: one sendmsg(2) for them. */
static ssize_t
bump_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct bump_io *io = ptr;
	struct msghdr   msg;
	ssize_t         n;
	size_t          total = 0;

	if (io->outer != NULL)
		return outer_push(io->outer, iov, iovcnt);
	if (io->tail_err != 0) {
		errno = io->tail_err;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (bump_io_tail_len(io) > 0) {
		/* Behind what already waits, in order. */
		if (tail_append(io, iov, iovcnt, 0) < 0) {
			tail_fail(io, ENOBUFS);
			errno = ENOBUFS;
			return -1;
		}
		return (ssize_t)total;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	do
		n = sendmsg(io->fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (!io->keep_tail || (size_t)n == total ||
	    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return n;
	/* The socket is full: the rest waits here, not in GnuTLS. */
	if (tail_append(io, iov, iovcnt, n > 0 ? (size_t)n : 0) < 0) {
		tail_fail(io, ENOBUFS);
		errno = ENOBUFS;
		return -1;
	}
	return (ssize_t)total;
}

void
bump_io_nest(struct bump_io *io, struct bump_io *raw, gnutls_session_t outer)
{
	memset(raw, 0, sizeof(*raw));
	raw->fd = io->fd;
	/* What the outer session left unsent is raw's now. */
	raw->keep_tail = io->keep_tail;
	raw->tail_err = io->tail_err;
	raw->tail = io->tail;
	raw->tail_len = io->tail_len;
	raw->tail_off = io->tail_off;
	io->keep_tail = false;
	io->tail_err = 0;
	io->tail = NULL;
	io->tail_len = io->tail_off = 0;
	gnutls_transport_set_ptr(outer, raw);
	io->outer = outer;
}

static void
bump_transport(gnutls_session_t s, struct bump_io *io)
{
	gnutls_transport_set_ptr(s, io);
	gnutls_transport_set_pull_function(s, bump_pull);
	gnutls_transport_set_vec_push_function(s, bump_push);
	/* The loop's timers bound the handshake, not GnuTLS. */
	gnutls_handshake_set_timeout(s, GNUTLS_INDEFINITE_TIMEOUT);
}

/* ------------------------------------------------------------------ */
/* Credentials */

/* The leaf the session was made for (gnutls_session_get_ptr()). */
static int
retrieve_leaf(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn,
              int nreqs, const gnutls_pk_algorithm_t *pk_algos,
              int pk_algos_length, gnutls_pcert_st **pcert,
              unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct mimic_cert *leaf = gnutls_session_get_ptr(s);

	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (leaf == NULL)
		return -1;
	*pcert = mimic_cert_chain(leaf, pcert_length);
	*privkey = mimic_cert_key(leaf);
	return 0;
}

static int
load_intermediates(struct bump_gen *g, const char *path, char *err,
                   size_t errsz)
{
	gnutls_datum_t pem = { NULL, 0 };
	int            r;

	if ((r = gnutls_load_file(path, &pem)) < 0) {
		snprintf(err, errsz, _("%s: %s"), path, gnutls_strerror(r));
		return -1;
	}
	r = gnutls_x509_crt_list_import2(&g->inter, &g->ninter, &pem,
	                                 GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(pem.data);
	if (r < 0) {
		snprintf(err, errsz, _("%s: %s"), path, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static int
load_trust(struct bump_gen *g, const struct conf *cf, char *err, size_t errsz)
{
	const struct tls_outgoing *o = &cf->tls_outgoing;
	int                        r;

	if ((r = gnutls_x509_trust_list_init(&g->trust, 0)) < 0)
		goto fail;
	/* Without ca-certificates there is no system store: then only the
	 * cafile= anchors are trusted, and every other server fails. */
	if (o->default_ca)
		(void)gnutls_x509_trust_list_add_system_trust(g->trust, 0, 0);
	for (size_t i = 0; o->cafiles != NULL && o->cafiles[i] != NULL; i++) {
		r = gnutls_x509_trust_list_add_trust_file(
		        g->trust, o->cafiles[i], NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (r < 0) {
			snprintf(err, errsz, _("tls_outgoing_options cafile=%s: %s"),
			    o->cafiles[i], gnutls_strerror(r));
			return -1;
		}
	}
	if (o->capath != NULL &&
	    (r = gnutls_x509_trust_list_add_trust_dir(
	             g->trust, o->capath, NULL, GNUTLS_X509_FMT_PEM, 0, 0)) < 0) {
		snprintf(err, errsz, _("tls_outgoing_options capath=%s: %s"),
		    o->capath, gnutls_strerror(r));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errsz, "%s", gnutls_strerror(r));
	return -1;
}

static void
ca_unref(struct bump_ca *ca)
{
	if (ca == NULL || --ca->refs > 0)
		return;
	mimic_free(ca->mimic);
	if (ca->own != NULL)
		gnutls_certificate_free_credentials(ca->own);
	free(ca->cert);
	free(ca->key);
	free(ca);
}

/*
 * The certificate prev loaded from the same files as l's, for the same
 * use, with a new reference.
 */
static struct bump_ca *
ca_from(const struct bump_gen *prev, const struct listen_conf *l)
{
	bool signing = l->flags & LISTEN_SSL_BUMP;

	for (size_t i = 0; prev != NULL && i < prev->nports; i++) {
		struct bump_ca *ca = prev->ports[i].ca;

		if (ca != NULL && (ca->mimic != NULL) == signing &&
		    strcmp(ca->cert, l->tls_cert) == 0 &&
		    strcmp(ca->key, l->tls_key) == 0) {
			ca->refs++;
			return ca;
		}
	}
	return NULL;
}

/* The https_port's own chain and key: a server credential. */
static gnutls_certificate_credentials_t
own_load(const struct listen_conf *l, char *why, size_t whysz)
{
	gnutls_certificate_credentials_t cred;
	int                              r;

	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0) {
		snprintf(why, whysz, "%s", gnutls_strerror(r));
		return NULL;
	}
	/* The chain, leaf first; GnuTLS checks that the key is its key. */
	r = gnutls_certificate_set_x509_key_file2(cred, l->tls_cert, l->tls_key,
	                                          GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0 && strcmp(l->tls_cert, l->tls_key) == 0)
		snprintf(why, whysz, _("%s: %s"), l->tls_cert,
		         gnutls_strerror(r));
	else if (r < 0)
		snprintf(why, whysz, _("%s, %s: %s"), l->tls_cert, l->tls_key,
		         gnutls_strerror(r));
	if (r < 0) {
		gnutls_certificate_free_credentials(cred);
		return NULL;
	}
	return cred;
}

/* The priority string's tail that disables versions below min. */
static const char *
version_floor(unsigned min)
{
	switch (min) {
	case 0x0302:
		return "-VERS-TLS1.0";
	case 0x0303:
		return "-VERS-TLS1.0:-VERS-TLS1.1";
	case 0x0304:
		return "-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.2";
	default:
		return NULL;
	}
}

/* The trust for TLS to the parent p, from its tls-* options. */
static int
peer_load(struct bump_peer *bp, const struct peer_conf *p, char *err,
          size_t errsz)
{
	const struct tls_outgoing *o = &p->tls_opts;
	const char                *what = NULL;
	int                        r;

	if ((bp->key = strdup(p->key)) == NULL) {
		snprintf(err, errsz, "%s", _("out of memory"));
		return -1;
	}
	if ((r = gnutls_certificate_allocate_credentials(&bp->cred)) < 0)
		goto fail;
	/* Without ca-certificates there is no system store to add. */
	if (o->default_ca)
		(void)gnutls_certificate_set_x509_system_trust(bp->cred);
	for (size_t i = 0; o->cafiles != NULL && o->cafiles[i] != NULL; i++)
		if ((r = gnutls_certificate_set_x509_trust_file(
		             bp->cred, what = o->cafiles[i],
		             GNUTLS_X509_FMT_PEM)) < 0)
			goto fail;
	if (o->capath != NULL &&
	    (r = gnutls_certificate_set_x509_trust_dir(
	             bp->cred, what = o->capath, GNUTLS_X509_FMT_PEM)) < 0)
		goto fail;
	return 0;
fail:
	if (what != NULL)
		snprintf(err, errsz, _("%s: cache_peer %s: %s: %s"), p->where,
		         p->name, what, gnutls_strerror(r));
	else
		snprintf(err, errsz, "%s", gnutls_strerror(r));
	return -1;
}

/* Loads the certificate of port l (a CA or its own), or takes prev's. */
static int
port_load(struct bump_gen *g, size_t i, const struct listen_conf *l,
          const struct bump_gen *prev, char *err, size_t errsz, char *warn,
          size_t warnsz)
{
	struct bump_ca                  *ca;
	struct mimic                    *m = NULL;
	gnutls_certificate_credentials_t own = NULL;
	char                             why[512];

	/* RFC 8996: TLS 1.0 and 1.1 are deprecated; the floor is 1.2. */
	g->ports[i].prio = version_floor(l->tls_min_version != 0
	                                         ? l->tls_min_version
	                                         : 0x0303);
	if (l->tls_cert == NULL)
		return 0;
	if (l->flags & LISTEN_SSL_BUMP)
		m = mimic_new(l->tls_cert, l->tls_key,
		              l->dynamic_cert_mem_cache_size, why, sizeof(why));
	else if ((l->flags & (LISTEN_HTTPS | LISTEN_INTERCEPT)) == LISTEN_HTTPS)
		own = own_load(l, why, sizeof(why));
	else
		return 0;
	if (m == NULL && own == NULL) {
		if ((g->ports[i].ca = ca_from(prev, l)) != NULL) {
			snprintf(warn, warnsz,
			         _("%s: %s: keeping the certificate loaded "
			           "before"),
			         l->where, why);
			return 0;
		}
		snprintf(err, errsz, _("%s: %s"), l->where, why);
		return -1;
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		mimic_free(m);
		if (own != NULL)
			gnutls_certificate_free_credentials(own);
		goto nomem;
	}
	ca->refs = 1;
	ca->mimic = m;
	ca->own = own;
	g->ports[i].ca = ca;
	ca->cert = strdup(l->tls_cert);
	ca->key = strdup(l->tls_key);
	if (ca->cert == NULL || ca->key == NULL)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errsz, "%s", _("out of memory"));
	return -1;
}

struct bump_gen *
bump_gen_new(const struct conf *cf, const struct bump_gen *prev, char *err,
             size_t errsz, char *warn, size_t warnsz)
{
	struct bump_gen *g = calloc(1, sizeof(*g));
	int              r;

	if (g == NULL)
		goto nomem;
	g->refs = 1;
	g->nports = cf->nlisteners;
	g->ports = calloc(cf->nlisteners + 1, sizeof(*g->ports));
	if (g->ports == NULL)
		goto nomem;
	if ((r = gnutls_certificate_allocate_credentials(&g->server_cred)) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&g->client_cred)) < 0) {
		snprintf(err, errsz, "%s", gnutls_strerror(r));
		goto fail;
	}
	gnutls_certificate_set_retrieve_function2(g->client_cred, retrieve_leaf);
	if (load_trust(g, cf, err, errsz) < 0)
		goto fail;
	if (cf->sslproxy_foreign_intermediate_certs != NULL &&
	    load_intermediates(g, cf->sslproxy_foreign_intermediate_certs, err,
	                       errsz) < 0)
		goto fail;
	g->dont_verify = cf->tls_outgoing.dont_verify_peer;
	g->dont_verify_domain = cf->tls_outgoing.dont_verify_domain;
	g->priority_extra = version_floor(cf->tls_outgoing.min_version);
	/*
	 * Tickets resume https_port sessions (RFC 8446 4.6.1, RFC 5077)
	 * with one key for all workers, which fork after this, and across
	 * reloads, which take it from the running generation.
	 */
	if (prev != NULL && prev->ticket_key.data != NULL) {
		g->ticket_key.data = gnutls_malloc(prev->ticket_key.size);
		if (g->ticket_key.data == NULL)
			goto nomem;
		memcpy(g->ticket_key.data, prev->ticket_key.data,
		       prev->ticket_key.size);
		g->ticket_key.size = prev->ticket_key.size;
	} else if ((r = gnutls_session_ticket_key_generate(&g->ticket_key)) <
	           0) {
		snprintf(err, errsz, "%s", gnutls_strerror(r));
		goto fail;
	}
	for (size_t i = 0; i < cf->nlisteners; i++)
		if (port_load(g, i, &cf->listeners[i], prev, err, errsz, warn,
		              warnsz) < 0)
			goto fail;
	if ((g->peers = calloc(cf->npeers + 1, sizeof(*g->peers))) == NULL)
		goto nomem;
	for (size_t i = 0; i < cf->npeers; i++) {
		if (!cf->peers[i].tls)
			continue;
		if (peer_load(&g->peers[g->npeers++], &cf->peers[i], err,
		              errsz) < 0)
			goto fail;
	}
	return g;
nomem:
	snprintf(err, errsz, "%s", _("out of memory"));
fail:
	bump_gen_unref(g);
	return NULL;
}

struct bump_gen *
bump_gen_ref(struct bump_gen *g)
{
	g->refs++;
	return g;
}

void
bump_gen_unref(struct bump_gen *g)
{
	if (g == NULL || --g->refs > 0)
		return;
	for (size_t i = 0; g->ports != NULL && i < g->nports; i++)
		ca_unref(g->ports[i].ca);
	free(g->ports);
	for (size_t i = 0; g->peers != NULL && i < g->npeers; i++) {
		free(g->peers[i].key);
		if (g->peers[i].cred != NULL)
			gnutls_certificate_free_credentials(g->peers[i].cred);
		gnutls_free(g->peers[i].resume.data);
	}
	free(g->peers);
	if (g->ticket_key.data != NULL) {
		gnutls_memset(g->ticket_key.data, 0, g->ticket_key.size);
		gnutls_free(g->ticket_key.data);
	}
	for (unsigned i = 0; i < g->ninter; i++)
		gnutls_x509_crt_deinit(g->inter[i]);
	gnutls_free(g->inter);
	if (g->trust != NULL)
		gnutls_x509_trust_list_deinit(g->trust, 1);
	if (g->server_cred != NULL)
		gnutls_certificate_free_credentials(g->server_cred);
	if (g->client_cred != NULL)
		gnutls_certificate_free_credentials(g->client_cred);
	free(g);
}

struct mimic *
bump_gen_mimic(const struct bump_gen *g, size_t port)
{
	return port < g->nports && g->ports[port].ca != NULL
	               ? g->ports[port].ca->mimic
	               : NULL;
}

bool
bump_gen_dont_verify(const struct bump_gen *g)
{
	return g->dont_verify;
}

/* ------------------------------------------------------------------ */
/* Sessions */

int
bump_server_session(struct bump_gen *g, struct bump_io *io, const char *sni,
                    gnutls_session_t *out)
{
	gnutls_session_t s;
	int              r;

	*out = NULL;
	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	                                 GNUTLS_NO_SIGNAL)) < 0)
		return r;
	if (g->priority_extra != NULL)
		r = gnutls_set_default_priority_append(s, g->priority_extra,
		                                       NULL, 0);
	else
		r = gnutls_set_default_priority(s);
	if (r < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	                                g->server_cred)) < 0 ||
	    (r = gnutls_alpn_set_protocols(s, &alpn_http11, 1, 0)) < 0 ||
	    (sni != NULL &&
	     (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni,
	                                 strlen(sni))) < 0)) {
		gnutls_deinit(s);
		return r;
	}
	bump_transport(s, io);
	*out = s;
	return 0;
}

/* A session with a client of port, presenting cred's certificate. */
static int
server_session(struct bump_gen *g, size_t port, struct bump_io *io,
               gnutls_certificate_credentials_t cred, gnutls_session_t *out)
{
	const char      *prio = port < g->nports ? g->ports[port].prio : NULL;
	gnutls_session_t s;
	int              r;

	*out = NULL;
	if ((r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
	                                 GNUTLS_NO_SIGNAL)) < 0)
		return r;
	if (prio != NULL)
		r = gnutls_set_default_priority_append(s, prio, NULL, 0);
	else
		r = gnutls_set_default_priority(s);
	if (r < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
	    (r = gnutls_alpn_set_protocols(s, &alpn_http11, 1, 0)) < 0) {
		gnutls_deinit(s);
		return r;
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
	bump_transport(s, io);
	*out = s;
	return 0;
}

int
bump_client_session(struct bump_gen *g, size_t port, struct bump_io *io,
                    struct mimic_cert *leaf, gnutls_session_t *out)
{
	int r = server_session(g, port, io, g->client_cred, out);

	if (r == 0)
		gnutls_session_set_ptr(*out, leaf);
	return r;
}

bool
bump_gen_https(const struct bump_gen *g, size_t port)
{
	return port < g->nports && g->ports[port].ca != NULL &&
	       g->ports[port].ca->own != NULL;
}

int
bump_https_session(struct bump_gen *g, size_t port, struct bump_io *io,
                   gnutls_session_t *out)
{
	int r;

	*out = NULL;
	if (!bump_gen_https(g, port))
		return GNUTLS_E_INVALID_REQUEST;
	r = server_session(g, port, io, g->ports[port].ca->own, out);
	if (r == 0 &&
	    (r = gnutls_session_ticket_enable_server(*out, &g->ticket_key)) <
	            0) {
		gnutls_deinit(*out);
		*out = NULL;
	}
	return r;
}

/*
 * Keeps the session with a parent for the next connection to it (RFC
 * 8446 4.6.1, RFC 5077): in TLS 1.3 once a ticket came, after the
 * handshake; in TLS 1.2 once the handshake is done (bump_peer_resumable()).
 */
static void
keep_peer_session(gnutls_session_t s)
{
	struct bump_peer *bp = gnutls_session_get_ptr(s);
	gnutls_datum_t    data;

	if (bp != NULL && gnutls_session_get_data2(s, &data) == 0) {
		gnutls_free(bp->resume.data);
		bp->resume = data;
	}
}

static int
ticket_received(gnutls_session_t s, unsigned htype, unsigned when,
                unsigned incoming, const gnutls_datum_t *msg)
{
	(void)htype;
	(void)when;
	(void)msg;
	if (incoming && gnutls_protocol_get_version(s) == GNUTLS_TLS1_3)
		keep_peer_session(s);
	return 0;
}

void
bump_peer_resumable(gnutls_session_t s)
{
	if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3)
		keep_peer_session(s);
}

int
bump_peer_session(struct bump_gen *g, const struct peer_conf *p,
                  struct bump_io *io, gnutls_session_t *out)
{
	const struct tls_outgoing *o = &p->tls_opts;
	struct bump_peer          *bp = NULL;
	const char                *name = p->tls_domain, *floor;
	gnutls_session_t           s;
	int                        r;

	*out = NULL;
	for (size_t i = 0; i < g->npeers && bp == NULL; i++)
		if (strcmp(g->peers[i].key, p->key) == 0)
			bp = &g->peers[i];
	if (bp == NULL)
		return GNUTLS_E_INVALID_REQUEST; /* not loaded by a reload */
	if (name == NULL && !hostname_is_ip(p->host))
		name = p->host;
	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	                                 GNUTLS_NO_SIGNAL)) < 0)
		return r;
	floor = version_floor(o->min_version);
	if (floor != NULL)
		r = gnutls_set_default_priority_append(s, floor, NULL, 0);
	else
		r = gnutls_set_default_priority(s);
	if (r < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	                                bp->cred)) < 0 ||
	    (r = gnutls_alpn_set_protocols(s, &alpn_http11, 1, 0)) < 0 ||
	    (name != NULL &&
	     (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name,
	                                 strlen(name))) < 0)) {
		gnutls_deinit(s);
		return r;
	}
	/*
	 * The parent is checked in the handshake, which fails when it does
	 * not verify: unlike an origin's, its failure is never shown to a
	 * client through a certificate.  Its name is tls-domain=, else its
	 * host, name or address (RFC 6125; GnuTLS matches IP addresses
	 * against iPAddress names).
	 */
	if (!o->dont_verify_peer)
		gnutls_session_set_verify_cert(
		        s, o->dont_verify_domain ? NULL
		           : p->tls_domain != NULL ? p->tls_domain
		                                   : p->host,
		        0);
	/* A session GnuTLS will not resume is a full handshake, no more. */
	if (bp->resume.size > 0)
		(void)gnutls_session_set_data(s, bp->resume.data,
		                              bp->resume.size);
	gnutls_session_set_ptr(s, bp);
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
	                                   GNUTLS_HOOK_POST, ticket_received);
	bump_transport(s, io);
	*out = s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Verification */

/* Is one of the chain's certificates already c? */
static bool
chain_has(gnutls_x509_crt_t *chain, unsigned n, gnutls_x509_crt_t c)
{
	for (unsigned i = 0; i < n; i++)
		if (gnutls_x509_crt_equals(chain[i], c))
			return true;
	return false;
}

/* A certificate of cands that issued last and is not in the chain yet. */
static gnutls_x509_crt_t
chain_issuer_in(gnutls_x509_crt_t *cands, unsigned ncands,
                gnutls_x509_crt_t last, gnutls_x509_crt_t *chain, unsigned n)
{
	for (unsigned i = 0; i < ncands; i++)
		if (gnutls_x509_crt_check_issuer(last, cands[i]) &&
		    !chain_has(chain, n, cands[i]))
			return cands[i];
	return NULL;
}

/*
 * Appends the foreign intermediates, then the extra certificates (fetched
 * from caIssuers URLs), that issued the end of the chain, as long as the
 * end is not issued by a trust anchor: a server that forgot its
 * intermediates verifies as if it had sent them.
 */
static unsigned
chain_complete(struct bump_gen *g, gnutls_x509_crt_t *extra, unsigned nextra,
               gnutls_x509_crt_t *chain, unsigned n)
{
	while (n < CHAIN_MAX && g->ninter + nextra > 0) {
		gnutls_x509_crt_t last = chain[n - 1], issuer = NULL;

		if (gnutls_x509_crt_check_issuer(last, last) ||
		    gnutls_x509_trust_list_get_issuer(g->trust, last, &issuer,
		                                      0) == 0)
			break;
		issuer = chain_issuer_in(g->inter, g->ninter, last, chain, n);
		if (issuer == NULL)
			issuer = chain_issuer_in(extra, nextra, last, chain, n);
		if (issuer == NULL)
			break;
		chain[n++] = issuer; /* borrowed: not freed by the caller */
	}
	return n;
}

/* What GnuTLS's SIGNER_NOT_FOUND was, in Squid's finer words. */
static enum tls_verify_chain
chain_kind(gnutls_x509_crt_t *chain, unsigned n)
{
	if (n == 1 && gnutls_x509_crt_check_issuer(chain[0], chain[0]))
		return TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF;
	if (n > 1 && gnutls_x509_crt_check_issuer(chain[n - 1], chain[n - 1]))
		return TLS_VERIFY_CHAIN_SELF_SIGNED_ROOT;
	return TLS_VERIFY_CHAIN_ISSUED;
}

int
bump_verify_server(struct bump_gen *g, gnutls_session_t s, const char *host,
                   gnutls_x509_crt_t *extra, unsigned nextra,
                   unsigned *errors, gnutls_x509_crt_t *leaf, char *aia_url,
                   size_t aia_urlsz)
{
	const gnutls_datum_t *der;
	gnutls_x509_crt_t     chain[CHAIN_MAX];
	gnutls_typed_vdata_st vd[2];
	unsigned char         ip[16];
	unsigned              n = 0, sent, nvd = 0, full, status = 0;
	int                   r = 0;

	*errors = 0;
	*leaf = NULL;
	if (aia_url != NULL && aia_urlsz > 0)
		aia_url[0] = '\0';
	der = gnutls_certificate_get_peers(s, &sent);
	if (der == NULL || sent == 0) {
		*errors = tls_verify_errors(GNUTLS_CERT_INVALID |
		                                    GNUTLS_CERT_SIGNER_NOT_FOUND,
		                            false);
		return 0;
	}
	if (sent > CHAIN_MAX)
		sent = CHAIN_MAX;
	for (n = 0; n < sent; n++) {
		if ((r = gnutls_x509_crt_init(&chain[n])) < 0)
			goto out;
		if ((r = gnutls_x509_crt_import(chain[n], &der[n],
		                                GNUTLS_X509_FMT_DER)) < 0) {
			gnutls_x509_crt_deinit(chain[n]);
			goto out;
		}
	}
	vd[nvd].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vd[nvd].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
	vd[nvd++].size = 0;
	if (g->dont_verify_domain) {
		/* flags=DONT_VERIFY_DOMAIN: any name */
	} else if (inet_pton(AF_INET, host, ip) == 1 ||
	           inet_pton(AF_INET6, host, ip) == 1) {
		vd[nvd].type = GNUTLS_DT_IP_ADDRESS;
		vd[nvd].data = ip;
		vd[nvd++].size = strchr(host, ':') != NULL ? 16 : 4;
	} else {
		vd[nvd].type = GNUTLS_DT_DNS_HOSTNAME;
		vd[nvd].data = (unsigned char *)host;
		vd[nvd++].size = 0;
	}
	full = chain_complete(g, extra, nextra, chain, n);
	r = gnutls_x509_trust_list_verify_crt2(g->trust, chain, full, vd, nvd,
	                                       0, &status, NULL);
	if (r >= 0 && status != 0)
		*errors = tls_verify_self_signed(tls_verify_errors(status, false),
		                                 chain_kind(chain, full));
	/* RFC 5280 4.2.2.1: where the issuer of the chain's end is published */
	if ((*errors & TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) &&
	    aia_url != NULL)
		(void)aia_crt_issuer_url(chain[full - 1], aia_url, aia_urlsz);
out:
	if (n > 0 && r >= 0) {
		*leaf = chain[0];
		for (unsigned i = 1; i < n; i++)
			gnutls_x509_crt_deinit(chain[i]);
	} else {
		for (unsigned i = 0; i < n; i++)
			gnutls_x509_crt_deinit(chain[i]);
	}
	return r < 0 ? r : 0;
}

void
bump_errors_text(unsigned errors, char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned bit = 1; bit != 0 && len < outsz; bit <<= 1) {
		const char *name = (errors & bit) ? tls_verify_error_name(bit)
		                                  : NULL;
		int         n;

		if (name == NULL)
			continue;
		n = snprintf(out + len, outsz - len, "%s%s", len > 0 ? ", " : "",
		             name);
		if (n < 0 || (size_t)n >= outsz - len)
			return;
		len += (size_t)n;
	}
}
