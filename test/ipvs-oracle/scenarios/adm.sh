# govs adm on an IPVS-backed govs prints what the real ipvsadm prints, byte for byte,
# at the same moment, for every listing format after real traffic; govs adm changes
# act on the kernel.
. /lib/oracle.sh
. /extra/lib.sh
topo 3
# lvs_sync_daemon naming no instance: the kernel's master and backup sync daemons
# together, as keepalived's checker runs them, for -L --daemon
cat > /tmp/adm.conf <<CONF
global_defs {
    lvs_sync_daemon vc id 9 port 8849
}
virtual_server $VIP 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 80 { weight 1 }
    real_server 10.0.0.2 80 { weight 2 uthreshold 50 lthreshold 5 }
}
virtual_server $VIP 443 {
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    persistence_timeout 60
    persistence_granularity 255.255.255.0
    real_server 10.0.0.1 443 { weight 1 }
    real_server 10.0.0.3 443 { weight 3 }
}
virtual_server $VIP 53 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 10.0.0.1 53 { weight 1 }
    real_server 10.0.0.2 53 { weight 1 }
}
virtual_server $VIP6 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 2001:db8:10::1 80 { weight 1 }
    real_server 2001:db8:10::2 80 { weight 1 }
}
CONF
start_govs /tmp/adm.conf
wait_for sh -c "ipvsadm -L -n | grep -q 2001:db8:10::2" || fail "govs did not program the table"
picks tcp $VIP:80 - - - - - - > /dev/null
picks tcp $VIP:443 - - > /dev/null
picks udp $VIP:53 - - - > /dev/null
picks tcp "[$VIP6]:80" - - > /dev/null
hold H $VIP:80 - - > /dev/null
sleep 3 # let the kernel's estimator produce rates

# compare ARGS...: ipvsadm ARGS prints what govs adm ARGS prints at the same moment:
# read govs, ipvsadm, govs, and take either govs read (rates and expiry timers move
# between reads); up to 5 tries
compare() {
	_t=0
	while :; do
		adm "$@" > /tmp/got1 2>&1; echo "rc=$?" >> /tmp/got1
		ipvsadm "$@" > /tmp/want 2>&1; echo "rc=$?" >> /tmp/want
		adm "$@" > /tmp/got 2>&1; echo "rc=$?" >> /tmp/got
		cmp -s /tmp/want /tmp/got1 && cp /tmp/got1 /tmp/got
		cmp -s /tmp/want /tmp/got && break
		_t=$((_t+1)); [ $_t -ge 5 ] && break
		usleep 100000
	done
	if [ "$1 $2" = "-L -c" ] && ! cmp -s /tmp/want /tmp/got; then
		# connection listings: each entry's expiry timer ticks on its own phase, so on a
		# loaded host no two reads need agree to the second; the same lines with every
		# timer within a second of ipvsadm's read is what can be asked
		if timers_close /tmp/want /tmp/got; then
			ok "govs adm $* = ipvsadm $* (expiry timers within 1 s)"
			return
		fi
	fi
	same "govs adm $* = ipvsadm $*" /tmp/want /tmp/got
}
# timers_close A B: the listings are identical but for the expiry column (mm:ss, the
# second field of a connection line), where they differ by at most one second
timers_close() {
	[ "$(wc -l < $1)" = "$(wc -l < $2)" ] || return 1
	paste -d '\n' $1 $2 | awk '
	function secs(t,  p) { split(t, p, ":"); return p[1]*60 + p[2] }
	NR % 2 == 1 { a = $0; next }
	{
		b = $0
		if (a == b) next
		na = split(a, fa, " "); nb = split(b, fb, " ")
		if (na != nb || na < 3 || fa[2] !~ /^[0-9]+:[0-9][0-9]$/ || fb[2] !~ /^[0-9]+:[0-9][0-9]$/) exit 1
		d = secs(fa[2]) - secs(fb[2]); if (d < -1 || d > 1) exit 1
		sub(/[0-9]+:[0-9][0-9]/, "", a); sub(/[0-9]+:[0-9][0-9]/, "", b)
		if (a != b) exit 1
	}'
}
compare -L -n
compare -l -n
compare -L --nosort
compare -L -n --nosort
compare -L -n --nosort --stats
compare -L --daemon
ipvsadm -L --daemon > /tmp/daemons
grep -q '^master sync daemon (mcast=vc, syncid=9' /tmp/daemons && grep -q '^backup sync daemon (mcast=vc, syncid=9' /tmp/daemons \
	&& ok "lvs_sync_daemon naming no instance runs the master and the backup daemon" \
	|| { fail "lvs_sync_daemon naming no instance runs the master and the backup daemon"; cat /tmp/daemons; }
compare -L -n --stats
compare -L -n --stats --exact
compare -L -n --rate
compare -L -n --rate --exact
compare -L -n --thresholds
compare -L -n --persistent-conn
compare -L -n --tun-info
compare -L -n -t $VIP:443
compare -L -n -t $VIP:99
compare -L -n -u $VIP:53 --stats
compare -L -c -n
compare -L -c -n --persistent-conn
compare -L --timeout
compare -S -n
echo "--- ipvsadm -L -n --nosort (the kernel's order):"
ipvsadm -L -n --nosort
echo "--- ipvsadm -L -n --stats after traffic:"
ipvsadm -L -n --stats

# govs adm changes go to the kernel and last until the next reload
adm -e -t $VIP:80 -r 10.0.0.2:80 -m -w 5
ipvsadm -S -n | grep -q -- "-a -t $VIP:80 -r 10.0.0.2:80 -m -w 5" && ok "govs adm -e edits the kernel" || fail "govs adm -e edits the kernel"
adm -a -t $VIP:80 -r 10.0.0.3:80 -i --tun-type gue --tun-port 6080 --tun-csum
ipvsadm -S -n | grep -q -- "-r 10.0.0.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum" && ok "govs adm -a adds a GUE tunnel dest to the kernel" || { fail "govs adm -a adds a GUE tunnel dest to the kernel"; ipvsadm -S -n; }
compare -L -n --tun-info
adm -d -t $VIP:80 -r 10.0.0.3:80
ipvsadm -S -n | grep -q -- "-r 10.0.0.3:80" && fail "govs adm -d deletes from the kernel" || ok "govs adm -d deletes from the kernel"
adm -A -u $VIP:5060 -s sh -b sh-port -p 30 --pe sip
ipvsadm -S -n | grep -q -- "-A -u $VIP:5060 -s sh -p 30 --pe sip -b sh-port" && ok "govs adm -A adds a service" || { fail "govs adm -A adds a service"; ipvsadm -S -n; }
adm -E -u $VIP:5060 -s rr
ipvsadm -S -n | grep -q -- "-A -u $VIP:5060 -s rr$" && ok "govs adm -E edits a service" || { fail "govs adm -E edits a service"; ipvsadm -S -n; }
adm -D -u $VIP:5060
ipvsadm -S -n | grep -q -- "$VIP:5060" && fail "govs adm -D deletes a service" || ok "govs adm -D deletes a service"
compare -S -n
kill -HUP $GV; usleep 500000
ipvsadm -S -n | grep -q -- "-a -t $VIP:80 -r 10.0.0.2:80 -m -w 2" && ok "a reload puts the configuration back" || fail "a reload puts the configuration back"
release H
stop_govs
finish
