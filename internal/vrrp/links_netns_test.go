package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestLinkDelays: with interface_up_down_delays, a link that flaps for less than its
// down delay leaves the master alone; one that stays down goes to FAULT only after the
// delay; coming back, the up delay holds the recovery back the same way.
func TestLinkDelays(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	cfg := single(instanceCfg("VI_1", 75, 150, 3, time.Second, testVIP))
	const down, up = 800 * time.Millisecond, 500 * time.Millisecond
	cfg.LinkDelays = map[string]LinkDelay{"eth0": {Down: down, Up: up}}
	n := startNode(t, a, cfg)
	if !testutil.Eventually(5*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateMaster }) {
		t.Fatal("a did not become master")
	}
	link := func(state string) {
		t.Helper()
		if out, err := a.Exec("ip", "link", "set", "eth0", state); err != nil {
			t.Fatalf("ip link set eth0 %s: %v %s", state, err, out)
		}
	}
	// stays reports whether the instance kept state for d.
	stays := func(state State, d time.Duration) bool {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if stateOf(n.Node, "VI_1") != state {
				return false
			}
		}
		return true
	}

	link("down")
	time.Sleep(down / 4)
	link("up")
	if !stays(StateMaster, 2*down) {
		t.Fatalf("a %v-long flap took the master out of MASTER (now %v)", down/4, stateOf(n.Node, "VI_1"))
	}

	link("down")
	start := time.Now()
	if !stays(StateMaster, down*3/4) {
		t.Fatalf("FAULT before the down delay (%v after the link went down)", time.Since(start))
	}
	if !testutil.Eventually(2*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateFault }) {
		t.Fatal("no FAULT although the link stayed down past its delay")
	}
	t.Logf("FAULT %v after the link went down (delay %v)", time.Since(start).Round(time.Millisecond), down)

	link("up")
	start = time.Now()
	if !stays(StateFault, up*3/4) {
		t.Fatalf("out of FAULT before the up delay (%v after the link came up)", time.Since(start))
	}
	if !testutil.Eventually(5*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateMaster }) {
		t.Fatalf("not MASTER again after the link came back: %v", stateOf(n.Node, "VI_1"))
	}
}

// TestLinkNotificationsOverflow: a burst of link changes overflows a tiny monitor
// buffer (vrrp_netlink_monitor_rcv_bufs), which ends the subscription; the node
// follows the links anew, so the link of the instance going down afterwards still puts
// it in FAULT, and coming back takes it out.
func TestLinkNotificationsOverflow(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	cfg := single(instanceCfg("VI_1", 76, 150, 3, 100*time.Millisecond, testVIP))
	cfg.NetlinkMonitorRcvBuf = RcvBuf{Bytes: 1, Force: true} // the kernel's minimum
	log := &testutil.SyncBuffer{}
	n, err := New(cfg, slog.New(slog.NewTextHandler(log, nil)), WithNetNS(a.NS))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("node log:\n%s", log)
		}
	})
	waitState(t, n, "VI_1", StateMaster, "a")
	overflowed := func() bool { return strings.Contains(log.String(), "link notifications stopped") }
	testutil.Overflow(t, a.Name, 150, func(burst, i int) string {
		return fmt.Sprintf("link add o%d.%da type veth peer name o%d.%db", burst, i, burst, i)
	}, overflowed)
	for _, step := range []struct {
		link string
		want State
	}{{"down", StateFault}, {"up", StateMaster}} {
		if out, err := a.Exec("ip", "link", "set", "eth0", step.link); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if !testutil.Eventually(3*time.Second, func() bool { return stateOf(n, "VI_1") == step.want }) {
			t.Fatalf("eth0 %s after the overflow: VI_1 is %v, want %v", step.link, stateOf(n, "VI_1"), step.want)
		}
	}
}
