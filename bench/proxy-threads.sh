#!/usr/bin/env bash
# proxy-threads.sh — the proxy matrix (proxy-matrix.sh) with N threads per proxy, for a
# host with enough CPUs that wrk, the backends and the proxy each have their own: HAProxy
# nbthread N, nginx-stream N workers, govs N event loops; the backend nginx gets B workers
# so that it is not what limits. It runs a copy of the reference harness
# (../shared/bench, or $SHARED_BENCH) with those numbers written into its configs, and
# adds the no-proxy ceiling (direct) to the rounds.
#
# Usage: bench/proxy-threads.sh [-T N] [-B B] [-r ROUNDS] [-o OUT.tsv] [-- proxy-bench options]
#   defaults: -T 1 -B 4 -r 3; e.g. on 16 CPUs:
#   bench/proxy-threads.sh -T 1 -B 4 -- -t 4 -c 100      (one thread each, as on 2 CPUs)
#   bench/proxy-threads.sh -T 4 -B 6 -- -t 6 -c 400      (four threads each)
# Environment: as proxy-matrix.sh (BIN, BUILD, BENCH_DIR, ports, OTHER_PROXIES;
# PRESETS defaults to "haproxy nginx direct"); NGINX_MODULES, where ngx_stream_module.so
# lies (default /usr/lib/nginx/modules).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=1 BACKEND_WORKERS=4 ROUNDS=3 OUT=/tmp/proxy-results/threads-$(date +%Y%m%d-%H%M%S).tsv
while getopts "T:B:r:o:" o; do
	case $o in
	T) THREADS=$OPTARG ;; B) BACKEND_WORKERS=$OPTARG ;; r) ROUNDS=$OPTARG ;; o) OUT=$OPTARG ;;
	*) echo "proxy-threads: bad option; see the header of $0" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
for n in "$THREADS" "$BACKEND_WORKERS"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "proxy-threads: -T and -B take a positive number, not $n" >&2; exit 1; }
done
SHARED_BENCH=${SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
[ -x "$SHARED_BENCH/proxy-matrix.sh" ] || { echo "proxy-threads: no harness in $SHARED_BENCH" >&2; exit 1; }
harness=$(mktemp -d /tmp/proxy-threads.XXXXXX)
trap 'rm -rf "$harness"' EXIT
cp -r "$SHARED_BENCH"/. "$harness"
conf=$harness/proxy-configs
# Each substitution must hit exactly once, or the harness changed and the run would
# measure something other than it says.
rewrite() { # file sed-expression what
	grep -q "$3" "$1" || { echo "proxy-threads: '$3' not found in $1" >&2; exit 1; }
	sed -i "$2" "$1"
}
rewrite "$conf/haproxy.cfg" "s/nbthread 1/nbthread $THREADS/" "nbthread 1"
rewrite "$conf/nginx-stream.conf" "s/^worker_processes 1;/worker_processes $THREADS;/" "^worker_processes 1;"
rewrite "$conf/nginx-stream.conf" "s|/usr/lib/nginx/modules|${NGINX_MODULES:-/usr/lib/nginx/modules}|" "/usr/lib/nginx/modules"
rewrite "$conf/backend-nginx.conf" "s/^worker_processes 1;/worker_processes $BACKEND_WORKERS;/" "^worker_processes 1;"
mkdir -p "$(dirname "$OUT")"
echo "proxy-threads: $THREADS thread(s) per proxy, $BACKEND_WORKERS backend worker(s), $(nproc) CPUs" >&2
HARNESS=$harness/proxy-matrix.sh PRESETS=${PRESETS:-haproxy nginx direct} GOVS_FLAGS="-loops $THREADS ${GOVS_FLAGS:-}" \
	bench/proxy-matrix.sh -r "$ROUNDS" -o "$OUT" -- "$@"
