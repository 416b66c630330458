package check

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/testutil"
	"github.com/vishvananda/netns"
)

// chanWatcher is an AddrWatcher driven by the test.
type chanWatcher chan AddrChange

func (w chanWatcher) Watch(ctx context.Context, changes chan<- AddrChange) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-w:
			changes <- ch
		}
	}
}

var _ AddrWatcher = chanWatcher(nil)

var testVIP = netip.MustParseAddr("10.0.0.10")

// followAddresses runs m.FollowAddresses on w for the rest of the test.
func followAddresses(t *testing.T, m *Manager, w AddrWatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.FollowAddresses(ctx, w) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("FollowAddresses: %v", err)
		}
	})
}

// waitSuspended polls until the server's suspension is want.
func waitSuspended(t *testing.T, m *Manager, want bool) ServerStatus {
	t.Helper()
	waitStatus(t, m, func(st []ServerStatus) bool { return st[0].Suspended == want })
	return m.Status()[0]
}

// noEvent fails the test if an event comes within d.
func noEvent(t *testing.T, m *Manager, d time.Duration, why string) {
	t.Helper()
	select {
	case ev := <-m.Events():
		t.Fatalf("%s: unexpected event %+v", why, ev)
	case <-time.After(d):
	}
}

// TestHASuspend follows keepalived's ha_suspend: no checks while no address of the
// virtual service is on the host, the real server's state kept as it was meanwhile,
// checks again (and the state they find reported) once one appears, an address on two
// interfaces counted twice.
func TestHASuspend(t *testing.T) {
	leakCheck(t)
	srv := newListener(t)
	rs := RealServer{VS: testVS, Addr: srv.addr, Weight: 1, Timing: fastTiming(), Checkers: []Spec{{Type: "TCP_CHECK"}}}
	m := NewManager(Options{})
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	m.SetHASuspend(HASuspend{testVS: {netip.MustParseAddr("10.0.0.9"), testVIP}})
	_, stop := runManagerStarted(t, m)
	w := make(chanWatcher)
	followAddresses(t, m, w)
	w <- AddrChange{Addr: netip.MustParseAddr("192.0.2.1"), Link: 1, Added: true} // not the VIP

	// Suspended from the start: the server stays up (no alpha) and is never probed,
	// even though it fails.
	srv.stop()
	noEvent(t, m, 600*time.Millisecond, "suspended")
	if st := m.Status()[0]; !st.Suspended || !st.Up || st.Checkers[0].Checks != 0 {
		t.Fatalf("status %+v, want suspended, up, unprobed", st)
	}

	// The VIP appears: checks resume and find the server down within the bound.
	bound := rs.Timing.Resolve("TCP_CHECK").DetectionBound()
	w <- AddrChange{Addr: testVIP, Link: 2, Added: true}
	resumed := time.Now()
	if ev := waitEvent(t, m, 5*time.Second); ev.Up {
		t.Fatalf("event %+v, want down", ev)
	}
	within(t, "down after resuming", time.Since(resumed), bound)

	// On two interfaces, then gone from one: still active.
	w <- AddrChange{Addr: netip.MustParseAddr("::ffff:10.0.0.10"), Link: 3, Added: true}
	w <- AddrChange{Addr: testVIP, Link: 2, Added: false}
	w <- AddrChange{Addr: testVIP, Link: 2, Added: false} // a repeat changes nothing
	if st := waitSuspended(t, m, false); st.Up {
		t.Fatalf("status %+v", st)
	}
	// Gone from the last: suspended; the server recovers unseen, its state kept.
	w <- AddrChange{Addr: testVIP, Link: 3, Added: false}
	checks := waitSuspended(t, m, true).Checkers[0].Checks
	srv.start()
	noEvent(t, m, 600*time.Millisecond, "suspended again")
	if st := m.Status()[0]; st.Up || st.Checkers[0].Checks > checks+1 {
		t.Fatalf("status %+v, want down and at most the probe in flight since %d", st, checks)
	}

	// Reload without ha_suspend: checks resume without any address.
	m.SetHASuspend(nil)
	if ev := waitEvent(t, m, 5*time.Second); !ev.Up {
		t.Fatalf("event %+v, want up", ev)
	}
	stop()
}

// TestHASuspendNetlink: the VIP added to and removed from an interface in a
// network namespace of the test's own suspends and resumes the checkers through
// rtnetlink notifications, as a VRRP transition would.
func TestHASuspendNetlink(t *testing.T) {
	ns, handle := testNetns(t, "sus")
	// A veth pair with both ends in the namespace: kernels without the dummy module
	// have veth.
	checktest.Run(t, "ip", "-n", ns.Name, "link", "add", "vip0", "type", "veth", "peer", "name", "vip1")
	checktest.Run(t, "ip", "-n", ns.Name, "link", "set", "vip0", "up")

	srv := newListener(t)
	rs := RealServer{VS: testVS, Addr: srv.addr, Weight: 1, Timing: fastTiming(), Checkers: []Spec{{Type: "TCP_CHECK"}}}
	m := NewManager(Options{})
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	m.SetHASuspend(HASuspend{testVS: {testVIP}})
	_, stop := runManagerStarted(t, m)
	followAddresses(t, m, NetlinkAddrs{NS: handle, RcvBuf: 1111111, RcvBufForce: true})
	// lvs_netlink_monitor_rcv_bufs: the kernel reports twice what was set.
	if !testutil.Eventually(2*time.Second, func() bool {
		out, _ := exec.Command("ip", "netns", "exec", ns.Name, "ss", "-f", "netlink", "-m").CombinedOutput()
		return strings.Contains(string(out), "rb2222222,")
	}) {
		t.Error("the address watch's receive buffer is not as set")
	}

	addr := func(op string) {
		if out, err := exec.Command("ip", "-n", ns.Name, "addr", op, testVIP.String()+"/32", "dev", "vip0").CombinedOutput(); err != nil {
			t.Fatalf("ip addr %s: %v %s", op, err, out)
		}
	}
	if st := waitSuspended(t, m, true); st.Checkers[0].Checks != 0 {
		t.Fatalf("status %+v", st)
	}
	addr("add")
	start := time.Now()
	waitSuspended(t, m, false)
	t.Logf("resumed %v after the address was added", time.Since(start).Round(time.Millisecond))
	waitStatus(t, m, func(st []ServerStatus) bool { return st[0].Checkers[0].Checks > 0 })
	addr("del")
	waitSuspended(t, m, true)
	// Present before the watch starts: found by the initial dump.
	addr("add")
	m2 := NewManager(Options{})
	if err := m2.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	m2.SetHASuspend(HASuspend{testVS: {testVIP}})
	_, stop2 := runManagerStarted(t, m2)
	followAddresses(t, m2, NetlinkAddrs{NS: handle})
	waitSuspended(t, m2, false)
	stop2()
	stop()
}

// testNetns makes a network namespace for the test, with a handle to it, after the
// integration and goroutine-leak checks.
func testNetns(t *testing.T, name string) (checktest.Netns, netns.NsHandle) {
	t.Helper()
	testutil.Integration(t)
	leakCheck(t)
	ns := checktest.NewNetns(t, name)
	handle, err := netns.GetFromName(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { handle.Close() })
	return ns, handle
}

// TestNetlinkAddrsZeroValue: the zero NetlinkAddrs, what the daemon uses, watches the
// calling thread's namespace (it used to ask netlink for "namespace 0" and fail, so
// ha_suspend never left suspension under govs run). The watch starts on a thread put
// in the test's namespace, never the host's.
func TestNetlinkAddrsZeroValue(t *testing.T) {
	ns, handle := testNetns(t, "zero")
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan AddrChange, 64)
	errc := make(chan error, 1)
	go func() {
		// The thread stays locked: it ends with the goroutine, never back in the pool
		// in another namespace.
		runtime.LockOSThread()
		if err := netns.Set(handle); err != nil {
			errc <- err
			return
		}
		errc <- NetlinkAddrs{}.Watch(ctx, changes)
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	checktest.Run(t, "ip", "-n", ns.Name, "addr", "add", "10.0.0.77/32", "dev", "lo")
	deadline := time.After(3 * time.Second)
	for {
		select {
		case ch := <-changes:
			if ch.Added && ch.Addr == netip.MustParseAddr("10.0.0.77") {
				return
			}
		case err := <-errc:
			errc <- err
			t.Fatalf("the watch ended: %v", err)
		case <-deadline:
			t.Fatal("the added address was not reported")
		}
	}
}

// TestNetlinkAddrsOverflow: a burst of address changes overflows a tiny receive buffer
// (lvs_netlink_monitor_rcv_bufs), which ends the subscription; the watch subscribes
// again and reports what it missed from a fresh list, so the addresses it reports
// match the namespace's, later changes included.
func TestNetlinkAddrsOverflow(t *testing.T) {
	ns, handle := testNetns(t, "ovf")
	log := &testutil.SyncBuffer{}
	w := NetlinkAddrs{NS: handle, RcvBuf: 1, RcvBufForce: true, Logger: slog.New(slog.NewTextHandler(log, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan AddrChange, 64)
	errc := make(chan error, 1)
	go func() { errc <- w.Watch(ctx, changes) }()
	var mu sync.Mutex
	seen := map[netip.Addr]int{} // reported addresses, by how many links hold them
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for {
			select {
			case <-ctx.Done():
				return
			case ch := <-changes:
				mu.Lock()
				if ch.Added {
					seen[ch.Addr]++
				} else if seen[ch.Addr]--; seen[ch.Addr] <= 0 {
					delete(seen, ch.Addr)
				}
				mu.Unlock()
				// Slower than a burst: the watch waits on the channel while the
				// kernel queues more than its socket holds, so it overflows for sure
				// (a reader that kept up made the test fail as "nothing tested").
				time.Sleep(time.Millisecond)
			}
		}
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Watch: %v", err)
		}
		<-collected
	}()
	overflowed := func() bool { return strings.Contains(log.String(), "address notifications stopped") }
	added := 0
	testutil.Overflow(t, ns.Name, 250, func(burst, i int) string {
		added++
		return fmt.Sprintf("addr add 10.9.%d.%d/32 dev lo", burst, i+1)
	}, overflowed)
	checktest.Run(t, "ip", "-n", ns.Name, "addr", "del", "10.9.0.5/32", "dev", "lo")
	checktest.Run(t, "ip", "-n", ns.Name, "addr", "add", "10.0.0.88/32", "dev", "lo")
	inBurst := func() (n int) {
		for a := range seen {
			if a.Is4() && a.As4()[0] == 10 && a.As4()[1] == 9 {
				n++
			}
		}
		return n
	}
	if !testutil.Eventually(5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return inBurst() == added-1 && seen[netip.MustParseAddr("10.9.0.5")] == 0 && seen[netip.MustParseAddr("10.0.0.88")] == 1
	}) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("reported %d of the %d burst addresses left, 10.9.0.5 %d times, 10.0.0.88 %d times", inBurst(), added-1,
			seen[netip.MustParseAddr("10.9.0.5")], seen[netip.MustParseAddr("10.0.0.88")])
	}
}
