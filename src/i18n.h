/*
 * i18n: gettext for what people read: --help, command-line and
 * configuration diagnostics, and the daemon's messages to its admin
 * (start, stop, reload, fatal errors).  Never for the access log, per-
 * connection log lines or anything else that scripts parse.  Error pages
 * for clients are errpage's: they follow the client's language, not ours.
 */
#ifndef BASCULE_I18N_H
#define BASCULE_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext(s)
#else
#define _(s)                 (s)
#define ngettext(s, p, n)    ((n) == 1 ? (s) : (p))
#endif
#define N_(s) (s)

#endif
