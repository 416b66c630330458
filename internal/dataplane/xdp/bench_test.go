package xdp

import (
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
)

// BenchmarkProgram measures the program in the kernel with BPF_PROG_TEST_RUN and reports
// the kernel's ns per packet: a packet of an established flow, a packet for no service,
// a SYN opening a new flow, and beside them a program that only returns XDP_TX. Goal
// (issue 8): at most 30 ns/packet for established flows.
func BenchmarkProgram(b *testing.B) {
	p := testPlane(b)
	apply(b, p, drService("wrr", dr(rs1, 1), dr(rs2, 1)))
	var triv trivialObjects
	if err := loadTrivialObjects(&triv, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { triv.Close() })

	est := tcpFrame(client(1), vip, ack, 64)
	if ret, _ := run(b, p, tcpFrame(client(1), vip, syn, 0)); ret != xdpTX {
		b.Fatalf("opening the flow: action %d", ret)
	}
	synFrame := tcpFrame(client(2), vip, syn, 0)
	synKey := govsXDPFlowKey{Saddr: be32(client(2).Addr()), Daddr: be32(vip.Addr()), Sport: be16(client(2).Port()), Dport: be16(vip.Port()), Proto: 6}
	cases := []struct {
		name   string
		prog   *ebpf.Program
		frame  []byte
		repeat int
		before func() // runs before each batch
		want   uint32
	}{
		{"trivial-tx", triv.XdpTx, est, 1 << 16, nil, xdpTX},
		{"established", p.objs.GovsXdp, est, 1 << 16, nil, xdpTX},
		{"non-vip", p.objs.GovsXdp, tcpFrame(client(1), netip.MustParseAddrPort("10.0.0.2:22"), ack, 64), 1 << 16, nil, xdpPass},
		// A SYN is new only once: its flow is removed before each single-packet run.
		{"syn", p.objs.GovsXdp, synFrame, 1, func() { _ = p.objs.Flows.Delete(&synKey) }, xdpTX},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var total float64
			n := 0
			for b.Loop() {
				if c.before != nil {
					c.before()
				}
				ret, d, err := c.prog.Benchmark(c.frame, c.repeat, nil)
				if err != nil {
					b.Fatal(err)
				}
				if ret != c.want {
					b.Fatalf("action %d, want %d", ret, c.want)
				}
				total += float64(d.Nanoseconds())
				n++
			}
			b.ReportMetric(total/float64(n), "ns/packet")
		})
	}
}
