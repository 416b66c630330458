package vrrp

import (
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestInterfaceRecreated: a and b run an instance on dv0, a veth pair between them
// that is deleted and created again (new indexes). Both nodes rebuild the instance on
// the new device: a is master again, b backup, the VIP on a only. Without the rebuild
// their sockets would still name the old device, neither would hear the other, and
// both would be master.
func TestInterfaceRecreated(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	a, b := hosts["a"], hosts["b"]
	link := func() {
		t.Helper()
		if out, err := a.Exec("ip", "link", "add", "dv0", "type", "veth", "peer", "name", "dv0", "netns", b.Name); err != nil {
			t.Fatalf("veth: %v %s", err, out)
		}
		for i, h := range []*testutil.Host{a, b} {
			for _, args := range [][]string{{"addr", "add", []string{"10.79.0.1/24", "10.79.0.2/24"}[i], "dev", "dv0"}, {"link", "set", "dv0", "up"}} {
				if out, err := h.Exec("ip", args...); err != nil {
					t.Fatalf("%s: ip %v: %v %s", h.Name, args, err, out)
				}
			}
		}
	}
	link()
	mk := func(prio uint8) Config {
		in := instanceCfg("VI_1", 76, prio, 3, 100*time.Millisecond, "10.79.0.100")
		in.Interface = "dv0"
		return single(in)
	}
	na := startNode(t, a, mk(150))
	nb := startNode(t, b, mk(100))
	both := []*testutil.Host{a, b}
	waitVIPOn(t, 5*time.Second, "10.79.0.100", "dv0", a, both...)
	waitState(t, nb.Node, "VI_1", StateBackup, "b")

	if out, err := a.Exec("ip", "link", "del", "dv0"); err != nil {
		t.Fatalf("ip link del: %v %s", err, out)
	}
	waitState(t, na.Node, "VI_1", StateFault, "a")
	link()
	waitVIPOn(t, 5*time.Second, "10.79.0.100", "dv0", a, both...)
	waitState(t, na.Node, "VI_1", StateMaster, "a")
	waitState(t, nb.Node, "VI_1", StateBackup, "b")
	// Stable: they hear each other on the new device.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if stateOf(na.Node, "VI_1") != StateMaster || stateOf(nb.Node, "VI_1") != StateBackup {
			t.Fatalf("a %v, b %v after the device came back; want MASTER and BACKUP", stateOf(na.Node, "VI_1"), stateOf(nb.Node, "VI_1"))
		}
	}
}

// TestVMACDeletedIsCreatedAgain: an operator deletes the master's VMAC; the node creates
// it again, with the virtual MAC, and the VIP goes back on it, as keepalived does.
func TestVMACDeletedIsCreatedAgain(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	in := instanceCfg("VI_1", 77, 150, 3, 100*time.Millisecond, testVIP)
	in.UseVMAC = true
	n := startNode(t, a, single(in))
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.77", a, a)
	if out, err := a.Exec("ip", "link", "del", "vrrp.77"); err != nil {
		t.Fatalf("ip link del: %v %s", err, out)
	}
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.77", a, a)
	if mac := macOfIface(t, a, "vrrp.77"); mac != VMACAddr(77, false).String() {
		t.Fatalf("the VMAC came back with MAC %s, want %s", mac, VMACAddr(77, false))
	}
	waitState(t, n.Node, "VI_1", StateMaster, "a")
}

// TestDynamicInterfaces: with dynamic_interfaces, an instance on an interface that does
// not exist yet starts in FAULT (and holds its sync group there) instead of stopping
// the node; once the interface exists and has an address, the instances run on it.
func TestDynamicInterfaces(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	v1 := instanceCfg("VI_1", 78, 150, 3, 100*time.Millisecond, testVIP)
	v2 := instanceCfg("VI_2", 79, 150, 3, 100*time.Millisecond, "10.79.1.100")
	v2.Interface = "dv1"
	cfg := single(v1, v2)
	cfg.SyncGroups = []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}}}
	cfg.DynamicInterfaces = true
	n := startNode(t, a, cfg)
	for _, name := range []string{"VI_1", "VI_2"} {
		waitState(t, n.Node, name, StateFault, "a")
	}
	for _, s := range n.Status() {
		if s.Name == "VI_2" && (len(s.Faults) == 0 || !strings.Contains(strings.Join(s.Faults, ";"), "dv1 does not exist")) {
			t.Errorf("VI_2's faults %q, want the missing interface", s.Faults)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if hasAddr(t, a, testVIP) {
		t.Fatal("VI_1 took its VIP although its sync group is in FAULT")
	}

	for _, args := range [][]string{
		{"link", "add", "dv1", "type", "veth", "peer", "name", "dv1p"},
		{"link", "set", "dv1p", "up"},
		{"link", "set", "dv1", "up"},
		{"addr", "add", "10.79.1.1/24", "dev", "dv1"},
	} {
		if out, err := a.Exec("ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	if !testutil.Eventually(5*time.Second, func() bool {
		return stateOf(n.Node, "VI_1") == StateMaster && stateOf(n.Node, "VI_2") == StateMaster
	}) {
		t.Fatalf("after dv1 appeared: VI_1 %v, VI_2 %v; want both MASTER", stateOf(n.Node, "VI_1"), stateOf(n.Node, "VI_2"))
	}
	waitVIP(t, 2*time.Second, testVIP, a, map[string]*testutil.Host{"a": a})
	if !hasAddrOn(a, "dv1", "10.79.1.100") {
		t.Fatal("VI_2's VIP is not on dv1")
	}
}

// TestConfigFault: an instance with a configuration fault (unicast_fault_no_peer
// without peers) stays in FAULT and never takes its address.
func TestConfigFault(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	in := instanceCfg("VI_1", 80, 150, 3, 100*time.Millisecond, testVIP)
	in.ConfigFault = "cannot use unicast without any peers (unicast_fault_no_peer)"
	n := startNode(t, hosts["a"], single(in))
	waitState(t, n.Node, "VI_1", StateFault, "a")
	time.Sleep(time.Second)
	if st := n.Status()[0]; st.State != StateFault || !strings.Contains(strings.Join(st.Faults, ";"), "unicast_fault_no_peer") {
		t.Fatalf("status %+v", st)
	}
	if hasAddr(t, hosts["a"], testVIP) {
		t.Fatal("a faulted instance took its address")
	}
}
