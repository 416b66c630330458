# net_namespace_ipvs: IPVS is programmed in another network namespace than the one govs
# runs in, as keepalived does it: NAME (ip netns add NAME), or without NAME the default
# namespace (PID 1's) for a daemon that runs in a namespace of its own. The same table
# as keepalived's lands there and nothing in the other; govs adm shows it; the services
# leave it at stop; a reload that changes the namespace is refused. With nftables_ipvs,
# the marking tables are made in that namespace too, as keepalived makes them.
. /lib/oracle.sh
. /extra/lib.sh
ip netns add lvs
ip netns add director
# keepalived opens /var/run/netns/NAME, which Debian links to /run/netns; the guest has no link.
[ -e /var/run/netns ] || { mkdir -p /var/run; ln -s /run/netns /var/run/netns; }
# The kernel refuses a destination it has no route to (EINVAL): the real servers' LAN.
ip -n lvs link add lan type dummy
ip -n lvs addr add 192.0.2.1/24 dev lan
ip -n lvs link set lan up
in_lvs() { ip netns exec lvs "$@"; }
conf() { # conf NAMESPACE-LINE
	cat > /tmp/n.conf <<CONF
$1
global_defs {
    lvs_timeouts tcp 900 tcpfin 30 udp 60
}
virtual_server 192.0.2.10 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.21 80 { weight 2 }
    real_server 192.0.2.22 80 { weight 1 }
}
virtual_server 192.0.2.10 53 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    persistence_timeout 60
    real_server 192.0.2.21 53 { weight 1 }
}
CONF
}
has22() { "$@" ipvsadm -S -n | grep -q 192.0.2.22; }
empty() { [ -z "$("$@" ipvsadm -S -n)" ]; }

conf "net_namespace_ipvs lvs"
for who in keepalived govs; do
	ipvsadm -C; in_lvs ipvsadm -C
	if [ $who = keepalived ]; then start_ka /tmp/n.conf; else start_govs /tmp/n.conf; fi
	wait_for has22 in_lvs && ok "$who: the services are in namespace lvs" || { fail "$who: the services are in namespace lvs"; cat /tmp/ka.log; tail -5 /tmp/govs.log; }
	sleep 1
	{ in_lvs ipvsadm -S -n; in_lvs ipvsadm -L --timeout; } > /tmp/ns.$who 2>&1
	empty env && ok "$who: none in its own namespace" || fail "$who: none in its own namespace"
	if [ $who = govs ]; then
		in_lvs ipvsadm -L -n > /tmp/ipvsadm.L
		adm -L -n > /tmp/adm.L
		same "govs adm -L -n shows namespace lvs's table" /tmp/ipvsadm.L /tmp/adm.L
		# A connection from inside the namespace (IPVS takes local clients too): its
		# entry is in the namespace's table, which govs adm -L -c must read.
		in_lvs nc -w 1 192.0.2.10 80 </dev/null >/dev/null 2>&1
		n_k=$(in_lvs ipvsadm -L -c -n | grep -c 192.0.2.10:80)
		n_g=$(adm -L -c -n | grep -c 192.0.2.10:80)
		[ "$n_k" -ge 1 ] && [ "$n_g" = "$n_k" ] && ok "govs adm -L -c reads the namespace's connections" || fail "govs adm -L -c reads the namespace's connections (kernel $n_k, govs adm $n_g)"
		conf "net_namespace_ipvs other"
		kill -HUP $GV
		wait_for grep -q 'net_namespace_ipvs changed' /tmp/govs.log && ok "a reload that moves IPVS is refused" || fail "a reload that moves IPVS is refused"
		has22 in_lvs && ok "the table stays after the refused reload" || fail "the table stays after the refused reload"
		conf "net_namespace_ipvs lvs"
	fi
	if [ $who = keepalived ]; then stop_ka; else stop_govs; fi
	wait_for empty in_lvs && ok "$who: its services leave namespace lvs at stop" || fail "$who: its services leave namespace lvs at stop"
done
same "the same table as keepalived in namespace lvs" /tmp/ns.keepalived /tmp/ns.govs
cat /tmp/ns.govs

# Without NAME: the default namespace, for a daemon run in namespace director.
in_director_none() { [ -z "$(ip netns pids director)" ]; }
conf "net_namespace_ipvs"
for who in keepalived govs; do
	ipvsadm -C
	if [ $who = keepalived ]; then
		ip netns exec director keepalived -C -n -l -D -f /tmp/n.conf -p /tmp/ka.pid -c /tmp/ka-c.pid -r /tmp/ka-v.pid > /tmp/ka.log 2>&1 &
	else
		ip netns exec director $GOVS run -C -f /tmp/n.conf --dataplane ipvs --socket $SOCK >> /tmp/govs.log 2>&1 &
	fi
	PID=$!
	wait_for has22 env && ok "$who in namespace director: the services are in the default namespace" || fail "$who in namespace director: the services are in the default namespace"
	sleep 1
	{ ipvsadm -S -n; ipvsadm -L --timeout; } > /tmp/default.$who 2>&1
	empty ip netns exec director && ok "$who: none in namespace director" || fail "$who: none in namespace director"
	# ip netns exec runs the daemon as its child: stop what runs in namespace director.
	kill $(ip netns pids director); wait $PID
	wait_for in_director_none && ok "$who in namespace director: stopped" || fail "$who in namespace director: stopped"
done
same "without NAME: the same table as keepalived in the default namespace" /tmp/default.keepalived /tmp/default.govs

# nftables_ipvs with net_namespace_ipvs: keepalived makes its nftables tables where IPVS
# is, and so must govs: the same ruleset in namespace lvs, none in their own, and a
# client's packets to a group address are marked there into the group's fwmark service.
ip -n lvs link set lo up
ip -n lvs addr add 192.0.2.10/32 dev lo
ip -n lvs addr add 192.0.2.11/32 dev lo
ip netns add cl
ip link add cl0 netns lvs type veth peer name eth0 netns cl
ip -n lvs addr add 10.9.0.1/24 dev cl0
ip -n lvs link set cl0 up
ip -n cl addr add 10.9.0.2/24 dev eth0
ip -n cl link set eth0 up
ip -n cl route add default via 10.9.0.1
cat > /tmp/g.conf <<CONF
net_namespace_ipvs lvs
global_defs {
    nftables_ipvs
}
virtual_server_group G {
    192.0.2.10 80
    192.0.2.11-12 8080
}
virtual_server group G {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 { weight 1 }
}
CONF
# ruleset: nft's listing on one line; the marks' digits aside, which nft shows byte
# swapped for govs's map (google/nftables cannot write the set's byte-order userdata;
# internal/nftipvs compares them exactly).
ruleset() { "$@" nft list ruleset | sed 's/: 0x[0-9a-f]*/: MARK/g' | tr -s ' \t\n' ' '; }
has_marks() { "$@" nft list tables | grep -q keepalived_ipvs; }
has_fwm() { "$@" ipvsadm -S -n | grep -q -- '-f '; }
# The kernel's counters follow every two seconds (its estimator reads the CPUs' counts).
fwm_scheduled_one() { [ "$(in_lvs ipvsadm -L -n --stats | awk '$1 == "FWM" {print $3}')" = 1 ]; }
for who in keepalived govs; do
	in_lvs ipvsadm -C
	if [ $who = keepalived ]; then start_ka /tmp/g.conf; else start_govs /tmp/g.conf; fi
	wait_for has_marks in_lvs && ok "$who: nftables_ipvs's tables are in namespace lvs" || { fail "$who: nftables_ipvs's tables are in namespace lvs"; cat /tmp/ka.log; tail -5 /tmp/govs.log; }
	wait_for has_fwm in_lvs || { fail "$who: the group's fwmark service is in namespace lvs"; ps; tail -5 /tmp/govs.log; }
	sleep 1
	ruleset in_lvs > /tmp/nft.$who
	in_lvs ipvsadm -S -n > /tmp/fwm.$who
	[ -z "$(nft list ruleset)" ] && ok "$who: no nftables tables in its own namespace" || fail "$who: no nftables tables in its own namespace"
	ip netns exec cl nc -w 1 192.0.2.11 8080 </dev/null >/dev/null 2>&1
	wait_for fwm_scheduled_one && ok "$who: a client's connection is marked into the fwmark service" || { fail "$who: a client's connection is marked into the fwmark service"; in_lvs ipvsadm -L -n --stats; in_lvs ipvsadm -L -n -c; in_lvs nft list ruleset; tail -5 /tmp/govs.log; }
	if [ $who = keepalived ]; then stop_ka; else stop_govs; fi
	wait_for empty in_lvs
	ruleset in_lvs > /tmp/nftstop.$who
done
same "nftables_ipvs: the same ruleset as keepalived in namespace lvs" /tmp/nft.keepalived /tmp/nft.govs
same "nftables_ipvs: the same fwmark services as keepalived" /tmp/fwm.keepalived /tmp/fwm.govs
same "nftables_ipvs: the same ruleset as keepalived after stop" /tmp/nftstop.keepalived /tmp/nftstop.govs
cat /tmp/nft.govs /tmp/fwm.govs
finish
