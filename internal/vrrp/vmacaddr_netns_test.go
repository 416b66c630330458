package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// secondLink joins a and peer with a veth pair named eth1 on both sides; peer's end
// stays down (no carrier on a's) unless up.
func secondLink(t *testing.T, a, peer *testutil.Host, up bool) {
	t.Helper()
	mustExec(t, a, "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer.Name)
	mustExec(t, a, "ip", "link", "set", "eth1", "up")
	if up {
		mustExec(t, peer, "ip", "link", "set", "eth1", "up")
	}
}

// TestAddressDeviceTracking: as keepalived 2.2.7 (seen in a namespace), an instance
// tracks the devices of its addresses: one whose address device has no carrier stays
// in FAULT and comes out when it gets it; one whose address there is no_track does not
// care.
func TestAddressDeviceTracking(t *testing.T) {
	_, hosts := lanHosts(t, "a", "peer")
	a, peer := hosts["a"], hosts["peer"]
	secondLink(t, a, peer, false)
	tracked := instanceCfg("VI_1", 91, 150, 3, 100*time.Millisecond, testVIP)
	tracked.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("10.78.0.5/32"), Dev: "eth1"}}
	free := instanceCfg("VI_2", 92, 150, 3, 100*time.Millisecond, testVIP2)
	free.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("10.78.0.6/32"), Dev: "eth1", NoTrack: true}}
	n := startNode(t, a, single(tracked, free))
	waitState(t, n.Node, "VI_2", StateMaster, "a (VI_2)")
	if st := stateOf(n.Node, "VI_1"); st != StateFault {
		t.Fatalf("VI_1, whose address device has no carrier: %v, want FAULT", st)
	}
	mustExec(t, peer, "ip", "link", "set", "eth1", "up")
	waitState(t, n.Node, "VI_1", StateMaster, "a (VI_1, carrier back)")
	if !hasAddrOn(a, "eth1", "10.78.0.5") {
		t.Error("VI_1's address on eth1 is missing")
	}
}

// TestUseVMACAddr: use_vmac_addr puts each address on another interface, or of the other
// family, on a VMAC of its own, named and addressed as keepalived 2.2.7 names them for
// the same file (vrrp.VRID for the instance, vrrp1.VRID on the second interface,
// vrrp6.VRID for IPv6), carrying the family's virtual MAC; use_vmac on an address line
// does the same for that address alone; a stopped node removes them all.
func TestUseVMACAddr(t *testing.T) {
	_, hosts := lanHosts(t, "a", "peer")
	a, peer := hosts["a"], hosts["peer"]
	secondLink(t, a, peer, true)
	in := instanceCfg("VI_1", 51, 150, 3, 100*time.Millisecond, testVIP)
	in.UseVMAC, in.VMACAddr = true, true
	in.VIPs = append(in.VIPs, VIP{Prefix: netip.MustParsePrefix("10.78.0.100/24"), Dev: "eth1"}, VIP{Prefix: netip.MustParsePrefix("10.78.0.101/24"), Dev: "eth1"})
	in.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("fd00::1/64"), Dev: "eth0"}}
	single2 := instanceCfg("VI_2", 52, 150, 3, 100*time.Millisecond, testVIP2)
	single2.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("10.78.0.102/24"), Dev: "eth1", UseVMAC: true}, {Prefix: netip.MustParsePrefix("10.78.0.103/24"), Dev: "eth1"}}
	n := startNode(t, a, single(in, single2))
	waitState(t, n.Node, "VI_1", StateMaster, "a (VI_1)")
	waitState(t, n.Node, "VI_2", StateMaster, "a (VI_2)")
	for _, want := range []struct{ dev, base, mac, addr string }{
		{"vrrp.51", "eth0", "00:00:5e:00:01:33", testVIP},
		{"vrrp1.51", "eth1", "00:00:5e:00:01:33", "10.78.0.100"},
		{"vrrp1.51", "eth1", "00:00:5e:00:01:33", "10.78.0.101"},
		{"vrrp6.51", "eth0", "00:00:5e:00:02:33", "fd00::1"},
		{"vrrp.52", "eth1", "00:00:5e:00:01:34", "10.78.0.102"}, // vrrp.52 is free: VI_2 has no VMAC of its own
		{"eth1", "", "", "10.78.0.103"},                         // without use_vmac: on the interface
	} {
		if !hasAddrOn(a, want.dev, want.addr) {
			out, _ := a.Exec("ip", "-br", "addr")
			t.Errorf("%s is not on %s:\n%s", want.addr, want.dev, out)
		}
		if want.base == "" {
			continue
		}
		out, err := a.Exec("ip", "-d", "link", "show", want.dev)
		if err != nil || !strings.Contains(out, want.dev+"@"+want.base) || !strings.Contains(out, "link/ether "+want.mac) || !strings.Contains(out, "macvlan mode private") {
			t.Errorf("%s: %v\n%s", want.dev, err, out)
		}
	}
	// The IPv6 VMAC carries its base's link-local address, as keepalived's does.
	out, _ := a.Exec("ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	if f := strings.Fields(out); len(f) < 4 || !hasAddrOn(a, "vrrp6.51", strings.Split(f[3], "/")[0]) {
		t.Errorf("vrrp6.51 lacks eth0's link-local address (%q)", out)
	}
	n.stop(t)
	for _, dev := range []string{"vrrp.51", "vrrp1.51", "vrrp6.51", "vrrp.52"} {
		if _, err := a.Exec("ip", "link", "show", dev); err == nil {
			t.Errorf("%s is still there after the node stopped", dev)
		}
	}
}
