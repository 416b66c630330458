package sched

func init() {
	Register("dh", func(Flags) Scheduler { return &destHash{} })
	Register("sh", func(flags Flags) Scheduler { return &sourceHash{flags: flags} })
}

// hashBuckets is the table size of dh and sh: 2^CONFIG_IP_VS_{DH,SH}_TAB_BITS, 8 by default.
const (
	hashBits    = 8
	hashBuckets = 1 << hashBits
	hashMask    = hashBuckets - 1
)

// destHash is ip_vs_dh: 256 buckets keyed by hash_32 of the packet's destination address,
// filled by cycling through the list (weights ignored). Rebuilt only when the list changes,
// not on weight edits, as in the kernel. No fallback: an unavailable bucket is no pick.
type destHash struct {
	publishedTable[hashTable, *hashTable]
}

// hashTable is an immutable bucket table and the list it was built from.
type hashTable struct {
	dests   []*Dest
	weights []int32 // as of the build (sh)
	buckets [hashBuckets]*Dest
}

func (t *hashTable) destinations() []*Dest { return t.dests }

func (s *destHash) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.table.Load(); old != nil && sameList(old.dests, dests) {
		return
	}
	t := &hashTable{dests: append([]*Dest(nil), dests...)}
	if n := len(dests); n > 0 {
		for i := range t.buckets {
			t.buckets[i] = dests[i%n]
		}
	}
	s.table.Store(t)
}

func (s *destHash) Pick(f Flow) *Dest {
	t := s.table.Load()
	if t == nil {
		return nil
	}
	d := t.buckets[hash32(foldAddr(f.Dst.Addr()), hashBits)]
	if d == nil || !d.available() {
		return nil
	}
	return d
}

// sourceHash is ip_vs_sh: 256 buckets keyed by hash_32 of the client address (plus the
// source port with sh-port), filled in list order with weight consecutive buckets per
// destination (a weight-0 destination still takes one). Rebuilt on every list or weight
// change, so quiescing one server reshuffles the others' clients, as in the kernel.
type sourceHash struct {
	flags Flags
	publishedTable[hashTable, *hashTable]
	rebuildOnWeight
}

func (s *sourceHash) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	relink(s, s.current(), dests)
	s.build(dests)
}

// build fills the buckets as ip_vs_sh_reassign, unless nothing it depends on changed.
func (s *sourceHash) build(dests []*Dest) {
	ws := make([]int32, len(dests))
	for i, d := range dests {
		ws[i] = d.weight.Load()
	}
	if old := s.table.Load(); old != nil && sameList(old.dests, dests) && equalInt32(old.weights, ws) {
		return
	}
	t := &hashTable{dests: append([]*Dest(nil), dests...), weights: ws}
	if n := len(dests); n > 0 {
		p, count := 0, int32(0)
		for i := range t.buckets {
			t.buckets[i] = dests[p]
			count++
			if count >= ws[p] {
				p = (p + 1) % n
				count = 0
			}
		}
	}
	s.table.Store(t)
}

func equalInt32(a, b []int32) bool {
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

func (s *sourceHash) Pick(f Flow) *Dest {
	if s.dirty.Load() {
		s.mu.Lock()
		if s.dirty.Swap(false) {
			if t := s.table.Load(); t != nil {
				s.build(t.dests)
			}
		}
		s.mu.Unlock()
	}
	t := s.table.Load()
	if t == nil {
		return nil
	}
	ihash := hash32(f.hashPort(s.flags)+foldAddr(f.Src.Addr()), hashBits)
	d := t.buckets[ihash]
	if d == nil {
		return nil
	}
	if d.available() {
		return d
	}
	if s.flags&Flag1 == 0 {
		return nil
	}
	// sh-fallback: the kernel probes (offset + ihash) + ihash, i.e. linear probing that
	// starts at 2*ihash; an empty bucket ends the search.
	for offset := uint32(0); offset < hashBuckets; offset++ {
		d := t.buckets[(offset+2*ihash)&hashMask]
		if d == nil {
			return nil
		}
		if d.available() {
			return d
		}
	}
	return nil
}

func (s *sourceHash) release() { s.releaseFrom(s) }

var (
	_ Scheduler = (*destHash)(nil)
	_ Scheduler = (*sourceHash)(nil)
	_ destIndex = (*sourceHash)(nil)
	_ releaser  = (*sourceHash)(nil)
)
