# Run with ../../../../../shared/oracle/ipvs/ipvs-oracle.sh nftipvs.sh govs libcrc32c.ko
# nfnetlink.ko nf_tables.ko nft LIBS... (a static govs, the guest kernel's nf_tables
# modules and the host's nft with its libraries, all placed in /extra): the same
# configuration with nftables_ipvs under keepalived 2.2.7, then under govs; what both
# did is in nftipvs.txt.
. /lib/oracle.sh
for m in libcrc32c nfnetlink nf_tables; do insmod /extra/$m.ko 2>/dev/null; done
nft() { LD_LIBRARY_PATH=/extra /extra/nft "$@"; }
topo 2
ip addr add 192.168.10.101/32 dev lo
cat > /tmp/ka.conf <<CONF
global_defs {
    router_id oracle
    nftables_ipvs
}
virtual_server_group G1 {
    $VIP 80
    192.168.10.101 80
    192.168.10.110-112 8080
}
virtual_server_group G2 {
    192.168.10.120 53
}
virtual_server group G1 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 { weight 1
        TCP_CHECK { connect_timeout 1 }
    }
}
virtual_server group G2 {
    delay_loop 1
    lb_algo wlc
    lb_kind NAT
    protocol UDP
    real_server 10.0.0.1 53 { weight 2
    }
}
virtual_server $VIP 443 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 443 { weight 1 }
}
CONF
for who in keepalived govs; do
echo "##### $who"
if [ $who = keepalived ]; then
  keepalived -C -n -l -D -f /tmp/ka.conf -p /tmp/ka.pid -c /tmp/ka-c.pid > /tmp/ka.log 2>&1 &
else
  /extra/govs run -C -f /tmp/ka.conf --dataplane ipvs --socket /tmp/govs.sock > /tmp/govs.log 2>&1 &
fi
KA=$!
sleep 4
run ipvsadm -L -n
run nft list ruleset
kill $KA; sleep 2
echo "### after stop"
run nft list ruleset
run ipvsadm -L -n
done
echo "### govs log"; cat /tmp/govs.log
