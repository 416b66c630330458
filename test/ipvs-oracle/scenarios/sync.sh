# Connection sync between two directors (IPVS and its sync daemon are per namespace):
# d1 runs the master sync daemon, d2 the backup; a connection made through d1 shows in
# d2's table; after a failover (addresses move to d2, d2's daemon becomes master) the
# established connection keeps working through d2. The directors' planes are
# internal/dataplane/ipvs's TestGuestDirector (built with -tags ipvsguest).
. /lib/oracle.sh
. /extra/lib.sh
sysctl -qw net.ipv4.ip_forward=1
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
ip link add s1 netns d1 type veth peer name s2 netns d2
ip -n d1 addr add 10.9.0.1/24 dev s1; ip -n d1 link set s1 up
ip -n d2 addr add 10.9.0.2/24 dev s2; ip -n d2 link set s2 up
for d in d1 d2; do
	ip netns exec $d sysctl -qw net.ipv4.ip_forward=1
	ip -n $d addr add $VIP/32 dev lo
done
active() { # active D: D holds the gateway addresses the client and the real server use
	ip -n $1 addr add 172.16.0.1/24 dev eth0
	ip -n $1 addr add 10.0.0.254/24 dev eth1
}
passive() {
	ip -n $1 addr del 172.16.0.1/24 dev eth0
	ip -n $1 addr del 10.0.0.254/24 dev eth1
}
active d1
ip netns exec r1 probe serve rs1 tcp:80 > /tmp/ready.r1 2>&1 &
director() { # director D SYNC-IFACE
	: > /tmp/ctl.$1
	GOVS_GUEST_CTL=/tmp/ctl.$1 GOVS_GUEST_SYNC_IFACE=$2 ip netns exec $1 /extra/ipvs.test -test.run '^TestGuestDirector$' -test.v > /tmp/$1.log 2>&1 &
}
director d1 s1
director d2 s2
wait_for grep -q "director ready" /tmp/d1.log || { fail "d1 started"; cat /tmp/d1.log; }
wait_for grep -q "director ready" /tmp/d2.log || { fail "d2 started"; cat /tmp/d2.log; }
echo master >> /tmp/ctl.d1
wait_for grep -q "director role: master" /tmp/d1.log || fail "d1 became master"
wait_ready
run ip netns exec d1 ipvsadm -L --daemon
run ip netns exec d2 ipvsadm -L --daemon
hold H $VIP:80 -
port=$(awk '{print $1; exit}' /tmp/hold.H)
# the master flushes its sync buffer at the latest every 2 s; give it up to ~10 s
synced() { ip netns exec d2 ipvsadm -L -c -n | grep -q "ESTABLISHED *$port *$VIP:80 *10.0.0.1:80"; }
t0=$(now)
wait_for synced && ok "the backup's table shows the master's connection (after $(elapsed $t0 $(now)) s)" || fail "the backup's table shows the master's connection ($port)"
run ip netns exec d2 ipvsadm -L -c -n

# failover: d1 fails over to d2
t0=$(now)
passive d1; active d2
ip -n c neigh flush all; ip -n r1 neigh flush all
echo backup >> /tmp/ctl.d1
echo master >> /tmp/ctl.d2
wait_for grep -q "director role: master" /tmp/d2.log || fail "d2 became master"
echo "## failover (addresses + sync roles) took $(elapsed $t0 $(now)) s"
run ip netns exec d2 ipvsadm -L --daemon
release H
ip netns exec d2 ipvsadm -L -c -n > /tmp/d2.after
cat /tmp/d2.after
grep -q "TIME_WAIT *$port *$VIP:80 *10.0.0.1:80" /tmp/d2.after && ok "the established connection closed gracefully through the new master" || fail "the established connection closed gracefully through the new master"
picks tcp $VIP:80 - > /tmp/picks.after
grep -q rs1 /tmp/picks.after && ok "new connections go through the new master" || { fail "new connections go through the new master"; cat /tmp/picks.after; }
echo stop >> /tmp/ctl.d1; echo stop >> /tmp/ctl.d2
wait_for grep -q "director stopped" /tmp/d2.log
cat /tmp/d1.log /tmp/d2.log | grep -v '^=== RUN'
finish
