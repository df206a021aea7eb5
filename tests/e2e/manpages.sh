#!/bin/sh
# The man pages document every directive and every flag, and lint clean.
. "${srcdir:-.}/e2e/lib.sh"
need mandoc
man8="$top_srcdir/man/bascule.8"
man5="$top_srcdir/man/bascule.conf.5"

out=$(mandoc -Tlint -W warning "$man8" "$man5" 2>&1)
check "mandoc -Tlint is clean" [ -z "$out" ]

mandoc -Tascii "$man8" | col -b >"$T/bascule.8.txt"
for o in $("$BASCULE" --help | grep -Eo -- '--[a-z-]+' | sort -u); do
	check "bascule(8) documents $o" grep -q -- "$o" "$T/bascule.8.txt"
done
for o in $("$BASCULE" --help | grep -Eo -- '(^| )-[A-Za-z]\b' | tr -d ' ' | sort -u); do
	check "bascule(8) documents $o" grep -q -- "$o" "$T/bascule.8.txt"
done

finish
