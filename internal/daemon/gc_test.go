package daemon

import (
	"runtime/debug"
	"testing"
)

func TestRelaxGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	releases := 0
	defer func(f func()) { releaseMemory = f }(releaseMemory)
	releaseMemory = func() { releases++ }
	current := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	tests := []struct {
		name     string
		operator int // GOGC before the loads
		during   int
		collects bool // the last restore hands freed memory back to the OS
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
			releases = 0
			first()
			first() // calling it again changes nothing
			if got := current(); got != tt.during {
				t.Fatalf("while the second load runs: GOGC %d, want %d", got, tt.during)
			}
			if releases != 0 {
				t.Fatalf("while the second load runs: memory released %d times, want 0", releases)
			}
			second()
			if got := current(); got != tt.operator {
				t.Fatalf("after both: GOGC %d, want %d", got, tt.operator)
			}
			if want := map[bool]int{true: 1}[tt.collects]; releases != want {
				t.Fatalf("after both: memory released %d times, want %d", releases, want)
			}
		})
	}
}
