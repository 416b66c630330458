package check

import (
	"testing"

	"pgregory.net/rapid"
)

// keepalived's sample "quorum": 10 servers of weight 1, quorum 7, hysteresis 2: up at
// 9, down below 5.
func TestQuorumSample(t *testing.T) {
	q := Quorum{Quorum: 7, Hysteresis: 2}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		up      bool
		live    int
		want    bool
		changed bool
	}{
		{true, 10, true, false},
		{true, 5, true, false},
		{true, 4, false, true},
		{false, 5, false, false},
		{false, 8, false, false},
		{false, 9, true, true},
		{true, 0, false, true},
	}
	for _, tt := range tests {
		got, changed := q.Next(tt.up, tt.live)
		if got != tt.want || changed != tt.changed {
			t.Errorf("Next(%v, %d) = %v, %v; want %v, %v", tt.up, tt.live, got, changed, tt.want, tt.changed)
		}
	}
	if q.Initial(8) || !q.Initial(9) {
		t.Error("Initial: want up only from quorum+hysteresis = 9")
	}
	if !SorryActive(false, true) || SorryActive(true, true) || SorryActive(false, false) {
		t.Error("SorryActive")
	}
	if LiveWeight(1, 2, 3) != 6 {
		t.Error("LiveWeight")
	}
}

func TestQuorumValidate(t *testing.T) {
	for _, q := range []Quorum{{0, 0}, {3, 3}, {3, -1}} {
		if q.Validate() == nil {
			t.Errorf("%+v accepted", q)
		}
	}
}

// Property: the state never changes while live stays strictly inside the hysteresis
// band, and it always matches the band's edges outside it.
func TestQuorumHysteresis(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := Quorum{Quorum: rapid.IntRange(1, 50).Draw(t, "quorum")}
		q.Hysteresis = rapid.IntRange(0, q.Quorum-1).Draw(t, "hysteresis")
		up := q.Initial(rapid.IntRange(0, 100).Draw(t, "start"))
		for _, live := range rapid.SliceOfN(rapid.IntRange(0, 100), 1, 30).Draw(t, "live") {
			before := up
			up, _ = q.Next(up, live)
			switch {
			case live >= q.Quorum+q.Hysteresis && live > 0:
				if !up {
					t.Fatalf("live %d ≥ %d but down", live, q.Quorum+q.Hysteresis)
				}
			case live < q.Quorum-q.Hysteresis || live == 0:
				if up {
					t.Fatalf("live %d < %d but up", live, q.Quorum-q.Hysteresis)
				}
			default:
				if up != before {
					t.Fatalf("flapped inside the band at live %d", live)
				}
			}
		}
	})
}
