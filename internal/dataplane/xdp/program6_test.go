package xdp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/sched"
	"github.com/govs/govs/internal/table"
)

// ip6Frame is an Ethernet frame of an IPv6 packet from client to dst carrying TCP (proto
// 6, with flags) or UDP (17), or only next header proto and payload bytes otherwise.
func ip6Frame(proto byte, client, dst netip.AddrPort, flags byte, payload int) []byte {
	l4 := 0
	switch proto {
	case 6:
		l4 = 20
	case 17:
		l4 = 8
	}
	f := make([]byte, 14+40+l4+payload)
	copy(f[0:6], dirMAC)
	copy(f[6:12], net.HardwareAddr{0x02, 0xcc, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	ip := f[14:]
	ip[0], ip[1] = 0x6b, 0x80 // traffic class 0xb8 (EF), no flow label
	binary.BigEndian.PutUint16(ip[4:], uint16(l4+payload))
	ip[6], ip[7] = proto, 64
	s, d := client.Addr().As16(), dst.Addr().As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	th := ip[40:]
	if l4 > 0 {
		binary.BigEndian.PutUint16(th[0:], client.Port())
		binary.BigEndian.PutUint16(th[2:], dst.Port())
	}
	switch proto {
	case 6:
		th[12], th[13] = 5<<4, flags
	case 17:
		binary.BigEndian.PutUint16(th[4:], uint16(8+payload))
	}
	for i := range payload {
		th[l4+i] = byte(i)
	}
	return f
}

func client6(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xc0, 0xff, 14: byte(i >> 8), 15: byte(i)}), uint16(10000+i*7))
}

func dr6Service(algo string, dests ...table.Dest) table.Service {
	return table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: vip6}, Scheduler: algo, Dests: dests}
}

// TestProgramDR6: IPv6 flows to an IPv6 VIP go to IPv6 real servers by the Go side's
// Maglev table over the folded client address and port, as IPVS's mh hashes IPv6, and
// stay there.
func TestProgramDR6(t *testing.T) {
	p := testPlane(t)
	apply(t, p, dr6Service("wrr", dr(rs6a, 3), dr(rs6b, 1)), drService("wrr", dr(rs1, 1)))
	md := []sched.MaglevDest{{Addr: rs6a, Weight: 3}, {Addr: rs6b, Weight: 1}}
	got := map[netip.AddrPort]int{}
	first := map[int]netip.AddrPort{}
	for i := range 400 {
		c := client6(i)
		in := ip6Frame(6, c, vip6, syn, 0)
		ret, out := run(t, p, in)
		if ret != xdpTX {
			t.Fatalf("SYN from %s: action %d, want XDP_TX", c, ret)
		}
		rs := sentTo(t, in, out)
		if want := wantDest(t, c, true, md); rs != want {
			t.Fatalf("SYN from %s went to %s; the Go Maglev table says %s", c, rs, want)
		}
		got[rs]++
		first[i] = rs
	}
	if got[rs6a] < 240 || got[rs6b] < 60 {
		t.Errorf("spread %v, want about 300:100", got)
	}
	// rs6a quiesced: its established flows stay, through the per-CPU cache and the
	// shared table alike.
	apply(t, p, dr6Service("wrr", dr(rs6a, 0), dr(rs6b, 1)), drService("wrr", dr(rs1, 1)))
	for range 2 {
		for i := range 400 {
			in := ip6Frame(6, client6(i), vip6, ack, 100)
			ret, out := run(t, p, in)
			if ret != xdpTX || sentTo(t, in, out) != first[i] {
				t.Fatalf("established IPv6 flow of %s moved after a table change", client6(i))
			}
		}
	}
	if st := p.Stats(); st.Services[0].InPkts != 1200 || st.Services[0].Conns != 400 {
		t.Errorf("IPv6 service counters %+v, want 1200 packets and 400 flows", st.Services[0].Counters)
	}
}

// TestProgramMatchesIPVSMaglev6: an IPv6 mh service picks what the mh scheduler (which
// folds IPv6 addresses as ip_vs_mh) picks.
func TestProgramMatchesIPVSMaglev6(t *testing.T) {
	p := testPlane(t)
	apply(t, p, dr6Service("mh", dr(rs6a, 5), dr(rs6b, 2), dr(rs6c, 1)))
	s, err := sched.New("mh", 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Update([]*sched.Dest{sched.NewDest(rs6a, 5), sched.NewDest(rs6b, 2), sched.NewDest(rs6c, 1)})
	for i := range 300 {
		c := client6(i * 37)
		in := ip6Frame(6, c, vip6, syn, 0)
		_, out := run(t, p, in)
		want := s.Pick(sched.Flow{Proto: 6, Src: c, Dst: vip6})
		if got := sentTo(t, in, out); got != want.Addr {
			t.Fatalf("%s: XDP chose %s, the mh scheduler %s", c, got, want.Addr)
		}
	}
}

func TestProgramPassesIPv6NotForAService(t *testing.T) {
	p := testPlane(t)
	apply(t, p, dr6Service("wrr", dr(rs6a, 1)), drService("wrr", dr(rs1, 1)))
	c := client6(1)
	ns := ip6Frame(58, c, netip.AddrPortFrom(netip.MustParseAddr("ff02::1:ff00:100"), 0), 0, 24)
	ns[14+40] = 135 // neighbour solicitation
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"NDP neighbour solicitation", ns},
		{"ICMPv6 to the VIP", ip6Frame(58, c, vip6, 0, 16)},
		{"hop-by-hop options header", ip6Frame(0, c, vip6, 0, 40)},
		{"fragment header", ip6Frame(44, c, vip6, 0, 40)},
		{"other port", ip6Frame(6, c, netip.AddrPortFrom(vip6.Addr(), 22), syn, 0)},
		{"other address", ip6Frame(6, c, netip.AddrPortFrom(dirIP6, 80), syn, 0)},
		{"the IPv4 VIP's port on another IPv6 address", ip6Frame(6, c, netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.0.0.100"), 80), syn, 0)},
		{"UDP to the TCP service", ip6Frame(17, c, vip6, 0, 10)},
		{"truncated IPv6 header", ip6Frame(6, c, vip6, syn, 0)[:14+30]},
		{"truncated TCP", ip6Frame(6, c, vip6, syn, 0)[:14+40+10]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]byte(nil), tc.frame...)
			ret, out := run(t, p, in)
			if ret != xdpPass || !bytes.Equal(out, tc.frame) {
				t.Errorf("action %d, frame changed %v; want XDP_PASS untouched", ret, !bytes.Equal(out, tc.frame))
			}
		})
	}
}

// icmp6Checksum is the ICMPv6 checksum over msg with its pseudo-header: zero when msg's
// own checksum is right.
func icmp6Checksum(src, dst []byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	add(src)
	add(dst)
	sum += uint32(len(msg)) + 58
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TestProgramTUN6 checks the encapsulation toward an IPv6 real server byte for byte: an
// IPv6 outer header (next header 41 for IPv6 inside, 4 for IPv4 inside) from the
// director's address, the inner traffic class and hop limit; and an IPv6 packet toward
// an IPv4 real server in IPv4 (protocol 41).
func TestProgramTUN6(t *testing.T) {
	for _, tc := range []struct {
		name            string
		vip, rs         netip.AddrPort
		frame           []byte
		outerV6         bool
		nextHdr         byte
		src, dst, gwMAC netip.Addr
		golden          string
	}{
		{"IPv6 in IPv6", vip6, rs6far, ip6Frame(6, client6(1), vip6, syn, 8), true, 41, dirIP6, rs6far.Addr(), gwIP6, "tun6.hex"},
		{"IPv4 in IPv6", vip, rs6far, tcpFrame(client(1), vip, syn, 8), true, 4, dirIP6, rs6far.Addr(), gwIP6, "tun4in6.hex"},
		{"IPv6 in IPv4", vip6, rs3, ip6Frame(6, client6(1), vip6, syn, 8), false, 41, dirIP, rs3.Addr(), gwIP, "tun6in4.hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPlane(t)
			apply(t, p, table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: tc.vip}, Scheduler: "rr",
				Dests: []table.Dest{{Addr: tc.rs, Weight: 1, Method: table.Tunnel}}})
			in := tc.frame
			for _, flags := range []byte{syn, ack} { // the new flow, then the cached one
				if flags == ack {
					in = append([]byte(nil), in...)
					in[len(in)-8-7] = ack // TCP flags: 20-byte header before 8 bytes of payload
				}
				ret, out := run(t, p, in)
				if ret != xdpTX {
					t.Fatalf("action %d, want XDP_TX", ret)
				}
				room := 20
				if tc.outerV6 {
					room = 40
				}
				if len(out) != len(in)+room {
					t.Fatalf("frame grew by %d bytes, want %d", len(out)-len(in), room)
				}
				if !bytes.Equal(out[0:6], macOf(tc.gwMAC)) || !bytes.Equal(out[6:12], dirMAC) {
					t.Errorf("MACs %s > %s, want %s > %s (the gateway)", net.HardwareAddr(out[6:12]), net.HardwareAddr(out[0:6]), dirMAC, macOf(tc.gwMAC))
				}
				outer := out[14 : 14+room]
				if tc.outerV6 {
					if binary.BigEndian.Uint16(out[12:]) != 0x86dd || outer[0]>>4 != 6 || outer[6] != tc.nextHdr || outer[7] != 64 ||
						int(binary.BigEndian.Uint16(outer[4:])) != len(in)-14 ||
						!bytes.Equal(outer[8:24], tc.src.AsSlice()) || !bytes.Equal(outer[24:40], tc.dst.AsSlice()) {
						t.Errorf("outer header %x: want IPv6, next header %d, hop limit 64, payload %d, %s > %s", outer, tc.nextHdr, len(in)-14, tc.src, tc.dst)
					}
				} else if ipChecksum(outer) != 0 || outer[9] != tc.nextHdr || !bytes.Equal(outer[12:16], tc.src.AsSlice()) || !bytes.Equal(outer[16:20], tc.dst.AsSlice()) {
					t.Errorf("outer header %x: want a valid IPv4 header, protocol %d, %s > %s", outer, tc.nextHdr, tc.src, tc.dst)
				}
				if !bytes.Equal(out[14+room:], in[14:]) {
					t.Errorf("inner packet changed")
				}
				if flags == syn {
					golden(t, tc.golden, hexDump(out))
				}
			}
		})
	}
}

// TestProgramTUN6TooBig: an IPv6 packet too big for the tunnel once encapsulated is
// answered with ICMPv6 packet-too-big (MTU 1500-40), as IPVS does; one that fits goes
// through.
func TestProgramTUN6TooBig(t *testing.T) {
	p := testPlane(t)
	apply(t, p, table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: vip6}, Scheduler: "rr",
		Dests: []table.Dest{{Addr: rs6far, Weight: 1, Method: table.Tunnel}}})
	c := client6(1)
	// 40 + 20 + 1400 = 1460 bytes: 1500 with the outer header.
	if ret, out := run(t, p, ip6Frame(6, c, vip6, ack, 1400)); ret != xdpTX || len(out) != 14+1500 {
		t.Fatalf("a packet that just fits: action %d, %d bytes; want XDP_TX, 1514", ret, len(out))
	}
	in := ip6Frame(6, c, vip6, ack, 1401)
	ret, out := run(t, p, in)
	if ret != xdpTX {
		t.Fatalf("a packet 1 byte too big: action %d, want XDP_TX (ICMPv6 back to the client)", ret)
	}
	if len(out) != 14+40+8+48 {
		t.Fatalf("ICMPv6 answer of %d bytes, want %d", len(out), 14+40+8+48)
	}
	if !bytes.Equal(out[0:6], in[6:12]) || !bytes.Equal(out[6:12], in[0:6]) {
		t.Errorf("MACs %x > %x, want the request's swapped", out[6:12], out[0:6])
	}
	ip := out[14:54]
	if ip[0]>>4 != 6 || ip[6] != 58 || binary.BigEndian.Uint16(ip[4:]) != 56 || !bytes.Equal(ip[8:24], vip6.Addr().AsSlice()) || !bytes.Equal(ip[24:40], c.Addr().AsSlice()) {
		t.Errorf("IPv6 header %x: want next header 58 (ICMPv6), payload 56, %s > %s", ip, vip6.Addr(), c.Addr())
	}
	icmp := out[54:]
	if icmp[0] != 2 || icmp[1] != 0 || binary.BigEndian.Uint32(icmp[4:]) != 1460 {
		t.Errorf("ICMPv6 %x: want type 2 (packet too big), MTU 1460", icmp[:8])
	}
	if sum := icmp6Checksum(ip[8:24], ip[24:40], icmp); sum != 0 {
		t.Errorf("ICMPv6 checksum does not verify (%#04x): %x", sum, icmp)
	}
	if !bytes.Equal(icmp[8:], in[14:14+48]) {
		t.Errorf("quoted %x, want the request's IPv6 header and 8 bytes: %x", icmp[8:], in[14:14+48])
	}
	golden(t, "too-big6.hex", hexDump(out))
}
