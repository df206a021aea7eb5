/* Unit tests for buf: bounded, compacting, never growing. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct buf *b = buf_new(8);
	uint8_t    *p;
	size_t      room;

	ok(b != NULL && buf_len(b) == 0, "new buffer is empty");
	ok(buf_append(b, "abcdef", 6) == 0 && buf_len(b) == 6, "append 6");
	ok(buf_append(b, "ghi", 3) < 0 && buf_len(b) == 6,
	   "append past capacity fails whole");
	buf_consume(b, 4);
	ok(buf_len(b) == 2 && memcmp(buf_data(b), "ef", 2) == 0, "consume 4");
	ok(buf_append(b, "ghijkl", 6) == 0 && buf_len(b) == 8,
	   "append compacts to fit");
	ok(memcmp(buf_data(b), "efghijkl", 8) == 0, "bytes kept in order");
	ok(buf_is_full(b), "full");
	p = buf_space(b, &room);
	ok(room == 0, "no room when full");
	buf_consume(b, 8);
	ok(buf_len(b) == 0 && !buf_is_full(b), "consumed all");
	p = buf_space(b, &room);
	ok(room == 8, "all room back after draining");
	memcpy(p, "xy", 2);
	buf_commit(b, 2);
	ok(buf_len(b) == 2 && memcmp(buf_data(b), "xy", 2) == 0, "commit");
	buf_consume(b, 1);
	p = buf_space(b, &room);
	ok(room == 6, "space at the tail without compaction");
	buf_commit(b, 6);
	p = buf_space(b, &room);
	ok(room == 1 && buf_len(b) == 7, "compaction when the tail is used up");
	buf_reset(b);
	ok(buf_len(b) == 0, "reset");
	buf_free(b);
	buf_free(NULL);
	ok(1, "buf_free(NULL)");
	return tap_done();
}
