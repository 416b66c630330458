package estimator

import (
	"testing"

	"pgregory.net/rapid"
)

// TestSampleVectors checks hand-computed kernel arithmetic: 200 connections per 2-second
// tick is 100/s; the fixed-point average after each tick is shown in the comments.
func TestSampleVectors(t *testing.T) {
	tests := []struct {
		name  string
		ticks []Counters // cumulative counters at each tick
		want  Rates
	}{
		{
			name:  "one tick",
			ticks: []Counters{{Conns: 200, InPkts: 2000, OutPkts: 1000, InBytes: 200000, OutBytes: 2000000}},
			// cps = (200<<9)>>2 = 25600 → (25600+511)>>10 = 25; bytes: (200000<<4)>>2 = 800000 → (800000+15)>>5 = 25000
			want: Rates{CPS: 25, InPPS: 250, OutPPS: 125, InBPS: 25000, OutBPS: 250000},
		},
		{
			name:  "two ticks",
			ticks: []Counters{{Conns: 200}, {Conns: 400}},
			// 25600 + (102400-25600)>>2 = 44800 → 44
			want: Rates{CPS: 44},
		},
		{
			name:  "rounding up at half",
			ticks: []Counters{{Conns: 2}},
			// (2<<9)>>2 = 256 → (256+511)>>10 = 0
			want: Rates{},
		},
		{
			name:  "rounding of a small rate",
			ticks: []Counters{{Conns: 4, InBytes: 1}},
			// (4<<9)>>2 = 512 → (512+511)>>10 = 0; (1<<4)>>2 = 4 → (4+15)>>5 = 0
			want: Rates{},
		},
		{
			name:  "rate at 0.5/s rounds up",
			ticks: []Counters{{Conns: 8, InBytes: 4}},
			// (8<<9)>>2 = 1024 → (1024+511)>>10 = 1; (4<<4)>>2 = 16 → (16+15)>>5 = 0
			want: Rates{CPS: 1},
		},
		{
			name:  "decay after traffic stops",
			ticks: []Counters{{Conns: 200}, {Conns: 200}},
			// 25600 + (0-25600)>>2 = 19200 → (19200+511)>>10 = 19
			want: Rates{CPS: 19},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(Counters{})
			for _, c := range tt.ticks {
				e.Sample(c)
			}
			if got := e.Rates(); got != tt.want {
				t.Errorf("Rates() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewStartsFromCurrentCounters(t *testing.T) {
	e := New(Counters{Conns: 1_000_000})
	e.Sample(Counters{Conns: 1_000_000})
	if got := e.Rates(); got != (Rates{}) {
		t.Errorf("Rates() = %+v, want zero: no new connections since New", got)
	}
}

func TestZero(t *testing.T) {
	e := New(Counters{})
	e.Sample(Counters{Conns: 1000})
	e.Zero(Counters{Conns: 1000})
	if got := e.Rates(); got != (Rates{}) {
		t.Errorf("after Zero, Rates() = %+v, want zero", got)
	}
	e.Sample(Counters{Conns: 1200})
	if got := e.Rates().CPS; got != 25 {
		t.Errorf("after Zero and one tick of 100/s, CPS = %d, want 25", got)
	}
}

// TestConvergence: a constant rate is approached from below and reached (to the
// kernel's rounding) within 40 ticks; once traffic stops every rate decays to zero.
func TestConvergence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		perSec := rapid.Uint64Range(0, 1<<30).Draw(t, "perSec")
		e := New(Counters{})
		var c Counters
		for i := 0; i < 40; i++ {
			c.Conns += 2 * perSec
			c.InBytes += 2 * perSec
			e.Sample(c)
			if r := e.Rates(); r.CPS > perSec || r.InBPS > perSec {
				t.Fatalf("tick %d: rates %+v exceed the true rate %d", i, r, perSec)
			}
		}
		r := e.Rates()
		if diff(r.CPS, perSec) > 1+perSec/1000 || diff(r.InBPS, perSec) > 1+perSec/1000 {
			t.Fatalf("after 40 ticks: CPS %d InBPS %d, want about %d", r.CPS, r.InBPS, perSec)
		}
		for i := 0; i < 200; i++ {
			e.Sample(c)
		}
		if r := e.Rates(); r != (Rates{}) {
			t.Fatalf("after idle ticks: %+v, want zero", r)
		}
	})
}

func diff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

func BenchmarkSample(b *testing.B) {
	e := New(Counters{})
	var c Counters
	for i := 0; i < b.N; i++ {
		c.Conns += 3
		c.InBytes += 1500
		e.Sample(c)
	}
}
