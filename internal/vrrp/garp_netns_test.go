package vrrp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// announcement is a gratuitous ARP or an unsolicited neighbour advertisement seen in a
// capture: the address announced and the hardware address it is announced with.
type announcement struct {
	addr   netip.Addr
	ethSrc string // the frame's source MAC
	mac    string // ARP sender hardware address / NA target link-layer address
}

func (a announcement) String() string {
	return fmt.Sprintf("%v from %s as %s", a.addr, a.ethSrc, a.mac)
}

// parseAnnouncement recognises keepalived-style GARPs (ARP request, sender IP = target
// IP) and unsolicited NAs with a target link-layer address option.
func parseAnnouncement(f []byte) (announcement, bool) {
	if len(f) < 14 {
		return announcement{}, false
	}
	src := net.HardwareAddr(f[6:12]).String()
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0806:
		arp := f[14:]
		if len(arp) < 28 || binary.BigEndian.Uint16(arp[6:]) != 1 || string(arp[14:18]) != string(arp[24:28]) {
			return announcement{}, false
		}
		return announcement{addr: netip.AddrFrom4([4]byte(arp[14:18])), ethSrc: src, mac: net.HardwareAddr(arp[8:14]).String()}, true
	case 0x86dd:
		ip := f[14:]
		if len(ip) < 40 || ip[6] != 58 {
			return announcement{}, false
		}
		icmp := ip[40:]
		if len(icmp) < 32 || icmp[0] != 136 || icmp[24] != 2 || icmp[25] != 1 {
			return announcement{}, false
		}
		return announcement{addr: netip.AddrFrom16([16]byte(icmp[8:24])), ethSrc: src, mac: net.HardwareAddr(icmp[26:32]).String()}, true
	}
	return announcement{}, false
}

// startFrameCapture captures filter's frames on h's iface until the returned stop is
// called, which returns them.
func startFrameCapture(t *testing.T, h *testutil.Host, iface, filter string) (stop func() [][]byte) {
	t.Helper()
	records := startRecordCapture(t, h, iface, filter)
	return func() [][]byte {
		var out [][]byte
		for _, r := range records() {
			out = append(out, r.frame)
		}
		return out
	}
}

// startRecordCapture is startFrameCapture with each frame's capture time.
func startRecordCapture(t *testing.T, h *testutil.Host, iface, filter string) (stop func() []pcapRecord) {
	t.Helper()
	testutil.NeedCommand(t, "tcpdump")
	path := filepath.Join(t.TempDir(), iface+".pcap")
	cmd, buf := h.Start("tcpdump", "-Z", "root", "-U", "--immediate-mode", "-n", "-i", iface, "-w", path, filter)
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(buf.String(), "listening on") }) {
		t.Fatalf("tcpdump on %s did not start:\n%s", iface, buf.String())
	}
	return func() []pcapRecord {
		_ = cmd.Process.Signal(syscall.SIGINT)
		if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(buf.String(), " captured\n") }) {
			t.Fatalf("tcpdump on %s did not finish:\n%s", iface, buf.String())
		}
		return readPcapRecords(t, path)
	}
}

// startTcpdump captures ARP and ICMPv6 on h's iface until the returned stop is called,
// which returns what was announced.
func startTcpdump(t *testing.T, h *testutil.Host, iface string) (stop func() []announcement) {
	t.Helper()
	frames := startFrameCapture(t, h, iface, "arp or icmp6")
	return func() []announcement {
		var out []announcement
		for _, f := range frames() {
			if a, ok := parseAnnouncement(f); ok {
				out = append(out, a)
			}
		}
		return out
	}
}

func macOfIface(t *testing.T, h *testutil.Host, iface string) string {
	t.Helper()
	out, err := h.Exec("cat", "/sys/class/net/"+iface+"/address")
	if err != nil {
		t.Fatalf("%s: %v %s", iface, err, out)
	}
	return strings.TrimSpace(out)
}

// TestGARPOnAddressDevice: addresses with `dev OTHER` (advertised and excluded, IPv4
// and IPv6) are announced on OTHER with OTHER's MAC, the others on the instance's
// interface, as keepalived does; nothing is announced on the wrong link.
func TestGARPOnAddressDevice(t *testing.T) {
	_, hosts := lanHosts(t, "a", "peer")
	a, peer := hosts["a"], hosts["peer"]
	// A second link between a (eth1) and peer (eth1), outside the LAN.
	if out, err := a.Exec("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer.Name); err != nil {
		t.Fatalf("veth: %v %s", err, out)
	}
	for _, c := range []struct {
		h    *testutil.Host
		addr string
	}{{a, "10.78.0.1/24"}, {peer, "10.78.0.2/24"}} {
		for _, args := range [][]string{{"addr", "add", c.addr, "dev", "eth1"}, {"link", "set", "eth1", "up"}} {
			if out, err := c.h.Exec("ip", args...); err != nil {
				t.Fatalf("%s: ip %v: %v %s", c.h.Name, args, err, out)
			}
		}
	}
	onLAN := startTcpdump(t, peer, "eth0")
	onOther := startTcpdump(t, peer, "eth1")

	in := instanceCfg("VI_1", 58, 150, 3, 100*time.Millisecond, testVIP)
	in.VIPs = append(in.VIPs, VIP{Prefix: netip.MustParsePrefix("10.78.0.254/24"), Dev: "eth1"})
	in.ExcludedVIPs = []VIP{
		{Prefix: netip.MustParsePrefix("10.79.0.254/24"), Dev: "eth1"},
		{Prefix: netip.MustParsePrefix("fd78::254/64"), Dev: "eth1"},
		{Prefix: netip.MustParsePrefix("10.77.1.254/24")},
	}
	n := startNode(t, a, single(in))
	if !testutil.Eventually(5*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateMaster }) {
		t.Fatal("a did not become master")
	}
	time.Sleep(500 * time.Millisecond) // the burst has gone out and crossed the links
	lanSeen, otherSeen := onLAN(), onOther()

	macLAN, macOther := macOfIface(t, a, "eth0"), macOfIface(t, a, "eth1")
	want := map[string]struct {
		seen []announcement
		mac  string
		not  []announcement
	}{
		testVIP:       {lanSeen, macLAN, otherSeen},
		"10.77.1.254": {lanSeen, macLAN, otherSeen},
		"10.78.0.254": {otherSeen, macOther, lanSeen},
		"10.79.0.254": {otherSeen, macOther, lanSeen},
		"fd78::254":   {otherSeen, macOther, lanSeen},
	}
	for addr, w := range want {
		ip := netip.MustParseAddr(addr)
		count := 0
		for _, s := range w.seen {
			if s.addr != ip {
				continue
			}
			count++
			if s.mac != w.mac || s.ethSrc != w.mac {
				t.Errorf("%s announced as %v, want with %s", addr, s, w.mac)
			}
		}
		if count < in.GARP.MasterRepeat {
			t.Errorf("%s: %d announcements on its device, want %d (LAN saw %v, other link saw %v)", addr, count, in.GARP.MasterRepeat, lanSeen, otherSeen)
		}
		for _, s := range w.not {
			if s.addr == ip {
				t.Errorf("%s announced on the wrong link: %v", addr, s)
			}
		}
	}
}

// TestGARPPacingOnTheWire: with vrrp_garp_interval, two instances becoming master on
// one interface at once share its schedule: their gratuitous ARPs go out one at a
// time, each at least the pause after the one before, and all of them go out.
func TestGARPPacingOnTheWire(t *testing.T) {
	_, hosts := lanHosts(t, "a", "peer")
	a, peer := hosts["a"], hosts["peer"]
	capture := startRecordCapture(t, peer, "eth0", "arp")
	const pause = 150 * time.Millisecond
	in1 := instanceCfg("VI_1", 61, 150, 3, 100*time.Millisecond, testVIP)
	in2 := instanceCfg("VI_2", 62, 150, 3, 100*time.Millisecond, testVIP2)
	in1.GARP.MasterRepeat, in2.GARP.MasterRepeat = 3, 3
	cfg := single(in1, in2)
	cfg.GARPPacing = GARPPacing{ARPInterval: pause}
	n := startNode(t, a, cfg)
	if !testutil.Eventually(5*time.Second, func() bool {
		return stateOf(n.Node, "VI_1") == StateMaster && stateOf(n.Node, "VI_2") == StateMaster
	}) {
		t.Fatal("a did not become master of both")
	}
	time.Sleep(6*pause + 500*time.Millisecond) // six GARPs, one per pause, and the wire
	var times []time.Time
	var seen []string
	for _, r := range capture() {
		if an, ok := parseAnnouncement(r.frame); ok {
			times = append(times, r.at)
			seen = append(seen, an.addr.String())
		}
	}
	if len(times) != 6 {
		t.Fatalf("%d gratuitous ARPs (%v), want 6: three per instance", len(times), seen)
	}
	// tcpdump's clock stamps arrival; allow it a little jitter against the pause.
	for k := 1; k < len(times); k++ {
		if gap := times[k].Sub(times[k-1]); gap < pause-20*time.Millisecond {
			t.Errorf("GARP %d (%s) came %v after the one before, want at least %v; all: %v", k, seen[k], gap, pause, seen)
		}
	}
}

// TestGARPExtraIf: garp_extra_if refreshes, while master, the interfaces other than the
// instance's own that carry its addresses, one GARP per interface per interval: every
// such interface with `all`, else only the node's VMACs, so a plain second interface
// gets nothing after the takeover's burst. With vmac_xmit_base the instance's own VMAC
// is refreshed too (its adverts leave by the base, not with the virtual MAC).
func TestGARPExtraIf(t *testing.T) {
	for _, tc := range []struct {
		name               string
		all, vmacXmitBase  bool
		wantOther, wantLAN int // refreshes in 2.5 s: at about 1 s and 2 s
	}{
		{"all", true, false, 2, 0},
		{"VMACs only", false, false, 0, 0},
		{"own VMAC with vmac_xmit_base", false, true, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hosts := lanHosts(t, "a", "peer")
			a, peer := hosts["a"], hosts["peer"]
			if out, err := a.Exec("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer.Name); err != nil {
				t.Fatalf("veth: %v %s", err, out)
			}
			for _, h := range []*testutil.Host{a, peer} {
				if out, err := h.Exec("ip", "link", "set", "eth1", "up"); err != nil {
					t.Fatalf("%s: %v %s", h.Name, err, out)
				}
			}
			in := instanceCfg("VI_1", 88, 150, 3, 100*time.Millisecond, testVIP)
			in.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("10.78.0.5/32"), Dev: "eth1"}, {Prefix: netip.MustParsePrefix("10.78.0.6/32"), Dev: "eth1"}}
			in.GARP.ExtraIfInterval, in.GARP.ExtraIfAll = time.Second, tc.all
			dev := "eth0"
			if tc.vmacXmitBase {
				in.UseVMAC, in.VMACXmitBase, dev = true, true, "vrrp.88"
			}
			startNode(t, a, single(in))
			waitVIPOn(t, 5*time.Second, testVIP, dev, a, a)
			time.Sleep(200 * time.Millisecond) // past the takeover's burst
			onOther := startTcpdump(t, peer, "eth1")
			onLAN := startTcpdump(t, peer, "eth0")
			time.Sleep(2500 * time.Millisecond)
			other, lan := onOther(), onLAN()
			if len(other) != tc.wantOther {
				t.Errorf("on eth1: %v; want %d refreshes", other, tc.wantOther)
			}
			for _, an := range other {
				if an.addr.String() != "10.78.0.5" {
					t.Errorf("eth1 refresh for %v, want only the first address on it, 10.78.0.5", an.addr)
				}
			}
			if len(lan) != tc.wantLAN {
				t.Errorf("on the instance's own interface: %v; want %d refreshes", lan, tc.wantLAN)
			}
			for _, an := range lan {
				if an.addr.String() != testVIP || an.mac != VMACAddr(88, false).String() {
					t.Errorf("LAN refresh %v, want %s with the virtual MAC", an, testVIP)
				}
			}
		})
	}
}
