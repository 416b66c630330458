package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// kaRoutesConf has static routes and rules, a MASTER instance whose virtual routes are
// plain, via a gateway with metric, table, scope and src, IPv6, multipath, a lone next
// hop, unreachable without a device, and one the kernel refuses (its gateway is on no
// network of the host), as is a static one; with rules on from, to, not, goto, iif,
// fwmark, IPv6 and oif, and a BACKUP instance (its peer has the higher priority) with
// a route and a rule. %s is the AgentX socket.
const kaRoutesConf = `global_defs {
  router_id lb-routes-mib
  enable_snmp_vrrp
  snmp_socket %s
}
static_routes {
  10.70.1.0/24 via 10.61.0.254 dev eth0
  10.70.2.0/24 via 10.61.0.254 dev eth0 table 100 metric 7 mtu lock 1400 advmss 1360 rtt 100ms rttvar 50ms initcwnd 10 initrwnd 20 window 65535 features ecn quickack 1 congctl cubic hoplimit 32 reordering 4 cwnd 8 ssthresh 16 rto_min lock 300ms fastopen_no_cookie 1
  10.70.3.0/24 dev eth0 scope link tos 0x10 realms 3/4
  blackhole 10.70.4.0/24
  10.70.7.0/24 via 10.61.0.254 dev eth0 no_track protocol bird
  10.70.8.0/24 via 10.99.0.254 dev eth0
}
static_rules {
  from 10.71.0.0/16 table 100 priority 100
  from 10.72.0.0/16 fwmark 0x5/0xff table 100 priority 101 suppress_prefixlength 0
  iif eth0 tos 0x10 table 100 priority 103 uidrange 1000-2000
  from 10.78.0.0/16 table 100
}
vrrp_instance VI_M {
  interface eth0
  state MASTER
  virtual_router_id 63
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.61.0.110/24
  }
  virtual_routes {
    10.80.0.0/16 dev eth0
    10.81.0.0/16 via 10.62.0.254 dev eth1 metric 20 table 100 scope global src 10.62.0.1
    2001:db8:80::/64 via 2001:db8:61::254 dev eth0
    10.82.0.0/16 nexthop via 10.61.0.250 dev eth0 weight 2 nexthop via 10.62.0.250 dev eth1 onlink
    10.84.0.0/16 nexthop via 10.61.0.251 dev eth0
    unreachable 10.83.0.0/16
    10.89.0.0/16 via 10.99.0.254 dev eth0
  }
  virtual_rules {
    from 10.85.0.0/16 to 10.86.0.0/16 table 100 priority 200
    iif eth0 fwmark 7 table 100 priority 201
    to 10.87.0.0/16 not goto 250 priority 202
    from 2001:db8:88::/48 table 100 priority 203
    oif eth1 blackhole priority 204
  }
}
vrrp_instance VI_B {
  interface eth0
  state BACKUP
  virtual_router_id 64
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.111/24
  }
  virtual_routes {
    10.90.0.0/16 via 10.61.0.254 dev eth0
  }
  virtual_rules {
    from 10.92.0.0/16 table 100 priority 300
  }
}
`

// kaRoutesPeer keeps VI_B backup: the same virtual router, with a higher priority.
const kaRoutesPeer = `vrrp_instance VI_B {
  interface eth0
  state BACKUP
  virtual_router_id 64
  priority 250
  advert_int 1
  virtual_ipaddress {
    10.61.0.111/24
  }
}
`

// TestKeepalivedMIBRoutesAsKeepalived runs keepalived 2.2.7 and then govs (-P) with
// enable_snmp_vrrp under a real snmpd, with a peer that keeps one instance backup:
// snmpwalk of vrrpRouteTable, vrrpRuleTable and vrrpRouteNextHopTable gives the same
// variables, types and values for both. Nothing is masked.
func TestKeepalivedMIBRoutesAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	dir := t.TempDir()
	conf := writeTestFile(t, dir, "keepalived.conf", fmt.Sprintf(kaRoutesConf, m.Socket))
	peerConf := writeTestFile(t, dir, "peer.conf", kaRoutesPeer)
	peer, peerLogs := startKeepalivedPeer(t, h, peerConf)
	if !testutil.Eventually(20*time.Second, func() bool {
		out, _ := peer.Exec("ip", "addr", "show", "dev", "eth0")
		return strings.Contains(out, "10.61.0.111/24")
	}) {
		t.Fatalf("the peer did not become master:\n%s", peerLogs.String())
	}

	const root = "1.3.6.1.4.1.9586.100.5.2"
	// ready: VI_M is master with its routes in, VI_B backup.
	ready := func(walk string) bool {
		return strings.Contains(walk, root+".3.1.4.1 = INTEGER: 2") && strings.Contains(walk, root+".3.1.4.2 = INTEGER: 1") &&
			strings.Contains(walk, root+".7.1.14.1.1 = INTEGER: 1")
	}
	run := func(name string, argv ...string) string {
		cmd, logs := h.Start(argv[0], argv[1:]...)
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if !h.WaitExit(cmd, 15*time.Second) {
				t.Errorf("%s did not stop on SIGTERM:\n%s", name, logs.String())
			}
		}()
		var walk string
		if !testutil.Eventually(30*time.Second, func() bool { walk = m.Walk(root+".3.1.4", root+".7"); return ready(walk) }) {
			t.Fatalf("%s: VI_M is not master with its routes, VI_B not backup:\n%s\n%s", name, walk, logs.String())
		}
		return m.Walk(root+".7", root+".8", root+".11")
	}
	ka := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gv := run("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
	if gv != ka {
		t.Errorf("walks differ:\ngovs:\n%s\nkeepalived:\n%s", gv, ka)
	}
	// The rows compared are there: static ones (instance 0), VI_M's set, VI_B's not,
	// those the kernel refused not set, the next hops, the rules.
	for _, row := range []string{
		".5.2.7.1.3.0.5 = Hex-STRING", ".5.2.7.1.14.1.6 = INTEGER: 1", ".5.2.7.1.14.2.1 = INTEGER: 2",
		".5.2.7.1.14.0.1 = INTEGER: 1", ".5.2.7.1.14.0.6 = INTEGER: 2", ".5.2.7.1.14.1.7 = INTEGER: 2",
		".5.2.11.1.3.1.4.2 = Hex-STRING", ".5.2.11.1.3.1.5.1 = Hex-STRING",
		".5.2.8.1.2.0.4 = STRING", ".5.2.8.1.7.1.5 = INTEGER: 1", ".5.2.8.1.7.2.1 = INTEGER: 2",
	} {
		if !strings.Contains(ka, row) {
			t.Errorf("keepalived's walk has no %s…:\n%s", row, ka)
		}
	}
}
