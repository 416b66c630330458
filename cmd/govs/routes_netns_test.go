package main

import (
	"os"
	"path/filepath"
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
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(routesConf), 0o600); err != nil {
		t.Fatal(err)
	}
	// What the daemons made: routes other than the kernel's own, and every rule.
	snapshot := func() string {
		var b strings.Builder
		for _, args := range [][]string{{"-4", "-d", "route", "show", "table", "all"}, {"-6", "-d", "route", "show", "table", "all"}, {"-4", "rule"}, {"-6", "rule"}} {
			out, err := h.Exec("ip", args...)
			if err != nil {
				t.Fatalf("ip %v: %v %s", args, err, out)
			}
			for _, line := range strings.SplitAfter(out, "\n") {
				switch {
				case strings.Contains(line, "proto kernel"), strings.HasPrefix(line, "local "),
					strings.HasPrefix(line, "multicast "), strings.HasPrefix(line, "broadcast "), strings.HasPrefix(line, "anycast "):
				default:
					b.WriteString(line)
				}
			}
		}
		return b.String()
	}
	empty := snapshot()
	run := func(name string, args ...string) string {
		cmd, logs := h.Start(args[0], args[1:]...)
		var got string
		// The virtual route is there once VI_1 is master, after everything static.
		if !testutil.Eventually(15*time.Second, func() bool {
			got = snapshot()
			return strings.Contains(got, "10.80.0.0/16") && strings.Contains(got, "200:\tfrom 10.81.0.0/16")
		}) {
			t.Fatalf("%s: VI_1's route and rule did not appear:\n%s\n%s", name, got, logs.String())
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if !testutil.Eventually(10*time.Second, func() bool { return snapshot() == empty }) {
			t.Fatalf("%s left routes or rules behind:\n%s", name, snapshot())
		}
		return got
	}
	kaDir := t.TempDir()
	ka := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(kaDir, "k.pid"),
		"-r", filepath.Join(kaDir, "v.pid"), "-c", filepath.Join(kaDir, "c.pid"), "-b", filepath.Join(kaDir, "b.pid"))
	gv := run("govs", testutil.GovsBinary(t), "run", "--dataplane", "proxy", "-f", conf, "--socket", filepath.Join(dir, "govs.sock"))
	if gv != ka {
		t.Errorf("govs made\n%s\nkeepalived made\n%s", gv, ka)
	}
	for _, want := range []string{"mtu lock 1400", "nexthop via 10.62.0.250 dev eth1 weight 3", "onlink", "proto bird",
		"fwmark 0x5/0xff", "not from all to 10.73.0.0/16", "goto 110", "16384:\tfrom 10.78.0.0/16", "realms 3/4"} {
		if !strings.Contains(gv, want) {
			t.Errorf("govs's routes and rules lack %q:\n%s", want, gv)
		}
	}
}
