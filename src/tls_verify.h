/*
 * tls_verify: what can be wrong with an origin server's certificate, in
 * Squid's words.  GnuTLS reports a verification as status bits
 * (gnutls_certificate_verify_peers3()); Squid's configurations and error
 * pages speak of OpenSSL's X509_V_ERR_* names.  This module maps the one to
 * the other, names the errors for logs and error pages, parses the names
 * an "acl NAME ssl_error" line uses, and checks at load that a PEM file of
 * certificates (cafile=, sslproxy_foreign_intermediate_certs) reads.
 *
 * The header needs no GnuTLS: acl and conf include it.
 */
#ifndef BASCULE_TLS_VERIFY_H
#define BASCULE_TLS_VERIFY_H

#include <stdbool.h>

/*
 * The verification errors bascule tells apart, one bit each; a set of them
 * is an unsigned mask.  The comment is the name Squid gives the error.
 */
enum tls_verify_error {
	/* X509_V_ERR_CERT_HAS_EXPIRED */
	TLS_VERIFY_CERT_HAS_EXPIRED = 1u << 0,
	/* X509_V_ERR_CERT_NOT_YET_VALID */
	TLS_VERIFY_CERT_NOT_YET_VALID = 1u << 1,
	/* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: a lone self-signed leaf */
	TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT = 1u << 2,
	/* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: the chain ends in an
	 * untrusted self-signed root */
	TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN = 1u << 3,
	/* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: an issuer is not
	 * found (OpenSSL's UNABLE_TO_GET_ISSUER_CERT and
	 * UNABLE_TO_VERIFY_LEAF_SIGNATURE are this error too) */
	TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 1u << 4,
	/* X509_V_ERR_CERT_UNTRUSTED: any failure GnuTLS gives no reason
	 * for that bascule knows */
	TLS_VERIFY_CERT_UNTRUSTED = 1u << 5,
	/* X509_V_ERR_INVALID_CA: the signer is no CA, or breaks its
	 * constraints */
	TLS_VERIFY_INVALID_CA = 1u << 6,
	/* X509_V_ERR_CERT_REVOKED */
	TLS_VERIFY_CERT_REVOKED = 1u << 7,
	/* X509_V_ERR_CERT_SIGNATURE_FAILURE */
	TLS_VERIFY_CERT_SIGNATURE_FAILURE = 1u << 8,
	/* X509_V_ERR_INVALID_PURPOSE: extended key usage */
	TLS_VERIFY_INVALID_PURPOSE = 1u << 9,
	/* X509_V_ERR_CA_MD_TOO_WEAK: signed with an insecure algorithm */
	TLS_VERIFY_CA_MD_TOO_WEAK = 1u << 10,
	/* X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION */
	TLS_VERIFY_UNHANDLED_CRITICAL_EXTENSION = 1u << 11,
	/* SQUID_X509_V_ERR_DOMAIN_MISMATCH: not a certificate for the name
	 * bascule connected to */
	TLS_VERIFY_DOMAIN_MISMATCH = 1u << 12,
};

#define TLS_VERIFY_ALL_ERRORS ((1u << 13) - 1)

/* What the server sent, as far as GnuTLS's status cannot tell. */
enum tls_verify_chain {
	TLS_VERIFY_CHAIN_ISSUED = 0,       /* the leaf is issued by another */
	TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF, /* one certificate, self-issued */
	TLS_VERIFY_CHAIN_SELF_SIGNED_ROOT, /* the last one is self-issued */
};

/*
 * The errors of a gnutls_certificate_verify_peers3() status (0 for a good
 * certificate) as a mask of enum tls_verify_error.  name_mismatch adds
 * TLS_VERIFY_DOMAIN_MISMATCH, for a caller that checks the name itself
 * (GnuTLS's own check gives GNUTLS_CERT_UNEXPECTED_OWNER, the same error).
 * Never 0 for a status that is not 0: a failure this version does not know
 * is TLS_VERIFY_CERT_UNTRUSTED.  Pure.
 */
unsigned tls_verify_errors(unsigned gnutls_status, bool name_mismatch);

/*
 * GnuTLS says GNUTLS_CERT_SIGNER_NOT_FOUND both for an unknown issuer and
 * for a self-signed certificate; Squid's names tell them apart.  Given the
 * errors of tls_verify_errors() and what the server sent (a certificate is
 * self-issued when gnutls_x509_crt_check_issuer(crt, crt) says so), turns
 * TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY into
 * TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT or
 * TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN.  Pure.
 */
unsigned tls_verify_self_signed(unsigned errors, enum tls_verify_chain chain);

/*
 * Squid's name of one error ("X509_V_ERR_CERT_HAS_EXPIRED"), for logs and
 * error pages; NULL unless bit is exactly one enum tls_verify_error.
 * Static storage.
 */
const char *tls_verify_error_name(unsigned bit);

/*
 * An error name as an "acl NAME ssl_error" value: one of Squid's error
 * names, or a group such as "ssl::certUntrusted" (or "certUntrusted").
 * Returns 1 with *mask set to its errors; 0 for a name Squid knows that
 * bascule never reports (*mask = 0: it matches nothing); -1 if unknown.
 */
int tls_verify_error_parse(const char *name, unsigned *mask);

/*
 * Squid's predefined ssl_error ACLs, "ssl::certHasExpired" and the like:
 * the i-th name and its errors, or NULL past the last.
 */
const char *tls_verify_group(unsigned i, unsigned *mask);

/*
 * Reads the PEM certificates in path and forgets them again, so that the
 * configuration reports a bad file at load rather than at the first
 * connection.  Returns how many there are (0: no "BEGIN CERTIFICATE" at
 * all); -1 with errno set if the file cannot be read; or -2 with *why set
 * to GnuTLS's words (static) for a certificate that does not parse.
 */
int tls_verify_pem_check(const char *path, const char **why);

#endif
