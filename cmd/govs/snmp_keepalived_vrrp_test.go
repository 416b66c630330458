package main

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/testutil/snmptrap"
)

// kaVRRPConf has a sync group of an IPv4 VRRPv2 instance (authentication, addresses
// with brd, dev, scope and label, excluded addresses) and an IPv6 VRRPv3 one, tracking
// an interface, a script and a file, an instance outside the group that tracks an
// interface, a script and files with weights, and a VRRPv3 unicast instance with
// preempt_delay. %s is the AgentX socket.
const kaVRRPConf = `global_defs {
  router_id lb-vrrp-mib
  enable_snmp_vrrp
  enable_traps
  snmp_socket %s
  vrrp_garp_master_delay 3
}
vrrp_script chk_ok {
  script "/bin/true"
  interval 1
  weight 10
  rise 2
  fall 3
}
vrrp_track_file tf_none {
  file /proc/sys/net/ipv4/ip_forward
  weight 3
}
vrrp_track_file tf_other {
  file /proc/sys/net/ipv6/conf/all/forwarding
}
vrrp_sync_group G1 {
  group {
    VI_4
    VI_6
  }
  track_interface {
    eth1
  }
  track_script {
    chk_ok
  }
  track_file {
    tf_other weight 0
  }
  notify_master "/bin/echo group master"
  notify "/bin/true"
}
vrrp_instance VI_4 {
  interface eth0
  state MASTER
  virtual_router_id 95
  priority 150
  advert_int 1
  garp_master_delay 2
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.61.0.150/24 brd 10.61.0.255 dev eth0 scope global label eth0:vip
    10.62.0.150/24 dev eth1 scope link
    10.61.0.152/24 brd +
  }
  virtual_ipaddress_excluded {
    10.61.0.151/32
  }
  track_interface {
    eth1 weight -20
  }
  notify_backup "/bin/echo backup"
}
vrrp_instance VI_6 {
  interface eth0
  state BACKUP
  virtual_router_id 96
  priority 100
  advert_int 0.5
  virtual_ipaddress {
    2001:db8:61::150/64
  }
  virtual_ipaddress_excluded {
    2001:db8:61::151/64
    10.61.0.153/32
  }
}
vrrp_instance VI_2 {
  interface eth0
  state BACKUP
  virtual_router_id 98
  priority 120
  advert_int 1
  nopreempt
  virtual_ipaddress {
    10.61.0.170/24
  }
  track_interface {
    eth1 weight -20
    eth0
  }
  track_script {
    chk_ok weight 5 reverse
  }
  track_file {
    tf_none weight 2
    tf_other
  }
  notify_master "/bin/echo master"
  notify_deleted "/bin/echo deleted"
}
vrrp_instance VI_3 {
  interface eth0
  version 3
  state BACKUP
  virtual_router_id 97
  priority 90
  advert_int 1
  preempt_delay 2
  notify_deleted
  unicast_src_ip 10.61.0.1
  unicast_peer {
    10.61.0.2
  }
  virtual_ipaddress {
    10.61.0.160/24
  }
}
`

// TestKeepalivedMIBVRRPAsKeepalived runs keepalived 2.2.7 and then govs (-P) with
// enable_snmp_vrrp and enable_traps under a real snmpd: snmpwalk of KEEPALIVED-MIB's
// VRRP part gives the same variables, types and values for both, with every instance
// master and again once a keepalived peer with higher priorities has taken them over,
// and both send the same vrrpInstanceStateChange and vrrpSyncGroupStateChange
// notifications as they start, as the peer takes over, as it stops, and as they
// stop. Nothing is masked.
func TestKeepalivedMIBVRRPAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	dir := t.TempDir()
	conf := writeTestFile(t, dir, "keepalived.conf", fmt.Sprintf(kaVRRPConf, m.Socket))
	peer := h.LAN().AddHost("peer", "10.61.0.2/24", "2001:db8:61::2/64")
	pc := strings.NewReplacer(
		"priority 150", "priority 250", "priority 100", "priority 250", "priority 120", "priority 250", "priority 90", "priority 250",
		"  nopreempt\n", "", "  preempt_delay 2\n", "",
		"unicast_src_ip 10.61.0.1", "unicast_src_ip 10.61.0.2", "    10.61.0.2\n", "    10.61.0.1\n",
		"  enable_snmp_vrrp\n  enable_traps\n", "", "    eth1 weight -20\n", "", "    eth1\n", "    eth0\n", "dev eth1", "dev eth0", // the peer has no eth1
	).Replace(fmt.Sprintf(kaVRRPConf, m.Socket))
	peerConf := writeTestFile(t, dir, "peer.conf", pc)

	const root = "1.3.6.1.4.1.9586.100.5.2"
	states := regexp.MustCompile(`\.5\.2\.3\.1\.4\.[0-9]+ = INTEGER: ([0-9])`)
	all := func(walk, state string) bool {
		got := states.FindAllStringSubmatch(walk, -1)
		for _, s := range got {
			if s[1] != state {
				return false
			}
		}
		return len(got) == 4
	}
	type result struct{ masters, backups string }
	// run starts a daemon and walks the VRRP part once every instance is master and
	// once the peer has taken them all over; it returns the walks and the
	// notifications sent as it starts, as the peer takes over and as it stops (the
	// instances master again), and as it stops itself.
	run := func(name string, argv ...string) (result, []string) {
		var r result
		cmd, logs := h.Start(argv[0], argv[1:]...)
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			if !h.WaitExit(cmd, 15*time.Second) {
				cmd.Process.Signal(syscall.SIGQUIT) // a Go program's goroutines into the logs
				h.WaitExit(cmd, 2*time.Second)
				t.Errorf("%s did not stop on SIGTERM:\n%s", name, logs.String())
			}
		}
		defer stop()
		if !testutil.Eventually(30*time.Second, func() bool { r.masters = m.Walk(root); return all(r.masters, "2") }) {
			t.Fatalf("%s: the walk does not show four masters:\n%s\n%s", name, r.masters, logs.String())
		}
		traps := readVRRPTraps(t, m.Traps, 2*time.Second) // those of the start
		r.masters = m.Walk(root)
		peerCmd, peerLogs := peer.Start("keepalived", "-n", "-l", "-D", "-P", "-f", peerConf, "-p", filepath.Join(dir, "pk.pid"), "-r", filepath.Join(dir, "pv.pid"))
		if !testutil.Eventually(20*time.Second, func() bool { r.backups = m.Walk(root); return all(r.backups, "1") }) {
			peerCmd.Process.Signal(syscall.SIGTERM)
			t.Fatalf("%s: the walk does not show four backups:\n%s\n%s\npeer:\n%s", name, r.backups, logs.String(), peerLogs.String())
		}
		traps = append(traps, readVRRPTraps(t, m.Traps, 3*time.Second)...)
		r.backups = m.Walk(root)
		peerCmd.Process.Signal(syscall.SIGTERM)
		if !peer.WaitExit(peerCmd, 15*time.Second) {
			t.Fatalf("the peer did not stop:\n%s", peerLogs.String())
		}
		if !testutil.Eventually(20*time.Second, func() bool { return all(m.Walk(root), "2") }) {
			t.Fatalf("%s: the instances did not take over again from the peer:\n%s", name, logs.String())
		}
		traps = append(traps, readVRRPTraps(t, m.Traps, 3*time.Second)...)
		stop()
		traps = append(traps, readVRRPTraps(t, m.Traps, 2*time.Second)...) // STOP (5)
		slices.Sort(traps)
		return r, traps
	}
	ka, kaTraps := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gv, gvTraps := run("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
	if gv.masters != ka.masters {
		t.Errorf("walk with the instances master differs:\ngovs:\n%s\nkeepalived:\n%s", gv.masters, ka.masters)
	}
	if gv.backups != ka.backups {
		t.Errorf("walk with the instances backup differs:\ngovs:\n%s\nkeepalived:\n%s", gv.backups, ka.backups)
	}
	if !slices.Equal(gvTraps, kaTraps) {
		t.Errorf("notifications differ:\ngovs:\n%s\nkeepalived:\n%s", strings.Join(gvTraps, "\n"), strings.Join(kaTraps, "\n"))
	}
	// The tables compared are there: tracked and track files, the group's tracked
	// interface, script and file.
	for _, row := range []string{".5.2.12.1.2.3.1 = STRING", ".5.2.13.1.3.1 = STRING", ".5.2.14.1.1.1.1 = STRING", ".5.2.15.1.2.1.1 = STRING", ".5.2.16.1.2.1.1 = STRING"} {
		if !strings.Contains(ka.masters, row) {
			t.Errorf("keepalived's walk has no %s…:\n%s", row, ka.masters)
		}
	}
	if joined := strings.Join(kaTraps, "\n"); !strings.Contains(joined, "=OID:.1.3.6.1.4.1.9586.100.5.2.10.0.1 ") || !strings.Contains(joined, "=OID:.1.3.6.1.4.1.9586.100.5.2.10.0.2 ") {
		t.Errorf("keepalived did not send both kinds of notification:\n%s", joined)
	}
}

// snmpTrapOID is snmpTrapOID.0, the variable naming a notification.
const snmpTrapOID = ".1.3.6.1.6.3.1.1.4.1.0"

// readVRRPTraps decodes the SNMPv2 notifications of KEEPALIVED-MIB's VRRP part the
// sink gets until it has been quiet for quiet, each as its variables (sysUpTime
// left out: it counts time) on one line.
func readVRRPTraps(t *testing.T, pc net.PacketConn, quiet time.Duration) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 65536)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return out
		}
		vars, err := snmptrap.Decode(buf[:n])
		if err != nil {
			t.Errorf("undecodable notification: %v", err)
			continue
		}
		if len(vars) > 0 && strings.HasPrefix(vars[0], snmpTrapOID+"=OID:.1.3.6.1.4.1.9586.100.5.2.") {
			out = append(out, strings.Join(vars, " "))
		}
	}
}
