package sched

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

var benchSizes = []int{10, 100, 1000, 10000}

// benchScheduler builds algo over n destinations with weights 1..10 and some load already
// on them, and a set of 1024 flows (sources and destination addresses) to pick for.
func benchScheduler(b *testing.B, algo string, n int) (Scheduler, []*Dest, []Flow) {
	b.Helper()
	dests := make([]*Dest, n)
	for i := range dests {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		dests[i] = NewDest(netip.AddrPortFrom(a, 80), 1+i%10)
	}
	var s Scheduler
	if algo == "mh" && n > DefaultMaglevTableSize {
		// The kernel's table holds at most 4093 destinations; use the larger prime.
		m, err := NewMaglev(0, 65537)
		if err != nil {
			b.Fatal(err)
		}
		s = m
	} else {
		s = mustNew(b, algo, 0)
	}
	s.Update(dests)
	for i, d := range dests {
		for range i % 7 {
			d.Bind()
		}
		if i%3 == 0 {
			d.SetActive(true)
		}
	}
	flows := make([]Flow, 1024)
	now := time.Now()
	for i := range flows {
		x := uint32(i) * 0x9E3779B1
		flows[i] = Flow{
			Proto: protoTCP,
			Src:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), uint16(x)),
			Dst:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), 80),
			Now:   now,
		}
	}
	return s, dests, flows
}

// BenchmarkPick measures one scheduling decision, BenchmarkPick/<algo>/<N>/single and
// /parallel (all CPUs picking from one scheduler).
func BenchmarkPick(b *testing.B) {
	for _, algo := range Names() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", algo, n), func(b *testing.B) {
				s, _, flows := benchScheduler(b, algo, n)
				b.Run("single", func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						s.Pick(flows[i&1023])
						i++
					}
				})
				b.Run("parallel", func(b *testing.B) {
					b.ReportAllocs()
					var seed atomic.Uint32
					b.RunParallel(func(pb *testing.PB) {
						i := int(seed.Add(1)) * 331
						for pb.Next() {
							s.Pick(flows[i&1023])
							i++
						}
					})
				})
			})
		}
	}
}

// BenchmarkConn measures what a connection costs the scheduler over its life: the pick,
// Bind, and the Unbind at the end (for lc, wlc and the other indexed schedulers these two
// re-position the destination in the heap).
func BenchmarkConn(b *testing.B) {
	for _, algo := range Names() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", algo, n), func(b *testing.B) {
				s, _, flows := benchScheduler(b, algo, n)
				b.Run("single", func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if d := s.Pick(flows[i&1023]); d != nil {
							d.Bind()
							d.Unbind(false)
						}
						i++
					}
				})
				b.Run("parallel", func(b *testing.B) {
					b.ReportAllocs()
					var seed atomic.Uint32
					b.RunParallel(func(pb *testing.PB) {
						i := int(seed.Add(1)) * 331
						for pb.Next() {
							if d := s.Pick(flows[i&1023]); d != nil {
								d.Bind()
								d.Unbind(false)
							}
							i++
						}
					})
				})
			})
		}
	}
}

// BenchmarkSchedule measures Service.Schedule + Done with persistence (templates for 1024
// returning clients) and without.
func BenchmarkSchedule(b *testing.B) {
	for _, persistent := range []bool{false, true} {
		name := "wlc"
		cfg := ServiceConfig{Scheduler: name}
		if persistent {
			name += "-persistent"
			cfg.Persistence = time.Hour
		}
		b.Run(fmt.Sprintf("%s/1000", name), func(b *testing.B) {
			_, dests, flows := benchScheduler(b, "rr", 1000)
			s, err := NewService(cfg, dests)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			b.Run("single", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if c, ok := s.Schedule(flows[i&1023]); ok {
						s.Done(c, false, now)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				var seed atomic.Uint32
				b.RunParallel(func(pb *testing.PB) {
					i := int(seed.Add(1)) * 331
					for pb.Next() {
						if c, ok := s.Schedule(flows[i&1023]); ok {
							s.Done(c, false, now)
						}
						i++
					}
				})
			})
		})
	}
}
