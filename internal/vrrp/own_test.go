package vrrp

import (
	"net/netip"
	"testing"
)

// TestCouldSendFrom: an interface address would do as an instance's source when it is
// of the instance's family (link-local for IPv6) and not one of its virtual addresses.
func TestCouldSendFrom(t *testing.T) {
	v4 := &instance{cfg: InstanceConfig{VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}}
	v6 := &instance{cfg: InstanceConfig{VIPs: []VIP{{Prefix: netip.MustParsePrefix("2001:db8::100/64")}}}}
	for _, tc := range []struct {
		i    *instance
		addr string
		want bool
	}{
		{v4, "10.0.0.7", true},
		{v4, "10.0.0.100", false}, // its VIP
		{v4, "fe80::1", false},
		{v6, "fe80::1", true},
		{v6, "2001:db8::7", false}, // not link-local
		{v6, "10.0.0.7", false},
	} {
		if got := tc.i.couldSendFrom(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s for an IPv6=%v instance: %v, want %v", tc.addr, tc.i.cfg.IPv6(), got, tc.want)
		}
	}
}
