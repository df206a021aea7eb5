#include "config.h"

/*
 * hostname: canonical host names, the only user of libidn2.
 *
 * Canonical means what two parties that name the same host would both
 * produce: lower case, A-labels (punycode), no trailing dot, IP literals in
 * inet_ntop() form without brackets.  ACLs store canonical patterns and
 * compare canonical names with plain string operations.
 */

#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "i18n.h"

/* RFC 1035 2.3.4: 63 octets per label, 253 characters of text in all. */
#define LABEL_MAX     63
#define NAME_MAX_TEXT 253

/* Longest input we look at: a U-label name may be far longer than its
 * A-label form, but not without bound. */
#define INPUT_MAX 1024

static bool
is_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/*
 * Letters, digits, '-' and '_' in labels of 1..63, 253 in all.  '_' is not
 * LDH but appears in real names (_dmarc, SRV owners, some CDN hosts).  A
 * hyphen at the start or end of a label is tolerated: such names exist and
 * resolve, and refusing them would only make an ACL fail to match.
 */
static int
check_ldh(const char *s, const char **why)
{
	size_t total = strlen(s);
	size_t label = 0;

	if (total == 0) {
		*why = N_("empty host name");
		return -1;
	}
	if (total > NAME_MAX_TEXT) {
		*why = N_("host name longer than 253 characters");
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '.') {
			if (label == 0) {
				*why = N_("empty label in host name");
				return -1;
			}
			label = 0;
			continue;
		}
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= '0' && ch <= '9') &&
		    ch != '-' && ch != '_') {
			*why = N_("invalid character in host name");
			return -1;
		}
		if (++label > LABEL_MAX) {
			*why = N_("label longer than 63 characters in host name");
			return -1;
		}
	}
	if (label == 0) {
		*why = N_("empty label in host name");
		return -1;
	}
	return 0;
}

/* Appends s[0..len) to out at *pos; -1 when it does not fit. */
static int
append(char *out, size_t outsz, size_t *pos, const char *s, size_t len)
{
	if (len >= outsz - *pos)
		return -1;
	memcpy(out + *pos, s, len);
	*pos += len;
	out[*pos] = '\0';
	return 0;
}

/*
 * UTS #46 non-transitional processing first (what browsers send: "faß.de"
 * stays distinct from "fass.de"); transitional processing only for names
 * the former refuses (symbols such as emoji), so they get some A-label form
 * rather than none.  Returns a malloc'd string or NULL with *why set.
 */
static char *
idna_to_ascii(const char *s, const char **why)
{
	char *ace = NULL;
	int   rc;

	rc = idn2_to_ascii_8z(s, &ace, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc == IDN2_OK)
		return ace;
	ace = NULL;
	if (idn2_to_ascii_8z(s, &ace, IDN2_TRANSITIONAL | IDN2_NFC_INPUT) ==
	    IDN2_OK)
		return ace;
	*why = idn2_strerror(rc);
	return NULL;
}

/*
 * Converts a name containing non-ASCII characters.  The whole name goes to
 * libidn2 first, so that ideographic full stops are mapped to dots.  When
 * that fails, each label is tried alone: an ASCII label that IDNA2008 finds
 * fault with ("foo-", "_srv", a bad "xn--" label) is still a name the DNS
 * can hold, and we only need a stable form to compare.
 */
static int
canonical_idna(const char *name, char *out, size_t outsz, size_t *pos,
               const char **why)
{
	const char *label, *dot;
	char       *ace;
	char        one[INPUT_MAX + 1];

	ace = idna_to_ascii(name, why);
	if (ace != NULL) {
		int rc = append(out, outsz, pos, ace, strlen(ace));

		free(ace);
		if (rc < 0)
			*why = N_("host name too long");
		return rc;
	}
	for (label = name;; label = dot + 1) {
		size_t len;

		dot = strchr(label, '.');
		len = dot != NULL ? (size_t)(dot - label) : strlen(label);
		if (label != name && append(out, outsz, pos, ".", 1) < 0)
			goto too_long;
		if (is_ascii(label, len)) {
			if (append(out, outsz, pos, label, len) < 0)
				goto too_long;
		} else {
			/* len <= strlen(name) <= INPUT_MAX */
			memcpy(one, label, len);
			one[len] = '\0';
			ace = idna_to_ascii(one, why);
			if (ace == NULL)
				return -1;
			if (append(out, outsz, pos, ace, strlen(ace)) < 0) {
				free(ace);
				goto too_long;
			}
			free(ace);
		}
		if (dot == NULL)
			return 0;
	}
too_long:
	*why = N_("host name too long");
	return -1;
}

/* IP literal in name (brackets allowed only around IPv6): canonical text. */
static int
canonical_ip(const char *name, char *out, size_t outsz, bool *is_ip)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char          inner[INET6_ADDRSTRLEN + 1];
	char          text[INET6_ADDRSTRLEN];
	size_t        len = strlen(name);
	int           family;

	*is_ip = false;
	if (name[0] == '[') {
		if (len < 3 || name[len - 1] != ']' || len - 2 >= sizeof(inner))
			return 0; /* not a literal: check_ldh() refuses '[' */
		memcpy(inner, name + 1, len - 2);
		inner[len - 2] = '\0';
		if (inet_pton(AF_INET6, inner, addr) != 1)
			return 0;
		family = AF_INET6;
	} else if (inet_pton(AF_INET, name, addr) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, name, addr) == 1) {
		family = AF_INET6;
	} else {
		return 0;
	}
	*is_ip = true;
	if (inet_ntop(family, addr, text, sizeof(text)) == NULL)
		return -1;
	if (strlen(text) >= outsz)
		return -1;
	memcpy(out, text, strlen(text) + 1);
	return 0;
}

int
hostname_canonical(const char *in, size_t len, char *out, size_t outsz,
                   const char **why)
{
	char   name[INPUT_MAX + 1];
	size_t pos = 0;
	size_t i;
	bool   dotted = false;
	bool   is_ip;

	if (outsz == 0) {
		*why = N_("no room for the host name");
		return -1;
	}
	out[0] = '\0';
	if (len > INPUT_MAX) {
		*why = N_("host name too long");
		return -1;
	}
	if (memchr(in, '\0', len) != NULL) {
		*why = N_("NUL byte in host name");
		return -1;
	}
	memcpy(name, in, len);
	name[len] = '\0';

	/* A leading dot is a dstdomain pattern: keep it, canonicalise the rest
	 */
	if (name[0] == '.') {
		dotted = true;
		memmove(name, name + 1, len); /* includes the NUL */
		len--;
		if (append(out, outsz, &pos, ".", 1) < 0) {
			*why = N_("host name too long");
			return -1;
		}
	}
	/* Fully-qualified "example.com." names the same host as "example.com"
	 */
	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0) {
		*why = N_("empty host name");
		return -1;
	}

	if (!dotted) {
		if (canonical_ip(name, out, outsz, &is_ip) < 0) {
			*why = N_("host name too long");
			return -1;
		}
		if (is_ip)
			return 0;
	}

	if (is_ascii(name, len)) {
		if (append(out, outsz, &pos, name, len) < 0) {
			*why = N_("host name too long");
			return -1;
		}
	} else if (canonical_idna(name, out, outsz, &pos, why) < 0) {
		return -1;
	}

	/* libidn2 lowercases what it maps; the per-label fallback does not */
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z') /* not tolower(): locale */
			out[i] = (char)(out[i] - 'A' + 'a');
	if (check_ldh(out + (dotted ? 1 : 0), why) < 0)
		return -1;
	return 0;
}

bool
hostname_is_ip(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 ||
	       inet_pton(AF_INET6, s, addr) == 1;
}

bool
hostname_matches(const char *pattern, const char *name)
{
	size_t plen, nlen;

	if (pattern[0] != '.')
		return strcmp(pattern, name) == 0;
	/* ".example.com": "example.com" itself, or "*.example.com" */
	if (strcmp(pattern + 1, name) == 0)
		return true;
	plen = strlen(pattern);
	nlen = strlen(name);
	return nlen > plen && strcmp(name + nlen - plen, pattern) == 0;
}
