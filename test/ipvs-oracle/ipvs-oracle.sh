#!/bin/bash
# ipvs-oracle.sh — a real Debian 12 kernel with IPVS under qemu, for govs's kernel tests.
# (Brought into the repo from the shared IPVS oracle; the repo does not depend on it.)
#
# Boots Debian 12's own kernel (linux-image-amd64, 6.1.x, IPVS as modules) under qemu with a
# busybox initramfs that holds ipvsadm 1.31, iproute2 (ip, tc), the ip_vs* modules and a
# small static helper ("probe": TCP/UDP client and named server), and the host's keepalived
# (Debian package) with its libraries, so keepalived can run against the same kernel.
# Runs TEST.sh inside the guest as root (with /lib/oracle.sh available for the namespace topology) and prints
# everything TEST.sh wrote to stdout/stderr. Exit code = TEST.sh's exit code (124 on timeout).
# The guest has NO network device (qemu -nodefaults -nic none); all traffic stays in
# network namespaces inside the guest.
#
# usage: ipvs-oracle.sh [options] TEST.sh [FILE...]
#   FILE...          extra files copied into the guest under /extra/ (by basename)
#   --setup          install host packages (apt), download the debs, build the base image
#                    if needed (done automatically on first use; no TEST.sh needed)
#   --rebuild        force a rebuild of the base image (it is also rebuilt by itself when
#                    guest/, probe/ or this script changed)
#   --timeout SEC    limit for one qemu run (default 300, env IPVS_ORACLE_TIMEOUT)
#   --smp N          guest vCPUs (default 1, env IPVS_ORACLE_SMP)
#   --console        also copy the guest kernel console to stderr at the end
#   --info           print kernel / ipvsadm versions of the cached image and exit
# env: IPVS_ORACLE_CACHE (default /var/tmp/govs-ipvs-oracle), IPVS_ORACLE_ACCEL (kvm|tcg).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${IPVS_ORACLE_CACHE:-/var/tmp/govs-ipvs-oracle}
TIMEOUT=${IPVS_ORACLE_TIMEOUT:-300}
SMP=${IPVS_ORACLE_SMP:-1}
MEM=${IPVS_ORACLE_MEM:-1024}
CONSOLE=0
SETUP=0
REBUILD=0
INFO=0

die() { echo "ipvs-oracle: $*" >&2; exit 2; }
log() { echo "ipvs-oracle: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--setup) SETUP=1 ;;
	--rebuild) REBUILD=1 ;;
	--timeout) TIMEOUT=$2; shift ;;
	--smp) SMP=$2; shift ;;
	--console) CONSOLE=1 ;;
	--info) INFO=1 ;;
	-h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done

# Modules loaded at boot (dependencies come from modules.dep). twos does not exist in 6.1.
# xfrm_user and nfnetlink: the netlink families a netlink handle opens besides route
# (govs's VRRP), which a Debian host autoloads. nf_tables: nftables_ipvs's marks.
MODULES="veth dummy xfrm_user nfnetlink nf_tables ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed ip_vs_nq ip_vs_sh
ip_vs_dh ip_vs_mh ip_vs_lblc ip_vs_lblcr ip_vs_fo ip_vs_ovf ip_vs_ftp ip_vs_pe_sip
sch_ingress cls_matchall cls_u32 act_skbedit"
# Shipped but not loaded at boot (available to modprobe / kernel autoload).
EXTRA_MODULES="bridge crc32c_generic crc32c-intel"

need_cmd() { command -v "$1" >/dev/null 2>&1; }

install_host_packages() {
	local pk=()
	need_cmd qemu-system-x86_64 || pk+=(qemu-system-x86)
	[ -x /bin/busybox ] || pk+=(busybox-static)
	need_cmd cpio || pk+=(cpio)
	need_cmd depmod || [ -x /sbin/depmod ] || pk+=(kmod)
	need_cmd ip || pk+=(iproute2)
	[ -x /usr/sbin/keepalived ] || pk+=(keepalived)
	[ -x /usr/sbin/snmpd ] || pk+=(snmpd)
	need_cmd snmpwalk || pk+=(snmp)
	need_cmd nft || [ -x /usr/sbin/nft ] || pk+=(nftables)
	need_cmd go || die "go toolchain needed to build the probe helper"
	if [ ${#pk[@]} -gt 0 ]; then
		log "installing ${pk[*]}"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pk[@]}" >/dev/null
	fi
	# busybox-static must be the static one
	file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
		die "/bin/busybox is not static (install busybox-static)"
}

download_debs() {
	mkdir -p "$CACHE/debs"
	if ! ls "$CACHE"/debs/linux-image-*.deb >/dev/null 2>&1; then
		# a clean machine may have no package lists yet ("Candidate: (none)")
		apt-cache policy linux-image-amd64 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq >/dev/null
		local kpkg
		kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
		log "downloading $kpkg ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0"
		(cd "$CACHE/debs" && apt-get download -qq "$kpkg" ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0 2>/dev/null)
	fi
}

copy_with_libs() { # copy_with_libs ROOT BIN... : binaries + shared libraries (+ loader)
	local root=$1; shift
	local b lib
	for b in "$@"; do
		LD_LIBRARY_PATH="$CACHE/stage/lib/x86_64-linux-gnu:$CACHE/stage/usr/lib/x86_64-linux-gnu" ldd "$b" |
			awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r lib; do
			mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
			case $lib in
			/lib64/*) cp -L "$lib" "$root/lib64/" ;;
			*) cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
			esac
		done
	done
}

build_base() {
	install_host_packages
	download_debs
	rm -rf "$CACHE/stage" "$CACHE/root"
	mkdir -p "$CACHE/stage" "$CACHE/root"
	local d
	for d in "$CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$CACHE/stage"; done
	local kver
	kver=$(ls "$CACHE/stage/lib/modules" | head -1)
	[ -n "$kver" ] || die "no kernel modules in stage"
	PATH=$PATH:/sbin:/usr/sbin depmod -b "$CACHE/stage" "$kver"

	local R=$CACHE/root
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/sbin,etc,proc,sys,dev,tmp,run,root,var/run,lib/modules/$kver}
	cp /bin/busybox "$R/bin/busybox"
	local a
	for a in $(/bin/busybox --list-full); do
		[ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
	done
	# real iproute2 (busybox ip has no netns support) and ipvsadm 1.31 from the deb
	rm -f "$R/sbin/ip" "$R/sbin/tc"
	cp "$(command -v ip)" "$R/sbin/ip"
	cp "$(command -v tc)" "$R/sbin/tc" 2>/dev/null || true
	cp "$CACHE/stage/sbin/ipvsadm" "$R/sbin/ipvsadm"
	# keepalived (the host's Debian package) as a peer: same kernel, same work, side by side
	cp /usr/sbin/keepalived "$R/sbin/keepalived"
	# snmpd (master agentx), snmpwalk and snmpset, for KEEPALIVED-MIB's checker part (snmp-checker.sh)
	cp /usr/sbin/snmpd "$R/usr/sbin/snmpd"
	cp "$(command -v snmpwalk)" "$R/usr/bin/snmpwalk"
	cp "$(command -v snmpset)" "$R/usr/bin/snmpset"
	# nft, to read the nftables_ipvs tables keepalived and govs make
	cp /usr/sbin/nft "$R/usr/sbin/nft"
	copy_with_libs "$R" "$R/sbin/ip" "$R/sbin/ipvsadm" "$R/sbin/keepalived" "$R/usr/sbin/snmpd" "$R/usr/bin/snmpwalk" "$R/usr/bin/snmpset" "$R/usr/sbin/nft" $( [ -f "$R/sbin/tc" ] && echo "$R/sbin/tc")
	# probe helper (static Go binary)
	(cd "$HERE/probe" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$R/bin/probe" .)
	# modules: closure over modules.dep
	local MD=$CACHE/stage/lib/modules/$kver
	local want m f dep
	want=$(
		for m in $MODULES $EXTRA_MODULES; do
			f=$(awk -F: -v m="$m" '{n=$1; sub(/.*\//,"",n); sub(/\.ko(\.xz|\.zst)?$/,"",n); gsub(/-/,"_",n); mm=m; gsub(/-/,"_",mm); if (n==mm) {print $0; exit}}' "$MD/modules.dep")
			[ -n "$f" ] || { echo "MISSING:$m"; continue; }
			echo "${f%%:*}"
			for dep in ${f#*:}; do echo "$dep"; done
		done | sort -u)
	echo "$want" | grep '^MISSING:' >&2 && die "modules missing"
	for f in $want; do
		mkdir -p "$R/lib/modules/$kver/$(dirname "$f")"
		cp "$MD/$f" "$R/lib/modules/$kver/$f"
	done
	# a modules.dep restricted to what we ship
	awk -F: 'NR==FNR{w[$1]=1; next} ($1 in w)' <(echo "$want") "$MD/modules.dep" > "$R/lib/modules/$kver/modules.dep"
	cp "$MD"/modules.{alias,softdep,builtin,order} "$R/lib/modules/$kver/" 2>/dev/null || true
	echo $MODULES | tr ' ' '\n' > "$R/etc/oracle-modules"
	# etc
	cp /etc/services /etc/protocols "$R/etc/" 2>/dev/null || true
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
	printf 'hosts: files\nnetworks: files\nservices: files\nprotocols: files\n' > "$R/etc/nsswitch.conf"
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
	printf 'root:x:0:\n' > "$R/etc/group"
	cp "$HERE/guest/init" "$R/init"
	chmod +x "$R/init"
	mkdir -p "$R/lib"
	cp "$HERE/guest/oracle.sh" "$R/lib/oracle.sh"
	# versions, for the record
	{
		echo "kernel: $kver ($(ls "$CACHE"/debs/linux-image-*.deb | xargs -n1 basename))"
		echo "ipvsadm: $(ls "$CACHE"/debs/ipvsadm_*.deb | xargs -n1 basename)"
		echo "busybox: $(/bin/busybox | head -1)"
		echo "iproute2: $(ip -V)"
		echo "keepalived: $(/usr/sbin/keepalived --version 2>&1 | head -1)"
		echo "snmpd: $(/usr/sbin/snmpd -v 2>&1 | grep -m1 version)"
		echo "nft: $(/usr/sbin/nft -v 2>&1)"
	} > "$R/etc/oracle-versions"
	cp "$R/etc/oracle-versions" "$CACHE/versions"
	(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) > "$CACHE/base.cpio.gz.tmp"
	mv "$CACHE/base.cpio.gz.tmp" "$CACHE/base.cpio.gz"
	cp "$CACHE/stage/boot/vmlinuz-$kver" "$CACHE/vmlinuz"
	log "base image ready: $CACHE/base.cpio.gz ($(du -h "$CACHE/base.cpio.gz" | cut -f1)), kernel $kver"
}

# The base image is rebuilt when missing, on --rebuild, or when guest/, probe/ or this script
# changed since it was built (content hash in $CACHE/stamp).
STAMP=$(cat "$0" "$HERE"/guest/* "$HERE"/probe/*.go "$HERE"/probe/go.mod | sha256sum | cut -c1-16)
if [ $REBUILD = 1 ] || [ ! -f "$CACHE/base.cpio.gz" ] || [ ! -f "$CACHE/vmlinuz" ] ||
	[ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ $REBUILD = 1 ] || [ ! -f "$CACHE/base.cpio.gz" ] || [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
		build_base
		echo "$STAMP" > "$CACHE/stamp"
	fi
	exec 9>&-
fi
if [ $INFO = 1 ]; then cat "$CACHE/versions"; exit 0; fi
if [ $# -lt 1 ]; then
	[ $SETUP = 1 ] || [ $REBUILD = 1 ] && exit 0
	die "usage: ipvs-oracle.sh [options] TEST.sh [FILE...]"
fi
TEST=$1; shift
[ -f "$TEST" ] || die "no such file: $TEST"

ACCEL=${IPVS_ORACLE_ACCEL:-}
if [ -z "$ACCEL" ]; then
	ACCEL=tcg  # nested KVM on the dev VM hangs; set IPVS_ORACLE_ACCEL=kvm to try it
fi
CPU=max
[ "$ACCEL" = kvm ] && CPU=host

TMP=$(mktemp -d /tmp/ipvs-oracle-run.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/ov/extra"
cp "$TEST" "$TMP/ov/test.sh"
for f in "$@"; do cp "$f" "$TMP/ov/extra/"; done
(cd "$TMP/ov" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) > "$TMP/ov.cpio.gz"
cat "$CACHE/base.cpio.gz" "$TMP/ov.cpio.gz" > "$TMP/initrd"
: > "$TMP/out"
: > "$TMP/console"
set +e
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
	-nodefaults -no-user-config -display none -no-reboot \
	-accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM" \
	-nic none \
	-kernel "$CACHE/vmlinuz" -initrd "$TMP/initrd" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic" \
	-serial "file:$TMP/console" -serial "file:$TMP/out" \
	</dev/null >"$TMP/qemu.log" 2>&1
qrc=$?
set -e
cat "$TMP/out"
rc=$(sed -n 's/.*ORACLE-RC=\([0-9]*\).*/\1/p' "$TMP/console" | tail -1)
if [ $CONSOLE = 1 ]; then
	echo "----- guest console -----" >&2
	tr -d '\r' < "$TMP/console" >&2
	cat "$TMP/qemu.log" >&2
fi
if [ -z "$rc" ]; then
	log "guest did not finish (qemu rc=$qrc, accel=$ACCEL); console tail:"
	tr -d '\r' < "$TMP/console" | tail -30 >&2
	cat "$TMP/qemu.log" >&2
	[ $qrc = 124 ] || [ $qrc = 137 ] && exit 124
	exit 3
fi
exit "$rc"
