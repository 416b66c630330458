package daemon

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// forcedGCs counts the collections the program forced (runtime.GC, debug.FreeOSMemory).
func forcedGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestRelaxGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	current := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	tests := []struct {
		name     string
		operator int // GOGC before the loads
		during   int
		collects bool // the last restore collects and returns memory to the OS
	}{
		{"default", 100, loadGCPercent, true},
		{"lower", 50, loadGCPercent, true},
		{"higher kept", 800, 800, false},
		{"off kept", -1, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.operator)
			first := relaxGC()
			second := relaxGC() // a load beside the first one
			if got := current(); got != tt.during {
				t.Fatalf("during two loads: GOGC %d, want %d", got, tt.during)
			}
			forced := forcedGCs()
			first()
			first() // calling it again changes nothing
			if got := current(); got != tt.during {
				t.Fatalf("while the second load runs: GOGC %d, want %d", got, tt.during)
			}
			if n := forcedGCs() - forced; n != 0 {
				t.Fatalf("while the second load runs: %d forced collections, want 0", n)
			}
			second()
			if got := current(); got != tt.operator {
				t.Fatalf("after both: GOGC %d, want %d", got, tt.operator)
			}
			if n := forcedGCs() - forced; (n > 0) != tt.collects {
				t.Fatalf("after both: %d forced collections, want some: %v", n, tt.collects)
			}
		})
	}
}
