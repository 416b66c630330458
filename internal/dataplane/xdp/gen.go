package xdp

// The BPF objects and their Go bindings are generated with Debian's clang and committed,
// so that `go build` needs no clang; scripts/check-bpf-generate.sh regenerates them and
// fails if the committed files differ.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -target bpfel -go-package xdp -output-stem govs_xdp -type svc_key -type svc -type dest -type flow_key -type flow -type counters govsXDP bpf/govs_xdp.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
