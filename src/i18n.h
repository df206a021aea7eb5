/*
 * i18n: gettext for what people read (--help, command-line and
 * configuration diagnostics), never for log lines or the access log.
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
