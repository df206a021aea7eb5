/*
 * ca: creates the local signing CA (RFC 5280 profile: a self-signed
 * version 3 certificate with basicConstraints cA, pathLenConstraint 0,
 * since mimicked leaves are signed directly by it, and keyUsage
 * keyCertSign and cRLSign, both critical; RFC 5280 4.2.1.9 and 4.2.1.3).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ca.h"
#include "i18n.h"

/* The certificate is valid from an hour ago: clocks disagree a little. */
#define CA_BACKDATE 3600

static void
say(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* Writes all of data to a new file; -1 with errno set on failure. */
static int
write_new(const char *path, mode_t mode, const gnutls_datum_t *data)
{
	size_t off = 0;
	int    fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          mode);
	if (fd < 0)
		return -1;
	/* The umask must not widen or narrow what was asked for. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (off < data->size) {
		ssize_t n = write(fd, data->data + off, data->size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	return close(fd);
fail:
	saved = errno;
	close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

/* True, with a message, when path exists (even as a dangling link) or
 * cannot be checked. */
static bool
exists(const char *path, char *err, size_t errsz)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		say(err, errsz, _("%s already exists: not replaced"), path);
		return true;
	}
	if (errno != ENOENT) {
		say(err, errsz, "%s: %s", path, strerror(errno));
		return true;
	}
	return false;
}

static int
make_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn)
{
	static const char org[] = "bascule";
	unsigned char     serial[16], id[64];
	size_t            idlen = sizeof(id);
	time_t            now = time(NULL);
	int               r;

	/* RFC 5280 4.1.2.2: positive, at most 20 octets, unpredictable. */
	if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return r;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, now - CA_BACKDATE)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(
	             crt, now + (time_t)CA_DAYS * 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
	                                       0, org, sizeof(org) - 1)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
	                                       0, cn, (unsigned)strlen(cn))) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(
	             crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(crt, 0, id, &idlen)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		return r;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

static void
hex_fingerprint(gnutls_x509_crt_t crt, char *out, size_t outsz)
{
	unsigned char md[32];
	size_t        len = sizeof(md), o = 0;

	out[0] = '\0';
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &len) < 0)
		return;
	for (size_t i = 0; i < len && o + 3 <= outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, i ? ":%02X" : "%02X",
		                      md[i]);
}

int
ca_create(const char *dir, const char *common_name, struct ca_created *out,
          char *err, size_t errsz)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t     crt = NULL;
	gnutls_datum_t        kpem = { NULL, 0 }, cpem = { NULL, 0 };
	char                  kpath[4096];
	bool                  key_written = false;
	int                   r, rc = -1;

	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/%s", dir, CA_KEY_FILE) >=
	            sizeof(kpath) ||
	    (size_t)snprintf(out->cert_path, sizeof(out->cert_path), "%s/%s",
	                     dir, CA_CERT_FILE) >= sizeof(out->cert_path)) {
		say(err, errsz, _("%s: directory name too long"), dir);
		return -1;
	}
	/* Checked first so that nothing is generated in vain; O_EXCL below
	 * still closes the race. */
	if (exists(kpath, err, errsz) || exists(out->cert_path, err, errsz))
		return -1;
	if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
	    (r = gnutls_x509_privkey_generate2(
	             key, GNUTLS_PK_ECDSA,
	             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL,
	             0)) < 0 ||
	    (r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = make_cert(crt, key, common_name)) < 0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
	                                           GNUTLS_PKCS_PLAIN, &kpem)) < 0 ||
	    (r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) < 0) {
		say(err, errsz, _("cannot create the CA: %s"), gnutls_strerror(r));
		goto out;
	}
	if (write_new(kpath, 0600, &kpem) < 0) {
		say(err, errsz, "%s: %s", kpath, strerror(errno));
		goto out;
	}
	key_written = true;
	if (write_new(out->cert_path, 0644, &cpem) < 0) {
		say(err, errsz, "%s: %s", out->cert_path, strerror(errno));
		goto out;
	}
	hex_fingerprint(crt, out->fingerprint, sizeof(out->fingerprint));
	rc = 0;
out:
	if (rc < 0 && key_written)
		unlink(kpath);
	if (kpem.data != NULL) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}
