#!/bin/sh
# The command line: --help and --version, -k parse with FILE:LINE errors,
# bad options, and the shipped configuration.
. "${srcdir:-.}/e2e/lib.sh"

"$BASCULE" --help >"$T/help"
check "--help exits 0" [ $? -eq 0 ]
for o in -N --foreground -f --config -k --signal --test-config -d --debug -v --version -h --help; do
	check "--help lists $o" grep -q -- "$o\b" "$T/help"
done
check "--version" sh -c "'$BASCULE' --version | grep -q '^bascule [0-9]'"
"$BASCULE" --no-such-option >/dev/null 2>&1
check "unknown option exits 2" [ $? -eq 2 ]
"$BASCULE" -d 12 >/dev/null 2>&1
check "bad -d exits 2" [ $? -eq 2 ]

check "shipped configuration parses" "$BASCULE" -k parse -f "$top_srcdir/conf/bascule.conf"
out=$("$BASCULE" -k parse -f "$top_srcdir/conf/bascule.conf" 2>&1)
check "shipped configuration has no warnings" [ -z "$out" ]

cat >"$T/bad.conf" <<EOF
http_port 127.0.0.1:3999
# a comment
connect_timeout forever
acl x src 300.1.2.3
http_access allow undefined_acl
frobnicate yes
EOF
"$BASCULE" -k parse -f "$T/bad.conf" 2>"$T/bad.out"
check "bad configuration exits 1" [ $? -eq 1 ]
check "error on line 3" grep -q "^$T/bad.conf:3: " "$T/bad.out"
check "error on line 4" grep -q "^$T/bad.conf:4: " "$T/bad.out"
check "error on line 5" grep -q "^$T/bad.conf:5: " "$T/bad.out"
check "error on line 6" grep -q "^$T/bad.conf:6: .*frobnicate" "$T/bad.out"
"$BASCULE" --test-config -f "$T/bad.conf" 2>/dev/null
check "--test-config is -k parse" [ $? -eq 1 ]

printf 'http_port 127.0.0.1:3999\ncache_dir ufs /var/spool/squid 100 16 256\n' >"$T/warn.conf"
"$BASCULE" -k parse -f "$T/warn.conf" 2>"$T/warn.out"
check "ignored Squid directive parses" [ $? -eq 0 ]
check "ignored Squid directive warns" grep -q "$T/warn.conf:2: .*cache_dir" "$T/warn.out"

"$BASCULE" -k parse -f "$T/missing.conf" 2>"$T/missing.out"
check "missing file exits 1" [ $? -eq 1 ]
check "missing file named" grep -q "missing.conf" "$T/missing.out"

"$BASCULE" -k frobnicate -f "$T/warn.conf" 2>/dev/null
check "unknown -k action exits 2" [ $? -eq 2 ]
printf 'http_port 127.0.0.1:3999\npid_filename %s/none.pid\n' "$T" >"$T/nopid.conf"
"$BASCULE" -k check -f "$T/nopid.conf" 2>/dev/null
check "-k check without a daemon exits 1" [ $? -eq 1 ]
finish
