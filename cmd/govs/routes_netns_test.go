package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// routesConf uses most of what keepalived takes in routes and rules: metrics, locks,
// tos, realms, types, multipath, onlink, protocols, add modes, rule actions, marks,
// ports, uid ranges and a rule without a preference (keepalived gives it 16384).
const routesConf = `static_routes {
  10.70.1.0/24 via 10.61.0.254 dev eth0
  10.70.2.0/24 via 10.61.0.254 dev eth0 table 100 metric 7 mtu lock 1400 advmss 1360 rtt 100ms rttvar 50ms initcwnd 10 initrwnd 20 window 65535 features ecn quickack 1 congctl cubic hoplimit 32 reordering 4 cwnd 8 ssthresh 16 rto_min 300ms fastopen_no_cookie 1
  10.70.3.0/24 dev eth0 scope link tos 0x10 realms 3/4
  blackhole 10.70.4.0/24
  10.70.5.0/24 nexthop via 10.61.0.250 dev eth0 weight 2 nexthop via 10.62.0.250 dev eth1 weight 3
  10.70.6.0/24 via 10.61.0.254 dev eth0 onlink
  10.70.7.0/24 via 10.61.0.254 dev eth0 no_track protocol bird
  2001:db8:70::/64 via 2001:db8:61::254 dev eth0 metric 5
  unreachable 10.70.8.0/24 table main
  10.70.9.0/24 via 10.61.0.254 dev eth0 table 100 rtt 2000 append
}
static_rules {
  from 10.71.0.0/16 table 100 priority 100
  from 10.72.0.0/16 fwmark 0x5/0xff table 100 priority 101
  to 10.73.0.0/16 not table 100 priority 102
  iif eth0 tos 0x10 table 100 priority 103
  from 10.74.0.0/16 blackhole priority 104
  from 10.75.0.0/16 goto 110 priority 105
  from 10.76.0.0/16 table 100 suppress_prefixlength 0 priority 106
  ipproto tcp dport 80-90 sport 1000 table 100 priority 107
  uidrange 1000-2000 table 100 priority 108
  from 10.77.0.0/16 realms 1/2 table 100 priority 109
  oif eth1 prohibit priority 111
  nop priority 112
  from 2001:db8:71::/48 table 100 priority 100
  from 10.78.0.0/16 table 100
  fwmark 7 table 100 priority 113
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.100/24
  }
  virtual_routes {
    10.80.0.0/16 via 10.61.0.254 dev eth0 mtu 1300
  }
  virtual_rules {
    from 10.81.0.0/16 table 100 priority 200
  }
}
`

// TestRoutesAndRulesAsKeepalived: the same static and virtual routes and rules, put
// in by the real keepalived 2.2.7 and then by govs in the same namespace, read back
// the same (ip -d route, ip rule), and both remove them all when they stop.
func TestRoutesAndRulesAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	// What the daemons made: routes other than the kernel's own, and every rule.
	snapshot := func() string {
		return ipOutput(t, h, func(line string) bool {
			return !strings.Contains(line, "proto kernel") && !strings.HasPrefix(line, "local ") &&
				!strings.HasPrefix(line, "multicast ") && !strings.HasPrefix(line, "broadcast ") && !strings.HasPrefix(line, "anycast ")
		}, []string{"-4", "-d", "route", "show", "table", "all"}, []string{"-6", "-d", "route", "show", "table", "all"}, []string{"-4", "rule"}, []string{"-6", "rule"})
	}
	// The virtual route is there once VI_1 is master, after everything static.
	_, gv := asKeepalived(t, h, routesConf, snapshot, func(got string) bool {
		return strings.Contains(got, "10.80.0.0/16") && strings.Contains(got, "200:\tfrom 10.81.0.0/16")
	})
	for _, want := range []string{"mtu lock 1400", "nexthop via 10.62.0.250 dev eth1 weight 3", "onlink", "proto bird",
		"fwmark 0x5/0xff", "not from all to 10.73.0.0/16", "goto 110", "16384:\tfrom 10.78.0.0/16", "realms 3/4"} {
		if !strings.Contains(gv, want) {
			t.Errorf("govs's routes and rules lack %q:\n%s", want, gv)
		}
	}
}

// addressesConf uses what keepalived takes on address lines: brd (an address, + or -),
// label, scope, peer, home, -nodad, mngtmpaddr, noprefixroute, preferred_lft, and
// IPv6 /128 addresses (deprecated unless preferred_lft says otherwise).
const addressesConf = `static_ipaddress {
  10.61.0.50/24 dev eth0 brd + label eth0:s1
  10.61.0.51/24 dev eth0 brd 10.61.0.250
  10.61.0.52/24 dev eth0 noprefixroute
  10.61.0.53/24 dev eth0 brd - label eth0:m
  10.62.5.1 peer 10.62.5.2 dev eth1
  2001:db8:61::5/64 dev eth0 home -nodad mngtmpaddr noprefixroute preferred_lft 0
  2001:db8:61::6/128 dev eth0
  2001:db8:61::7/64 dev eth0 preferred_lft 50
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.100/24 brd + label eth0:v1
    10.61.0.101/24 noprefixroute
    10.62.6.1 peer 10.62.6.2 dev eth1
  }
  virtual_ipaddress_excluded {
    2001:db8:61::100/64 dev eth0 home
    2001:db8:61::101/128 dev eth0 preferred_lft forever
  }
}
`

// TestAddressesAsKeepalived: the same static and virtual addresses, put in by the real
// keepalived 2.2.7 and then by govs, read back the same (ip addr: flags, broadcast,
// labels, peers, lifetimes; and the main table's routes the kernel derives from them).
func TestAddressesAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	lifetime := regexp.MustCompile(`(valid_lft|preferred_lft) [0-9]+sec`)
	snapshot := func() string {
		// The main table's routes show noprefixroute and peers; the local table
		// keeps a broadcast route of "brd -" after the address goes (a kernel quirk).
		out := ipOutput(t, h, func(line string) bool {
			return strings.TrimSpace(line) != "" && !strings.Contains(line, "fe80::") && !strings.Contains(line, "link/")
		}, []string{"addr", "show"}, []string{"-4", "route", "show"}, []string{"-6", "route", "show"})
		return lifetime.ReplaceAllString(out, "$1 Nsec") // counting down
	}
	// keepalived 2.2.7 cannot delete an address with a peer (it names the address
	// itself as IFA_ADDRESS): they stay after it stops; govs removes them.
	_, gv := asKeepalived(t, h, addressesConf, snapshot, func(got string) bool { return strings.Contains(got, "10.62.6.1 peer") },
		[]string{"addr", "del", "10.62.5.1", "peer", "10.62.5.2", "dev", "eth1"}, []string{"addr", "del", "10.62.6.1", "peer", "10.62.6.2", "dev", "eth1"})
	for _, want := range []string{"inet 10.61.0.52/24 scope global secondary noprefixroute eth0", "brd 10.61.0.0 scope global secondary eth0:m",
		"inet 10.62.5.1 peer 10.62.5.2/32", "2001:db8:61::6/128 scope global nodad deprecated", "home deprecated mngtmpaddr noprefixroute"} {
		if !strings.Contains(gv, want) {
			t.Errorf("govs's addresses lack %q:\n%s", want, gv)
		}
	}
}

// keepalivedHost is a namespace with eth0 (10.61.0.1/24, 2001:db8:61::1/64) and eth1
// (10.62.0.1/24), for running keepalived and govs on it in turn.
func keepalivedHost(t *testing.T) *testutil.Host {
	t.Helper()
	testutil.Integration(t)
	testutil.NeedCommand(t, "keepalived")
	lan := testutil.NewLAN(t)
	h := lan.AddHost("lb", "10.61.0.1/24", "2001:db8:61::1/64")
	for _, args := range [][]string{
		{"link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"},
		{"addr", "add", "10.62.0.1/24", "dev", "eth1"},
		{"link", "set", "eth1p", "up"},
		{"link", "set", "eth1", "up"},
	} {
		if out, err := h.Exec("ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	return h
}

// ipOutput runs each ip command in h and keeps the lines keep accepts.
func ipOutput(t *testing.T, h *testutil.Host, keep func(string) bool, cmds ...[]string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range cmds {
		out, err := h.Exec("ip", args...)
		if err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
		for _, line := range strings.SplitAfter(out, "\n") {
			if keep(line) {
				b.WriteString(line)
			}
		}
	}
	return b.String()
}

// asKeepalived runs keepalived, then govs, with conf in h; each time it waits until
// snapshot satisfies ready, records it, stops the daemon and checks the snapshot is
// back to what it was. It fails the test unless both recorded the same.
// kaLeaves are ip commands that remove what keepalived is known to leave behind.
func asKeepalived(t *testing.T, h *testutil.Host, conf string, snapshot func() string, ready func(string) bool, kaLeaves ...[]string) (ka, gv string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := snapshot()
	run := func(name string, leaves [][]string, args ...string) string {
		cmd, logs := h.Start(args[0], args[1:]...)
		var got string
		if !testutil.Eventually(15*time.Second, func() bool { got = snapshot(); return ready(got) }) {
			t.Fatalf("%s did not get ready:\n%s\n%s", name, got, logs.String())
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if len(leaves) > 0 {
			if !testutil.Eventually(10*time.Second, func() bool { return syscall.Kill(cmd.Process.Pid, 0) != nil }) {
				t.Fatalf("%s did not stop", name)
			}
			for _, args := range leaves {
				if out, err := h.Exec("ip", args...); err != nil {
					t.Fatalf("%s left less than expected: ip %v: %v %s", name, args, err, out)
				}
			}
		}
		if !testutil.Eventually(10*time.Second, func() bool { return snapshot() == empty }) {
			t.Fatalf("%s left things behind:\n%s\nbefore:\n%s", name, snapshot(), empty)
		}
		return got
	}
	ka = run("keepalived", kaLeaves, "keepalived", "-n", "-l", "-D", "-P", "-f", path, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid"))
	gv = run("govs", nil, testutil.GovsBinary(t), "run", "--dataplane", "proxy", "-f", path, "--socket", filepath.Join(dir, "govs.sock"))
	if gv != ka {
		t.Errorf("govs made\n%s\nkeepalived made\n%s", gv, ka)
	}
	return ka, gv
}
