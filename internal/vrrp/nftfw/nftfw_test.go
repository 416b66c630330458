package nftfw

import (
	"net/netip"
	"testing"
)

// TestElement: which set an address goes in, as keepalived chooses: link-local IPv6
// addresses with their device (its name only when asked for and nftables_ifindex is
// off), every other address alone.
func TestElement(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	for _, tc := range []struct {
		name    string
		a       Addr
		ifIndex bool
		set     setKind
		keyLen  int
	}{
		{"ipv4", Addr{IP: netip.MustParseAddr("192.0.2.1"), LinkIndex: 3, ByName: true}, false, setVIPs4, 4},
		{"v4-mapped", Addr{IP: netip.MustParseAddr("::ffff:192.0.2.1")}, false, setVIPs4, 4},
		{"ipv6 global", Addr{IP: netip.MustParseAddr("2001:db8::1"), ByName: true}, false, setVIPs6, 16},
		{"link-local by index", Addr{IP: ll, LinkName: "eth0", LinkIndex: 3}, false, setLLIndex, 20},
		{"link-local by name", Addr{IP: ll, LinkName: "eth0", LinkIndex: 3, ByName: true}, false, setLLName, 32},
		{"nftables_ifindex", Addr{IP: ll, LinkName: "eth0", LinkIndex: 3, ByName: true}, true, setLLIndex, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New(nil, Options{IfIndex: tc.ifIndex}, nil)
			e := f.element(tc.a)
			if e.set != tc.set || len(e.key) != tc.keyLen {
				t.Errorf("set %d with a %d-byte key, want %d and %d", e.set, len(e.key), tc.set, tc.keyLen)
			}
		})
	}
	f := New(nil, Options{}, nil)
	a, b := Addr{IP: ll, LinkName: "eth0", LinkIndex: 3}, Addr{IP: ll, LinkName: "eth1", LinkIndex: 4}
	if f.element(a) == f.element(b) {
		t.Error("one link-local address on two devices must be two elements")
	}
}
