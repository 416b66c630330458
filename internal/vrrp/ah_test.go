package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var (
	ahSrc = netip.MustParseAddr("10.77.0.1")
	ahDst = MulticastGroup4
)

func ahAdvert(t testing.TB) []byte {
	a := Advert{Version: 2, VRID: 51, Priority: 150, AuthType: AuthAH, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.254")}}
	b, err := a.Append(nil, ahSrc, ahDst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newAHKey(pass string) *ahKey {
	k := &ahKey{}
	copy(k[:], pass)
	return k
}

// TestAHRoundTrip: what appendAHPacket builds, openAH accepts with the same key and
// returns the advert and sequence number; each check rejects what it should, with
// ReasonAuth or ReasonTooShort.
func TestAHRoundTrip(t *testing.T) {
	adv := ahAdvert(t)
	key := newAHKey("govstest")
	pkt := key.appendAHPacket(nil, 7, 42, ahSrc, ahDst, false, TTL, adv)
	if len(pkt) != ipv4HeaderLen+ahHeaderLen+len(adv) || pkt[9] != ipProtoAH || pkt[ipv4HeaderLen] != IPProtocol || pkt[ipv4HeaderLen+1] != ahPayloadLen {
		t.Fatalf("packet % x", pkt)
	}
	got, seq, err := key.openAH(pkt[:ipv4HeaderLen], pkt[ipv4HeaderLen:], ahSrc, false)
	if err != nil || seq != 42 || string(got) != string(adv) {
		t.Fatalf("openAH: %v, seq %d, advert % x", err, seq, got)
	}
	mutate := func(off int, v byte) []byte {
		p := append([]byte(nil), pkt...)
		p[off] = v
		return p
	}
	for _, tc := range []struct {
		name    string
		pkt     []byte
		key     *ahKey
		src     netip.Addr
		unicast bool
		reason  Reason // ReasonNone: accepted
	}{
		{"other password", pkt, newAHKey("govstesx"), ahSrc, false, ReasonAuth},
		{"password beyond 8 bytes does not count", pkt, newAHKey("govstest-and-more"), ahSrc, false, ReasonNone},
		{"TOS is mutable", mutate(1, 0), key, ahSrc, false, ReasonNone},
		{"fragment offset is mutable", mutate(6, 0x40), key, ahSrc, false, ReasonNone},
		{"checksum is mutable", mutate(10, 0xab), key, ahSrc, false, ReasonNone},
		{"TTL is covered for multicast", mutate(8, 254), key, ahSrc, false, ReasonAuth},
		{"IPv4 id is covered", mutate(5, 8), key, ahSrc, false, ReasonAuth},
		{"destination is covered", mutate(19, 19), key, ahSrc, false, ReasonAuth},
		{"sequence number is covered", mutate(ipv4HeaderLen+11, 43), key, ahSrc, false, ReasonAuth},
		{"advert is covered", mutate(ipv4HeaderLen+ahHeaderLen+2, 200), key, ahSrc, false, ReasonAuth},
		{"ICV", mutate(ipv4HeaderLen+12, pkt[ipv4HeaderLen+12]^1), key, ahSrc, false, ReasonAuth},
		{"next header", mutate(ipv4HeaderLen, 6), key, ahSrc, false, ReasonAuth},
		{"SPI is the source", pkt, key, netip.MustParseAddr("10.77.0.9"), false, ReasonAuth},
		{"too short", pkt[:ipv4HeaderLen+ahHeaderLen+4], key, ahSrc, false, ReasonTooShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.key.openAH(tc.pkt[:ipv4HeaderLen], tc.pkt[ipv4HeaderLen:], tc.src, tc.unicast)
			var pe *PacketError
			switch {
			case tc.reason == ReasonNone && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.reason != ReasonNone && (!errors.As(err, &pe) || pe.Reason != tc.reason):
				t.Fatalf("error %v, want reason %v", err, tc.reason)
			}
		})
	}

	// Unicast adverts leave the TTL out: it changes on the way across routers.
	uni := key.appendAHPacket(nil, 7, 42, ahSrc, netip.MustParseAddr("10.77.0.2"), true, TTL, adv)
	uni[8] = 60
	if _, _, err := key.openAH(uni[:ipv4HeaderLen], uni[ipv4HeaderLen:], ahSrc, true); err != nil {
		t.Fatalf("unicast with another TTL: %v", err)
	}
	if _, _, err := key.openAH(uni[:ipv4HeaderLen], uni[ipv4HeaderLen:], ahSrc, false); err == nil {
		t.Fatal("a unicast ICV verified as multicast")
	}
}

// TestAHAnyByteFlip: flipping any bit the ICV covers is detected (rapid property).
func TestAHAnyByteFlip(t *testing.T) {
	adv := ahAdvert(t)
	key := newAHKey("k")
	pkt := key.appendAHPacket(nil, 1, 1, ahSrc, ahDst, false, TTL, adv)
	mutable := map[int]bool{1: true, 6: true, 7: true, 10: true, 11: true}
	rapid.Check(t, func(t *rapid.T) {
		off := rapid.IntRange(0, len(pkt)-1).Draw(t, "offset")
		bit := rapid.IntRange(0, 7).Draw(t, "bit")
		if mutable[off] {
			t.Skip("a mutable field")
		}
		p := append([]byte(nil), pkt...)
		p[off] ^= 1 << bit
		if _, _, err := key.openAH(p[:ipv4HeaderLen], p[ipv4HeaderLen:], ahSrc, false); err == nil {
			t.Fatalf("flip of bit %d at %d not detected", bit, off)
		}
	})
}

// FuzzOpenAH: any header and payload either fail with a *PacketError or yield an
// advert that lies inside the payload; openAH never panics.
func FuzzOpenAH(f *testing.F) {
	key := newAHKey("govstest")
	pkt := key.appendAHPacket(nil, 7, 42, ahSrc, ahDst, false, TTL, ahAdvert(f))
	f.Add(pkt[:ipv4HeaderLen], pkt[ipv4HeaderLen:], false)
	f.Add([]byte{}, []byte{}, true)
	f.Fuzz(func(t *testing.T, header, payload []byte, unicast bool) {
		adv, _, err := key.openAH(header, payload, ahSrc, unicast)
		if err != nil {
			var pe *PacketError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *PacketError", err, err)
			}
			return
		}
		if len(adv) != len(payload)-ahHeaderLen {
			t.Fatalf("advert of %d bytes from a payload of %d", len(adv), len(payload))
		}
	})
}
