package vrrp

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeGARP records which target of which instance went out when.
type fakeGARP struct {
	name  string
	paces []garpPace
	now   *time.Time
	t0    time.Time
	sent  *[]string
}

func (f *fakeGARP) targetCount() int      { return len(f.paces) }
func (f *fakeGARP) close()                {}
func (f *fakeGARP) pacing(k int) garpPace { return f.paces[k] }
func (f *fakeGARP) announceTarget(k int) error {
	*f.sent = append(*f.sent, fmt.Sprintf("%s%d@%v", f.name, k, f.now.Sub(f.t0)))
	return nil
}

// TestGARPPacing: without pauses a burst goes out at once; with them, each packet
// waits until its schedule (an interface's or a garp_group's, GARPs and NAs apart) is
// free, whichever instance used it last; a burst started during another adds rounds.
func TestGARPPacing(t *testing.T) {
	ms := time.Millisecond
	pacing := GARPPacing{ARPInterval: 100 * ms, NAInterval: 10 * ms,
		Groups: []GARPGroup{{ARPInterval: 50 * ms, Interfaces: []string{"bond0", "bond1"}}}}
	arp := func(ifname string) garpPace { return pacing.pace(ifname, false) }
	na := func(ifname string) garpPace { return pacing.pace(ifname, true) }
	none := GARPPacing{}.pace("eth0", false)
	type inst struct {
		name    string
		paces   []garpPace
		rounds  int
		startAt time.Duration
	}
	for _, tc := range []struct {
		name  string
		insts []inst
		want  string
	}{
		{"no pause", []inst{{"a", []garpPace{none, none}, 3, 0}}, "a0@0s a1@0s a0@0s a1@0s a0@0s a1@0s"},
		{"interface pause", []inst{{"a", []garpPace{arp("eth0"), arp("eth0")}, 2, 0}}, "a0@0s a1@100ms a0@200ms a1@300ms"},
		{"GARPs and NAs paced apart", []inst{{"a", []garpPace{arp("eth0"), na("eth0")}, 2, 0}}, "a0@0s a1@0s a0@100ms a1@100ms"},
		{"two instances share the interface", []inst{{"a", []garpPace{arp("eth0")}, 2, 0}, {"b", []garpPace{arp("eth0")}, 1, 0}},
			"a0@0s a0@100ms b0@200ms"}, // one packet per pause, whoever sends it
		{"other interfaces do not wait", []inst{{"a", []garpPace{arp("eth0")}, 2, 0}, {"b", []garpPace{arp("eth1")}, 2, 0}},
			"a0@0s b0@0s a0@100ms b0@100ms"},
		{"a group shares one schedule, with its own pause", []inst{{"a", []garpPace{arp("bond0")}, 2, 0}, {"b", []garpPace{arp("bond1")}, 1, 0}},
			"a0@0s a0@50ms b0@100ms"},
		{"a group without an NA pause does not pace NAs", []inst{{"a", []garpPace{na("bond0"), na("bond1")}, 2, 0}}, "a0@0s a1@0s a0@0s a1@0s"},
		{"burst during burst", []inst{{"a", []garpPace{arp("eth0")}, 2, 0}, {"a", nil, 1, 50 * ms}}, "a0@0s a0@100ms a0@200ms"},
		{"a new burst owes the last packet's pause", []inst{{"a", []garpPace{arp("eth0")}, 1, 0}, {"a", nil, 1, 30 * ms}}, "a0@0s a0@100ms"},
		{"no targets", []inst{{"a", nil, 2, 0}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1_000_000, 0)
			now := t0
			var sent []string
			r := &runner{n: &Node{}}
			byName := map[string]*instance{}
			var order []*instance
			type start struct {
				i      *instance
				rounds int
				at     time.Time
			}
			var starts []start
			for _, in := range tc.insts {
				i := byName[in.name]
				if i == nil {
					i = &instance{logger: slog.New(slog.DiscardHandler), announce: &fakeGARP{name: in.name, paces: in.paces, now: &now, t0: t0, sent: &sent}}
					byName[in.name] = i
					order = append(order, i)
				}
				starts = append(starts, start{i, in.rounds, t0.Add(in.startAt)})
			}
			for step := 0; step < 100; step++ {
				for len(starts) > 0 && !starts[0].at.After(now) {
					r.startBurst(starts[0].i, starts[0].rounds, now)
					starts = starts[1:]
				}
				for _, i := range order {
					r.sendGARPs(i, now)
				}
				// Jump to the next thing due: a pending start or a waiting burst.
				next := time.Time{}
				if len(starts) > 0 {
					next = starts[0].at
				}
				for _, i := range order {
					if i.garpLeft > 0 && (next.IsZero() || i.garpNext.Before(next)) {
						next = i.garpNext
					}
				}
				if next.IsZero() {
					break
				}
				now = next
			}
			if got := strings.Join(sent, " "); got != tc.want {
				t.Errorf("sent %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGARPExtraIfPaced: garp_extra_if's refreshes wait for their interfaces'
// schedules like any GARP (keepalived queues them): a refresh due while a burst holds
// the interface goes out a pause after the burst's last packet, and the refreshes of
// two interfaces of one garp_group go out a pause apart.
func TestGARPExtraIfPaced(t *testing.T) {
	ms := time.Millisecond
	pacing := GARPPacing{Groups: []GARPGroup{{ARPInterval: 100 * ms, Interfaces: []string{"eth1", "eth2"}}}}
	eth1, eth2 := pacing.pace("eth1", false), pacing.pace("eth2", false)
	t0 := time.Unix(1_000_000, 0)
	now := t0
	var sent []string
	r := &runner{n: &Node{}}
	i := &instance{logger: slog.New(slog.DiscardHandler), extra: []int{0, 1},
		announce: &fakeGARP{name: "x", paces: []garpPace{eth1, eth2}, now: &now, t0: t0, sent: &sent}}
	r.startBurst(i, 1, now)
	r.sendGARPs(i, now) // x0 now, x1 waits
	now = t0.Add(10 * ms)
	r.sendExtra(i, now) // both wait for the burst's x1 first
	for step := 0; step < 20 && (i.garpLeft > 0 || len(i.extraQueue) > 0); step++ {
		next := i.extraNext
		if i.garpLeft > 0 && (next.IsZero() || i.garpNext.Before(next)) {
			next = i.garpNext
		}
		now = next
		r.sendGARPs(i, now)
		if len(i.extraQueue) > 0 && !now.Before(i.extraNext) {
			r.drainExtra(i, now)
		}
	}
	if got, want := strings.Join(sent, " "), "x0@0s x1@100ms x0@200ms x1@300ms"; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	if len(i.extraQueue) != 0 || !i.extraNext.IsZero() {
		t.Errorf("left queued: %v until %v", i.extraQueue, i.extraNext)
	}
}
