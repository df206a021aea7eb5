/*
 * mimic: forges the leaf certificate that bump shows a client in place of
 * the origin's, and keeps the forged leaves in a bounded, refcounted LRU.
 *
 * A struct mimic is one signing context: the CA of an http_port's tls-cert=
 * and tls-key=, one ECDSA P-256 key pair for all leaves it issues, and a
 * self-signed "bascule untrusted issuer" (not the CA; its subject says
 * why) for origins whose certificate failed verification.  The serial of
 * a leaf is a hash of the origin certificate (without one, of the host
 * name and the day) and the CA, so every worker and every node with the
 * same CA gives an origin's mimic the same serial, names and validity.
 * The leaf key and the untrusted issuer's key are derived from the CA's
 * private key (HKDF, under different labels), the untrusted issuer's
 * serial and validity from the CA certificate, and both issuers sign
 * deterministically (but for an RSA-PSS CA), so they give a leaf the
 * same key and signature too, and the untrusted issuer the same
 * certificate, across reloads and restarts: NSS (Firefox) rejects a
 * certificate whose issuer and serial it has already seen on a different
 * one (SEC_ERROR_REUSED_ISSUER_AND_SERIAL), as it would see after a
 * reload or behind a farm if each context made keys of its own, or if a
 * fallback leaf's validity moved on a day under the same serial.
 *
 * A GnuTLS server session uses a leaf through
 * gnutls_certificate_set_retrieve_function2(): the callback returns
 * mimic_cert_chain() and mimic_cert_key() of the leaf the session holds a
 * reference to.  GnuTLS neither frees nor changes what that callback
 * returns, and the leaf keeps both alive until its last reference goes.
 *
 * Single-threaded: a context and its leaves belong to one process (one
 * event loop).  Nothing here blocks except mimic_new(), which reads files.
 */
#ifndef BASCULE_MIMIC_H
#define BASCULE_MIMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct mimic;
struct mimic_cert;

/*
 * Loads the signing CA: cert_file holds, in PEM (or DER), the CA
 * certificate first, optionally followed by the certificates that chain it
 * to a root (sent to clients after each leaf); key_file its unencrypted
 * private key (may be the same file).  The certificate must be a CA
 * (basicConstraints cA, keyUsage keyCertSign if present), unexpired, and
 * match the key.  Derives the leaf key and the untrusted issuer.
 * cache_bytes bounds the cache of issued leaves (0: no caching).
 * Returns the context, or NULL with a message naming the file in err
 * (errsz bytes; the caller adds "FILE:LINE: " or a log prefix).
 */
struct mimic *mimic_new(const char *cert_file, const char *key_file,
                        uint64_t cache_bytes, char *err, size_t errsz);

/*
 * Frees the context and drops the cache's references.  Leaves that
 * sessions still hold stay valid until their last mimic_cert_unref().
 * Accepts NULL.
 */
void mimic_free(struct mimic *m);

/*
 * Returns a leaf for origin (the server's certificate, or NULL when there
 * is none), with a reference the caller owns.  With an origin, the leaf
 * copies its subject common names, its dNSName and iPAddress
 * subjectAltNames and its validity.  Without one, fallback (the SNI or
 * CONNECT host: a host name, or an IPv4 or IPv6 literal, brackets
 * allowed) is the leaf's CN and subjectAltName, valid from 00:00 UTC
 * yesterday for a year and a day (not beyond the CA); that window moves
 * on each UTC day, and its serial with it, so that one serial never
 * names two different leaves.  untrusted signs with the untrusted
 * issuer, so that the client sees a verification error.  A cached leaf
 * is returned again for the same origin certificate (or fallback name
 * and day) and flag.  Returns NULL with a message in err on failure (a
 * bad fallback name, no name at all, allocation or GnuTLS errors).
 */
struct mimic_cert *mimic_issue(struct mimic *m, gnutls_x509_crt_t origin,
                               const char *fallback, bool untrusted, char *err,
                               size_t errsz);

/* Another reference to c; returns c. */
struct mimic_cert *mimic_cert_ref(struct mimic_cert *c);

/* Drops a reference; the last one frees c.  Accepts NULL. */
void mimic_cert_unref(struct mimic_cert *c);

/*
 * The chain to send: the leaf, then its issuer (and what the CA file chains
 * it with).  *n is set to the number of certificates.  Owned by c: valid
 * while a reference is held; must not be changed or freed.  Not const,
 * as gnutls_certificate_retrieve_function2 wants it.
 */
gnutls_pcert_st *mimic_cert_chain(struct mimic_cert *c, unsigned *n);

/* The leaf's private key, shared by all leaves of a context; owned like
 * mimic_cert_chain()'s result. */
gnutls_privkey_t mimic_cert_key(const struct mimic_cert *c);

/* The leaf certificate in DER, owned like mimic_cert_chain()'s result. */
const gnutls_datum_t *mimic_cert_der(const struct mimic_cert *c);

/* The leaves in the cache and the bytes they are counted for. */
size_t mimic_cache_count(const struct mimic *m);
size_t mimic_cache_bytes(const struct mimic *m);

/*
 * For tests only (the daemon never calls it): m issues as if the time
 * were now, from this call on; 0 goes back to time(NULL).  It moves what
 * depends on the day, the fallback window and serial, without waiting
 * for midnight.
 */
void mimic_set_now(struct mimic *m, time_t now);

#endif
