package check

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestBFDCheck: BFD_CHECK follows its session, whatever delay_loop and retry say,
// within BFDPoll; without sessions it cannot be built.
func TestBFDCheck(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	timing := fastTiming()
	timing.DelayLoop, timing.Retry = Dur(time.Hour), Int(5) // ignored: it follows the session
	rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("192.0.2.7:80"), Weight: 1, Timing: timing,
		Checkers: []Spec{{Type: "BFD_CHECK", Options: &BFDOptions{Name: "to-rs"}}}}
	m, stop := runManager(t, Options{BFDUp: func(name string) bool { return name == "to-rs" && up.Load() }}, []RealServer{rs})
	defer stop()
	time.Sleep(3 * BFDPoll) // starts up (no alpha) and stays so
	up.Store(false)
	start := time.Now()
	if ev := waitEvent(t, m, 2*time.Second); ev.Up {
		t.Fatalf("event %+v, want down", ev)
	}
	if took := time.Since(start); took > 3*BFDPoll {
		t.Errorf("down %v after the session, want within about %v", took, BFDPoll)
	}
	up.Store(true)
	if ev := waitEvent(t, m, 2*time.Second); !ev.Up {
		t.Fatalf("event %+v, want up", ev)
	}
	if _, err := New(Spec{Type: "BFD_CHECK", Options: &BFDOptions{Name: "x"}}, Env{}); err == nil {
		t.Error("BFD_CHECK built without BFD sessions")
	}
}

// TestRealServerFIFOLines: each real server transition writes keepalived's line to the
// notify FIFOs: "RS [ip]:tcp:port [vip]:tcp:port UP|DOWN".
func TestRealServerFIFOLines(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	fifo := filepath.Join(t.TempDir(), "notify.fifo") // a regular file: appended to
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("192.0.2.7:80"), Weight: 1, Timing: fastTiming(),
		Checkers: []Spec{{Type: "BFD_CHECK", Options: &BFDOptions{Name: "s"}}}}
	m := NewManager(Options{BFDUp: func(string) bool { return up.Load() }})
	m.SetFIFOs([]string{fifo})
	if err := m.Update([]RealServer{rs}); err != nil {
		t.Fatal(err)
	}
	m, stop := runManagerStarted(t, m)
	defer stop()
	time.Sleep(3 * BFDPoll)
	up.Store(false)
	waitEvent(t, m, 2*time.Second)
	up.Store(true)
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
		rs := RealServer{VS: testVS, Addr: netip.MustParseAddrPort("192.0.2.7:80"), Weight: 1, Timing: fastTiming(),
			Checkers: []Spec{{Type: "BFD_CHECK", Options: &BFDOptions{Name: "s"}, LogAllFailures: all}}}
		m := NewManager(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil)), BFDUp: func(string) bool { return false }})
		if err := m.Update([]RealServer{rs}); err != nil {
			t.Fatal(err)
		}
		_, stop := runManagerStarted(t, m)
		time.Sleep(6 * BFDPoll)
		stop()
		n := strings.Count(buf.String(), `msg="check failed"`)
		if all && n < 3 || !all && n != 0 {
			t.Errorf("log_all_failures %v: %d failures logged", all, n)
		}
	}
}
