#include "config.h"

/*
 * tls_verify: GnuTLS's verification status in Squid's names, and the load
 * time check of PEM files.  Nothing here keeps state.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_verify.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Far more than every CA of a system bundle (about 200 KB). */
#define PEM_FILE_MAX (64u << 20)

/*
 * Squid's names of the errors bascule reports, the name an error is given
 * first; the others read the same error (OpenSSL tells them apart, GnuTLS
 * does not).
 */
static const struct {
	const char *name;
	unsigned    bit;
} error_names[] = {
	{ "X509_V_ERR_CERT_HAS_EXPIRED", TLS_VERIFY_CERT_HAS_EXPIRED },
	{ "X509_V_ERR_CERT_NOT_YET_VALID", TLS_VERIFY_CERT_NOT_YET_VALID },
	{ "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
	  TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT },
	{ "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN",
	  TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN },
	{ "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
	  TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	{ "X509_V_ERR_CERT_UNTRUSTED", TLS_VERIFY_CERT_UNTRUSTED },
	{ "X509_V_ERR_INVALID_CA", TLS_VERIFY_INVALID_CA },
	{ "X509_V_ERR_CERT_REVOKED", TLS_VERIFY_CERT_REVOKED },
	{ "X509_V_ERR_CERT_SIGNATURE_FAILURE",
	  TLS_VERIFY_CERT_SIGNATURE_FAILURE },
	{ "X509_V_ERR_INVALID_PURPOSE", TLS_VERIFY_INVALID_PURPOSE },
	{ "X509_V_ERR_CA_MD_TOO_WEAK", TLS_VERIFY_CA_MD_TOO_WEAK },
	{ "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION",
	  TLS_VERIFY_UNHANDLED_CRITICAL_EXTENSION },
	{ "SQUID_X509_V_ERR_DOMAIN_MISMATCH", TLS_VERIFY_DOMAIN_MISMATCH },
	/* the same errors under other names */
	{ "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT",
	  TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	{ "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE",
	  TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	{ "X509_V_ERR_HOSTNAME_MISMATCH", TLS_VERIFY_DOMAIN_MISMATCH },
};

/*
 * Squid's shortcuts (src/ssl/ErrorDetail.cc), each also a predefined ACL;
 * in a value, "ssl::" may be left out.
 */
static const struct {
	const char *name;
	unsigned    mask;
} groups[] = {
	{ "ssl::certHasExpired", TLS_VERIFY_CERT_HAS_EXPIRED },
	{ "ssl::certNotYetValid", TLS_VERIFY_CERT_NOT_YET_VALID },
	{ "ssl::certDomainMismatch", TLS_VERIFY_DOMAIN_MISMATCH },
	{ "ssl::certUntrusted",
	  TLS_VERIFY_INVALID_CA | TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN |
	          TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY |
	          TLS_VERIFY_CERT_UNTRUSTED },
	{ "ssl::certSelfSigned", TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT },
};

/*
 * Squid's other names (OpenSSL's, and its own): a configuration written
 * for Squid may use them, but GnuTLS gives bascule no way to see these
 * errors, so they match nothing.
 */
static const char *const never_reported[] = {
	"SQUID_ERR_SSL_HANDSHAKE",
	"SQUID_TLS_ERR_ACCEPT",
	"SQUID_TLS_ERR_CONNECT",
	"SQUID_X509_V_ERR_CERT_CHANGE",
	"SQUID_X509_V_ERR_INFINITE_VALIDATION",
	"SSL_ERROR_NONE",
	"X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH",
	"X509_V_ERR_AKID_SKID_MISMATCH",
	"X509_V_ERR_APPLICATION_VERIFICATION",
	"X509_V_ERR_CA_KEY_TOO_SMALL",
	"X509_V_ERR_CERT_CHAIN_TOO_LONG",
	"X509_V_ERR_CERT_REJECTED",
	"X509_V_ERR_CRL_HAS_EXPIRED",
	"X509_V_ERR_CRL_NOT_YET_VALID",
	"X509_V_ERR_CRL_PATH_VALIDATION_ERROR",
	"X509_V_ERR_CRL_SIGNATURE_FAILURE",
	"X509_V_ERR_DANE_NO_MATCH",
	"X509_V_ERR_DIFFERENT_CRL_SCOPE",
	"X509_V_ERR_EE_KEY_TOO_SMALL",
	"X509_V_ERR_EMAIL_MISMATCH",
	"X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD",
	"X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD",
	"X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD",
	"X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD",
	"X509_V_ERR_EXCLUDED_VIOLATION",
	"X509_V_ERR_INVALID_CALL",
	"X509_V_ERR_INVALID_EXTENSION",
	"X509_V_ERR_INVALID_NON_CA",
	"X509_V_ERR_INVALID_POLICY_EXTENSION",
	"X509_V_ERR_IP_ADDRESS_MISMATCH",
	"X509_V_ERR_KEYUSAGE_NO_CERTSIGN",
	"X509_V_ERR_KEYUSAGE_NO_CRL_SIGN",
	"X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE",
	"X509_V_ERR_NO_EXPLICIT_POLICY",
	"X509_V_ERR_NO_VALID_SCTS",
	"X509_V_ERR_OCSP_CERT_UNKNOWN",
	"X509_V_ERR_OCSP_VERIFY_FAILED",
	"X509_V_ERR_OCSP_VERIFY_NEEDED",
	"X509_V_ERR_OUT_OF_MEM",
	"X509_V_ERR_PATH_LENGTH_EXCEEDED",
	"X509_V_ERR_PATH_LOOP",
	"X509_V_ERR_PERMITTED_VIOLATION",
	"X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED",
	"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED",
	"X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION",
	"X509_V_ERR_STORE_LOOKUP",
	"X509_V_ERR_SUBJECT_ISSUER_MISMATCH",
	"X509_V_ERR_SUBTREE_MINMAX",
	"X509_V_ERR_SUITE_B_CANNOT_SIGN_P_384_WITH_P_256",
	"X509_V_ERR_SUITE_B_INVALID_ALGORITHM",
	"X509_V_ERR_SUITE_B_INVALID_CURVE",
	"X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM",
	"X509_V_ERR_SUITE_B_INVALID_VERSION",
	"X509_V_ERR_SUITE_B_LOS_NOT_ALLOWED",
	"X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
	"X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE",
	"X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE",
	"X509_V_ERR_UNABLE_TO_GET_CRL",
	"X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER",
	"X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION",
	"X509_V_ERR_UNNESTED_RESOURCE",
	"X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX",
	"X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE",
	"X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE",
	"X509_V_ERR_UNSUPPORTED_NAME_SYNTAX",
};

/* GnuTLS's reasons, each to the error Squid would name. */
static const struct {
	unsigned status;
	unsigned error;
} reasons[] = {
	{ GNUTLS_CERT_EXPIRED, TLS_VERIFY_CERT_HAS_EXPIRED },
	{ GNUTLS_CERT_NOT_ACTIVATED, TLS_VERIFY_CERT_NOT_YET_VALID },
	{ GNUTLS_CERT_SIGNER_NOT_FOUND,
	  TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	{ GNUTLS_CERT_SIGNER_NOT_CA, TLS_VERIFY_INVALID_CA },
	{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, TLS_VERIFY_INVALID_CA },
	{ GNUTLS_CERT_REVOKED, TLS_VERIFY_CERT_REVOKED },
	{ GNUTLS_CERT_SIGNATURE_FAILURE, TLS_VERIFY_CERT_SIGNATURE_FAILURE },
	{ GNUTLS_CERT_PURPOSE_MISMATCH, TLS_VERIFY_INVALID_PURPOSE },
	{ GNUTLS_CERT_INSECURE_ALGORITHM, TLS_VERIFY_CA_MD_TOO_WEAK },
	{ GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS,
	  TLS_VERIFY_UNHANDLED_CRITICAL_EXTENSION },
	{ GNUTLS_CERT_UNEXPECTED_OWNER, TLS_VERIFY_DOMAIN_MISMATCH },
};

unsigned
tls_verify_errors(unsigned gnutls_status, bool name_mismatch)
{
	unsigned errors = 0, rest = gnutls_status;

	for (size_t i = 0; i < NELEM(reasons); i++) {
		if (gnutls_status & reasons[i].status) {
			errors |= reasons[i].error;
			rest &= ~reasons[i].status;
		}
	}
	/*
	 * GNUTLS_CERT_INVALID comes with every failure; alone, or with a
	 * reason not above (revocation data, OCSP, TOFU), it still fails
	 * the certificate.
	 */
	if ((rest & ~(unsigned)GNUTLS_CERT_INVALID) != 0 ||
	    (rest != 0 && errors == 0))
		errors |= TLS_VERIFY_CERT_UNTRUSTED;
	if (name_mismatch)
		errors |= TLS_VERIFY_DOMAIN_MISMATCH;
	return errors;
}

unsigned
tls_verify_self_signed(unsigned errors, enum tls_verify_chain chain)
{
	unsigned found = TLS_VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;

	if ((errors & found) == 0)
		return errors;
	switch (chain) {
	case TLS_VERIFY_CHAIN_ISSUED:
		break;
	case TLS_VERIFY_CHAIN_SELF_SIGNED_LEAF:
		return (errors & ~found) |
		       TLS_VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT;
	case TLS_VERIFY_CHAIN_SELF_SIGNED_ROOT:
		return (errors & ~found) | TLS_VERIFY_SELF_SIGNED_CERT_IN_CHAIN;
	}
	return errors;
}

const char *
tls_verify_error_name(unsigned bit)
{
	/* the first name of a bit is its own */
	for (size_t i = 0; i < NELEM(error_names); i++)
		if (error_names[i].bit == bit)
			return error_names[i].name;
	return NULL;
}

int
tls_verify_error_parse(const char *name, unsigned *mask)
{
	size_t i;

	for (i = 0; i < NELEM(error_names); i++) {
		if (strcmp(name, error_names[i].name) == 0) {
			*mask = error_names[i].bit;
			return 1;
		}
	}
	for (i = 0; i < NELEM(groups); i++) {
		if (strcmp(name, groups[i].name) == 0 ||
		    strcmp(name, groups[i].name + 5) == 0) { /* no "ssl::" */
			*mask = groups[i].mask;
			return 1;
		}
	}
	for (i = 0; i < NELEM(never_reported); i++) {
		if (strcmp(name, never_reported[i]) == 0) {
			*mask = 0;
			return 0;
		}
	}
	return -1;
}

const char *
tls_verify_group(unsigned i, unsigned *mask)
{
	if (i >= NELEM(groups))
		return NULL;
	*mask = groups[i].mask;
	return groups[i].name;
}

/* The whole of path, NUL-terminated, in *out (malloc'd); -1 with errno. */
static int
read_all(const char *path, gnutls_datum_t *out)
{
	unsigned char *p = NULL, *grown;
	size_t         len = 0, cap = 0, n;
	FILE          *f = fopen(path, "re");
	int            saved;

	if (f == NULL)
		return -1;
	for (;;) {
		if (cap - len < 8192) {
			if (cap >= PEM_FILE_MAX) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap == 0 ? 16384 : cap * 2;
			if ((grown = realloc(p, cap + 1)) == NULL)
				goto fail;
			p = grown;
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		errno = errno != 0 ? errno : EIO;
		goto fail;
	}
	fclose(f);
	p[len] = '\0';
	out->data = p;
	out->size = (unsigned)len;
	return 0;
fail:
	saved = errno;
	fclose(f);
	free(p);
	errno = saved;
	return -1;
}

int
tls_verify_pem_check(const char *path, const char **why)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_datum_t     d;
	unsigned           n = 0;
	int                r;

	errno = 0;
	if (read_all(path, &d) < 0)
		return -1;
	r = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM,
	                                 0);
	free(d.data);
	if (r == GNUTLS_E_NO_CERTIFICATE_FOUND)
		return 0;
	if (r < 0) {
		*why = gnutls_strerror(r);
		return -2;
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
