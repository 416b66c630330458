package sched

import (
	"sync"
	"sync/atomic"
)

// publishedTable is what the table-building schedulers (dh, sh, mh, wrr) share: picks read
// an immutable table of the destinations without a lock, and mu serialises building it.
type publishedTable[T any, P interface {
	*T
	destinations() []*Dest
}] struct {
	mu    sync.Mutex
	table atomic.Pointer[T]
}

// current is the destination list of the published table (nil before the first Update).
func (p *publishedTable[T, P]) current() []*Dest {
	if t := p.table.Load(); t != nil {
		return P(t).destinations()
	}
	return nil
}

// releaseFrom gives up ix's ownership of the published destinations; ix is the scheduler
// that embeds p.
func (p *publishedTable[T, P]) releaseFrom(ix destIndex) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.current() {
		d.detach(ix)
	}
}

// relink makes ix the owner of next, each at its position, and gives up the destinations
// of old that next no longer holds.
func relink(ix destIndex, old, next []*Dest) {
	keep := make(map[*Dest]struct{}, len(next))
	for _, d := range next {
		keep[d] = struct{}{}
	}
	for _, d := range old {
		if _, ok := keep[d]; !ok {
			d.detach(ix)
		}
	}
	for i, d := range next {
		d.attach(ix, i)
	}
}

// rebuildOnWeight is the destIndex half of sh and mh: counters need no re-ordering, and a
// weight change only marks the table for a rebuild at the next pick.
type rebuildOnWeight struct{ dirty atomic.Bool }

func (r *rebuildOnWeight) change(_ *destLink, d *Dest, op destOp, arg int64) bool {
	d.apply(op, arg)
	if op == opWeight {
		r.dirty.Store(true)
	}
	return true
}

func (r *rebuildOnWeight) barrier() {}
