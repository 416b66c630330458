# Programming benchmark, govs against keepalived in the same guest: time from start to
# a complete kernel table of N virtual services x M real servers (no checkers), with
# ipvsadm -R of the same rules as the floor; then each daemon's no-change and one-weight
# reloads (their time, and govs's netlink change requests). Starts run
# ROUNDS times (default 4), keepalived and govs interleaved. Under TCG absolute times
# are inflated: compare within one run.
. /lib/oracle.sh
. /extra/lib.sh
N=${N:-1000}; M=${M:-10}
gen() { # gen WEIGHT-OF-THE-FIRST-REAL-SERVER
	awk -v n=$N -v m=$M -v w1=$1 'BEGIN{
	  print "global_defs { router_id b }" > "/tmp/big.conf";
	  for(i=0;i<n;i++){ a=int(i/250); b=i%250+1;
	    printf "virtual_server 192.168.%d.%d 80 {\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n", 100+a, b > "/tmp/big.conf";
	    printf "-A -t 192.168.%d.%d:80 -s wlc\n", 100+a, b > "/tmp/big.rules";
	    for(j=1;j<=m;j++){ w=1; if(i==0&&j==1) w=w1;
	      printf "  real_server 10.%d.%d.%d 80 { weight %d }\n", a, b, j, w > "/tmp/big.conf";
	      printf "-a -t 192.168.%d.%d:80 -r 10.%d.%d.%d:80 -m -w 1\n", 100+a, b, a, b, j > "/tmp/big.rules"; }
	    print "}" > "/tmp/big.conf" } }'
}
gen 1
want=$((N*M))
ROUNDS=${ROUNDS:-4}
# Every run gets a network namespace of its own, so a fresh IPVS: a flushed table keeps
# its destinations in the kernel's trash for minutes, and every later add walks that
# list, which would charge one daemon for the one before it. Namespaces stay (flushed)
# until the guest ends: tearing one down would run IPVS's cleanup beside the next run.
NSN=0
fresh() { NSN=$((NSN+1)); NS=bench$NSN; ip netns add $NS; ip -n $NS link set lo up; }
in_ns() { /sbin/ip netns exec $NS "$@"; }
# settle: flush the run's table and give the kernel two seconds to free it (RCU),
# which would otherwise run beside the next run
settle() { in_ns ipvsadm -C; sleep 2; }
# dests PID: destinations in the table of PID's namespace, from /proc (one read; listing
# them with ipvsadm every poll would take the single vCPU from the daemon measured)
dests() { grep -c '^  -> [0-9A-F]' /proc/$1/net/ip_vs; }
wait_dests() { # wait_dests PID: until the table is complete (at most 2 minutes)
	_k=0
	while [ "$(dests $1)" -lt $want ]; do
		_k=$((_k+1)); [ $_k -gt 1200 ] && { fail "table incomplete after 2 minutes: $(dests $1) destinations"; return 1; }
		usleep 100000
	done
}
# wait_applied: until govs has logged its first Apply (the kernel can be complete a
# moment before)
wait_applied() { wait_for grep -q 'ipvs table applied' /tmp/govs.log; }
bench_ka() { # bench_ka ROUND
	fresh
	t0=$(now)
	/sbin/ip netns exec $NS keepalived -C -n -l -D -f /tmp/big.conf -p /tmp/ka.pid -c /tmp/ka-c.pid -r /tmp/ka-v.pid > /tmp/ka.log 2>&1 &
	KA=$!
	wait_dests $KA; t1=$(now)
	echo "BENCH keepalived-start seconds=$(elapsed $t0 $t1) round=$1"
	stop_ka; settle
}
bench_govs() { # bench_govs ROUND
	fresh
	: > /tmp/govs.log
	t0=$(now)
	/sbin/ip netns exec $NS $GOVS run -C -f /tmp/big.conf --dataplane ipvs --socket $SOCK >> /tmp/govs.log 2>&1 &
	GV=$!
	wait_dests $GV; t1=$(now)
	wait_applied
	echo "BENCH govs-start seconds=$(elapsed $t0 $t1) round=$1 $(grep 'ipvs table applied' /tmp/govs.log | tail -1 | grep -o 'changes=[0-9]* .*took=[^ ]*')"
	stop_govs KILL; settle
}
fresh
t0=$(now); in_ns ipvsadm -R < /tmp/big.rules; t1=$(now)
echo "BENCH ipvsadm-R seconds=$(elapsed $t0 $t1) dests=$(in_ns ipvsadm -L -n | grep -c '^  -> [0-9]')"
settle
# start to a complete table, keepalived and govs interleaved (ka govs, govs ka, ...)
# so that a change in the host's load hits both alike
r=1
while [ $r -le $ROUNDS ]; do
	if [ $((r % 2)) = 1 ]; then bench_ka $r; bench_govs $r; else bench_govs $r; bench_ka $r; fi
	r=$((r+1))
done
# Reloads: each daemon, started on the same table in a fresh namespace and given a
# second to settle, reloads RELOADS times (default 3) with no change, then RELOADS times
# with the first real server's weight changed (7, 1, 7, ...), so a first reload and the
# ones after it can be told apart. RSS is the daemon's resident memory afterwards.
RELOADS=${RELOADS:-3}
weight_for() { [ $(($1 % 2)) = 1 ] && echo 7 || echo 1; } # weight_for I
reloads() { # reloads DAEMON RELOAD-FUNCTION
	_i=1
	while [ $_i -le $RELOADS ]; do $2 nochange $_i; _i=$((_i+1)); done
	_i=1
	while [ $_i -le $RELOADS ]; do gen $(weight_for $_i); $2 oneweight $_i; _i=$((_i+1)); done
}
rss() { awk '/^VmRSS/ {print $2 "kB"}' /proc/$1/status; } # rss PID
want_weight() { echo "-r 10.0.1.1:80 -m -w $(weight_for $RELOADS)"; }
fresh
/sbin/ip netns exec $NS keepalived -C -n -l -D -f /tmp/big.conf -p /tmp/ka.pid -c /tmp/ka-c.pid -r /tmp/ka-v.pid > /tmp/ka.log 2>&1 &
KA=$!
wait_dests $KA
sleep 1
ka_reloads() { grep -c 'Reload finished\|Reload complete' /tmp/ka.log; }
reload_ka() { # reload_ka NAME ROUND: SIGHUP to keepalived's log line saying it reloaded
	_n=$(ka_reloads); t0=$(now); kill -HUP $KA
	wait_for sh -c "[ \$(grep -c 'Reload finished\\|Reload complete' /tmp/ka.log) -gt $_n ]"
	t1=$(now)
	echo "BENCH keepalived-reload-$1 seconds=$(elapsed $t0 $t1) round=$2 dests=$(dests $KA)"
}
reloads keepalived reload_ka
# keepalived's log line can come a moment before its checker process edits the kernel
wait_for sh -c "/sbin/ip netns exec $NS ipvsadm -S -n | grep -q -- '$(want_weight)'" &&
	ok "keepalived's one-weight reloads reached the kernel" || fail "keepalived's one-weight reloads reached the kernel"
echo "keepalived RSS: $(rss $KA) (parent) $(rss $(cat /tmp/ka-c.pid)) (checker)"
gen 1
stop_ka; in_ns ipvsadm -C
fresh
: > /tmp/govs.log
/sbin/ip netns exec $NS $GOVS run -C -f /tmp/big.conf --dataplane ipvs --socket $SOCK >> /tmp/govs.log 2>&1 &
GV=$!
wait_dests $GV
wait_applied
sleep 1
applies() { grep -c 'ipvs table applied' /tmp/govs.log; }
reload_govs() { # reload_govs NAME ROUND: SIGHUP to govs's log line saying it applied the table
	_n=$(applies); t0=$(now); kill -HUP $GV
	wait_for sh -c "[ \$(grep -c 'ipvs table applied' /tmp/govs.log) -gt $_n ]"
	t1=$(now)
	echo "BENCH govs-reload-$1 seconds=$(elapsed $t0 $t1) round=$2 $(grep 'ipvs table applied' /tmp/govs.log | tail -1 | grep -o 'changes=[0-9]* .*took=[^ ]*')"
}
reloads govs reload_govs
in_ns ipvsadm -S -n | grep -q -- "$(want_weight)" && ok "govs's one-weight reloads reached the kernel" || fail "govs's one-weight reloads reached the kernel"
echo "govs RSS: $(rss $GV)"
stop_govs KILL
in_ns ipvsadm -C
finish
