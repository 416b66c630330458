package check

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestProbeSequences(t *testing.T) {
	base := Timers{DelayLoop: 10 * time.Second, ConnectTimeout: time.Second, Retry: 2, DelayBeforeRetry: 3 * time.Second}
	alpha := base
	alpha.Alpha = true
	type step struct {
		ok      bool
		next    time.Duration
		changed bool
		up      bool
	}
	tests := []struct {
		name  string
		t     Timers
		steps int
		fast  bool
		seq   []step
	}{
		{"first failure is final without alpha", base, 1, false, []step{
			{false, 10 * time.Second, true, false},
			{true, 10 * time.Second, true, true},
		}},
		{"retries after the first success", base, 1, false, []step{
			{true, 10 * time.Second, false, true},
			{false, 3 * time.Second, false, true},
			{false, 3 * time.Second, false, true},
			{false, 10 * time.Second, true, false},
			{false, 10 * time.Second, false, false},
			{true, 10 * time.Second, true, true},
		}},
		{"a success resets the counter", base, 1, false, []step{
			{true, 10 * time.Second, false, true},
			{false, 3 * time.Second, false, true},
			{true, 10 * time.Second, false, true},
			{false, 3 * time.Second, false, true},
			{false, 3 * time.Second, false, true},
			{false, 10 * time.Second, true, false},
		}},
		{"alpha starts down", alpha, 1, false, []step{
			{false, 10 * time.Second, false, false},
			{true, 10 * time.Second, true, true},
		}},
		{"HTTP: every URL must pass to recover", alpha, 3, false, []step{
			{true, 10 * time.Second, false, false},
			{true, 10 * time.Second, false, false},
			{false, 10 * time.Second, false, false},
			{true, 10 * time.Second, false, false},
			{true, 10 * time.Second, false, false},
			{true, 10 * time.Second, true, true},
		}},
		{"HTTP fast_recovery checks URLs back to back", alpha, 2, true, []step{
			{true, 0, false, false},
			{true, 10 * time.Second, true, true},
		}},
		{"HTTP down interval is max(delay_before_retry, delay_loop)",
			Timers{DelayLoop: time.Second, ConnectTimeout: time.Second, Retry: 0, DelayBeforeRetry: 5 * time.Second}, 2, false, []step{
				{true, time.Second, false, true},
				{false, 5 * time.Second, true, false},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProbe(tt.t, tt.steps, tt.fast)
			for i, s := range tt.seq {
				next, changed := p.observe(s.ok)
				if next != s.next || changed != s.changed || p.up != s.up {
					t.Fatalf("step %d (ok=%v): next %v changed %v up %v; want %v %v %v", i, s.ok, next, changed, p.up, s.next, s.changed, s.up)
				}
			}
		})
	}
}

// Property: from any reachable state, a server that keeps failing is declared down
// within DetectionBound of its first failure (counting each probe as taking the full
// connect_timeout), and one that keeps passing is declared up within the same bound
// (single-step checkers).
func TestProbeDetectionBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tm := Timers{
			DelayLoop:        time.Duration(rapid.IntRange(1, 100).Draw(t, "delay_loop")) * time.Second,
			ConnectTimeout:   time.Duration(rapid.IntRange(1, 10).Draw(t, "connect_timeout")) * time.Second,
			Retry:            rapid.IntRange(0, 5).Draw(t, "retry"),
			DelayBeforeRetry: time.Duration(rapid.IntRange(0, 10).Draw(t, "delay_before_retry")) * time.Second,
			Alpha:            rapid.Bool().Draw(t, "alpha"),
		}
		p := newProbe(tm, 1, false)
		history := rapid.SliceOfN(rapid.Bool(), 0, 20).Draw(t, "history")
		var wait time.Duration
		for _, ok := range history {
			wait, _ = p.observe(ok)
		}
		target := rapid.Bool().Draw(t, "fails")
		target = !target // the server now stays in this state: true = passing
		if p.up == target {
			return
		}
		// The server changes just after the last probe: the next one is `wait` away.
		elapsed := wait
		for i := 0; i < 100; i++ {
			elapsed += tm.ConnectTimeout
			next, changed := p.observe(target)
			if changed {
				if elapsed > tm.DetectionBound() {
					t.Fatalf("detected after %v, bound %v", elapsed, tm.DetectionBound())
				}
				return
			}
			elapsed += next
		}
		t.Fatalf("never detected")
	})
}

// onGrain puts every probe on the 10 ms grid, within half a grain of when it is due
// (never at or before now), and leaves a wait of 0 alone.
func TestOnGrain(t *testing.T) {
	if got := onGrain(time.Now(), 0); got != 0 {
		t.Errorf("onGrain(0) = %v, want 0", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		now := time.Unix(0, rapid.Int64Range(0, 1<<62).Draw(t, "now"))
		d := time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(t, "d"))
		got := onGrain(now, d)
		at := now.Add(got)
		switch {
		case got <= 0:
			t.Fatalf("onGrain(%v) = %v, not after now", d, got)
		case at.UnixNano()%int64(wakeGrain) != 0:
			t.Fatalf("onGrain(%v) = %v: %v is off the grid", d, got, at)
		case d >= wakeGrain/2 && (got < d-wakeGrain/2 || got > d+wakeGrain/2):
			t.Fatalf("onGrain(%v) = %v, more than half a grain away", d, got)
		case d < wakeGrain/2 && got > d+wakeGrain:
			t.Fatalf("onGrain(%v) = %v, more than a grain late", d, got)
		}
	})
}
