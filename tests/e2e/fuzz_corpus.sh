#!/bin/sh
# Replays the fuzz corpora through the parsers (built without libFuzzer).
. "${srcdir:-.}/e2e/lib.sh"
parsers="
aia_response
auth_parse
http_parse
proxy_proto
tls_peek
"
for parser in $parsers; do
	replay="${top_builddir:-$top_srcdir}/tests/fuzz/replay_$parser"
	[ -x "$replay" ] || skip "replay_$parser not built"
	check "$parser corpus" "$replay" "$srcdir/fuzz/$parser.in"
done
finish
