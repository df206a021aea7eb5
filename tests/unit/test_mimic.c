#include "config.h"

/*
 * mimic: leaves forged from fabricated origin certificates (names,
 * validity, extensions, issuer, signature), the untrusted issuer, serials
 * that agree across contexts, the fallback name and its day, the LRU
 * cache, the CA checks of mimic_new(), and a TLS handshake that serves a
 * leaf through gnutls_certificate_set_retrieve_function2().
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ca.h"
#include "mimic.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAY      86400
#define MAX_SANS 8
#define ERR_MAX  512

static char   dir[4096];       /* the test's temporary directory */
static char   files[48][4200]; /* what it created there, removed at the end */
static size_t nfiles;

static gnutls_x509_crt_t ca_crt;    /* the CA of dir/ca.crt */
static gnutls_privkey_t  other_key; /* signs origins and test CAs */
static time_t            now;

static void die(const char *what, int r) __attribute__((noreturn));

static void
die(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, r < 0 ? gnutls_strerror(r) : "");
	printf("Bail out! %s\n", what);
	exit(1);
}

/* "a/b" in buf, or the test bails out. */
static const char *
join_path(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size)
		die("path too long", 0);
	return buf;
}

/* dir/name, remembered for removal. */
static const char *
path_of(const char *name)
{
	if (nfiles == NELEM(files))
		die("too many files", 0);
	return join_path(files[nfiles++], sizeof(files[0]), dir, name);
}

static const char *
write_file(const char *name, const void *p, size_t len)
{
	const char *path = path_of(name);
	FILE       *f = fopen(path, "w");

	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
		die(path, 0);
	return path;
}

static void
load_crt(const char *path, gnutls_x509_crt_t *crt)
{
	gnutls_datum_t d;
	int            r;

	if ((r = gnutls_load_file(path, &d)) < 0 ||
	    (r = gnutls_x509_crt_init(crt)) < 0 ||
	    (r = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM)) < 0)
		die(path, r);
	gnutls_free(d.data);
}

static gnutls_x509_crt_t
leaf_of(struct mimic_cert *c)
{
	gnutls_x509_crt_t crt;
	int               r;

	if ((r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_import(crt, mimic_cert_der(c),
	                                GNUTLS_X509_FMT_DER)) < 0)
		die("leaf import", r);
	return crt;
}

/* The last certificate of c's chain: its issuer, or the CA file's last. */
static gnutls_x509_crt_t
issuer_of(struct mimic_cert *c)
{
	gnutls_pcert_st  *chain;
	gnutls_x509_crt_t crt;
	unsigned          n;
	int               r;

	chain = mimic_cert_chain(c, &n);
	if ((r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_import(crt, &chain[n - 1].cert,
	                                GNUTLS_X509_FMT_DER)) < 0)
		die("issuer import", r);
	return crt;
}

/* ---- fabricated certificates ---- */

struct spec {
	const char *what;
	const char *cn;                  /* NULL: no CN */
	const char *sans[MAX_SANS];      /* host names or IP literals */
	time_t      from, until;         /* (time_t)-1: 99991231235959Z */
	const char *want_sans[MAX_SANS]; /* if not the same as sans */
};

static int
add_san(gnutls_x509_crt_t crt, const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return gnutls_x509_crt_set_subject_alt_name(
		        crt, GNUTLS_SAN_IPADDRESS, a, 4, GNUTLS_FSAN_APPEND);
	if (inet_pton(AF_INET6, s, a) == 1)
		return gnutls_x509_crt_set_subject_alt_name(
		        crt, GNUTLS_SAN_IPADDRESS, a, 16, GNUTLS_FSAN_APPEND);
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, s,
	                                            (unsigned)strlen(s),
	                                            GNUTLS_FSAN_APPEND);
}

/*
 * A certificate for key, self-signed with dig (GNUTLS_DIG_UNKNOWN: what
 * suits the key); ca: basicConstraints cA TRUE.
 * keyUsage ku, or none if 0.  Built in memory: GnuTLS keeps the raw DNs
 * it verifies with only for imported certificates, so a CA made here is
 * written out and read back before it verifies anything.
 */
static gnutls_x509_crt_t
make_crt_for(gnutls_privkey_t key, gnutls_digest_algorithm_t dig,
             const struct spec *s, unsigned serial, bool ca, unsigned ku)
{
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t   pub;
	unsigned char     ser[4] = { 0x11, (unsigned char)(serial >> 16),
		                     (unsigned char)(serial >> 8),
		                     (unsigned char)serial };
	size_t            i;
	int               r;

	if ((r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, ser, sizeof(ser))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, s->from)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt, s->until)) < 0 ||
	    (r = gnutls_x509_crt_set_pubkey(crt, pub)) < 0)
		die("make_crt", r);
	if (s->cn != NULL && (r = gnutls_x509_crt_set_dn_by_oid(
	                              crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                              s->cn, (unsigned)strlen(s->cn))) < 0)
		die("make_crt CN", r);
	for (i = 0; i < MAX_SANS && s->sans[i] != NULL; i++)
		if ((r = add_san(crt, s->sans[i])) < 0)
			die("make_crt SAN", r);
	if ((r = gnutls_x509_crt_set_basic_constraints(crt, ca, -1)) < 0 ||
	    (ku != 0 && (r = gnutls_x509_crt_set_key_usage(crt, ku)) < 0) ||
	    (r = gnutls_x509_crt_privkey_sign(crt, crt, key, dig, 0)) < 0)
		die("make_crt sign", r);
	gnutls_pubkey_deinit(pub);
	return crt;
}

static gnutls_x509_crt_t
make_crt(const struct spec *s, unsigned serial, bool ca, unsigned ku)
{
	return make_crt_for(other_key, GNUTLS_DIG_SHA256, s, serial, ca, ku);
}

static const char *
write_crt(const char *name, gnutls_x509_crt_t crt)
{
	gnutls_datum_t d;
	const char    *path;
	int            r;

	if ((r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)) < 0)
		die("export", r);
	path = write_file(name, d.data, d.size);
	gnutls_free(d.data);
	return path;
}

static const char *
write_key(const char *name, gnutls_privkey_t key, const char *password)
{
	gnutls_x509_privkey_t x;
	gnutls_datum_t        d;
	const char           *path;
	int                   r;

	if ((r = gnutls_privkey_export_x509(key, &x)) < 0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(
	             x, GNUTLS_X509_FMT_PEM, password,
	             password != NULL ? GNUTLS_PKCS_PBES2_AES_128
	                              : GNUTLS_PKCS_PLAIN,
	             &d)) < 0)
		die("export key", r);
	path = write_file(name, d.data, d.size);
	gnutls_free(d.data);
	gnutls_x509_privkey_deinit(x);
	return path;
}

/* ---- what a leaf says ---- */

static void
cn_of(gnutls_x509_crt_t crt, char *out, size_t outsz)
{
	size_t len = outsz;

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	                                  0, out, &len) < 0)
		out[0] = '\0';
}

/* The dNSName and iPAddress SANs, as text, separated by spaces. */
static void
sans_of(gnutls_x509_crt_t crt, char *out, size_t outsz, unsigned *critical)
{
	gnutls_datum_t ext;
	size_t         o = 0;

	out[0] = '\0';
	*critical = 0;
	if (gnutls_x509_crt_get_extension_by_oid2(crt, "2.5.29.17", 0, &ext,
	                                          critical) >= 0)
		gnutls_free(ext.data);
	for (unsigned i = 0;; i++) {
		char   buf[512], text[sizeof(buf) + 1];
		size_t len = sizeof(buf);
		int    t;

		t = gnutls_x509_crt_get_subject_alt_name2(crt, i, buf, &len,
		                                          NULL, NULL);
		if (t < 0)
			break;
		if (t == GNUTLS_SAN_IPADDRESS)
			inet_ntop(len == 4 ? AF_INET : AF_INET6, buf, text,
			          sizeof(text));
		else
			snprintf(text, sizeof(text), "%.*s", (int)len, buf);
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? " " : "",
		                      text);
		if (o >= outsz)
			break;
	}
}

static void
join(const char *const *list, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < MAX_SANS && list[i] != NULL && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? " " : "",
		                      list[i]);
}

static bool
same_datum(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
	return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

/* gnutls_x509_crt_verify() of leaf against one trusted certificate. */
static unsigned
verify_with(gnutls_x509_crt_t leaf, gnutls_x509_crt_t trusted, unsigned flags)
{
	unsigned status = ~0u;
	int      r;

	r = gnutls_x509_crt_verify(leaf, &trusted, 1, flags, &status);
	return r < 0 ? ~0u : status;
}

static bool
serial_of(gnutls_x509_crt_t crt, unsigned char *out, size_t *len)
{
	return gnutls_x509_crt_get_serial(crt, out, len) >= 0;
}

static bool
same_serial(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	unsigned char sa[64], sb[64];
	size_t        la = sizeof(sa), lb = sizeof(sb);

	return serial_of(a, sa, &la) && serial_of(b, sb, &lb) && la == lb &&
	       memcmp(sa, sb, la) == 0;
}

/* The certificate's SubjectPublicKeyInfo in DER, into *out (gnutls_free). */
static void
spki_of(gnutls_x509_crt_t crt, gnutls_datum_t *out)
{
	gnutls_pubkey_t pub;
	int             r;

	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_x509(pub, crt, 0)) < 0 ||
	    (r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, out)) < 0)
		die("spki", r);
	gnutls_pubkey_deinit(pub);
}

static bool
same_pubkey(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	gnutls_datum_t da, db;
	bool           same;

	spki_of(a, &da);
	spki_of(b, &db);
	same = same_datum(&da, &db);
	gnutls_free(da.data);
	gnutls_free(db.data);
	return same;
}

/* The RFC 5280 profile every leaf keeps. */
static void
check_profile(const char *what, gnutls_x509_crt_t leaf, bool untrusted)
{
	unsigned char serial[64], ski[64], aki[64], caski[64];
	size_t        slen = sizeof(serial), skilen = sizeof(ski),
	       akilen = sizeof(aki), caskilen = sizeof(caski);
	unsigned       crit = 0, ca = 1, ku = 0;
	char           oid[128];
	size_t         oidlen = sizeof(oid);
	gnutls_datum_t idn, cadn;

	bool have_serial, have_ku;

	ok(gnutls_x509_crt_get_version(leaf) == 3, "%s: version 3", what);
	have_serial = serial_of(leaf, serial, &slen);
	ok(have_serial && slen == 20 && (serial[0] & 0x80) == 0 &&
	           serial[0] != 0,
	   "%s: serial of 20 octets, positive, non-zero (%zu)", what, slen);
	ok(gnutls_x509_crt_get_basic_constraints(leaf, &crit, &ca, NULL) >= 0 &&
	           ca == 0,
	   "%s: basicConstraints cA FALSE", what);
	have_ku = gnutls_x509_crt_get_key_usage(leaf, &ku, &crit) >= 0;
	ok(have_ku && ku == GNUTLS_KEY_DIGITAL_SIGNATURE,
	   "%s: keyUsage digitalSignature only (%#x)", what, ku);
	ok(gnutls_x509_crt_get_key_purpose_oid(leaf, 0, oid, &oidlen, NULL) >=
	                   0 &&
	           strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0,
	   "%s: extKeyUsage serverAuth", what);
	ok(gnutls_x509_crt_get_subject_key_id(leaf, ski, &skilen, &crit) >= 0 &&
	           skilen > 0,
	   "%s: subjectKeyIdentifier", what);
	if (!untrusted) {
		ok(gnutls_x509_crt_get_authority_key_id(leaf, aki, &akilen,
		                                        &crit) >= 0 &&
		           gnutls_x509_crt_get_subject_key_id(
		                   ca_crt, caski, &caskilen, &crit) >= 0 &&
		           akilen == caskilen &&
		           memcmp(aki, caski, akilen) == 0,
		   "%s: authorityKeyIdentifier is the CA's", what);
		ok(gnutls_x509_crt_get_raw_issuer_dn(leaf, &idn) >= 0 &&
		           gnutls_x509_crt_get_raw_dn(ca_crt, &cadn) >= 0 &&
		           same_datum(&idn, &cadn),
		   "%s: issuer is the CA's subject", what);
		gnutls_free(idn.data);
		gnutls_free(cadn.data);
	}
}

/* ---- leaves from origin certificates ---- */

static struct spec origins[] = {
	{ "several SANs and IPs",
	  "www.example.com",
	  { "www.example.com", "example.com", "api.example.com", "192.0.2.10",
	    "2001:db8::10" },
	  0,
	  0,
	  { NULL } },
	{ "wildcard and IDN",
	  "*.example.org",
	  { "*.example.org", "example.org", "xn--bcher-kva.example",
	    "*.xn--bcher-kva.example" },
	  0,
	  0,
	  { NULL } },
	{ "long validity", "long.example", { "long.example" }, 0, 0, { NULL } },
	{ "no well-defined end",
	  "forever.example",
	  { "forever.example" },
	  0,
	  (time_t)-1,
	  { NULL } },
	{ "expired", "old.example", { "old.example" }, 0, 0, { NULL } },
	{ "CN only", "cn-only.example", { NULL }, 0, 0, { "cn-only.example" } },
	{ "wildcard CN only",
	  "*.cn-only.example",
	  { NULL },
	  0,
	  0,
	  { "*.cn-only.example" } },
	{ "IP CN only", "198.51.100.7", { NULL }, 0, 0, { "198.51.100.7" } },
	{ "no CN", NULL, { "no-cn.example" }, 0, 0, { NULL } },
};

static void
set_times(void)
{
	for (size_t i = 0; i < NELEM(origins); i++) {
		struct spec *s = &origins[i];

		if (strcmp(s->what, "long validity") == 0) {
			s->from = 946684800;   /* 2000-01-01 */
			s->until = 4102444800; /* 2100-01-01 */
		} else if (strcmp(s->what, "expired") == 0) {
			s->from = 1262304000;  /* 2010-01-01 */
			s->until = 1293840000; /* 2011-01-01 */
		} else {
			s->from = now - now % DAY - 10 * DAY;
			if (s->until != (time_t)-1)
				s->until = s->from + 90 * DAY;
		}
	}
}

static void
test_origin(struct mimic *m, const struct spec *s, unsigned n)
{
	gnutls_x509_crt_t  origin = make_crt(s, n, false, 0), leaf;
	struct mimic_cert *c;
	char               err[ERR_MAX] = "", got[1024], want[1024];
	char               cn[256];
	unsigned           crit, status;
	bool               expired = s->until != (time_t)-1 && s->until < now;

	c = mimic_issue(m, origin, "fallback.invalid", false, err, sizeof(err));
	ok(c != NULL, "%s: issued (%s)", s->what, err);
	if (c == NULL) {
		gnutls_x509_crt_deinit(origin);
		return;
	}
	leaf = leaf_of(c);
	cn_of(leaf, cn, sizeof(cn));
	ok(strcmp(cn, s->cn != NULL ? s->cn : "") == 0, "%s: CN '%s'", s->what,
	   cn);
	sans_of(leaf, got, sizeof(got), &crit);
	join(s->want_sans[0] != NULL ? s->want_sans : s->sans, want,
	     sizeof(want));
	ok(strcmp(got, want) == 0, "%s: SANs '%s' (want '%s')", s->what, got,
	   want);
	ok(crit == (s->cn == NULL), "%s: SAN critical only without a subject",
	   s->what);
	ok(gnutls_x509_crt_get_activation_time(leaf) ==
	                   gnutls_x509_crt_get_activation_time(origin) &&
	           gnutls_x509_crt_get_expiration_time(leaf) ==
	                   gnutls_x509_crt_get_expiration_time(origin),
	   "%s: validity copied (%lld..%lld)", s->what,
	   (long long)gnutls_x509_crt_get_activation_time(leaf),
	   (long long)gnutls_x509_crt_get_expiration_time(leaf));
	check_profile(s->what, leaf, false);
	status = verify_with(leaf, ca_crt, 0);
	if (expired) {
		ok(status == (GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED),
		   "%s: verifies against the CA but for its date (%#x)",
		   s->what, status);
		ok(verify_with(leaf, ca_crt,
		               GNUTLS_VERIFY_DISABLE_TIME_CHECKS) == 0,
		   "%s: signature verifies", s->what);
	} else {
		ok(status == 0, "%s: verifies against the CA (%#x)", s->what,
		   status);
	}
	if (s->sans[0] != NULL && s->sans[0][0] != '*')
		ok(gnutls_x509_crt_check_hostname(leaf, s->sans[0]),
		   "%s: valid for %s", s->what, s->sans[0]);
	gnutls_x509_crt_deinit(leaf);
	mimic_cert_unref(c);
	gnutls_x509_crt_deinit(origin);
}

/* An origin that names nothing: the fallback name stands in, and without
 * one it is an error. */
static void
test_nameless_origin(struct mimic *m)
{
	struct spec        s = { "nameless", NULL,      { NULL },
		                 now - DAY,  now + DAY, { NULL } };
	gnutls_x509_crt_t  origin = make_crt(&s, 99, false, 0), leaf;
	struct mimic_cert *c;
	char               err[ERR_MAX] = "", got[256];
	unsigned           crit;

	c = mimic_issue(m, origin, "sni.example", false, err, sizeof(err));
	ok(c != NULL, "nameless origin: the fallback name stands in (%s)", err);
	if (c != NULL) {
		leaf = leaf_of(c);
		sans_of(leaf, got, sizeof(got), &crit);
		ok(strcmp(got, "sni.example") == 0, "nameless origin: SAN '%s'",
		   got);
		ok(gnutls_x509_crt_get_expiration_time(leaf) == now + DAY,
		   "nameless origin: validity still copied");
		gnutls_x509_crt_deinit(leaf);
		mimic_cert_unref(c);
	}
	err[0] = '\0';
	c = mimic_issue(m, origin, NULL, false, err, sizeof(err));
	ok(c == NULL && strstr(err, "names no host") != NULL,
	   "nameless origin, no fallback: '%s'", err);
	mimic_cert_unref(c);
	gnutls_x509_crt_deinit(origin);
}

/* ---- the untrusted issuer ---- */

static void
test_untrusted(struct mimic *m)
{
	gnutls_x509_crt_t  origin = make_crt(&origins[0], 1, false, 0);
	gnutls_x509_crt_t  leaf, tleaf, issuer;
	struct mimic_cert *c, *t;
	unsigned           n, crit;
	char               err[ERR_MAX] = "", cn[256], got[1024], want[1024];
	gnutls_datum_t     idn, cadn;
	char               dn[512];
	size_t             dnlen = sizeof(dn);

	c = mimic_issue(m, origin, NULL, true, err, sizeof(err));
	t = mimic_issue(m, origin, NULL, false, err, sizeof(err));
	ok(c != NULL && t != NULL && c != t,
	   "untrusted: a leaf of its own (%s)", err);
	if (c == NULL || t == NULL)
		goto out;
	leaf = leaf_of(c);
	tleaf = leaf_of(t);
	check_profile("untrusted", leaf, true);
	cn_of(leaf, cn, sizeof(cn));
	sans_of(leaf, got, sizeof(got), &crit);
	join(origins[0].sans, want, sizeof(want));
	ok(strcmp(cn, origins[0].cn) == 0 && strcmp(got, want) == 0,
	   "untrusted: names copied all the same");
	ok(verify_with(leaf, ca_crt, 0) & GNUTLS_CERT_INVALID,
	   "untrusted: does not verify against the CA (%#x)",
	   verify_with(leaf, ca_crt, 0));
	ok(gnutls_x509_crt_get_raw_issuer_dn(leaf, &idn) >= 0 &&
	           gnutls_x509_crt_get_raw_dn(ca_crt, &cadn) >= 0 &&
	           !same_datum(&idn, &cadn),
	   "untrusted: issuer is not the CA");
	gnutls_free(idn.data);
	gnutls_free(cadn.data);
	ok(gnutls_x509_crt_get_issuer_dn(leaf, dn, &dnlen) >= 0 &&
	           strstr(dn, "untrusted") != NULL,
	   "untrusted: issuer says so: %s", dn);
	mimic_cert_chain(c, &n);
	ok(n == 2, "untrusted: chain of leaf and issuer (%u)", n);
	issuer = issuer_of(c);
	ok(verify_with(leaf, issuer, 0) == 0,
	   "untrusted: signed by the issuer it is sent with");
	ok(!same_serial(leaf, tleaf),
	   "untrusted: serial differs from the trusted leaf's");
	gnutls_x509_crt_deinit(issuer);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(tleaf);
out:
	mimic_cert_unref(c);
	mimic_cert_unref(t);
	gnutls_x509_crt_deinit(origin);
}

/* ---- serials agree across contexts ---- */

static void
test_determinism(struct mimic *m1, const char *cert, const char *key)
{
	struct mimic      *m2;
	gnutls_x509_crt_t  o1 = make_crt(&origins[0], 1, false, 0);
	gnutls_x509_crt_t  o2 = make_crt(&origins[1], 2, false, 0);
	gnutls_x509_crt_t  l11, l21, l12, lf1, lf2;
	struct mimic_cert *c11, *c21, *c12, *f1, *f2;
	char               err[ERR_MAX] = "";

	m2 = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	ok(m2 != NULL, "second context (%s)", err);
	if (m2 == NULL)
		goto out;
	c11 = mimic_issue(m1, o1, NULL, false, err, sizeof(err));
	c21 = mimic_issue(m2, o1, NULL, false, err, sizeof(err));
	c12 = mimic_issue(m1, o2, NULL, false, err, sizeof(err));
	f1 = mimic_issue(m1, NULL, "www.example.net", false, err, sizeof(err));
	f2 = mimic_issue(m2, NULL, "WWW.Example.NET.", false, err, sizeof(err));
	if (!c11 || !c21 || !c12 || !f1 || !f2)
		die("determinism issue", 0);
	l11 = leaf_of(c11);
	l21 = leaf_of(c21);
	l12 = leaf_of(c12);
	lf1 = leaf_of(f1);
	lf2 = leaf_of(f2);
	ok(same_serial(l11, l21),
	   "two contexts, one CA: same serial for the same origin");
	ok(!same_serial(l11, l12), "different origins: different serials");
	ok(same_serial(lf1, lf2),
	   "two contexts: same serial for the same fallback name");
	ok(!same_serial(l11, lf1), "origin and fallback: different serials");
	ok(same_pubkey(l11, l21) && same_pubkey(l11, lf2),
	   "two contexts, one CA: the same leaf key");
	ok(same_datum(mimic_cert_der(c11), mimic_cert_der(c21)) &&
	           same_datum(mimic_cert_der(f1), mimic_cert_der(f2)),
	   "two contexts, one CA: the same leaf, byte for byte");
	gnutls_x509_crt_deinit(l11);
	gnutls_x509_crt_deinit(l21);
	gnutls_x509_crt_deinit(l12);
	gnutls_x509_crt_deinit(lf1);
	gnutls_x509_crt_deinit(lf2);
	mimic_cert_unref(c11);
	mimic_cert_unref(c21);
	mimic_cert_unref(c12);
	mimic_cert_unref(f1);
	mimic_cert_unref(f2);
	mimic_free(m2);
out:
	gnutls_x509_crt_deinit(o1);
	gnutls_x509_crt_deinit(o2);
}

/*
 * SEC_ERROR_REUSED_ISSUER_AND_SERIAL under the untrusted issuer: two
 * contexts from the same CA files make the same issuer, byte for byte,
 * and the same untrusted leaves, for an origin and for a fallback name.
 * The issuer has a key of its own, its serial and validity from the CA;
 * another CA makes another issuer.
 */
static void
test_untrusted_determinism(const char *cert, const char *key, const char *cert2,
                           const char *key2)
{
	gnutls_x509_crt_t  origin = make_crt(&origins[0], 1, false, 0);
	struct mimic      *m[3];
	struct mimic_cert *u[3], *f[2];
	gnutls_x509_crt_t  iss[3], leaf;
	gnutls_pcert_st   *c0, *c1;
	unsigned           n0, n1;
	char               err[ERR_MAX] = "";
	unsigned char      sn[64];
	size_t             snlen = sizeof(sn), i;
	bool               have_serial;

	m[0] = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	m[1] = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	m[2] = mimic_new(cert2, key2, 1 << 20, err, sizeof(err));
	if (m[0] == NULL || m[1] == NULL || m[2] == NULL)
		die(err, 0);
	for (i = 0; i < NELEM(m); i++) {
		mimic_set_now(m[i], now); /* one day for the fallback leaves */
		u[i] = mimic_issue(m[i], origin, NULL, true, err, sizeof(err));
		if (u[i] == NULL)
			die(err, 0);
		iss[i] = issuer_of(u[i]);
	}
	f[0] = mimic_issue(m[0], NULL, "untrusted.example", true, err,
	                   sizeof(err));
	f[1] = mimic_issue(m[1], NULL, "Untrusted.Example.", true, err,
	                   sizeof(err));
	if (f[0] == NULL || f[1] == NULL)
		die(err, 0);
	leaf = leaf_of(u[0]);
	c0 = mimic_cert_chain(u[0], &n0);
	c1 = mimic_cert_chain(u[1], &n1);
	ok(n0 == 2 && n1 == 2 && same_datum(&c0[1].cert, &c1[1].cert),
	   "untrusted issuer: two contexts, one CA: the same certificate, "
	   "byte for byte");
	ok(same_datum(mimic_cert_der(u[0]), mimic_cert_der(u[1])),
	   "untrusted: two contexts, one CA: the same leaf, byte for byte");
	ok(same_datum(mimic_cert_der(f[0]), mimic_cert_der(f[1])),
	   "untrusted: two contexts, one CA: the same fallback leaf, byte "
	   "for byte");
	ok(verify_with(leaf, iss[1], 0) == 0,
	   "untrusted: a leaf verifies against another context's issuer");
	ok(verify_with(iss[0], iss[0], 0) == 0,
	   "untrusted issuer: self-signed (%#x)",
	   verify_with(iss[0], iss[0], 0));
	ok(!same_pubkey(iss[0], ca_crt) && !same_pubkey(iss[0], leaf),
	   "untrusted issuer: a key of its own, neither the CA's nor the "
	   "leaves'");
	have_serial = serial_of(iss[0], sn, &snlen);
	ok(have_serial && snlen == 20 && (sn[0] & 0x80) == 0 && sn[0] != 0,
	   "untrusted issuer: serial of 20 octets, positive, non-zero (%zu)",
	   snlen);
	ok(gnutls_x509_crt_get_activation_time(iss[0]) ==
	                   gnutls_x509_crt_get_activation_time(ca_crt) &&
	           gnutls_x509_crt_get_expiration_time(iss[0]) ==
	                   gnutls_x509_crt_get_expiration_time(ca_crt),
	   "untrusted issuer: the CA's validity");
	ok(!same_pubkey(iss[0], iss[2]) && !same_serial(iss[0], iss[2]),
	   "untrusted issuer: another CA, another key and serial");
	gnutls_x509_crt_deinit(leaf);
	for (i = 0; i < NELEM(m); i++) {
		gnutls_x509_crt_deinit(iss[i]);
		mimic_cert_unref(u[i]);
		mimic_free(m[i]);
	}
	mimic_cert_unref(f[0]);
	mimic_cert_unref(f[1]);
	gnutls_x509_crt_deinit(origin);
}

/* ---- the leaf key: derived from the CA key ---- */

/*
 * A vector worked out apart from bascule (RFC 5869 HKDF-SHA256 and FIPS
 * 186-5 A.2.1, in Python): a CA key's scalar and public point, and the
 * leaf key derived from it.  The scalar's leading zero octet is not part
 * of what is hashed.  A change here changes every deployed leaf key, and
 * brings back SEC_ERROR_REUSED_ISSUER_AND_SERIAL while nodes disagree.
 */
static const char *const kat_ca[3] = {
	"00c0ffee0ddba11deadbeef5ca1ab1e00000000000000000000000000000000b",
	"5f320d29b9105aecf0444ad3f893f2876668570d5f772fe15f6dda7dca4d5644",
	"59971480ce1be45482bf5eee3c875091bf2a5f9e36b96f5b345aa2546332c416",
};
static const char *const kat_leaf[3] = {
	"f8911b3bbc53f17e2a430b5929e471796297951b164e5e933d2a672968e6a04a",
	"7d97e6ff2e23a26d9fbd4710d71b82075d3d34bb971322ddcbd73650118198c8",
	"da5f01195c040ded4e62307cf60f45f6468a1cba0dfc8f1c6b9004d0af31ec37",
};
/* The untrusted issuer's public point, from the same CA key under the
 * label "bascule mimic untrusted issuer v1" (the same way in Python). */
static const char *const kat_untrusted[2] = {
	"8f50eb1a1bc656167b2e1e34a041845a828d1f2a43889ad0f4fe72aac52c115e",
	"58f9ae4d28219446be59c057d691bf0a9bd4249062d74ce4dbdcc2183a3ee319",
};

static void
from_hex(const char *hex, unsigned char out[32])
{
	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			die("hex", 0);
		out[i] = (unsigned char)v;
	}
}

static bool
is_hex(const gnutls_datum_t *d, const char *hex)
{
	unsigned char want[32];

	from_hex(hex, want);
	return d->size == sizeof(want) && memcmp(d->data, want, 32) == 0;
}

/* A CA certificate for key, written to dir/name. */
static const char *
write_ca_for(const char *name, gnutls_privkey_t key, unsigned serial)
{
	struct spec       s = { "ca",      "leaf key test CA", { NULL },
		                now - DAY, now + 30 * DAY,     { NULL } };
	gnutls_x509_crt_t crt;
	const char       *path;

	crt = make_crt_for(key, GNUTLS_DIG_UNKNOWN, &s, serial, true,
	                   GNUTLS_KEY_KEY_CERT_SIGN);
	path = write_crt(name, crt);
	gnutls_x509_crt_deinit(crt);
	return path;
}

static struct mimic_cert *
issue_from(const char *what, const char *cert, const char *key,
           gnutls_x509_crt_t origin)
{
	char               err[ERR_MAX] = "";
	struct mimic      *m = mimic_new(cert, key, 1 << 16, err, sizeof(err));
	struct mimic_cert *c = NULL;

	if (m != NULL)
		c = mimic_issue(m, origin, NULL, false, err, sizeof(err));
	ok(c != NULL, "%s: issued (%s)", what, err);
	mimic_free(m); /* the leaf and its key outlive it */
	return c;
}

/* The leaf verifies against ca, and mimic_cert_key() signs what the
 * public key in the leaf verifies. */
static void
check_leaf_key(const char *what, struct mimic_cert *c, gnutls_x509_crt_t ca)
{
	gnutls_x509_crt_t leaf = leaf_of(c);
	gnutls_pubkey_t   pub;
	gnutls_datum_t    data = { (unsigned char *)"leaf key", 8 };
	gnutls_datum_t    other = { (unsigned char *)"leaf kex", 8 };
	gnutls_datum_t    sig = { NULL, 0 };
	int               r, good = -1, bad = 0;

	ok(verify_with(leaf, ca, 0) == 0, "%s: verifies against its CA (%#x)",
	   what, verify_with(leaf, ca, 0));
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_x509(pub, leaf, 0)) < 0)
		die("leaf public key", r);
	r = gnutls_privkey_sign_data(mimic_cert_key(c), GNUTLS_DIG_SHA256, 0,
	                             &data, &sig);
	if (r >= 0) {
		good = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
		                                  0, &data, &sig);
		bad = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
		                                 0, &other, &sig);
	}
	ok(r >= 0 && good >= 0 && bad == GNUTLS_E_PK_SIG_VERIFY_FAILED,
	   "%s: the derived key signs for the leaf's public key (%s)", what,
	   gnutls_strerror(r < 0 ? r : good));
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(leaf);
}

/* Contexts made from cert with key1 and with key2 (the same key, written
 * apart) issue origin's leaf with the same key and serial; *spki gets
 * that key. */
static void
same_leaf_key(const char *what, const char *cert, const char *key1,
              const char *key2, gnutls_x509_crt_t origin, gnutls_datum_t *spki)
{
	struct mimic_cert *c1 = issue_from(what, cert, key1, origin);
	struct mimic_cert *c2 = issue_from(what, cert, key2, origin);
	gnutls_x509_crt_t  ca, l1, l2;

	spki->data = NULL;
	spki->size = 0;
	if (c1 == NULL || c2 == NULL)
		goto out;
	load_crt(cert, &ca);
	l1 = leaf_of(c1);
	l2 = leaf_of(c2);
	ok(same_pubkey(l1, l2) && same_serial(l1, l2),
	   "%s: two contexts, the same leaf key and serial", what);
	ok(same_datum(mimic_cert_der(c1), mimic_cert_der(c2)),
	   "%s: two contexts, the same leaf, byte for byte", what);
	check_leaf_key(what, c2, ca);
	spki_of(l1, spki);
	gnutls_x509_crt_deinit(l1);
	gnutls_x509_crt_deinit(l2);
	gnutls_x509_crt_deinit(ca);
out:
	mimic_cert_unref(c1);
	mimic_cert_unref(c2);
}

/* The untrusted issuer of the vector's CA has the vector's key. */
static void
test_untrusted_key_vector(const char *cert, const char *key,
                          gnutls_x509_crt_t origin)
{
	char               err[ERR_MAX] = "";
	struct mimic      *m = mimic_new(cert, key, 1 << 16, err, sizeof(err));
	struct mimic_cert *c = NULL;
	gnutls_x509_crt_t  issuer;
	gnutls_pubkey_t    pub;
	gnutls_ecc_curve_t curve;
	gnutls_datum_t     x, y;
	int                r;

	if (m != NULL)
		c = mimic_issue(m, origin, NULL, true, err, sizeof(err));
	ok(c != NULL, "vector: untrusted leaf issued (%s)", err);
	mimic_free(m);
	if (c == NULL)
		return;
	issuer = issuer_of(c);
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_x509(pub, issuer, 0)) < 0 ||
	    (r = gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y,
	                                       GNUTLS_EXPORT_FLAG_NO_LZ)) < 0)
		die("vector untrusted issuer key", r);
	ok(curve == GNUTLS_ECC_CURVE_SECP256R1 &&
	           is_hex(&x, kat_untrusted[0]) && is_hex(&y, kat_untrusted[1]),
	   "vector: the untrusted issuer's key of the vector");
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(issuer);
	mimic_cert_unref(c);
}

/* The vector, from the CA key written as PKCS #8 (PEM and DER) and as
 * RFC 5915 ("EC PRIVATE KEY"): a file's encoding makes no difference. */
static void
test_leaf_key_vector(gnutls_x509_crt_t origin, gnutls_datum_t *spki)
{
	unsigned char         k[32], x[32], y[32];
	gnutls_datum_t        dk = { k, 32 }, dx = { x, 32 }, dy = { y, 32 };
	gnutls_datum_t        pem, der, lx, ly, ld;
	gnutls_privkey_t      key;
	gnutls_x509_privkey_t xkey;
	gnutls_pubkey_t       pub;
	gnutls_ecc_curve_t    curve;
	gnutls_x509_crt_t     ca, leaf;
	struct mimic_cert    *c;
	const char           *cert, *keys[3];
	const char *const     names[3] = { "PKCS #8 PEM", "RFC 5915 PEM",
		                           "PKCS #8 DER" };
	int                   r;

	from_hex(kat_ca[0], k);
	from_hex(kat_ca[1], x);
	from_hex(kat_ca[2], y);
	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_SECP256R1,
	                                       &dx, &dy, &dk)) < 0 ||
	    (r = gnutls_privkey_export_x509(key, &xkey)) < 0 ||
	    (r = gnutls_x509_privkey_export2(xkey, GNUTLS_X509_FMT_PEM, &pem)) <
	            0 ||
	    (r = gnutls_x509_privkey_export2_pkcs8(xkey, GNUTLS_X509_FMT_DER,
	                                           NULL, GNUTLS_PKCS_PLAIN,
	                                           &der)) < 0)
		die("vector CA key", r);
	ok(strstr((const char *)pem.data, "BEGIN EC PRIVATE KEY") != NULL,
	   "vector: the RFC 5915 file is one");
	cert = write_ca_for("kat-ca.crt", key, 31);
	keys[0] = write_key("kat-pkcs8.pem", key, NULL);
	keys[1] = write_file("kat-ec.pem", pem.data, pem.size);
	keys[2] = write_file("kat-pkcs8.der", der.data, der.size);
	load_crt(cert, &ca);
	spki->data = NULL;
	spki->size = 0;
	for (size_t i = 0; i < NELEM(keys); i++) {
		c = issue_from(names[i], cert, keys[i], origin);
		if (c == NULL)
			continue;
		leaf = leaf_of(c);
		if ((r = gnutls_pubkey_init(&pub)) < 0 ||
		    (r = gnutls_pubkey_import_x509(pub, leaf, 0)) < 0 ||
		    (r = gnutls_pubkey_export_ecc_raw2(
		             pub, &curve, &lx, &ly, GNUTLS_EXPORT_FLAG_NO_LZ)) <
		            0 ||
		    (r = gnutls_privkey_export_ecc_raw2(
		             mimic_cert_key(c), &curve, NULL, NULL, &ld,
		             GNUTLS_EXPORT_FLAG_NO_LZ)) < 0)
			die("vector leaf key", r);
		ok(curve == GNUTLS_ECC_CURVE_SECP256R1 &&
		           is_hex(&ld, kat_leaf[0]) &&
		           is_hex(&lx, kat_leaf[1]) && is_hex(&ly, kat_leaf[2]),
		   "%s: the leaf key of the vector", names[i]);
		check_leaf_key(names[i], c, ca);
		if (i == 0)
			spki_of(leaf, spki);
		gnutls_memset(ld.data, 0, ld.size);
		gnutls_free(ld.data);
		gnutls_free(lx.data);
		gnutls_free(ly.data);
		gnutls_pubkey_deinit(pub);
		gnutls_x509_crt_deinit(leaf);
		mimic_cert_unref(c);
	}
	test_untrusted_key_vector(cert, keys[0], origin);
	gnutls_memset(pem.data, 0, pem.size);
	gnutls_free(pem.data);
	gnutls_memset(der.data, 0, der.size);
	gnutls_free(der.data);
	gnutls_x509_privkey_deinit(xkey);
	gnutls_privkey_deinit(key);
	gnutls_x509_crt_deinit(ca);
}

/* An RSA CA, once written with its primes swapped (as a file may list
 * them): the same leaf key. */
static void
test_leaf_key_rsa(gnutls_x509_crt_t origin, gnutls_datum_t *spki)
{
	gnutls_privkey_t key, swapped;
	gnutls_datum_t   m, e, d, p, q, p2;
	const char      *cert, *k1, *k2;
	int              r;

	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_generate2(key, GNUTLS_PK_RSA, 2048, 0, NULL,
	                                  0)) < 0 ||
	    (r = gnutls_privkey_export_rsa_raw2(key, &m, &e, &d, &p, &q, NULL,
	                                        NULL, NULL, 0)) < 0 ||
	    (r = gnutls_privkey_init(&swapped)) < 0 ||
	    (r = gnutls_privkey_import_rsa_raw(swapped, &m, &e, &d, &q, &p,
	                                       NULL, NULL, NULL)) < 0 ||
	    (r = gnutls_privkey_export_rsa_raw2(swapped, NULL, NULL, NULL, &p2,
	                                        NULL, NULL, NULL, NULL, 0)) < 0)
		die("RSA CA key", r);
	ok(same_datum(&p2, &q), "RSA: the second file has q first");
	cert = write_ca_for("rsa-ca.crt", key, 32);
	k1 = write_key("rsa.key", key, NULL);
	k2 = write_key("rsa-swapped.key", swapped, NULL);
	same_leaf_key("RSA CA", cert, k1, k2, origin, spki);
	gnutls_free(m.data);
	gnutls_free(e.data);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	gnutls_memset(p.data, 0, p.size);
	gnutls_free(p.data);
	gnutls_memset(q.data, 0, q.size);
	gnutls_free(q.data);
	gnutls_memset(p2.data, 0, p2.size);
	gnutls_free(p2.data);
	gnutls_privkey_deinit(swapped);
	gnutls_privkey_deinit(key);
}

/* A CA of another kind, its key from two files. */
static void
test_leaf_key_kind(const char *what, gnutls_pk_algorithm_t pk, unsigned bits,
                   unsigned serial, gnutls_x509_crt_t origin,
                   gnutls_datum_t *spki)
{
	char             name[64];
	gnutls_privkey_t key;
	const char      *cert, *k1, *k2;
	int              r;

	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_generate2(key, pk, bits, 0, NULL, 0)) < 0)
		die(what, r);
	snprintf(name, sizeof(name), "kind%u.crt", serial);
	cert = write_ca_for(name, key, serial);
	snprintf(name, sizeof(name), "kind%u.key", serial);
	k1 = write_key(name, key, NULL);
	snprintf(name, sizeof(name), "kind%u-again.key", serial);
	k2 = write_key(name, key, NULL);
	same_leaf_key(what, cert, k1, k2, origin, spki);
	gnutls_privkey_deinit(key);
}

/*
 * SEC_ERROR_REUSED_ISSUER_AND_SERIAL: every context with the same CA key
 * (a reloaded worker, another node) issues an origin's leaf with the same
 * key, not one of its own; a different CA key gives a different one.
 */
static void
test_leaf_key(const char *cert, const char *key, const char *cert2,
              const char *key2)
{
	gnutls_x509_crt_t origin = make_crt(&origins[0], 1, false, 0);
	gnutls_datum_t    spki[6];
	size_t            i, j, n = NELEM(spki), distinct = 0;

	same_leaf_key("bascule --init-ca", cert, key, key, origin, &spki[0]);
	same_leaf_key("another CA", cert2, key2, key2, origin, &spki[1]);
	test_leaf_key_vector(origin, &spki[2]);
	test_leaf_key_rsa(origin, &spki[3]);
	test_leaf_key_kind("Ed25519 CA", GNUTLS_PK_EDDSA_ED25519, 256, 33,
	                   origin, &spki[4]);
	test_leaf_key_kind("DSA CA", GNUTLS_PK_DSA, 2048, 34, origin, &spki[5]);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			distinct += spki[i].size > 0 && spki[j].size > 0 &&
			            !same_datum(&spki[i], &spki[j]);
	ok(distinct == n * (n - 1) / 2,
	   "six CA keys, six leaf keys (%zu of %zu pairs differ)", distinct,
	   n * (n - 1) / 2);
	for (i = 0; i < n; i++)
		gnutls_free(spki[i].data);
	gnutls_x509_crt_deinit(origin);
}

/* ---- the fallback name ---- */

static const struct {
	const char *in;
	const char *cn;   /* NULL: refused */
	const char *sans; /* as sans_of() prints them */
	bool        critical;
} fallbacks[] = {
	{ "www.example.net", "www.example.net", "www.example.net", false },
	{ "Bücher.example", "xn--bcher-kva.example", "xn--bcher-kva.example",
	  false },
	{ "192.0.2.55", "192.0.2.55", "192.0.2.55", false },
	{ "[2001:DB8::55]", "2001:db8::55", "2001:db8::55", false },
	{ "2001:db8::56", "2001:db8::56", "2001:db8::56", false },
	/* longer than ub-common-name (64): the SAN alone, critical */
	{ "sixty-five-characters-or-more-do-not-fit.in-a-common-name.example",
	  "",
	  "sixty-five-characters-or-more-do-not-fit.in-a-common-name.example",
	  true },
	{ "exa mple.com", NULL, NULL, false },
	{ ".example.com", NULL, NULL, false },
	{ "", NULL, NULL, false },
};

static void
test_fallback(struct mimic *m)
{
	for (size_t i = 0; i < NELEM(fallbacks); i++) {
		struct mimic_cert *c;
		gnutls_x509_crt_t  leaf;
		char               err[ERR_MAX] = "", cn[256], got[512];
		unsigned           crit;
		time_t             from, until;

		c = mimic_issue(m, NULL, fallbacks[i].in, false, err,
		                sizeof(err));
		if (fallbacks[i].cn == NULL) {
			ok(c == NULL && strstr(err, "bad host name") != NULL,
			   "fallback '%s' refused: %s", fallbacks[i].in, err);
			mimic_cert_unref(c);
			continue;
		}
		ok(c != NULL, "fallback '%s' issued (%s)", fallbacks[i].in,
		   err);
		if (c == NULL)
			continue;
		leaf = leaf_of(c);
		cn_of(leaf, cn, sizeof(cn));
		sans_of(leaf, got, sizeof(got), &crit);
		from = gnutls_x509_crt_get_activation_time(leaf);
		until = gnutls_x509_crt_get_expiration_time(leaf);
		ok(strcmp(cn, fallbacks[i].cn) == 0, "fallback '%s': CN '%s'",
		   fallbacks[i].in, cn);
		ok(strcmp(got, fallbacks[i].sans) == 0 &&
		           crit == fallbacks[i].critical,
		   "fallback '%s': SAN '%s'%s", fallbacks[i].in, got,
		   crit ? " (critical)" : "");
		ok(from <= now - DAY && from > now - 2 * DAY &&
		           until >= now + 365 * DAY && until <= now + 367 * DAY,
		   "fallback '%s': valid from a day ago for a year",
		   fallbacks[i].in);
		ok(gnutls_x509_crt_check_hostname(leaf, fallbacks[i].sans),
		   "fallback '%s': valid for the name", fallbacks[i].in);
		ok(verify_with(leaf, ca_crt, 0) == 0,
		   "fallback '%s': verifies against the CA", fallbacks[i].in);
		check_profile(fallbacks[i].in, leaf, false);
		gnutls_x509_crt_deinit(leaf);
		mimic_cert_unref(c);
	}
	{
		char               err[ERR_MAX] = "";
		struct mimic_cert *c;

		c = mimic_issue(m, NULL, NULL, false, err, sizeof(err));
		ok(c == NULL && err[0] != '\0',
		   "no origin and no name: refused (%s)", err);
	}
}

/* A CA that ends within the year: the fallback leaf ends with it. */
static void
test_fallback_capped(void)
{
	struct spec s = { "short CA", "short-lived CA",           { NULL },
		          now - DAY,  now - now % DAY + 30 * DAY, { NULL } };
	gnutls_x509_crt_t made =
	        make_crt(&s, 7, true, GNUTLS_KEY_KEY_CERT_SIGN);
	const char        *cert = write_crt("short-ca.crt", made);
	const char        *key = write_key("other.key", other_key, NULL);
	struct mimic      *m;
	struct mimic_cert *c = NULL;
	gnutls_x509_crt_t  leaf;
	char               err[ERR_MAX] = "";
	gnutls_x509_crt_t  ca;

	/* Read back (see make_crt()). */
	gnutls_x509_crt_deinit(made);
	load_crt(cert, &ca);
	m = mimic_new(cert, key, 1 << 16, err, sizeof(err));
	ok(m != NULL, "short-lived CA loads (%s)", err);
	if (m != NULL)
		c = mimic_issue(m, NULL, "capped.example", false, err,
		                sizeof(err));
	ok(c != NULL, "leaf under a short-lived CA (%s)", err);
	if (c != NULL) {
		leaf = leaf_of(c);
		ok(gnutls_x509_crt_get_expiration_time(leaf) == s.until,
		   "fallback leaf ends with its CA");
		ok(verify_with(leaf, ca, 0) == 0,
		   "leaf verifies against the short-lived CA (%#x)",
		   verify_with(leaf, ca, 0));
		gnutls_x509_crt_deinit(leaf);
	}
	mimic_cert_unref(c);
	c = NULL;
	err[0] = '\0';
	if (m != NULL) {
		mimic_set_now(m, s.until);
		c = mimic_issue(m, NULL, "late.example", false, err,
		                sizeof(err));
	}
	ok(c == NULL && strstr(err, "expired") != NULL,
	   "no fallback leaf once the CA has ended (%s)", err);
	mimic_cert_unref(c);
	mimic_free(m);
	gnutls_x509_crt_deinit(ca);
}

/* The leaf for "<prefix><i>.example". */
static struct mimic_cert *
issue_name(struct mimic *m, const char *prefix, unsigned i)
{
	char               name[64], err[ERR_MAX] = "";
	struct mimic_cert *c;

	snprintf(name, sizeof(name), "%s%u.example", prefix, i);
	c = mimic_issue(m, NULL, name, false, err, sizeof(err));
	if (c == NULL)
		die(err, 0);
	return c;
}

/*
 * SEC_ERROR_REUSED_ISSUER_AND_SERIAL across days: a fallback leaf's
 * window moves on each UTC day, and its serial must move with it.
 * Within a day, every context issues the same leaf at any hour; the
 * next day's is not yesterday's from the cache.
 */
static void
test_fallback_days(const char *cert, const char *key)
{
	time_t             day0 = now - now % DAY;
	struct mimic      *m1, *m2;
	struct mimic_cert *a, *b, *c, *d, *e;
	gnutls_x509_crt_t  la, lc;
	char               err[ERR_MAX] = "";

	m1 = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	m2 = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	if (m1 == NULL || m2 == NULL)
		die(err, 0);
	mimic_set_now(m1, day0 + 60);
	mimic_set_now(m2, day0 + DAY - 60);
	a = issue_name(m1, "days", 0);
	b = issue_name(m2, "days", 0);
	ok(same_datum(mimic_cert_der(a), mimic_cert_der(b)),
	   "days: one day, two contexts, morning and night: the same leaf");
	mimic_set_now(m1, day0 + DAY + 60);
	c = issue_name(m1, "days", 0);
	la = leaf_of(a);
	lc = leaf_of(c);
	ok(c != a && !same_serial(la, lc),
	   "days: the next day, another serial, not the cached leaf");
	ok(gnutls_x509_crt_get_activation_time(lc) ==
	                   gnutls_x509_crt_get_activation_time(la) + DAY &&
	           gnutls_x509_crt_get_activation_time(la) == day0 - DAY,
	   "days: the window starts a day later (%lld)",
	   (long long)gnutls_x509_crt_get_activation_time(lc));
	check_profile("days: the next day", lc, false);
	mimic_set_now(m2, day0 + DAY + 3 * 3600);
	d = issue_name(m2, "days", 0);
	ok(same_datum(mimic_cert_der(c), mimic_cert_der(d)),
	   "days: the next day, two contexts: the same leaf again");
	mimic_set_now(m1, day0 + 120);
	e = issue_name(m1, "days", 0);
	ok(e == a, "days: back on the first day, its leaf from the cache");
	gnutls_x509_crt_deinit(la);
	gnutls_x509_crt_deinit(lc);
	mimic_cert_unref(a);
	mimic_cert_unref(b);
	mimic_cert_unref(c);
	mimic_cert_unref(d);
	mimic_cert_unref(e);
	mimic_free(m1);
	mimic_free(m2);
}

/* ---- the cache ---- */

static void
test_cache(const char *cert, const char *key)
{
	struct mimic      *m;
	struct mimic_cert *held[200], *c, *a, *b;
	char               err[ERR_MAX] = "";
	size_t             one, i, hits;

	/* How much one leaf is counted for, then a cache for three. */
	m = mimic_new(cert, key, 1 << 20, err, sizeof(err));
	if (m == NULL)
		die(err, 0);
	c = issue_name(m, "n", 0);
	one = mimic_cache_bytes(m);
	ok(mimic_cache_count(m) == 1 && one > 0,
	   "cache: one leaf counted for %zu bytes", one);
	a = issue_name(m, "n", 0);
	ok(a == c, "cache: the same object for the same name");
	mimic_cert_unref(a);
	a = mimic_issue(m, NULL, "N0.Example.", false, err, sizeof(err));
	ok(a == c, "cache: the same object for the same canonical name");
	mimic_cert_unref(a);
	a = mimic_issue(m, NULL, "n0.example", true, err, sizeof(err));
	ok(a != NULL && a != c, "cache: the untrusted flag is in the key");
	mimic_cert_unref(a);
	mimic_cert_unref(c);
	mimic_free(m);

	m = mimic_new(cert, key, 3 * one + one / 2, err, sizeof(err));
	if (m == NULL)
		die(err, 0);
	held[0] = issue_name(m, "n", 0); /* kept */
	for (i = 1; i < 10; i++)
		mimic_cert_unref(issue_name(m, "n", (unsigned)i));
	ok(mimic_cache_count(m) == 3 &&
	           mimic_cache_bytes(m) <= 3 * one + one / 2,
	   "cache: bounded by size (%zu leaves, %zu bytes)",
	   mimic_cache_count(m), mimic_cache_bytes(m));
	c = issue_name(m, "n", 0);
	ok(c != held[0], "cache: the oldest leaf was evicted");
	{
		gnutls_x509_crt_t leaf =
		        leaf_of(held[0]); /* bails out if bad */
		unsigned char sn[64];
		size_t        snlen = sizeof(sn);

		ok(serial_of(leaf, sn, &snlen) && snlen == 20,
		   "cache: an evicted leaf in use stays alive");
		gnutls_x509_crt_deinit(leaf);
	}
	mimic_cert_unref(c);
	mimic_cert_unref(held[0]);

	/* LRU: touching a keeps it; b, the coldest, goes. */
	a = issue_name(m, "lru-a", 0);
	b = issue_name(m, "lru-b", 0);
	c = issue_name(m, "lru-c", 0);
	mimic_cert_unref(issue_name(m, "lru-a", 0));
	mimic_cert_unref(issue_name(m, "lru-d", 0));
	held[0] = issue_name(m, "lru-a", 0);
	ok(held[0] == a, "cache: a recently used leaf stays");
	mimic_cert_unref(held[0]);
	held[0] = issue_name(m, "lru-b", 0);
	ok(held[0] != b, "cache: the least recently used leaf goes");
	mimic_cert_unref(held[0]);
	mimic_cert_unref(a);
	mimic_cert_unref(b);
	mimic_cert_unref(c);
	mimic_free(m);

	/* No cache at all. */
	m = mimic_new(cert, key, 0, err, sizeof(err));
	if (m == NULL)
		die(err, 0);
	a = issue_name(m, "n", 0);
	b = issue_name(m, "n", 0);
	ok(a != b && mimic_cache_count(m) == 0 && mimic_cache_bytes(m) == 0,
	   "cache: size 0 caches nothing");
	mimic_cert_unref(a);
	mimic_cert_unref(b);
	mimic_free(m);

	/* Many entries: the table grows and still finds them all. */
	m = mimic_new(cert, key, 1 << 30, err, sizeof(err));
	if (m == NULL)
		die(err, 0);
	for (i = 0; i < NELEM(held); i++)
		held[i] = issue_name(m, "many", (unsigned)i);
	for (i = 0, hits = 0; i < NELEM(held); i++) {
		c = issue_name(m, "many", (unsigned)i);
		hits += c == held[i];
		mimic_cert_unref(c);
	}
	ok(hits == NELEM(held) && mimic_cache_count(m) == NELEM(held),
	   "cache: %zu of %zu leaves found again", hits, NELEM(held));
	/* Leaves outlive their context. */
	mimic_free(m);
	{
		gnutls_x509_crt_t leaf = leaf_of(held[5]);
		gnutls_datum_t    data = { (unsigned char *)"x", 1 }, sig;
		gnutls_pubkey_t   pub;
		unsigned          n;
		gnutls_pcert_st  *chain = mimic_cert_chain(held[5], &n);
		int               r;

		r = gnutls_privkey_sign_data(mimic_cert_key(held[5]),
		                             GNUTLS_DIG_SHA256, 0, &data, &sig);
		pub = chain[0].pubkey;
		ok(r >= 0 && n == 2 &&
		           gnutls_pubkey_verify_data2(pub,
		                                      GNUTLS_SIGN_ECDSA_SHA256,
		                                      0, &data, &sig) >= 0 &&
		           verify_with(leaf, ca_crt, 0) == 0,
		   "a leaf and its key outlive their context");
		if (r >= 0)
			gnutls_free(sig.data);
		gnutls_x509_crt_deinit(leaf);
	}
	for (i = 0; i < NELEM(held); i++)
		mimic_cert_unref(held[i]);
}

/* ---- mimic_new() errors ---- */

static void
expect_error(const char *what, const char *cert, const char *key,
             const char *want1, const char *want2)
{
	char          err[ERR_MAX] = "";
	struct mimic *m = mimic_new(cert, key, 1 << 16, err, sizeof(err));

	ok(m == NULL && strstr(err, want1) != NULL &&
	           (want2 == NULL || strstr(err, want2) != NULL),
	   "%s: '%s'", what, err);
	mimic_free(m);
}

static void
test_errors(const char *cert, const char *key, const char *dir2)
{
	char        other_ca_key[4200];
	struct spec leaf_spec = {
		"leaf",    "not-a-ca.example", { "not-a-ca.example" },
		now - DAY, now + DAY,          { NULL }
	};
	struct spec       ca_spec = { "ca",      "no keyCertSign", { NULL },
		                      now - DAY, now + DAY,        { NULL } };
	struct spec       old_spec = { "ca",       "expired CA", { NULL },
		                       1262304000, 1293840000,   { NULL } };
	gnutls_x509_crt_t crt;
	const char       *okey = write_key("plain.key", other_key, NULL);
	const char       *path;

	join_path(other_ca_key, sizeof(other_ca_key), dir2, CA_KEY_FILE);
	expect_error("missing certificate", path_of("missing.crt"), key,
	             "missing.crt: ", "No such file or directory");
	expect_error("missing key", cert, path_of("missing.key"),
	             "missing.key: ", "No such file or directory");
	expect_error("a directory", dir, key, "not a regular file", NULL);
	path = write_file("garbage.crt", "hello\n", 6);
	expect_error("no certificate", path, key,
	             "garbage.crt: ", "no certificate found");
	expect_error("no key", cert, path,
	             "garbage.crt: ", "no private key found");
	expect_error("a certificate for a key", cert, cert,
	             "ca.crt: ", "no private key found");
	expect_error("a key for a certificate", key, key,
	             "ca.key: ", "no certificate found");
	expect_error("key of another CA", cert, other_ca_key,
	             "does not match the certificate in", cert);

	crt = make_crt(&leaf_spec, 1, false, 0);
	path = write_crt("leaf.crt", crt);
	expect_error("not a CA", path, okey, "leaf.crt: ", "not a CA");
	gnutls_x509_crt_deinit(crt);

	crt = make_crt(&ca_spec, 2, true, GNUTLS_KEY_DIGITAL_SIGNATURE);
	path = write_crt("nosign.crt", crt);
	expect_error("CA without keyCertSign", path, okey,
	             "nosign.crt: ", "keyCertSign");
	gnutls_x509_crt_deinit(crt);

	crt = make_crt(&old_spec, 3, true, GNUTLS_KEY_KEY_CERT_SIGN);
	path = write_crt("old.crt", crt);
	expect_error("expired CA", path, okey,
	             "old.crt: ", "expired on 2011-01-01 00:00:00 UTC");
	gnutls_x509_crt_deinit(crt);

	crt = make_crt(&ca_spec, 4, true, 0);
	path = write_crt("ku-less.crt", crt);
	{
		char          err[ERR_MAX] = "";
		struct mimic *m = mimic_new(path, okey, 0, err, sizeof(err));

		ok(m != NULL, "a CA without keyUsage is fine (%s)", err);
		mimic_free(m);
	}
	gnutls_x509_crt_deinit(crt);

	path = write_key("encrypted.key", other_key, "secret");
	expect_error("encrypted key", cert, path,
	             "encrypted.key: ", "encrypted");
}

/* A file with certificate and key together, and a CA chain after it. */
static void
test_bundle(const char *cert, const char *key)
{
	gnutls_datum_t     c, k;
	char               buf[16384];
	const char        *path;
	struct mimic      *m;
	struct mimic_cert *leaf;
	char               err[ERR_MAX] = "";
	unsigned           n = 0;
	struct spec        root = { "root",    "test root", { NULL },
		                    now - DAY, now + DAY,   { NULL } };
	gnutls_x509_crt_t  rootc = make_crt(&root, 5, true, 0);
	gnutls_datum_t     r;

	if (gnutls_load_file(cert, &c) < 0 || gnutls_load_file(key, &k) < 0 ||
	    gnutls_x509_crt_export2(rootc, GNUTLS_X509_FMT_PEM, &r) < 0 ||
	    c.size + k.size + r.size > sizeof(buf))
		die("bundle", 0);
	memcpy(buf, c.data, c.size);
	memcpy(buf + c.size, r.data, r.size);
	memcpy(buf + c.size + r.size, k.data, k.size);
	path = write_file("bundle.pem", buf, c.size + r.size + k.size);
	m = mimic_new(path, NULL, 1 << 16, err, sizeof(err));
	ok(m != NULL, "certificate, chain and key in one file (%s)", err);
	if (m != NULL) {
		leaf = mimic_issue(m, NULL, "bundle.example", false, err,
		                   sizeof(err));
		if (leaf != NULL)
			mimic_cert_chain(leaf, &n);
		ok(n == 3,
		   "the chain sent is the leaf and the file's certificates "
		   "(%u)",
		   n);
		mimic_cert_unref(leaf);
	}
	mimic_free(m);
	gnutls_free(c.data);
	gnutls_memset(k.data, 0, k.size);
	gnutls_free(k.data);
	gnutls_free(r.data);
	gnutls_x509_crt_deinit(rootc);
}

/* ---- a TLS handshake with a leaf, in memory ---- */

static int
retrieve_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
            const gnutls_pk_algorithm_t *algos, int nalgos,
            gnutls_pcert_st **pcert, unsigned *npcert, gnutls_privkey_t *key)
{
	struct mimic_cert *c = gnutls_session_get_ptr(s);

	(void)req_ca_dn;
	(void)nreqs;
	(void)algos;
	(void)nalgos;
	*pcert = mimic_cert_chain(c, npcert);
	*key = mimic_cert_key(c);
	return 0;
}

/* Handshakes a client that trusts ca_file and checks host with a server
 * that serves c; returns the client's result. */
static int
handshake(const char *ca_file, struct mimic_cert *c, const char *host)
{
	gnutls_certificate_credentials_t scred, ccred;
	gnutls_session_t                 srv, cli;
	int sv[2], rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN, i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair", 0);
	if (gnutls_certificate_allocate_credentials(&scred) < 0 ||
	    gnutls_certificate_allocate_credentials(&ccred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(ccred, ca_file,
	                                           GNUTLS_X509_FMT_PEM) != 1 ||
	    gnutls_init(&srv, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_init(&cli, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		die("handshake setup", 0);
	gnutls_certificate_set_retrieve_function2(scred, retrieve_cb);
	gnutls_session_set_ptr(srv, c);
	gnutls_set_default_priority(srv);
	gnutls_set_default_priority(cli);
	gnutls_credentials_set(srv, GNUTLS_CRD_CERTIFICATE, scred);
	gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE, ccred);
	gnutls_server_name_set(cli, GNUTLS_NAME_DNS, host, strlen(host));
	gnutls_session_set_verify_cert(cli, host, 0);
	gnutls_transport_set_int(srv, sv[0]);
	gnutls_transport_set_int(cli, sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	for (i = 0; i < 1000 && (rs == GNUTLS_E_AGAIN || rc == GNUTLS_E_AGAIN);
	     i++) {
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
			rc = gnutls_handshake(cli);
		if (rs == GNUTLS_E_AGAIN || rs == GNUTLS_E_INTERRUPTED)
			rs = gnutls_handshake(srv);
		if (rc < 0 && rc != GNUTLS_E_AGAIN)
			break; /* the server waits for what will never come */
	}
	gnutls_deinit(srv);
	gnutls_deinit(cli);
	gnutls_certificate_free_credentials(scred);
	gnutls_certificate_free_credentials(ccred);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void
test_handshake(struct mimic *m, const char *ca_file)
{
	gnutls_x509_crt_t  origin = make_crt(&origins[0], 1, false, 0);
	char               err[ERR_MAX] = "";
	struct mimic_cert *t, *u;
	int                r;

	t = mimic_issue(m, origin, NULL, false, err, sizeof(err));
	u = mimic_issue(m, origin, NULL, true, err, sizeof(err));
	if (t == NULL || u == NULL)
		die(err, 0);
	r = handshake(ca_file, t, "api.example.com");
	ok(r == 0, "TLS: a client that trusts the CA accepts the leaf (%s)",
	   gnutls_strerror(r));
	r = handshake(ca_file, t, "other.example.com");
	ok(r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR,
	   "TLS: ... but not for a name it does not carry (%s)",
	   gnutls_strerror(r));
	r = handshake(ca_file, u, "api.example.com");
	ok(r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR,
	   "TLS: the untrusted leaf fails verification (%s)",
	   gnutls_strerror(r));
	mimic_cert_unref(t);
	mimic_cert_unref(u);
	gnutls_x509_crt_deinit(origin);
}

int
main(void)
{
	struct ca_created created, created2;
	char              err[ERR_MAX] = "", dir2[4200], key[4200], key2[4200];
	const char       *tmp = getenv("TMPDIR");
	struct mimic     *m;
	int               r;

	now = time(NULL);
	set_times();
	snprintf(dir, sizeof(dir), "%s/bascule-test-mimic-XXXXXX",
	         tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", 0);
	join_path(dir2, sizeof(dir2), dir, "other");
	if (mkdir(dir2, 0700) < 0)
		die("mkdir", 0);
	/* The CA as `bascule --init-ca` makes it, and a second one. */
	if (ca_create(dir, "bascule test CA", &created, err, sizeof(err)) < 0 ||
	    ca_create(dir2, "other test CA", &created2, err, sizeof(err)) < 0)
		die(err, 0);
	join_path(key, sizeof(key), dir, CA_KEY_FILE);
	load_crt(created.cert_path, &ca_crt);
	if ((r = gnutls_privkey_init(&other_key)) < 0 ||
	    (r = gnutls_privkey_generate2(
	             other_key, GNUTLS_PK_ECDSA,
	             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL,
	             0)) < 0)
		die("key", r);

	m = mimic_new(created.cert_path, key, 1 << 20, err, sizeof(err));
	ok(m != NULL, "the CA of bascule --init-ca loads (%s)", err);
	if (m == NULL)
		return tap_done();
	for (size_t i = 0; i < NELEM(origins); i++)
		test_origin(m, &origins[i], (unsigned)i + 1);
	test_nameless_origin(m);
	test_untrusted(m);
	test_determinism(m, created.cert_path, key);
	join_path(key2, sizeof(key2), dir2, CA_KEY_FILE);
	test_untrusted_determinism(created.cert_path, key, created2.cert_path,
	                           key2);
	test_leaf_key(created.cert_path, key, created2.cert_path, key2);
	test_fallback(m);
	test_fallback_capped();
	test_fallback_days(created.cert_path, key);
	test_cache(created.cert_path, key);
	test_errors(created.cert_path, key, dir2);
	test_bundle(created.cert_path, key);
	test_handshake(m, created.cert_path);
	mimic_free(m);

	gnutls_x509_crt_deinit(ca_crt);
	gnutls_privkey_deinit(other_key);
	for (size_t i = 0; i < nfiles; i++)
		unlink(files[i]);
	unlink(created.cert_path);
	unlink(key);
	unlink(created2.cert_path);
	join_path(key, sizeof(key), dir2, CA_KEY_FILE);
	unlink(key);
	rmdir(dir2);
	rmdir(dir);
	return tap_done();
}
