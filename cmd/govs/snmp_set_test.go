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

// kaSetConf has a VRRPv2 instance that a keepalived peer of higher priority holds
// backup, and a VRRPv3 one alone, whose track file adds 10 to its priority. %s are the
// AgentX socket and the track file.
const kaSetConf = `global_defs {
  router_id lb-set
  enable_snmp_vrrp
  snmp_socket %s
}
vrrp_track_file tf {
  file %s
  weight 5
}
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 71
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.171/24
  }
}
vrrp_instance VI_3 {
  interface eth0
  version 3
  state BACKUP
  virtual_router_id 73
  priority 90
  advert_int 1
  track_file {
    tf
  }
  virtual_ipaddress {
    10.61.0.173/24
  }
}
`

// kaSetPeerConf is the peer's VI_1, of higher priority.
const kaSetPeerConf = `vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 71
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.61.0.171/24
  }
}
`

// TestKeepalivedMIBSetAsKeepalived runs keepalived 2.2.7 and then govs (-P) with
// enable_snmp_vrrp under a real snmpd, with a keepalived peer that holds VI_1: the same
// snmpset commands get the same answers from both (sets of vrrpInstanceBasePriority
// and vrrpInstancePreempt; priority 0, wrong types, a row that does not exist,
// read-only columns, vrrpInstanceAccept of VRRPv2 and VRRPv3, sets of two variables
// where the second fails, the global part), VI_1 raised above the peer preempts it and
// becomes master on both, and the walks of vrrpInstanceTable are the same after the
// sets (base, effective priorities, preemption, states) and again after a reload
// (SIGHUP), which puts the configuration's priorities back and gives VI_1 back to the
// peer. Values keepalived reads by their first byte (a priority above 255 or
// negative) are not compared: govs refuses them (vrrpmodule.Module.Test).
func TestKeepalivedMIBSetAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	dir := t.TempDir()
	track := writeTestFile(t, dir, "tf", "2\n")
	conf := writeTestFile(t, dir, "keepalived.conf", fmt.Sprintf(kaSetConf, m.Socket, track))
	peerConf := writeTestFile(t, dir, "peer.conf", kaSetPeerConf)
	startKeepalivedPeer(t, h, peerConf)

	const (
		table = ".1.3.6.1.4.1.9586.100.5.2.3"
		col   = table + ".1."
	)
	// After VI_1 has been raised above the peer's 150 and has preempted it:
	sets := [][]string{
		{col + "7.1", "i", "0"},
		{col + "7.1", "u", "50"},
		{col + "7.1", "s", "abc"},
		{col + "7.9", "i", "50"},
		{col + "2.1", "s", "x"},
		{col + "8.1", "i", "50"},
		{col + "27.1", "i", "1"},
		{col + "27.2", "i", "2"},
		{col + "27.2", "s", "x"},
		{col + "13.2", "i", "2"},
		{col + "13.2", "i", "3"},
		{col + "7.2", "i", "120"}, // effective 130
		{col + "7.2", "i", "255"}, // effective still 130
		{col + "7.1", "i", "150", col + "2.1", "s", "x"},
		{col + "7.1", "i", "150", col + "13.1", "i", "7"},
		{col + "7.2", "i", "110", col + "13.1", "i", "2"}, // effective 120
		{".1.3.6.1.4.1.9586.100.5.1.2.0", "s", "x"},
	}
	vi1 := func(state string) func() bool {
		return func() bool { return strings.Contains(m.Walk(col+"4.1"), "INTEGER: "+state+"\n") }
	}
	type result struct{ answers, set, reloaded string }
	run := func(name string, argv ...string) result {
		var r result
		cmd, logs := h.Start(argv[0], argv[1:]...)
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if !h.WaitExit(cmd, 15*time.Second) {
				t.Errorf("%s did not stop:\n%s", name, logs.String())
			}
		}()
		// VI_3 alone becomes master; VI_1 stays backup below the peer.
		if !testutil.Eventually(20*time.Second, func() bool { return strings.Contains(m.Walk(col+"4.2"), "INTEGER: 2\n") && vi1("1")() }) {
			t.Fatalf("%s: VI_3 is not master or VI_1 not backup:\n%s\n%s", name, m.Walk(table), logs.String())
		}
		// Each answer, then the base and effective priorities and preemption at once.
		var b strings.Builder
		set := func(args ...string) {
			out, _ := h.Exec("snmpset", append([]string{"-v2c", "-c", "private", "-On", "-t", "2", "-r", "0", "127.0.0.1:16161"}, args...)...)
			now, _ := h.Exec("snmpget", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "0", "127.0.0.1:16161",
				col+"7.1", col+"7.2", col+"8.1", col+"8.2", col+"13.1", col+"13.2")
			fmt.Fprintf(&b, "$ snmpset %s\n%s%s", strings.Join(args, " "), out, now)
		}
		set(col+"7.1", "i", "200")
		if !testutil.Eventually(10*time.Second, vi1("2")) {
			t.Errorf("%s: VI_1 raised above the peer did not become master:\n%s\n%s", name, m.Walk(table), logs.String())
		}
		for _, args := range sets {
			set(args...)
		}
		r.answers = b.String()
		r.set = m.Walk(table)
		cmd.Process.Signal(syscall.SIGHUP)
		if !testutil.Eventually(15*time.Second, func() bool { return vi1("1")() && strings.Contains(m.Walk(col+"7.2"), "INTEGER: 90\n") }) {
			t.Errorf("%s: after a reload VI_1 is not back to the peer, or VI_3 not to its priority:\n%s\n%s", name, m.Walk(table), logs.String())
		}
		r.reloaded = m.Walk(table)
		return r
	}
	ka := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gv := run("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
	for _, c := range []struct{ what, ka, gv string }{
		{"snmpset's answers", ka.answers, gv.answers},
		{"the walk after the sets", ka.set, gv.set},
		{"the walk after a reload", ka.reloaded, gv.reloaded},
	} {
		if c.gv != c.ka {
			t.Errorf("%s differ:\ngovs:\n%s\nkeepalived:\n%s", c.what, c.gv, c.ka)
		}
	}
	// What is compared: the sets took, each error was met.
	for _, want := range []string{col + "8.1 = INTEGER: 200", col + "8.2 = INTEGER: 130\n" + col + "13.1", col + "8.2 = INTEGER: 120",
		"wrongValue", "wrongType", "notWritable", "noAccess"} {
		if !strings.Contains(ka.answers+ka.set, want) {
			t.Errorf("keepalived's answers and walk have no %q:\n%s\n%s", want, ka.answers, ka.set)
		}
	}
}
