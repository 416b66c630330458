package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// TestMasterReasons: RFC 6527's reason for becoming master, as keepalived keeps it. A
// lone node takes over when no master answers; a higher priority node that starts
// later preempts the lower one; when it stops, its priority-0 advert hands over.
func TestMasterReasons(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	reason := func(n *Node) uint8 { return firstStatus(n).MasterReason }
	a := startNode(t, hosts["a"], single(instanceCfg("VI_1", 71, 100, 3, 100*time.Millisecond, testVIP)))
	waitState(t, a.Node, "VI_1", StateMaster, "a")
	if got := reason(a.Node); got != MasterReasonMasterNoResponse {
		t.Errorf("a alone: reason %d, want masterNoResponse (3)", got)
	}
	b := startNode(t, hosts["b"], single(instanceCfg("VI_1", 71, 150, 3, 100*time.Millisecond, testVIP)))
	waitState(t, b.Node, "VI_1", StateMaster, "b")
	waitState(t, a.Node, "VI_1", StateBackup, "a")
	if got := reason(b.Node); got != MasterReasonPreempted {
		t.Errorf("b over a: reason %d, want preempted (2)", got)
	}
	b.stop(t)
	waitState(t, a.Node, "VI_1", StateMaster, "a")
	if got := reason(a.Node); got != MasterReasonPriority {
		t.Errorf("a after b's priority 0: reason %d, want priority (1)", got)
	}
	if s := firstStatus(a.Node); s.HeardMaster != netip.MustParseAddr("10.77.0.2") || s.BecameMaster != 2 {
		t.Errorf("a heard %v last (want b's 10.77.0.2), became master %d times (want 2)", s.HeardMaster, s.BecameMaster)
	}
}
