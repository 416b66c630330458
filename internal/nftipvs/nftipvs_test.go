package nftipvs

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// TestSetRefusesBadEntries: an entry the tables cannot hold is refused before any
// netlink work, and a Set with nothing to hold makes no tables at all.
func TestSetRefusesBadEntries(t *testing.T) {
	dialed := false
	m := New(func() (*nftables.Conn, error) { dialed = true; return nil, errors.New("no netlink in this test") })
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for _, e := range []Entry{
		{First: v4, Last: v6, Port: 80, Protocol: unix.IPPROTO_TCP, Mark: 1},
		{First: v4, Port: 80, Protocol: unix.IPPROTO_TCP, Mark: 1},
		{First: v4, Last: v4, Port: 80, Protocol: unix.IPPROTO_ICMP, Mark: 1},
	} {
		if err := m.Set(Options{}, []Entry{e}); err == nil {
			t.Errorf("%+v accepted", e)
		}
	}
	if err := m.Set(Options{}, nil); err != nil || dialed {
		t.Errorf("an empty Set: %v, netlink dialled %v", err, dialed)
	}
	if err := m.Close(); err != nil || dialed {
		t.Errorf("Close without tables: %v, netlink dialled %v", err, dialed)
	}
}
