package sched

import "sync/atomic"

func init() { Register("wrr", func(Flags) Scheduler { return &weightedRoundRobin{} }) }

// weightedRoundRobin is ip_vs_wrr: passes over the list at a decreasing required weight
// cw (from mw down to 1 in steps of di, the gcd of the weights); each pass picks, in list
// order, the destinations whose weight is at least cw. The result is bursty, as in the
// kernel (4,3,2 gives A A B A B C A B C).
//
// The kernel scans the list linearly; here a max-tree over the weights finds the next
// destination with weight >= cw in O(log n), with the same sequence.
type weightedRoundRobin struct {
	publishedTable[wrrTable, *wrrTable]
	weights []int32 // weights as of the last build, to see which ones changed
}

// wrrTable is one immutable snapshot of the list plus the mutable cursor (cl, cw).
type wrrTable struct {
	dests   []*Dest
	weights []int32
	tree    []int32 // max-tree over weights; leaves at [leaves, 2*leaves)
	leaves  int
	mw, di  int32
	// pos packs cl+1 (0 = the list head) in the high half and cw in the low half, so a
	// pick advances both with one compare-and-swap.
	pos atomic.Uint64
}

func (t *wrrTable) destinations() []*Dest { return t.dests }

func packWRR(cl, cw int32) uint64 { return uint64(uint32(cl+1))<<32 | uint64(uint32(cw)) }

func unpackWRR(p uint64) (cl, cw int32) { return int32(uint32(p>>32)) - 1, int32(uint32(p)) }

// wrrChanged is ip_vs_wrr_dest_changed's update of cw for the new di and mw.
func wrrChanged(cw, gcdPos, maxW int32) (newCW, di, mw int32) {
	di = gcdPos
	if di == 0 {
		di = 1
	}
	mw = maxW - (di - 1)
	switch {
	case cw > mw || cw == 0:
		cw = mw
	case di > 1:
		cw = (cw/di)*di + 1
	}
	return cw, di, mw
}

// weightStats returns the gcd of the positive weights (0 if none) and the largest weight.
func weightStats(ws []int32) (g, mx int32) {
	for _, w := range ws {
		g, mx = addWeightStats(g, mx, w)
	}
	return g, mx
}

func addWeightStats(g, mx, w int32) (int32, int32) {
	if w > 0 {
		if g > 0 {
			g = gcd(w, g)
		} else {
			g = w
		}
	}
	return g, max(mx, w)
}

// Update applies the list change as ipvsadm would have made it, one kernel callback per
// change: removals and weight edits first (one callback, as their order is unknown), then
// each added destination from the oldest (last in the list) to the newest. So a service
// built by one Update starts exactly where an ipvsadm-built one does (one pass at cw = 1).
func (s *weightedRoundRobin) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.table.Load()
	var oldDests []*Dest
	var cw int32
	if old != nil {
		oldDests = old.dests
		_, cw = unpackWRR(old.pos.Load())
	}
	oldWeight := make(map[*Dest]int32, len(oldDests))
	for i, d := range oldDests {
		oldWeight[d] = s.weights[i]
	}
	ws := make([]int32, len(dests))
	isNew := make([]bool, len(dests))
	var kept []int32
	var keptDests []*Dest
	changed := false
	for i, d := range dests {
		ws[i] = d.weight.Load()
		w, ok := oldWeight[d]
		if !ok {
			isNew[i] = true
			continue
		}
		kept = append(kept, ws[i])
		keptDests = append(keptDests, d)
		changed = changed || ws[i] != w
	}
	// A removal, or the same members in another order, is one more change.
	changed = changed || !sameList(keptDests, oldDests)
	g, mx := weightStats(kept)
	if changed {
		cw, _, _ = wrrChanged(cw, g, mx)
	}
	for i := len(dests) - 1; i >= 0; i-- {
		if isNew[i] {
			g, mx = addWeightStats(g, mx, ws[i])
			cw, _, _ = wrrChanged(cw, g, mx)
		}
	}
	if old != nil && !changed && len(keptDests) == len(dests) {
		return // nothing changed: keep the cursor where it is
	}
	relink(s, oldDests, dests)
	s.install(dests, ws, cw)
}

func indexOf(dests []*Dest, d *Dest) (int, bool) {
	for i, x := range dests {
		if x == d {
			return i, true
		}
	}
	return 0, false
}

// install publishes a new table with the cursor at the list head.
func (s *weightedRoundRobin) install(dests []*Dest, ws []int32, cw int32) {
	g, mx := weightStats(ws)
	_, di, mw := wrrChanged(cw, g, mx)
	leaves := 1
	for leaves < len(ws) {
		leaves *= 2
	}
	t := &wrrTable{
		dests:   append([]*Dest(nil), dests...),
		weights: ws,
		tree:    make([]int32, 2*leaves),
		leaves:  leaves,
		mw:      mw,
		di:      di,
	}
	for i := range t.tree[leaves:] {
		t.tree[leaves+i] = -1
	}
	copy(t.tree[leaves:], ws)
	for i := leaves - 1; i >= 1; i-- {
		t.tree[i] = max(t.tree[2*i], t.tree[2*i+1])
	}
	t.pos.Store(packWRR(-1, cw))
	s.weights = ws
	s.table.Store(t)
}

// weightChanged is the kernel's upd_dest callback for a weight set through SetWeight. It
// runs at once, one call per change, because cw depends on every intermediate mw and di.
func (s *weightedRoundRobin) weightChanged() {
	old := s.table.Load()
	if old == nil {
		return
	}
	ws := make([]int32, len(old.dests))
	for i, d := range old.dests {
		ws[i] = d.weight.Load()
	}
	_, cw := unpackWRR(old.pos.Load())
	g, mx := weightStats(ws)
	cw, _, _ = wrrChanged(cw, g, mx)
	s.install(old.dests, ws, cw)
}

// Pick runs ip_vs_wrr_schedule's loop.
func (s *weightedRoundRobin) Pick(Flow) *Dest {
	t := s.table.Load()
	if t == nil || t.mw == 0 {
		return nil
	}
	for {
		p := t.pos.Load()
		cl, cw := unpackWRR(p)
		hit, ncl, ncw := t.next(cl, cw)
		if t.pos.CompareAndSwap(p, packWRR(ncl, ncw)) {
			if hit < 0 {
				return nil
			}
			return t.dests[hit]
		}
	}
}

// next is one kernel scheduling decision from cursor cl at weight cw. It returns the
// chosen index (-1: all destinations overloaded) and the new cursor and weight.
func (t *wrrTable) next(cl, cw int32) (hit, ncl, ncw int32) {
	n := int32(len(t.dests))
	last, stop := cl, int32(-2)
	lastPass, restarted := false, false
	from := cl + 1
	for {
		hi := n - 1
		stopHere := stop >= from && stop <= hi
		if stopHere {
			hi = stop
		}
		for lo := from; lo <= hi; {
			j := t.firstAtLeast(lo, hi, cw)
			if j < 0 {
				break
			}
			if !t.dests[j].overloaded.Load() {
				return j, j, cw
			}
			lo = j + 1
		}
		if stopHere {
			return -1, stop, cw
		}
		from = 0
		cw -= t.di
		if cw <= 0 {
			cw = t.mw
			if lastPass || last == -1 {
				return -1, -1, cw
			}
			restarted = true
		}
		lastPass = cw <= t.di
		if lastPass && restarted && last != -1 {
			stop = last
		}
	}
}

// firstAtLeast returns the first index in [lo, hi] whose weight is >= w (w >= 1), or -1:
// climb from leaf lo until a subtree to the right holds such a weight, then descend to its
// leftmost such leaf.
func (t *wrrTable) firstAtLeast(lo, hi, w int32) int32 {
	leaves := int32(t.leaves)
	i := lo + leaves
	if t.tree[i] < w {
		for {
			for i&1 == 1 {
				i >>= 1
			}
			if i == 0 {
				return -1
			}
			i++
			if t.tree[i] >= w {
				break
			}
		}
		for i < leaves {
			i <<= 1
			if t.tree[i] < w {
				i++
			}
		}
	}
	if j := i - leaves; j <= hi {
		return j
	}
	return -1
}

// change is the destIndex hook: a weight change rebuilds the table (the kernel's
// upd_dest); counters need nothing. Setting the weight a destination already has is no edit,
// so a reload that re-applies the same weights keeps the rotation where it is.
func (s *weightedRoundRobin) change(_ *destLink, d *Dest, op destOp, arg int64) bool {
	if op != opWeight || int64(d.weight.Load()) == arg {
		d.apply(op, arg)
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d.apply(op, arg)
	s.weightChanged()
	return true
}

func (s *weightedRoundRobin) barrier() {}

func (s *weightedRoundRobin) release() { s.releaseFrom(s) }

var (
	_ Scheduler = (*weightedRoundRobin)(nil)
	_ destIndex = (*weightedRoundRobin)(nil)
	_ releaser  = (*weightedRoundRobin)(nil)
)
