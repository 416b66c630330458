// Package sched implements the IPVS scheduling algorithms and persistence as pure code:
// no I/O, no goroutines. Every data plane uses it to choose a real server for a new
// connection or flow.
//
// Every IPVS scheduler is here with the kernel's exact selection rules and tie-breaks (rr,
// wrr, lc, wlc, sed, nq, lblc, lblcr, dh, sh, mh, fo, ovf, twos), replayed in the tests
// against the picks of a real kernel, plus srt (shortest smoothed response time). The hash
// schedulers (dh, sh, mh) use the kernel's hash functions and keys, so a govs director and
// an IPVS director send the same flow to the same server.
//
// Where the kernel scans the whole destination list per pick (lc, wlc, sed, nq, fo, ovf),
// the schedulers here keep a heap ordered by the same cost and tie-break, updated through
// Dest's methods; a pick is O(1) and a counter change O(log n).
package sched

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/govs/govs/internal/registry"
)

// Flags are the scheduler flags (ipvsadm -b flag-1..3).
type Flags uint8

// Scheduler flags; sh and mh name flag-1 "fallback" and flag-2 "port".
const (
	Flag1 Flags = 1 << iota
	Flag2
	Flag3
)

// Flow is what a scheduler may look at to choose a destination.
type Flow struct {
	Proto uint8          // IPPROTO_TCP, IPPROTO_UDP, ...
	Src   netip.AddrPort // client
	Dst   netip.AddrPort // virtual address (for lblc/lblcr/dh: the destination address)
	Now   time.Time      // for schedulers with time-dependent state (lblc expiry); zero = time.Now()
}

// now returns f.Now, or the wall clock when the caller left it zero.
func (f *Flow) now() time.Time {
	if f.Now.IsZero() {
		return time.Now()
	}
	return f.Now
}

// IP protocol numbers whose source port sh-port and mh-port hash.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// hashPort is the source port sh and mh add to the hash with their port flag: only for
// TCP, UDP and SCTP, as in the kernel.
func (f *Flow) hashPort(flags Flags) uint32 {
	if flags&Flag2 == 0 {
		return 0
	}
	switch f.Proto {
	case protoTCP, protoUDP, protoSCTP:
		return uint32(f.Src.Port())
	}
	return 0
}

// Scheduler chooses a destination for a new connection or flow. Implementations are safe
// for concurrent use.
type Scheduler interface {
	// Update installs a new destination list. The order is IPVS's list order: the most
	// recently added destination first, which decides ties exactly as the kernel does.
	// Schedulers keep whatever state survives (rr cursor, lblc table) where it still applies.
	Update(dests []*Dest)
	// Pick returns the chosen destination, or nil when none is available.
	Pick(f Flow) *Dest
}

// releaser is implemented by schedulers that index their destinations; Release lets the
// destinations go when the scheduler is replaced.
type releaser interface {
	release()
}

// Factory builds a scheduler with the given flags.
type Factory func(flags Flags) Scheduler

var schedulers = registry.New[Factory]("scheduler")

// Register makes a scheduler available by its ipvsadm name. It panics on a duplicate name,
// which is a programming error.
func Register(name string, f Factory) { schedulers.Register(name, f) }

// New returns a new scheduler by ipvsadm name (rr, wrr, wlc, ...).
func New(name string, flags Flags) (Scheduler, error) {
	f, ok := schedulers.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("sched: unknown scheduler %q (known: %v)", name, Names())
	}
	return f(flags), nil
}

func registered(name string) bool {
	_, ok := schedulers.Lookup(name)
	return ok
}

// Names lists the registered schedulers, sorted.
func Names() []string { return schedulers.Names() }

// sameList reports whether a and b hold the same destinations in the same order.
func sameList(a, b []*Dest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
