// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// Do-nothing XDP programs: xdp_pass sits on a veth's peer so that XDP_TX on the other end
// is delivered (a veth only takes XDP frames when its peer runs XDP), xdp_tx is the
// baseline govs_xdp is measured against, and xdp_drop is the sink of the live-frames
// benchmark (the veth counts what it drops).

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char __license[] SEC("license") = "Dual MIT/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }

SEC("xdp")
int xdp_tx(struct xdp_md *ctx) { return XDP_TX; }

SEC("xdp")
int xdp_drop(struct xdp_md *ctx) { return XDP_DROP; }
