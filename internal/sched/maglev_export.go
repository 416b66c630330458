package sched

import (
	"fmt"
	"net/netip"
)

// MaglevDest is one destination of a Maglev table: its address and the weight its
// slots are spread by (IPVS's last non-zero weight for mh).
type MaglevDest struct {
	Addr   netip.AddrPort
	Weight int
}

// MaglevTable returns the lookup table the mh scheduler builds for dests, in the
// kernel's list order, over tableSize slots (a prime; DefaultMaglevTableSize matches
// IPVS): slot i holds an index into dests, or -1 when it is empty (no positive weight).
// Data planes that do the lookup themselves (the XDP program) use it; a flow's slot is
// MaglevSlot of its hash key.
func MaglevTable(dests []MaglevDest, tableSize int) ([]int32, error) {
	if tableSize < 2 || tableSize > MaxMaglevTableSize || !isPrime(tableSize) {
		return nil, fmt.Errorf("sched: mh table size %d: want a prime between 2 and %d", tableSize, MaxMaglevTableSize)
	}
	if len(dests) > tableSize {
		return nil, fmt.Errorf("sched: %d destinations do not fit a mh table of %d slots", len(dests), tableSize)
	}
	ds := make([]*Dest, len(dests))
	for i, d := range dests {
		if d.Weight < 0 {
			return nil, fmt.Errorf("sched: destination %s: weight %d is negative", d.Addr, d.Weight)
		}
		ds[i] = NewDest(d.Addr, d.Weight)
	}
	m := newMaglev(0, tableSize)
	m.build(ds)
	return m.table.Load().slots, nil
}

// MaglevSlot is the slot mh looks up first for a flow whose hash key is key: the
// client address folded to 32 bits (an IPv4 address as a number) plus, with mh-port,
// the client port.
func MaglevSlot(key uint32, tableSize int) int {
	return int(hsiphash32(key, maglevKey1) % uint32(tableSize))
}
