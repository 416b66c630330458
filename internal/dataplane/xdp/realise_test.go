package xdp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
)

func TestRealise(t *testing.T) {
	svc := func(algo string, mut func(*table.Service)) table.Service {
		s := drService(algo, dr(rs1, 1))
		if mut != nil {
			mut(&s)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		svc     table.Service
		flags   uint32
		weights string
		mask    string
		keepQ   bool
		err     string // substring of the error; empty: none
	}{
		{name: "rr", svc: svc("rr", nil), flags: svcHashPort, weights: "equal", mask: "255.255.255.255"},
		{name: "wrr", svc: svc("wrr", nil), flags: svcHashPort, weights: "static", mask: "255.255.255.255"},
		{name: "wlc", svc: svc("wlc", nil), flags: svcHashPort, weights: "dynamic", mask: "255.255.255.255"},
		{name: "sh", svc: svc("sh", nil), weights: "static", mask: "255.255.255.255"},
		{name: "sh-port", svc: svc("sh", func(s *table.Service) { s.Flags = table.SchedFlag2 }), flags: svcHashPort, weights: "static", mask: "255.255.255.255"},
		{name: "dh", svc: svc("dh", nil), flags: svcHashDaddr, weights: "static", mask: "255.255.255.255"},
		{name: "mh", svc: svc("mh", nil), weights: "static", mask: "255.255.255.255", keepQ: true},
		{name: "mh-fallback", svc: svc("mh", func(s *table.Service) { s.Flags = table.SchedFlag1 }), weights: "static", mask: "255.255.255.255"},
		{name: "wlc persistent /24", svc: svc("wlc", func(s *table.Service) {
			s.Persistence = table.Persistence{Timeout: 300 * time.Second, PrefixLen: 24}
		}), weights: "dynamic", mask: "255.255.255.0"},
		{name: "NAT", svc: svc("wrr", func(s *table.Service) { s.Dests[0].Method = table.Masquerade }), err: "uses lb_kind NAT; the xdp data plane does DR and TUN only: use --dataplane auto"},
		{name: "IPv6 VIP, IPv4 DR server", svc: svc("wrr", func(s *table.Service) { s.Addr = netip.MustParseAddrPort("[2001:db8::1]:80") }), err: "lb_kind DR needs a real server of the virtual address's family"},
		{name: "IPv6", svc: svc("wrr", func(s *table.Service) {
			s.Addr, s.Dests[0].Addr = netip.MustParseAddrPort("[2001:db8::1]:80"), netip.MustParseAddrPort("[2001:db8::11]:80")
		}), flags: svcIPv6 | svcHashPort, weights: "static", mask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{name: "IPv6 sh persistent /64", svc: svc("sh", func(s *table.Service) {
			s.Addr, s.Dests[0].Addr = netip.MustParseAddrPort("[2001:db8::1]:80"), netip.MustParseAddrPort("[2001:db8::11]:80")
			s.Persistence = table.Persistence{Timeout: time.Minute, PrefixLen: 64}
		}), flags: svcIPv6, weights: "static", mask: "ffff:ffff:ffff:ffff::"},
		{name: "IPv6 persistence out of range", svc: svc("sh", func(s *table.Service) {
			s.Addr, s.Dests[0].Addr = netip.MustParseAddrPort("[2001:db8::1]:80"), netip.MustParseAddrPort("[2001:db8::11]:80")
			s.Persistence = table.Persistence{Timeout: time.Minute, PrefixLen: 129}
		}), err: "persistence netmask /129 is out of range 0..128"},
		{name: "IPv4 VIP, IPv6 TUN server", svc: svc("wrr", func(s *table.Service) {
			s.Dests[0].Addr, s.Dests[0].Method = netip.MustParseAddrPort("[2001:db8::11]:80"), table.Tunnel
		}), flags: svcHashPort, weights: "static", mask: "255.255.255.255"},
		{name: "fwmark", svc: table.Service{ServiceKey: table.ServiceKey{FWMark: 1}, Scheduler: "wrr"}, err: "fwmark services"},
		{name: "srt", svc: svc("srt", nil), err: `scheduler "srt" cannot be realised`},
		{name: "gre", svc: svc("wrr", func(s *table.Service) { s.Dests[0].Method, s.Dests[0].TunnelType = table.Tunnel, "gre" }), err: "tunnel type gre"},
		{name: "SCTP", svc: svc("wrr", func(s *table.Service) { s.Protocol = table.SCTP }), err: "protocol SCTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := realise(tc.svc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.flags != tc.flags || r.weights != tc.weights || r.clientMask.String() != tc.mask || r.keepQuiesced != tc.keepQ {
				t.Errorf("got flags %b weights %s mask %s keepQuiesced %v; want %b %s %s %v", r.flags, r.weights, r.clientMask, r.keepQuiesced, tc.flags, tc.weights, tc.mask, tc.keepQ)
			}
			if !strings.HasPrefix(r.what, "lb_algo "+tc.svc.Scheduler+" realised as ") {
				t.Errorf("log line %q", r.what)
			}
		})
	}
}

func TestTableWeights(t *testing.T) {
	ready := func(w int, active int64) destLoad { return destLoad{weight: w, ready: true, active: active} }
	for _, tc := range []struct {
		name     string
		r        realisation
		loads    []destLoad
		arrivals int64
		want     []int
	}{
		{"rr ignores weights", realisation{weights: "equal"}, []destLoad{ready(5, 0), ready(1, 0), ready(0, 0)}, 0, []int{1, 1, 0}},
		{"wrr", realisation{weights: "static"}, []destLoad{ready(5, 0), ready(1, 0), {weight: 3}}, 0, []int{5, 1, 0}},
		{"fo takes the first highest", realisation{weights: "highest"}, []destLoad{ready(2, 0), ready(7, 0), ready(7, 0)}, 0, []int{0, 1, 0}},
		{"wlc idle equal", realisation{weights: "dynamic", balance: "wlc"}, []destLoad{ready(1, 0), ready(1, 0)}, 100, []int{64, 64}},
		{"wlc fills the idle one first", realisation{weights: "dynamic", balance: "wlc"}, []destLoad{ready(1, 100), ready(1, 0)}, 50, []int{0, 64}},
		{"wlc by weight", realisation{weights: "dynamic", balance: "wlc"}, []destLoad{ready(2, 0), ready(1, 0)}, 90, []int{64, 32}},
		{"wlc levels out", realisation{weights: "dynamic", balance: "wlc"}, []destLoad{ready(1, 10), ready(1, 0)}, 30, []int{32, 64}},
		{"lc ignores weights", realisation{weights: "dynamic", balance: "lc"}, []destLoad{ready(9, 0), ready(1, 0)}, 10, []int{64, 64}},
		{"nq idle only", realisation{weights: "dynamic", balance: "nq"}, []destLoad{ready(1, 3), ready(1, 0), ready(1, 0)}, 2, []int{0, 1, 1}},
		{"ovf below weight", realisation{weights: "dynamic", balance: "ovf"}, []destLoad{ready(5, 5), ready(3, 1), ready(1, 0)}, 0, []int{0, 1, 0}},
		{"nothing ready", realisation{weights: "dynamic", balance: "wlc"}, []destLoad{{weight: 1}}, 10, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tableWeights(tc.r, tc.loads, tc.arrivals)
			if !equalInts(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
