package xdp

import (
	"bytes"
	"testing"
)

// FuzzProgram runs arbitrary frames through the program (BPF_PROG_TEST_RUN) with an IPv4
// and an IPv6 DR service and a TUN one installed: whatever the bytes, the program ends
// with one of its actions, and a frame it passes to the kernel is untouched.
func FuzzProgram(f *testing.F) {
	p := testPlane(f)
	apply(f, p,
		drService("wrr", dr(rs1, 1), dr(rs2, 1)),
		dr6Service("wrr", dr(rs6a, 1)),
		tunService(),
	)
	f.Add(tcpFrame(client(1), vip, syn, 0))
	f.Add(tcpFrame(client(1), vip, ack, 10))
	f.Add(ipFrame(17, client(1), vip, 0, 10))
	f.Add(ip6Frame(6, client6(1), vip6, syn, 0))
	f.Add(ip6Frame(6, client6(1), vip6, ack|fin, 3))
	f.Add(ip6Frame(58, client6(1), vip6, 0, 16))
	f.Add(tcpFrame(client(2), tunVIP, ack, 1441))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 3000 {
			return // BPF_PROG_TEST_RUN wants at least an Ethernet header
		}
		in := append([]byte(nil), frame...)
		ret, out := run(t, p, in)
		switch ret {
		case xdpPass:
			if !bytes.Equal(out, frame) {
				t.Fatalf("XDP_PASS with the frame changed:\nin  %x\nout %x", frame, out)
			}
		case xdpDrop, xdpTX, xdpRedirect:
		default:
			t.Fatalf("action %d for %x", ret, frame)
		}
	})
}
