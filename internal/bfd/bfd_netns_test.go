package bfd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/threadprio"
)

// recorder collects a runner's events.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) add(e Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

func (r *recorder) last(name string) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := len(r.evs) - 1; k >= 0; k-- {
		if r.evs[k].Name == name {
			return r.evs[k], true
		}
	}
	return Event{}, false
}

func (r *recorder) waitState(t *testing.T, name string, want State, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if !testutil.Eventually(timeout, func() bool { e, ok := r.last(name); return ok && e.State == want }) {
		e, _ := r.last(name)
		t.Fatalf("session %s is %v after %v, want %v", name, e.State, timeout, want)
	}
	return time.Since(start)
}

func startRunner(t *testing.T, h *testutil.Host, cfgs ...Config) (*recorder, context.CancelFunc, *Runner) {
	t.Helper()
	return startRunnerThreads(t, h, nil, cfgs...)
}

func startRunnerThreads(t *testing.T, h *testutil.Host, threads *threadprio.Group, cfgs ...Config) (*recorder, context.CancelFunc, *Runner) {
	t.Helper()
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, cfgs, h.NS, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})), rec.add, threads)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-r.Done() })
	return rec, cancel, r
}

func sessionCfg(name, nb string) Config {
	return Config{Name: name, Neighbor: netip.MustParseAddr(nb), MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
		IdleTx: time.Second, Multiplier: 5, TTL: 255}
}

// TestTwoRunners: two govs runners come Up with each other, one stopping takes the
// other Down at once (AdminDown), a silent one only after the detection time.
func TestTwoRunners(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	a, b := lan.AddHost("a", "10.81.0.1/24"), lan.AddHost("b", "10.81.0.2/24")
	ra, _, _ := startRunner(t, a, sessionCfg("to-b", "10.81.0.2"))
	rb, stopB, runB := startRunner(t, b, sessionCfg("to-a", "10.81.0.1"))
	took := ra.waitState(t, "to-b", Up, 5*time.Second)
	rb.waitState(t, "to-a", Up, time.Second)
	t.Logf("Up after %v", took.Round(time.Millisecond))

	stopB()
	<-runB.Done()
	took = ra.waitState(t, "to-b", Down, time.Second)
	if e, _ := ra.last("to-b"); e.Diag != diagNeighbourDown {
		t.Errorf("diag %d after the neighbour stopped, want %d (neighbour signalled down)", e.Diag, diagNeighbourDown)
	}
	t.Logf("Down %v after the neighbour stopped", took.Round(time.Millisecond))
}

// TestKeepalivedPeer: a govs session and keepalived 2.2.7's bfd_instance come Up with
// each other; when keepalived is killed (no goodbye), the session goes Down after
// the detection time (5 × 10 ms, keepalived's defaults).
func TestKeepalivedPeer(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedCommand(t, "keepalived")
	lan := testutil.NewLAN(t)
	a, b := lan.AddHost("a", "10.81.0.1/24"), lan.AddHost("b", "10.81.0.2/24")
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte("bfd_instance to-govs {\n neighbor_ip 10.81.0.1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, logs := b.Start("keepalived", "-n", "-l", "-D", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived:\n%s", logs.String())
		}
	})
	ra, _, _ := startRunner(t, a, sessionCfg("to-keepalived", "10.81.0.2"))
	ra.waitState(t, "to-keepalived", Up, 10*time.Second)
	if !testutil.Eventually(3*time.Second, func() bool {
		return strings.Contains(logs.String(), "to-govs) Entering Up state") || strings.Contains(logs.String(), "to-govs) Entering UP state")
	}) {
		t.Errorf("keepalived's session did not come Up")
	}
	// SIGKILL the whole tree: keepalived's BFD child must not say goodbye.
	pids := []int{cmd.Process.Pid}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid)); err == nil {
		for _, f := range strings.Fields(string(b)) {
			var p int
			fmt.Sscan(f, &p)
			pids = append(pids, p)
		}
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	start := time.Now()
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	ra.waitState(t, "to-keepalived", Down, 2*time.Second)
	if e, _ := ra.last("to-keepalived"); e.Diag != diagTimeExpired {
		t.Errorf("diag %d, want %d (detection time expired)", e.Diag, diagTimeExpired)
	}
	t.Logf("Down %v after keepalived was killed", time.Since(start).Round(time.Millisecond))
}

// TestUpdate: a reload's new session set leaves an unchanged session alone, lets one
// with new intervals go on (a Poll Sequence, no state change on either side), restarts
// one with another TTL (reported Down, then Up again), and says goodbye for a removed
// one so the neighbour goes Down at once.
func TestUpdate(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	a, b := lan.AddHost("a", "10.81.0.1/24", "10.81.0.11/24", "10.81.0.21/24"), lan.AddHost("b", "10.81.0.2/24", "10.81.0.12/24", "10.81.0.22/24")
	pair := func(name, from, to string) (Config, Config) {
		ca, cb := sessionCfg(name, to), sessionCfg(name, from)
		ca.Source, cb.Source = netip.MustParseAddr(from), netip.MustParseAddr(to)
		return ca, cb
	}
	keepA, keepB := pair("keep", "10.81.0.1", "10.81.0.2")
	retimeA, retimeB := pair("retime", "10.81.0.11", "10.81.0.12")
	restartA, restartB := pair("restart", "10.81.0.21", "10.81.0.22")
	restartB.MaxHops = -1 // takes a's new TTL
	dropA := sessionCfg("drop", "10.81.0.12")
	dropA.Source = netip.MustParseAddr("10.81.0.1")
	dropB := sessionCfg("drop", "10.81.0.1")
	dropB.Source = netip.MustParseAddr("10.81.0.12")
	ra, _, runA := startRunner(t, a, keepA, retimeA, restartA, dropA)
	rb, _, _ := startRunner(t, b, keepB, retimeB, restartB, dropB)
	names := []string{"keep", "retime", "restart", "drop"}
	for _, n := range names {
		ra.waitState(t, n, Up, 5*time.Second)
		rb.waitState(t, n, Up, time.Second)
	}
	events := func(r *recorder, name string) int {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, e := range r.evs {
			if e.Name == name {
				n++
			}
		}
		return n
	}
	before := map[string][2]int{}
	for _, n := range names {
		before[n] = [2]int{events(ra, n), events(rb, n)}
	}
	retimed := retimeA
	retimed.Multiplier, retimed.MinTx = 3, 20*time.Millisecond
	moved := restartA
	moved.TTL = 64
	if err := runA.Update([]Config{keepA, retimed, moved}); err != nil {
		t.Fatal(err)
	}
	rb.waitState(t, "drop", Down, time.Second) // the goodbye, not the detection time
	if e, _ := rb.last("drop"); e.Diag != diagNeighbourDown {
		t.Errorf("b's dropped session: diag %d, want %d", e.Diag, diagNeighbourDown)
	}
	ra.waitState(t, "restart", Up, 5*time.Second)
	if events(ra, "restart") < before["restart"][0]+2 {
		t.Error("the restarted session was not reported Down while it restarted")
	}
	time.Sleep(300 * time.Millisecond)
	for _, n := range []string{"keep", "retime"} {
		if got := [2]int{events(ra, n), events(rb, n)}; got != before[n] {
			t.Errorf("session %s changed state during the update: events %v, were %v", n, got, before[n])
		}
	}
}

// As in govs's main: the main goroutine keeps the main thread, which no locked
// goroutine then ends on (the runtime would park it for good, settings and all).
func init() { runtime.LockOSThread() }

// TestRunnerThreads: with a thread group, the runner's loop and its receiver run on
// threads of their own with the group's settings (bfd_rt_priority), which a reload's
// Set changes, and which end with the runner.
func TestRunnerThreads(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	a, b := lan.AddHost("a", "10.82.0.1/24"), lan.AddHost("b", "10.82.0.2/24")
	g := threadprio.NewGroup("bfd", threadprio.Settings{RealTime: 13}, slog.New(slog.DiscardHandler))
	ra, stopA, runA := startRunnerThreads(t, a, g, sessionCfg("to-b", "10.82.0.2"))
	startRunner(t, b, sessionCfg("to-a", "10.82.0.1"))
	ra.waitState(t, "to-b", Up, 5*time.Second)
	if n := testutil.RTThreads(t, 13); n != 2 {
		t.Fatalf("%d threads at SCHED_RR 13, want 2 (the loop and the IPv4 receiver)", n)
	}
	g.Set(threadprio.Settings{RealTime: 14})
	if n, old := testutil.RTThreads(t, 14), testutil.RTThreads(t, 13); n != 2 || old != 0 {
		t.Fatalf("after Set: %d threads at 14, %d at 13", n, old)
	}
	stopA()
	<-runA.Done()
	if !testutil.Eventually(2*time.Second, func() bool { return testutil.RTThreads(t, 14) == 0 }) {
		t.Fatalf("%d real-time threads after the runner stopped", testutil.RTThreads(t, 14))
	}
}
