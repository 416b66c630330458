package ipvs

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
)

// connTable is an excerpt of /proc/net/ip_vs_conn from the kernel (6.1) in the IPVS
// oracle: IPv4 and IPv6 rows, a TCP and an IPv6 UDP template, and a fwmark template.
const connTable = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 2001:0db8:000c:0000:0000:0000:0000:0007 9609 2001:0db8:0000:0000:0000:0000:0000:0100 0050 2001:0db8:0010:0000:0000:0000:0000:0002 0050 TIME_WAIT       113
TCP AC100002 CE08 C0A80A64 20FB 0A000002 01BB TIME_WAIT       113
TCP C0000200 0000 C0A80A64 0050 0A000002 0050 ASSURED         283
TCP C0000201 A069 C0A80A64 0050 0A000002 0050 ESTABLISHED     898
UDP 2001:0db8:000c:0000:0000:0000:0000:0000 0000 2001:0db8:0000:0000:0000:0000:0000:0100 0035 2001:0db8:0010:0000:0000:0000:0000:0003 0035 ASSURED          93
IP  AC100002 0000 00000001 0000 0A000001 0000 NONE            299
UDP C0000201 13C4 C0A80A64 13C4 0A000001 13C4 UDP             179 sip call-1@example
`

func TestParseConnTable(t *testing.T) {
	got, err := parseConnTable(strings.NewReader(connTable))
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	want := []table.Conn{
		{Protocol: table.TCP, Client: ap("[2001:db8:c::7]:38409"), Virtual: ap("[2001:db8::100]:80"), Dest: ap("[2001:db8:10::2]:80"), State: "TIME_WAIT", Expires: 113 * time.Second},
		{Protocol: table.TCP, Client: ap("172.16.0.2:52744"), Virtual: ap("192.168.10.100:8443"), Dest: ap("10.0.0.2:443"), State: "TIME_WAIT", Expires: 113 * time.Second},
		{Protocol: table.TCP, Client: ap("192.0.2.0:0"), Virtual: ap("192.168.10.100:80"), Dest: ap("10.0.0.2:80"), State: "ASSURED", Expires: 283 * time.Second},
		{Protocol: table.TCP, Client: ap("192.0.2.1:41065"), Virtual: ap("192.168.10.100:80"), Dest: ap("10.0.0.2:80"), State: "ESTABLISHED", Expires: 898 * time.Second},
		{Protocol: table.UDP, Client: ap("[2001:db8:c::]:0"), Virtual: ap("[2001:db8::100]:53"), Dest: ap("[2001:db8:10::3]:53"), State: "ASSURED", Expires: 93 * time.Second},
		{Protocol: 0, Client: ap("172.16.0.2:0"), Virtual: ap("0.0.0.1:0"), Dest: ap("10.0.0.1:0"), State: "NONE", Expires: 299 * time.Second},
		{Protocol: table.UDP, Client: ap("192.0.2.1:5060"), Virtual: ap("192.168.10.100:5060"), Dest: ap("10.0.0.1:5060"), State: "UDP", Expires: 179 * time.Second, PEName: "sip", PEData: "call-1@example"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseConnTableErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"short row", "TCP AC100002 CE08\n", "line 1: 3 fields, want at least 9"},
		{"unknown protocol", "XYZ AC100002 CE08 C0A80A64 20FB 0A000002 01BB NONE 1\n", `line 1: protocol "XYZ"`},
		{"bad client address", "Pro x\nTCP AC1000 CE08 C0A80A64 20FB 0A000002 01BB NONE 1\n", `line 2: client address "AC1000": want 8 hex digits`},
		{"bad IPv6", "TCP 2001:zz 0050 C0A80A64 20FB 0A000002 01BB NONE 1\n", `line 1: client address "2001:zz": not an IPv6 address`},
		{"bad virtual port", "TCP AC100002 CE08 C0A80A64 20FBB 0A000002 01BB NONE 1\n", `line 1: virtual port "20FBB"`},
		{"bad expiry", "TCP AC100002 CE08 C0A80A64 20FB 0A000002 01BB NONE -1\n", `line 1: expires "-1": want seconds`},
		{"overlong line", "TCP " + strings.Repeat("A", 5000) + "\n", "line 1: bufio.Scanner: token too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConnTable(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func FuzzParseConnTable(f *testing.F) {
	f.Add(connTable)
	f.Add("TCP AC100002 CE08 C0A80A64 20FB 0A000002 01BB TIME_WAIT 113 sip a b c\n")
	f.Fuzz(func(t *testing.T, in string) {
		conns, err := parseConnTable(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range conns {
			if !c.Client.IsValid() || !c.Virtual.IsValid() || !c.Dest.IsValid() {
				t.Fatalf("accepted a row without addresses: %+v", c)
			}
		}
	})
}
