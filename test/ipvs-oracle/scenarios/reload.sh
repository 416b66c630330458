# SIGHUP changes only what changed (counted in netlink requests: govs logs "changes=N"
# per Apply); a restart after a crash, and a stop and start with -I/--dont-release-ipvs,
# adopt the table, send nothing, and an established connection survives; SIGTERM removes
# govs's services as keepalived does, lvs_flush_onstop the whole table; lvs_flush empties
# it at start.
. /lib/oracle.sh
. /extra/lib.sh
topo 3
GLOBAL=
conf() { # conf WEIGHT2 [extra service]; $GLOBAL goes into global_defs
	cat > /tmp/r.conf <<CONF
global_defs {
    $GLOBAL
}
virtual_server $VIP 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 { weight 1 }
    real_server 10.0.0.2 80 { weight $1 }
}
virtual_server $VIP 443 {
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 443 { weight 1 }
    real_server 10.0.0.3 443 { weight 1 }
}
CONF
	[ -n "$2" ] && cat >> /tmp/r.conf <<CONF
virtual_server $VIP 8080 {
    lb_algo sh
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.3 8080 { weight 1 }
}
CONF
	return 0
}
changes() { grep 'ipvs table applied' /tmp/govs.log | tail -1 | sed 's/.*changes=\([0-9]*\).*/\1/'; }
applies() { grep -c 'ipvs table applied' /tmp/govs.log; }
hup() { _n=$(applies); kill -HUP $GV; wait_for sh -c "[ \$(grep -c 'ipvs table applied' /tmp/govs.log) -gt $_n ]"; }
expect_changes() { # expect_changes N WHAT
	_c=$(changes); [ "$_c" = "$1" ] && ok "$2: $1 netlink change requests" || fail "$2: $_c netlink change requests, want $1"
}
conf 1
start_govs /tmp/r.conf
wait_for sh -c "ipvsadm -S -n | grep -q 10.0.0.3:443"
expect_changes 6 "start (2 services, 4 real servers)"
hold H $VIP:443 - > /dev/null
hup; expect_changes 0 "reload with no change"
conf 4; hup; expect_changes 1 "reload with one changed weight"
ipvsadm -S -n | grep -q -- "-r 10.0.0.2:80 -m -w 4" && ok "the kernel has the new weight" || fail "the kernel has the new weight"
conf 4 extra; hup; expect_changes 2 "reload adding a service with one real server"
conf 4; hup; expect_changes 1 "reload removing that service"
# a request the kernel refuses: a real server added behind govs's back, then named by the
# configuration; the refusal is reported by name, the others of the batch go through,
# and the next reload reads the kernel again and converges
ipvsadm -a -t $VIP:80 -r 10.0.0.3:80 -m -w 1
conf 4; awk '{print} /10.0.0.2 80/{print "    real_server 10.0.0.3 80 { weight 5 }"; print "    real_server 10.0.0.4 80 { weight 1 }"}' /tmp/r.conf > /tmp/r2.conf; mv /tmp/r2.conf /tmp/r.conf
hup
grep 'ipvs table applied' /tmp/govs.log | tail -1 | grep -q 'changes=2 .*failed=1' && ok "a batch with a refused request: 2 requests, 1 refused" || fail "a batch with a refused request: 2 requests, 1 refused ($(grep 'ipvs table applied' /tmp/govs.log | tail -1))"
grep -q 'add destination .*10.0.0.3:80: file exists' /tmp/govs.log && ok "the refusal names the request and the kernel's reason" || fail "the refusal names the request and the kernel's reason"
ipvsadm -S -n | grep -q -- "-r 10.0.0.4:80 -m -w 1" && ok "the request after the refused one went through" || fail "the request after the refused one went through"
hup
ipvsadm -S -n | grep -q -- "-r 10.0.0.3:80 -m -w 5" && ok "the next reload reads the kernel again and converges" || fail "the next reload reads the kernel again and converges"
conf 4; hup
conns | grep -q "ESTABLISHED.*$VIP:443" && ok "the established connection to an unchanged service survived the reloads" || { fail "the established connection survived the reloads"; conns; }
echo "--- requests per Apply:"; grep 'ipvs table applied' /tmp/govs.log | sed 's/.*msg=//'

# crash (SIGKILL) and restart with -I: the table stays, the new govs adopts it
stop_govs KILL
ipvsadm -S -n | grep -q 10.0.0.3:443 && ok "SIGKILL leaves the kernel table" || fail "SIGKILL leaves the kernel table"
ipvsadm -S -n > /tmp/before
: > /tmp/govs.log
start_govs /tmp/r.conf -I
wait_for grep -q 'ipvs table applied' /tmp/govs.log
expect_changes 0 "restart adopting a matching table"
grep -q 'adopted services already in the kernel.*services=2' /tmp/govs.log && ok "restart logs the adoption" || fail "restart logs the adoption"
# govs run -I: SIGTERM leaves the table to the kernel, the next govs run -I adopts it
stop_govs TERM
ipvsadm -S -n > /tmp/after
same "govs run -I: SIGTERM leaves the kernel table as it was" /tmp/before /tmp/after
: > /tmp/govs.log
start_govs /tmp/r.conf --dont-release-ipvs
wait_for grep -q 'ipvs table applied' /tmp/govs.log
expect_changes 0 "govs run --dont-release-ipvs adopting the table"
grep -q 'adopted services already in the kernel.*services=2' /tmp/govs.log && ok "the -I restart logs the adoption" || fail "the -I restart logs the adoption"
poke H
grep -q "echo ping" /tmp/poke.H && ok "the connection established before the restarts carries data" || fail "the connection established before the restarts carries data"
release H
conns | grep -q "TIME_WAIT.*$VIP:443" && ok "the connection established before the restarts closed gracefully through the kernel" || { fail "the connection established before the restarts closed through the kernel"; conns; }

# SIGTERM without -I: govs removes its services and only those (lvs_flush_onstop VS,
# keepalived's default)
stop_govs KILL
GLOBAL="lvs_flush_onstop VS"; conf 4
: > /tmp/govs.log
start_govs /tmp/r.conf
wait_for grep -q 'ipvs table applied' /tmp/govs.log
ipvsadm -A -t 192.168.99.1:80 -s rr
stop_govs TERM
ipvsadm -S -n > /tmp/after
[ "$(cat /tmp/after)" = "-A -t 192.168.99.1:80 -s rr" ] && ok "SIGTERM removes govs's services and only those" || { fail "SIGTERM removes govs's services and only those"; cat /tmp/after; }

# lvs_flush empties the table at start (the foreign service goes); bare lvs_flush_onstop
# empties it on stop (the foreign service added meanwhile goes too)
GLOBAL="lvs_flush
    lvs_flush_onstop"; conf 4
: > /tmp/govs.log
start_govs /tmp/r.conf
wait_for grep -q 'ipvs table applied' /tmp/govs.log
ipvsadm -S -n | grep -q 192.168.99.1 && fail "lvs_flush empties the table at start" || ok "lvs_flush empties the table at start"
ipvsadm -A -t 192.168.99.2:80 -s rr
stop_govs TERM
[ -z "$(ipvsadm -S -n)" ] && ok "lvs_flush_onstop empties the table on stop" || { fail "lvs_flush_onstop empties the table on stop"; ipvsadm -S -n; }
finish
