package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/vrrp/nftfw"
)

// TestFirewallReload: a master without accept mode keeps its drop rules right across
// reloads: a changed address is dropped and the old one let through at once, accept
// mode turned on empties the sets, another table name or priority moves everything to
// the new table, a reload that cannot run leaves the tables as they were, and stopping
// deletes them.
func TestFirewallReload(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	testutil.NeedCommand(t, "nft")
	mk := func(noAccept bool, vip string, fw nftfw.Options) Config {
		in := instanceCfg("VI_1", 74, 150, 3, 100*time.Millisecond, vip)
		in.NoAccept = noAccept
		cfg := single(in)
		cfg.Firewall = fw
		return cfg
	}
	dflt := nftfw.Options{Priority: -1}
	other := nftfw.Options{Table: "other", Priority: 3}
	alone := map[string]*testutil.Host{"a": a}
	expect := func(what string, want, not []string) {
		t.Helper()
		var rs string
		ok := testutil.Eventually(3*time.Second, func() bool {
			rs = a.Ruleset(t)
			for _, w := range want {
				if !strings.Contains(rs, w) {
					return false
				}
			}
			for _, n := range not {
				if strings.Contains(rs, n) {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("%s: want %q, not %q, in:\n%s", what, want, not, rs)
		}
	}

	n := startNode(t, a, mk(true, testVIP, dflt))
	waitVIP(t, 5*time.Second, testVIP, a, alone)
	expect("master", []string{"table ip keepalived", testVIP, "priority filter - 1"}, nil)

	must := func(cfg Config) {
		t.Helper()
		if err := n.Update(cfg); err != nil {
			t.Fatal(err)
		}
	}
	must(mk(true, testVIP2, dflt))
	waitVIP(t, 3*time.Second, testVIP2, a, alone)
	only2 := "elements = { " + testVIP2 + " }"
	expect("another address", []string{only2}, nil)

	must(mk(false, testVIP2, dflt))
	expect("accept mode", []string{"set vips {\n\t\ttype ipv4_addr\n\t}"}, []string{testVIP2})

	must(mk(true, testVIP2, other))
	expect("another table", []string{"table ip other", only2, "priority filter + 3"}, []string{"table ip keepalived"})

	bad := mk(true, testVIP, dflt)
	bad.Instances[0].Interface = "nosuch0"
	must(bad)
	time.Sleep(500 * time.Millisecond)
	expect("failed reload", []string{"table ip other", only2, "priority filter + 3"}, []string{"table ip keepalived"})

	n.stop(t)
	if rs := a.Ruleset(t); rs != "" {
		t.Fatalf("tables left after the node stopped:\n%s", rs)
	}
}

// TestVMACReportsLeaveByBase: the IGMP and MLD reports a node's VMACs send when they
// join the VRRP groups leave with the base interface's MAC, never the virtual one, so a
// backup does not teach switches the virtual MAC (keepalived's firewall rules for VMACs).
func TestVMACReportsLeaveByBase(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	a := lan.AddHost("a", "10.77.0.1/24", "fd77::1/64")
	testutil.NeedCommand(t, "nft")
	if !testutil.Eventually(5*time.Second, func() bool {
		out, _ := a.Exec("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
		return strings.Contains(out, "fe80")
	}) {
		t.Fatal("no link-local address on eth0")
	}
	v4 := instanceCfg("VI_4", 62, 100, 3, 100*time.Millisecond, testVIP)
	v4.UseVMAC = true
	v6 := instanceCfg("VI_6", 63, 100, 3, 100*time.Millisecond)
	v6.VIPs = []VIP{{Prefix: netip.MustParsePrefix("fd77::254/64")}}
	v6.UseVMAC = true
	// MLDv2 reports are ICMPv6 type 143 after an 8-byte hop-by-hop header (next
	// header 0), which the icmp6 primitive does not look past.
	stop := startFrameCapture(t, a, "eth0", "igmp or (ip6 and ip6[6] == 0 and ip6[48] == 143)")
	startNode(t, a, single(v4, v6))
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.62", a, a)
	time.Sleep(1500 * time.Millisecond) // the joins' reports and their repeats
	frames := stop()
	base := macOfIface(t, a, "eth0")
	virtual := map[string]bool{VMACAddr(62, false).String(): true, VMACAddr(63, true).String(): true}
	fromBase := map[string]int{} // by EtherType
	for _, f := range frames {
		// eth0 also sees what others on the LAN send (the bridge's own reports).
		src := net.HardwareAddr(f[6:12]).String()
		if virtual[src] {
			t.Errorf("a report left with the virtual MAC %s, not the base interface's %s: % x", src, base, f)
		}
		if src == base {
			fromBase[fmt.Sprintf("%#04x", f[12:14])]++
		}
	}
	if fromBase["0x0800"] == 0 || fromBase["0x86dd"] == 0 {
		t.Fatalf("reports from the base interface by EtherType: %v; want IGMP (0x0800) and MLD (0x86dd)", fromBase)
	}
}
