package sched

import (
	"math/bits"
	"math/rand/v2"
	"sync"
)

func init() { Register("twos", func(Flags) Scheduler { return newTwoChoices(rand.Uint64N) }) }

// twoChoices is ip_vs_twos (Linux 6.2+): draw two destinations with probability by weight
// and take the one with the lower overhead/weight, the first draw on a tie. The kernel walks
// the list to turn a random number into a destination; a Fenwick tree over the weights of
// the available destinations does the same walk in O(log n).
type twoChoices struct {
	rnd func(n uint64) uint64 // uniform in [0, n)

	mu    sync.RWMutex // picks read, Update and weight changes write
	dests []*Dest
	w     []int64 // weight if available, else 0, by slot
	tree  []int64 // Fenwick tree over w, 1-based, padded to a power of two
	top   int     // the largest power of two <= len(tree)-1
	total int64
}

func newTwoChoices(rnd func(n uint64) uint64) *twoChoices { return &twoChoices{rnd: rnd} }

func (s *twoChoices) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	relink(s, s.dests, dests)
	s.dests = append([]*Dest(nil), dests...)
	s.w = make([]int64, len(dests))
	// Padding to a power of two lets find skip the bounds test: the padding weighs 0, and
	// a draw never exceeds the total.
	s.top = 1
	for s.top < len(dests) {
		s.top *= 2
	}
	s.tree = make([]int64, s.top+1)
	s.total = 0
	for i, d := range s.dests {
		s.set(i, pickWeight(d))
	}
}

// pickWeight is the weight twos draws with: 0 for a destination it may not pick.
func pickWeight(d *Dest) int64 {
	if !d.available() {
		return 0
	}
	return int64(d.weight.Load())
}

func (s *twoChoices) set(slot int, w int64) {
	delta := w - s.w[slot]
	if delta == 0 {
		return
	}
	s.w[slot] = w
	s.total += delta
	for i := slot + 1; i < len(s.tree); i += i & -i {
		s.tree[i] += delta
	}
}

// find returns the first slot whose running weight sum reaches r (1 <= r <= total).
func (s *twoChoices) find(r int64) int {
	pos := 0
	for step := s.top; step > 0; step >>= 1 {
		// Branch-free "if v < r { pos += step; r -= v }": the comparison is a coin toss
		// for the branch predictor. Sums stay far below 2^62, so v-r cannot overflow.
		v := s.tree[pos+step]
		less := (v - r) >> 63 // -1 if v < r, else 0
		pos += step & int(less)
		r -= v & less
	}
	return pos
}

func (s *twoChoices) Pick(Flow) *Dest {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.total <= 0 {
		return nil
	}
	// The kernel draws in [0, total] and walks until the running remainder is <= 0, so a
	// draw of 0 lands on the first available destination, like a draw of 1.
	n := uint64(s.total) + 1
	i1 := s.find(max(int64(s.rnd(n)), 1))
	i2 := s.find(max(int64(s.rnd(n)), 1))
	d1, d2 := s.dests[i1], s.dests[i2]
	hi1, lo1 := bits.Mul64(uint64(s.w[i2]), nonNeg(d1.Overhead()))
	hi2, lo2 := bits.Mul64(uint64(s.w[i1]), nonNeg(d2.Overhead()))
	if hi1 > hi2 || hi1 == hi2 && lo1 > lo2 {
		return d2
	}
	return d1
}

// change re-weights the Fenwick tree only when d's draw weight changed (quiesced,
// re-weighted, overloaded or not any more): most Bind and Unbind calls leave it alone and
// take no lock. The tree is set from d's state read under the lock, so the last of
// concurrent changes leaves it right.
func (s *twoChoices) change(l *destLink, d *Dest, op destOp, arg int64) bool {
	if d.link.Load() != l {
		return false
	}
	before := pickWeight(d)
	d.apply(op, arg)
	if pickWeight(d) == before {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.link.Load() == l {
		s.set(l.slot, pickWeight(d))
	}
	return true
}

func (s *twoChoices) barrier() {
	// Taking the lock is the point: it waits for any change in flight.
	s.mu.Lock()
	defer s.mu.Unlock()
}

func (s *twoChoices) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.dests {
		d.detach(s)
	}
}

var (
	_ Scheduler = (*twoChoices)(nil)
	_ destIndex = (*twoChoices)(nil)
	_ releaser  = (*twoChoices)(nil)
)
