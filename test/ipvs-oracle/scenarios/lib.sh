# lib.sh — helpers of the govs kernel scenarios (sourced after /lib/oracle.sh).
# Every check prints "ok WHAT" or "FAIL WHAT" (plus what differed); finish exits 1 when
# any check failed.
FAILS=0
GOVS=/extra/govs
SOCK=/tmp/govs.sock
ok() { echo "ok $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS+1)); }
finish() { echo "== $FAILS failed"; [ $FAILS -eq 0 ]; }
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { echo "$2 $1" | awk '{printf "%.2f", $1-$2}'; }

# same WHAT FILE1 FILE2: the files are identical (else the diff)
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else fail "$1"; diff -u "$2" "$3" | head -40; fi
}
# stable_table: wait (up to ~10 s) until ipvsadm -S -n gives the same non-empty
# output three times 200 ms apart; leave it in /tmp/stable
stable_table() {
	_prev=; _same=0; _k=0
	while [ $_k -lt 50 ]; do
		ipvsadm -S -n > /tmp/stable.now 2>&1
		if [ -s /tmp/stable.now ] && [ "$(cat /tmp/stable.now)" = "$_prev" ]; then
			_same=$((_same+1)); [ $_same -ge 2 ] && break
		else
			_same=0
		fi
		_prev=$(cat /tmp/stable.now)
		_k=$((_k+1)); usleep 200000
	done
	cp /tmp/stable.now /tmp/stable
}
# wait_for CMD...: run CMD every 50 ms until it succeeds (up to ~15 s)
wait_for() {
	_k=0
	until "$@" >/dev/null 2>&1; do
		_k=$((_k+1)); [ $_k -gt 300 ] && return 1
		usleep 50000
	done
}
start_ka() { # start_ka CONF: keepalived -C (checkers + IPVS only)
	keepalived -C -n -l -D -f "$1" -p /tmp/ka.pid -c /tmp/ka-c.pid -r /tmp/ka-v.pid > /tmp/ka.log 2>&1 &
	KA=$!
}
stop_ka() { kill $KA 2>/dev/null; wait $KA 2>/dev/null; }
start_govs() { # start_govs CONF [ARGS...]
	_c=$1; shift
	$GOVS run -C -f "$_c" --dataplane ipvs --socket $SOCK "$@" >> /tmp/govs.log 2>&1 &
	GV=$!
}
stop_govs() { kill -${1:-TERM} $GV 2>/dev/null; wait $GV 2>/dev/null; }
adm() { $GOVS adm --socket $SOCK "$@"; }
