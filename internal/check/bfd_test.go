package check

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
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
