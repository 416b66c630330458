package check

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
	"go.uber.org/goleak"
)

var testVS = table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}

// fastTiming is small enough for tests and big enough for a loaded shared machine.
func fastTiming() Timing {
	return Timing{DelayLoop: Dur(200 * time.Millisecond), ConnectTimeout: Dur(300 * time.Millisecond),
		Retry: Int(1), DelayBeforeRetry: Dur(100 * time.Millisecond), Warmup: Dur(0)}
}

// listener is a TCP server on loopback that the test can stop and restart on the same port.
type listener struct {
	t    *testing.T
	addr netip.AddrPort
	mu   sync.Mutex
	l    net.Listener
	wg   sync.WaitGroup
}

func newListener(t *testing.T) *listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &listener{t: t, addr: netip.MustParseAddrPort(l.Addr().String())}
	s.serve(l)
	t.Cleanup(s.stop)
	return s
}

func (s *listener) serve(l net.Listener) {
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (s *listener) stop() {
	s.mu.Lock()
	if s.l != nil {
		s.l.Close()
		s.l = nil
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *listener) start() {
	l, err := net.Listen("tcp", s.addr.String())
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(l)
}

// leakCheck verifies, after every other cleanup, that the test left no goroutine behind.
func leakCheck(t testing.TB) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func runManager(t testing.TB, opts Options, rss []RealServer) (*Manager, context.CancelFunc) {
	t.Helper()
	m := NewManager(opts)
	if err := m.Update(rss); err != nil {
		t.Fatal(err)
	}
	return runManagerStarted(t, m)
}

// runManagerStarted runs an already configured manager until the test ends; the
// returned function stops it (at most 10 s).
func runManagerStarted(t testing.TB, m *Manager) (*Manager, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("manager did not stop within 10 s")
		}
	}
	t.Cleanup(stop)
	return m, stop
}

// waitEvent returns the next event, failing after d.
func waitEvent(t *testing.T, m *Manager, d time.Duration) Event {
	t.Helper()
	select {
	case ev := <-m.Events():
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v; status %+v", d, m.Status())
	}
	return Event{}
}

// waitStatus polls Status (every 10 ms, at most 5 s) until ok says so.
func waitStatus(t *testing.T, m *Manager, ok func([]ServerStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ok(m.Status()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("status never reached the expected state: %+v", m.Status())
}

func within(t *testing.T, what string, took, bound time.Duration) {
	t.Helper()
	limit := bound + bound/10
	t.Logf("%s after %v (bound %v +10%%)", what, took.Round(time.Millisecond), bound)
	if took > limit {
		t.Errorf("%s took %v, more than %v", what, took, limit)
	}
}

func TestManagerTCPDetectionAndRecovery(t *testing.T) {
	leakCheck(t)
	srv := newListener(t)
	rs := RealServer{VS: testVS, Addr: srv.addr, Weight: 3, Timing: fastTiming(), Checkers: []Spec{{Type: "TCP_CHECK"}}}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	bound := rs.Timing.Resolve("TCP_CHECK").DetectionBound()

	time.Sleep(300 * time.Millisecond) // steady state
	if st := m.Status(); len(st) != 1 || !st[0].Up || st[0].Weight != 3 || st[0].Checkers[0].Checks == 0 {
		t.Fatalf("status %+v", st)
	}
	failed := time.Now()
	srv.stop()
	ev := waitEvent(t, m, 5*time.Second)
	if ev.Up || ev.RS != srv.addr || ev.Checker != "TCP_CHECK#0" || ev.Weight != -1 || !strings.Contains(ev.Reason, "refused") {
		t.Fatalf("event %+v", ev)
	}
	within(t, "down", ev.At.Sub(failed), bound)

	recovered := time.Now()
	srv.start()
	ev = waitEvent(t, m, 5*time.Second)
	if !ev.Up {
		t.Fatalf("event %+v", ev)
	}
	within(t, "up", ev.At.Sub(recovered), bound)
	stop()
	srv.stop()
}

func TestManagerAlphaAndSeveralCheckers(t *testing.T) {
	leakCheck(t)
	a, b := newListener(t), newListener(t)
	tm := fastTiming()
	tm.Alpha = Bool(true)
	rs := RealServer{VS: testVS, Addr: a.addr, Weight: 1, Timing: tm, Checkers: []Spec{
		{Type: "TCP_CHECK"},
		{Type: "TCP_CHECK", ConnectPort: b.addr.Port()},
	}}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	if st := m.Status(); st[0].Up {
		t.Fatal("alpha: server should start down")
	}
	if ev := waitEvent(t, m, 3*time.Second); !ev.Up {
		t.Fatalf("event %+v, want up once both checkers passed", ev)
	}
	b.stop() // one of two checkers failing takes the server down
	if ev := waitEvent(t, m, 3*time.Second); ev.Up || ev.Checker != "TCP_CHECK#1" {
		t.Fatalf("event %+v", ev)
	}
	a.stop() // the second failure changes nothing for the server
	waitStatus(t, m, func(st []ServerStatus) bool { return !st[0].Checkers[0].Up })
	b.start()
	select {
	case ev := <-m.Events():
		t.Fatalf("unexpected event %+v while one checker is still down", ev)
	case <-time.After(time.Second):
	}
	a.start()
	if ev := waitEvent(t, m, 3*time.Second); !ev.Up || ev.Checker != "TCP_CHECK#0" {
		t.Fatalf("event %+v", ev)
	}
	stop()
	a.stop()
	b.stop()
}

func TestManagerDynamicWeightAndNotify(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	weightFile := filepath.Join(dir, "weight")
	log := filepath.Join(dir, "notify.log")
	notifyScript := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(notifyScript, []byte("#!/bin/sh\necho \"$1\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(weightFile, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("127.0.0.1:1"), Weight: 10, Timing: fastTiming(),
		Checkers:   []Spec{{Type: "FILE_CHECK", Options: &FileOptions{Path: weightFile, Weight: 5}}},
		NotifyUp:   []string{notifyScript, "up"},
		NotifyDown: []string{notifyScript, "down"},
		Omega:      true,
	}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	ev := waitEvent(t, m, 3*time.Second)
	if !ev.Up || ev.Weight != 20 {
		t.Fatalf("event %+v, want weight 10 + 2×5", ev)
	}
	if err := os.WriteFile(weightFile, []byte("-4"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ev = waitEvent(t, m, 3*time.Second); ev.Weight != 0 || !ev.Up {
		t.Fatalf("event %+v, want weight clamped to 0", ev)
	}
	// weight 0 in FILE_CHECK: a non-zero value is a failure.
	rs.Checkers[0].Options = &FileOptions{Path: weightFile}
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	for ev = waitEvent(t, m, 3*time.Second); ev.Up; ev = waitEvent(t, m, 3*time.Second) {
	}
	if !strings.Contains(ev.Reason, "holds -4") {
		t.Fatalf("event %+v", ev)
	}
	if err := os.WriteFile(weightFile, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ev = waitEvent(t, m, 3*time.Second); !ev.Up || ev.Weight != -1 || m.Status()[0].Weight != 10 {
		t.Fatalf("event %+v, want up with the configured weight (the offset went with the failure)", ev)
	}
	stop() // omega: notify_down on shutdown
	got, _ := os.ReadFile(log)
	if string(got) != "down\nup\ndown\n" {
		t.Errorf("notify log %q, want down, up, and omega's down", got)
	}
}

func TestManagerUpdateKeepsState(t *testing.T) {
	leakCheck(t)
	srv := newListener(t)
	rs := RealServer{VS: testVS, Addr: srv.addr, Weight: 1, Timing: fastTiming(), Checkers: []Spec{{Type: "TCP_CHECK"}}}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	srv.stop()
	if ev := waitEvent(t, m, 3*time.Second); ev.Up {
		t.Fatalf("event %+v", ev)
	}
	// Same checker, new delay_loop: state kept (still down), no event.
	rs.Timing.DelayLoop = Dur(150 * time.Millisecond)
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); st[0].Up || st[0].Checkers[0].Checks == 0 {
		t.Fatalf("status after reload %+v", st)
	}
	select {
	case ev := <-m.Events():
		t.Fatalf("reload caused event %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}
	// Errors leave everything as it was and name what is wrong.
	bad := rs
	bad.Checkers = []Spec{{Type: "HTTP_GET", Source: "keepalived.conf:12"}, {Type: "NOPE_CHECK"}, {Type: "BFD_CHECK"}}
	err := m.Update([]RealServer{bad})
	for _, want := range []string{"HTTP_GET#0 (keepalived.conf:12): HTTP_GET: no url block", "unknown checker type", "BFD_CHECK: no name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Update error %v, want %q", err, want)
		}
	}
	if len(m.Status()) != 1 {
		t.Fatal("failed update changed the state")
	}
	if err := m.Update(nil); err != nil || len(m.Status()) != 0 {
		t.Fatalf("removing all: %v, %+v", err, m.Status())
	}
	stop()
}

func TestTimingInheritance(t *testing.T) {
	vs := Timing{DelayLoop: Dur(10 * time.Second), Retry: Int(5)}
	rs := Timing{Retry: Int(2)}.Over(vs)
	checker := Timing{ConnectTimeout: Dur(time.Second)}.Over(rs)
	tests := []struct {
		typ  string
		want Timers
	}{
		{"TCP_CHECK", Timers{DelayLoop: 10 * time.Second, ConnectTimeout: time.Second, Retry: 2, DelayBeforeRetry: time.Second, Warmup: 10 * time.Second}},
		{"HTTP_GET", Timers{DelayLoop: 10 * time.Second, ConnectTimeout: time.Second, Retry: 2, DelayBeforeRetry: 3 * time.Second, Warmup: 10 * time.Second}},
		{"DNS_CHECK", Timers{DelayLoop: 10 * time.Second, ConnectTimeout: time.Second, Retry: 2, DelayBeforeRetry: 10 * time.Second, Warmup: 10 * time.Second}},
		{"FILE_CHECK", Timers{DelayLoop: FilePoll, ConnectTimeout: time.Second}},
	}
	for _, tt := range tests {
		if got := checker.Resolve(tt.typ); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.typ, got, tt.want)
		}
	}
	if got := (Timing{}).Resolve("MISC_CHECK"); got.Retry != 0 || got.DelayLoop != time.Minute || got.ConnectTimeout != 5*time.Second {
		t.Errorf("MISC defaults %+v", got)
	}
	if got := (Timing{}).Resolve("DNS_CHECK"); got.Retry != 3 {
		t.Errorf("DNS defaults %+v", got)
	}
	if err := (Timers{DelayLoop: time.Second, ConnectTimeout: time.Second, Retry: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "retry") {
		t.Errorf("Validate: %v", err)
	}
}
