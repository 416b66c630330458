package vrrp

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// TestOldUnicastChecksum checks which adverts an IPv4 VRRPv3 unicast instance takes in
// each old_unicast_checksum mode, and that detection sticks.
func TestOldUnicastChecksum(t *testing.T) {
	peer, us := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	group := MulticastGroup4
	advert := func(t *testing.T, sumDst netip.Addr) []byte {
		a := Advert{Version: 3, VRID: 7, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}
		b, err := a.Append(nil, peer, sumDst)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	meta := rxMeta{src: peer, dst: us, ttl: 255}
	for _, tc := range []struct {
		name      string
		mode      UnicastChecksum
		sumDst    netip.Addr
		wantOK    bool
		wantOld   bool
		thenNewOK bool // after this advert, does an RFC checksum still verify?
	}{
		{"detect/new", UnicastChecksumDetect, us, true, false, true},
		{"detect/old", UnicastChecksumDetect, group, true, true, false},
		{"never/old", UnicastChecksumNever, group, false, false, true},
		{"old/old", UnicastChecksumOld, group, true, true, false},
		{"old/new", UnicastChecksumOld, us, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := &instance{cfg: InstanceConfig{UnicastChecksum: tc.mode}, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if tc.mode != UnicastChecksumNever {
				i.oldChecksumGroup = group
				i.oldChecksum.Store(tc.mode == UnicastChecksumOld)
			}
			var a Advert
			err := i.unmarshal(&a, advert(t, tc.sumDst), meta)
			if (err == nil) != tc.wantOK || i.oldChecksum.Load() != tc.wantOld {
				t.Fatalf("err %v, old checksum %v; want ok %v, old %v", err, i.oldChecksum.Load(), tc.wantOK, tc.wantOld)
			}
			if err := i.unmarshal(&a, advert(t, us), meta); (err == nil) != tc.thenNewOK {
				t.Fatalf("then an RFC checksum: %v, want ok %v", err, tc.thenNewOK)
			}
		})
	}
}
