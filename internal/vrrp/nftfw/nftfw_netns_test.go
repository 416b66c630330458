package nftfw

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/govs/govs/internal/testutil"
	"github.com/vishvananda/netlink"
)

// The golden files are `nft list ruleset` of keepalived 2.2.7 (Debian 12) running the
// .conf beside them in a namespace, as MASTER of every instance; the tests replay what
// those instances do, in keepalived's order, and must leave the same ruleset.

// fwHost is a namespace with eth0 (on a test LAN), eth1, and VMAC-like macvlans.
type fwHost struct {
	t *testing.T
	h *testutil.Host
}

func newFWHost(t *testing.T) *fwHost {
	t.Helper()
	testutil.Integration(t)
	testutil.NeedCommand(t, "nft")
	lan := testutil.NewLAN(t)
	h := lan.AddHost("a", "10.9.0.2/24", "fd00:9::2/64")
	f := &fwHost{t: t, h: h}
	f.run("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
	for _, v := range []string{"vrrp.51", "vrrp.52"} {
		f.run("ip", "link", "add", v, "link", "eth0", "type", "macvlan", "mode", "private")
	}
	return f
}

func (f *fwHost) run(name string, args ...string) string {
	f.t.Helper()
	out, err := f.h.Exec(name, args...)
	if err != nil {
		f.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (f *fwHost) index(dev string) uint32 {
	f.t.Helper()
	h, err := netlink.NewHandleAt(f.h.NS)
	if err != nil {
		f.t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(dev)
	if err != nil {
		f.t.Fatal(err)
	}
	return uint32(l.Attrs().Index)
}

func (f *fwHost) addr(ip, dev string, byName bool) Addr {
	return Addr{IP: netip.MustParseAddr(ip), LinkName: dev, LinkIndex: f.index(dev), ByName: byName}
}

func (f *fwHost) firewall(opts Options) *Firewall {
	fd := int(f.h.NS)
	return New(func() (*nftables.Conn, error) { return nftables.New(nftables.WithNetNSFd(fd)) }, opts, slog.New(slog.DiscardHandler))
}

func (f *fwHost) ruleset() string { return f.h.Ruleset(f.t) }

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return testutil.NormalizeRuleset(string(b))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMatchesKeepalived(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   Options
		replay func(f *fwHost, fw *Firewall)
	}{{
		golden: "strict.nft", // testdata/strict.conf: vrrp_strict, IPv4 and IPv6 instances
		opts:   Options{Priority: -1},
		replay: func(f *fwHost, fw *Firewall) {
			must(f.t, fw.AddAddrs([]Addr{f.addr("10.9.0.100", "eth0", false), f.addr("10.9.0.101", "eth0", false), f.addr("10.9.1.5", "eth0", false)}))
			must(f.t, fw.AddAddrs([]Addr{f.addr("fd00:9::100", "eth0", false), f.addr("fe80::100", "eth0", false)}))
		},
	}, {
		// testdata/vmac-counters.conf: nftables gk, priority 5, counters; VMACs; an IPv6
		// instance with dont_track_primary, whose link-local address on its VMAC is
		// matched by name and the one on eth1 by index.
		golden: "vmac-counters.nft",
		opts:   Options{Table: "gk", Priority: 5, Counters: true},
		replay: func(f *fwHost, fw *Firewall) {
			must(f.t, fw.AddVMAC(VMAC{Index: f.index("vrrp.51"), BaseIndex: f.index("eth0"), IPv4: true}))
			must(f.t, fw.AddVMAC(VMAC{Index: f.index("vrrp.52"), BaseIndex: f.index("eth0"), IPv6: true}))
			must(f.t, fw.AddAddrs([]Addr{f.addr("10.9.0.100", "vrrp.51", false)}))
			must(f.t, fw.AddAddrs([]Addr{f.addr("fe80::100", "vrrp.52", true), f.addr("fd00:9::100", "vrrp.52", true), f.addr("fe80::200", "eth1", false)}))
		},
	}} {
		t.Run(tc.golden, func(t *testing.T) {
			f := newFWHost(t)
			fw := f.firewall(tc.opts)
			tc.replay(f, fw)
			got := f.h.AsKeepalivedShowsIt(t, f.ruleset(), "eth0")
			if want := golden(t, tc.golden); got != want {
				t.Fatalf("ruleset differs from keepalived's\n--- govs\n%s\n--- keepalived\n%s", got, want)
			}
			must(t, fw.Close())
			if got := f.ruleset(); got != "" {
				t.Fatalf("after Close:\n%s", got)
			}
		})
	}
}

// TestHolders: an address or VMAC held twice (two instances, or an instance and its
// successor during a reload) stays until both let go, whatever device each names; leftovers of an earlier run are
// replaced; Reconfigure moves everything to a new table in one step.
func TestHolders(t *testing.T) {
	f := newFWHost(t)
	f.run("nft", "add table ip keepalived; add set ip keepalived vips { type ipv4_addr; elements = { 10.9.9.9 } }")
	fw := f.firewall(Options{Priority: -1})
	vip := f.addr("10.9.0.100", "eth0", false)
	vip6 := f.addr("fd00:9::100", "eth0", false)
	vmac := VMAC{Index: f.index("vrrp.51"), BaseIndex: f.index("eth0"), IPv4: true}

	must(t, fw.AddAddrs([]Addr{vip}))
	if rs := f.ruleset(); strings.Contains(rs, "10.9.9.9") || !strings.Contains(rs, "10.9.0.100") {
		t.Fatalf("the leftover table should be replaced:\n%s", rs)
	}
	// The same address through another device (another instance's) is the same element.
	must(t, fw.AddAddrs([]Addr{f.addr("10.9.0.100", "eth1", true), vip6}))
	must(t, fw.AddVMAC(vmac))
	must(t, fw.AddVMAC(vmac))
	must(t, fw.RemoveAddrs([]Addr{vip}))
	must(t, fw.RemoveVMAC(vmac))
	rs := f.ruleset()
	for _, want := range []string{"10.9.0.100", "fd00:9::100", `"vrrp.51" :`} {
		if !strings.Contains(rs, want) {
			t.Fatalf("%s is still held once, but gone:\n%s", want, rs)
		}
	}

	must(t, fw.Reconfigure(Options{Table: "other", Priority: 3, Counters: true}))
	rs = f.ruleset()
	if strings.Contains(rs, "table ip keepalived") || !strings.Contains(rs, "table ip other") ||
		!strings.Contains(rs, "priority filter + 3") || !strings.Contains(rs, "fd00:9::100") ||
		!strings.Contains(rs, `"vrrp.51" :`) || !strings.Contains(rs, "counter") {
		t.Fatalf("after Reconfigure:\n%s", rs)
	}

	must(t, fw.RemoveAddrs([]Addr{vip, vip6}))
	must(t, fw.RemoveAddrs([]Addr{vip})) // not held any more: nothing to do
	must(t, fw.RemoveVMAC(vmac))
	rs = f.ruleset()
	if strings.Contains(rs, "10.9.0.100") || strings.Contains(rs, "fd00:9::100") || strings.Contains(rs, "vrrp.51") {
		t.Fatalf("released addresses still in the sets:\n%s", rs)
	}
	must(t, fw.Close())
	if rs := f.ruleset(); rs != "" {
		t.Fatalf("after Close:\n%s", rs)
	}
}
