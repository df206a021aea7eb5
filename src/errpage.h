/*
 * errpage: the HTML body of bascule's own error responses, one template
 * per language, the language chosen by the request's Accept-Language
 * (RFC 9110 12.5.4).  Templates are compiled in: nothing a client sends
 * makes bascule open a file.
 */
#ifndef BASCULE_ERRPAGE_H
#define BASCULE_ERRPAGE_H

#include <stddef.h>

struct errpage_lang;

/* English: the page when nothing better matches. */
const struct errpage_lang *errpage_default(void);

/* The language's tag for Content-Language, such as "de". */
const char *errpage_tag(const struct errpage_lang *l);

/* The status line's reason phrase in this language, for the page title. */
const char *errpage_title(const struct errpage_lang *l, int status);

/*
 * Accept-Language negotiation over one or more field lines of a request.
 * Zero-initialise, feed every Accept-Language field value in order, then
 * pick.  Malformed list members are ignored, not fatal: the answer is an
 * error page, and a page in the default language is always acceptable.
 */
#define ERRPAGE_MAX_LANGS 4

struct errpage_nego {
	unsigned short q[ERRPAGE_MAX_LANGS];   /* weight * 1000 */
	unsigned short spec[ERRPAGE_MAX_LANGS]; /* 0 none, 1 "*", 2 a tag */
	unsigned       pos[ERRPAGE_MAX_LANGS];  /* list member that set q */
	unsigned       members;
};

void errpage_nego_feed(struct errpage_nego *n, const char *value, size_t len);

/* The acceptable language with the highest weight (the earliest listed on
 * a tie), or the default when none is. */
const struct errpage_lang *errpage_nego_pick(const struct errpage_nego *n);

/*
 * Writes the page for status and error code into out (NUL-terminated).
 * reason, url and host are plain text and are HTML-escaped here.  Returns
 * the length, or -1 if outsz is too small.
 */
int errpage_render(const struct errpage_lang *l, char *out, size_t outsz,
                   int status, const char *code, const char *reason,
                   const char *url, const char *host);

#endif
