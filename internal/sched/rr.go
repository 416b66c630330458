package sched

import (
	"sync"
	"sync/atomic"
)

func init() { Register("rr", func(Flags) Scheduler { return &roundRobin{} }) }

// roundRobin is ip_vs_rr: a cursor on the last chosen destination; a pick takes the next
// available one in list order, wrapping once. Weights only matter as zero or not.
type roundRobin struct {
	mu    sync.Mutex // serialises Update
	state atomic.Pointer[rrState]
}

type rrState struct {
	dests []*Dest
	// cursor is the list index of the last chosen destination, -1 for the list head.
	cursor atomic.Int64
}

// Update keeps the cursor on the same destination. If that destination was removed, the
// cursor moves back to the nearest earlier one that stays (ip_vs_rr_del_dest moves it to
// the previous list entry), or to the head.
func (s *roundRobin) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &rrState{dests: append([]*Dest(nil), dests...)}
	next.cursor.Store(-1)
	if old := s.state.Load(); old != nil {
		pos := make(map[*Dest]int, len(dests))
		for i, d := range dests {
			pos[d] = i
		}
		for c := old.cursor.Load(); c >= 0; c-- {
			if i, ok := pos[old.dests[c]]; ok {
				next.cursor.Store(int64(i))
				break
			}
		}
	}
	s.state.Store(next)
}

// Pick scans from the entry after the cursor to the end, then from the head up to and
// including the cursor; the first available destination wins and becomes the cursor.
func (s *roundRobin) Pick(Flow) *Dest {
	st := s.state.Load()
	if st == nil || len(st.dests) == 0 {
		return nil
	}
	n := int64(len(st.dests))
	for {
		cur := st.cursor.Load()
		var hit int64 = -1
		for k := int64(1); k <= n; k++ {
			i := (cur + k) % n
			if cur < 0 {
				// From the head one pass covers the whole list.
				i = k - 1
			}
			if st.dests[i].available() {
				hit = i
				break
			}
		}
		if hit < 0 {
			return nil
		}
		if st.cursor.CompareAndSwap(cur, hit) {
			return st.dests[hit]
		}
	}
}

var _ Scheduler = (*roundRobin)(nil)
