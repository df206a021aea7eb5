/*
 * errpage: localised error pages.  A language is a template and the few
 * sentences that go into it; adding one is adding a table entry here and
 * its tag to the documentation.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errpage.h"
#include "http_proxy.h"

struct errpage_text {
	const char *key; /* an error code, or a status as "403" */
	const char *text;
};

struct errpage_lang {
	const char                *tag;
	const char                *page;
	const char                *fallback; /* explanation of an unknown code */
	const struct errpage_text *explain;  /* by error code, NULL-terminated */
	const struct errpage_text *titles;   /* by status; NULL: English */
};

/*
 * Template escapes: %s status, %t title, %e explanation, %r reason,
 * %u URL, %c error code, %h host name, %v version, %l language tag, %%.
 */
static const char page_en[] =
        "<!DOCTYPE html>\n<html lang=\"%l\"><head><meta charset=\"utf-8\">"
        "<title>%s %t</title></head>\n<body>\n<h1>%s %t</h1>\n<p>%e</p>\n"
        "<p>Reason: %r</p>\n<p>URL: <code>%u</code></p>\n"
        "<p>Error code: <code>%c</code></p>\n<hr>\n"
        "<address>bascule/%v on %h</address>\n</body></html>\n";

static const struct errpage_text explain_en[] = {
	{ "ERR_ACCESS_DENIED", "The access rules of this proxy do not allow "
	                       "the request." },
	{ "ERR_CACHE_ACCESS_DENIED", "This proxy forwards the request only "
	                             "for a user who logs in with a name and "
	                             "password that it accepts." },
	{ "ERR_CONNECT_FAIL", "The proxy could not connect to the server." },
	{ "ERR_DNS_FAIL", "The proxy could not resolve the name of the "
	                  "server." },
	{ "ERR_INVALID_REQ", "The request is malformed." },
	{ "ERR_INVALID_URL", "The URL is malformed or not supported." },
	{ "ERR_TOO_BIG", "The header of the request is too large." },
	{ "ERR_INVALID_RESP", "The server sent a response that the proxy "
	                      "cannot forward." },
	{ "ERR_READ_ERROR", "The connection to the server failed before "
	                    "its response was complete." },
	{ "ERR_READ_TIMEOUT", "The server did not answer in time." },
	{ "ERR_REQUEST_TIMEOUT", "The request did not arrive in time." },
	{ "ERR_CONFLICT_HOST", "The site named in the request is not where "
	                       "the connection was going." },
	{ "ERR_PROTOCOL_UNKNOWN", "The proxy expected TLS in this tunnel and "
	                          "received something else." },
	{ NULL, NULL },
};

static const char page_de[] =
        "<!DOCTYPE html>\n<html lang=\"%l\"><head><meta charset=\"utf-8\">"
        "<title>%s %t</title></head>\n<body>\n<h1>%s %t</h1>\n<p>%e</p>\n"
        "<p>Grund: %r</p>\n<p>URL: <code>%u</code></p>\n"
        "<p>Fehlercode: <code>%c</code></p>\n<hr>\n"
        "<address>bascule/%v auf %h</address>\n</body></html>\n";

static const struct errpage_text explain_de[] = {
	{ "ERR_ACCESS_DENIED", "Die Zugriffsregeln dieses Proxys erlauben "
	                       "die Anfrage nicht." },
	{ "ERR_CACHE_ACCESS_DENIED", "Dieser Proxy leitet die Anfrage nur "
	                             "für Benutzer weiter, die sich mit einem "
	                             "Namen und Passwort anmelden, die er "
	                             "annimmt." },
	{ "ERR_CONNECT_FAIL", "Der Proxy konnte keine Verbindung zum Server "
	                      "aufbauen." },
	{ "ERR_DNS_FAIL", "Der Proxy konnte den Namen des Servers nicht "
	                  "auflösen." },
	{ "ERR_INVALID_REQ", "Die Anfrage ist fehlerhaft." },
	{ "ERR_INVALID_URL", "Die URL ist fehlerhaft oder wird nicht "
	                     "unterstützt." },
	{ "ERR_TOO_BIG", "Der Kopf der Anfrage ist zu groß." },
	{ "ERR_INVALID_RESP", "Der Server hat eine Antwort gesendet, die der "
	                      "Proxy nicht weitergeben kann." },
	{ "ERR_READ_ERROR", "Die Verbindung zum Server ist abgebrochen, bevor "
	                    "seine Antwort vollständig war." },
	{ "ERR_READ_TIMEOUT", "Der Server hat nicht rechtzeitig geantwortet." },
	{ "ERR_REQUEST_TIMEOUT", "Die Anfrage ist nicht rechtzeitig "
	                         "eingetroffen." },
	{ "ERR_CONFLICT_HOST", "Die in der Anfrage genannte Website ist nicht "
	                       "das Ziel der Verbindung." },
	{ "ERR_PROTOCOL_UNKNOWN", "Der Proxy hat in diesem Tunnel TLS "
	                          "erwartet und etwas anderes erhalten." },
	{ NULL, NULL },
};

static const struct errpage_text titles_de[] = {
	{ "400", "Ungültige Anfrage" },
	{ "403", "Zugriff verweigert" },
	{ "407", "Proxy-Authentifizierung erforderlich" },
	{ "408", "Zeitüberschreitung der Anfrage" },
	{ "409", "Konflikt" },
	{ "431", "Anfragekopf zu groß" },
	{ "502", "Fehlerhaftes Gateway" },
	{ "503", "Dienst nicht verfügbar" },
	{ "504", "Zeitüberschreitung des Gateways" },
	{ NULL, NULL },
};

/* The first is the default. */
static const struct errpage_lang langs[] = {
	{ "en", page_en, "The proxy could not complete the request.",
	  explain_en, NULL },
	{ "de", page_de, "Der Proxy konnte die Anfrage nicht ausführen.",
	  explain_de, titles_de },
};

#define NLANGS (sizeof(langs) / sizeof(langs[0]))

_Static_assert(NLANGS <= ERRPAGE_MAX_LANGS, "raise ERRPAGE_MAX_LANGS");

const struct errpage_lang *
errpage_default(void)
{
	return &langs[0];
}

const char *
errpage_tag(const struct errpage_lang *l)
{
	return l->tag;
}

static const char *
lookup(const struct errpage_text *t, const char *key)
{
	for (; t != NULL && t->key != NULL; t++)
		if (strcmp(t->key, key) == 0)
			return t->text;
	return NULL;
}

const char *
errpage_title(const struct errpage_lang *l, int status)
{
	char        key[12];
	const char *s;

	snprintf(key, sizeof(key), "%d", status);
	s = lookup(l->titles, key);
	return s != NULL ? s : http_status_text(status);
}

/* ------------------------------------------------------------------ */
/* Accept-Language (RFC 9110 12.5.4, 12.4.2; RFC 4647 2.1, 3.4) */

static bool
is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths; -1 if malformed.
 */
static int
parse_qvalue(const char *p, size_t len)
{
	int    q, scale = 100;
	size_t i;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (len == 1)
		return q;
	if (p[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++, scale /= 10) {
		if (!is_digit(p[i]))
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q <= 1000 ? q : -1;
}

/*
 * One list member: language-range [ OWS ";" OWS "q=" qvalue ].  Sets the
 * primary subtag (or "*") and the weight; false if malformed.
 */
static bool
parse_member(const char *p, size_t len, const char **tag, size_t *taglen,
             int *q)
{
	size_t i = 0, sub;

	*q = 1000;
	if (len > 0 && p[0] == '*') {
		i = 1;
	} else {
		/* 1*8ALPHA *("-" 1*8alphanum) */
		for (sub = 0; i < len && is_alpha(p[i]) && sub < 8; i++, sub++)
			;
		if (sub == 0)
			return false;
		*taglen = i;
		while (i < len && p[i] == '-') {
			for (i++, sub = 0; i < len && sub < 8 &&
			                   (is_alpha(p[i]) || is_digit(p[i]));
			     i++, sub++)
				;
			if (sub == 0)
				return false;
		}
	}
	*tag = p;
	if (p[0] == '*')
		*taglen = 1;
	while (i < len && is_ows(p[i]))
		i++;
	if (i == len)
		return true;
	if (p[i++] != ';')
		return false;
	while (i < len && is_ows(p[i]))
		i++;
	if (len - i < 2 || (p[i] != 'q' && p[i] != 'Q') || p[i + 1] != '=')
		return false;
	*q = parse_qvalue(p + i + 2, len - i - 2);
	return *q >= 0;
}

static bool
tag_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char ch = a[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != b[i])
			return false;
	}
	return true;
}

static void
nego_member(struct errpage_nego *n, const char *p, size_t len)
{
	const char *tag = NULL;
	size_t      taglen = 0;
	int         q;

	if (!parse_member(p, len, &tag, &taglen, &q))
		return;
	n->members++;
	for (size_t i = 0; i < NLANGS; i++) {
		unsigned short spec;

		if (taglen == 1 && tag[0] == '*')
			spec = 1;
		else if (tag_eq(tag, taglen, langs[i].tag))
			spec = 2;
		else
			continue;
		/* The most specific range decides; among equals, the first. */
		if (spec > n->spec[i]) {
			n->spec[i] = spec;
			n->q[i] = (unsigned short)q;
			n->pos[i] = n->members;
		}
	}
}

void
errpage_nego_feed(struct errpage_nego *n, const char *value, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t a, b;

		if (i < len && value[i] != ',')
			continue;
		for (a = start; a < i && is_ows(value[a]); a++)
			;
		for (b = i; b > a && is_ows(value[b - 1]); b--)
			;
		if (b > a) /* empty list members are allowed and skipped */
			nego_member(n, value + a, b - a);
		start = i + 1;
	}
}

const struct errpage_lang *
errpage_nego_pick(const struct errpage_nego *n)
{
	size_t best = NLANGS;

	for (size_t i = 0; i < NLANGS; i++) {
		if (n->spec[i] == 0 || n->q[i] == 0)
			continue;
		if (best == NLANGS || n->q[i] > n->q[best] ||
		    (n->q[i] == n->q[best] && n->pos[i] < n->pos[best]))
			best = i;
	}
	return best < NLANGS ? &langs[best] : errpage_default();
}

/* ------------------------------------------------------------------ */
/* Rendering */

struct out {
	char  *p;
	size_t len, cap;
	bool   full;
};

static void
out_raw(struct out *o, const char *s, size_t len)
{
	if (o->full || len >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, len);
	o->len += len;
}

/* s HTML-escaped, at most max bytes of it, "..." when cut. */
static void
out_escaped(struct out *o, const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (i == max) {
			out_raw(o, "...", 3);
			return;
		}
		switch (s[i]) {
		case '<': out_raw(o, "&lt;", 4); break;
		case '>': out_raw(o, "&gt;", 4); break;
		case '&': out_raw(o, "&amp;", 5); break;
		case '"': out_raw(o, "&quot;", 6); break;
		case '\'': out_raw(o, "&#39;", 5); break;
		default: out_raw(o, s + i, 1); break;
		}
	}
}

int
errpage_render(const struct errpage_lang *l, char *out, size_t outsz,
               int status, const char *code, const char *reason,
               const char *url, const char *host)
{
	struct out  o = { out, 0, outsz, outsz == 0 };
	const char *explain = lookup(l->explain, code);
	char        num[12];

	snprintf(num, sizeof(num), "%d", status);
	for (const char *t = l->page; *t != '\0'; t++) {
		if (*t != '%') {
			out_raw(&o, t, 1);
			continue;
		}
		if (*++t == '\0')
			break;
		switch (*t) {
		case 's': out_raw(&o, num, strlen(num)); break;
		case 't': out_escaped(&o, errpage_title(l, status), 200); break;
		case 'e':
			out_escaped(&o, explain ? explain : l->fallback, 400);
			break;
		case 'r': out_escaped(&o, reason ? reason : "-", 400); break;
		case 'u': out_escaped(&o, url ? url : "-", 200); break;
		case 'c': out_escaped(&o, code, 64); break;
		case 'h': out_escaped(&o, host ? host : "-", 255); break;
		case 'v': out_raw(&o, PACKAGE_VERSION, strlen(PACKAGE_VERSION)); break;
		case 'l': out_raw(&o, l->tag, strlen(l->tag)); break;
		default: out_raw(&o, "%", 1); break; /* "%%" */
		}
	}
	if (o.full)
		return -1;
	out[o.len] = '\0';
	return (int)o.len;
}
