# Connection sync between two directors, each a namespace running `govs run` (IPVS and
# its sync daemon are per namespace; with SPLIT, sync-split.sh, `govs run -P` and
# `govs run -C` apart): govs VRRP decides the master, which holds the
# gateway addresses the client and the real server use (one instance per side, in a
# sync group, as keepalived's NAT setups have it); lvs_sync_daemon names VI_1, so the master runs the kernel's master sync daemon and the other the backup
# one. A connection made through the master shows in the backup's table; after the
# master dies (govs killed, its links down) the backup takes over and the established
# connection keeps carrying data through it.
. /lib/oracle.sh
. /extra/lib.sh
for n in lan back c d1 d2 r1; do ip netns add $n; ip -n $n link set lo up; done
for n in lan back; do ip -n $n link add br0 type bridge; ip -n $n link set br0 up; done
plug() { # plug BRIDGE-NS HOST-NS IFACE ADDR
	ip -n $1 link add p$2$3 type veth peer name $3 netns $2
	ip -n $1 link set p$2$3 master br0 up
	ip -n $2 addr add $4 dev $3
	ip -n $2 link set $3 up
}
plug lan c eth0 172.16.0.2/24
plug lan d1 eth0 172.16.0.11/24
plug lan d2 eth0 172.16.0.12/24
plug back r1 eth0 10.0.0.1/24
plug back d1 eth1 10.0.0.11/24
plug back d2 eth1 10.0.0.12/24
ip -n c route add default via 172.16.0.1
ip -n r1 route add default via 10.0.0.254
# the sync daemons' own link
ip link add sync0 netns d1 type veth peer name sync0 netns d2
ip -n d1 addr add 10.9.0.1/24 dev sync0; ip -n d1 link set sync0 up
ip -n d2 addr add 10.9.0.2/24 dev sync0; ip -n d2 link set sync0 up
for d in d1 d2; do
	ip netns exec $d sysctl -qw net.ipv4.ip_forward=1
	ip -n $d addr add $VIP/32 dev lo
done
ip netns exec r1 probe serve rs1 tcp:80 > /tmp/ready.r1 2>&1 &

conf() { # conf PRIORITY: one director's keepalived.conf
	cat <<CONF
global_defs {
    router_id $1
    lvs_sync_daemon sync0 VI_1 id 7
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $1
    advert_int 1
    virtual_ipaddress {
        172.16.0.1/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority $1
    advert_int 1
    virtual_ipaddress {
        10.0.0.254/24
    }
}
virtual_server $VIP 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 { weight 1 }
}
CONF
}
conf 150 > /tmp/d1.conf
conf 100 > /tmp/d2.conf
director() { # director D: govs run in namespace D, logging to /tmp/D.log
	if [ -n "${SPLIT:-}" ]; then
		# as keepalived -P and -C run apart: VRRP and the sync daemon in one process,
		# the IPVS table in the other
		/sbin/ip netns exec $1 $GOVS run -P -f /tmp/$1.conf --socket /tmp/$1.vrrp.sock \
			--data-file /tmp/$1.vrrp.data --stats-file /tmp/$1.vrrp.stats > /tmp/$1.log 2>&1 &
		echo $! > /tmp/$1.pid
		/sbin/ip netns exec $1 $GOVS run -C -f /tmp/$1.conf --dataplane ipvs --socket /tmp/$1.sock \
			--data-file /tmp/$1.data --stats-file /tmp/$1.stats > /tmp/$1.check.log 2>&1 &
		echo $! >> /tmp/$1.pid
		return
	fi
	/sbin/ip netns exec $1 $GOVS run -f /tmp/$1.conf --dataplane ipvs --socket /tmp/$1.sock \
		--data-file /tmp/$1.data --stats-file /tmp/$1.stats > /tmp/$1.log 2>&1 &
	echo $! > /tmp/$1.pid
}
master_daemon() { ip netns exec $1 ipvsadm -L --daemon | grep -q '^master sync daemon'; }
backup_daemon() { ip netns exec $1 ipvsadm -L --daemon | grep -q '^backup sync daemon'; }
# d1 first, so that it is master before d2 listens (d2 would otherwise take over
# until d1 preempts it)
t0=$(now)
director d1
wait_for grep -q 'instance=VI_2 from=BACKUP to=MASTER' /tmp/d1.log && ok "d1 became VRRP master (after $(elapsed $t0 $(now)) s)" || fail "d1 became VRRP master"
director d2
wait_for master_daemon d1 && ok "d1 runs the master sync daemon" || fail "d1 runs the master sync daemon"
wait_for backup_daemon d2 && ok "d2 runs the backup sync daemon" || fail "d2 runs the backup sync daemon"
grep -q 'to=MASTER' /tmp/d2.log && fail "d2 stayed backup" || ok "d2 stayed backup"
for d in d1 d2; do
	ip netns exec $d ipvsadm -L --daemon > /tmp/want.$d 2>&1
	$GOVS adm --socket /tmp/$d.sock -L --daemon > /tmp/got.$d 2>&1
	same "$d: govs adm -L --daemon = ipvsadm -L --daemon" /tmp/want.$d /tmp/got.$d
	cat /tmp/want.$d
done
wait_ready
hold H $VIP:80 -
port=$(awk '{print $1; exit}' /tmp/hold.H | sed 's/.*://')
# the master flushes its sync buffer at the latest every 2 s; give it up to ~15 s
synced() { ip netns exec d2 ipvsadm -L -c -n | grep -q "ESTABLISHED *172.16.0.2:$port *$VIP:80 *10.0.0.1:80"; }
t0=$(now)
wait_for synced && ok "the backup's ipvsadm -L -c -n shows the master's connection (after $(elapsed $t0 $(now)) s)" || fail "the backup's table shows the master's connection (client port $port)"
run ip netns exec d2 ipvsadm -L -c -n

# the master dies: its govs is killed, its links go down
t0=$(now)
kill -KILL $(cat /tmp/d1.pid)
for i in eth0 eth1 sync0; do ip -n d1 link set $i down; done
wait_for grep -q 'instance=VI_2 from=BACKUP to=MASTER' /tmp/d2.log && ok "d2 became VRRP master (after $(elapsed $t0 $(now)) s)" || fail "d2 became VRRP master"
wait_for master_daemon d2 && ok "d2's sync daemon switched to master" || fail "d2's sync daemon switched to master"
echo "## failover (VRRP and the sync daemon's role) took $(elapsed $t0 $(now)) s"
run ip netns exec d2 ipvsadm -L --daemon
poke H
grep -q "echo ping" /tmp/poke.H && ok "the established connection carries data through the new master" || fail "the established connection carries data through the new master"
release H
ip netns exec d2 ipvsadm -L -c -n > /tmp/d2.after
cat /tmp/d2.after
grep -q "TIME_WAIT *172.16.0.2:$port *$VIP:80 *10.0.0.1:80" /tmp/d2.after && ok "the established connection closed gracefully through the new master" || fail "the established connection closed gracefully through the new master"
picks tcp $VIP:80 - > /tmp/picks.after
grep -q rs1 /tmp/picks.after && ok "new connections go through the new master" || { fail "new connections go through the new master"; cat /tmp/picks.after; }
kill -TERM $(cat /tmp/d2.pid); wait $(cat /tmp/d2.pid) 2>/dev/null
if [ -n "${SPLIT:-}" ]; then
	ip netns exec d2 ipvsadm -L --daemon | grep -q 'sync daemon' && fail "govs run -P stopped its sync daemon" || ok "govs run -P stopped its sync daemon"
fi
for f in /tmp/d1.log /tmp/d2.log /tmp/d1.check.log /tmp/d2.check.log; do
	[ -f $f ] && { echo "--- $f:"; cat $f; }
done
finish
