package vrrp

import (
	"net/netip"
	"testing"
)

// TestStatic: static_ipaddress, static_routes and static_rules are installed when the
// node starts (with no instance at all), a reload removes what it no longer lists and
// adds what is new, and stopping removes everything.
func TestStatic(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	addr := func(s string) VIP { return VIP{Prefix: netip.MustParsePrefix(s), Dev: "eth0"} }
	route := Route{Dst: netip.MustParsePrefix("10.90.0.0/24"), Gateway: netip.MustParseAddr("10.77.0.254")}
	rule := Rule{From: netip.MustParsePrefix("10.91.0.0/24"), Table: 91, Priority: 3091}
	cfg := Config{Static: StaticConfig{Addresses: []VIP{addr("10.77.0.200/32"), addr("10.77.0.201/32")}, Routes: []Route{route}, Rules: []Rule{rule}}}
	// A leftover of an earlier run is taken over, not duplicated or refused.
	if out, err := a.Exec("ip", "addr", "add", "10.77.0.200/32", "dev", "eth0"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	n := startNode(t, a, cfg)
	show := func() string {
		return ipShow(a, []string{"-o", "addr", "show", "dev", "eth0"}, []string{"route", "show"}, []string{"rule", "show"})
	}
	expect := func(what string, want, not []string) {
		t.Helper()
		waitShown(t, what, show, want, not)
	}
	expect("started", []string{"10.77.0.200/32", "10.77.0.201/32", "10.90.0.0/24 via 10.77.0.254", "3091:\tfrom 10.91.0.0/24 lookup 91"}, nil)

	cfg.Static.Addresses = []VIP{addr("10.77.0.201/32"), addr("10.77.0.202/32")}
	cfg.Static.Routes = nil
	if err := n.Update(cfg); err != nil {
		t.Fatal(err)
	}
	expect("reloaded", []string{"10.77.0.201/32", "10.77.0.202/32", "3091:"}, []string{"10.77.0.200/32", "10.90.0.0/24"})

	n.stop(t)
	expect("stopped", nil, []string{"10.77.0.201/32", "10.77.0.202/32", "3091:"})
}
