package vrrp

import (
	"runtime"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/threadprio"
)

// As in govs's main: the main goroutine keeps the main thread, which no locked
// goroutine then ends on (the runtime would park it for good, settings and all).
func init() { runtime.LockOSThread() }

// TestVRRPThreadScheduling: with vrrp_rt_priority, each instance's state machine and
// advert reader run on threads of their own at that priority, a reload moves them to
// the new one, and the threads end with the node.
func TestVRRPThreadScheduling(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	cfg := single(instanceCfg("VI_1", 71, 150, 3, 100*time.Millisecond, testVIP),
		instanceCfg("VI_2", 72, 150, 3, 100*time.Millisecond, testVIP2))
	cfg.Threads = threadprio.Settings{RealTime: 11}
	n := startNode(t, hosts["a"], cfg)
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	// Two instances: two state machines and two readers.
	if !testutil.Eventually(2*time.Second, func() bool { return testutil.RTThreads(t, 11) == 4 }) {
		t.Fatalf("%d threads at SCHED_RR 11, want 4", testutil.RTThreads(t, 11))
	}
	cfg.Threads = threadprio.Settings{RealTime: 12}
	if err := n.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(3*time.Second, func() bool { return testutil.RTThreads(t, 12) == 4 && testutil.RTThreads(t, 11) == 0 }) {
		t.Fatalf("after the reload: %d threads at 12, %d at 11; want 4 and 0", testutil.RTThreads(t, 12), testutil.RTThreads(t, 11))
	}
	if st := firstStatus(n.Node); st.State != StateMaster {
		t.Fatalf("VI_1 %v after the reload", st.State)
	}
	n.stop(t)
	if !testutil.Eventually(2*time.Second, func() bool { return testutil.RTThreads(t, 12) == 0 }) {
		t.Fatalf("%d real-time threads after the node stopped", testutil.RTThreads(t, 12))
	}
}

// TestVRRPAutoPriority: with max_auto_priority, timers found overdue by more than
// min_auto_priority_delay (here 1 µs, so every advert is) raise the state machine's and
// the reader's threads one SCHED_RR step at a time, up to the maximum.
func TestVRRPAutoPriority(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	cfg := single(instanceCfg("VI_1", 73, 150, 3, 100*time.Millisecond, testVIP))
	cfg.Threads = threadprio.Settings{AutoRealTime: 13, AutoDelay: time.Microsecond}
	n := startNode(t, hosts["a"], cfg)
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	if !testutil.Eventually(5*time.Second, func() bool { return testutil.RTThreads(t, 13) == 2 }) {
		t.Fatalf("%d threads at SCHED_RR 13, want 2", testutil.RTThreads(t, 13))
	}
	time.Sleep(300 * time.Millisecond) // more overdue adverts: no step beyond the maximum
	if got := testutil.RTThreads(t, 14); got != 0 {
		t.Fatalf("%d threads above the maximum", got)
	}
}
