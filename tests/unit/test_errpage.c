/* errpage: Accept-Language negotiation and the rendered pages. */
#include "config.h"

#include <string.h>

#include "errpage.h"
#include "tap.h"

/* The tag picked for one Accept-Language value. */
static const char *
pick(const char *value)
{
	struct errpage_nego n;

	memset(&n, 0, sizeof(n));
	errpage_nego_feed(&n, value, strlen(value));
	return errpage_tag(errpage_nego_pick(&n));
}

static void
test_negotiation(void)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "de", "de" },
		{ "DE", "de" },
		{ "de-DE", "de" },
		{ "de-CH-1996", "de" },
		{ "en", "en" },
		{ "fr", "en" },
		{ "", "en" },
		{ "*", "en" },
		{ "fr, de;q=0.5", "de" },
		{ "de;q=0.5, en;q=0.8", "en" },
		{ "en;q=0.5, de;q=0.8", "de" },
		{ "de, en", "de" },
		{ "en, de", "en" },
		{ "de;q=0.7, en;q=0.7", "de" },
		{ "en;q=0.7, de;q=0.7", "en" },
		{ "de;q=0", "en" },
		{ "*;q=0.5, en;q=0", "de" },
		{ "en;q=0, de;q=0", "en" },
		{ "de-AT;q=0.9, de;q=0.1, en;q=0.5", "de" },
		{ "  de  ;  q=1.000 ", "de" },
		{ "de;Q=0.9", "de" },
		{ ",,, de ,", "de" },
		{ "de;q=1.5", "en" },
		{ "de;q=0.1234", "en" },
		{ "de;q=.5", "en" },
		{ "de;q=", "en" },
		{ "de;level=1", "en" },
		{ "deutsch-x", "en" },
		{ "abcdefghi", "en" },
		{ "de-", "en" },
		{ "de--DE", "en" },
		{ "de-123456789", "en" },
		{ "d\xc3\xa9", "en" },
		{ "*-de", "en" },
		{ "de;q=0.5;q=0.9", "en" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = pick(cases[i].value);

		ok(strcmp(got, cases[i].want) == 0, "Accept-Language \"%s\": %s",
		   cases[i].value, got);
	}
}

static void
test_two_fields(void)
{
	struct errpage_nego n;

	memset(&n, 0, sizeof(n));
	errpage_nego_feed(&n, "en;q=0.2", 8);
	errpage_nego_feed(&n, "de;q=0.9", 8);
	ok(strcmp(errpage_tag(errpage_nego_pick(&n)), "de") == 0,
	   "two field lines form one list");
}

static void
test_render(void)
{
	const struct errpage_lang *en = errpage_default(), *de;
	struct errpage_nego        n;
	char                       out[4096];
	int                        len;

	memset(&n, 0, sizeof(n));
	errpage_nego_feed(&n, "de", 2);
	de = errpage_nego_pick(&n);

	len = errpage_render(en, out, sizeof(out), 403, "ERR_ACCESS_DENIED",
	                     "denied by \"rule\" <1>", "http://x/?a=1&b=2",
	                     "proxy");
	ok(len > 0 && (size_t)len == strlen(out), "English page renders");
	ok(strstr(out, "<html lang=\"en\">") != NULL, "lang attribute en");
	ok(strstr(out, "<title>403 Forbidden</title>") != NULL, "English title");
	ok(strstr(out, "access rules of this proxy") != NULL,
	   "English explanation of the code");
	ok(strstr(out, "denied by &quot;rule&quot; &lt;1&gt;") != NULL,
	   "reason escaped");
	ok(strstr(out, "http://x/?a=1&amp;b=2") != NULL, "URL escaped");
	ok(strstr(out, "bascule/" PACKAGE_VERSION " on proxy") != NULL,
	   "version and host");

	len = errpage_render(de, out, sizeof(out), 504, "ERR_READ_TIMEOUT",
	                     "timeout", NULL, "proxy");
	ok(len > 0, "German page renders");
	ok(strstr(out, "<html lang=\"de\">") != NULL, "lang attribute de");
	ok(strstr(out, "Zeitüberschreitung des Gateways") != NULL,
	   "German title");
	ok(strstr(out, "nicht rechtzeitig geantwortet") != NULL,
	   "German explanation");
	ok(strstr(out, "Fehlercode: <code>ERR_READ_TIMEOUT</code>") != NULL,
	   "German labels");
	ok(strstr(out, "URL: <code>-</code>") != NULL, "no URL: a dash");

	len = errpage_render(en, out, sizeof(out), 407,
	                     "ERR_CACHE_ACCESS_DENIED", "log in", NULL, "h");
	ok(len > 0 &&
	           strstr(out, "<title>407 Proxy Authentication Required") !=
	                   NULL &&
	           strstr(out, "logs in with a name and password") != NULL,
	   "407: English title and explanation");
	len = errpage_render(de, out, sizeof(out), 407,
	                     "ERR_CACHE_ACCESS_DENIED", "log in", NULL, "h");
	ok(len > 0 &&
	           strstr(out, "Proxy-Authentifizierung erforderlich") !=
	                   NULL &&
	           strstr(out, "mit einem Namen und Passwort anmelden") != NULL,
	   "407: German title and explanation");

	len = errpage_render(de, out, sizeof(out), 418, "ERR_NEW", "r", "u",
	                     "h");
	ok(len > 0 && strstr(out, "418 Unknown") != NULL &&
	           strstr(out, "konnte die Anfrage nicht") != NULL,
	   "unknown status and code fall back");

	ok(errpage_render(en, out, 100, 403, "ERR_ACCESS_DENIED", "r", "u",
	                  "h") < 0,
	   "too small a buffer fails");
	ok(errpage_render(en, out, 0, 403, "ERR_ACCESS_DENIED", "r", "u",
	                  "h") < 0,
	   "an empty buffer fails");
}

int
main(void)
{
	test_negotiation();
	test_two_fields();
	test_render();
	return tap_done();
}
