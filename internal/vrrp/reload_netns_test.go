package vrrp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestReload: a reload keeps a master master with its VIP; one that cannot run (an
// interface that does not exist) changes nothing, not even the instances it would
// remove; a good one removes an instance with a DELETED notify (notify_deleted).
func TestReload(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	notes := filepath.Join(t.TempDir(), "notify.log")
	generic := &Command{Argv: []string{"/bin/sh", "-c", `echo "$*" >>` + notes, "notify"}}
	deleted := &Command{Argv: []string{"/bin/sh", "-c", "echo deleted-script >>" + notes}}
	mk := func(second bool, iface string) Config {
		v1 := instanceCfg("VI_1", 71, 150, 3, 100*time.Millisecond, testVIP)
		v1.Interface = iface
		cfg := single(v1)
		if second {
			v2 := instanceCfg("VI_2", 72, 150, 3, 100*time.Millisecond, testVIP2)
			v2.Notify = NotifyConfig{Generic: generic, Deleted: deleted, AnnounceDeleted: true}
			cfg.Instances = append(cfg.Instances, v2)
		}
		return cfg
	}
	n := startNode(t, a, mk(true, "eth0"))
	alone := map[string]*testutil.Host{"a": a}
	waitVIP(t, 5*time.Second, testVIP, a, alone)
	waitVIP(t, time.Second, testVIP2, a, alone)

	// VI_1 on an interface that does not exist: the reload fails before anything stops.
	if err := n.Update(mk(false, "nosuch0")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	waitVIP(t, time.Second, testVIP, a, alone)
	waitVIP(t, time.Second, testVIP2, a, alone)
	if got := stateOf(n.Node, "VI_2"); got != StateMaster {
		t.Fatalf("VI_2 is %v after a failed reload, want MASTER", got)
	}

	// A good reload without VI_2: VI_1 stays master, VI_2 goes with DELETED notifies.
	if err := n.Update(mk(false, "eth0")); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, 3*time.Second, testVIP2, nil, alone)
	waitVIP(t, time.Second, testVIP, a, alone)
	// VI_2's addresses go while it stops, a moment before the reload swaps the
	// instance list, so the status is waited for rather than read once.
	reloaded := func() bool { return len(n.Status()) == 1 && stateOf(n.Node, "VI_1") == StateMaster }
	if !testutil.Eventually(time.Second, reloaded) {
		t.Fatalf("after the reload: %+v", n.Status())
	}
	var got string
	testutil.Eventually(3*time.Second, func() bool {
		b, _ := os.ReadFile(notes)
		got = string(b)
		return strings.Contains(got, "deleted-script") && strings.Contains(got, "INSTANCE VI_2 DELETED")
	})
	if !strings.Contains(got, "deleted-script") || !strings.Contains(got, "INSTANCE VI_2 DELETED 150") {
		t.Fatalf("notifies for the removed instance:\n%s", got)
	}
}

// TestStartupDelay: vrrp_startup_delay keeps even the address owner from becoming master
// before it has passed.
func TestStartupDelay(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	cfg := single(instanceCfg("VI_1", 73, 255, 3, 100*time.Millisecond, testVIP))
	cfg.StartupDelay = 1500 * time.Millisecond
	start := time.Now()
	n := startNode(t, hosts["a"], cfg)
	if !testutil.Eventually(5*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateMaster }) {
		t.Fatal("the owner never became master")
	}
	if took := time.Since(start); took < cfg.StartupDelay {
		t.Fatalf("master after %v, before the startup delay of %v", took, cfg.StartupDelay)
	}
}

// TestTwoOwners: two nodes both configured as the address owner (priority 255). As
// keepalived does, the one that hears the other lowers itself to 254, and the election
// settles with one master.
func TestTwoOwners(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	cfg := single(instanceCfg("VI_1", 74, 255, 3, 100*time.Millisecond, testVIP))
	a := startNode(t, hosts["a"], cfg)
	b := startNode(t, hosts["b"], cfg)
	settled := func() bool {
		sa, sb := firstStatus(a.Node), firstStatus(b.Node)
		return (sa.State == StateMaster) != (sb.State == StateMaster) &&
			(sa.State == StateBackup || sb.State == StateBackup) &&
			min(sa.EffectivePriority, sb.EffectivePriority) == OwnerConflictPriority
	}
	if !testutil.Eventually(5*time.Second, settled) {
		t.Fatalf("a %+v\nb %+v", firstStatus(a.Node), firstStatus(b.Node))
	}
	time.Sleep(time.Second) // and it stays so
	if !settled() {
		t.Fatalf("election did not hold: a %v b %v", firstStatus(a.Node).State, firstStatus(b.Node).State)
	}
}

// firstStatus is the status of a node's first instance (zero before it runs).
func firstStatus(n *Node) InstanceStatus {
	if s := n.Status(); len(s) > 0 {
		return s[0]
	}
	return InstanceStatus{}
}
