package vrrp

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeGARP records which target went out when; na[k] says target k is IPv6.
type fakeGARP struct {
	na   []bool
	now  *time.Time
	t0   time.Time
	sent []string
}

func (f *fakeGARP) targetCount() int { return len(f.na) }
func (f *fakeGARP) close()           {}
func (f *fakeGARP) announceTarget(k int) (bool, error) {
	f.sent = append(f.sent, fmt.Sprintf("%d@%v", k, f.now.Sub(f.t0)))
	return f.na[k], nil
}

// TestGARPPacing: without vrrp_garp_interval / vrrp_gna_interval a burst goes out at
// once; with them, one packet at a time, round robin over the instance's addresses,
// each followed by its own family's pause; a burst started during another adds rounds.
func TestGARPPacing(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		na       []bool
		arp, gna time.Duration
		rounds   int
		extraAt  time.Duration // a second burst of 1 round starts then (0: none)
		want     string
	}{
		{"no pause", []bool{false, false}, 0, 0, 3, 0, "0@0s 1@0s 0@0s 1@0s 0@0s 1@0s"},
		{"garp interval", []bool{false, false}, 100 * ms, 0, 2, 0, "0@0s 1@100ms 0@200ms 1@300ms"},
		{"gna interval only paces NAs", []bool{false, true}, 0, 50 * ms, 2, 0, "0@0s 1@0s 0@50ms 1@50ms"},
		{"each family its pause", []bool{false, true}, 100 * ms, 10 * ms, 2, 0, "0@0s 1@100ms 0@110ms 1@210ms"},
		{"burst during burst", []bool{false}, 100 * ms, 0, 2, 50 * ms, "0@0s 0@100ms 0@200ms"},
		{"burst after burst keeps the pause", []bool{false}, 100 * ms, 0, 2, 150 * ms, "0@0s 0@100ms 0@200ms"},
		{"no targets", nil, 100 * ms, 0, 2, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1_000_000, 0)
			now := t0
			f := &fakeGARP{na: tc.na, now: &now, t0: t0}
			i := &instance{logger: slog.New(slog.DiscardHandler), announce: f}
			i.cfg.GARP.ARPInterval, i.cfg.GARP.NAInterval = tc.arp, tc.gna
			r := &runner{}
			r.startBurst(i, tc.rounds, now)
			extra := tc.extraAt > 0
			for step := 0; step < 100 && (i.garpLeft > 0 || extra); step++ {
				r.sendGARPs(i, now)
				next := i.garpNext
				if extra && (i.garpLeft == 0 || !next.Before(t0.Add(tc.extraAt))) {
					now, extra = t0.Add(tc.extraAt), false
					r.startBurst(i, 1, now)
					continue
				}
				now = next
			}
			if got := strings.Join(f.sent, " "); got != tc.want {
				t.Errorf("sent %q, want %q", got, tc.want)
			}
			if i.garpLeft != 0 {
				t.Errorf("%d rounds left", i.garpLeft)
			}
		})
	}
}
