# Run with ../../../../../shared/oracle/ipvs/ipvs-oracle.sh quorum-start.sh: keepalived 2.2.7
# with alpha real servers, one service with a sorry server and one without;
# engine.TestQuorumAtStart follows what it did (2026-11-24):
#   FIFO: VS [192.168.10.100]:tcp:80 DOWN / RS ... :80 UP / VS ...:80 UP / RS ... :81 UP / VS ...:81 UP
#   scripts: quorum_down, quorum_up (none for :81 at start)
. /lib/oracle.sh
topo 2
cat > /tmp/ka.conf <<CONF
global_defs {
    router_id oracle
    notify_fifo /tmp/fifo
}
virtual_server $VIP 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 1
    sorry_server 10.0.0.2 80
    quorum_up "/bin/sh -c 'echo quorum_up >> /tmp/scripts'"
    quorum_down "/bin/sh -c 'echo quorum_down >> /tmp/scripts'"
    real_server 10.0.0.1 80 { weight 1
        alpha
        TCP_CHECK { connect_timeout 1 }
    }
}
virtual_server $VIP 81 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 1
    quorum_down "/bin/sh -c 'echo quorum_down_81 >> /tmp/scripts'"
    real_server 10.0.0.1 80 { weight 1
        alpha
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
kill $KA; sleep 1
echo "### fifo"; cat /tmp/fifo.out
echo "### scripts"; cat /tmp/scripts
echo "### log"; grep -i "quorum\|sorry" /tmp/ka.log | sed 's/^.*: //'
