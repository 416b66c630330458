package sched

import (
	"fmt"
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

func testDests(weights ...int) []*Dest {
	dests := make([]*Dest, len(weights))
	for i, w := range weights {
		dests[i] = NewDest(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 80), w)
	}
	return dests
}

func mustNew(t interface{ Fatal(...any) }, name string, flags Flags) Scheduler {
	s, err := New(name, flags)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// destOps drives random counter, weight and threshold changes, the way a data plane and
// health checks do.
type destOps struct {
	dests []*Dest
	conns map[*Dest][2]int64 // open connections per destination: active, inactive
}

func (o *destOps) step(t *rapid.T) {
	d := o.dests[rapid.IntRange(0, len(o.dests)-1).Draw(t, "dest")]
	c := o.conns[d]
	switch rapid.IntRange(0, 9).Draw(t, "op") {
	case 0, 1, 2:
		d.Bind()
		c[1]++
	case 3, 4:
		if c[1] > 0 {
			d.SetActive(true)
			c[1]--
			c[0]++
		}
	case 5:
		if c[0] > 0 {
			d.SetActive(false)
			c[0]--
			c[1]++
		}
	case 6:
		if c[0] > 0 {
			d.Unbind(true)
			c[0]--
		}
	case 7:
		if c[1] > 0 {
			d.Unbind(false)
			c[1]--
		}
	case 8:
		d.SetWeight(rapid.IntRange(0, 5).Draw(t, "weight"))
	case 9:
		u := rapid.Int32Range(0, 6).Draw(t, "upper")
		d.SetThresholds(u, rapid.Int32Range(0, u).Draw(t, "lower"))
	}
	o.conns[d] = c
}

// TestLeastMatchesKernel: after any sequence of counter, weight and threshold changes the
// heap-indexed lc, wlc, sed, nq, fo and ovf pick exactly what the kernel's list scan picks.
func TestLeastMatchesKernel(t *testing.T) {
	for name, ref := range refSchedulers {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				ws := rapid.SliceOfN(rapid.IntRange(0, 5), 1, 12).Draw(t, "weights")
				dests := testDests(ws...)
				s := mustNew(t, name, 0)
				s.Update(dests)
				ops := &destOps{dests: dests, conns: map[*Dest][2]int64{}}
				for range rapid.IntRange(1, 200).Draw(t, "steps") {
					ops.step(t)
					if rapid.Bool().Draw(t, "reorder") && len(dests) > 1 {
						// An Update with a changed list re-indexes everything.
						i := rapid.IntRange(1, len(dests)-1).Draw(t, "rotate")
						dests = append(dests[i:len(dests):len(dests)], dests[:i]...)
						s.Update(dests)
					}
					if got, want := s.Pick(Flow{}), ref(dests); got != want {
						t.Fatalf("picked %v, kernel picks %v", addrOf(got), addrOf(want))
					}
				}
			})
		})
	}
}

func addrOf(d *Dest) string {
	if d == nil {
		return "none"
	}
	return fmt.Sprintf("%v(w%d a%d i%d ovl %v)", d.Addr, d.Weight(), d.Active(), d.Inactive(), d.Overloaded())
}

// TestWLCNeverPicksHigherLoad: the wlc/lc pick never has a larger overhead/weight than
// another available destination.
func TestWLCNeverPicksHigherLoad(t *testing.T) {
	for _, name := range []string{"lc", "wlc"} {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				dests := testDests(rapid.SliceOfN(rapid.IntRange(1, 100), 1, 50).Draw(t, "weights")...)
				s := mustNew(t, name, 0)
				s.Update(dests)
				for range rapid.IntRange(1, 300).Draw(t, "conns") {
					d := s.Pick(Flow{})
					if d == nil {
						t.Fatal("no pick")
					}
					for _, o := range dests {
						lhs, rhs := d.Overhead(), o.Overhead()
						if name == "wlc" {
							lhs, rhs = lhs*int64(o.Weight()), rhs*int64(d.Weight())
						}
						if lhs > rhs {
							t.Fatalf("picked %s, but %s is less loaded", addrOf(d), addrOf(o))
						}
					}
					d.Bind()
					if rapid.Bool().Draw(t, "active") {
						d.SetActive(true)
					}
				}
			})
		})
	}
}

// TestWRRMatchesKernel: the max-tree wrr follows the kernel's list walk pick for pick,
// through weight edits (upd_dest), overload, and destinations added one at a time.
func TestWRRMatchesKernel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		all := testDests(rapid.SliceOfN(rapid.IntRange(0, 8), 1, 10).Draw(t, "weights")...)
		s := mustNew(t, "wrr", 0)
		ref := &refWRR{}
		// ipvsadm adds one at a time, each at the head.
		var list []*Dest
		for _, d := range all {
			list = append([]*Dest{d}, list...)
			s.Update(list)
			ref.changed(list)
		}
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				d := list[rapid.IntRange(0, len(list)-1).Draw(t, "dest")]
				w := rapid.IntRange(0, 8).Draw(t, "weight")
				if w != d.Weight() { // setting the same weight is no edit
					d.SetWeight(w)
					ref.changed(list)
				}
			case 1:
				d := list[rapid.IntRange(0, len(list)-1).Draw(t, "dest")]
				d.overloaded.Store(!d.overloaded.Load())
			default:
				if got, want := s.Pick(Flow{}), ref.schedule(); got != want {
					t.Fatalf("picked %v, kernel picks %v", addrOf(got), addrOf(want))
				}
			}
		}
	})
}

// TestShares: over many picks each destination gets its weight's share, within 1%: wrr by
// weight, rr evenly (rr ignores weight magnitudes), mh by weight over random flows.
func TestShares(t *testing.T) {
	for _, name := range []string{"rr", "wrr", "mh"} {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				n := rapid.IntRange(1, 8).Draw(t, "n")
				ws := rapid.SliceOfN(rapid.IntRange(1, 10), n, n).Draw(t, "weights")
				if name == "rr" {
					w := ws[0]
					for i := range ws {
						ws[i] = w
					}
				}
				dests := testDests(ws...)
				s := mustNew(t, name, 0)
				s.Update(dests)
				total := 0
				for _, w := range ws {
					total += w
				}
				picks := 200 * total
				if name == "mh" {
					picks = 200000
				}
				count := map[*Dest]int{}
				seed := rapid.Uint32().Draw(t, "seed")
				for i := range picks {
					// Distinct, well-spread client addresses (a bijective mix of i).
					x := uint32(i)*0x9E3779B1 ^ seed
					src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), 40000)
					count[s.Pick(Flow{Proto: protoTCP, Src: src})]++
				}
				for i, d := range dests {
					got := float64(count[d]) / float64(picks)
					want := float64(ws[i]) / float64(total)
					if got < want-0.01 || got > want+0.01 {
						t.Fatalf("dest %d (weight %d): share %.4f, want %.4f ± 0.01", i, ws[i], got, want)
					}
				}
			})
		})
	}
}

// maglevSlots returns the destination address of every slot of an mh scheduler's table.
func maglevSlots(s *maglev) []netip.AddrPort {
	t := s.table.Load()
	out := make([]netip.AddrPort, len(t.slots))
	for i, x := range t.slots {
		if x >= 0 {
			out[i] = t.dests[x].Addr
		}
	}
	return out
}

// TestMaglevMinimalDisruption: removing 1 of N destinations moves at most 1/N + 1% of the
// table (the Maglev paper's bound) with a 65537-slot table, for N up to 64. The kernel's
// 4093-slot table is too small for that bound once N grows (it needs M >> N): measured
// worst case 1/N + 2.9% at N = 56, so it is held to 1/N + 3%.
func TestMaglevMinimalDisruption(t *testing.T) {
	for _, tc := range []struct {
		size  int
		slack float64
	}{{65537, 0.01}, {DefaultMaglevTableSize, 0.03}} {
		size := tc.size
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				n := rapid.IntRange(2, 64).Draw(t, "n")
				dests := testDests(make([]int, n)...)
				for _, d := range dests {
					d.SetWeight(1)
				}
				s := newMaglev(0, size)
				s.Update(dests)
				before := maglevSlots(s)
				gone := rapid.IntRange(0, n-1).Draw(t, "removed")
				s.Update(append(dests[:gone:gone], dests[gone+1:]...))
				after := maglevSlots(s)
				moved := 0
				for i := range before {
					if before[i] != after[i] {
						moved++
					}
				}
				if frac := float64(moved) / float64(size); frac > 1/float64(n)+tc.slack {
					t.Fatalf("removing 1 of %d moved %.4f of the slots, want <= %.4f", n, frac, 1/float64(n)+tc.slack)
				}
			})
		})
	}
}

// TestTwosDrawMatchesKernelWalk: the Fenwick search lands every draw on the destination
// the kernel's list walk (subtract weights until <= 0) lands on.
func TestTwosDrawMatchesKernelWalk(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dests := testDests(rapid.SliceOfN(rapid.IntRange(0, 9), 1, 40).Draw(t, "weights")...)
		s := newTwoChoices(nil)
		s.Update(dests)
		if s.total == 0 {
			return // Pick answers nil without drawing
		}
		for r := int64(0); r <= s.total; r++ {
			want, rest := -1, r
			for i, d := range dests {
				if w := int64(d.Weight()); w > 0 {
					if rest -= w; rest <= 0 {
						want = i
						break
					}
				}
			}
			if got := s.find(max(r, 1)); got != want {
				t.Fatalf("draw %d: slot %d, kernel walk %d", r, got, want)
			}
		}
	})
}
