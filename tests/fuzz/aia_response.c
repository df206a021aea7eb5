/*
 * Fuzz target for aia_parse: the input is what a caIssuers URL answered.
 * Parsed whole and in two pieces, the answer must be the same, the body
 * within its bound; a complete body goes through aia_certs_parse() (DER,
 * PEM and PKCS#7 through GnuTLS), whose certificates must be CAs' that are
 * not self-issued.  The input as a URL must parse to a sane one or not at
 * all.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "aia_parse.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 4096 /* smaller than AIA_BODY_MAX: the limit is reached */

static enum parse_result
parse(const uint8_t *p, size_t len, size_t split, struct aia_response *r,
      uint8_t *body)
{
	enum parse_result pr;
	const char       *why = NULL;

	memset(r, 0, sizeof(*r));
	pr = aia_response_parse(r, p, split, false, body, BODY_MAX, &why);
	CHECK(pr != PARSE_ERROR || why != NULL);
	if (pr == PARSE_AGAIN)
		pr = aia_response_parse(r, p, len, false, body, BODY_MAX, &why);
	if (pr == PARSE_AGAIN)
		pr = aia_response_parse(r, p, len, true, body, BODY_MAX, &why);
	CHECK(pr != PARSE_AGAIN); /* eof decides */
	CHECK(pr != PARSE_ERROR || why != NULL);
	CHECK(r->body_len <= BODY_MAX);
	if (pr == PARSE_OK)
		CHECK(r->status == 200);
	return pr;
}

static void
check_url(const uint8_t *data, size_t size)
{
	char           url[AIA_URL_MAX + 1];
	struct aia_url u;
	const char    *why = NULL;
	size_t         n = size < AIA_URL_MAX ? size : AIA_URL_MAX;

	memcpy(url, data, n);
	url[n] = '\0';
	if (aia_url_parse(url, &u, &why) < 0) {
		CHECK(why != NULL);
		return;
	}
	CHECK(u.port != 0 && u.host[0] != '\0' && u.path[0] == '/');
	CHECK(strlen(u.host) <= HOSTNAME_MAX);
	CHECK(strlen(u.path) < sizeof(u.path));
	{
		char req[AIA_URL_MAX + 512];

		CHECK(aia_request(&u, "bascule/fuzz", req, sizeof(req)) > 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t      body1[BODY_MAX], body2[BODY_MAX];
	struct aia_response r1, r2;
	enum parse_result   p1, p2;
	size_t              split;

	split = size > 0 ? (size_t)data[0] * size / 256 : 0;
	p1 = parse(data, size, size, &r1, body1);
	p2 = parse(data, size, split, &r2, body2);
	CHECK(p1 == p2);
	CHECK(r1.status == r2.status);
	if (p1 == PARSE_OK) {
		gnutls_x509_crt_t crts[AIA_CERTS_MAX];
		const char       *why = NULL;
		int               n;

		CHECK(r1.body_len == r2.body_len);
		CHECK(memcmp(body1, body2, r1.body_len) == 0);
		n = aia_certs_parse(body1, r1.body_len, crts, AIA_CERTS_MAX,
		                    &why);
		CHECK(n != 0 && n <= AIA_CERTS_MAX);
		CHECK(n > 0 || why != NULL);
		for (int i = 0; i < n; i++) {
			CHECK(!gnutls_x509_crt_check_issuer(crts[i], crts[i]));
			gnutls_x509_crt_deinit(crts[i]);
		}
	}
	check_url(data, size);
	return 0;
}
