#include "config.h"

/*
 * tls_verify: GnuTLS status bits to Squid's errors, the self-signed cases
 * GnuTLS does not tell apart, the names of each error, the values an
 * ssl_error acl accepts, and the check of PEM files (fixtures in
 * $srcdir/data/conf).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "tap.h"
#include "tls_verify.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define INVALID              GNUTLS_CERT_INVALID
#define EXPIRED              TLS_VERIFY_CERT_HAS_EXPIRED
#define NOT_YET_VALID        TLS_VERIFY_CERT_NOT_YET_VALID
#define ZERO_SELF_SIGNED     TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT
#define SELF_SIGNED_IN_CHAIN TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN
#define NO_ISSUER            TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
#define UNTRUSTED            TLS_VERIFY_CERT_UNTRUSTED
#define INVALID_CA           TLS_VERIFY_INVALID_CA
#define MISMATCH             TLS_VERIFY_DOMAIN_MISMATCH

static const struct {
	const char *what;
	unsigned    status;
	bool        name_mismatch;
	unsigned    want;
} status_cases[] = {
	{ "a good certificate", 0, false, 0 },
	{ "expired", INVALID | GNUTLS_CERT_EXPIRED, false, EXPIRED },
	{ "not yet valid", INVALID | GNUTLS_CERT_NOT_ACTIVATED, false,
	  NOT_YET_VALID },
	{ "unknown issuer", INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND, false,
	  NO_ISSUER },
	{ "signer not a CA", INVALID | GNUTLS_CERT_SIGNER_NOT_CA, false,
	  INVALID_CA },
	{ "signer constraints",
	  INVALID | GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, false, INVALID_CA },
	{ "revoked", INVALID | GNUTLS_CERT_REVOKED, false,
	  TLS_VERIFY_CERT_REVOKED },
	{ "bad signature", INVALID | GNUTLS_CERT_SIGNATURE_FAILURE, false,
	  TLS_VERIFY_CERT_SIGNATURE_FAILURE },
	{ "wrong purpose", INVALID | GNUTLS_CERT_PURPOSE_MISMATCH, false,
	  TLS_VERIFY_INVALID_PURPOSE },
	{ "insecure algorithm", INVALID | GNUTLS_CERT_INSECURE_ALGORITHM, false,
	  TLS_VERIFY_CA_MD_TOO_WEAK },
	{ "unknown critical extension",
	  INVALID | GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS, false,
	  TLS_VERIFY_UNHANDLED_CRITICAL_EXTENSION },
	{ "GnuTLS's name check", INVALID | GNUTLS_CERT_UNEXPECTED_OWNER, false,
	  MISMATCH },
	{ "the caller's name check", 0, true, MISMATCH },
	{ "both name checks", INVALID | GNUTLS_CERT_UNEXPECTED_OWNER, true,
	  MISMATCH },
	{ "expired and for another name", INVALID | GNUTLS_CERT_EXPIRED, true,
	  EXPIRED | MISMATCH },
	{ "expired, unknown issuer",
	  INVALID | GNUTLS_CERT_EXPIRED | GNUTLS_CERT_SIGNER_NOT_FOUND, false,
	  EXPIRED | NO_ISSUER },
	{ "INVALID without a reason", INVALID, false, UNTRUSTED },
	{ "a reason without INVALID", GNUTLS_CERT_EXPIRED, false, EXPIRED },
	{ "missing OCSP status", INVALID | GNUTLS_CERT_MISSING_OCSP_STATUS,
	  false, UNTRUSTED },
	{ "invalid OCSP status", INVALID | GNUTLS_CERT_INVALID_OCSP_STATUS,
	  false, UNTRUSTED },
	{ "superseded revocation data",
	  INVALID | GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED, false, UNTRUSTED },
	{ "revocation data from the future",
	  INVALID | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE, false,
	  UNTRUSTED },
	{ "TOFU mismatch", INVALID | GNUTLS_CERT_MISMATCH, false, UNTRUSTED },
	{ "an unknown reason beside a known one",
	  INVALID | GNUTLS_CERT_EXPIRED | (1u << 30), false,
	  EXPIRED | UNTRUSTED },
	{ "a status bit GnuTLS may add later", 1u << 30, false, UNTRUSTED },
};

static void
test_status(void)
{
	for (size_t i = 0; i < NELEM(status_cases); i++) {
		unsigned got = tls_verify_errors(status_cases[i].status,
		                                 status_cases[i].name_mismatch);

		ok(got == status_cases[i].want, "%s: 0x%x (got 0x%x)",
		   status_cases[i].what, status_cases[i].want, got);
	}
	ok((tls_verify_errors(~0u, true) & ~TLS_VERIFY_ALL_ERRORS) == 0,
	   "only enum tls_verify_error bits come out");
}

static void
test_self_signed(void)
{
	unsigned e = NO_ISSUER | EXPIRED;

	ok(tls_verify_self_signed(e, TLS_VERIFY_CHAIN_ISSUED) == e,
	   "an issued leaf: the issuer is not found");
	ok(tls_verify_self_signed(e, TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF) ==
	           (ZERO_SELF_SIGNED | EXPIRED),
	   "a lone self-signed leaf: DEPTH_ZERO_SELF_SIGNED_CERT");
	ok(tls_verify_self_signed(e, TLS_VERIFY_CHAIN_SELF_SIGNED_ROOT) ==
	           (SELF_SIGNED_IN_CHAIN | EXPIRED),
	   "a chain to an untrusted root: SELF_SIGNED_CERT_IN_CHAIN");
	ok(tls_verify_self_signed(EXPIRED, TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF) ==
	           EXPIRED,
	   "a trusted self-signed leaf (issuer found) stays as it is");
	ok(tls_verify_self_signed(0, TLS_VERIFY_CHAIN_SELF_SIGNED_ROOT) == 0,
	   "no errors, none added");
}

static void
test_names(void)
{
	bool all_named = true, round_trip = true;

	for (unsigned bit = 1; bit & TLS_VERIFY_ALL_ERRORS; bit <<= 1) {
		const char *name = tls_verify_error_name(bit);
		unsigned    mask = 0;

		if (name == NULL) {
			printf("# bit 0x%x has no name\n", bit);
			all_named = false;
			continue;
		}
		if (tls_verify_error_parse(name, &mask) != 1 || mask != bit) {
			printf("# %s does not parse back\n", name);
			round_trip = false;
		}
	}
	ok(all_named, "every error has a name");
	ok(round_trip, "every name parses back to its error");
	ok(tls_verify_error_name(0) == NULL, "no name for no error");
	ok(tls_verify_error_name(EXPIRED | MISMATCH) == NULL,
	   "no name for two errors");
	ok(tls_verify_error_name(TLS_VERIFY_ALL_ERRORS + 1) == NULL,
	   "no name for a bit past the last");
	ok(strcmp(tls_verify_error_name(EXPIRED),
	          "X509_V_ERR_CERT_HAS_EXPIRED") == 0,
	   "expired: X509_V_ERR_CERT_HAS_EXPIRED");
	ok(strcmp(tls_verify_error_name(MISMATCH),
	          "SQUID_X509_V_ERR_DOMAIN_MISMATCH") == 0,
	   "name mismatch: SQUID_X509_V_ERR_DOMAIN_MISMATCH");
	ok(strcmp(tls_verify_error_name(NO_ISSUER),
	          "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY") == 0,
	   "an error with several names is given its first");
}

static const struct {
	const char *name;
	int         rc;
	unsigned    mask;
} parse_cases[] = {
	{ "X509_V_ERR_CERT_HAS_EXPIRED", 1, EXPIRED },
	{ "X509_V_ERR_CERT_NOT_YET_VALID", 1, NOT_YET_VALID },
	{ "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT", 1, ZERO_SELF_SIGNED },
	{ "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN", 1, SELF_SIGNED_IN_CHAIN },
	{ "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", 1, NO_ISSUER },
	{ "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT", 1, NO_ISSUER },
	{ "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE", 1, NO_ISSUER },
	{ "X509_V_ERR_CERT_REVOKED", 1, TLS_VERIFY_CERT_REVOKED },
	{ "X509_V_ERR_CERT_SIGNATURE_FAILURE", 1,
	  TLS_VERIFY_CERT_SIGNATURE_FAILURE },
	{ "X509_V_ERR_CERT_UNTRUSTED", 1, UNTRUSTED },
	{ "X509_V_ERR_INVALID_CA", 1, INVALID_CA },
	{ "X509_V_ERR_INVALID_PURPOSE", 1, TLS_VERIFY_INVALID_PURPOSE },
	{ "SQUID_X509_V_ERR_DOMAIN_MISMATCH", 1, MISMATCH },
	{ "X509_V_ERR_HOSTNAME_MISMATCH", 1, MISMATCH },
	{ "ssl::certHasExpired", 1, EXPIRED },
	{ "certHasExpired", 1, EXPIRED },
	{ "ssl::certNotYetValid", 1, NOT_YET_VALID },
	{ "ssl::certDomainMismatch", 1, MISMATCH },
	{ "ssl::certUntrusted", 1,
	  INVALID_CA | SELF_SIGNED_IN_CHAIN | NO_ISSUER | UNTRUSTED },
	{ "certUntrusted", 1,
	  INVALID_CA | SELF_SIGNED_IN_CHAIN | NO_ISSUER | UNTRUSTED },
	{ "ssl::certSelfSigned", 1, ZERO_SELF_SIGNED },
	{ "X509_V_ERR_CERT_CHAIN_TOO_LONG", 0, 0 },
	{ "X509_V_ERR_UNABLE_TO_GET_CRL", 0, 0 },
	{ "SQUID_X509_V_ERR_INFINITE_VALIDATION", 0, 0 },
	{ "SSL_ERROR_NONE", 0, 0 },
	{ "x509_v_err_cert_has_expired", -1, 0 }, /* names are exact */
	{ "ssl::certhasexpired", -1, 0 },
	{ "tls::certHasExpired", -1, 0 },
	{ "X509_V_ERR_CERT_HAS_EXPIRED ", -1, 0 },
	{ "10", -1, 0 }, /* OpenSSL's numbers: not with GnuTLS */
	{ "", -1, 0 },
};

static void
test_parse(void)
{
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		unsigned mask = 0xdead;
		int rc = tls_verify_error_parse(parse_cases[i].name, &mask);

		ok(rc == parse_cases[i].rc &&
		           (rc < 0 || mask == parse_cases[i].mask),
		   "'%s': %d, 0x%x (got %d, 0x%x)", parse_cases[i].name,
		   parse_cases[i].rc, parse_cases[i].mask, rc, mask);
	}
}

static void
test_groups(void)
{
	static const char *const want[] = {
		"ssl::certHasExpired",     "ssl::certNotYetValid",
		"ssl::certDomainMismatch", "ssl::certUntrusted",
		"ssl::certSelfSigned",
	};
	unsigned mask, parsed;
	unsigned i;

	for (i = 0; tls_verify_group(i, &mask) != NULL; i++) {
		const char *name = tls_verify_group(i, &mask);

		ok(i < NELEM(want) && strcmp(name, want[i]) == 0 &&
		           tls_verify_error_parse(name, &parsed) == 1 &&
		           parsed == mask && mask != 0,
		   "group %u is %s", i, name);
	}
	ok(i == NELEM(want), "Squid's five groups");
}

/* "$srcdir/data/conf/name" */
static const char *
data(const char *name, char *buf, size_t size)
{
	const char *srcdir = getenv("srcdir");
	int         n;

	n = snprintf(buf, size, "%s/data/conf/%s",
	             srcdir != NULL ? srcdir : ".", name);

	if (n < 0 || (size_t)n >= size)
		abort();
	return buf;
}

static void
test_pem_check(void)
{
	char        path[4096];
	const char *why = NULL;
	int         rc;

	rc = tls_verify_pem_check(data("tls_ca.pem", path, sizeof(path)), &why);
	ok(rc == 1, "one certificate, text before it skipped");
	rc = tls_verify_pem_check(data("tls_none.pem", path, sizeof(path)),
	                          &why);
	ok(rc == 0, "no certificate: 0");
	rc = tls_verify_pem_check(data("tls_corrupt.pem", path, sizeof(path)),
	                          &why);
	ok(rc == -2 && why != NULL && *why != '\0',
	   "damaged DER: -2 and GnuTLS's words (%s)", why ? why : "");
	why = NULL;
	rc = tls_verify_pem_check(data("tls_truncated.pem", path, sizeof(path)),
	                          &why);
	ok(rc == -2 && why != NULL, "a certificate cut short: -2 (%s)",
	   why ? why : "");
	errno = 0;
	rc = tls_verify_pem_check("/nonexistent/ca.pem", &why);
	ok(rc == -1 && errno == ENOENT, "a missing file: -1, ENOENT");
	errno = 0;
	rc = tls_verify_pem_check(data("", path, sizeof(path)), &why);
	ok(rc == -1 && errno == EISDIR, "a directory: -1, EISDIR");
}

int
main(void)
{
	test_status();
	test_self_signed();
	test_names();
	test_parse();
	test_groups();
	test_pem_check();
	return tap_done();
}
