/*
 * hostname: canonical host names for comparison (the only user of libidn2).
 *
 * A canonical name is lower case, in A-labels (punycode), with no trailing
 * dot: "Bücher.Example." becomes "xn--bcher-kva.example".  IP literals are
 * canonicalised too ("[2001:DB8::1]" becomes "2001:db8::1").
 */
#ifndef BASCULE_HOSTNAME_H
#define BASCULE_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTNAME_MAX 255 /* RFC 1035 2.3.4, text form without the dot */

/*
 * Writes the canonical form of in[0..len) to out (NUL-terminated, at most
 * outsz bytes).  Accepts an optional leading '.' (kept, for dstdomain
 * patterns).  Returns 0, or -1 with *why set when the name is not a valid
 * host name (empty label, bad IDNA, characters outside LDH and '_', too long).
 */
int hostname_canonical(const char *in, size_t len, char *out, size_t outsz,
                       const char **why);

/* True when s (canonical) is an IPv4 or IPv6 literal without brackets. */
bool hostname_is_ip(const char *s);

/*
 * dstdomain semantics: pattern ".example.com" matches "example.com" and
 * every name below it; "example.com" matches only itself.  Both canonical.
 */
bool hostname_matches(const char *pattern, const char *name);

#endif
