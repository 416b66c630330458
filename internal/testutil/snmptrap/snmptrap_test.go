package snmptrap

import (
	"encoding/hex"
	"slices"
	"testing"
)

// TestDecode: each variable as OID=TYPE:VALUE, sysUpTime.0 left out; a truncated
// message is an error.
func TestDecode(t *testing.T) {
	msg := trap(
		vb("2b060102010103 00", "43", "03e8"),                            // sysUpTime.0
		vb("2b0601060301010401 00", "06", "2b06010401ca72640502 0a0002"), // snmpTrapOID.0
		vb("2b06010401ca7264050203010201", "04", "5649 5f32"),            // "VI_2"
		vb("2b06010401ca7264050203010401", "02", "ff"),                   // -1
		vb("2b06010401ca7264050303010501", "42", "1f90"),                 // 8080
		vb("2b06010401ca7264050303011b01", "46", "0100000000"),           // 2^32
	)
	got, err := Decode(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".1.3.6.1.6.3.1.1.4.1.0=OID:.1.3.6.1.4.1.9586.100.5.2.10.0.2",
		".1.3.6.1.4.1.9586.100.5.2.3.1.2.1=STRING:56495f32",
		".1.3.6.1.4.1.9586.100.5.2.3.1.4.1=INTEGER:-1",
		".1.3.6.1.4.1.9586.100.5.3.3.1.5.1=Gauge32:8080",
		".1.3.6.1.4.1.9586.100.5.3.3.1.27.1=Counter64:4294967296",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Decode:\n%q\nwant\n%q", got, want)
	}
	if _, err := Decode(msg[:len(msg)-3]); err == nil {
		t.Error("a truncated message decoded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(trap(vb("2b0601060301010401 00", "06", "2b06010401ca72640502 0a0002")))
	f.Add([]byte{0x30, 0x82, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Decode(b)
	})
}

// trap wraps variable bindings in an SNMPv2c trap message (community "public").
func trap(vbs ...[]byte) []byte {
	var list []byte
	for _, v := range vbs {
		list = append(list, v...)
	}
	pdu := slices.Concat([]byte{2, 1, 1, 2, 1, 0, 2, 1, 0}, ber(0x30, list))
	return ber(0x30, slices.Concat([]byte{2, 1, 1}, ber(4, []byte("public")), ber(0xa7, pdu)))
}

// vb is a variable binding: OID contents, value tag and value contents, in hex
// (spaces allowed).
func vb(oid, tag, value string) []byte {
	t := unhex(tag)
	return ber(0x30, slices.Concat(ber(6, unhex(oid)), ber(t[0], unhex(value))))
}

func ber(tag byte, v []byte) []byte {
	if len(v) < 128 {
		return slices.Concat([]byte{tag, byte(len(v))}, v)
	}
	return slices.Concat([]byte{tag, 0x82, byte(len(v) >> 8), byte(len(v))}, v)
}

func unhex(s string) []byte {
	var clean []byte
	for _, c := range []byte(s) {
		if c != ' ' {
			clean = append(clean, c)
		}
	}
	b, err := hex.DecodeString(string(clean))
	if err != nil {
		panic(err)
	}
	return b
}
