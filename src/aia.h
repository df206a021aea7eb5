/*
 * aia: fetches the issuer certificates that a server's chain lacks from
 * the caIssuers URL of its Authority Information Access extension (RFC
 * 5280 4.2.2.1), and caches them per worker.
 *
 * A fetch is the proxy's own traffic: a plain HTTP/1.1 GET, direct to the
 * URL's host (resolved by the worker's resolver, so hosts_file applies),
 * never through http_access, cache_peer or anything a client configured.
 * It is bounded by connect_timeout (name and connection), read_timeout
 * (request and response), AIA_HEAD_MAX and AIA_BODY_MAX.  Answers are
 * cached by URL: certificates for AIA_TTL, failures for AIA_TTL_FAILED;
 * the cache is bounded in entries and bytes.  Requests for a URL being
 * fetched wait for that fetch.  Nothing blocks.
 */
#ifndef BASCULE_AIA_H
#define BASCULE_AIA_H

#include <stdbool.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "aia_parse.h"

#define AIA_FETCHES_MAX 3 /* caIssuers URLs one connection follows */
#define AIA_EXTRA_MAX   (AIA_FETCHES_MAX * AIA_CERTS_MAX)

struct aia;
struct aia_certs;
struct aia_entry;
struct ev_loop;
struct resolver;

enum aia_status {
	AIA_DONE = 0, /* answered now (from the cache): certificates added */
	AIA_PENDING,  /* req->cb will be called once */
	AIA_FAILED,   /* req->error says why; no callback */
};

struct aia_req;
typedef void aia_fn(struct aia_req *req);

/*
 * What one connection fetched: the certificates of up to AIA_FETCHES_MAX
 * URLs, and the fetch it waits for.  Owned by the caller (embedded in
 * struct conn), zeroed before use; only aia.c writes it.
 */
struct aia_req {
	aia_fn     *cb;
	void       *data;  /* for the caller */
	const char *error; /* the last URL brought nothing: why; else NULL */
	/* private */
	struct aia_certs *got[AIA_FETCHES_MAX];
	uint32_t          urls[AIA_FETCHES_MAX]; /* hashes of those asked */
	unsigned          nurls;
	bool              stopped;
	struct aia_entry *wait; /* the entry whose fetch it waits for */
	struct aia_req   *next;
	char              why[192];
};

/* A fetcher and its cache on loop, resolving with r.  NULL: no memory. */
struct aia *aia_new(struct ev_loop *loop, struct resolver *r);
/* Aborts every fetch without calling back (conns must be gone first). */
void aia_free(struct aia *a);

/*
 * Asks for the certificates at url (a caIssuers URL of the chain's end)
 * for req, bounded by connect_ms and read_ms.  A URL req asked for
 * already, more than AIA_FETCHES_MAX URLs, or one that is not http fail
 * at once.  With AIA_PENDING, req->cb(req) is called once later, with
 * req->error set if the fetch failed, unless aia_cancel(req) comes first.
 */
enum aia_status aia_start(struct aia *a, struct aia_req *req, const char *url,
                          uint64_t connect_ms, uint64_t read_ms);

/* Stops waiting; later aia_start() calls on req fail.  No-op if idle. */
void aia_cancel(struct aia_req *req);

/* Cancels and lets go of the certificates. */
void aia_req_clear(struct aia_req *req);

/*
 * The certificates req has got, borrowed (valid until aia_req_clear()):
 * up to max into out; returns how many.
 */
unsigned aia_req_certs(const struct aia_req *req, gnutls_x509_crt_t *out,
                       unsigned max);

#endif
