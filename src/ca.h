/*
 * ca: the local signing CA that bump mimics origin certificates with.
 *
 * `bascule --init-ca` creates it once, at package installation: a new
 * ECDSA P-256 key and a self-signed CA certificate for it.  Nothing
 * existing is ever replaced.
 */
#ifndef BASCULE_CA_H
#define BASCULE_CA_H

#include <stddef.h>

#define CA_KEY_FILE  "ca.key"
#define CA_CERT_FILE "ca.crt"
#define CA_DAYS      3650 /* validity of a new CA certificate */

struct ca_created {
	char cert_path[4096];
	char fingerprint[3 * 32]; /* SHA-256, "AB:CD:..." */
};

/*
 * Creates dir/ca.key (mode 0600) and dir/ca.crt (mode 0644), each with
 * O_EXCL and O_NOFOLLOW, so an existing file, or a link planted in its
 * place, is never written through.  common_name names the CA in its
 * subject.  On failure, what this call created is removed again and a
 * message is written to err (errsz bytes); returns -1.  Returns 0 and fills
 * *out on success.
 */
int ca_create(const char *dir, const char *common_name, struct ca_created *out,
              char *err, size_t errsz);

#endif
