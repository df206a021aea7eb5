/*
 * x509_names: GnuTLS reads the certificate; hostname.c canonicalises.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "hostname.h"
#include "x509_names.h"

/* raw[0..len) canonical into a new string, "*." kept; NULL if not a name. */
static char *
canonical_name(const char *raw, size_t len)
{
	char        name[HOSTNAME_MAX + 3];
	const char *why;
	size_t      skip = 0;

	if (len > 2 && raw[0] == '*' && raw[1] == '.') {
		memcpy(name, "*.", 2);
		skip = 2;
	}
	if (hostname_canonical(raw + skip, len - skip, name + skip,
	                       sizeof(name) - skip, &why) < 0 ||
	    name[skip] == '.')
		return NULL;
	return strdup(name);
}

size_t
x509_dns_names(const uint8_t *der, size_t len, char **names, size_t max)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t    d;
	char              raw[HOSTNAME_MAX + 3];
	size_t            n = 0, size;
	unsigned          critical;
	int               r;

	if (len > UINT_MAX || gnutls_x509_crt_init(&crt) < 0)
		return 0;
	d.data = (unsigned char *)(uintptr_t)der;
	d.size = (unsigned)len;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	for (unsigned i = 0; n < max; i++) {
		size = sizeof(raw);
		r = gnutls_x509_crt_get_subject_alt_name(crt, i, raw, &size,
		                                         &critical);
		if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* longer than any host name */
		if (r < 0)
			break; /* the end, or a malformed extension */
		if (r == GNUTLS_SAN_DNSNAME &&
		    (names[n] = canonical_name(raw, size)) != NULL)
			n++;
	}
	size = sizeof(raw);
	if (n == 0 && max > 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                                  0, raw, &size) == 0 &&
	    (names[0] = canonical_name(raw, size)) != NULL)
		n = 1;
out:
	gnutls_x509_crt_deinit(crt);
	return n;
}
