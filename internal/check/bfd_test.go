package check

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// sessions stands for the daemon's view of the BFD sessions: whether each is Up, and a
// channel closed at the next change.
type sessions struct {
	mu   sync.Mutex
	up   map[string]bool
	next chan struct{}
}

func newSessions(up bool, names ...string) *sessions {
	s := &sessions{up: map[string]bool{}, next: make(chan struct{})}
	for _, n := range names {
		s.up[n] = up
	}
	return s
}

func (s *sessions) set(name string, up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up[name] = up
	close(s.next)
	s.next = make(chan struct{})
}

func (s *sessions) options(o Options) Options {
	o.BFDUp = func(name string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.up[name] }
	o.BFDChanged = func(string) <-chan struct{} { s.mu.Lock(); defer s.mu.Unlock(); return s.next }
	return o
}

// TestBFDCheck: BFD_CHECK follows its session's changes as they come, whatever
// delay_loop and retry say; without sessions it cannot be built.
func TestBFDCheck(t *testing.T) {
	sess := newSessions(true, "to-rs")
	timing := fastTiming()
	timing.DelayLoop, timing.Retry = Dur(time.Hour), Int(5) // ignored: it follows the session
	rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("192.0.2.7:80"), Weight: 1, Timing: timing,
		Checkers: []Spec{{Type: "BFD_CHECK", Options: &BFDOptions{Name: "to-rs"}}}}
	m, stop := runManager(t, sess.options(Options{}), []RealServer{rs})
	defer stop()
	time.Sleep(100 * time.Millisecond) // starts up (no alpha) and stays so
	start := time.Now()
	sess.set("to-rs", false)
	if ev := waitEvent(t, m, 2*time.Second); ev.Up {
		t.Fatalf("event %+v, want down", ev)
	}
	// Long before the next poll: the change itself woke the checker.
	if took := time.Since(start); took > BFDPoll/2 {
		t.Errorf("down %v after the session, want at once", took)
	}
	sess.set("to-rs", true)
	if ev := waitEvent(t, m, 2*time.Second); !ev.Up {
		t.Fatalf("event %+v, want up", ev)
	}
	if _, err := New(Spec{Type: "BFD_CHECK", Options: &BFDOptions{Name: "x"}}, Env{}); err == nil {
		t.Error("BFD_CHECK built without BFD sessions")
	}
	// Nor does it connect anywhere: a real server without a port (a fwmark service's)
	// can have one, as in keepalived; a TCP_CHECK there needs connect_port.
	portless := rs
	portless.Addr = netip.MustParseAddrPort("192.0.2.8:0")
	if err := NewManager(sess.options(Options{})).Update([]RealServer{portless}); err != nil {
		t.Errorf("BFD_CHECK on a real server without a port: %v", err)
	}
	portless.Checkers = []Spec{{Type: "TCP_CHECK"}}
	if err := NewManager(sess.options(Options{})).Update([]RealServer{portless}); err == nil || !strings.Contains(err.Error(), "no port to connect to") {
		t.Errorf("TCP_CHECK on a real server without a port: %v, want no port to connect to", err)
	}
}

// TestRealServerFIFOLines: each real server transition writes keepalived's line to the
// notify FIFOs: "RS [ip]:tcp:port [vip]:tcp:port UP|DOWN".
func TestRealServerFIFOLines(t *testing.T) {
	sess := newSessions(true, "s")
	fifo := filepath.Join(t.TempDir(), "notify.fifo") // a regular file: appended to
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("192.0.2.7:80"), Weight: 1, Timing: fastTiming(),
		Checkers: []Spec{{Type: "BFD_CHECK", Options: &BFDOptions{Name: "s"}}}}
	m := NewManager(sess.options(Options{}))
	m.SetFIFOs([]string{fifo})
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	m, stop := runManagerStarted(t, m)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	sess.set("s", false)
	waitEvent(t, m, 2*time.Second)
	sess.set("s", true)
	waitEvent(t, m, 2*time.Second)
	want := "RS [192.0.2.7]:tcp:80 [127.0.0.1]:tcp:80 DOWN\nRS [192.0.2.7]:tcp:80 [127.0.0.1]:tcp:80 UP\n"
	if b, _ := os.ReadFile(fifo); string(b) != want {
		t.Errorf("FIFO got %q, want %q", b, want)
	}
}

// TestLogAllFailures: with log_all_failures every failed probe of a server already
// down is logged; without it, only the transition is.
func TestLogAllFailures(t *testing.T) {
	for _, all := range []bool{false, true} {
		var buf testutil.SyncBuffer
		closed := newListener(t)
		closed.stop() // every probe fails
		rs := RealServer{VS: testVS, Addr: closed.addr, Weight: 1, Timing: fastTiming(),
			Checkers: []Spec{{Type: "TCP_CHECK", LogAllFailures: all}}}
		m := NewManager(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err := m.Update([]RealServer{rs}); err != nil {
			t.Fatal(err)
		}
		_, stop := runManagerStarted(t, m)
		time.Sleep(2 * time.Second) // delay_loop 0.2 s: several probes after the server is down
		stop()
		n := strings.Count(buf.String(), `msg="check failed"`)
		if all && n < 3 || !all && n != 0 {
			t.Errorf("log_all_failures %v: %d failures logged", all, n)
		}
	}
}
