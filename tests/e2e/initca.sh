#!/bin/sh
# --init-ca: a new signing CA with a private key, never replacing one, never
# writing through a planted link.
. "${srcdir:-.}/e2e/lib.sh"
need certtool

d="$T/ca"
mkdir "$d"
"$BASCULE" --init-ca --ca-dir "$d" >"$T/out" 2>"$T/err"
check "--init-ca exits 0" [ $? -eq 0 ]
check "key mode 0600" [ "$(stat -c %a "$d/ca.key")" = 600 ]
check "certificate mode 0644" [ "$(stat -c %a "$d/ca.crt")" = 644 ]
check "prints the certificate path" grep -q "$d/ca.crt" "$T/out"
fp=$(certtool -i --infile "$d/ca.crt" 2>/dev/null |
	sed -n '/Fingerprint:/,/Public Key ID:/s/^[[:space:]]*sha256:\([0-9a-f]*\)$/\1/p' |
	tr a-f A-F)
fp=$(echo "$fp" | sed 's/../&:/g; s/:$//')
check "prints the SHA-256 fingerprint" sh -c "[ \${#1} -eq 95 ] && grep -q \"\$1\" '$T/out'" - "$fp"
check "nothing on stderr" [ ! -s "$T/err" ]
check "key is not printed" sh -c "! grep -q PRIVATE '$T/out'"

certtool -i --infile "$d/ca.crt" >"$T/info" 2>&1
check "a CA certificate" grep -q "Certificate Authority (CA): TRUE" "$T/info"
check "signs certificates only" sh -c "grep -A2 'Key Usage (critical)' '$T/info' | grep -q 'Certificate signing'"
check "ECDSA P-256" grep -q "SECP256R1" "$T/info"
check "self-signature verifies" sh -c "certtool --verify --load-ca-certificate '$d/ca.crt' --infile '$d/ca.crt' >/dev/null 2>&1"
kid=$(certtool -k --infile "$d/ca.key" 2>/dev/null | grep -oE 'sha256:[0-9a-f]{64}' | head -n 1)
check "key and certificate match" sh -c '[ -n "$1" ] && grep -q "^[[:space:]]*$1\$" "$2"' - "$kid" "$T/info"

sum=$(cat "$d/ca.key" "$d/ca.crt" | md5sum)
"$BASCULE" --init-ca --ca-dir "$d" >/dev/null 2>"$T/err2"
check "second --init-ca exits 1" [ $? -eq 1 ]
check "says it exists" grep -q "already exists" "$T/err2"
check "existing CA unchanged" [ "$(cat "$d/ca.key" "$d/ca.crt" | md5sum)" = "$sum" ]

mkdir "$T/half"
echo admin >"$T/half/ca.crt"
"$BASCULE" --init-ca --ca-dir "$T/half" >/dev/null 2>&1
check "a lone certificate is refused" [ $? -eq 1 ]
check "and kept" [ "$(cat "$T/half/ca.crt")" = admin ]
check "and no key is written" [ ! -e "$T/half/ca.key" ]

mkdir "$T/link"
ln -s "$T/victim" "$T/link/ca.key"
"$BASCULE" --init-ca --ca-dir "$T/link" >/dev/null 2>&1
check "planted link refused" [ $? -eq 1 ]
check "nothing written through it" [ ! -e "$T/victim" ]

"$BASCULE" --init-ca --ca-dir "$T/nonexistent" >/dev/null 2>"$T/err3"
check "missing directory exits 1" [ $? -eq 1 ]
check "missing directory named" grep -q "nonexistent" "$T/err3"
check "missing directory leaves nothing" [ ! -e "$T/nonexistent" ]

"$BASCULE" --ca-dir "$d" >/dev/null 2>&1
check "--ca-dir alone exits 2" [ $? -eq 2 ]
finish
