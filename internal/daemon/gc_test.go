package daemon

import (
	"runtime/debug"
	"testing"
)

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
	}{
		{"default", 100, loadGCPercent},
		{"lower", 50, loadGCPercent},
		{"higher kept", 800, 800},
		{"off kept", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.operator)
			first := relaxGC()
			second := relaxGC() // a load beside the first one
			if got := current(); got != tt.during {
				t.Fatalf("during two loads: GOGC %d, want %d", got, tt.during)
			}
			first()
			first() // calling it again changes nothing
			if got := current(); got != tt.during {
				t.Fatalf("while the second load runs: GOGC %d, want %d", got, tt.during)
			}
			second()
			if got := current(); got != tt.operator {
				t.Fatalf("after both: GOGC %d, want %d", got, tt.operator)
			}
		})
	}
}
