package vrrp

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestSetBasePriorityAndPreempt: what keepalived's SNMP sets of vrrpInstanceBasePriority
// and vrrpInstancePreempt do, on two nodes: the effective priority follows the base at
// once (the tracking weights on top, within 1..254, a base of 255 leaving it as it
// is), the new priority preempts unless preemption is off, and a reload puts the
// configuration's back.
func TestSetBasePriorityAndPreempt(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	track := filepath.Join(t.TempDir(), "w")
	if err := os.WriteFile(track, []byte("2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// b's file adds 2 × 5 to its priorities.
	mk := func(prio uint8) Config {
		in := instanceCfg("VI_1", 78, prio, 3, 100*time.Millisecond, testVIP)
		in.TrackFiles = []TrackRef{{Name: "w"}}
		return Config{Instances: []InstanceConfig{in}, TrackFiles: []TrackFileConfig{{Name: "w", File: track, Weight: 5}}}
	}
	startNode(t, hosts["a"], single(instanceCfg("VI_1", 78, 100, 3, 100*time.Millisecond, testVIP)))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	b := startNode(t, hosts["b"], mk(80))
	waitState(t, b.Node, "VI_1", StateBackup, "b")

	for _, step := range []struct {
		name      string
		set       func(n *Node) error
		base, eff uint8 // the status right after
		nopreempt bool
		master    string // who holds the VIP then
	}{
		{"preemption off", func(n *Node) error { return n.SetPreempt("VI_1", false) }, 80, 90, true, "a"},
		{"raised above the master without preemption", func(n *Node) error { return n.SetBasePriority("VI_1", 150) }, 150, 160, true, "a"},
		{"preemption on: it preempts", func(n *Node) error { return n.SetPreempt("VI_1", true) }, 150, 160, false, "b"},
		{"capped at 254", func(n *Node) error { return n.SetBasePriority("VI_1", 250) }, 250, 254, false, "b"},
		{"lowered below the backup: it gives way", func(n *Node) error { return n.SetBasePriority("VI_1", 50) }, 50, 60, false, "a"},
		{"255 leaves the effective priority", func(n *Node) error { return n.SetBasePriority("VI_1", 255) }, 255, 60, false, "a"},
		{"raised again", func(n *Node) error { return n.SetBasePriority("VI_1", 120) }, 120, 130, false, "b"},
	} {
		if err := step.set(b.Node); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if st := b.Status()[0]; st.Priority != step.base || st.EffectivePriority != step.eff || st.Nopreempt != step.nopreempt {
			t.Errorf("%s: base %d, effective %d, nopreempt %v; want %d, %d, %v", step.name, st.Priority, st.EffectivePriority, st.Nopreempt,
				step.base, step.eff, step.nopreempt)
		}
		if step.nopreempt {
			time.Sleep(time.Second) // > 2 × Master_Down_Interval
		}
		waitVIP(t, 5*time.Second, testVIP, hosts[step.master], hosts)
	}
	if err := b.Update(mk(80)); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(2*time.Second, func() bool { st := b.Status()[0]; return st.Priority == 80 && st.EffectivePriority == 90 }) {
		t.Errorf("after a reload: %+v, want base 80, effective 90", b.Status()[0])
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)

	for _, err := range []error{b.SetBasePriority("VI_1", 0), b.SetBasePriority("VI_9", 100), b.SetPreempt("VI_9", true)} {
		if err == nil {
			t.Error("a set of priority 0, or of an instance that does not exist, succeeded")
		}
	}
}

// TestRuntimeSetsSurviveRebuild: an instance rebuilt on a re-created VMAC keeps the base
// priority and preemption set at run time; keepalived never drops them but on a
// reload.
func TestRuntimeSetsSurviveRebuild(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	in := instanceCfg("VI_1", 79, 150, 3, 100*time.Millisecond, testVIP)
	in.UseVMAC = true
	n := startNode(t, a, single(in))
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.79", a, a)
	if err := n.SetBasePriority("VI_1", 200); err != nil {
		t.Fatal(err)
	}
	if err := n.SetPreempt("VI_1", false); err != nil {
		t.Fatal(err)
	}
	started := n.Status()[0].Started
	if out, err := a.Exec("ip", "link", "del", "vrrp.79"); err != nil {
		t.Fatalf("ip link del: %v %s", err, out)
	}
	if !testutil.Eventually(5*time.Second, func() bool { return n.Status()[0].Started != started }) {
		t.Fatal("the instance was not rebuilt")
	}
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.79", a, a)
	if st := n.Status()[0]; st.Priority != 200 || st.EffectivePriority != 200 || !st.Nopreempt {
		t.Errorf("after the rebuild: base %d, effective %d, nopreempt %v; want 200, 200, true", st.Priority, st.EffectivePriority, st.Nopreempt)
	}
}
