package status

import (
	"net/netip"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/govs/govs/internal/table"
)

func TestParseServiceKey(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want table.ServiceKey
		err  string
	}{
		{in: "TCP 192.0.2.1:80", want: table.ServiceKey{Protocol: table.TCP, Addr: ap("192.0.2.1:80")}},
		{in: "udp [2001:db8::1]:53", want: table.ServiceKey{Protocol: table.UDP, Addr: ap("[2001:db8::1]:53")}},
		{in: "  SCTP   192.0.2.1:9 ", want: table.ServiceKey{Protocol: table.SCTP, Addr: ap("192.0.2.1:9")}},
		{in: "FWM 7", want: table.ServiceKey{FWMark: 7}},
		{in: "fwm 4294967295 ipv6", want: table.ServiceKey{FWMark: 4294967295, IPv6: true}},
		{in: "", err: `want "PROTO ADDRESS:PORT" or "FWM MARK"`},
		{in: "TCP", err: `want "PROTO ADDRESS:PORT" or "FWM MARK"`},
		{in: "ICMP 192.0.2.1:80", err: `protocol "ICMP": want TCP, UDP, SCTP or FWM`},
		{in: "TCP 192.0.2.1", err: `address "192.0.2.1": want IP:PORT`},
		{in: "TCP 192.0.2.1:80 extra", err: `unexpected "extra" after the address`},
		{in: "FWM 0", err: `fwmark "0": want 1..4294967295`},
		{in: "FWM 4294967296", err: `fwmark "4294967296"`},
		{in: "FWM 7 IPv4", err: `unexpected "IPv4" after the fwmark`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseServiceKey(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// Every key the API shows reads back as itself.
func TestParseServiceKeyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var key table.ServiceKey
		if rapid.Bool().Draw(t, "fwmark") {
			key.FWMark = rapid.Uint32Min(1).Draw(t, "mark")
			key.IPv6 = rapid.Bool().Draw(t, "ipv6")
		} else {
			key.Protocol = rapid.SampledFrom([]table.Protocol{table.TCP, table.UDP, table.SCTP}).Draw(t, "proto")
			var addr netip.Addr
			if rapid.Bool().Draw(t, "v6") {
				addr = netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "ip6")))
			} else {
				addr = netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "ip4")))
			}
			key.Addr = netip.AddrPortFrom(addr, rapid.Uint16().Draw(t, "port"))
		}
		got, err := ParseServiceKey(key.String())
		if err != nil || got != key {
			t.Fatalf("ParseServiceKey(%q) = %+v, %v; want %+v", key.String(), got, err, key)
		}
	})
}

func FuzzParseServiceKey(f *testing.F) {
	for _, s := range []string{"TCP 192.0.2.1:80", "UDP [::1]:53", "FWM 7 IPv6", "fwm", "TCP [fe80::1%eth0]:80", "SCTP 1.2.3.4:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseServiceKey(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "service ") {
				t.Fatalf("error %q does not name the service", err)
			}
			return
		}
		again, err := ParseServiceKey(key.String())
		if err != nil || again != key {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, key, key.String(), again, err)
		}
	})
}
