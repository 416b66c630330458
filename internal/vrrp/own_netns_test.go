package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestDeletedByOthers: what the node put in and something else deleted is handled as
// keepalived does. A master whose virtual address, route or rule goes resigns (a
// priority-0 advert; its sync group with it) and is master again after Skew_Time with
// everything back, the peer staying backup; deleted static entries are put back, and
// so are the static routes an interface lost going down, once it is up. no_track
// entries, and those that could not be put in, are left alone. An instance whose
// source address goes is in FAULT until it can take another.
func TestDeletedByOthers(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	a := hosts["a"]
	mk := func(prio uint8) Config {
		vi1 := instanceCfg("VI_1", 63, prio, 3, 100*time.Millisecond, testVIP)
		vi1.VIPs = append(vi1.VIPs, VIP{Prefix: netip.MustParsePrefix("10.77.0.240/24"), NoTrack: true})
		vi1.Routes = []Route{{Dst: netip.MustParsePrefix("10.90.0.0/24"), Gateway: netip.MustParseAddr("10.77.0.254"), Dev: "eth0"}}
		vi1.Rules = []Rule{{From: netip.MustParsePrefix("10.91.0.0/24"), Table: 91, Priority: 3091}}
		// A route that cannot go in (its gateway is on no link) is missing, but was
		// never deleted: no reason to resign.
		vi2 := instanceCfg("VI_2", 64, prio, 3, 100*time.Millisecond, testVIP2)
		vi2.Routes = []Route{{Dst: netip.MustParsePrefix("10.94.0.0/24"), Gateway: netip.MustParseAddr("10.200.0.1"), Dev: "eth0"}}
		return Config{
			Instances:  []InstanceConfig{vi1, vi2},
			SyncGroups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}}},
		}
	}
	cfg := mk(150)
	cfg.Static = StaticConfig{
		Addresses: []VIP{{Prefix: netip.MustParsePrefix("10.77.0.200/32"), Dev: "eth0"}, {Prefix: netip.MustParsePrefix("10.77.0.201/32"), Dev: "eth0", NoTrack: true}},
		Routes:    []Route{{Dst: netip.MustParsePrefix("10.92.0.0/24"), Gateway: netip.MustParseAddr("10.77.0.254"), Dev: "eth0"}},
		Rules:     []Rule{{From: netip.MustParsePrefix("10.93.0.0/24"), Table: 93, Priority: 3093}},
	}
	n := startNode(t, a, cfg)
	startNode(t, hosts["b"], mk(100))
	waitVIP(t, 5*time.Second, testVIP, a, hosts)
	waitVIP(t, time.Second, testVIP2, a, hosts)

	ip := func(args ...string) {
		t.Helper()
		if out, err := a.Exec("ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	show := func() string {
		return ipShow(a, []string{"-o", "addr", "show", "dev", "eth0"}, []string{"route", "show", "table", "all"}, []string{"rule"})
	}
	// stats are VI_1's and VI_2's times become master and priority-0 adverts sent.
	stats := func() (became, prio0 [2]uint64) {
		for k, st := range n.Status() {
			became[k], prio0[k] = st.BecameMaster, st.Priority0Sent
		}
		return became, prio0
	}
	present := func(what string, want ...string) {
		t.Helper()
		waitShown(t, what, show, want, nil)
	}
	resigns := func(what string, del []string, back string) {
		t.Helper()
		became, prio0 := stats()
		ip(del...)
		if !testutil.Eventually(3*time.Second, func() bool {
			b, p := stats()
			return b[0] > became[0] && b[1] > became[1] && p[0] > prio0[0] && p[1] > prio0[1] &&
				stateOf(n.Node, "VI_1") == StateMaster && stateOf(n.Node, "VI_2") == StateMaster
		}) {
			b, p := stats()
			t.Fatalf("%s: the group did not resign and come back (became master %v → %v, priority 0 sent %v → %v)", what, became, b, prio0, p)
		}
		present(what, back, testVIP+"/24", testVIP2+"/24")
		waitVIP(t, time.Second, testVIP, a, hosts)
	}
	resigns("virtual address deleted", []string{"addr", "del", testVIP + "/24", "dev", "eth0"}, testVIP+"/24")
	resigns("virtual route deleted", []string{"route", "del", "10.90.0.0/24"}, "10.90.0.0/24 via 10.77.0.254")
	resigns("virtual rule deleted", []string{"rule", "del", "pref", "3091"}, "3091:\tfrom 10.91.0.0/24 lookup 91")

	ip("addr", "del", "10.77.0.200/32", "dev", "eth0")
	ip("route", "del", "10.92.0.0/24")
	ip("rule", "del", "pref", "3093")
	present("static entries deleted", "10.77.0.200/32", "10.92.0.0/24 via 10.77.0.254", "3093:\tfrom 10.93.0.0/24 lookup 93")

	// Taking eth0 down removes its routes; they come back with it.
	ip("link", "set", "eth0", "down")
	ip("link", "set", "eth0", "up")
	present("eth0 back up", "10.92.0.0/24 via 10.77.0.254")
	waitVIP(t, 5*time.Second, testVIP, a, hosts)

	became, _ := stats()
	ip("addr", "del", "10.77.0.240/24", "dev", "eth0")
	ip("addr", "del", "10.77.0.201/32", "dev", "eth0")
	time.Sleep(500 * time.Millisecond)
	if b, _ := stats(); b != became {
		t.Errorf("deleting a no_track address made the group resign (became master %v → %v)", became, b)
	}
	if got := show(); strings.Contains(got, "10.77.0.240/24") || strings.Contains(got, "10.77.0.201/32") {
		t.Errorf("a no_track address was put back:\n%s", got)
	}

	// Its source address gone, the group is in FAULT until it is built on an address
	// the interface has: here the static 10.77.0.200, at once.
	for len(n.Events()) > 0 {
		<-n.Events()
	}
	ip("addr", "del", "10.77.0.1/24", "dev", "eth0")
	faulted := time.After(3 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-n.Events():
			done = ev.Instance == "VI_1" && ev.To == StateFault
		case <-faulted:
			t.Fatal("VI_1 did not go FAULT without its source address")
		}
	}
	ip("addr", "add", "10.77.0.1/24", "dev", "eth0")
	waitVIP(t, 5*time.Second, testVIP, a, hosts)
	if src := n.Status()[0].SourceAddr; src != netip.MustParseAddr("10.77.0.200") {
		t.Errorf("VI_1's source address is %v, want 10.77.0.200, the one eth0 kept", src)
	}
}
