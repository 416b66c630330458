package xdp

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// destTable is the program's array of destinations, double-buffered so that the program
// never reads an element while it is written (a next hop's MAC is 6 bytes, and an
// element is copied in with memcpy). The program reaches the array in use through the
// dests map of maps. A flush writes the changes into the other array, then swaps it in;
// the kernel returns from that update of a map of maps only after an RCU grace period,
// when no program can still hold the old array, which then becomes the one to write next.
type destTable struct {
	outer  *ebpf.Map
	arrays [2]*ebpf.Map
	held   [2][maxDests]govsXDPDest // what each array holds
	stale  [2]bool                  // a failed write left the array's content unknown
	cur    int                      // the array the program reads
	want   [maxDests]govsXDPDest    // what the next flush installs
	dirty  bool
}

// newDestTable creates the pair of arrays from the inner map's spec and installs the
// first, all zero (no destination).
func newDestTable(outer *ebpf.Map, inner *ebpf.MapSpec) (*destTable, error) {
	t := &destTable{outer: outer}
	for i := range t.arrays {
		m, err := ebpf.NewMap(inner)
		if err != nil {
			t.close()
			return nil, fmt.Errorf("xdp: creating the destination arrays: %w", err)
		}
		t.arrays[i] = m
	}
	if err := outer.Update(uint32(0), t.arrays[0], ebpf.UpdateAny); err != nil {
		t.close()
		return nil, fmt.Errorf("xdp: installing the destination array: %w", err)
	}
	return t, nil
}

// set makes v the element of id at the next flush.
func (t *destTable) set(id uint32, v govsXDPDest) {
	if t.want[id] != v {
		t.want[id] = v
		t.dirty = true
	}
}

// installed is the element of id the program reads now.
func (t *destTable) installed(id uint32) govsXDPDest { return t.held[t.cur][id] }

// flush installs what set asked for, if anything changed.
func (t *destTable) flush() error {
	if !t.dirty {
		return nil
	}
	next := 1 - t.cur
	var keys []uint32
	var vals []govsXDPDest
	for id := range t.want {
		if t.stale[next] || t.want[id] != t.held[next][id] {
			keys = append(keys, uint32(id))
			vals = append(vals, t.want[id])
		}
	}
	if len(keys) > 0 {
		if _, err := t.arrays[next].BatchUpdate(keys, vals, nil); err != nil {
			// The array is not in use: the next flush rewrites all of it.
			t.stale[next] = true
			return fmt.Errorf("xdp: writing the destination array: %w", err)
		}
		for i, id := range keys {
			t.held[next][id] = vals[i]
		}
		t.stale[next] = false
	}
	if err := t.outer.Update(uint32(0), t.arrays[next], ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdp: swapping the destination array in: %w", err)
	}
	t.cur, t.dirty = next, false
	return nil
}

func (t *destTable) close() {
	for _, m := range t.arrays {
		if m != nil {
			_ = m.Close()
		}
	}
}
