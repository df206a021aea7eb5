#include "config.h"

/*
 * aia_parse: caIssuers URLs in certificates, URLs bascule fetches or
 * refuses, its request, responses whole and in pieces, and the
 * certificates of a body as DER, PEM and PKCS#7, made here with GnuTLS.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509-ext.h>
#include <gnutls/x509.h>

#include "aia_parse.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
die(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, gnutls_strerror(r));
	exit(99);
}

/* ------------------------------------------------------------------ */
/* URLs */

static const struct {
	const char *url;
	const char *host; /* NULL: refused */
	uint16_t    port;
	const char *path;
	bool        v6;
} url_cases[] = {
	{ "http://aia.test/inter.der", "aia.test", 80, "/inter.der", false },
	{ "HTTP://AIA.Test:8080/a?b=c#frag", "aia.test", 8080, "/a?b=c",
	  false },
	{ "http://aia.test", "aia.test", 80, "/", false },
	{ "http://aia.test?x=1", "aia.test", 80, "/?x=1", false },
	{ "http://aia.test:/x", "aia.test", 80, "/x", false },
	{ "http://aia.test.:81/x", "aia.test", 81, "/x", false },
	{ "http://192.0.2.1/ca.crt", "192.0.2.1", 80, "/ca.crt", false },
	{ "http://[2001:DB8::1]:81/c", "2001:db8::1", 81, "/c", true },
	{ "http://xn--bcher-kva.example/c", "xn--bcher-kva.example", 80, "/c",
	  false },
	{ "https://aia.test/inter.der", NULL, 0, NULL, false },
	{ "ldap://ldap.example/cn=CA?cACertificate", NULL, 0, NULL, false },
	{ "ftp://aia.test/x", NULL, 0, NULL, false },
	{ "http:/aia.test/x", NULL, 0, NULL, false },
	{ "http://user@aia.test/x", NULL, 0, NULL, false },
	{ "http:///x", NULL, 0, NULL, false },
	{ "http://:80/x", NULL, 0, NULL, false },
	{ "http://aia.test:0/x", NULL, 0, NULL, false },
	{ "http://aia.test:65536/x", NULL, 0, NULL, false },
	{ "http://aia.test:000080/x", NULL, 0, NULL, false },
	{ "http://aia.test:8a/x", NULL, 0, NULL, false },
	{ "http://[::1/x", NULL, 0, NULL, false },
	{ "http://[aia.test]/x", NULL, 0, NULL, false },
	{ "http://[::1]x/", NULL, 0, NULL, false },
	{ "http://aia..test/x", NULL, 0, NULL, false },
	{ "http://.aia.test/x", NULL, 0, NULL, false },
	{ "http://aia test/x", NULL, 0, NULL, false },
	{ "http://aia.test/a b", NULL, 0, NULL, false },
	{ "http://aia.test/\x7f", NULL, 0, NULL, false },
	{ "http://aia.test/\xc3\xa4", NULL, 0, NULL, false },
	{ "", NULL, 0, NULL, false },
};

static void
test_urls(void)
{
	struct aia_url u;
	char           longurl[AIA_URL_MAX + 16];

	for (size_t i = 0; i < NELEM(url_cases); i++) {
		const char *why = NULL;
		int         r = aia_url_parse(url_cases[i].url, &u, &why);

		if (url_cases[i].host == NULL) {
			ok(r < 0 && why != NULL, "url %zu refused: %s (%s)", i,
			   url_cases[i].url, why ? why : "-");
			continue;
		}
		ok(r == 0 && strcmp(u.host, url_cases[i].host) == 0 &&
		           u.port == url_cases[i].port &&
		           strcmp(u.path, url_cases[i].path) == 0 &&
		           u.is_ipv6 == url_cases[i].v6,
		   "url %zu: %s -> %s %u %s", i, url_cases[i].url,
		   r == 0 ? u.host : why, u.port, r == 0 ? u.path : "");
	}
	memcpy(longurl, "http://aia.test/", 16);
	memset(longurl + 16, 'a', sizeof(longurl) - 17);
	longurl[sizeof(longurl) - 1] = '\0';
	{
		const char *why = NULL;

		ok(aia_url_parse(longurl, &u, &why) < 0, "a URL too long: %s",
		   why ? why : "-");
	}
}

static void
test_request(void)
{
	struct aia_url u;
	const char    *why;
	char           out[2048];
	size_t         n;

	(void)aia_url_parse("http://aia.test/inter.der", &u, &why);
	n = aia_request(&u, "bascule/test", out, sizeof(out));
	ok(n > 0 && n == strlen(out), "request written");
	ok(strncmp(out, "GET /inter.der HTTP/1.1\r\nHost: aia.test\r\n", 41) ==
	           0,
	   "request line and Host without port 80");
	ok(strstr(out, "\r\nConnection: close\r\n") != NULL,
	   "Connection: close");
	ok(strstr(out, "\r\nUser-Agent: bascule/test\r\n") != NULL,
	   "User-Agent");
	ok(n > 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0, "ends the head");
	ok(aia_request(&u, "bascule/test", out, 40) == 0, "too small: 0");
	(void)aia_url_parse("http://[2001:db8::1]:8080/c?d", &u, &why);
	n = aia_request(&u, "bascule/test", out, sizeof(out));
	ok(n > 0 && strstr(out, "GET /c?d HTTP/1.1\r\n") == out &&
	           strstr(out, "\r\nHost: [2001:db8::1]:8080\r\n") != NULL,
	   "IPv6 and a port in Host");
}

/* ------------------------------------------------------------------ */
/* Responses */

static const struct {
	const char *what;
	const char *in;
	bool        eof;
	size_t      bodysz;
	int         want; /* enum parse_result */
	const char *body; /* when PARSE_OK */
	int         status;
} resp_cases[] = {
	{ "Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	  false, 64, PARSE_OK, "abc", 200 },
	{ "bytes after Content-Length are ignored",
	  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", false, 64,
	  PARSE_OK, "ab", 200 },
	{ "Content-Length, incomplete",
	  "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc", false, 64,
	  PARSE_AGAIN, NULL, 200 },
	{ "Content-Length, truncated",
	  "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc", true, 64,
	  PARSE_ERROR, NULL, 200 },
	{ "Content-Length over the limit",
	  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde", false, 4,
	  PARSE_ERROR, NULL, 200 },
	{ "close-delimited, open", "HTTP/1.0 200 OK\r\n\r\nabc", false, 64,
	  PARSE_AGAIN, NULL, 200 },
	{ "close-delimited, closed", "HTTP/1.0 200 OK\r\n\r\nabc", true, 64,
	  PARSE_OK, "abc", 200 },
	{ "close-delimited over the limit", "HTTP/1.0 200 OK\r\n\r\nabcde",
	  false, 4, PARSE_ERROR, NULL, 200 },
	{ "chunked",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
	  false, 64, PARSE_OK, "abcde", 200 },
	{ "chunked with a trailer",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "1\r\na\r\n0\r\nX-T: 1\r\n\r\n",
	  false, 64, PARSE_OK, "a", 200 },
	{ "chunked, truncated",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", true,
	  64, PARSE_ERROR, NULL, 200 },
	{ "chunked over the limit",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	  false, 4, PARSE_ERROR, NULL, 200 },
	{ "chunked, bad size",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
	  64, PARSE_ERROR, NULL, 200 },
	{ "404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false,
	  64, PARSE_ERROR, NULL, 404 },
	{ "a redirect is not followed",
	  "HTTP/1.1 301 Moved\r\nLocation: http://x/\r\n\r\n", false, 64,
	  PARSE_ERROR, NULL, 301 },
	{ "204: no body", "HTTP/1.1 204 No Content\r\n\r\n", false, 64,
	  PARSE_ERROR, NULL, 204 },
	{ "Content-Length and chunked",
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
	  "chunked\r\n\r\n",
	  false, 64, PARSE_ERROR, NULL, 200 },
	{ "two Content-Lengths",
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	  false, 64, PARSE_ERROR, NULL, 200 },
	{ "not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", false, 64, PARSE_ERROR,
	  NULL, 0 },
	{ "HTTP/2 status line", "HTTP/2 200\r\n\r\n", false, 64, PARSE_ERROR,
	  NULL, 0 },
	{ "no head yet", "HTTP/1.1 200 OK\r\nContent-", false, 64, PARSE_AGAIN,
	  NULL, 0 },
	{ "closed in the head", "HTTP/1.1 200 OK\r\nContent-", true, 64,
	  PARSE_ERROR, NULL, 0 },
	{ "closed at once", "", true, 64, PARSE_ERROR, NULL, 0 },
};

static enum parse_result
parse_all(const char *in, size_t len, bool eof, size_t bodysz,
          struct aia_response *r, uint8_t *body)
{
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	return aia_response_parse(r, (const uint8_t *)in, len, eof, body,
	                          bodysz, &why);
}

/* The same bytes one at a time: the same answer. */
static bool
parse_bytewise(const char *in, size_t len, bool eof, size_t bodysz, int want,
               const char *want_body)
{
	struct aia_response r;
	enum parse_result   pr = PARSE_AGAIN;
	uint8_t             body[64];
	const char         *why = NULL;

	memset(&r, 0, sizeof(r));
	for (size_t i = 1; i <= len && pr == PARSE_AGAIN; i++)
		pr = aia_response_parse(&r, (const uint8_t *)in, i,
		                        eof && i == len, body, bodysz, &why);
	if (len == 0)
		pr = aia_response_parse(&r, (const uint8_t *)in, 0, eof, body,
		                        bodysz, &why);
	if ((int)pr != want)
		return false;
	return want != PARSE_OK || (r.body_len == strlen(want_body) &&
	                            memcmp(body, want_body, r.body_len) == 0);
}

static void
test_responses(void)
{
	struct aia_response r;
	uint8_t             body[64];
	char               *big;

	for (size_t i = 0; i < NELEM(resp_cases); i++) {
		const char *in = resp_cases[i].in;
		size_t      len = strlen(in);
		int         pr = parse_all(in, len, resp_cases[i].eof,
		                           resp_cases[i].bodysz, &r, body);
		bool        good = pr == resp_cases[i].want &&
		            r.status == resp_cases[i].status;

		if (good && pr == PARSE_OK)
			good = r.body_len == strlen(resp_cases[i].body) &&
			       memcmp(body, resp_cases[i].body, r.body_len) ==
			               0;
		ok(good, "response: %s (got %d, status %d)", resp_cases[i].what,
		   pr, r.status);
		ok(parse_bytewise(in, len, resp_cases[i].eof,
		                  resp_cases[i].bodysz, resp_cases[i].want,
		                  resp_cases[i].body),
		   "response byte by byte: %s", resp_cases[i].what);
	}
	/* A head that never ends is refused at AIA_HEAD_MAX. */
	big = malloc(AIA_HEAD_MAX + 64);
	if (big == NULL)
		exit(99);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (size_t i = 17; i + 8 <= AIA_HEAD_MAX + 64; i += 8)
		memcpy(big + i, "X-A: b\r\n", 8);
	ok(parse_all(big, AIA_HEAD_MAX + 40, false, 64, &r, body) ==
	           PARSE_ERROR,
	   "a head over AIA_HEAD_MAX");
	free(big);
}

/* ------------------------------------------------------------------ */
/* Certificates */

static gnutls_x509_privkey_t root_key, inter_key, leaf_key;
static gnutls_x509_crt_t     root, inter, inter_b, leaf;

static gnutls_x509_privkey_t
key_new(void)
{
	gnutls_x509_privkey_t k;
	int                   r;

	if ((r = gnutls_x509_privkey_init(&k)) < 0 ||
	    (r = gnutls_x509_privkey_generate(
	             k, GNUTLS_PK_ECDSA,
	             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
		die("key", r);
	return k;
}

/* A certificate for cn with key, signed by issuer (NULL: self-signed). */
static gnutls_x509_crt_t
crt_new(const char *cn, bool ca, gnutls_x509_privkey_t key,
        gnutls_x509_crt_t issuer, gnutls_x509_privkey_t ikey,
        const char *const *uris, size_t nuris)
{
	static unsigned char serial = 1;
	gnutls_x509_crt_t    c;
	time_t               now = time(NULL);
	int                  r;

	serial++;
	if ((r = gnutls_x509_crt_init(&c)) < 0 ||
	    (r = gnutls_x509_crt_set_version(c, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(c, &serial, 1)) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(c, now - 3600)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(c, now + 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME,
	                                       0, cn, strlen(cn))) < 0 ||
	    (r = gnutls_x509_crt_set_key(c, key)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(c, ca, -1)) < 0)
		die("certificate", r);
	if (ca && (r = gnutls_x509_crt_set_key_usage(
	                   c, GNUTLS_KEY_KEY_CERT_SIGN)) < 0)
		die("key usage", r);
	if (nuris > 0) {
		gnutls_x509_aia_t aia;
		gnutls_datum_t    ext;

		if ((r = gnutls_x509_aia_init(&aia)) < 0)
			die("aia", r);
		for (size_t i = 0; i < nuris; i++) {
			/* "ocsp:URL" is an OCSP access, the rest caIssuers */
			bool        ocsp = strncmp(uris[i], "ocsp:", 5) == 0;
			const char *u = ocsp ? uris[i] + 5 : uris[i];
			const gnutls_datum_t d = {
				(unsigned char *)(uintptr_t)u,
				(unsigned)strlen(u)
			};

			if ((r = gnutls_x509_aia_set(
			             aia,
			             ocsp ? GNUTLS_OID_AD_OCSP
			                  : GNUTLS_OID_AD_CAISSUERS,
			             GNUTLS_SAN_URI, &d)) < 0)
				die("aia set", r);
		}
		if ((r = gnutls_x509_ext_export_aia(aia, &ext)) < 0 ||
		    (r = gnutls_x509_crt_set_extension_by_oid(
		             c, GNUTLS_OID_AIA, ext.data, ext.size, 0)) < 0)
			die("aia export", r);
		gnutls_free(ext.data);
		gnutls_x509_aia_deinit(aia);
	}
	if ((r = gnutls_x509_crt_sign2(c, issuer != NULL ? issuer : c,
	                               issuer != NULL ? ikey : key,
	                               GNUTLS_DIG_SHA256, 0)) < 0)
		die("sign", r);
	return c;
}

static gnutls_datum_t
crt_export(gnutls_x509_crt_t c, gnutls_x509_crt_fmt_t fmt)
{
	gnutls_datum_t d;
	int            r;

	if ((r = gnutls_x509_crt_export2(c, fmt, &d)) < 0)
		die("export", r);
	return d;
}

static gnutls_datum_t
pkcs7_export(gnutls_x509_crt_t *crts, size_t n, gnutls_x509_crt_fmt_t fmt)
{
	gnutls_pkcs7_t p7;
	gnutls_datum_t d;
	int            r;

	if ((r = gnutls_pkcs7_init(&p7)) < 0)
		die("pkcs7", r);
	for (size_t i = 0; i < n; i++)
		if ((r = gnutls_pkcs7_set_crt(p7, crts[i])) < 0)
			die("pkcs7 set", r);
	if ((r = gnutls_pkcs7_export2(p7, fmt, &d)) < 0)
		die("pkcs7 export", r);
	gnutls_pkcs7_deinit(p7);
	return d;
}

/* Parses d; true if it gave want certificates, the first equal to first. */
static bool
certs_are(gnutls_datum_t d, unsigned max, int want, gnutls_x509_crt_t first)
{
	gnutls_x509_crt_t out[AIA_CERTS_MAX];
	const char       *why = NULL;
	int               n = aia_certs_parse(d.data, d.size, out, max, &why);
	bool              good = n == want;

	if (n > 0 && first != NULL && !gnutls_x509_crt_equals(out[0], first))
		good = false;
	if (want < 0 && why == NULL)
		good = false;
	for (int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(out[i]);
	return good;
}

static void
test_certs(void)
{
	gnutls_x509_crt_t both[2], two[2];
	gnutls_datum_t    d, pem2;
	static uint8_t    junk[300];

	d = crt_export(inter, GNUTLS_X509_FMT_DER);
	ok(certs_are(d, AIA_CERTS_MAX, 1, inter), "certs: DER");
	ok(certs_are((gnutls_datum_t){ d.data, d.size - 1 }, AIA_CERTS_MAX, -1,
	             NULL),
	   "certs: truncated DER");
	gnutls_free(d.data);
	d = crt_export(inter, GNUTLS_X509_FMT_PEM);
	ok(certs_are(d, AIA_CERTS_MAX, 1, inter), "certs: PEM");
	gnutls_free(d.data);

	both[0] = root;
	both[1] = inter;
	d = pkcs7_export(both, 2, GNUTLS_X509_FMT_DER);
	ok(certs_are(d, AIA_CERTS_MAX, 1, inter),
	   "certs: PKCS#7 DER, the self-signed root left out");
	gnutls_free(d.data);
	d = pkcs7_export(&inter, 1, GNUTLS_X509_FMT_PEM);
	ok(certs_are(d, AIA_CERTS_MAX, 1, inter), "certs: PKCS#7 PEM");
	gnutls_free(d.data);
	d = pkcs7_export(&root, 1, GNUTLS_X509_FMT_DER);
	ok(certs_are(d, AIA_CERTS_MAX, -1, NULL),
	   "certs: a PKCS#7 of a self-signed certificate alone");
	gnutls_free(d.data);

	d = crt_export(root, GNUTLS_X509_FMT_DER);
	ok(certs_are(d, AIA_CERTS_MAX, -1, NULL),
	   "certs: a self-signed certificate alone is refused");
	gnutls_free(d.data);

	two[0] = inter;
	two[1] = inter_b;
	d = pkcs7_export(two, 2, GNUTLS_X509_FMT_DER);
	ok(certs_are(d, AIA_CERTS_MAX, 2, inter), "certs: PKCS#7 of two");
	ok(certs_are(d, 1, 1, inter), "certs: at most max");
	gnutls_free(d.data);
	{
		gnutls_datum_t a = crt_export(inter, GNUTLS_X509_FMT_PEM);
		gnutls_datum_t b = crt_export(inter_b, GNUTLS_X509_FMT_PEM);

		pem2.size = a.size + b.size;
		pem2.data = malloc(pem2.size);
		if (pem2.data == NULL)
			exit(99);
		memcpy(pem2.data, a.data, a.size);
		memcpy(pem2.data + a.size, b.data, b.size);
		ok(certs_are(pem2, AIA_CERTS_MAX, 2, inter),
		   "certs: a PEM bundle of two");
		free(pem2.data);
		gnutls_free(a.data);
		gnutls_free(b.data);
	}

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	ok(certs_are((gnutls_datum_t){ junk, sizeof(junk) }, AIA_CERTS_MAX, -1,
	             NULL),
	   "certs: junk");
	ok(certs_are((gnutls_datum_t){ (unsigned char *)"hello\n", 6 },
	             AIA_CERTS_MAX, -1, NULL),
	   "certs: a text page");
	ok(certs_are((gnutls_datum_t){ (unsigned char *)"-----BEGIN X", 12 },
	             AIA_CERTS_MAX, -1, NULL),
	   "certs: broken PEM");
	ok(certs_are((gnutls_datum_t){ junk, 0 }, AIA_CERTS_MAX, -1, NULL),
	   "certs: empty");
}

static void
test_crt_url(void)
{
	static const char *const http_second[] = {
		"ocsp:http://ocsp.test/", "ldap://ldap.test/cn=CA",
		"http://aia.test/ca.der", "http://aia.test/other.der"
	};
	static const char *const ldap_only[] = { "ldap://ldap.test/cn=CA" };
	static const char *const ocsp_only[] = { "ocsp:http://ocsp.test/" };
	gnutls_x509_crt_t        c;
	char                     url[AIA_URL_MAX];

	c = crt_new("a", false, leaf_key, inter, inter_key, http_second, 4);
	ok(aia_crt_issuer_url(c, url, sizeof(url)) &&
	           strcmp(url, "http://aia.test/ca.der") == 0,
	   "url: the first http caIssuers (%s)", url);
	ok(!aia_crt_issuer_url(c, url, 10) && url[0] == '\0',
	   "url: none that fits");
	gnutls_x509_crt_deinit(c);
	c = crt_new("b", false, leaf_key, inter, inter_key, ldap_only, 1);
	ok(aia_crt_issuer_url(c, url, sizeof(url)) &&
	           strcmp(url, "ldap://ldap.test/cn=CA") == 0,
	   "url: else the first of any scheme");
	gnutls_x509_crt_deinit(c);
	c = crt_new("c", false, leaf_key, inter, inter_key, ocsp_only, 1);
	ok(!aia_crt_issuer_url(c, url, sizeof(url)), "url: OCSP is not one");
	gnutls_x509_crt_deinit(c);
	ok(!aia_crt_issuer_url(leaf, url, sizeof(url)) && url[0] == '\0',
	   "url: no extension");
}

int
main(void)
{
	test_urls();
	test_request();
	test_responses();

	root_key = key_new();
	inter_key = key_new();
	leaf_key = key_new();
	root = crt_new("Test Root", true, root_key, NULL, NULL, NULL, 0);
	inter = crt_new("Test Inter", true, inter_key, root, root_key, NULL, 0);
	inter_b = crt_new("Test Inter B", true, inter_key, root, root_key, NULL,
	                  0);
	leaf = crt_new("leaf.test", false, leaf_key, inter, inter_key, NULL, 0);
	test_certs();
	test_crt_url();

	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(inter_b);
	gnutls_x509_crt_deinit(inter);
	gnutls_x509_crt_deinit(root);
	gnutls_x509_privkey_deinit(leaf_key);
	gnutls_x509_privkey_deinit(inter_key);
	gnutls_x509_privkey_deinit(root_key);
	return tap_done();
}
