#!/usr/bin/env bash
# Regenerates the committed BPF objects and their Go bindings (go generate with Debian's
# clang) and fails if they differ from what is committed. scripts/test.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang >/dev/null || { echo "check-bpf-generate: clang is needed (scripts/packages.d/xdp.txt)" >&2; exit 1; }
dirs=(internal/dataplane/xdp)
go generate "${dirs[@]/#/./}"
if ! git diff --exit-code --stat -- "${dirs[@]}"; then
	echo "check-bpf-generate: the generated BPF files differ from the committed ones; run go generate ./internal/dataplane/xdp and commit them" >&2
	exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- "${dirs[@]}" | grep -E '_bpfe[lb](_test)?\.(go|o)$' || true)
[ -z "$untracked" ] || { echo "check-bpf-generate: generated files not committed: $untracked" >&2; exit 1; }
echo "check-bpf-generate: BPF objects match their sources"
