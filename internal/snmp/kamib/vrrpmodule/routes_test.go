package vrrpmodule

import (
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// TestRoutesAndRules: the static routes and rules are instance 0, each instance's
// virtual ones follow under its position; columns of what is not set are absent. An
// entry is set when it is meant to be in (static, or its instance master) and the
// kernel has it.
func TestRoutesAndRules(t *testing.T) {
	addr := netip.MustParseAddr
	node := &fakeNode{
		cfg: vrrp.Config{
			Static: vrrp.StaticConfig{
				Routes: []vrrp.Route{
					{Dst: prefix("10.1.0.0/16"), Gateway: addr("10.0.0.254"), Dev: "eth0", Table: 254, Scope: "link", Tos: 0x10, Realms: 3<<16 | 4,
						Metrics: vrrp.RouteMetrics{MTU: 1400, MTULock: true, RTT: 800, RTTVar: 200, Hoplimit: 32, Congctl: "cubic", ECN: true, QuickACK: true, FastOpenNoCookie: true}},
					{Dst: prefix("10.2.0.0/16"), Table: 254, Type: "blackhole", NoTrack: true},
					{Dst: prefix("10.3.0.0/16"), Table: 254, NoTrack: true, Protocol: 12, Metrics: vrrp.RouteMetrics{AdvMSS: 1360}},
				},
				Rules: []vrrp.Rule{
					{From: prefix("10.4.0.0/16"), Table: 100, Priority: 100, FwMark: 5, FwMask: 0xff, SuppressPrefixLen: 0, SuppressIfGroup: 0,
						TunnelID: 1<<32 | 7, UIDRange: &[2]uint32{1000, 2000}},
				},
			},
			Instances: []vrrp.InstanceConfig{
				{Name: "A", Interface: "eth0",
					Routes: []vrrp.Route{
						{Dst: prefix("2001:db8::/64"), Src: addr("2001:db8::1"), Metric: 5, Table: 100},
						{Dst: prefix("10.5.0.0/16"), Table: 254, Nexthops: []vrrp.Nexthop{
							{Gateway: addr("10.0.0.250"), Dev: "eth0", Weight: 2}, {Gateway: addr("10.0.1.250"), Dev: "gone", OnLink: true}}},
						{Dst: prefix("10.6.0.0/16"), Table: 254, Nexthops: []vrrp.Nexthop{{Gateway: addr("10.0.0.251")}}},
					},
					Rules: []vrrp.Rule{
						{To: prefix("10.7.0.0/16"), From: prefix("10.8.0.0/16"), Not: true, Action: "goto", Goto: 300, Priority: 200, IIF: "eth0", OIF: "eth1",
							SuppressPrefixLen: -1, SuppressIfGroup: -1},
						{Action: "unreachable", Priority: 201, SuppressPrefixLen: -1, SuppressIfGroup: -1},
					}},
				{Name: "B", Interface: "eth0",
					Routes: []vrrp.Route{{Dst: prefix("10.9.0.0/16"), Table: 254, Dev: "eth1"}},
					Rules:  []vrrp.Rule{{From: prefix("2001:db8:1::/48"), Table: 100, Priority: 100, SuppressPrefixLen: -1, SuppressIfGroup: -1}}},
			},
		},
		status: []vrrp.InstanceStatus{{Name: "A", State: vrrp.StateMaster}, {Name: "B", State: vrrp.StateBackup}},
	}
	got := byName(module(node, &config.Config{}).Variables())
	r := kamib.VRRPRoot.String() + "."
	for _, tc := range []struct {
		name string
		oid  string
		want any // nil: absent
	}{
		{"static route: address type", "7.1.2.0.1", int32(1)},
		{"destination", "7.1.3.0.1", []byte{10, 1, 0, 0}},
		{"mask", "7.1.4.0.1", uint32(16)},
		{"gateway", "7.1.5.0.1", []byte{10, 0, 0, 254}},
		{"no secondary gateway", "7.1.6.0.1", nil},
		{"metric 0", "7.1.8.0.1", uint32(0)},
		{"scope link", "7.1.9.0.1", int32(2)},
		{"unicast", "7.1.10.0.1", int32(1)},
		{"ifindex", "7.1.11.0.1", int32(2)},
		{"ifname", "7.1.12.0.1", []byte("eth0")},
		{"table", "7.1.13.0.1", uint32(254)},
		{"static: set", "7.1.14.0.1", int32(1)},
		{"tos", "7.1.17.0.1", uint32(0x10)},
		{"tracked: keepalived's protocol + 1", "7.1.18.0.1", int32(19)},
		{"ecn", "7.1.19.0.1", int32(1)},
		{"quickack", "7.1.20.0.1", int32(1)},
		{"mtu", "7.1.22.0.1", uint32(1400)},
		{"mtu locked", "7.1.23.0.1", int32(1)},
		{"hoplimit", "7.1.24.0.1", uint32(32)},
		{"keepalived's quirk: advmss with hoplimit", "7.1.25.0.1", uint32(0)},
		{"no advmss lock without advmss", "7.1.26.0.1", nil},
		{"rtt in ms", "7.1.27.0.1", uint32(100)},
		{"rtt lock", "7.1.28.0.1", int32(2)},
		{"rttvar in ms", "7.1.29.0.1", uint32(50)},
		{"no reordering", "7.1.31.0.1", nil},
		{"congctl", "7.1.42.0.1", []byte("cubic")},
		{"realm dst", "7.1.44.0.1", uint32(4)},
		{"realm src", "7.1.45.0.1", uint32(3)},
		{"fastopen_no_cookie", "7.1.55.0.1", int32(1)},
		{"blackhole", "7.1.10.0.2", int32(3)},
		{"no gateway", "7.1.5.0.2", nil},
		{"no dev", "7.1.12.0.2", nil},
		{"no tos", "7.1.17.0.2", nil},
		{"no_track without protocol: none", "7.1.18.0.2", nil},
		{"no ecn", "7.1.19.0.2", int32(2)},
		{"no mtu", "7.1.22.0.2", nil},
		{"no_track with a protocol", "7.1.18.0.3", int32(13)},
		{"static, not in the kernel: not set", "7.1.14.0.3", int32(2)},
		{"no advmss without hoplimit", "7.1.25.0.3", nil},
		{"advmss: unlocked", "7.1.26.0.3", int32(2)},
		{"no realms", "7.1.44.0.3", nil},
		{"virtual route: IPv6", "7.1.2.1.1", int32(2)},
		{"IPv6 destination", "7.1.3.1.1", addr("2001:db8::").AsSlice()},
		{"src", "7.1.7.1.1", addr("2001:db8::1").AsSlice()},
		{"its metric", "7.1.8.1.1", uint32(5)},
		{"on master: set", "7.1.14.1.1", int32(1)},
		{"multipath", "7.1.10.1.2", int32(2)},
		{"no secondary gateway with two hops", "7.1.6.1.2", nil},
		{"one hop: the secondary gateway", "7.1.6.1.3", []byte{10, 0, 0, 251}},
		{"on master, not in the kernel: not set", "7.1.14.1.3", int32(2)},
		{"on backup: not set, though the kernel has it", "7.1.14.2.1", int32(2)},
		{"next hop address type", "11.1.2.1.2.1", int32(1)},
		{"next hop address", "11.1.3.1.2.2", []byte{10, 0, 1, 250}},
		{"next hop ifindex", "11.1.4.1.2.1", int32(2)},
		{"no ifindex of a missing device", "11.1.4.1.2.2", nil},
		{"next hop ifname", "11.1.5.1.2.2", []byte("gone")},
		{"weight", "11.1.6.1.2.1", uint32(2)},
		{"no weight", "11.1.6.1.2.2", nil},
		{"not onlink", "11.1.7.1.2.1", int32(2)},
		{"onlink", "11.1.7.1.2.2", int32(1)},
		{"lone hop", "11.1.3.1.3.1", []byte{10, 0, 0, 251}},
		{"no next hops of a plain route", "11.1.7.1.1.1", nil},
		{"static rule: direction", "8.1.2.0.1", []byte("from")},
		{"obsolete address: from", "8.1.4.0.1", []byte{10, 4, 0, 0}},
		{"table", "8.1.6.0.1", uint32(100)},
		{"static: set", "8.1.7.0.1", int32(1)},
		{"not inverted", "8.1.8.0.1", int32(2)},
		{"no destination", "8.1.9.0.1", nil},
		{"source", "8.1.13.0.1", []byte{10, 4, 0, 0}},
		{"source mask", "8.1.14.0.1", uint32(16)},
		{"tos 0", "8.1.15.0.1", uint32(0)},
		{"fwmark", "8.1.16.0.1", uint32(5)},
		{"fwmask", "8.1.17.0.1", uint32(0xff)},
		{"action: to table", "8.1.23.0.1", int32(1)},
		{"table number", "8.1.24.0.1", uint32(100)},
		{"preference", "8.1.25.0.1", uint32(100)},
		{"suppress_prefixlength 0", "8.1.26.0.1", uint32(0)},
		{"suppress_ifgroup by name", "8.1.27.0.1", []byte("default")},
		{"tunnel id high", "8.1.28.0.1", uint32(1)},
		{"tunnel id low", "8.1.29.0.1", uint32(7)},
		{"uid range", "8.1.31.0.1", uint32(2000)},
		{"virtual rule: both", "8.1.2.1.1", []byte("both")},
		{"obsolete address: to", "8.1.4.1.1", []byte{10, 7, 0, 0}},
		{"goto: no table", "8.1.6.1.1", nil},
		{"inverted", "8.1.8.1.1", int32(1)},
		{"destination", "8.1.10.1.1", []byte{10, 7, 0, 0}},
		{"no fwmark", "8.1.16.1.1", nil},
		{"iif", "8.1.20.1.1", []byte("eth0")},
		{"oif", "8.1.21.1.1", []byte("eth1")},
		{"goto target", "8.1.22.1.1", uint32(300)},
		{"action goto", "8.1.23.1.1", int32(2)},
		{"no suppress_prefixlength", "8.1.26.1.1", nil},
		{"no suppress_ifgroup", "8.1.27.1.1", nil},
		{"no tunnel id", "8.1.28.1.1", nil},
		{"no uid range", "8.1.30.1.1", nil},
		{"neither from nor to", "8.1.2.1.2", []byte("")},
		{"no obsolete address", "8.1.3.1.2", nil},
		{"unreachable", "8.1.23.1.2", int32(7)},
		{"master's rule in the kernel: set", "8.1.7.1.1", int32(1)},
		{"master's rule not in the kernel: not set", "8.1.7.1.2", int32(2)},
		{"backup's rule: IPv6, not set", "8.1.7.2.1", int32(2)},
		{"IPv6 source type", "8.1.12.2.1", int32(2)},
	} {
		t.Run(tc.name, func(t *testing.T) { expectVar(t, got, r+tc.oid, tc.want) })
	}
}
