/*
 * x509_names: the DNS names a server certificate is valid for, as
 * ssl::server_name compares them at step 3 of ssl_bump.
 */
#ifndef BASCULE_X509_NAMES_H
#define BASCULE_X509_NAMES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fills names[0..max) with the subjectAltName dNSNames of the DER
 * certificate der[0..len), or its subject common name when it has none
 * (RFC 6125 6.4.4), each canonical (hostname_canonical: lower case,
 * A-labels, no trailing dot); a wildcard name keeps its "*." before the
 * canonical rest.  Names that are not host names are skipped.  Returns
 * how many were stored (malloc'd: the caller frees them); 0 if the
 * certificate does not parse.
 */
size_t x509_dns_names(const uint8_t *der, size_t len, char **names,
                      size_t max);

#endif
