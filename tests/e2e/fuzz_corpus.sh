#!/bin/sh
# Replays the fuzz corpora through the parsers (built without libFuzzer).
. "${srcdir:-.}/e2e/lib.sh"
replay="${top_builddir:-$top_srcdir}/tests/fuzz/replay_http_parse"
[ -x "$replay" ] || skip "replay_http_parse not built"
check "http_parse corpus" "$replay" "$srcdir/fuzz/http_parse.in"
finish
