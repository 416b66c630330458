# keepalived -C and govs run -C --dataplane ipvs leave the same ipvsadm -S -n for
# keepalived's sample configurations and our forms.conf (checkers removed).
. /lib/oracle.sh
. /extra/lib.sh
for conf in /extra/*.static.conf; do
	name=$(basename $conf .static.conf)
	ipvsadm -C; ipvsadm --set 900 120 300
	start_ka $conf; stable_table; cp /tmp/stable /tmp/ka.$name; ipvsadm -L --timeout >> /tmp/ka.$name; stop_ka
	left=$(ipvsadm -S -n | wc -l)
	ipvsadm -C; ipvsadm --set 900 120 300
	start_govs $conf; stable_table; cp /tmp/stable /tmp/govs.$name; ipvsadm -L --timeout >> /tmp/govs.$name; stop_govs
	echo "## $name: $(wc -l < /tmp/ka.$name) lines of ipvsadm -S -n; after stopping keepalived $left, govs $(ipvsadm -S -n | wc -l)"
	same "$name: same table as keepalived" /tmp/ka.$name /tmp/govs.$name
	[ $name = forms ] && { echo "--- forms.conf as keepalived leaves it:"; cat /tmp/ka.$name; }
done
finish
