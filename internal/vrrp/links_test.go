package vrrp

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLinkFollower: which notified link states reach the tracker, and when, for an
// interface with a 100 ms down delay and no up delay ("slow"), one with both ("both")
// and one without delays.
func TestLinkFollower(t *testing.T) {
	const delay = 100 * time.Millisecond
	type step struct {
		name     string
		up, gone bool
		wait     time.Duration // before the next step
	}
	for _, tc := range []struct {
		name    string
		initial map[string]bool
		steps   []step
		want    map[string]bool // tracker's links after the steps and the delay
		during  map[string]bool // right after the steps, before any delay ran out
	}{
		{"flap shorter than the delay", map[string]bool{"slow": true},
			[]step{{name: "slow"}, {name: "slow", up: true}},
			map[string]bool{"slow": true}, map[string]bool{"slow": true}},
		{"down for good", map[string]bool{"slow": true},
			[]step{{name: "slow"}},
			map[string]bool{"slow": false}, map[string]bool{"slow": true}},
		{"down again after a cancelled flap", map[string]bool{"slow": true},
			[]step{{name: "slow"}, {name: "slow", up: true}, {name: "slow"}},
			map[string]bool{"slow": false}, map[string]bool{"slow": true}},
		{"no up delay", map[string]bool{"slow": true},
			[]step{{name: "slow", wait: 2 * delay}, {name: "slow", up: true}},
			map[string]bool{"slow": true}, map[string]bool{"slow": true}},
		{"never seen up: up at once", map[string]bool{"both": false},
			[]step{{name: "both", up: true}},
			map[string]bool{"both": true}, map[string]bool{"both": true}},
		{"seen up: up delayed", map[string]bool{"both": true},
			[]step{{name: "both", wait: 2 * delay}, {name: "both", up: true}},
			map[string]bool{"both": true}, map[string]bool{"both": false}},
		{"removed: at once", map[string]bool{"slow": true},
			[]step{{name: "slow", gone: true}},
			map[string]bool{"slow": false}, map[string]bool{"slow": false}},
		{"no delay configured", map[string]bool{"fast": true},
			[]step{{name: "fast"}},
			map[string]bool{"fast": false}, map[string]bool{"fast": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := seededTracker(tc.initial)
			f := newLinkFollower(tr, tc.initial, map[string]LinkDelay{"slow": {Down: delay}, "both": {Down: delay, Up: delay}}, slog.New(slog.DiscardHandler), nil)
			updates, stop := runFollower(f)
			defer stop()
			// The follower handles updates in order: once a second update for another
			// interface is taken, the steps before it are done.
			steps := append(tc.steps, step{name: "sync"}, step{name: "sync"})
			for _, s := range steps {
				updates <- linkUpdate(s.name, s.up, s.gone)
				time.Sleep(s.wait)
			}
			links := func() map[string]bool { return trackedLinks(tr) }
			same := func(want map[string]bool) bool {
				got := links()
				for n, up := range want {
					if got[n] != up {
						return false
					}
				}
				return true
			}
			if !same(tc.during) {
				t.Fatalf("before the delay: %v, want %v", links(), tc.during)
			}
			if !testutil.Eventually(5*delay, func() bool { return same(tc.want) }) {
				t.Fatalf("after the delay: %v, want %v", links(), tc.want)
			}
			time.Sleep(2 * delay) // nothing late changes it again
			if !same(tc.want) {
				t.Fatalf("later: %v, want %v", links(), tc.want)
			}
		})
	}
}

// TestLinkFollowerHandover: a reload's follower takes over from the old one: a change
// held back stays so for the rest of its delay (not the whole delay again, and not
// applied at once), an interface seen up stays seen, a change made while neither ran
// is held back for the delay.
func TestLinkFollowerHandover(t *testing.T) {
	const delay = 300 * time.Millisecond
	delays := map[string]LinkDelay{"slow": {Down: delay, Up: delay}, "gap": {Down: delay}}
	log := slog.New(slog.DiscardHandler)
	initial := map[string]bool{"slow": true, "gap": true}
	old := newLinkFollower(seededTracker(initial), initial, delays, log, nil)
	updates, stopOld := runFollower(old)
	updates <- linkUpdate("slow", false, false)
	went := time.Now()
	time.Sleep(delay * 2 / 3)
	stopOld()

	// The new generation's tracker is seeded from the kernel: both links are down now
	// ("gap" went down between the two followers).
	now := map[string]bool{"slow": false, "gap": false}
	tr := seededTracker(now)
	f := newLinkFollower(tr, now, delays, log, old)
	_, stop := runFollower(f)
	defer stop()
	link := func(name string) bool { return trackedLinks(tr)[name] }
	if !link("slow") || !link("gap") {
		t.Fatalf("right after the handover: slow %v, gap %v; want both still up", link("slow"), link("gap"))
	}
	if !testutil.Eventually(2*delay, func() bool { return !link("slow") }) {
		t.Fatal("slow never went down")
	}
	// The whole delay again would be 5/3 of it.
	if took := time.Since(went); took < delay || took > delay*4/3 {
		t.Errorf("slow went down %v after its change, want its delay %v", took, delay)
	}
	if !link("gap") {
		t.Fatal("gap went down before its own delay")
	}
	if !testutil.Eventually(2*delay, func() bool { return !link("gap") }) {
		t.Fatal("gap never went down")
	}
	if !f.seenUp["slow"] {
		t.Error("slow is no longer seen up")
	}
}

// seededTracker is a tracker that knows the links as given.
func seededTracker(links map[string]bool) *tracker {
	tr := newTracker(Config{}, slog.New(slog.DiscardHandler))
	for n, up := range links {
		tr.setLink(n, up)
	}
	return tr
}

// linkUpdate is the netlink notification of name going up, down or away.
func linkUpdate(name string, up, gone bool) netlink.LinkUpdate {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.OperState = name, netlink.OperDown
	if up {
		attrs.Flags, attrs.OperState = net.FlagUp, netlink.OperUp
	}
	u := netlink.LinkUpdate{Link: &netlink.Dummy{LinkAttrs: attrs}}
	u.Header.Type = unix.RTM_NEWLINK
	if gone {
		u.Header.Type = unix.RTM_DELLINK
	}
	return u
}

// runFollower runs f until the returned stop, which waits for it to end.
func runFollower(f *linkFollower) (updates chan netlink.LinkUpdate, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	updates = make(chan netlink.LinkUpdate)
	done := make(chan struct{})
	go func() { f.run(ctx, updates); close(done) }()
	return updates, func() { cancel(); <-done }
}

// trackedLinks is a copy of the tracker's link states.
func trackedLinks(tr *tracker) map[string]bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[string]bool{}
	for n, up := range tr.values.links {
		out[n] = up
	}
	return out
}
