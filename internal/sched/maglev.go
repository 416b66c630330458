package sched

import (
	"fmt"
	"math/bits"
)

// DefaultMaglevTableSize is the kernel's mh table size (CONFIG_IP_VS_MH_TAB_INDEX 12).
const DefaultMaglevTableSize = 4093

// MaxMaglevTableSize bounds the table size NewMaglev accepts.
const MaxMaglevTableSize = 1 << 20

// The kernel's fixed mh hash keys: two directors with the same destinations build the same
// table without talking to each other.
var (
	maglevKey1 = sipKey{2654435761, 2654435761}
	maglevKey2 = sipKey{2654446892, 2654446892}
)

// maglevWeightBits is IP_VS_MH_TAB_BITS: weights are scaled down to at most 6 bits.
const maglevWeightBits = 6

func init() {
	Register("mh", func(flags Flags) Scheduler { return newMaglev(flags, DefaultMaglevTableSize) })
}

// NewMaglev returns the mh scheduler with a lookup table of tableSize slots, which must be
// a prime (the kernel uses 4093; a larger prime such as 65537 spreads weights finer and moves
// fewer flows when the list changes, but no longer matches an IPVS director).
func NewMaglev(flags Flags, tableSize int) (Scheduler, error) {
	if tableSize < 2 || tableSize > MaxMaglevTableSize || !isPrime(tableSize) {
		return nil, fmt.Errorf("sched: mh table size %d: want a prime between 2 and %d", tableSize, MaxMaglevTableSize)
	}
	return newMaglev(flags, tableSize), nil
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// maglev is ip_vs_mh: Maglev consistent hashing over the client address (plus the source
// port with mh-port), with the kernel's SipHash keys, table size and weight scaling. The
// table follows each destination's last non-zero weight, so quiescing a destination does not
// move anybody else's flows; its own clients get no server, or with mh-fallback a re-hashed
// one.
type maglev struct {
	flags Flags
	size  uint32
	publishedTable[maglevTable, *maglevTable]
	rebuildOnWeight
}

type maglevTable struct {
	dests       []*Dest
	lastWeights []int32
	slots       []int32 // index into dests, -1 for an empty slot
}

func (t *maglevTable) destinations() []*Dest { return t.dests }

func newMaglev(flags Flags, size int) *maglev { return &maglev{flags: flags, size: uint32(size)} }

func maglevHash(a addrPortHash, key sipKey, offset uint32) uint32 {
	return hsiphash32(offset+a.port+a.fold, key)
}

// addrPortHash is an address folded once for repeated hashing.
type addrPortHash struct{ fold, port uint32 }

func (s *maglev) Update(dests []*Dest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if extra := len(dests) - int(s.size); extra > 0 {
		// The kernel refuses the add that would exceed the table: keep the oldest ones.
		dests = dests[extra:]
	}
	relink(s, s.current(), dests)
	s.build(dests)
}

// build populates the table as ip_vs_mh_permutate and ip_vs_mh_populate do, unless the
// list and last weights are unchanged.
func (s *maglev) build(dests []*Dest) {
	lw := make([]int32, len(dests))
	for i, d := range dests {
		lw[i] = d.lastWeight.Load()
	}
	if old := s.table.Load(); old != nil && sameList(old.dests, dests) && equalInt32(old.lastWeights, lw) {
		return
	}
	m := s.size
	t := &maglevTable{dests: append([]*Dest(nil), dests...), lastWeights: lw, slots: make([]int32, m)}
	for i := range t.slots {
		t.slots[i] = -1
	}
	g, mx := weightStats(lw)
	if g > 0 {
		shift := max(bits.Len32(uint32(mx/g))-maglevWeightBits, 0)
		perm := make([]uint32, len(dests))
		skip := make([]uint32, len(dests))
		turns := make([]int32, len(dests))
		for i, d := range dests {
			a := addrPortHash{fold: foldAddr(d.Addr.Addr()), port: uint32(d.Addr.Port())}
			perm[i] = maglevHash(a, maglevKey1, 0) % m
			skip[i] = maglevHash(a, maglevKey2, 0)%(m-1) + 1
			turns[i] = (lw[i] / g) >> shift
			if turns[i] == 0 && lw[i] != 0 {
				turns[i] = 1
			}
		}
		filled := make([]bool, m)
		n := uint32(0)
	populate:
		for {
			for i := range dests {
				for range turns[i] {
					c := perm[i]
					for filled[c] {
						perm[i] += skip[i]
						if perm[i] >= m {
							perm[i] -= m
						}
						c = perm[i]
					}
					filled[c] = true
					t.slots[c] = int32(i)
					if n++; n == m {
						break populate
					}
				}
			}
		}
	}
	s.table.Store(t)
}

func (s *maglev) Pick(f Flow) *Dest {
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
	m := s.size
	a := addrPortHash{fold: foldAddr(f.Src.Addr()), port: f.hashPort(s.flags)}
	ihash := maglevHash(a, maglevKey1, 0) % m
	i := t.slots[ihash]
	if i < 0 {
		return nil
	}
	if d := t.dests[i]; d.available() {
		return d
	}
	if s.flags&Flag1 == 0 {
		return nil
	}
	// mh-fallback re-hashes with a growing offset (not linear probing); an empty slot ends
	// the search.
	for offset := uint32(0); offset < m; offset++ {
		roffset := (offset + ihash) % m
		i := t.slots[maglevHash(a, maglevKey1, roffset)%m]
		if i < 0 {
			return nil
		}
		if d := t.dests[i]; d.available() {
			return d
		}
	}
	return nil
}

func (s *maglev) release() { s.releaseFrom(s) }

var (
	_ Scheduler = (*maglev)(nil)
	_ destIndex = (*maglev)(nil)
	_ releaser  = (*maglev)(nil)
)
