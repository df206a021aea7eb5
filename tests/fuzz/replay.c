/*
 * replay: runs a fuzz target over a corpus without libFuzzer, so that
 * "make check" replays every corpus file under the sanitizers.
 *
 *	replay_http_parse tests/fuzz/http_parse.in [FILE...]
 *
 * Each argument is a file, or a directory whose regular files are all run
 * (not recursively).  Exits 1 if one cannot be read; a failing check in the
 * target aborts.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of path into a new buffer; NULL with errno set on failure. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	FILE    *f;
	uint8_t *p = NULL, *bigger;
	size_t   cap = 0, n;
	int      saved;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	do {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((bigger = realloc(p, cap)) == NULL)
				goto fail;
			p = bigger;
		}
		n = fread(p + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f)) {
		errno = EIO;
		goto fail;
	}
	fclose(f);
	return p;
fail:
	saved = errno;
	free(p);
	fclose(f);
	errno = saved;
	return NULL;
}

static int
replay_file(const char *path, unsigned *count)
{
	uint8_t *p;
	size_t   len;

	if ((p = replay_read(path, &len)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	(*count)++;
	return 0;
}

/* Every regular file in dir, in name order so runs repeat exactly. */
static int
replay_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	struct stat     st;
	char            path[4096];
	int             i, n, ret = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "%s/%s", dir,
		                   names[i]->d_name);

		if (len < 0 || (size_t)len >= sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: name too long\n", dir,
			        names[i]->d_name);
			ret = -1;
		} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		           replay_file(path, count) < 0) {
			ret = -1;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	struct stat st;
	unsigned    count = 0;
	int         i, status = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				status = 1;
		} else if (replay_file(argv[i], &count) < 0) {
			status = 1;
		}
	}
	printf("replay: %u inputs\n", count);
	return status;
}
