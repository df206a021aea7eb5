/*
 * Every directive bascule knows is documented in bascule.conf(5): the ones
 * it implements as ".It Ic NAME" entries, the ignored Squid ones at least
 * as ".Ic NAME" in their list.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "tap.h"

int
main(void)
{
	const char *srcdir = getenv("srcdir");
	char        path[4096], line[1024];
	char       *text = NULL;
	size_t      len = 0;
	FILE       *f;

	snprintf(path, sizeof(path), "%s/../man/bascule.conf.5",
	         srcdir != NULL ? srcdir : ".");
	f = fopen(path, "r");
	ok(f != NULL, "open %s", path);
	if (f == NULL)
		return tap_done();
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		char  *grown = realloc(text, len + n + 1);

		if (grown == NULL)
			break;
		text = grown;
		memcpy(text + len, line, n + 1);
		len += n;
	}
	fclose(f);
	for (size_t i = 0; conf_directive_name(i) != NULL; i++) {
		const char *name = conf_directive_name(i);
		char        item[256], bare[256], mention[256];

		snprintf(item, sizeof(item), "\n.It Ic %s ", name);
		snprintf(bare, sizeof(bare), "\n.It Ic %s\n", name);
		snprintf(mention, sizeof(mention), "\n.Ic %s ", name);
		ok(text != NULL &&
		           (strstr(text, item) != NULL || strstr(text, bare) != NULL ||
		            strstr(text, mention) != NULL),
		   "bascule.conf(5) documents %s", name);
	}
	free(text);
	return tap_done();
}
