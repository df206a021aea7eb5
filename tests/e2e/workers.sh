#!/bin/sh
# workers N: a master and N workers sharing the ports; a dead worker is
# restarted; privileges are dropped after binding.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
workers 2
http_access allow localhost
EOF
O="http://127.0.0.1:$ORIGIN_PORT"

children() {
	for s in /proc/[0-9]*/stat; do
		awk -v p="$BASCULE_PID" '$4 == p { print $1 }' "$s" 2>/dev/null
	done
}
count_children() { [ "$(children | wc -l)" -eq "$1" ]; }

check "two workers" wait_for count_children 2
n=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(proxy_curl "$O/hello")" = hello ] && n=$((n + 1))
done
check "ten requests served ($n)" [ "$n" -eq 10 ]

if [ "$(id -u)" = 0 ]; then
	w=$(children | head -n 1)
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$w/status")
	check "worker dropped root privileges (uid $uid)" [ "$uid" != 0 ]
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$BASCULE_PID/status")
	check "master dropped root privileges (uid $uid)" [ "$uid" != 0 ]
fi

w=$(children | head -n 1)
kill -INT "$w"
sleep 0.5
check "a supervised worker leaves SIGINT to the master" kill -0 "$w"

victim=$(children | head -n 1)
kill -9 "$victim"
check "death logged" errlog_has "killed by signal 9: restarting"
check "worker replaced" wait_for sh -c "[ \$(for s in /proc/[0-9]*/stat; do awk -v p=$BASCULE_PID '\$4 == p { print \$1 }' \$s 2>/dev/null; done | grep -vx $victim | wc -l) -eq 2 ]"
check "still serving" [ "$(proxy_curl "$O/hello")" = hello ]

kill -TERM "$BASCULE_PID"
check "master and workers exit on SIGTERM" wait_for sh -c "! kill -0 $BASCULE_PID 2>/dev/null"
finish
