#!/usr/bin/env bash
# proxy-matrix.sh — benchmark the govs proxy data plane side by side with HAProxy and
# nginx-stream, with the reference harness ../shared/bench/proxy-matrix.sh (interleaved
# rounds, medians, ratios). Builds bench/govs-proxy first.
#
# Usage: bench/proxy-matrix.sh [-r ROUNDS] [-- proxy-bench options]
#   e.g. bench/proxy-matrix.sh -r 5            (defaults: wrk -t1 -c50, 10 s per workload)
# Extra govs variants: GOVS_VARIANTS='govs-1loop:-loops 1' (label:extra flags; ';'-separated)
# GOVS_FLAGS: extra flags for the main govs entry; PRESETS: the harness's presets
# (default "haproxy nginx"; add "direct" for the no-proxy ceiling); OTHER_PROXIES:
# 'label:command' entries (';'-separated) run as they are, e.g. an older build:
#   OTHER_PROXIES='govs-old:/tmp/old/govs-proxy -l $LISTEN_ADDR -b $BACKENDS'
# BUILD=0 uses the binary at $BIN as it is, so that the build happens before taking
# the shared benchmark lock:
#   go build -o /tmp/govs-bench/govs-proxy ./bench/govs-proxy &&
#   BUILD=0 flock /tmp/govs-bench.lock bench/proxy-matrix.sh -r 5 -o /tmp/pxr/matrix.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-$(cd .. && pwd)/shared/bench/proxy-matrix.sh}
[ -x "$HARNESS" ] || { echo "proxy-matrix: reference harness not found at $HARNESS" >&2; exit 1; }
BIN=${BIN:-/tmp/govs-bench/govs-proxy}
if [ "${BUILD:-1}" = 0 ]; then
	[ -x "$BIN" ] || { echo "proxy-matrix: BUILD=0 but no binary at $BIN" >&2; exit 1; }
else
	mkdir -p "$(dirname "$BIN")"
	go build -o "$BIN" ./bench/govs-proxy
fi
ROUNDS=3
if [ "${1:-}" = -r ]; then ROUNDS=$2; shift 2; fi
EXTRA=(-x "govs:$BIN -l \$LISTEN_ADDR -b \$BACKENDS ${GOVS_FLAGS:-}")
IFS=';' read -r -a variants <<< "${GOVS_VARIANTS:-}"
for v in "${variants[@]}"; do
	[ -n "$v" ] && EXTRA+=(-x "${v%%:*}:$BIN -l \$LISTEN_ADDR -b \$BACKENDS ${v#*:}")
done
IFS=';' read -r -a others <<< "${OTHER_PROXIES:-}"
for o in "${others[@]}"; do
	[ -n "$o" ] && EXTRA+=(-x "$o")
done
exec "$HARNESS" -r "$ROUNDS" -p "${PRESETS:-haproxy nginx}" "${EXTRA[@]}" "$@"
