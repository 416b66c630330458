package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestVMACAddr(t *testing.T) {
	for _, tc := range []struct {
		vrid uint8
		v6   bool
		want string
	}{
		{1, false, "00:00:5e:00:01:01"},
		{51, false, "00:00:5e:00:01:33"},
		{255, true, "00:00:5e:00:02:ff"},
	} {
		if got := VMACAddr(tc.vrid, tc.v6).String(); got != tc.want {
			t.Errorf("VMACAddr(%d, %v) = %s, want %s", tc.vrid, tc.v6, got, tc.want)
		}
	}
}

// TestVMACConfig: names default as keepalived's, clash and validity are errors naming
// the instance, and unicast forces vmac_xmit_base.
func TestVMACConfig(t *testing.T) {
	v4 := func(name string, vrid uint8) InstanceConfig {
		in := instanceCfg(name, vrid, 100, 3, 100*time.Millisecond, "10.0.0.1")
		in.UseVMAC = true
		return in
	}
	v6 := func(name string, vrid uint8) InstanceConfig {
		in := v4(name, vrid)
		in.VIPs = []VIP{{Prefix: netip.MustParsePrefix("fd00::1/64")}}
		return in
	}
	with := func(in InstanceConfig, f func(*InstanceConfig)) InstanceConfig { f(&in); return in }
	on := func(dev string) func(*InstanceConfig) { return func(in *InstanceConfig) { in.Interface = dev } }
	for _, tc := range []struct {
		name      string
		prefix    string // vmac_prefix
		instances []InstanceConfig
		names     []string // VMACName of each instance after normalize
		xmitBase  []bool
		err       string
	}{
		{name: "default", instances: []InstanceConfig{v4("A", 7)}, names: []string{"vrrp.7"}, xmitBase: []bool{false}},
		{name: "v6 beside v4 of the same VRID", instances: []InstanceConfig{v4("A", 7), v6("B", 7)}, names: []string{"vrrp.7", "vrrp6.7"}},
		{name: "v6 alone", instances: []InstanceConfig{v6("B", 7)}, names: []string{"vrrp.7"}},
		{name: "vmac_prefix", prefix: "ka", instances: []InstanceConfig{v4("A", 7)}, names: []string{"ka.7"}},
		{name: "numbered while taken", instances: []InstanceConfig{v4("A", 7), with(v4("B", 7), on("eth1")), with(v4("C", 7), on("eth2"))},
			names: []string{"vrrp.7", "vrrp1.7", "vrrp2.7"}},
		{name: "v6 numbers skip 6", instances: []InstanceConfig{v4("A", 7), v6("B", 7), with(v6("C", 7), on("eth1")),
			with(v4("D", 7), on("eth2")), with(v6("E", 7), on("eth2"))},
			names: []string{"vrrp.7", "vrrp6.7", "vrrp1.7", "vrrp2.7", "vrrp3.7"}},
		{name: "a later instance's name is avoided", instances: []InstanceConfig{v4("A", 7), with(v4("B", 8), func(in *InstanceConfig) { in.VMACName = "vrrp.7" })},
			names: []string{"vrrp1.7", "vrrp.7"}},
		// As keepalived 2.2.7 named them for this configuration.
		{name: "long prefix shortened", prefix: "averylongprefix", instances: []InstanceConfig{v4("A", 200), v6("B", 200),
			with(v6("C", 200), on("eth1")), with(v4("D", 200), on("eth1"))},
			names: []string{"averylongpr.200", "averylongp6.200", "averylongp1.200", "averylongp2.200"}},
		{name: "bad prefix", prefix: "a/b", instances: []InstanceConfig{v4("A", 7)}, err: `vrrp_instance A: vmac_prefix "a/b" makes "a/b.7", which is not a valid interface name`},
		{name: "named", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) { in.VMACName = "vip0" })}, names: []string{"vip0"}},
		{name: "unicast forces xmit base", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) {
			in.UnicastPeers = []netip.Addr{netip.MustParseAddr("10.0.0.2")}
		})}, xmitBase: []bool{true}},
		{name: "clash", instances: []InstanceConfig{
			with(v4("A", 7), func(in *InstanceConfig) { in.VMACName = "vip0" }),
			with(v4("B", 8), func(in *InstanceConfig) { in.VMACName = "vip0" }),
		}, err: "vrrp_instance B: use_vmac vip0 is already the VMAC of A"},
		{name: "too long", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) { in.VMACName = "a-very-long-name" })}, err: "vrrp_instance A: use_vmac \"a-very-long-name\": not a valid interface name"},
		{name: "slash", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) { in.VMACName = "a/b" })}, err: "not a valid interface name"},
		{name: "the interface itself", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) { in.VMACName = "eth0" })}, err: "cannot be the interface itself"},
		{name: "settings without use_vmac", instances: []InstanceConfig{with(v4("A", 7), func(in *InstanceConfig) { in.UseVMAC, in.VMACXmitBase = false, true })}, err: "VMAC settings without use_vmac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Config{Instances: tc.instances, VMACPrefix: tc.prefix}.normalize()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.names {
				if got.Instances[i].VMACName != want {
					t.Errorf("instance %d: VMAC %q, want %q", i, got.Instances[i].VMACName, want)
				}
			}
			for i, want := range tc.xmitBase {
				if got.Instances[i].VMACXmitBase != want {
					t.Errorf("instance %d: vmac_xmit_base %v, want %v", i, got.Instances[i].VMACXmitBase, want)
				}
			}
		})
	}
}
