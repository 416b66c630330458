package xdp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/govs/govs/internal/sched"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// XDP return codes.
const (
	xdpDrop     = 1
	xdpPass     = 2
	xdpTX       = 3
	xdpRedirect = 4
)

// The test network: the director's interface, and its real servers' MACs.
// testIfindex is lo: BPF_PROG_TEST_RUN wants an existing ingress interface; nothing is
// attached to it.
const testIfindex = 1

var (
	dirMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xd1}
	vip    = netip.MustParseAddrPort("10.0.0.100:80")
	rs1    = netip.MustParseAddrPort("10.0.0.11:80")
	rs2    = netip.MustParseAddrPort("10.0.0.12:80")
	rs3    = netip.MustParseAddrPort("192.0.2.13:80") // behind a gateway, for TUN
	dirIP  = netip.MustParseAddr("10.0.0.2")
	gwIP   = netip.MustParseAddr("10.0.0.1")
	rs4    = netip.MustParseAddrPort("10.0.0.14:80")

	vip6   = netip.MustParseAddrPort("[2001:db8::100]:80")
	rs6a   = netip.MustParseAddrPort("[2001:db8::11]:80")
	rs6b   = netip.MustParseAddrPort("[2001:db8::12]:80")
	rs6c   = netip.MustParseAddrPort("[2001:db8::13]:80")
	rs6far = netip.MustParseAddrPort("[2001:db8:2::13]:80") // behind a gateway, for TUN
	dirIP6 = netip.MustParseAddr("2001:db8::2")
	gwIP6  = netip.MustParseAddr("2001:db8::1")
)

// macOf is the MAC the fake network gives an address: its last four bytes, after 02:aa
// (02:bb for IPv6).
func macOf(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	kind := byte(0xaa)
	if !a.Is4() {
		kind = 0xbb
	}
	return net.HardwareAddr{0x02, kind, b[12], b[13], b[14], b[15]}
}

// fakeHops resolves every address as on the director's LAN (10.0.0.0/24 and
// 2001:db8::/64), anything else through gwIP (or gwIP6), and 10.0.0.99 not at all.
func fakeHops(_ context.Context, addrs []netip.Addr) map[netip.Addr]nextHop {
	out := map[netip.Addr]nextHop{}
	for _, a := range addrs {
		lan, src, gw := netip.MustParsePrefix("10.0.0.0/24"), dirIP, gwIP
		if a.Is6() {
			lan, src, gw = netip.MustParsePrefix("2001:db8::/64"), dirIP6, gwIP6
		}
		h := nextHop{ifindex: testIfindex, srcMAC: dirMAC, src: src, mac: macOf(a), mtu: 1500}
		switch {
		case a == netip.MustParseAddr("10.0.0.99"):
			h = nextHop{err: errNoARP}
		case !lan.Contains(a):
			h.via, h.mac = gw, macOf(gw)
		}
		out[a] = h
	}
	return out
}

var errNoARP = &net.AddrError{Err: "no ARP answer", Addr: "10.0.0.99"}

// testPlane loads the program without attaching it anywhere.
func testPlane(t testing.TB) *Plane {
	t.Helper()
	testutil.Integration(t)
	testutil.NeedRoot(t)
	p, err := load(Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.resolve, p.attachHops = fakeHops, false
	p.start()
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func apply(t testing.TB, p *Plane, svcs ...table.Service) {
	t.Helper()
	if err := p.Apply(context.Background(), table.Table{Services: svcs}); err != nil {
		t.Fatal(err)
	}
}

func drService(algo string, dests ...table.Dest) table.Service {
	return table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: vip}, Scheduler: algo, Dests: dests}
}

// tunVIP is a TUN service's VIP, its real server rs3 behind a gateway.
var tunVIP = netip.MustParseAddrPort("10.0.0.101:80")

func tunService() table.Service {
	return table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: tunVIP}, Scheduler: "rr",
		Dests: []table.Dest{{Addr: rs3, Weight: 1, Method: table.Tunnel}}}
}

func dr(a netip.AddrPort, w int) table.Dest {
	return table.Dest{Addr: a, Weight: w, Method: table.Route}
}

// TCP flags.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	ack = 0x10
)

// tcpFrame is an Ethernet frame of an IPv4 TCP segment from client to dst.
func tcpFrame(client, dst netip.AddrPort, flags byte, payload int) []byte {
	return ipFrame(6, client, dst, flags, payload)
}

func ipFrame(proto byte, client, dst netip.AddrPort, flags byte, payload int) []byte {
	l4 := 20
	if proto == 17 {
		l4 = 8
	}
	f := make([]byte, 14+20+l4+payload)
	copy(f[0:6], dirMAC)
	copy(f[6:12], net.HardwareAddr{0x02, 0xcc, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+l4+payload))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	s, d := client.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
	th := ip[20:]
	binary.BigEndian.PutUint16(th[0:], client.Port())
	binary.BigEndian.PutUint16(th[2:], dst.Port())
	if proto == 6 {
		th[12], th[13] = 5<<4, flags
	} else {
		binary.BigEndian.PutUint16(th[4:], uint16(8+payload))
	}
	for i := range payload {
		th[l4+i] = byte(i)
	}
	return f
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// run runs the program once on frame arriving on testIfindex.
func run(t testing.TB, p *Plane, frame []byte) (uint32, []byte) {
	t.Helper()
	out := make([]byte, len(frame)+64)
	ctx := xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: testIfindex}
	ret, err := p.objs.GovsXdp.Run(&ebpf.RunOptions{Data: frame, DataOut: out, Context: ctx, ContextOut: &ctx})
	if err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	return ret, out[:ctx.DataEnd-ctx.Data]
}

// xdpMD is struct xdp_md, the context BPF_PROG_TEST_RUN takes for an XDP program.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// wantDest is the real server the Go side expects for a flow: the sched package's Maglev
// table over the weights, at the slot of the client's hash.
func wantDest(t testing.TB, client netip.AddrPort, hashPort bool, dests []sched.MaglevDest) netip.AddrPort {
	t.Helper()
	slots, err := sched.MaglevTable(dests, maglevSize)
	if err != nil {
		t.Fatal(err)
	}
	key := foldAddr(client.Addr())
	if hashPort {
		key += uint32(client.Port())
	}
	i := slots[sched.MaglevSlot(key, maglevSize)]
	if i < 0 {
		return netip.AddrPort{}
	}
	return dests[i].Addr
}

// foldAddr is an address as ip_vs_mh hashes it: an IPv4 address as a number, an IPv6 one
// as the XOR of its four 32-bit words.
func foldAddr(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	var f uint32
	for i := 0; i < 16; i += 4 {
		f ^= binary.BigEndian.Uint32(b[i:])
	}
	return f
}

func client(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(10000+i*7))
}

// sentTo returns the real server whose MAC frame carries, checking the rest of the frame
// is what came in.
func sentTo(t testing.TB, in, out []byte) netip.AddrPort {
	t.Helper()
	if !bytes.Equal(out[6:12], dirMAC) {
		t.Fatalf("source MAC %s, want the director's %s", net.HardwareAddr(out[6:12]), dirMAC)
	}
	if !bytes.Equal(in[12:], out[12:]) {
		t.Fatalf("DR changed more than the MACs:\nin  %x\nout %x", in, out)
	}
	for _, rs := range []netip.AddrPort{rs1, rs2, rs4, rs6a, rs6b, rs6c} {
		if bytes.Equal(out[0:6], macOf(rs.Addr())) {
			return rs
		}
	}
	t.Fatalf("destination MAC %s is no real server's", net.HardwareAddr(out[0:6]))
	return netip.AddrPort{}
}

func TestProgramDR(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("wrr", dr(rs1, 3), dr(rs2, 1)))
	md := []sched.MaglevDest{{Addr: rs1, Weight: 3}, {Addr: rs2, Weight: 1}}
	got := map[netip.AddrPort]int{}
	for i := range 400 {
		c := client(i)
		in := tcpFrame(c, vip, syn, 0)
		ret, out := run(t, p, in)
		if ret != xdpTX {
			t.Fatalf("SYN from %s: action %d, want XDP_TX", c, ret)
		}
		rs := sentTo(t, in, out)
		if want := wantDest(t, c, true, md); rs != want {
			t.Fatalf("SYN from %s went to %s; the Go Maglev table says %s", c, rs, want)
		}
		got[rs]++
	}
	// wrr 3:1 over 400 flows.
	if got[rs1] < 240 || got[rs2] < 60 {
		t.Errorf("spread %v, want about 300:100", got)
	}
}

func TestProgramPassesWhatIsNotForAService(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("wrr", dr(rs1, 1)))
	c := client(1)
	arp := make([]byte, 42)
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	vrrp := tcpFrame(c, netip.AddrPortFrom(netip.MustParseAddr("224.0.0.18"), 0), 0, 20)
	vrrp[14+9] = 112
	frag := tcpFrame(c, vip, syn, 0)
	binary.BigEndian.PutUint16(frag[14+6:], 0x2000) // more fragments
	ipv6 := tcpFrame(c, vip, syn, 0)
	binary.BigEndian.PutUint16(ipv6[12:], 0x86dd)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"other port", tcpFrame(c, netip.AddrPortFrom(vip.Addr(), 22), syn, 0)},
		{"other address", tcpFrame(c, netip.MustParseAddrPort("10.0.0.2:80"), syn, 0)},
		{"UDP to the TCP service", ipFrame(17, c, vip, 0, 10)},
		{"ARP", arp},
		{"VRRP", vrrp},
		{"fragment", frag},
		{"IPv6 ethertype", ipv6},
		{"truncated IP", tcpFrame(c, vip, syn, 0)[:14+10]},
		{"truncated TCP", tcpFrame(c, vip, syn, 0)[:14+20+10]},
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

func TestProgramKeepsEstablishedFlows(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("wrr", dr(rs1, 1), dr(rs2, 1)))
	first := map[netip.AddrPort]netip.AddrPort{}
	for i := range 200 {
		in := tcpFrame(client(i), vip, syn, 0)
		_, out := run(t, p, in)
		first[client(i)] = sentTo(t, in, out)
	}
	// rs1 is quiesced (its health check failed): established flows stay, new ones avoid it.
	apply(t, p, drService("wrr", dr(rs1, 0), dr(rs2, 1)))
	for i := range 200 {
		in := tcpFrame(client(i), vip, ack, 100)
		ret, out := run(t, p, in)
		if ret != xdpTX || sentTo(t, in, out) != first[client(i)] {
			t.Fatalf("established flow of %s moved after a table change", client(i))
		}
	}
	for i := 1000; i < 1100; i++ {
		in := tcpFrame(client(i), vip, syn, 0)
		if _, out := run(t, p, in); sentTo(t, in, out) != rs2 {
			t.Fatalf("new flow of %s went to the quiesced server", client(i))
		}
	}
	// rs1 removed altogether: it lingers for its established flows.
	apply(t, p, drService("wrr", dr(rs2, 1)))
	for i := range 200 {
		in := tcpFrame(client(i), vip, ack, 100)
		if _, out := run(t, p, in); sentTo(t, in, out) != first[client(i)] {
			t.Fatalf("established flow of %s moved after its server was removed", client(i))
		}
	}
}

func TestProgramMatchesIPVSMaglev(t *testing.T) {
	p := testPlane(t)
	dests := []table.Dest{dr(rs1, 5), dr(rs2, 2)}
	apply(t, p, drService("mh", dests...))
	s, err := sched.New("mh", 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Update([]*sched.Dest{sched.NewDest(rs1, 5), sched.NewDest(rs2, 2)})
	for i := range 300 {
		c := client(i)
		in := tcpFrame(c, vip, syn, 0)
		_, out := run(t, p, in)
		want := s.Pick(sched.Flow{Proto: 6, Src: c, Dst: vip})
		if got := sentTo(t, in, out); got != want.Addr {
			t.Fatalf("%s: XDP chose %s, the mh scheduler %s", c, got, want.Addr)
		}
	}
}

func TestProgramRedirectsToAnotherInterface(t *testing.T) {
	p := testPlane(t)
	p.resolve = func(ctx context.Context, a []netip.Addr) map[netip.Addr]nextHop {
		m := fakeHops(ctx, a)
		for k, h := range m {
			h.ifindex = testIfindex + 1
			m[k] = h
		}
		return m
	}
	apply(t, p, drService("rr", dr(rs1, 1)))
	if ret, _ := run(t, p, tcpFrame(client(1), vip, syn, 0)); ret != xdpRedirect {
		t.Fatalf("action %d, want XDP_REDIRECT", ret)
	}
}

func TestProgramDropsWithoutServer(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("wrr", dr(netip.MustParseAddrPort("10.0.0.99:80"), 1)))
	if ret, _ := run(t, p, tcpFrame(client(1), vip, syn, 0)); ret != xdpDrop {
		t.Fatalf("action %d for a service whose only server has no MAC, want XDP_DROP", ret)
	}
	if n := p.Drops().NoServer; n != 1 {
		t.Errorf("no-server drops = %d, want 1", n)
	}
}

// TestProgramTUN checks the IPIP encapsulation byte for byte (IPIP is not built into
// the test kernel, so TUN is not tested end to end).
func TestProgramTUN(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("rr", table.Dest{Addr: rs3, Weight: 1, Method: table.Tunnel}))
	in := tcpFrame(client(1), vip, syn, 8)
	ret, out := run(t, p, in)
	if ret != xdpTX {
		t.Fatalf("action %d, want XDP_TX", ret)
	}
	if len(out) != len(in)+20 {
		t.Fatalf("frame grew by %d bytes, want 20", len(out)-len(in))
	}
	if !bytes.Equal(out[0:6], macOf(gwIP)) || !bytes.Equal(out[6:12], dirMAC) {
		t.Errorf("MACs %s > %s, want %s > %s (the gateway toward the real server)", net.HardwareAddr(out[6:12]), net.HardwareAddr(out[0:6]), dirMAC, macOf(gwIP))
	}
	outer := out[14:34]
	if ipChecksum(outer) != 0 {
		t.Errorf("outer IPv4 checksum does not verify: %x", outer)
	}
	if outer[9] != 4 || !bytes.Equal(outer[12:16], dirIP.AsSlice()) || !bytes.Equal(outer[16:20], rs3.Addr().AsSlice()) {
		t.Errorf("outer header %x: want protocol 4 (IPIP) from %s to %s", outer, dirIP, rs3.Addr())
	}
	if !bytes.Equal(out[34:], in[14:]) {
		t.Errorf("inner packet changed")
	}
	golden(t, "tun.hex", hexDump(out))
}

// TestProgramTUNTooBig: a packet that would exceed the egress MTU once encapsulated is
// answered with ICMP fragmentation-needed (next-hop MTU 1500-20) when it has DF, as IPVS
// does, and dropped without DF (IPVS would fragment; XDP cannot). One that fits exactly
// goes through.
func TestProgramTUNTooBig(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("rr", table.Dest{Addr: rs3, Weight: 1, Method: table.Tunnel}))
	c := client(1)
	// An IPv4 packet of 1480 bytes (20 + 20 + 1440) fits in 1500 with the outer header.
	if ret, out := run(t, p, tcpFrame(c, vip, ack, 1440)); ret != xdpTX || len(out) != 14+1500 {
		t.Fatalf("a packet that just fits: action %d, %d bytes; want XDP_TX, 1514", ret, len(out))
	}

	in := tcpFrame(c, vip, ack, 1441)
	ret, out := run(t, p, in)
	if ret != xdpTX {
		t.Fatalf("a DF packet 1 byte too big: action %d, want XDP_TX (ICMP back to the client)", ret)
	}
	if len(out) != 14+20+8+28 {
		t.Fatalf("ICMP answer of %d bytes, want %d", len(out), 14+20+8+28)
	}
	if !bytes.Equal(out[0:6], in[6:12]) || !bytes.Equal(out[6:12], in[0:6]) {
		t.Errorf("MACs %x > %x, want the request's swapped", out[6:12], out[0:6])
	}
	ip := out[14:34]
	if ipChecksum(ip) != 0 || ip[9] != 1 || !bytes.Equal(ip[12:16], vip.Addr().AsSlice()) || !bytes.Equal(ip[16:20], c.Addr().AsSlice()) {
		t.Errorf("IPv4 header %x: want a valid checksum, protocol 1 (ICMP), %s > %s", ip, vip.Addr(), c.Addr())
	}
	icmp := out[34:]
	if icmp[0] != 3 || icmp[1] != 4 || binary.BigEndian.Uint16(icmp[6:]) != 1480 {
		t.Errorf("ICMP %x: want type 3 code 4 (fragmentation needed), MTU 1480", icmp[:8])
	}
	if ipChecksum(icmp) != 0 {
		t.Errorf("ICMP checksum does not verify: %x", icmp)
	}
	if !bytes.Equal(icmp[8:], in[14:14+28]) {
		t.Errorf("quoted %x, want the request's IPv4 header and 8 bytes: %x", icmp[8:], in[14:14+28])
	}
	golden(t, "frag-needed.hex", hexDump(out))

	noDF := tcpFrame(c, vip, ack, 1441)
	binary.BigEndian.PutUint16(noDF[14+6:], 0)
	binary.BigEndian.PutUint16(noDF[14+10:], 0)
	binary.BigEndian.PutUint16(noDF[14+10:], ipChecksum(noDF[14:34]))
	if ret, _ := run(t, p, noDF); ret != xdpDrop {
		t.Fatalf("a packet too big without DF: action %d, want XDP_DROP", ret)
	}
	if n := p.Drops().TooBig; n != 1 {
		t.Errorf("too-big drops = %d, want 1", n)
	}
}

func hexDump(b []byte) []byte {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		s.WriteString(hex.EncodeToString(b[i:min(i+16, len(b))]))
		s.WriteByte('\n')
	}
	return []byte(s.String())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\ngot\n%s\nwant\n%s", path, got, want)
	}
}

func TestStatsCountFlows(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("rr", dr(rs1, 1)))
	c := client(1)
	for _, f := range []struct {
		flags byte
		n     int
	}{{syn, 0}, {ack, 100}, {ack, 50}} {
		run(t, p, tcpFrame(c, vip, f.flags, f.n))
	}
	st := p.Stats()
	d := st.Services[0].Dests[0]
	if d.Conns != 1 || d.InPkts != 3 || d.ActiveConn != 1 || st.Services[0].InPkts != 3 {
		t.Fatalf("after SYN and two segments: %+v, want 1 conn, 3 packets, 1 active", d)
	}
	if want := uint64(3*54 + 150); d.InBytes != want {
		t.Errorf("InBytes %d, want %d", d.InBytes, want)
	}
	run(t, p, tcpFrame(c, vip, fin|ack, 0))
	run(t, p, tcpFrame(c, vip, rst, 0)) // a second close is not counted twice
	if d := p.Stats().Services[0].Dests[0]; d.ActiveConn != 0 || d.Conns != 1 {
		t.Errorf("after FIN and RST: %+v, want 0 active, 1 conn", d)
	}
	run(t, p, tcpFrame(c, vip, syn, 0)) // the client reuses its port: a new connection
	if d := p.Stats().Services[0].Dests[0]; d.ActiveConn != 1 || d.Conns != 2 {
		t.Errorf("after a new SYN on the closed flow: %+v, want 1 active, 2 conns", d)
	}
}

// TestDynamicWeightsFollowActiveFlows: with wlc, a server holding many active flows gets
// (almost) no new ones after the next refresh.
func TestDynamicWeightsFollowActiveFlows(t *testing.T) {
	p := testPlane(t)
	apply(t, p, drService("wlc", dr(rs1, 1), dr(rs2, 1)))
	// Open 300 flows, then close those on rs2: rs2 is idle, rs1 busy.
	on := map[netip.AddrPort]netip.AddrPort{}
	for i := range 300 {
		in := tcpFrame(client(i), vip, syn, 0)
		_, out := run(t, p, in)
		on[client(i)] = sentTo(t, in, out)
	}
	for c, rs := range on {
		if rs == rs2 {
			run(t, p, tcpFrame(c, vip, fin|ack, 0))
		}
	}
	time.Sleep(3 * refreshEvery)
	got := map[netip.AddrPort]int{}
	for i := 5000; i < 5100; i++ {
		in := tcpFrame(client(i), vip, syn, 0)
		_, out := run(t, p, in)
		got[sentTo(t, in, out)]++
	}
	if got[rs2] < 90 {
		t.Errorf("after rs1 got busy, new flows went %v; want nearly all on the idle rs2", got)
	}
}
