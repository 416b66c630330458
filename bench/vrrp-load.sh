#!/usr/bin/env bash
# vrrp-load.sh — how regularly a govs VRRP master sends its adverts while the CPUs are
# saturated by busy loops, with and without vrrp_rt_priority, in interleaved rounds.
# A master whose adverts come late makes backups time out and take over for nothing.
#
# Usage (root): bench/vrrp-load.sh [-r ROUNDS] [-l HOGS]   (defaults: 2 rounds, 16 loops)
# Each round: two namespaces joined by a veth (prefix gvl<PID>), `govs run -P` master
# with advert_int 0.02 in one, tcpdump counting 600 adverts in the other, HOGS shell
# busy loops at nice 0 for at most 12 s. Prints the gaps between adverts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=2 HOGS=16
while getopts r:l: o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	l) HOGS=$OPTARG ;;
	*) exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "vrrp-load: needs root (namespaces)" >&2; exit 1; }
WORK=$(mktemp -d)
P=gvl$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del ${P}a 2>/dev/null || true
	ip netns del ${P}b 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/govs" ./cmd/govs

round() { # LABEL GLOBAL_DEFS_LINE
	ip netns add ${P}a
	ip netns add ${P}b
	ip link add ${P}0 netns ${P}a type veth peer name ${P}1 netns ${P}b
	ip -n ${P}a link set ${P}0 name eth0
	ip -n ${P}b link set ${P}1 name eth0
	ip -n ${P}a addr add 10.88.0.1/24 dev eth0
	ip -n ${P}b addr add 10.88.0.2/24 dev eth0
	for n in ${P}a ${P}b; do ip -n $n link set eth0 up; ip -n $n link set lo up; done
	cat > "$WORK/k.conf" <<EOC
global_defs {
    $2
}
vrrp_instance V {
    state MASTER
    interface eth0
    virtual_router_id 88
    priority 150
    version 3
    advert_int 0.02
    virtual_ipaddress {
        10.88.0.100/24
    }
}
EOC
	ip netns exec ${P}a "$WORK/govs" run -P -f "$WORK/k.conf" > "$WORK/log" 2>&1 &
	local govs=$!
	pids+=("$govs")
	sleep 1.5
	ip netns exec ${P}b timeout 14 tcpdump -i eth0 -tt -n -c 600 'ip proto 112' > "$WORK/cap" 2>/dev/null &
	local dump=$!
	sleep 0.5
	local hogs=()
	for _ in $(seq "$HOGS"); do
		timeout 12 sh -c 'while :; do :; done' &
		hogs+=($!)
	done
	pids+=("${hogs[@]}")
	wait "$dump" || true
	kill "$govs" "${hogs[@]}" 2>/dev/null || true
	wait "$govs" "${hogs[@]}" 2>/dev/null || true
	awk '{t=$1; if (p) print (t-p)*1000; p=t}' "$WORK/cap" | sort -n |
		awk -v l="$1" '{a[NR]=$1} END {if (NR == 0) {print l ": no adverts"; exit} printf "%-8s %4d gaps  median %5.1f ms  p99 %5.1f ms  max %5.1f ms\n", l, NR, a[int((NR+1)/2)], a[int(NR*0.99)], a[NR]}'
	ip netns del ${P}a
	ip netns del ${P}b
}

echo "advert_int 20 ms, $HOGS busy loops, $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
	round normal ""
	round rt50 "vrrp_rt_priority 50"
done
