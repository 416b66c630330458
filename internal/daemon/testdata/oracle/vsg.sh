# Run with ../../../../../shared/oracle/ipvs/ipvs-oracle.sh vsg.sh: keepalived 2.2.7 with a
# virtual_server_group of two VIPs; what it printed is in vsg.txt.
. /lib/oracle.sh
topo 2
ip addr add 192.168.10.101/32 dev lo
cat > /tmp/ka.conf <<CONF
global_defs {
    router_id oracle
    notify_fifo /tmp/fifo
}
virtual_server_group G1 {
    $VIP 80
    192.168.10.101 80
}
virtual_server group G1 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    quorum_up "/bin/sh -c 'echo quorum_up >> /tmp/scripts'"
    quorum_down "/bin/sh -c 'echo quorum_down >> /tmp/scripts'"
    real_server 10.0.0.1 80 { weight 1
        notify_down "/bin/sh -c 'echo rs1_down >> /tmp/scripts'"
        TCP_CHECK { connect_timeout 1 }
    }
    real_server 10.0.0.2 80 { weight 1
        TCP_CHECK { connect_timeout 1 }
    }
}
CONF
mkfifo /tmp/fifo
cat /tmp/fifo > /tmp/fifo.out &
keepalived -C -n -l -D -f /tmp/ka.conf -p /tmp/ka.pid -c /tmp/ka-c.pid > /tmp/ka.log 2>&1 &
KA=$!
sleep 4
run ipvsadm -L -n
for p in $(ip netns pids r1); do kill $p; done
sleep 4
run ipvsadm -L -n
kill $KA; sleep 1
echo "### fifo"; cat /tmp/fifo.out
echo "### scripts"; cat /tmp/scripts
echo "### log"; grep -v "^$" /tmp/ka.log | sed 's/^.*: //' | grep -iv "netlink\|Opening\|Registering\|Starting\|Running\|Command line\|Configuration\|Unable to load\|WARNING\|NOTICE\|Stop\|Got SIG\|exited\|Script user"
