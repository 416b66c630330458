package sched

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// The kernel's lc, wlc, sed, nq, fo and ovf scan the list on every pick for the destination
// with the least cost, the earliest in list order winning ties. leastIndex keeps the same
// order in a binary heap instead: Dest's methods re-position a destination whenever its
// counters or weight change, and a pick reads the root.
func init() {
	for name, cost := range map[string]costFunc{
		"lc":  lcCost,
		"wlc": wlcCost,
		"sed": sedCost,
		"nq":  nqCost,
		"fo":  foCost,
		"ovf": ovfCost,
		"srt": srtCost,
	} {
		Register(name, func(Flags) Scheduler { return newLeastIndex(cost) })
	}
}

// leastKey orders destinations: lower class first, then the lower ratio num/den (compared
// exactly by cross-multiplication, as the kernel does), then the earlier list position.
type leastKey struct {
	class    uint8
	num, den uint64
}

// classNone marks a destination that cannot be picked (weight 0, overloaded, ...).
const classNone = 255

var ineligible = leastKey{class: classNone, den: 1}

// costFunc computes a destination's key from its current counters.
type costFunc func(d *Dest) leastKey

func nonNeg(v int64) uint64 { return uint64(max(v, 0)) }

// lcCost is ip_vs_lc: least overhead (active*256 + inactive); weight only matters as 0.
func lcCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	return leastKey{num: nonNeg(d.Overhead()), den: 1}
}

// wlcCost is ip_vs_wlc: least overhead/weight.
func wlcCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	return leastKey{num: nonNeg(d.Overhead()), den: uint64(d.weight.Load())}
}

// sedCost is ip_vs_sed: least (active+1)/weight; inactive connections do not count.
func sedCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	return leastKey{num: nonNeg(d.active.Load()) + 1, den: uint64(d.weight.Load())}
}

// nqCost is ip_vs_nq: the first idle destination (no active connection) in list order,
// else as sed.
func nqCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	a := nonNeg(d.active.Load())
	if a == 0 {
		return leastKey{class: 0, num: 0, den: 1}
	}
	return leastKey{class: 1, num: a + 1, den: uint64(d.weight.Load())}
}

// foCost is ip_vs_fo: the highest weight.
func foCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	return leastKey{num: 1, den: uint64(d.weight.Load())}
}

// ovfCost is ip_vs_ovf: the highest weight among destinations whose active connections do
// not exceed their weight.
func ovfCost(d *Dest) leastKey {
	if !d.available() || d.active.Load() > int64(d.weight.Load()) {
		return ineligible
	}
	return leastKey{num: 1, den: uint64(d.weight.Load())}
}

// srtCost is shortest (smoothed) response time: least srtt*(active+1)/weight, i.e. the
// expected wait if the active connections were served one after the other. The latency is
// counted in microseconds (at least 1, at most 2^31); a destination without a measurement
// yet counts as 1 µs, so it gets tried first and its first measurement corrects that.
func srtCost(d *Dest) leastKey {
	if !d.available() {
		return ineligible
	}
	us := uint64(min(max(d.latency.Load()/1000, 1), 1<<31))
	a := min(nonNeg(d.active.Load()), 1<<31)
	return leastKey{num: (a + 1) * us, den: uint64(d.weight.Load())}
}

// leastIndex is a scheduler picking the destination with the least key.
type leastIndex struct {
	cost costFunc
	best atomic.Pointer[Dest] // the root, if pickable: what Pick returns

	mu    sync.Mutex
	dests []*Dest
	keys  []leastKey // by slot (list index)
	heap  []int32    // slots, heap-ordered
	pos   []int32    // slot -> position in heap

	// halfIdle[slot] says active*2 < weight; lblc and lblcr treat their cached destination
	// as overloaded only while some destination is that idle.
	halfIdle  []bool
	nHalfIdle atomic.Int64
}

func newLeastIndex(cost costFunc) *leastIndex { return &leastIndex{cost: cost} }

// Update rebuilds the heap over the new list.
func (s *leastIndex) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make(map[*Dest]bool, len(dests))
	for _, d := range dests {
		keep[d] = true
	}
	for _, d := range s.dests {
		if !keep[d] {
			d.detach(s)
		}
	}
	n := len(dests)
	s.dests = append([]*Dest(nil), dests...)
	// Take ownership first: a change racing with this rebuild waits for s.mu and then
	// re-positions its destination in the new heap.
	for i, d := range s.dests {
		d.attach(s, i)
	}
	s.keys = make([]leastKey, n)
	s.heap = make([]int32, n)
	s.pos = make([]int32, n)
	s.halfIdle = make([]bool, n)
	s.nHalfIdle.Store(0)
	for i, d := range s.dests {
		s.keys[i] = s.cost(d)
		s.heap[i] = int32(i)
		s.pos[i] = int32(i)
		s.setHalfIdle(i, d)
	}
	for i := n/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	s.publish()
}

// Pick returns the least-cost destination.
func (s *leastIndex) Pick(Flow) *Dest { return s.best.Load() }

func (s *leastIndex) change(l *destLink, d *Dest, op destOp, arg int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.link.Load() != l {
		return false
	}
	d.apply(op, arg)
	s.fix(l.slot)
	s.publish()
	return true
}

func (s *leastIndex) barrier() {
	// Taking the lock is the point: it waits for any change in flight.
	s.mu.Lock()
	defer s.mu.Unlock()
}

func (s *leastIndex) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dests {
		d.detach(s)
	}
}

// hasHalfIdle reports whether some destination has active*2 < weight.
func (s *leastIndex) hasHalfIdle() bool { return s.nHalfIdle.Load() > 0 }

func (s *leastIndex) setHalfIdle(slot int, d *Dest) {
	h := d.active.Load()*2 < int64(d.weight.Load())
	if h != s.halfIdle[slot] {
		s.halfIdle[slot] = h
		if h {
			s.nHalfIdle.Add(1)
		} else {
			s.nHalfIdle.Add(-1)
		}
	}
}

func (s *leastIndex) fix(slot int) {
	d := s.dests[slot]
	s.keys[slot] = s.cost(d)
	s.setHalfIdle(slot, d)
	i := int(s.pos[slot])
	if !s.up(i) {
		s.down(i)
	}
}

func (s *leastIndex) publish() {
	if len(s.heap) == 0 || s.keys[s.heap[0]].class == classNone {
		s.best.Store(nil)
		return
	}
	s.best.Store(s.dests[s.heap[0]])
}

// less orders slots a and b.
func (s *leastIndex) less(a, b int32) bool {
	ka, kb := &s.keys[a], &s.keys[b]
	if ka.class != kb.class {
		return ka.class < kb.class
	}
	hi1, lo1 := bits.Mul64(ka.num, kb.den)
	hi2, lo2 := bits.Mul64(kb.num, ka.den)
	if hi1 != hi2 {
		return hi1 < hi2
	}
	if lo1 != lo2 {
		return lo1 < lo2
	}
	return a < b
}

func (s *leastIndex) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.pos[s.heap[i]] = int32(i)
	s.pos[s.heap[j]] = int32(j)
}

// up moves the entry at i towards the root; it reports whether it moved.
func (s *leastIndex) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(s.heap[i], s.heap[p]) {
			break
		}
		s.swap(i, p)
		i = p
		moved = true
	}
	return moved
}

func (s *leastIndex) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.less(s.heap[r], s.heap[l]) {
			m = r
		}
		if !s.less(s.heap[m], s.heap[i]) {
			return
		}
		s.swap(i, m)
		i = m
	}
}

var (
	_ Scheduler = (*leastIndex)(nil)
	_ destIndex = (*leastIndex)(nil)
	_ releaser  = (*leastIndex)(nil)
)
