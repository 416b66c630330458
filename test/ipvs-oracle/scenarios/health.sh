# Health transitions through the kernel, govs against keepalived on the same config:
# a dead real server leaves the table (or gets weight 0 with inhibit_on_failure) within
# keepalived's bound and comes back on recovery; connections to the others are untouched.
. /lib/oracle.sh
. /extra/lib.sh
topo 3
# Checker timing: delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1: a
# failure is noticed within delay_loop + (retry+1) x connect_timeout + retry x delay.
cat > /tmp/h.conf <<CONF
virtual_server $VIP 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 { weight 1
        TCP_CHECK { connect_timeout 1 retry 1 delay_before_retry 1 }
    }
    real_server 10.0.0.2 80 { weight 1
        TCP_CHECK { connect_timeout 1 retry 1 delay_before_retry 1 }
    }
    real_server 10.0.0.3 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK { connect_timeout 1 retry 1 delay_before_retry 1 }
    }
}
CONF
BOUND=5
kill_rs() { for p in $(ip netns pids r$1); do kill $p; done; }
revive_rs() { ip netns exec r$1 probe serve rs$1 tcp:80 tcp:443 tcp:8080 udp:53 > /tmp/ready.r$1 2>&1 & usleep 200000; }
has() { ipvsadm -S -n | grep -q -- "$1"; }
hasnt() { ! ipvsadm -S -n | grep -q -- "$1"; }
for who in keepalived govs; do
	ipvsadm -C
	if [ $who = keepalived ]; then start_ka /tmp/h.conf; else start_govs /tmp/h.conf; fi
	wait_for has "10.0.0.3:80 -m -w 2" || fail "$who: table at start"
	sleep 2
	hold H $VIP:80 - - - > /tmp/hold.out # rr: one on each real server
	t0=$(now); kill_rs 2; kill_rs 3
	wait_for hasnt "10.0.0.2:80"; t1=$(now)
	wait_for has "10.0.0.3:80 -m -w 0"; t2=$(now)
	d1=$(elapsed $t0 $t1); d2=$(elapsed $t0 $t2)
	echo "## $who: rs2 removed after $d1 s, rs3 inhibited (weight 0) after $d2 s"
	awk -v a=$d1 -v b=$d2 -v m=$BOUND 'BEGIN{exit !(a<=m && b<=m)}' && ok "$who: failures applied within $BOUND s" || fail "$who: failures applied within $BOUND s ($d1, $d2)"
	stable_table; cp /tmp/stable /tmp/down.$who
	conns | grep ESTABLISHED | grep -q 10.0.0.1:80 && ok "$who: the connection to rs1 is untouched" || { fail "$who: the connection to rs1 is untouched"; conns; }
	t0=$(now); revive_rs 2; revive_rs 3
	wait_for has "10.0.0.2:80"; wait_for has "10.0.0.3:80 -m -w 2"; t1=$(now)
	echo "## $who: rs2 and rs3 back after $(elapsed $t0 $t1) s"
	picks tcp $VIP:80 - - - - > /tmp/picks.$who
	grep -q rs2 /tmp/picks.$who && ok "$who: rs2 takes connections again" || fail "$who: rs2 takes connections again"
	release H
	conns | grep -q "TIME_WAIT.*10.0.0.1:80" && ok "$who: the held connection closed gracefully" || fail "$who: the held connection closed gracefully"
	if [ $who = keepalived ]; then stop_ka; else stop_govs; fi
done
same "after the failures: same table as keepalived" /tmp/down.keepalived /tmp/down.govs
cat /tmp/down.govs
finish
