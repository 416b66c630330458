package sched

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Dest is one destination (real server) as schedulers see it. The data plane updates its
// counters (Bind, SetActive, Unbind) exactly where IPVS updates its own, and schedulers read
// them concurrently, so lc/wlc/sed/nq and the threshold (overload) rules behave as in the
// kernel.
//
// A Dest belongs to one service: the scheduler whose Update last received it keeps an index
// of it (lc, wlc, ... keep a heap; sh, mh, wrr rebuild their tables when its weight
// changes), and every change made through its methods keeps that index exact.
type Dest struct {
	Addr netip.AddrPort
	// UThreshold and LThreshold are IPVS's upper and lower connection thresholds (ipvsadm
	// -x and -y); 0 means none. Set them before the Dest is shared, change them later with
	// SetThresholds.
	UThreshold int32
	LThreshold int32

	weight     atomic.Int32
	lastWeight atomic.Int32 // the last non-zero weight (IPVS last_weight, used by mh)
	active     atomic.Int64
	inactive   atomic.Int64
	persistent atomic.Int64
	overloaded atomic.Bool
	latency    atomic.Int64 // smoothed response time in nanoseconds (srt)

	// link is the scheduler index this Dest belongs to; nil when none keeps one.
	link atomic.Pointer[destLink]
}

// NewDest returns a destination with the given weight.
func NewDest(addr netip.AddrPort, weight int) *Dest {
	d := &Dest{Addr: addr}
	d.weight.Store(int32(weight))
	d.lastWeight.Store(int32(weight))
	return d
}

// Weight is the current weight; 0 means quiesced (no new connections).
func (d *Dest) Weight() int { return int(d.weight.Load()) }

// SetWeight changes the weight at run time (dynamic weights, quiescing). The scheduler
// that owns d sees the change at once; nothing has to be rebuilt by the caller. As in IPVS,
// a non-zero weight is also remembered as the last weight, which mh keeps using for its
// table while the destination is quiesced.
func (d *Dest) SetWeight(w int) { d.change(opWeight, int64(w)) }

// SetThresholds changes the upper and lower connection thresholds at run time. As in IPVS,
// clearing the upper threshold or raising it clears the overload flag.
func (d *Dest) SetThresholds(upper, lower int32) {
	d.change(opThresholds, int64(upper)<<32|int64(uint32(lower)))
}

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
func (d *Dest) Bind() { d.change(opBind, 0) }

// SetActive moves one connection between the inactive and active counters, as IPVS does
// on a TCP state change into or out of ESTABLISHED/SYN_*.
func (d *Dest) SetActive(active bool) { d.change(opSetActive, boolArg(active)) }

// Unbind forgets a connection that was active or inactive.
func (d *Dest) Unbind(wasActive bool) { d.change(opUnbind, boolArg(wasActive)) }

// Latency is the smoothed response time fed by ObserveLatency (srt scheduler).
func (d *Dest) Latency() time.Duration { return time.Duration(d.latency.Load()) }

// ObserveLatency folds one measured connect/first-byte latency into the smoothed value
// (EWMA with alpha 1/8, as TCP's SRTT).
func (d *Dest) ObserveLatency(rtt time.Duration) { d.change(opLatency, int64(rtt)) }

// bindTemplate and unbindTemplate count a persistence template, as IPVS's bind/unbind of a
// template connection (which also runs the overload checks).
func (d *Dest) bindTemplate()   { d.change(opBindTemplate, 0) }
func (d *Dest) unbindTemplate() { d.change(opUnbindTemplate, 0) }

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// destOp is one change to a Dest's counters or attributes.
type destOp uint8

const (
	opBind destOp = iota
	opSetActive
	opUnbind
	opBindTemplate
	opUnbindTemplate
	opWeight
	opThresholds
	opLatency
)

// destIndex is a scheduler structure ordered by Dest state (a heap, a weighted table).
type destIndex interface {
	// change applies op to d and re-orders the index, atomically with respect to picks.
	// It reports false if d no longer belongs to the index (link was replaced meanwhile);
	// the caller then retries with d's current link.
	change(link *destLink, d *Dest, op destOp, arg int64) bool
	// barrier returns once no change is in progress on the index, so that a new owner
	// reads settled counters when it takes a Dest over.
	barrier()
}

// destLink ties a Dest to the index that keeps it, at position slot (its list index).
type destLink struct {
	ix   destIndex
	slot int
}

// change routes every mutation through the owning index, so a heap never holds a stale key.
func (d *Dest) change(op destOp, arg int64) {
	for {
		l := d.link.Load()
		if l == nil {
			d.apply(op, arg)
			return
		}
		if l.ix.change(l, d, op, arg) {
			return
		}
	}
}

// attach makes ix the owner of d at slot and waits for any change still running under the
// previous owner.
func (d *Dest) attach(ix destIndex, slot int) {
	prev := d.link.Swap(&destLink{ix: ix, slot: slot})
	if prev != nil && prev.ix != ix {
		prev.ix.barrier()
	}
}

// detach drops ix's ownership of d, unless another index took d over already.
func (d *Dest) detach(ix destIndex) {
	for {
		l := d.link.Load()
		if l == nil || l.ix != ix {
			return
		}
		if d.link.CompareAndSwap(l, nil) {
			return
		}
	}
}

// ownedBy reports whether ix is d's owner, i.e. d is in ix's destination list.
func (d *Dest) ownedBy(ix destIndex) bool {
	l := d.link.Load()
	return l != nil && l.ix == ix
}

// apply performs op on the counters with IPVS's rules (ip_vs_bind_dest, ip_vs_unbind_dest,
// __ip_vs_update_dest).
func (d *Dest) apply(op destOp, arg int64) {
	switch op {
	case opBind:
		d.inactive.Add(1)
		d.checkOverload()
	case opSetActive:
		if arg != 0 {
			d.inactive.Add(-1)
			d.active.Add(1)
		} else {
			d.active.Add(-1)
			d.inactive.Add(1)
		}
	case opUnbind:
		if arg != 0 {
			d.active.Add(-1)
		} else {
			d.inactive.Add(-1)
		}
		d.checkUnderload()
	case opBindTemplate:
		d.persistent.Add(1)
		d.checkOverload()
	case opUnbindTemplate:
		d.persistent.Add(-1)
		d.checkUnderload()
	case opWeight:
		d.weight.Store(int32(arg))
		if arg != 0 {
			d.lastWeight.Store(int32(arg))
		}
	case opThresholds:
		upper, lower := int32(arg>>32), int32(uint32(arg))
		if upper == 0 || upper > atomic.LoadInt32(&d.UThreshold) {
			d.overloaded.Store(false)
		}
		atomic.StoreInt32(&d.UThreshold, upper)
		atomic.StoreInt32(&d.LThreshold, lower)
	case opLatency:
		for {
			old := d.latency.Load()
			next := arg
			if old != 0 {
				next = old + (arg-old)/8
			}
			if d.latency.CompareAndSwap(old, next) {
				return
			}
		}
	}
}

func (d *Dest) totalConns() int64 { return d.active.Load() + d.inactive.Load() }

func (d *Dest) checkOverload() {
	if u := atomic.LoadInt32(&d.UThreshold); u != 0 && d.totalConns() >= int64(u) {
		d.overloaded.Store(true)
	}
}

func (d *Dest) checkUnderload() {
	total := d.totalConns()
	if l := atomic.LoadInt32(&d.LThreshold); l != 0 {
		if total < int64(l) {
			d.overloaded.Store(false)
		}
	} else if u := atomic.LoadInt32(&d.UThreshold); u != 0 {
		if total*4 < int64(u)*3 {
			d.overloaded.Store(false)
		}
	} else {
		d.overloaded.Store(false)
	}
}

// available reports what every IPVS scheduler requires of a new pick: weight > 0 and not
// overloaded.
func (d *Dest) available() bool { return d.weight.Load() > 0 && !d.overloaded.Load() }
