// Package sched implements the IPVS scheduling algorithms and persistence as pure code:
// no I/O, no goroutines. Every data plane uses it to choose a real server for a new
// connection or flow.
//
// A Scheduler sees destinations through *Dest, whose counters the data plane updates
// (Bind/Unbind/SetActive) exactly where IPVS updates its own, so lc/wlc/sed/nq and the
// threshold (overload) rules behave as in the kernel.
package sched

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
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

// Dest is one destination as schedulers see it. Counters are updated by the data plane
// and read by schedulers concurrently, so they are atomic.
type Dest struct {
	Addr       netip.AddrPort
	UThreshold int32 // 0: none
	LThreshold int32 // 0: none

	weight     atomic.Int32
	active     atomic.Int64
	inactive   atomic.Int64
	persistent atomic.Int64
	overloaded atomic.Bool
	// Latency is the smoothed response time in nanoseconds, fed by the data plane (srt).
	latency atomic.Int64
}

// NewDest returns a destination with the given weight.
func NewDest(addr netip.AddrPort, weight int) *Dest {
	d := &Dest{Addr: addr}
	d.weight.Store(int32(weight))
	return d
}

// Weight is the current weight; 0 means quiesced.
func (d *Dest) Weight() int { return int(d.weight.Load()) }

// SetWeight changes the weight at run time (dynamic weights) without rebuilding anything.
// Like IPVS, raising the upper threshold or clearing it is handled by SetThresholds.
func (d *Dest) SetWeight(w int) { d.weight.Store(int32(w)) }

// Active and Inactive are IPVS's activeconns and inactconns.
func (d *Dest) Active() int64   { return d.active.Load() }
func (d *Dest) Inactive() int64 { return d.inactive.Load() }

// Persistent is the number of persistence templates pointing at d (IPVS persistconns).
func (d *Dest) Persistent() int64 { return d.persistent.Load() }

// Overloaded reports the IPVS OVERLOAD flag (upper threshold reached).
func (d *Dest) Overloaded() bool { return d.overloaded.Load() }

// Overhead is IPVS's ip_vs_dest_conn_overhead: active*256 + inactive.
func (d *Dest) Overhead() int64 { return d.active.Load()<<8 + d.inactive.Load() }

// Bind counts a new connection to d; it starts inactive, as in IPVS.
func (d *Dest) Bind() {
	d.inactive.Add(1)
	d.checkOverload()
}

// SetActive moves one connection between the inactive and active counters, as IPVS does
// on a TCP state change into or out of ESTABLISHED/SYN_*.
func (d *Dest) SetActive(active bool) {
	if active {
		d.inactive.Add(-1)
		d.active.Add(1)
	} else {
		d.active.Add(-1)
		d.inactive.Add(1)
	}
}

// Unbind forgets a connection that was active or inactive.
func (d *Dest) Unbind(wasActive bool) {
	if wasActive {
		d.active.Add(-1)
	} else {
		d.inactive.Add(-1)
	}
	d.checkUnderload()
}

// Latency is the smoothed response time fed by SetLatency (srt scheduler).
func (d *Dest) Latency() time.Duration { return time.Duration(d.latency.Load()) }

// ObserveLatency folds one measured connect/first-byte latency into the smoothed value
// (EWMA with alpha 1/8, as TCP's SRTT).
func (d *Dest) ObserveLatency(rtt time.Duration) {
	for {
		old := d.latency.Load()
		next := int64(rtt)
		if old != 0 {
			next = old + (int64(rtt)-old)/8
		}
		if d.latency.CompareAndSwap(old, next) {
			return
		}
	}
}

func (d *Dest) checkOverload() {
	if u := d.UThreshold; u != 0 && d.active.Load()+d.inactive.Load() >= int64(u) {
		d.overloaded.Store(true)
	}
}

func (d *Dest) checkUnderload() {
	if !d.overloaded.Load() {
		return
	}
	total := d.active.Load() + d.inactive.Load()
	switch {
	case d.LThreshold != 0:
		if total < int64(d.LThreshold) {
			d.overloaded.Store(false)
		}
	case d.UThreshold != 0:
		if total*4 < int64(d.UThreshold)*3 {
			d.overloaded.Store(false)
		}
	default:
		d.overloaded.Store(false)
	}
}

// Scheduler chooses a destination for a new connection or flow.
type Scheduler interface {
	// Update installs a new destination list. The order is IPVS's list order: the most
	// recently added destination first, which decides ties exactly as the kernel does.
	// Schedulers keep whatever state survives (rr cursor, lblc table) where it still applies.
	Update(dests []*Dest)
	// Pick returns the chosen destination, or nil when none is available.
	Pick(f Flow) *Dest
}

// Factory builds a scheduler with the given flags.
type Factory func(flags Flags) Scheduler

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a scheduler available by its ipvsadm name. It panics on a duplicate name,
// which is a programming error.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("sched: duplicate scheduler " + name)
	}
	registry[name] = f
}

// New returns a new scheduler by ipvsadm name (rr, wrr, wlc, ...).
func New(name string, flags Flags) (Scheduler, error) {
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sched: unknown scheduler %q (known: %v)", name, Names())
	}
	return f(flags), nil
}

// Names lists the registered schedulers, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
