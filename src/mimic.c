#include "config.h"

/*
 * mimic: the signing context (CA, leaf key, untrusted issuer), the forging
 * of leaves (RFC 5280 profile) and their LRU cache.
 *
 * What a leaf needs after its context is gone (the leaf key and the
 * issuers' certificates it is sent with) lives in a refcounted struct
 * shared, so that a reload may free a context while sessions still hold
 * its leaves.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509-ext.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "hostname.h"
#include "i18n.h"
#include "mimic.h"

#define DAY         86400
#define FILE_MAX    (1024 * 1024) /* a PEM bundle is far smaller */
#define KEYID_MAX   64
#define SERIAL_LEN  20 /* RFC 5280 4.1.2.2: at most 20 octets */
#define CN_MAX      64 /* RFC 5280 appendix A: ub-common-name */
#define BUCKETS_MIN 64
#define OID_SAN     "2.5.29.17"

/* The derivation of keys from the CA key: see derive_key().  A new label
 * makes new keys everywhere, so it changes only with the derivation. */
#define LEAF_KEY_LABEL      "bascule mimic leaf key v1"
#define UNTRUSTED_KEY_LABEL "bascule mimic untrusted issuer v1"
#define P256_LEN            32 /* octets of a P-256 scalar or coordinate */
#define KEY_SEED_LEN        (P256_LEN + 8) /* FIPS 186-5 A.2.1: N + 64 bits */
/* SEC 2 2.4.2 (FIPS 186-4 D.1.2.3): n, the order of P-256's base point. */
#define P256_ORDER                                                             \
	"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"

/*
 * What a cache entry is counted for beyond its struct and the leaf's DER:
 * the leaf's gnutls_pubkey_t and allocator overhead.  Measured with glibc's
 * mallinfo2() over a thousand mimic_issue() calls: about 1.35 KiB in all
 * per P-256 leaf, of which this is what the other terms leave.
 */
#define ENTRY_OVERHEAD 768

/* Kept alive by the context and by each of its leaves. */
struct shared {
	unsigned         refs;
	gnutls_privkey_t leaf_key;
	/* The signing CA, then the rest of its file. */
	gnutls_pcert_st *ca_chain;
	unsigned         nca_chain;
	gnutls_pcert_st  untrusted; /* see make_untrusted() */
	bool             have_untrusted;
};

struct mimic_cert {
	unsigned           refs;
	uint8_t            id[32];      /* cache key: see mimic_digest() */
	size_t             cost;        /* bytes counted against the cache */
	struct mimic_cert *hnext;       /* hash bucket chain */
	struct mimic_cert *prev, *next; /* LRU list, most recent first */
	struct shared     *shared;
	unsigned           n;
	/* chain[0] is the leaf, owned; the rest are copies of the shared
	 * issuer entries, which the shared reference keeps alive. */
	gnutls_pcert_st chain[];
};

struct mimic {
	struct shared *shared;
	/* The signing CA; its SHA-256 is in every serial. */
	gnutls_x509_crt_t         ca;
	gnutls_privkey_t          ca_key;
	gnutls_datum_t            ca_der;
	gnutls_digest_algorithm_t ca_dig;
	unsigned                  ca_sign_flags;    /* see check_ca() */
	time_t                    ca_expires;       /* -1: 99991231235959Z */
	uint8_t                   ca_id[KEYID_MAX]; /* for authorityKeyId */
	size_t                    ca_idlen;
	/* The untrusted issuer. */
	gnutls_x509_crt_t ut;
	gnutls_privkey_t  ut_key;
	uint8_t           ut_id[KEYID_MAX];
	size_t            ut_idlen;
	/* The public half of shared->leaf_key. */
	gnutls_pubkey_t leaf_pub;
	uint8_t         leaf_id[KEYID_MAX]; /* subjectKeyIdentifier */
	size_t          leaf_idlen;
	/* The cache: a hash table of nbuckets (a power of two) chains, and an
	 * LRU list through the same entries. */
	uint64_t            limit;
	size_t              bytes, count, nbuckets;
	struct mimic_cert **buckets;
	struct mimic_cert  *head, *tail;
	time_t              fixed_now; /* mimic_set_now(); 0: time(NULL) */
};

static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

static void
shared_unref(struct shared *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	for (unsigned i = 0; i < s->nca_chain; i++)
		gnutls_pcert_deinit(&s->ca_chain[i]);
	free(s->ca_chain);
	if (s->have_untrusted)
		gnutls_pcert_deinit(&s->untrusted);
	if (s->leaf_key != NULL)
		gnutls_privkey_deinit(s->leaf_key);
	free(s);
}

/* ---- loading the CA (configuration time: blocking reads are fine) ---- */

/* Reads a whole regular file into *out (malloc'd); -1 with a message. */
static int
read_file(const char *path, gnutls_datum_t *out, char *err, size_t errsz)
{
	struct stat st;
	size_t      off = 0;
	int         fd;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		say(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errsz, _("%s: not a regular file"), path);
		goto fail;
	}
	if (st.st_size > FILE_MAX) {
		say(err, errsz, _("%s: too large for a certificate or key"),
		    path);
		goto fail;
	}
	if ((out->data = malloc((size_t)st.st_size + 1)) == NULL) {
		say(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break; /* shrank under us: take what is there */
		off += (size_t)n;
	}
	out->data[off] = '\0';
	out->size = (unsigned)off;
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(out->data);
	out->data = NULL;
	return -1;
}

static void
wipe_free(gnutls_datum_t *d)
{
	if (d->data != NULL)
		gnutls_memset(d->data, 0, d->size);
	free(d->data);
	d->data = NULL;
	d->size = 0;
}

static void
format_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outsz, "%lld", (long long)t);
}

/* The certificates of cert_file: the CA first.  *list is the caller's. */
static int
load_certs(const char *path, gnutls_x509_crt_t **list, unsigned *n, char *err,
           size_t errsz)
{
	gnutls_datum_t data;
	bool           pem;
	int            r;

	if (read_file(path, &data, err, errsz) < 0)
		return -1;
	/* RFC 7468 5; GnuTLS also takes "X509 CERTIFICATE". */
	pem = strstr((const char *)data.data, "CERTIFICATE-----") != NULL;
	r = gnutls_x509_crt_list_import2(
	        list, n, &data, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER,
	        0);
	free(data.data);
	if (r < 0 && !pem) {
		say(err, errsz, _("%s: no certificate found"), path);
		return -1;
	}
	if (r < 0) {
		say(err, errsz, _("%s: bad certificate (%s)"), path,
		    gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static int
load_key(const char *path, gnutls_privkey_t *key, char *err, size_t errsz)
{
	gnutls_datum_t data;
	bool           pem;
	int            r;

	if (read_file(path, &data, err, errsz) < 0)
		return -1;
	/* RFC 7468 11, and RFC 1421 4.6.1.1 as OpenSSL still writes it. */
	if (strstr((const char *)data.data, "ENCRYPTED PRIVATE KEY-----") !=
	            NULL ||
	    strstr((const char *)data.data, "Proc-Type: 4,ENCRYPTED") != NULL) {
		say(err, errsz,
		    _("%s: the private key is encrypted; bascule needs it "
		      "unencrypted"),
		    path);
		wipe_free(&data);
		return -1;
	}
	/* RFC 7468 10 ("PRIVATE KEY"), and "EC PRIVATE KEY" (RFC 5915) and
	 * "RSA PRIVATE KEY" (PKCS #1) as OpenSSL writes them. */
	pem = strstr((const char *)data.data, "PRIVATE KEY-----") != NULL;
	if ((r = gnutls_privkey_init(key)) >= 0)
		r = gnutls_privkey_import_x509_raw(*key, &data,
		                                   pem ? GNUTLS_X509_FMT_PEM
		                                       : GNUTLS_X509_FMT_DER,
		                                   NULL, 0);
	wipe_free(&data);
	if (r < 0 && !pem) {
		say(err, errsz, _("%s: no private key found"), path);
		return -1;
	}
	if (r < 0) {
		say(err, errsz, _("%s: bad private key (%s)"), path,
		    gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/* The CA must be able to sign certificates (RFC 5280 4.2.1.9, 4.2.1.3),
 * match its key, and not have expired. */
static int
check_ca(struct mimic *m, const char *cert_file, const char *key_file,
         char *err, size_t errsz)
{
	gnutls_pubkey_t pub = NULL;
	uint8_t         kid[KEYID_MAX], cid[KEYID_MAX];
	size_t          klen = sizeof(kid), clen = sizeof(cid);
	unsigned        crit, ku, ca = 0;
	int             r, rc = -1;
	char            when[64];

	r = gnutls_x509_crt_get_basic_constraints(m->ca, &crit, &ca, NULL);
	if (r < 0 || !ca) {
		say(err, errsz,
		    _("%s: not a CA certificate (basicConstraints cA is not "
		      "set)"),
		    cert_file);
		return -1;
	}
	r = gnutls_x509_crt_get_key_usage(m->ca, &ku, &crit);
	if (r >= 0 && !(ku & GNUTLS_KEY_KEY_CERT_SIGN)) {
		say(err, errsz,
		    _("%s: the CA certificate may not sign certificates "
		      "(keyUsage lacks keyCertSign)"),
		    cert_file);
		return -1;
	}
	m->ca_expires = gnutls_x509_crt_get_expiration_time(m->ca);
	if (m->ca_expires != (time_t)-1 && m->ca_expires < time(NULL)) {
		format_time(m->ca_expires, when, sizeof(when));
		say(err, errsz, _("%s: the CA certificate expired on %s"),
		    cert_file, when);
		return -1;
	}
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, m->ca_key, 0, 0)) < 0 ||
	    (r = gnutls_pubkey_get_key_id(pub, 0, kid, &klen)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(m->ca, 0, cid, &clen)) < 0) {
		say(err, errsz, _("%s: cannot compare the key with %s (%s)"),
		    key_file, cert_file, gnutls_strerror(r));
		goto out;
	}
	if (klen != clen || memcmp(kid, cid, klen) != 0) {
		say(err, errsz,
		    _("%s: the private key does not match the certificate in "
		      "%s"),
		    key_file, cert_file);
		goto out;
	}
	if ((r = gnutls_pubkey_get_preferred_hash_algorithm(pub, &m->ca_dig,
	                                                    NULL)) < 0)
		m->ca_dig = GNUTLS_DIG_SHA256;
	/*
	 * NSS compares a certificate with the one it already holds under the
	 * same issuer and serial byte for byte, signature included: an
	 * origin's leaf must come out the same in every process.  RSA
	 * PKCS #1 v1.5 and EdDSA signatures are deterministic; ECDSA and DSA
	 * ones are with RFC 6979 nonces, which GnuTLS (3.6.10 on) makes when
	 * gnutls_x509_crt_privkey_sign() is given this flag (its manual says
	 * flags must be 0, but passes them on to the signature; test_mimic
	 * checks that leaves agree).  RSA-PSS keeps its random salt: an
	 * empty one may break the CA's own PSS parameters.
	 */
	switch (gnutls_privkey_get_pk_algorithm(m->ca_key, NULL)) {
	case GNUTLS_PK_ECDSA:
	case GNUTLS_PK_DSA:
		m->ca_sign_flags = GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE;
		break;
	default:
		m->ca_sign_flags = 0;
		break;
	}
	/* authorityKeyIdentifier of the leaves: the CA's own
	 * subjectKeyIdentifier if it has one (RFC 5280 4.2.1.1). */
	m->ca_idlen = sizeof(m->ca_id);
	if (gnutls_x509_crt_get_subject_key_id(m->ca, m->ca_id, &m->ca_idlen,
	                                       &crit) < 0) {
		m->ca_idlen = clen;
		memcpy(m->ca_id, cid, clen);
	}
	rc = 0;
out:
	gnutls_pubkey_deinit(pub);
	return rc;
}

/* ---- the leaf key, derived from the CA key ---- */

static void
wipe_gnutls_free(gnutls_datum_t *d)
{
	if (d->data != NULL)
		gnutls_memset(d->data, 0, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	d->size = 0;
}

/* Orders big-endian integers without leading zeros. */
static int
cmp_unsigned(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return memcmp(a->data, b->data, a->size);
}

/*
 * The secret of the CA key, as the input keying material of
 * derive_key(): the key itself rather than how its file encodes it,
 * so that PKCS #8, RFC 5915 and PKCS #1, PEM or DER, all give the same.
 * A tag, then big-endian integers without leading zeros, each after its
 * length in four octets:
 *
 *	'E' k       ECDSA, EdDSA: the private scalar (or seed)
 *	'R' p q     RSA, RSA-PSS: the primes, smaller first (files list
 *	            them in either order, and may differ in d and the
 *	            CRT values, never in the primes)
 *	'P' der     anything else: its unencrypted PKCS #8 DER
 *
 * Returns 0 and *out (malloc'd: the caller wipes and frees it), or a
 * GnuTLS error.
 */
static int
ca_secret(gnutls_privkey_t key, gnutls_datum_t *out)
{
	gnutls_datum_t        f[2] = { { NULL, 0 }, { NULL, 0 } }, t;
	gnutls_x509_privkey_t x = NULL;
	gnutls_ecc_curve_t    curve;
	unsigned              nf = 1, i;
	size_t                len;
	uint8_t               tag, *p;
	int                   r;

	out->data = NULL;
	out->size = 0;
	switch (gnutls_privkey_get_pk_algorithm(key, NULL)) {
	case GNUTLS_PK_ECDSA:
	case GNUTLS_PK_EDDSA_ED25519:
	case GNUTLS_PK_EDDSA_ED448:
		tag = 'E';
		r = gnutls_privkey_export_ecc_raw2(key, &curve, NULL, NULL,
		                                   &f[0],
		                                   GNUTLS_EXPORT_FLAG_NO_LZ);
		break;
	case GNUTLS_PK_RSA:
	case GNUTLS_PK_RSA_PSS:
		tag = 'R';
		nf = 2;
		r = gnutls_privkey_export_rsa_raw2(key, NULL, NULL, NULL, &f[0],
		                                   &f[1], NULL, NULL, NULL,
		                                   GNUTLS_EXPORT_FLAG_NO_LZ);
		if (r >= 0 && cmp_unsigned(&f[0], &f[1]) > 0) {
			t = f[0];
			f[0] = f[1];
			f[1] = t;
		}
		break;
	default:
		tag = 'P';
		if ((r = gnutls_privkey_export_x509(key, &x)) >= 0)
			r = gnutls_x509_privkey_export2_pkcs8(
			        x, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN,
			        &f[0]);
		break;
	}
	if (r < 0)
		goto out;
	len = 1;
	for (i = 0; i < nf; i++)
		len += 4 + f[i].size;
	if ((out->data = malloc(len)) == NULL) {
		r = GNUTLS_E_MEMORY_ERROR;
		goto out;
	}
	out->size = (unsigned)len;
	p = out->data;
	*p++ = tag;
	for (i = 0; i < nf; i++) {
		*p++ = (uint8_t)(f[i].size >> 24);
		*p++ = (uint8_t)(f[i].size >> 16);
		*p++ = (uint8_t)(f[i].size >> 8);
		*p++ = (uint8_t)f[i].size;
		memcpy(p, f[i].data, f[i].size);
		p += f[i].size;
	}
out:
	for (i = 0; i < 2; i++)
		wipe_gnutls_free(&f[i]);
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);
	return r;
}

/* nettle's HKDF calls the MAC through these. */
static void
hkdf_mac_update(void *ctx, size_t len, const uint8_t *p)
{
	hmac_sha256_update(ctx, len, p);
}

static void
hkdf_mac_digest(void *ctx, size_t len, uint8_t *out)
{
	hmac_sha256_digest(ctx, len, out);
}

/* Zeroes the limbs of z, made with room for bits, and sets it to 0. */
static void
wipe_mpz(mpz_t z, size_t bits)
{
	mp_size_t  n = (mp_size_t)((bits + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
	mp_limb_t *p = mpz_limbs_write(z, n); /* room enough: no realloc */

	gnutls_memset(p, 0, (size_t)n * sizeof(*p));
	mpz_limbs_finish(z, 0);
}

/*
 * An ECDSA P-256 key derived from the CA key, one for each label, so that
 * every process and every node with the same CA has the same one.  With a
 * leaf key of its own, each would issue an origin's mimic under the same
 * issuer and serial (mimic_digest()) but with another public key, and NSS
 * (Firefox) refuses a certificate whose issuer and serial it has seen on
 * a different one: SEC_ERROR_REUSED_ISSUER_AND_SERIAL, after a worker's
 * reload or across the nodes of a farm.
 *
 * RFC 5869 HKDF-SHA256, without a salt and with label as info, stretches
 * ca_secret() to N + 64 bits c; FIPS 186-5 A.2.1 makes them
 * d = (c mod (n - 1)) + 1, in [1, n - 1] with a bias below 2^-64.  The
 * public point is d G (nettle).  Knowing a derived key tells nothing of
 * the CA key, which HKDF keeps one-way, nor of a key of another label;
 * knowing the CA key gives them all, and it could sign leaves anyway.
 *
 * The intermediate secrets are wiped; what GMP and nettle leave in
 * scratch memory is out of reach, and the key lives on in *key, as the
 * CA key does in its own.  Returns 0 with *key set, or a GnuTLS error.
 */
static int
derive_key(gnutls_privkey_t ca_key, const char *label, gnutls_privkey_t *key)
{
	static const uint8_t    salt[SHA256_DIGEST_SIZE]; /* RFC 5869 2.2 */
	const struct ecc_curve *p256 = nettle_get_secp_256r1();
	struct hmac_sha256_ctx  mac;
	struct ecc_scalar       d;
	struct ecc_point        pub;
	gnutls_datum_t          ikm;
	uint8_t                 prk[SHA256_DIGEST_SIZE], c[KEY_SEED_LEN];
	uint8_t                 kb[P256_LEN], xb[P256_LEN], yb[P256_LEN];
	gnutls_datum_t          k = { kb, sizeof(kb) };
	gnutls_datum_t          x = { xb, sizeof(xb) };
	gnutls_datum_t          y = { yb, sizeof(yb) };
	mpz_t                   z, n, px, py;
	int                     r;

	*key = NULL;
	if ((r = ca_secret(ca_key, &ikm)) < 0)
		return r;
	hmac_sha256_set_key(&mac, sizeof(salt), salt);
	hkdf_extract(&mac, hkdf_mac_update, hkdf_mac_digest, SHA256_DIGEST_SIZE,
	             ikm.size, ikm.data, prk);
	hmac_sha256_set_key(&mac, sizeof(prk), prk);
	hkdf_expand(&mac, hkdf_mac_update, hkdf_mac_digest, SHA256_DIGEST_SIZE,
	            strlen(label), (const uint8_t *)label, sizeof(c), c);
	gnutls_memset(&mac, 0, sizeof(mac));
	gnutls_memset(prk, 0, sizeof(prk));
	gnutls_memset(ikm.data, 0, ikm.size);
	free(ikm.data);

	mpz_init2(z, 8 * sizeof(c));
	mpz_init(px);
	mpz_init(py);
	ecc_scalar_init(&d, p256);
	ecc_point_init(&pub, p256);
	if (mpz_init_set_str(n, P256_ORDER, 16) < 0) {
		r = GNUTLS_E_INTERNAL_ERROR;
		goto out;
	}
	mpz_import(z, sizeof(c), 1, 1, 1, 0, c); /* big-endian */
	mpz_sub_ui(n, n, 1);
	mpz_mod(z, z, n);
	mpz_add_ui(z, z, 1);
	if (!ecc_scalar_set(&d, z)) { /* cannot be out of range */
		r = GNUTLS_E_INTERNAL_ERROR;
		goto out;
	}
	ecc_point_mul_g(&pub, &d);
	ecc_point_get(&pub, px, py);
	nettle_mpz_get_str_256(sizeof(kb), kb, z);
	nettle_mpz_get_str_256(sizeof(xb), xb, px);
	nettle_mpz_get_str_256(sizeof(yb), yb, py);
	if ((r = gnutls_privkey_init(key)) < 0 ||
	    (r = gnutls_privkey_import_ecc_raw(*key, GNUTLS_ECC_CURVE_SECP256R1,
	                                       &x, &y, &k)) < 0) {
		gnutls_privkey_deinit(*key);
		*key = NULL;
	}
out:
	gnutls_memset(c, 0, sizeof(c));
	gnutls_memset(kb, 0, sizeof(kb));
	wipe_mpz(z, 8 * sizeof(c));
	mpz_set_ui(z, 1);
	ecc_scalar_set(&d, z); /* overwrites d's copy of the scalar */
	ecc_scalar_clear(&d);
	ecc_point_clear(&pub);
	mpz_clear(z);
	mpz_clear(n);
	mpz_clear(px);
	mpz_clear(py);
	return r;
}

/* The key pair all leaves of this context share. */
static int
make_leaf_key(struct mimic *m)
{
	int r;

	m->leaf_idlen = sizeof(m->leaf_id);
	if ((r = derive_key(m->ca_key, LEAF_KEY_LABEL, &m->shared->leaf_key)) <
	            0 ||
	    (r = gnutls_pubkey_init(&m->leaf_pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(m->leaf_pub, m->shared->leaf_key,
	                                      0, 0)) < 0)
		return r;
	/* RFC 5280 4.2.1.2 (1): SHA-1 of the subjectPublicKey. */
	return gnutls_pubkey_get_key_id(m->leaf_pub, 0, m->leaf_id,
	                                &m->leaf_idlen);
}

/* ---- serials ---- */

static void
hash_datum(struct sha256_ctx *h, const uint8_t *p, size_t len)
{
	uint8_t be[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
		          (uint8_t)(len >> 8), (uint8_t)len };

	sha256_update(h, sizeof(be), be);
	sha256_update(h, len, p);
}

/*
 * RFC 5280 4.1.2.2: a positive INTEGER of at most 20 octets.  The top bit
 * cleared keeps it positive; the next one set keeps it non-zero and its
 * DER exactly 20 octets long (no leading zero to strip).
 */
static void
serial_from(const uint8_t digest[32], uint8_t serial[SERIAL_LEN])
{
	memcpy(serial, digest, SERIAL_LEN);
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
}

/* ---- the untrusted issuer, derived from the CA key too ---- */

/*
 * The issuer for origins that failed verification: self-signed, named so
 * that a curious user sees why (as Squid does), and not the CA, so that
 * the client sees a verification error.  It is the same in every process
 * with the same CA, as the leaves it signs must be (see derive_key()):
 * its key is derived from the CA key under a label of its own, its serial
 * is a hash of the CA certificate, its validity is the CA's, and it signs
 * deterministically (RFC 6979, as check_ca() explains).  With a random
 * key and serial per process, as it once had, every worker sent a leaf
 * of the same issuer name and serial with another signature.
 */
static int
make_untrusted(struct mimic *m)
{
	static const char label[] = "bascule mimic untrusted issuer 1";
	static const char org[] = "bascule";
	static const char ou[] = "untrusted: the origin certificate failed "
	                         "verification";
	static const char cn[] = "bascule untrusted issuer";
	gnutls_pubkey_t   pub = NULL;
	struct sha256_ctx h;
	uint8_t           digest[SHA256_DIGEST_SIZE], serial[SERIAL_LEN];
	int               r;

	sha256_init(&h);
	hash_datum(&h, (const uint8_t *)label, sizeof(label) - 1);
	hash_datum(&h, m->ca_der.data, m->ca_der.size);
	sha256_digest(&h, sizeof(digest), digest);
	serial_from(digest, serial);
	if ((r = derive_key(m->ca_key, UNTRUSTED_KEY_LABEL, &m->ut_key)) < 0 ||
	    (r = gnutls_x509_crt_init(&m->ut)) < 0 ||
	    (r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, m->ut_key, 0, 0)) < 0)
		goto out;
	m->ut_idlen = sizeof(m->ut_id);
	if ((r = gnutls_x509_crt_set_version(m->ut, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(m->ut, serial, sizeof(serial))) <
	            0 ||
	    (r = gnutls_x509_crt_set_activation_time(
	             m->ut, gnutls_x509_crt_get_activation_time(m->ca))) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(m->ut, m->ca_expires)) <
	            0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(
	             m->ut, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
	             sizeof(org) - 1)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(
	             m->ut, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, ou,
	             sizeof(ou) - 1)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(m->ut,
	                                       GNUTLS_OID_X520_COMMON_NAME, 0,
	                                       cn, sizeof(cn) - 1)) < 0 ||
	    (r = gnutls_x509_crt_set_pubkey(m->ut, pub)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(m->ut, 1, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(
	             m->ut, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) <
	            0 ||
	    (r = gnutls_pubkey_get_key_id(pub, 0, m->ut_id, &m->ut_idlen)) <
	            0 ||
	    (r = gnutls_x509_crt_set_subject_key_id(m->ut, m->ut_id,
	                                            m->ut_idlen)) < 0 ||
	    (r = gnutls_x509_crt_privkey_sign(
	             m->ut, m->ut, m->ut_key, GNUTLS_DIG_SHA256,
	             GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE)) < 0 ||
	    (r = gnutls_pcert_import_x509(&m->shared->untrusted, m->ut, 0)) < 0)
		goto out;
	m->shared->have_untrusted = true;
out:
	gnutls_pubkey_deinit(pub);
	return r;
}

struct mimic *
mimic_new(const char *cert_file, const char *key_file, uint64_t cache_bytes,
          char *err, size_t errsz)
{
	struct mimic      *m;
	gnutls_x509_crt_t *list = NULL;
	unsigned           n = 0, i;
	int                r;

	if (key_file == NULL)
		key_file = cert_file;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->shared = calloc(1, sizeof(*m->shared))) == NULL) {
		say(err, errsz, "%s", _("out of memory"));
		free(m);
		return NULL;
	}
	m->shared->refs = 1;
	m->limit = cache_bytes;
	if (load_certs(cert_file, &list, &n, err, errsz) < 0)
		goto fail;
	m->ca = list[0];
	if (load_key(key_file, &m->ca_key, err, errsz) < 0 ||
	    check_ca(m, cert_file, key_file, err, errsz) < 0)
		goto fail;
	if ((m->shared->ca_chain = calloc(n, sizeof(gnutls_pcert_st))) ==
	    NULL) {
		say(err, errsz, "%s", _("out of memory"));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = gnutls_pcert_import_x509(&m->shared->ca_chain[i], list[i],
		                             0);
		if (r < 0) {
			say(err, errsz, "%s: %s", cert_file,
			    gnutls_strerror(r));
			goto fail;
		}
		m->shared->nca_chain++;
	}
	if ((r = gnutls_x509_crt_export2(m->ca, GNUTLS_X509_FMT_DER,
	                                 &m->ca_der)) < 0 ||
	    (r = make_leaf_key(m)) < 0 || (r = make_untrusted(m)) < 0) {
		say(err, errsz, _("cannot generate keys: %s"),
		    gnutls_strerror(r));
		goto fail;
	}
	m->nbuckets = BUCKETS_MIN;
	if ((m->buckets = calloc(m->nbuckets, sizeof(*m->buckets))) == NULL) {
		say(err, errsz, "%s", _("out of memory"));
		goto fail;
	}
	for (i = 1; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return m;
fail:
	/* list[0] is m->ca by now, freed by mimic_free(). */
	for (i = 1; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	mimic_free(m);
	return NULL;
}

/* ---- the cache ---- */

static size_t
bucket_of(const struct mimic *m, const uint8_t id[32])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h)); /* a SHA-256 prefix is spread enough */
	return (size_t)(h & (m->nbuckets - 1));
}

static void
lru_unlink(struct mimic *m, struct mimic_cert *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		m->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
lru_push(struct mimic *m, struct mimic_cert *c)
{
	c->prev = NULL;
	c->next = m->head;
	if (m->head != NULL)
		m->head->prev = c;
	else
		m->tail = c;
	m->head = c;
}

/* Takes c out of the cache and drops the cache's reference: a session
 * that holds c keeps it. */
static void
cache_evict(struct mimic *m, struct mimic_cert *c)
{
	struct mimic_cert **pp = &m->buckets[bucket_of(m, c->id)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	c->hnext = NULL;
	lru_unlink(m, c);
	m->bytes -= c->cost;
	m->count--;
	mimic_cert_unref(c);
}

/* The cached leaf for id, or NULL.  A fallback leaf of an earlier day
 * is under another id (see mimic_digest()): nobody asks for it again,
 * and it ages out at the cold end. */
static struct mimic_cert *
cache_find(struct mimic *m, const uint8_t id[32])
{
	struct mimic_cert *c;

	for (c = m->buckets[bucket_of(m, id)]; c != NULL; c = c->hnext)
		if (memcmp(c->id, id, sizeof(c->id)) == 0)
			break;
	if (c != NULL && c != m->head) {
		lru_unlink(m, c);
		lru_push(m, c);
	}
	return c;
}

/* Doubles the table when it holds more entries than buckets; on failure
 * the chains just grow longer. */
static void
cache_grow(struct mimic *m)
{
	struct mimic_cert **nb, *c, *next;
	size_t              old = m->nbuckets, i;

	if (m->count <= old || old > SIZE_MAX / 2 / sizeof(*nb) ||
	    (nb = calloc(old * 2, sizeof(*nb))) == NULL)
		return;
	m->nbuckets = old * 2;
	for (i = 0; i < old; i++) {
		for (c = m->buckets[i]; c != NULL; c = next) {
			size_t b = bucket_of(m, c->id);

			next = c->hnext;
			c->hnext = nb[b];
			nb[b] = c;
		}
	}
	free(m->buckets);
	m->buckets = nb;
}

/* Adds c (with a reference for the cache), evicting from the cold end
 * until it fits.  One that could never fit is not cached. */
static void
cache_add(struct mimic *m, struct mimic_cert *c)
{
	size_t b;

	if (c->cost > m->limit)
		return;
	while (m->tail != NULL && m->bytes + c->cost > m->limit)
		cache_evict(m, m->tail);
	b = bucket_of(m, c->id);
	c->hnext = m->buckets[b];
	m->buckets[b] = c;
	lru_push(m, c);
	m->bytes += c->cost;
	m->count++;
	c->refs++;
	cache_grow(m);
}

void
mimic_free(struct mimic *m)
{
	if (m == NULL)
		return;
	while (m->tail != NULL)
		cache_evict(m, m->tail);
	free(m->buckets);
	if (m->ca != NULL)
		gnutls_x509_crt_deinit(m->ca);
	if (m->ca_key != NULL)
		gnutls_privkey_deinit(m->ca_key);
	gnutls_free(m->ca_der.data);
	if (m->ut != NULL)
		gnutls_x509_crt_deinit(m->ut);
	if (m->ut_key != NULL)
		gnutls_privkey_deinit(m->ut_key);
	gnutls_pubkey_deinit(m->leaf_pub);
	shared_unref(m->shared);
	free(m);
}

size_t
mimic_cache_count(const struct mimic *m)
{
	return m->count;
}

size_t
mimic_cache_bytes(const struct mimic *m)
{
	return m->bytes;
}

void
mimic_set_now(struct mimic *m, time_t now)
{
	m->fixed_now = now;
}

/* ---- forging ---- */

/* One mimic_issue() call, once its inputs are checked. */
struct request {
	gnutls_x509_crt_t origin; /* NULL: none */
	const char       *name;   /* canonical; NULL: names from origin */
	bool              untrusted;
	time_t            now;
	time_t            from;   /* without origin: see fallback_validity() */
	uint8_t           id[32]; /* mimic_digest() */
};

/*
 * SHA-256 over a label, the CA certificate, the flag, and the origin's DER
 * and the canonical name if given, each length-prefixed so no two inputs
 * run together; without an origin, the start of the validity window too
 * (from, at 00:00 UTC); if untrusted, the untrusted issuer's certificate,
 * so that whatever makes another one (a new UNTRUSTED_KEY_LABEL, or a
 * bascule from before it was derived) makes other serials.  It names the
 * leaf in the cache and gives its serial, so it covers what the leaf's
 * bytes vary with: NSS takes one issuer and serial on two different
 * leaves for an attack (SEC_ERROR_REUSED_ISSUER_AND_SERIAL compares
 * whole encodings).
 */
static void
mimic_digest(const struct mimic *m, const gnutls_datum_t *origin_der,
             const char *name, bool untrusted, time_t from, uint8_t out[32])
{
	static const char label[] = "bascule mimic 1";
	struct sha256_ctx h;
	uint8_t           mode[3] = { untrusted ? 'U' : 'T',
                            origin_der != NULL ? 'C' : '-',
		            name != NULL ? 'N' : '-' };

	sha256_init(&h);
	hash_datum(&h, (const uint8_t *)label, sizeof(label) - 1);
	hash_datum(&h, m->ca_der.data, m->ca_der.size);
	sha256_update(&h, sizeof(mode), mode);
	if (origin_der != NULL)
		hash_datum(&h, origin_der->data, origin_der->size);
	if (name != NULL)
		hash_datum(&h, (const uint8_t *)name, strlen(name));
	if (origin_der == NULL) {
		uint64_t t = (uint64_t)from;
		uint8_t  be[8];

		for (size_t i = 0; i < sizeof(be); i++)
			be[i] = (uint8_t)(t >> (56 - 8 * i));
		hash_datum(&h, be, sizeof(be));
	}
	if (untrusted)
		hash_datum(&h, m->shared->untrusted.cert.data,
		           m->shared->untrusted.cert.size);
	sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

/* Adds name to sans as an iPAddress if it is an IP literal, else as a
 * dNSName. */
static int
san_add_name(gnutls_subject_alt_names_t sans, const char *name)
{
	unsigned char  addr[sizeof(struct in6_addr)];
	gnutls_datum_t d;

	if (inet_pton(AF_INET, name, addr) == 1) {
		d.data = addr;
		d.size = 4;
		return gnutls_subject_alt_names_set(sans, GNUTLS_SAN_IPADDRESS,
		                                    &d, NULL);
	}
	if (inet_pton(AF_INET6, name, addr) == 1) {
		d.data = addr;
		d.size = 16;
		return gnutls_subject_alt_names_set(sans, GNUTLS_SAN_IPADDRESS,
		                                    &d, NULL);
	}
	d.data = (unsigned char *)(uintptr_t)name;
	d.size = (unsigned)strlen(name);
	return gnutls_subject_alt_names_set(sans, GNUTLS_SAN_DNSNAME, &d, NULL);
}

/* Copies the origin's dNSName and iPAddress subjectAltNames to out (if not
 * NULL); *n counts them.  Other kinds (e-mail, URI, otherName) say nothing
 * to a TLS client about the server's name and are left out. */
static int
copy_sans(gnutls_x509_crt_t origin, gnutls_subject_alt_names_t out, unsigned *n)
{
	gnutls_subject_alt_names_t in = NULL;
	gnutls_datum_t             ext = { NULL, 0 }, san;
	unsigned                   crit, type, i;
	int                        r;

	*n = 0;
	r = gnutls_x509_crt_get_extension_by_oid2(origin, OID_SAN, 0, &ext,
	                                          &crit);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (r < 0 || (r = gnutls_subject_alt_names_init(&in)) < 0 ||
	    (r = gnutls_x509_ext_import_subject_alt_names(&ext, in, 0)) < 0)
		goto out;
	for (i = 0;; i++) {
		r = gnutls_subject_alt_names_get(in, i, &type, &san, NULL);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			r = 0;
			break;
		}
		if (r < 0)
			goto out;
		if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_IPADDRESS)
			continue;
		if (out != NULL && (r = gnutls_subject_alt_names_set(
		                            out, type, &san, NULL)) < 0)
			goto out;
		(*n)++;
	}
out:
	if (in != NULL)
		gnutls_subject_alt_names_deinit(in);
	gnutls_free(ext.data);
	return r;
}

/*
 * Copies each subject CN, as it is encoded, to leaf (if not NULL), and
 * returns in cn the last one as text (RFC 6125 6.4.4: the most specific),
 * or "" if there is none.  Returns how many there are, or a GnuTLS error.
 */
static int
copy_cns(gnutls_x509_crt_t origin, gnutls_x509_crt_t leaf, char *cn,
         size_t cnsz)
{
	unsigned char raw[1024];
	int           i, r;

	cn[0] = '\0';
	for (i = 0;; i++) {
		size_t len = sizeof(raw);

		r = gnutls_x509_crt_get_dn_by_oid(origin,
		                                  GNUTLS_OID_X520_COMMON_NAME,
		                                  (unsigned)i, 1, raw, &len);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return i;
		if (r < 0)
			return r;
		if (leaf != NULL && (r = gnutls_x509_crt_set_dn_by_oid(
		                             leaf, GNUTLS_OID_X520_COMMON_NAME,
		                             1, raw, (unsigned)len)) < 0)
			return r;
		len = cnsz;
		if (gnutls_x509_crt_get_dn_by_oid(origin,
		                                  GNUTLS_OID_X520_COMMON_NAME,
		                                  (unsigned)i, 0, cn, &len) < 0)
			cn[0] = '\0';
	}
}

/* True if origin has a subject CN, a dNSName or an iPAddress. */
static bool
origin_names_host(gnutls_x509_crt_t origin)
{
	char     cn[4 * CN_MAX + 1];
	unsigned n;

	return copy_cns(origin, NULL, cn, sizeof(cn)) > 0 ||
	       (copy_sans(origin, NULL, &n) == 0 && n > 0);
}

/* Adds a CN as a subjectAltName, if it is a host name, an IP literal or a
 * wildcard ("*." and a host name). */
static int
san_add_cn(gnutls_subject_alt_names_t sans, const char *cn)
{
	const char *why, *rest = cn;
	char        canon[HOSTNAME_MAX + 4];

	if (strncmp(cn, "*.", 2) == 0) {
		memcpy(canon, "*.", 2);
		rest = cn + 2;
	}
	if (hostname_canonical(rest, strlen(rest), canon + (rest - cn),
	                       sizeof(canon) - (size_t)(rest - cn), &why) < 0 ||
	    canon[rest - cn] == '.' || (rest != cn && hostname_is_ip(rest)))
		return 0; /* not a name a client would look for */
	return san_add_name(sans, canon);
}

/* The names of the origin certificate, which names at least one host. */
static int
names_from_origin(gnutls_x509_crt_t origin, gnutls_x509_crt_t leaf,
                  gnutls_subject_alt_names_t sans, bool *empty_subject,
                  char *err, size_t errsz)
{
	char     cn[4 * CN_MAX + 1];
	unsigned n;
	int      r, ncn;

	if ((r = ncn = copy_cns(origin, leaf, cn, sizeof(cn))) < 0 ||
	    (r = copy_sans(origin, sans, &n)) < 0) {
		say(err, errsz, "origin certificate names: %s",
		    gnutls_strerror(r));
		return -1;
	}
	*empty_subject = ncn == 0;
	/* A certificate named by its CN alone passes GnuTLS's verification
	 * (RFC 6125 6.4.4) but not browsers', which want a subjectAltName:
	 * give them the CN as one, as Squid does. */
	if (n == 0 && cn[0] != '\0' && (r = san_add_cn(sans, cn)) < 0) {
		say(err, errsz, "subjectAltName: %s", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/* The names for a canonical host name (or IP literal). */
static int
names_from_host(const char *name, gnutls_x509_crt_t leaf,
                gnutls_subject_alt_names_t sans, bool *empty_subject, char *err,
                size_t errsz)
{
	size_t len = strlen(name);
	int    r;

	/* A longer name than ub-common-name goes in the subjectAltName only
	 * (RFC 5280 4.2.1.6: then that extension is critical). */
	*empty_subject = len > CN_MAX;
	if ((!*empty_subject && (r = gnutls_x509_crt_set_dn_by_oid(
	                                 leaf, GNUTLS_OID_X520_COMMON_NAME, 0,
	                                 name, (unsigned)len)) < 0) ||
	    (r = san_add_name(sans, name)) < 0) {
		say(err, errsz, "names: %s", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * Without an origin: valid from the start of yesterday (UTC) for a year
 * and a day, but not beyond the issuer.  Every process issues the same
 * window on the same day, and the next day another one: mimic_digest()
 * hashes from, so that it comes with another serial and cache key, and a
 * popular leaf is issued anew each day, never expiring in the cache.
 */
static time_t
fallback_from(time_t now)
{
	return now - now % DAY - DAY;
}

static int
fallback_validity(const struct mimic *m, bool untrusted, time_t now,
                  time_t from, gnutls_x509_crt_t leaf, char *err, size_t errsz)
{
	time_t until = from + 367 * DAY;
	time_t end = untrusted ? gnutls_x509_crt_get_expiration_time(m->ut)
	                       : m->ca_expires;
	int    r;

	if (end != (time_t)-1 && end < until)
		until = end;
	if (until <= now) {
		say(err, errsz, "the signing CA has expired");
		return -1;
	}
	if ((r = gnutls_x509_crt_set_activation_time(leaf, from)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(leaf, until)) < 0) {
		say(err, errsz, "validity: %s", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * Builds and signs the leaf; -1 with a message.  Its names come from name
 * if not NULL, else from origin; its validity from origin if not NULL.
 */
static int
forge(struct mimic *m, gnutls_x509_crt_t leaf, const struct request *q,
      char *err, size_t errsz)
{
	gnutls_x509_crt_t          origin = q->origin;
	bool                       untrusted = q->untrusted;
	gnutls_subject_alt_names_t sans = NULL;
	gnutls_datum_t             san_der = { NULL, 0 };
	uint8_t                    serial[SERIAL_LEN];
	bool                       empty_subject = false;
	int                        r, rc = -1;

	serial_from(q->id, serial);
	if ((r = gnutls_subject_alt_names_init(&sans)) < 0) {
		say(err, errsz, "subjectAltName: %s", gnutls_strerror(r));
		return -1;
	}
	if (q->name != NULL ? names_from_host(q->name, leaf, sans,
	                                      &empty_subject, err, errsz) < 0
	                    : names_from_origin(origin, leaf, sans,
	                                        &empty_subject, err, errsz) < 0)
		goto out;
	if (origin != NULL) {
		if ((r = gnutls_x509_crt_set_activation_time(
		             leaf, gnutls_x509_crt_get_activation_time(
		                           origin))) < 0 ||
		    (r = gnutls_x509_crt_set_expiration_time(
		             leaf, gnutls_x509_crt_get_expiration_time(
		                           origin))) < 0) {
			say(err, errsz, "validity: %s", gnutls_strerror(r));
			goto out;
		}
	} else if (fallback_validity(m, untrusted, q->now, q->from, leaf, err,
	                             errsz) < 0) {
		goto out;
	}
	/* RFC 5280 4.1.2.1 (v3), 4.2.1.9 (cA FALSE), 4.2.1.3 (keyUsage for an
	 * ECDSA key: digitalSignature), 4.2.1.12 (id-kp-serverAuth), 4.2.1.2
	 * and 4.2.1.1 (key identifiers), 4.2.1.6 (subjectAltName, critical
	 * when the subject is empty). */
	if ((r = gnutls_x509_crt_set_version(leaf, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(leaf, serial, sizeof(serial))) <
	            0 ||
	    (r = gnutls_x509_ext_export_subject_alt_names(sans, &san_der)) <
	            0 ||
	    (r = gnutls_x509_crt_set_extension_by_oid(
	             leaf, OID_SAN, san_der.data, san_der.size,
	             empty_subject)) < 0 ||
	    (r = gnutls_x509_crt_set_pubkey(leaf, m->leaf_pub)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(leaf, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(
	             leaf, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(
	             leaf, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_key_id(leaf, m->leaf_id,
	                                            m->leaf_idlen)) < 0 ||
	    (r = gnutls_x509_crt_set_authority_key_id(
	             leaf, untrusted ? m->ut_id : m->ca_id,
	             untrusted ? m->ut_idlen : m->ca_idlen)) < 0 ||
	    (r = gnutls_x509_crt_privkey_sign(
	             leaf, untrusted ? m->ut : m->ca,
	             untrusted ? m->ut_key : m->ca_key,
	             untrusted ? GNUTLS_DIG_SHA256 : m->ca_dig,
	             untrusted ? GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE
	                       : m->ca_sign_flags)) < 0) {
		say(err, errsz, "sign: %s", gnutls_strerror(r));
		goto out;
	}
	rc = 0;
out:
	gnutls_free(san_der.data);
	gnutls_subject_alt_names_deinit(sans);
	return rc;
}

/* A new entry for a signed leaf, with one reference, or NULL. */
static struct mimic_cert *
cert_new(struct mimic *m, gnutls_x509_crt_t leaf, const struct request *q,
         char *err, size_t errsz)
{
	struct shared     *s = m->shared;
	struct mimic_cert *c;
	unsigned           n = q->untrusted ? 2 : 1 + s->nca_chain, i;
	int                r;

	c = calloc(1, sizeof(*c) + n * sizeof(c->chain[0]));
	if (c == NULL) {
		say(err, errsz, "out of memory");
		return NULL;
	}
	if ((r = gnutls_pcert_import_x509(&c->chain[0], leaf, 0)) < 0) {
		say(err, errsz, "leaf: %s", gnutls_strerror(r));
		free(c);
		return NULL;
	}
	for (i = 1; i < n; i++)
		c->chain[i] = q->untrusted ? s->untrusted : s->ca_chain[i - 1];
	c->n = n;
	c->refs = 1;
	memcpy(c->id, q->id, sizeof(c->id));
	c->shared = s;
	s->refs++;
	c->cost = sizeof(*c) + n * sizeof(c->chain[0]) + c->chain[0].cert.size +
	          ENTRY_OVERHEAD;
	return c;
}

struct mimic_cert *
mimic_issue(struct mimic *m, gnutls_x509_crt_t origin, const char *fallback,
            bool untrusted, char *err, size_t errsz)
{
	struct request     q = { origin, NULL, untrusted, 0, 0, { 0 } };
	gnutls_datum_t     der = { NULL, 0 };
	gnutls_x509_crt_t  leaf = NULL;
	struct mimic_cert *c = NULL;
	char               canon[HOSTNAME_MAX + 2];
	const char        *why;
	int                r;

	q.now = m->fixed_now != 0 ? m->fixed_now : time(NULL);
	if (origin == NULL)
		q.from = fallback_from(q.now);
	if (fallback != NULL) {
		/* SNI and CONNECT hosts reach here raw: the canonical form
		 * is what goes in the certificate and in the digest. */
		int rc = hostname_canonical(fallback, strlen(fallback), canon,
		                            sizeof(canon), &why);

		if (rc == 0 && canon[0] == '.') {
			rc = -1;
			why = "leading dot";
		}
		if (rc == 0)
			q.name = canon;
		else if (origin == NULL) {
			say(err, errsz, "bad host name for a certificate: %s",
			    why);
			return NULL;
		}
	}
	/* An origin certificate that names no host (none should) takes
	 * its names from the fallback, and keeps its validity. */
	if (origin != NULL && origin_names_host(origin))
		q.name = NULL;
	else if (q.name == NULL) {
		say(err, errsz, "%s",
		    origin != NULL ? "origin certificate names no host"
		                   : "no origin certificate and no host name");
		return NULL;
	}
	if (origin != NULL &&
	    (r = gnutls_x509_crt_export2(origin, GNUTLS_X509_FMT_DER, &der)) <
	            0) {
		say(err, errsz, "origin certificate: %s", gnutls_strerror(r));
		return NULL;
	}
	mimic_digest(m, origin != NULL ? &der : NULL, q.name, untrusted, q.from,
	             q.id);
	gnutls_free(der.data);
	if ((c = cache_find(m, q.id)) != NULL)
		return mimic_cert_ref(c);
	if ((r = gnutls_x509_crt_init(&leaf)) < 0) {
		say(err, errsz, "leaf: %s", gnutls_strerror(r));
		return NULL;
	}
	if (forge(m, leaf, &q, err, errsz) == 0 &&
	    (c = cert_new(m, leaf, &q, err, errsz)) != NULL)
		cache_add(m, c);
	gnutls_x509_crt_deinit(leaf);
	return c;
}

struct mimic_cert *
mimic_cert_ref(struct mimic_cert *c)
{
	c->refs++;
	return c;
}

void
mimic_cert_unref(struct mimic_cert *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	gnutls_pcert_deinit(&c->chain[0]);
	shared_unref(c->shared);
	free(c);
}

gnutls_pcert_st *
mimic_cert_chain(struct mimic_cert *c, unsigned *n)
{
	*n = c->n;
	return c->chain;
}

gnutls_privkey_t
mimic_cert_key(const struct mimic_cert *c)
{
	return c->shared->leaf_key;
}

const gnutls_datum_t *
mimic_cert_der(const struct mimic_cert *c)
{
	return &c->chain[0].cert;
}
