# KEEPALIVED-MIB's health checker part (enable_snmp_checker): keepalived -C and then
# govs run -C --dataplane ipvs, with the same configuration, under one snmpd (master
# agentx): snmpwalk -On of 1.3.6.1.4.1.9586.100.5.3 is the same for both, and so are the
# notifications (realServerStateChange, virtualServerQuorumStateChange) they send when
# a real server goes down and takes its virtual server's quorum with it, and when it
# comes back; snmpset of realServerWeight gets the same answers, weights, kernel table
# and notifications. Those sent at start and as they stop are shown, not compared: govs's
# agent connects after the engine's first quorum changes, and stops with it.
. /lib/oracle.sh
. /extra/lib.sh
topo 4
rs_dr 1
# The real server that goes down and comes back: its own process, on port 9000 of r3.
serve9000() { /sbin/ip netns exec r3 /bin/probe serve rs3b tcp:9000 > /tmp/ready.r3b 2>&1 & echo $! > /tmp/r3b.pid; wait_for grep -q ready /tmp/ready.r3b; }
serve9000
cat > /tmp/s.conf <<CONF
global_defs {
    router_id oracle-snmp
    enable_snmp_checker
    enable_traps
    snmp_socket unix:/tmp/agentx
    lvs_sync_daemon vc VI_1 id 7 maxlen 1400 port 8850 ttl 2 group 239.1.2.3
    lvs_timeouts tcp 900 tcpfin 30 udp 60
}
vrrp_instance VI_1 {
    interface vc
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        172.16.0.100/24
    }
}
virtual_server_group G1 {
    192.168.10.101 80
    192.168.10.110-112 80
    fwmark 9
}
virtual_server $VIP 8080 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 0
    quorum_up "/bin/true quorum up"
    quorum_down /bin/true
    snmp_name web
    sorry_server 10.0.0.2 8080
    real_server 10.0.0.3 9000 {
        weight 2
        snmp_name web-9000
        notify_up "/bin/true rs up"
        notify_down /bin/true
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.0.0.3 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server $VIP6 8443 {
    delay_loop 3
    lb_algo wlc
    lb_kind DR
    protocol TCP
    persistence_timeout 120
    persistence_granularity 64
    virtualhost www.example.com
    inhibit_on_failure
    real_server 2001:db8:10::1 8443 {
        weight 2
        uthreshold 100
        lthreshold 10
        TCP_CHECK {
            connect_port 443
            connect_timeout 1
        }
    }
    real_server 2001:db8:10::4 8443 {
        weight 5
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server $VIP 53 {
    delay_loop 2
    lb_algo sh
    sh-port
    sh-fallback
    ops
    lb_kind NAT
    protocol UDP
    persistence_timeout 60
    persistence_granularity 255.255.255.0
    real_server 10.0.0.1 53 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 1
        }
    }
    real_server 10.0.0.2 53 {
        weight 3
    }
}
virtual_server fwmark 7 {
    delay_loop 5
    lb_algo wrr
    lb_kind DR
    hashed
    persistence_timeout
    alpha
    omega
    real_server 10.0.0.1 80 {
        weight 4
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server group G1 {
    delay_loop 4
    lb_algo lc
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.2 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.0.3 80 {
        weight 1
        inhibit_on_failure
    }
}
virtual_server $VIP 443 {
    lb_algo mh
    mh-port
    lb_kind TUN type gue port 6080 csum
    protocol TCP
    weight 3
    retry 2
    delay_before_retry 2
    warmup 3
    connect_timeout 4
    real_server 10.0.0.4 443 {
        weight 1
        delay_loop 7
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.0.3 8443 {
        TCP_CHECK {
            connect_port 81
            connect_timeout 1
            retry 0
        }
    }
}
CONF
cat > /tmp/snmpd.conf <<CONF
master agentx
agentXSocket /tmp/agentx
agentaddress udp:127.0.0.1:16161
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
trap2sink 127.0.0.1:16162 public
CONF
/extra/trapsink 127.0.0.1:16162 >> /tmp/traps 2>/tmp/trapsink.log &
snmpd -f -Lo -C -c /tmp/snmpd.conf -I -smux,mteTrigger,mteTriggerConf > /tmp/snmpd.log 2>&1 &
wait_for test -S /tmp/agentx || { fail "snmpd made its AgentX socket"; cat /tmp/snmpd.log; }
ROOT=.1.3.6.1.4.1.9586.100.5.3
walk() { snmpwalk -v2c -c public -On -t 2 -r 1 127.0.0.1:16161 ${1:-$ROOT} 2>/tmp/walk.err; }
# shows OID VALUE: the walk of one instance ends with VALUE
shows() { walk $1 | grep -q ": $2\$"; }
# setw OID TYPE VALUE: snmpset of $ROOT.OID, the command and its answer (without
# net-snmp's complaints about the MIB files the guest does not have)
setw() { echo "\$ snmpset $*"; snmpset -v2c -c private -On -t 2 -r 1 127.0.0.1:16161 $ROOT.$1 $2 $3 2>&1 | grep -v '^MIB search path\|^Cannot find module'; }
# traps PHASE: the notifications sent since the last call, sorted (two checkers may
# notice their servers at the same moment), moved to /tmp/traps.PHASE.$who
traps() { sleep 1; sort /tmp/traps > /tmp/traps.$1.$who; : > /tmp/traps; }
# What the scenario waits for: the real server on port 9000 of the first virtual
# server (row 1.2, after the sorry server) and the first virtual server's quorum.
RS9000=$ROOT.4.1.6.1.2
QUORUM1=$ROOT.3.1.23.1
for who in keepalived govs; do
	ipvsadm -C
	: > /tmp/traps
	if [ $who = keepalived ]; then start_ka /tmp/s.conf; else start_govs /tmp/s.conf; fi
	wait_for shows $ROOT.3.1.2.1 2 || fail "$who: the subagent answers"
	sleep 8 # every checker has run, the down ones have failed
	walk > /tmp/walk.up.$who
	traps start
	# realServerWeight, the one object keepalived's checker lets a set write: a server
	# up (the kernel follows at once; 0 takes its virtual server's quorum), one down
	# with inhibit_on_failure (the kernel keeps 0), one down; and the sets refused: the
	# sorry server's, another type, a virtual server that does not exist, other
	# columns. (A real server that does not exist in a virtual server that does is
	# left out: keepalived's exact lookup takes the next row, 3.9 sets 4.1; govs
	# answers notWritable.)
	{
		setw 4.1.7.3.2 i 7; setw 4.1.7.4.1 i 0; setw 4.1.7.2.2 i 9; setw 4.1.7.6.2 i 6
		setw 4.1.7.1.1 i 5; setw 4.1.7.3.2 u 5; setw 4.1.7.9.1 i 5; setw 4.1.8.3.2 u 5; setw 3.1.60.1 i 5
	} > /tmp/set.$who
	sleep 1
	ipvsadm -S -n | sort > /tmp/ipvs.set.$who
	walk $ROOT.4.1.7 > /tmp/walk.set.$who
	traps set
	kill $(cat /tmp/r3b.pid)
	wait_for shows $QUORUM1 2 || fail "$who: the first virtual server loses its quorum"
	walk > /tmp/walk.down.$who
	traps down
	serve9000
	wait_for shows $QUORUM1 1 || fail "$who: the first virtual server regains its quorum"
	traps up
	if [ $who = keepalived ]; then stop_ka; else stop_govs; fi
	traps stop
	echo "## $who: $(wc -l < /tmp/walk.up.$who) variables; notifications: $(wc -l < /tmp/traps.start.$who) at start, $(wc -l < /tmp/traps.down.$who) down, $(wc -l < /tmp/traps.up.$who) up, $(wc -l < /tmp/traps.stop.$who) at stop"
done
same "the same walk as keepalived" /tmp/walk.up.keepalived /tmp/walk.up.govs
same "the same walk as keepalived with a real server down and the quorum lost" /tmp/walk.down.keepalived /tmp/walk.down.govs
same "the same answers to realServerWeight sets as keepalived" /tmp/set.keepalived /tmp/set.govs
same "the same kernel table as keepalived after the sets" /tmp/ipvs.set.keepalived /tmp/ipvs.set.govs
same "the same weights as keepalived after the sets" /tmp/walk.set.keepalived /tmp/walk.set.govs
for phase in set down up stop; do
	same "the same notifications as keepalived: $phase" /tmp/traps.$phase.keepalived /tmp/traps.$phase.govs
done
# At start both announce every quorum ("Starting with quorum up") and the first checks'
# verdicts; how many servers each quorum counts depends on which checks ended first.
echo "## notifications at start, keepalived:"; cat /tmp/traps.start.keepalived
echo "## govs:"; cat /tmp/traps.start.govs
[ "$(grep -c '5\.3\.5\.0\.2 ' /tmp/traps.start.govs)" = "$(grep -c '5\.3\.5\.0\.2 ' /tmp/traps.start.keepalived)" ] &&
	ok "as many quorum notifications at start as keepalived" || fail "as many quorum notifications at start as keepalived"
echo "--- the sets, the weights and the kernel's table after them (keepalived's)"; cat /tmp/set.keepalived /tmp/walk.set.keepalived /tmp/ipvs.set.keepalived
echo "--- the walk (keepalived's)"; cat /tmp/walk.up.keepalived
finish
