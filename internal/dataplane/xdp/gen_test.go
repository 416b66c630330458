package xdp

// The trivial programs are for tests only: a GOFILE ending in _test.go makes bpf2go
// write trivial_bpfel_test.go.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -target bpfel -go-package xdp -output-stem trivial trivial bpf/trivial.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
