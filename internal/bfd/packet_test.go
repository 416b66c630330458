package bfd

import (
	"bytes"
	"testing"
)

func TestPacketRoundTrip(t *testing.T) {
	p := Packet{Diag: diagTimeExpired, State: Up, Poll: true, DetectMult: 5, MyDisc: 0x01020304, YourDisc: 7,
		DesiredMinTx: 10000, RequiredMinRx: 20000, RequiredMinEchoRx: 0}
	b := p.Append(nil)
	want := []byte{0x21, 0xe0, 5, 24, 1, 2, 3, 4, 0, 0, 0, 7, 0, 0, 0x27, 0x10, 0, 0, 0x4e, 0x20, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("wire form\n% x\nwant\n% x", b, want)
	}
	got, err := Parse(b)
	if err != nil || got != p {
		t.Fatalf("Parse: %+v, %v; want %+v", got, err, p)
	}
}

func TestParseRejects(t *testing.T) {
	good := (&Packet{State: Down, DetectMult: 3, MyDisc: 1}).Append(nil)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"short", good[:23]},
		{"version 0", mod(func(b []byte) []byte { b[0] &= 0x1f; return b })},
		{"authentication", mod(func(b []byte) []byte { b[1] |= 0x04; return b })},
		{"multipoint", mod(func(b []byte) []byte { b[1] |= 0x01; return b })},
		{"multiplier 0", mod(func(b []byte) []byte { b[2] = 0; return b })},
		{"length too big", mod(func(b []byte) []byte { b[3] = 30; return b })},
		{"length too small", mod(func(b []byte) []byte { b[3] = 20; return b })},
		{"my discriminator 0", mod(func(b []byte) []byte { b[7] = 0; return b })},
		{"your discriminator 0 when Up", mod(func(b []byte) []byte { b[1] = byte(Up) << 6; return b })},
		{"poll and final", mod(func(b []byte) []byte { b[1] |= 0x30; return b })},
	} {
		if _, err := Parse(tc.b); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Errorf("the good packet: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add((&Packet{State: Down, DetectMult: 3, MyDisc: 1}).Append(nil))
	f.Add((&Packet{State: Up, Final: true, DetectMult: 5, MyDisc: 9, YourDisc: 4, DesiredMinTx: 1e6}).Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		// What parses re-encodes to the same first 24 bytes (the flags it keeps).
		again, err := Parse(p.Append(nil))
		if err != nil || again != p {
			t.Fatalf("%+v re-parsed as %+v, %v", p, again, err)
		}
	})
}
