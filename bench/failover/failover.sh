#!/usr/bin/env bash
# failover.sh — VRRP failover-time harness: two directors share a VIP, a client
# probes VIP:80 every 10 ms, and we break the master in four ways. keepalived and govs
# (or any keepalived-compatible daemon) run side by side, their runs interleaved.
# Adapted from the reference harness the keepalived figures were first taken with;
# everything it needs is in this directory (probe.py, analyze.py) and the repository.
#
# Topology (created here, removed on exit; nothing in the root ns, not even the bridge):
#   ns ${P}br: bridge br0 (no address), ports p-lb1 p-lb2 p-client
#     ├─ ns ${P}lb1     eth0 10.99.0.1/24   nginx :80 answers "lb1"   VRRP prio 150
#     ├─ ns ${P}lb2     eth0 10.99.0.2/24   nginx :80 answers "lb2"   VRRP prio 100
#     └─ ns ${P}client  eth0 10.99.0.10/24  probe.py -> 10.99.0.100:80
#   P = $FO_PREFIX (default "fo-"), VIP 10.99.0.100/24, VRID 51, auth PASS (v2).
#
# Usage:
#   failover.sh [options] [run]      full matrix (default)
#   failover.sh [options] soak       false-failover soak under load (see below)
#   failover.sh up | down            build / remove the topology only (debugging)
#   failover.sh summarize DIR        re-print the summary of a finished run dir
#
# Options (each has an environment twin, in brackets):
#   -d SPEC     a daemon to measure; repeat to compare several in ONE run (runs are
#               interleaved). Default: -d keepalived -d govs. SPEC is one of
#                 keepalived              the built-in keepalived template
#                 govs                    the built-in govs template: $GOVS_BIN run -P -f {conf}
#                                         (GOVS_BIN unset: built from this repository)
#                 LABEL=TEMPLATE          TEMPLATE for both nodes
#                 LABEL@lb1=TEMPLATE      TEMPLATE for lb1 only (likewise @lb2), e.g.
#                                         to run keepalived on one node, ours on the other;
#                                         TEMPLATE "keepalived" = the built-in one
#               [DAEMON_CMD + DAEMON_LABEL = one LABEL=TEMPLATE spec]
#   -m MATRIX   "VERSION:ADVERT ..." pairs   [MATRIX, default "2:1 3:0.1"]
#   -s LIST     scenarios, each optionally with its own run count (SCEN:N overrides -r)
#               [SCENARIOS, default "sigkill:20 sigterm:5 preempt:5 linkdown:20"]
#   -r N        runs per scenario without :N  [RUNS, default 5]
#   -o DIR      results dir [OUT_DIR, default /tmp/failover-results/failover-<labels>-<date>]
#
# TEMPLATE: a shell command line that starts ONE VRRP daemon in the FOREGROUND
#   (it must not daemonize; its own children are fine). It is run as
#     ip netns exec <ns> bash -c "exec TEMPLATE"        (DAEMON_IN_NS=1, default)
#     bash -c "exec TEMPLATE"   in the root ns           (DAEMON_IN_NS=0: enter {ns} yourself)
#   so the exec'd process is the daemon's PID. Placeholders:
#     {ns} netns name   {node} lb1|lb2   {conf} keepalived.conf generated for this node
#     {iface} interface (eth0)   {prio} priority   {state} MASTER|BACKUP
#     {addr} node address   {vip} VIP   {vrid}   {advert}   {version}   {rundir} per-node dir
#   stdout+stderr go to the run's <node>.log. Built-in keepalived template:
#     /usr/sbin/keepalived -P -n -l -D -G -f {conf} -p {rundir}/keepalived.pid -r {rundir}/vrrp.pid
#   The generated config is plain keepalived syntax (global_defs + one vrrp_instance),
#   so a keepalived-compatible daemon is started with e.g.
#     -d 'govs=/path/govs run -P -f {conf}'
#
# Scenarios (the "old" node loses the VIP to the "new" one):
#   sigkill   lb1's daemon tree is SIGSTOPped then SIGKILLed (crash; keepalived's
#             parent would otherwise respawn its VRRP child). VIP stays on lb1.
#   sigterm   SIGTERM to lb1's daemon (graceful: keepalived sends priority 0)
#   preempt   lb1 stopped with SIGTERM, lb2 master and stable, then lb1 started
#             again: event = start of lb1, new node = lb1 (switch-back)
#   linkdown  `ip link set eth0 down` in lb1 (LINK_SIDE=bridge: the bridge port)
#
# Other environment: FO_PREFIX (fo-), LB1_PRIO (150) LB2_PRIO (100) LB1_STATE (MASTER)
#   LB2_STATE (BACKUP), VRID (51), AUTH_PASS (govsbnch), KA_GLOBAL_EXTRA / KA_INSTANCE_EXTRA
#   (lines added to the generated config), PROBE_INTERVAL (0.010) PROBE_TIMEOUT (0.050),
#   STABLE_PROBES (50 consecutive answers = stable), SETTLE_AFTER (1.0 s recorded after
#   the new node is stable), PCAP (1: tcpdump 'vrrp or arp' on the bridge -> vrrp_ms),
#   LINK_SIDE (ns), WORK (/tmp/failover-bench-<prefix>: generated configs, pid files, nginx),
#   GOVS_BIN (the govs binary; unset: `go build` of ../../cmd/govs into $WORK).
#
# Soak (`soak`): both daemons of each label run for SOAK_SECONDS (600) at SOAK_MATRIX
#   ("3:0.02") while wrk (SOAK_WRK_THREADS 2, SOAK_WRK_CONNS 64) saturates the master's
#   data plane from the client: govs runs without -P and proxies VIP:8080 to both nginx
#   (its userspace proxy plane); keepalived has no userspace plane (and this kernel no
#   IPVS), so wrk loads nginx on the master through VIP:80 instead, the same CPU pressure
#   on the node. Reports false failovers (state changes, adverts from the backup) and the
#   master's advert interval jitter from the bridge capture; results in DIR/soak.txt.
#
# Output: stdout gets the summary, one line per (daemon, version, advert, scenario):
#   daemon ver advert scenario ok/n  to_med to_min to_max  gap_md gap_mn gap_mx
#          f_med f_min f_max  adv_md adv_mn adv_mx  busy  theory_ms
#   to_*  takeover: event -> first HTTP answer from the new node (ms)
#   gap_* longest time between two successful answers around the event (ms; 10 = none lost)
#   f_*   failed probes (of 100/s) from the event on
#   adv_* event -> first VRRP advert from the new node, from the bridge capture (ms)
#   busy  median whole-machine CPU busy % during the runs (noise indicator; 2 cores here)
#   theory_ms  RFC expectation of the takeover (see analyze.py)
# Per-run raw data (probe.log, node logs, pcap, event) and runs.tsv are kept in the
# results dir. Logs go to stderr.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=${FO_PREFIX:-fo-}
BRNS=${P}br   # the namespace that holds the bridge br0
BR=br0
IFACE=eth0
VIP=10.99.0.100
VIP_CIDR=$VIP/24
declare -A ADDR=([lb1]=10.99.0.1 [lb2]=10.99.0.2 [client]=10.99.0.10)
declare -A PRIO=([lb1]=${LB1_PRIO:-150} [lb2]=${LB2_PRIO:-100})
declare -A STATE=([lb1]=${LB1_STATE:-MASTER} [lb2]=${LB2_STATE:-BACKUP})
VRID=${VRID:-51}
AUTH_PASS=${AUTH_PASS:-govsbnch}
MATRIX=${MATRIX:-"2:1 3:0.1"}
SCENARIOS=${SCENARIOS:-"sigkill:20 sigterm:5 preempt:5 linkdown:20"}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_MATRIX=${SOAK_MATRIX:-"3:0.02"}
SOAK_WRK_THREADS=${SOAK_WRK_THREADS:-2}
SOAK_WRK_CONNS=${SOAK_WRK_CONNS:-64}
GOVS_BIN=${GOVS_BIN:-}
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
RUNS=${RUNS:-5}
PROBE_INTERVAL=${PROBE_INTERVAL:-0.010}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-0.050}
STABLE_PROBES=${STABLE_PROBES:-50}
SETTLE_AFTER=${SETTLE_AFTER:-1.0}
PCAP=${PCAP:-1}
LINK_SIDE=${LINK_SIDE:-ns}
DAEMON_IN_NS=${DAEMON_IN_NS:-1}
WORK=${WORK:-/tmp/failover-bench-${P%-}}
OUT_DIR=${OUT_DIR:-}
KEEPALIVED_CMD='/usr/sbin/keepalived -P -n -l -D -G -f {conf} -p {rundir}/keepalived.pid -r {rundir}/vrrp.pid'
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
NODES=(lb1 lb2)
export PROBE_TIMEOUT

log() { echo "[failover $(date +%T.%3N)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
ns() { echo "${P}$1"; }
port() { echo "p-$1"; }               # a node's veth end in the bridge namespace
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
brx() { ip -n "$BRNS" "$@"; }         # ip(8) in the bridge namespace

# ---------------------------------------------------------------- topology
topo_exists() { ip netns list | grep -qE "^(${P}lb1|${P}lb2|${P}client|${P}br)( |$)"; }

topo_up() {
  log "topology up: bridge $BR in ns $BRNS, namespaces ${P}lb1 ${P}lb2 ${P}client"
  ip netns add "$BRNS"
  brx link add "$BR" type bridge stp_state 0 forward_delay 0
  ip netns exec "$BRNS" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$BR/disable_ipv6"
  brx link set "$BR" up
  local n
  for n in lb1 lb2 client; do
    ip netns add "$(ns "$n")"
    brx link add "$(port "$n")" type veth peer name "$IFACE" netns "$(ns "$n")"
    ip netns exec "$BRNS" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$(port "$n")/disable_ipv6"
    brx link set "$(port "$n")" master "$BR" up
    ip -n "$(ns "$n")" link set lo up
    ip -n "$(ns "$n")" addr add "${ADDR[$n]}/24" dev "$IFACE"
    ip -n "$(ns "$n")" link set "$IFACE" up
  done
  # The soak's client opens thousands of connections a second to a non-loopback VIP:
  # without reuse its TIME_WAIT ports run out and wrk, not the director, becomes the
  # bottleneck.
  ip netns exec "$(ns client)" sysctl -qw net.ipv4.tcp_tw_reuse=1
}

# Kill, by PID, every process living in one of our namespaces (only ours live there).
kill_ns_pids() {
  local n pids
  for n in lb1 lb2 client; do
    pids=$(ip netns pids "$(ns "$n")" 2>/dev/null || true)
    [ -n "$pids" ] || continue
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
  done
  sleep 0.5
  for n in lb1 lb2 client; do
    pids=$(ip netns pids "$(ns "$n")" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  done
}

topo_down() {
  kill_ns_pids
  local n
  for n in lb1 lb2 client; do
    ip netns del "$(ns "$n")" 2>/dev/null || true
  done
  ip netns del "$BRNS" 2>/dev/null || true
  log "topology down"
}

# ---------------------------------------------------------------- processes we start
declare -A DPID=()     # node -> daemon PID
NGINX_PIDS=()
PROBE_PID=""
TCPDUMP_PID=""

# PID and all its descendants, parents first.
tree_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " ");
          for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}

alive() { # pid: exists and is not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ]
}

wait_gone() { # timeout_s pid... ; 0 when none is alive
  local deadline=$((${EPOCHREALTIME/./} + ${1%.*} * 1000000)) p any
  shift
  while :; do
    any=0
    for p in "$@"; do alive "$p" && { any=1; break; }; done
    [ $any = 0 ] && return 0
    [ "${EPOCHREALTIME/./}" -gt "$deadline" ] && return 1
    sleep 0.02
  done
}

# Every background process is disowned right after its start (bash still reaps it, but
# prints no "Killed" job notice); this waits until it has exited.
reap() { wait_gone 5 "$1" || true; }

nginx_up() {
  local n d
  for n in "${NODES[@]}"; do
    d=$WORK/$n/nginx
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 0;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 0.0.0.0:80;
        location / { default_type text/plain; return 200 "$n\n"; }
    }
}
EOF
    # background launches name ip(8) directly: `func &` would fork a subshell and $! would
    # be that subshell, not the process we want to signal.
    ip netns exec "$(ns "$n")" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" </dev/null >"$d/stdout.log" 2>&1 &
    NGINX_PIDS+=($!); disown $!
  done
  for n in "${NODES[@]}"; do
    local i
    for ((i = 0; i < 100; i++)); do
      [ "$(nsx client "$PY" -c "import socket;s=socket.create_connection(('${ADDR[$n]}',80),1);s.sendall(b'GET / HTTP/1.0\r\n\r\n');print(s.recv(999).split(b'\r\n\r\n')[-1].decode().strip())" 2>/dev/null)" = "$n" ] && break
      sleep 0.05
    done
    [ $i -lt 100 ] || die "nginx in $(ns "$n") does not answer"
  done
  log "nginx answers on ${ADDR[lb1]}:80 (lb1) and ${ADDR[lb2]}:80 (lb2)"
}

# SIGTERM to each root at once, 5 s grace, then SIGKILL whatever is left of their trees.
stop_pid_trees() { # root_pid...
  local pids=() r
  for r in "$@"; do mapfile -t -O "${#pids[@]}" pids < <(tree_pids "$r"); done
  kill -TERM "$@" 2>/dev/null || true
  if ! wait_gone 5 "${pids[@]}"; then
    log "pids $* did not stop within 5 s of SIGTERM: SIGKILL"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 2 "${pids[@]}" || true
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [ -z "$PROBE_PID" ] || { kill -TERM "$PROBE_PID" 2>/dev/null || true; reap "$PROBE_PID"; }
  [ -z "$TCPDUMP_PID" ] || { kill -TERM "$TCPDUMP_PID" 2>/dev/null || true; reap "$TCPDUMP_PID"; }
  stop_daemons
  [ ${#NGINX_PIDS[@]} = 0 ] || stop_pid_trees "${NGINX_PIDS[@]}"
  [ "${TOPO_MINE:-0}" = 1 ] && topo_down
  exit $rc
}

# ---------------------------------------------------------------- VRRP daemons
declare -A TEMPLATE=()   # "label node" -> template
LABELS=()

add_daemon_spec() {
  local spec=$1 label rest node=""
  if [ "$spec" = keepalived ]; then label=keepalived rest=$KEEPALIVED_CMD
  elif [ "$spec" = govs ]; then label=govs rest='{govs} run -P -f {conf}'
  else
    [[ $spec == *=* ]] || die "-d $spec: want keepalived, LABEL=TEMPLATE or LABEL@lb1=TEMPLATE"
    label=${spec%%=*} rest=${spec#*=}
    if [[ $label == *@* ]]; then node=${label#*@} label=${label%@*}
      [[ $node == lb1 || $node == lb2 ]] || die "-d $spec: node must be lb1 or lb2"
    fi
    [ "$rest" != keepalived ] || rest=$KEEPALIVED_CMD
    [ "$rest" != govs ] || rest='{govs} run -P -f {conf}'
  fi
  [[ $label =~ ^[A-Za-z0-9._+-]+$ ]] || die "-d $spec: label must match [A-Za-z0-9._+-]+"
  [[ " ${LABELS[*]} " == *" $label "* ]] || LABELS+=("$label")
  if [ -n "$node" ]; then TEMPLATE["$label $node"]=$rest
  else
    [ -n "${TEMPLATE["$label lb1"]:-}" ] || TEMPLATE["$label lb1"]=$rest
    [ -n "${TEMPLATE["$label lb2"]:-}" ] || TEMPLATE["$label lb2"]=$rest
  fi
}

gen_conf() { # node version advert -> $WORK/node/keepalived.conf
  local n=$1 ver=$2 adv=$3 auth=""
  if [ "$ver" = 2 ]; then
    auth="    authentication {
        auth_type PASS
        auth_pass $AUTH_PASS
    }"
  fi  # RFC 5798 removed authentication; keepalived ignores it for v3 with a warning
  cat >"$WORK/$n/keepalived.conf" <<EOF
# generated by failover.sh for $n (VRRPv$ver, advert_int $adv)
global_defs {
    router_id $n
    ${KA_GLOBAL_EXTRA:-}
}

vrrp_instance VI_BENCH {
    state ${STATE[$n]}
    interface $IFACE
    virtual_router_id $VRID
    priority ${PRIO[$n]}
    advert_int $adv
    version $ver
$auth
    virtual_ipaddress {
        $VIP_CIDR dev $IFACE
    }
    ${KA_INSTANCE_EXTRA:-}
}
EOF
  if [ "${SOAK_VS:-0}" = 1 ]; then
    # the data plane the soak saturates (govs; keepalived -P ignores the block)
    cat >>"$WORK/$n/keepalived.conf" <<EOF

virtual_server $VIP 8080 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server ${ADDR[lb1]} 80 {
        weight 1
    }
    real_server ${ADDR[lb2]} 80 {
        weight 1
    }
}
EOF
  fi
}

expand() { # label node version advert -> command line
  local c=${TEMPLATE["$1 $2"]} n=$2
  c=${c//\{ns\}/$(ns "$n")}
  c=${c//\{node\}/$n}
  c=${c//\{conf\}/$WORK/$n/keepalived.conf}
  c=${c//\{iface\}/$IFACE}
  c=${c//\{prio\}/${PRIO[$n]}}
  c=${c//\{state\}/${STATE[$n]}}
  c=${c//\{addr\}/${ADDR[$n]}}
  c=${c//\{vip\}/$VIP}
  c=${c//\{vrid\}/$VRID}
  c=${c//\{version\}/$3}
  c=${c//\{advert\}/$4}
  c=${c//\{rundir\}/$WORK/$n}
  c=${c//\{govs\}/$GOVS_BIN}
  echo "$c"
}

start_daemon() { # label node version advert logfile
  local cmd
  cmd=$(expand "$1" "$2" "$3" "$4")
  echo "### $(date +%T.%N) start: $cmd" >>"$5"
  if [ "$DAEMON_IN_NS" = 1 ]; then
    ip netns exec "$(ns "$2")" bash -c "exec $cmd" </dev/null >>"$5" 2>&1 &
  else
    bash -c "exec $cmd" </dev/null >>"$5" 2>&1 &
  fi
  DPID[$2]=$!
  disown $!
}

stop_daemons() { # node... (default: all); graceful, then forced
  local roots=() n
  [ $# -gt 0 ] || set -- "${!DPID[@]}"
  for n in "$@"; do [ -z "${DPID[$n]:-}" ] || roots+=("${DPID[$n]}"); done
  [ ${#roots[@]} = 0 ] || stop_pid_trees "${roots[@]}"
  for n in "$@"; do unset "DPID[$n]"; done
}

crash_daemon() { # node: SIGSTOP the whole tree (nobody reacts), then SIGKILL it. Sets T0.
  local n=$1 pids rev=() i
  mapfile -t pids < <(tree_pids "${DPID[$n]}")
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do rev+=("${pids[i]}"); done
  T0=$EPOCHREALTIME
  kill -STOP "${pids[@]}" 2>/dev/null || true
  kill -KILL "${rev[@]}" 2>/dev/null || true
  wait_gone 2 "${pids[@]}" || log "crash of $n: tree not gone after 2 s"
  unset "DPID[$n]"
}

has_vip() { ip -n "$(ns "$1")" -4 -o addr show dev "$IFACE" 2>/dev/null | grep -qF " $VIP/"; }

reset_nodes() { # no daemons, no VIP, every link up
  local n
  stop_daemons
  for n in "${NODES[@]}"; do
    brx link set "$(port "$n")" up
    ip -n "$(ns "$n")" link set "$IFACE" up
    ip -n "$(ns "$n")" addr del "$VIP_CIDR" dev "$IFACE" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- probe
probe_start() { # logfile
  ip netns exec "$(ns client)" "$PY" "$SCRIPT_DIR/probe.py" --host "$VIP" --port 80 \
    --interval "$PROBE_INTERVAL" --timeout "$PROBE_TIMEOUT" --max-seconds 300 \
    --out "$1" </dev/null >/dev/null 2>>"${1%.log}.err" &
  PROBE_PID=$!
  disown $!
}

probe_stop() {
  [ -n "$PROBE_PID" ] || return 0
  kill -TERM "$PROBE_PID" 2>/dev/null || true
  reap "$PROBE_PID"
  PROBE_PID=""
}

# Wait until the last N finished probes were all answered by NODE. 1 on timeout,
# 2 as soon as one of the given PIDs (the daemons that should get there) has exited.
wait_answers() { # logfile node n timeout_s [pid...]
  local log=$1 node=$2 n=$3 deadline=$((${EPOCHREALTIME/./} + ${4%.*} * 1000000)) p
  shift 4
  while [ "${EPOCHREALTIME/./}" -le "$deadline" ]; do
    if [ -s "$log" ] && tail -n "$n" "$log" | awk -v node="$node" -v n="$n" \
         '$3 == "ok" && $4 == node { c++ } END { exit !(c == n) }'; then
      return 0
    fi
    for p in "$@"; do alive "$p" || return 2; done
    sleep 0.05
  done
  return 1
}

pcap_start() { # file
  [ "$PCAP" = 1 ] || return 0
  ip netns exec "$BRNS" tcpdump -i "$BR" -U -n -s 128 -w "$1" 'vrrp or arp' </dev/null >/dev/null 2>"${1%.pcap}.tcpdump.err" &
  TCPDUMP_PID=$!
  disown $!
  sleep 0.3   # tcpdump needs a moment before it captures
}

pcap_stop() { # pcap file -> vrrp.txt beside it
  [ -n "$TCPDUMP_PID" ] || return 0
  sleep 0.1
  kill -TERM "$TCPDUMP_PID" 2>/dev/null || true
  reap "$TCPDUMP_PID"
  TCPDUMP_PID=""
  tcpdump -r "$1" -tt -nn vrrp 2>/dev/null >"$(dirname "$1")/vrrp.txt" || true
}

# ---------------------------------------------------------------- one run
# whole-machine CPU, from /proc/stat: "busy_ticks total_ticks"; busy includes steal
cpu_snapshot() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat; }
busy_pct() { # "snapshot_before" "snapshot_after"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# sleep in the background and wait for it, so that a signal to the harness is handled at once
fsleep() { sleep "$(awk -v x="$1" 'BEGIN { printf "%.3f", x }')" & wait $!; }

# phase: sleep 2 advert intervals (min 0.5 s) + a uniformly random fraction of one, so that
# the event falls at a random point of the advert cycle.
settle() { # advert
  fsleep "$(awk -v a="$1" -v r="$RANDOM" 'BEGIN { b = 2 * a; if (b < 0.5) b = 0.5; print b + a * r / 32768 }')"
}

run_one() { # label version advert scenario idx
  local label=$1 ver=$2 adv=$3 scen=$4 idx=$5 rd old=lb1 new=lb2 t_max row n rc cpu0 busy
  rd=$OUT_DIR/runs/$label-v$ver-a$adv-$scen-$idx
  mkdir -p "$rd"
  reset_nodes
  for n in "${NODES[@]}"; do gen_conf "$n" "$ver" "$adv"; cp "$WORK/$n/keepalived.conf" "$rd/$n.conf"; done
  pcap_start "$rd/bridge.pcap"
  probe_start "$rd/probe.log"
  cpu0=$(cpu_snapshot)
  start_daemon "$label" lb1 "$ver" "$adv" "$rd/lb1.log"
  start_daemon "$label" lb2 "$ver" "$adv" "$rd/lb2.log"
  # lb1 (higher priority, started first) wins the first election: keepalived 2.2.7 starts
  # every non-owner instance in BACKUP, so that takes one Master_Down_Interval
  t_max=$(awk -v a="$adv" 'BEGIN { t = 4 * (a < 1 ? 1 : a) + 10; printf "%d", t }')
  rc=0; wait_answers "$rd/probe.log" lb1 "$STABLE_PROBES" "$t_max" "${DPID[lb1]}" "${DPID[lb2]}" || rc=$?
  if [ $rc != 0 ] || has_vip lb2; then
    if [ $rc = 2 ]; then
      log "$label v$ver a$adv $scen #$idx: a daemon exited at startup; its log ends with:"
      for n in "${NODES[@]}"; do alive "${DPID[$n]}" || tail -n 5 "$rd/$n.log" | sed "s/^/  $n: /" >&2; done
    fi
    log "$label v$ver a$adv $scen #$idx: lb1 never became the stable master (see $rd)"
    probe_stop; pcap_stop "$rd/bridge.pcap"
    printf '%s\t%s\t%s\t%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\t0\t%s\n' "$label" "$ver" "$adv" "$scen" "$idx" \
      "$(busy_pct "$cpu0" "$(cpu_snapshot)")" >>"$OUT_DIR/runs.tsv"
    return 0
  fi
  settle "$adv"
  case $scen in
    sigkill) crash_daemon lb1 ;;
    sigterm) T0=$EPOCHREALTIME; kill -TERM "${DPID[lb1]}" ;;
    linkdown)
      T0=$EPOCHREALTIME
      if [ "$LINK_SIDE" = bridge ]; then brx link set "$(port lb1)" down
      else ip -n "$(ns lb1)" link set "$IFACE" down; fi ;;
    preempt)
      stop_daemons lb1
      wait_answers "$rd/probe.log" lb2 "$STABLE_PROBES" "$t_max" || log "$label $scen #$idx: lb2 not stable before preempt"
      settle "$adv"
      old=lb2 new=lb1
      T0=$EPOCHREALTIME
      start_daemon "$label" lb1 "$ver" "$adv" "$rd/lb1.log" ;;
    *) die "unknown scenario $scen" ;;
  esac
  printf '%s %s %s %s %s %s\n' "$T0" "$scen" "$old" "$new" "${ADDR[$new]}" "$PROBE_INTERVAL" >"$rd/event"
  rc=0; wait_answers "$rd/probe.log" "$new" "$STABLE_PROBES" "$t_max" "${DPID[$new]}" || rc=$?
  case $rc in
    1) log "$label v$ver a$adv $scen #$idx: $new did not take over within ${t_max}s" ;;
    2) log "$label v$ver a$adv $scen #$idx: $new's daemon exited; see $rd/$new.log" ;;
  esac
  fsleep "$SETTLE_AFTER"
  busy=$(busy_pct "$cpu0" "$(cpu_snapshot)")
  probe_stop
  pcap_stop "$rd/bridge.pcap"
  if [ "$scen" = sigterm ]; then reap "${DPID[lb1]}"; unset "DPID[lb1]"; fi
  row="$("$PY" "$SCRIPT_DIR/analyze.py" run "$rd")	$busy"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$ver" "$adv" "$scen" "$idx" "$row" >>"$OUT_DIR/runs.tsv"
  log "$label v$ver adv=$adv $scen #$idx: takeover_ms gap_ms failed vrrp_ms last_old_ms old_after probes busy% = $(echo $row)"
}

summarize() { # dir (its prio.env holds the priorities the runs used)
  local LB1_PRIO=${PRIO[lb1]} LB2_PRIO=${PRIO[lb2]}
  [ ! -f "$1/prio.env" ] || . "$1/prio.env"
  "$PY" "$SCRIPT_DIR/analyze.py" summary "$1/runs.tsv" --lb1-prio "$LB1_PRIO" --lb2-prio "$LB2_PRIO"
}


# ---------------------------------------------------------------- soak
soak_one() { # label version advert
  local label=$1 ver=$2 adv=$3 rd n port=8080 saved1 saved2 cpu0 busy row i
  rd=$OUT_DIR/soak/$label-v$ver-a$adv
  mkdir -p "$rd"
  reset_nodes
  SOAK_VS=1
  for n in "${NODES[@]}"; do gen_conf "$n" "$ver" "$adv"; cp "$WORK/$n/keepalived.conf" "$rd/$n.conf"; done
  SOAK_VS=0
  saved1=${TEMPLATE["$label lb1"]} saved2=${TEMPLATE["$label lb2"]}
  if [ "$label" = keepalived ]; then port=80  # no userspace data plane: load nginx on the master
  elif [ "$label" = govs ]; then
    # govs with its proxy data plane (no -P): the plane wrk saturates shares the process
    # with the advert timer.
    TEMPLATE["$label lb1"]='{govs} run -f {conf} --socket {rundir}/govs.sock'
    TEMPLATE["$label lb2"]=${TEMPLATE["$label lb1"]}
  else die "soak runs the built-in daemons only (-d keepalived -d govs), not $label"
  fi
  start_daemon "$label" lb1 "$ver" "$adv" "$rd/lb1.log"
  start_daemon "$label" lb2 "$ver" "$adv" "$rd/lb2.log"
  TEMPLATE["$label lb1"]=$saved1 TEMPLATE["$label lb2"]=$saved2
  for ((i = 0; i < 300; i++)); do has_vip lb1 && ! has_vip lb2 && break; fsleep 0.05; done
  [ $i -lt 300 ] || { log "soak $label: lb1 never became master (see $rd)"; return 0; }
  fsleep 2
  for n in "${NODES[@]}"; do echo "### soak starts $(date +%T.%N)" >>"$rd/$n.log"; done
  pcap_start "$rd/bridge.pcap"
  cpu0=$(cpu_snapshot)
  log "soak $label v$ver advert $adv: wrk -t$SOAK_WRK_THREADS -c$SOAK_WRK_CONNS -d${SOAK_SECONDS}s http://$VIP:$port/"
  nsx client wrk -t"$SOAK_WRK_THREADS" -c"$SOAK_WRK_CONNS" -d"${SOAK_SECONDS}s" "http://$VIP:$port/" \
    </dev/null >"$rd/wrk.txt" 2>&1 || log "soak $label: wrk failed (see $rd/wrk.txt)"
  busy=$(busy_pct "$cpu0" "$(cpu_snapshot)")
  pcap_stop "$rd/bridge.pcap"
  row=$("$PY" "$SCRIPT_DIR/analyze.py" soak "$rd" --master "${ADDR[lb1]}" --backup "${ADDR[lb2]}" --advert "$adv")
  printf '%-12s v%-2s %-6s %6s  %s  %5s  %s\n' "$label" "$ver" "$adv" "$SOAK_SECONDS" "$row" "$busy" \
    "$(awk '/Requests\/sec/ { print $2 }' "$rd/wrk.txt")" >>"$OUT_DIR/soak.txt"
  log "soak $label: $row busy=$busy%"
}

# ---------------------------------------------------------------- main
SPECS=()
while getopts "d:m:s:r:o:h" opt; do
  case $opt in
    d) SPECS+=("$OPTARG") ;;
    m) MATRIX=$OPTARG ;;
    s) SCENARIOS=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    o) OUT_DIR=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
CMD=${1:-run}

case $CMD in
  summarize) [ -f "${2:-}/runs.tsv" ] || die "summarize DIR: no DIR/runs.tsv"; summarize "$2"; exit 0 ;;
  up|run|down|soak) ;;
  *) die "unknown command $CMD (run, soak, up, down, summarize DIR)" ;;
esac

[ "$(id -u)" = 0 ] || die "needs root (namespaces)"
exec 9>"/run/lock/failover-bench.${P}lock"
flock -n 9 || die "another failover.sh with prefix $P is running"
if [ "$CMD" = down ]; then topo_down; exit 0; fi
[[ $WORK == /*failover* ]] || die "WORK=$WORK: want an absolute path containing 'failover' (it is wiped)"
for t in ip nginx tcpdump awk ps; do command -v "$t" >/dev/null || die "missing $t"; done
[ "$CMD" != soak ] || command -v wrk >/dev/null || die "missing wrk"
[ -n "${DAEMON_CMD:-}" ] && SPECS+=("${DAEMON_LABEL:-custom}=$DAEMON_CMD")
[ ${#SPECS[@]} -gt 0 ] || SPECS=(keepalived govs)
for s in "${SPECS[@]}"; do add_daemon_spec "$s"; done
for l in "${LABELS[@]}"; do
  for n in "${NODES[@]}"; do [ -n "${TEMPLATE["$l $n"]:-}" ] || die "daemon $l has no template for $n"; done
done
for sc in $SCENARIOS; do [[ $sc =~ ^(sigkill|sigterm|preempt|linkdown)(:[0-9]+)?$ ]] || die "unknown scenario $sc (want NAME or NAME:RUNS)"; done
for m in $MATRIX $SOAK_MATRIX; do [[ $m =~ ^[23]:[0-9.]+$ ]] || die "bad MATRIX entry $m (want VERSION:ADVERT)"; done

trap cleanup EXIT
trap 'exit 130' INT TERM
topo_exists && die "topology ${P}* already exists (left by 'up' or a killed run? '$0 down' removes it)"
TOPO_MINE=1
rm -rf "$WORK"; mkdir -p "$WORK/lb1" "$WORK/lb2"
if [ -z "$GOVS_BIN" ] && [[ " ${TEMPLATE[*]} " == *"{govs}"* ]]; then
  command -v go >/dev/null || die "go is needed to build govs (or set GOVS_BIN)"
  log "building govs from $REPO"
  (cd "$REPO" && go build -o "$WORK/govs" ./cmd/govs) || die "building govs failed"
  GOVS_BIN=$WORK/govs
fi
topo_up
nginx_up
if [ "$CMD" = up ]; then
  NGINX_PIDS=(); TOPO_MINE=0
  log "topology and nginx are up; VRRP daemons are not started. '$0 down' removes it all."
  exit 0
fi

OUT_DIR=${OUT_DIR:-/tmp/failover-results/failover-$(IFS=+; echo "${LABELS[*]}")-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT_DIR/runs"
printf 'daemon\tver\tadvert\tscenario\tidx\ttakeover_ms\tgap_ms\tfailed\tvrrp_ms\tlast_old_ms\told_after\tprobes\thost_busy_pct\n' >"$OUT_DIR/runs.tsv"
{
  echo "date: $(date -Is)"; echo "host: $(uname -srm), $(nproc) cpus"
  echo "keepalived: $(/usr/sbin/keepalived --version 2>&1 | head -1)"
  for l in "${LABELS[@]}"; do echo "daemon $l: lb1: ${TEMPLATE["$l lb1"]} | lb2: ${TEMPLATE["$l lb2"]}"; done
  [ -z "$GOVS_BIN" ] || echo "govs: $GOVS_BIN (repository at $(cd "$REPO" && git describe --always --dirty 2>/dev/null))"
  echo "matrix: $MATRIX; scenarios: $SCENARIOS; runs: $RUNS; link_side: $LINK_SIDE"
  echo "lb1: prio ${PRIO[lb1]} state ${STATE[lb1]}; lb2: prio ${PRIO[lb2]} state ${STATE[lb2]}; vrid $VRID"
  echo "probe: every ${PROBE_INTERVAL}s, timeout ${PROBE_TIMEOUT}s; stable = $STABLE_PROBES answers"
} >"$OUT_DIR/meta.txt"
printf 'LB1_PRIO=%d\nLB2_PRIO=%d\n' "${PRIO[lb1]}" "${PRIO[lb2]}" >"$OUT_DIR/prio.env"
log "results in $OUT_DIR"

if [ "$CMD" = soak ]; then
  printf '%-12s %-3s %-6s %6s  %s  %5s  %s\n' daemon ver advert secs \
    "$("$PY" "$SCRIPT_DIR/analyze.py" soak-header)" busy wrk_rps >"$OUT_DIR/soak.txt"
  for m in $SOAK_MATRIX; do
    for l in "${LABELS[@]}"; do soak_one "$l" "${m%%:*}" "${m#*:}"; done
  done
  reset_nodes
  cat "$OUT_DIR/soak.txt"
  exit 0
fi
for m in $MATRIX; do
  ver=${m%%:*} adv=${m#*:}
  for sc in $SCENARIOS; do
    runs=$RUNS
    [[ $sc != *:* ]] || runs=${sc#*:}
    for ((i = 1; i <= runs; i++)); do
      for l in "${LABELS[@]}"; do run_one "$l" "$ver" "$adv" "${sc%%:*}" "$i"; done
    done
  done
done
reset_nodes
summarize "$OUT_DIR" | tee "$OUT_DIR/summary.txt"
