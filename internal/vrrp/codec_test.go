package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var (
	src4 = netip.MustParseAddr("10.0.0.2")
	dst4 = MulticastGroup4
	src6 = netip.MustParseAddr("fe80::1")
	dst6 = MulticastGroup6
)

func mustAppend(t testing.TB, a Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Append(nil, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		wantLen  int
	}{
		{"v2 PASS", Advert{Version: 2, VRID: 51, Priority: 150, AuthType: AuthPass, AuthData: [8]byte{'s', 'e', 'c'}, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254"), netip.MustParseAddr("10.0.0.253")}}, src4, dst4, 8 + 8 + 8},
		{"v3 IPv4", Advert{Version: 3, VRID: 1, Priority: 255, Interval: 100 * time.Millisecond,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, src4, dst4, 12},
		{"v3 IPv6", Advert{Version: 3, VRID: 255, Priority: 1, Interval: 40950 * time.Millisecond,
			Addrs: []netip.Addr{netip.MustParseAddr("fe80::254"), netip.MustParseAddr("2001:db8::1")}}, src6, dst6, 8 + 32},
		{"v3 unicast, no addresses", Advert{Version: 3, VRID: 9, Priority: 0, Interval: time.Second}, src4, netip.MustParseAddr("10.0.0.9"), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustAppend(t, tc.a, tc.src, tc.dst)
			if len(b) != tc.wantLen || tc.a.Len() != tc.wantLen {
				t.Fatalf("length %d (Len %d), want %d", len(b), tc.a.Len(), tc.wantLen)
			}
			var got Advert
			if err := got.Unmarshal(b, tc.src, tc.dst); err != nil {
				t.Fatal(err)
			}
			got.Checksum = 0
			want := tc.a
			if want.Version == 3 {
				want.AuthType, want.AuthData = 0, [8]byte{}
			}
			if got.Version != want.Version || got.VRID != want.VRID || got.Priority != want.Priority ||
				got.AuthType != want.AuthType || got.AuthData != want.AuthData || got.Interval != want.Interval ||
				len(got.Addrs) != len(want.Addrs) {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
			for i := range want.Addrs {
				if got.Addrs[i] != want.Addrs[i] {
					t.Fatalf("address %d: %v, want %v", i, got.Addrs[i], want.Addrs[i])
				}
			}
			// The v3 checksum covers the pseudo-header: another destination fails it.
			if tc.a.Version == 3 {
				other := netip.MustParseAddr("10.9.9.9")
				if tc.src.Is6() {
					other = netip.MustParseAddr("ff02::1")
				}
				if err := got.Unmarshal(b, tc.src, other); reason(err) != ReasonChecksum {
					t.Fatalf("wrong pseudo-header accepted: %v", err)
				}
			}
		})
	}
}

func reason(err error) Reason {
	var pe *PacketError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ReasonNone
}

func TestUnmarshalRejects(t *testing.T) {
	good2 := mustAppend(t, Advert{Version: 2, VRID: 7, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}, src4, dst4)
	good3 := mustAppend(t, Advert{Version: 3, VRID: 7, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}, src4, dst4)
	mod := func(b []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	for _, tc := range []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     Reason
	}{
		{"empty", nil, src4, dst4, ReasonTooShort},
		{"short header", good2[:7], src4, dst4, ReasonTooShort},
		{"version 1", mod(good2, func(b []byte) []byte { b[0] = 0x11; return b }), src4, dst4, ReasonVersion},
		{"version 4", mod(good2, func(b []byte) []byte { b[0] = 0x41; return b }), src4, dst4, ReasonVersion},
		{"type 2", mod(good2, func(b []byte) []byte { b[0] = 0x22; return b }), src4, dst4, ReasonType},
		{"count beyond data", mod(good2, func(b []byte) []byte { b[3] = 9; return b }), src4, dst4, ReasonTooShort},
		{"trailing bytes", append(append([]byte(nil), good3...), 0, 0, 0, 0), src4, dst4, ReasonLength},
		{"v2 checksum", mod(good2, func(b []byte) []byte { b[2]++; return b }), src4, dst4, ReasonChecksum},
		{"v3 checksum", mod(good3, func(b []byte) []byte { b[11] ^= 1; return b }), src4, dst4, ReasonChecksum},
		{"v2 over IPv6", good2, src6, dst6, ReasonFamily},
		{"mixed families", good3, src4, dst6, ReasonFamily},
		{"v3 IPv4 body read as IPv6", good3, src6, dst6, ReasonTooShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Advert
			err := a.Unmarshal(tc.b, tc.src, tc.dst)
			if got := reason(err); got != tc.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tc.want)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	v4 := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	for _, tc := range []struct {
		name     string
		a        Advert
		src, dst netip.Addr
	}{
		{"version", Advert{Version: 4, Interval: time.Second}, src4, dst4},
		{"v2 interval 0", Advert{Version: 2, Interval: 0, Addrs: v4}, src4, dst4},
		{"v2 interval 256 s", Advert{Version: 2, Interval: 256 * time.Second, Addrs: v4}, src4, dst4},
		{"v3 interval 41 s", Advert{Version: 3, Interval: 41 * time.Second, Addrs: v4}, src4, dst4},
		{"v2 IPv6", Advert{Version: 2, Interval: time.Second}, src6, dst6},
		{"family mix", Advert{Version: 3, Interval: time.Second, Addrs: v4}, src6, dst6},
		{"no source", Advert{Version: 3, Interval: time.Second}, netip.Addr{}, dst4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.a.Append(nil, tc.src, tc.dst); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestRxPolicy(t *testing.T) {
	in := InstanceConfig{Name: "VI", Interface: "eth0", VRID: 7, AuthType: AuthPass, AuthPass: "secret",
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.254/24")}}}
	if err := in.normalize(); err != nil {
		t.Fatal(err)
	}
	pol := newRxPolicy(&in)
	base := Advert{Version: 2, VRID: 7, Priority: 100, AuthType: AuthPass, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't'},
		Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}
	mcast := rxMeta{src: src4, dst: dst4, ttl: 255}
	for _, tc := range []struct {
		name string
		meta rxMeta
		edit func(a *Advert)
		want Reason
	}{
		{"accepted", mcast, func(*Advert) {}, ReasonNone},
		{"ttl 254", rxMeta{src: src4, dst: dst4, ttl: 254}, func(*Advert) {}, ReasonTTL},
		{"version 3", mcast, func(a *Advert) { a.Version = 3 }, ReasonVersion},
		{"no auth", mcast, func(a *Advert) { a.AuthType = AuthNone }, ReasonAuth},
		{"wrong password", mcast, func(a *Advert) { a.AuthData[0] = 'S' }, ReasonAuth},
		{"interval", mcast, func(a *Advert) { a.Interval = 2 * time.Second }, ReasonInterval},
		{"address count", mcast, func(a *Advert) { a.Addrs = nil }, ReasonAddrCount},
		{"other address", mcast, func(a *Advert) { a.Addrs = []netip.Addr{netip.MustParseAddr("10.0.0.1")} }, ReasonAddrs},
		{"unicast to a multicast instance", rxMeta{src: src4, dst: netip.MustParseAddr("10.0.0.1"), ttl: 255}, func(*Advert) {}, ReasonDestination},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			tc.edit(&a)
			err := pol.check(tc.meta, &a)
			got := ReasonNone
			if err != nil {
				got = err.Reason
			}
			if got != tc.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// TestUnicastSourceCheck: without check_unicast_src a unicast instance accepts adverts
// from any source, as keepalived does; with it only from its unicast peers, and from a
// peer given min_ttl/max_ttl only with a TTL in that range.
func TestUnicastSourceCheck(t *testing.T) {
	peer, stranger, me := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.66"), netip.MustParseAddr("10.0.0.1")
	ranged := netip.MustParseAddr("10.0.0.3")
	a := Advert{Version: 3, VRID: 7, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}
	for _, tc := range []struct {
		name  string
		check bool
		src   netip.Addr
		ttl   uint8
		want  Reason
	}{
		{"peer, unchecked", false, peer, 64, ReasonNone},
		{"stranger, unchecked", false, stranger, 64, ReasonNone},
		{"peer, checked", true, peer, 64, ReasonNone},
		{"stranger, checked", true, stranger, 64, ReasonPeer},
		{"peer within its min_ttl/max_ttl", true, ranged, 60, ReasonNone},
		{"peer below its min_ttl", true, ranged, 59, ReasonTTL},
		{"peer above its max_ttl", true, ranged, 65, ReasonTTL},
		{"peer outside its range, unchecked", false, ranged, 1, ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := InstanceConfig{Name: "VI", Interface: "eth0", VRID: 7, Version: 3, UnicastPeers: []netip.Addr{peer, ranged},
				PeerTTLs:        map[netip.Addr]TTLRange{ranged: {Min: 60, Max: 64}},
				CheckUnicastSrc: tc.check, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.254/24")}}}
			if err := in.normalize(); err != nil {
				t.Fatal(err)
			}
			pol := newRxPolicy(&in)
			// Unicast adverts may arrive with any TTL, but from a peer given min_ttl
			// and max_ttl, when sources are checked (keepalived's).
			err := pol.check(rxMeta{src: tc.src, dst: me, ttl: tc.ttl}, &a)
			got := ReasonNone
			if err != nil {
				got = err.Reason
			}
			if got != tc.want {
				t.Fatalf("reason %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// TestRoundTripProperty: whatever Append accepts, Unmarshal reads back unchanged.
func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v6 := rapid.Bool().Draw(t, "v6")
		version := uint8(3)
		if !v6 && rapid.Bool().Draw(t, "v2") {
			version = 2
		}
		a := Advert{Version: version, VRID: rapid.Uint8().Draw(t, "vrid"), Priority: rapid.Uint8().Draw(t, "prio")}
		if version == 2 {
			a.Interval = time.Duration(rapid.IntRange(1, 255).Draw(t, "secs")) * time.Second
			a.AuthType = AuthType(rapid.IntRange(0, 2).Draw(t, "auth"))
			copy(a.AuthData[:], rapid.SliceOfN(rapid.Byte(), 8, 8).Draw(t, "authdata"))
		} else {
			a.Interval = time.Duration(rapid.IntRange(1, 4095).Draw(t, "cs")) * 10 * time.Millisecond
		}
		for range rapid.IntRange(0, 20).Draw(t, "n") {
			if v6 {
				a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "a6"))))
			} else {
				a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "a4"))))
			}
		}
		src, dst := src4, dst4
		if v6 {
			src, dst = src6, dst6
		}
		b, err := a.Append(nil, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		var got Advert
		if err := got.Unmarshal(b, src, dst); err != nil {
			t.Fatal(err)
		}
		if got.VRID != a.VRID || got.Priority != a.Priority || got.Interval != a.Interval || got.Checksum != a.Checksum || len(got.Addrs) != len(a.Addrs) {
			t.Fatalf("got %+v, want %+v", got, a)
		}
		if version == 2 && (got.AuthType != a.AuthType || got.AuthData != a.AuthData) {
			t.Fatalf("auth: got %v %x, want %v %x", got.AuthType, got.AuthData, a.AuthType, a.AuthData)
		}
	})
}

// FuzzUnmarshal: any bytes from any source either decode to something that re-encodes
// to the same bytes, or fail with a *PacketError; never a panic.
func FuzzUnmarshal(f *testing.F) {
	f.Add(mustAppend(f, Advert{Version: 2, VRID: 42, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}, src4, dst4), false)
	f.Add(mustAppend(f, Advert{Version: 3, VRID: 42, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}, src4, dst4), false)
	f.Add(mustAppend(f, Advert{Version: 3, VRID: 1, Priority: 0, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("fe80::1")}}, src6, dst6), true)
	f.Add([]byte{0x31}, false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := src4, dst4
		if v6 {
			src, dst = src6, dst6
		}
		var a Advert
		err := a.Unmarshal(b, src, dst)
		if err != nil {
			var pe *PacketError
			if !errors.As(err, &pe) || pe.Reason == ReasonNone {
				t.Fatalf("error %v is not a classified *PacketError", err)
			}
			return
		}
		// Reserved bits and interval 0 are legal on the wire but not re-encodable.
		if a.Version == 3 && (b[4]&0xf0 != 0 || a.Interval == 0) || a.Version == 2 && a.Interval == 0 {
			return
		}
		out, err := a.Append(nil, src, dst)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", a, err)
		}
		if string(out) != string(b) {
			t.Fatalf("re-encoded %x, input %x", out, b)
		}
	})
}

// FuzzParseIPv4: the IPv4 header splitter never panics and stays inside the packet.
func FuzzParseIPv4(f *testing.F) {
	f.Add([]byte{0x45, 0xc0, 0, 32, 0, 1, 0, 0, 255, 112, 0, 0, 10, 0, 0, 2, 224, 0, 0, 18, 0x31, 42, 100, 1, 0, 100, 0, 0, 10, 0, 0, 254})
	f.Fuzz(func(t *testing.T, p []byte) {
		payload, _, err := parseIPv4(p)
		if err == nil && len(payload) > len(p) {
			t.Fatal("payload larger than the packet")
		}
	})
}

// BenchmarkSendPath measures encoding one advert into the reused buffer: the per-advert
// work of a master, which must not allocate.
func BenchmarkSendPath(b *testing.B) {
	a := Advert{Version: 3, VRID: 51, Priority: 150, Interval: 100 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254"), netip.MustParseAddr("10.0.0.253")}}
	buf := make([]byte, 0, a.Len())
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = a.Append(buf[:0], src4, dst4); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSendPathDoesNotAllocate(t *testing.T) {
	a := Advert{Version: 2, VRID: 51, Priority: 150, AuthType: AuthPass, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.254")}}
	buf := make([]byte, 0, a.Len())
	if n := testing.AllocsPerRun(100, func() { buf, _ = a.Append(buf[:0], src4, dst4) }); n != 0 {
		t.Fatalf("%v allocations per advert", n)
	}
}
