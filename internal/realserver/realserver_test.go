package realserver

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/govs/govs/internal/testutil"
)

func TestParseVIPs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "10.0.0.100", want: []string{"10.0.0.100"}},
		{in: " 10.0.0.100, 2001:db8::100 ,", want: []string{"10.0.0.100", "2001:db8::100"}},
		{in: "::ffff:10.0.0.100", want: []string{"10.0.0.100"}},
		{in: "", err: "no address given"},
		{in: "10.0.0.0/24", err: `"10.0.0.0/24" is not an IP address`},
		{in: "::1", err: "::1 cannot be a virtual address"},
		{in: "ff02::1", err: "ff02::1 cannot be a virtual address"},
	} {
		got, err := ParseVIPs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseVIPs(%q) error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseVIPs(%q): %v", tc.in, err)
			continue
		}
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if !slices.Equal(s, tc.want) {
			t.Errorf("ParseVIPs(%q) = %v, want %v", tc.in, s, tc.want)
		}
	}
}

// TestUpDownDualStack prepares a real server in a namespace for an IPv4 and an IPv6 VIP
// and checks, from a director's namespace on the same LAN, what LVS-DR needs: the real
// server answers neither ARP nor NDP for the VIPs, yet takes connections to them once the
// director sends frames to its MAC (as the XDP plane does). Down undoes it; the ARP
// sysctls stay while a VIP is left.
func TestUpDownDualStack(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	dir := lan.AddHost("dir", "10.81.0.1/24", "2001:db8:81::1/64")
	rs := lan.AddHost("rs", "10.81.0.11/24", "2001:db8:81::11/64")
	vip4, vip6 := netip.MustParseAddr("10.81.0.100"), netip.MustParseAddr("2001:db8:81::100")

	var h Host
	up := func(vips ...netip.Addr) {
		t.Helper()
		if err := rs.Do(func() error { return h.Up(vips) }); err != nil {
			t.Fatal(err)
		}
	}
	up(vip4, vip6)
	up(vip4, vip6) // idempotent
	var addrs []netlink.Addr
	sysctls := map[string]string{}
	if err := rs.Do(func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if addrs, err = netlink.AddrList(lo, netlink.FAMILY_ALL); err != nil {
			return err
		}
		for _, dev := range []string{"all", "lo"} {
			for _, name := range []string{"arp_ignore", "arp_announce"} {
				if sysctls[dev+"."+name], err = h.Sysctl(dev, name); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, a := range addrs {
		switch a.IPNet.String() {
		case "10.81.0.100/32":
			found++
		case "2001:db8:81::100/128":
			found++
			if a.Flags&unix.IFA_F_NODAD == 0 {
				t.Errorf("IPv6 VIP on lo without nodad: flags %#x", a.Flags)
			}
		}
	}
	if found != 2 {
		t.Fatalf("lo holds %v, want both VIPs as host addresses", addrs)
	}
	want := map[string]string{"all.arp_ignore": "1", "lo.arp_ignore": "1", "all.arp_announce": "2", "lo.arp_announce": "2"}
	for k, v := range want {
		if sysctls[k] != v {
			t.Errorf("net.ipv4.conf.%s = %s, want %s", k, sysctls[k], v)
		}
	}

	// The director believes the VIPs on its LAN: it asks for them, and nobody answers.
	for _, vip := range []netip.Addr{vip4, vip6} {
		mustIP(t, dir, "route", "add", netip.PrefixFrom(vip, vip.BitLen()).String(), "dev", "eth0")
		if err := dial(dir, netip.AddrPortFrom(vip, 9), 1500*time.Millisecond); err == nil {
			t.Fatalf("the director reached %s with no real server answering for it", vip)
		}
		if out := mustIP(t, dir, "neigh", "show", vip.String(), "dev", "eth0"); strings.Contains(out, "lladdr") {
			t.Fatalf("the real server answered ARP/NDP for %s: %s", vip, out)
		}
	}
	// Frames for the VIPs sent to the real server's MAC are taken.
	mac := strings.TrimSpace(mustExec(t, rs, "cat", "/sys/class/net/eth0/address"))
	for _, vip := range []netip.Addr{vip4, vip6} {
		mustIP(t, dir, "neigh", "replace", vip.String(), "lladdr", mac, "dev", "eth0", "nud", "permanent")
		ln := listen(t, rs, netip.AddrPortFrom(vip, 0))
		if err := dial(dir, netip.MustParseAddrPort(ln.Addr().String()), 3*time.Second); err != nil {
			t.Fatalf("connecting to %s on the real server: %v", ln.Addr(), err)
		}
	}

	// Down for the IPv6 VIP alone leaves the IPv4 one and the sysctls; then all goes.
	if err := rs.Do(func() error { return h.Down([]netip.Addr{vip6}) }); err != nil {
		t.Fatal(err)
	}
	if v := sysctlIn(t, rs, h, "all", "arp_ignore"); v != "1" {
		t.Errorf("arp_ignore %s after removing the IPv6 VIP only, want 1 (an IPv4 VIP is left)", v)
	}
	if err := rs.Do(func() error { return h.Down([]netip.Addr{vip4, vip6}) }); err != nil {
		t.Fatal(err)
	}
	var left []netip.Addr
	if err := rs.Do(func() error {
		var err error
		left, err = h.VIPs()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("VIPs left on lo after down: %v", left)
	}
	if v := sysctlIn(t, rs, h, "lo", "arp_announce"); v != "0" {
		t.Errorf("arp_announce %s after down, want 0", v)
	}
}

func mustIP(t *testing.T, h *testutil.Host, args ...string) string {
	t.Helper()
	return mustExec(t, h, "ip", args...)
}

func mustExec(t *testing.T, h *testutil.Host, name string, args ...string) string {
	t.Helper()
	out, err := h.Exec(name, args...)
	if err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", h.Name, name, strings.Join(args, " "), err, out)
	}
	return out
}

func sysctlIn(t *testing.T, h *testutil.Host, host Host, dev, name string) string {
	t.Helper()
	var v string
	if err := h.Do(func() error {
		var err error
		v, err = host.Sysctl(dev, name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// listen opens a TCP listener in h's namespace that accepts and closes connections until
// the test ends.
func listen(t *testing.T, h *testutil.Host, at netip.AddrPort) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", at.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ln, func(net.Conn) {})
	return ln
}

// dial connects to at from h's namespace within timeout.
func dial(h *testutil.Host, at netip.AddrPort, timeout time.Duration) error {
	return h.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", at.String())
		if err != nil {
			return err
		}
		return c.Close()
	})
}
