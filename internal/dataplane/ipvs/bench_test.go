package ipvs

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// nullKernel accepts every request at no cost, so the benchmarks below measure the
// plane itself: planning, bookkeeping, allocation.
type nullKernel struct{}

func (nullKernel) Services() ([]table.Service, []table.ServiceStats, error) { return nil, nil, nil }
func (nullKernel) Change(ops []op) []error                                  { return make([]error, len(ops)) }
func (nullKernel) Timeouts() (table.Timeouts, error)                        { return table.Timeouts{}, nil }
func (nullKernel) Flush() error                                             { return nil }
func (nullKernel) Daemons() ([]adm.Daemon, error)                           { return nil, nil }
func (nullKernel) NewDaemon(adm.Daemon) error                               { return nil }
func (nullKernel) DelDaemon(adm.DaemonState) error                          { return nil }
func (nullKernel) Close() error                                             { return nil }

// bigTable is the benchmark table of docs/performance.md: n services x m real servers.
func bigTable(n, m, firstWeight int) table.Table {
	var t table.Table
	for i := range n {
		s := table.Service{ServiceKey: tcp(fmt.Sprintf("192.168.%d.%d:80", 100+i/250, i%250+1)), Scheduler: "wlc"}
		for j := 1; j <= m; j++ {
			w := 1
			if i == 0 && j == 1 {
				w = firstWeight
			}
			s.Dests = append(s.Dests, table.Dest{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i%250 + 1), byte(j)}), 80), Weight: w})
		}
		t.Services = append(t.Services, s)
	}
	return t
}

// BenchmarkApplyStart: programming 1,000 services x 10 real servers from nothing.
func BenchmarkApplyStart(b *testing.B) {
	t := bigTable(1000, 10, 1)
	for b.Loop() {
		p := newPlane(nullKernel{}, quiet())
		if err := p.Apply(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyReload: a reload of the same table (goal: no request) and of a table with
// one changed weight (goal: one request).
func BenchmarkApplyReload(b *testing.B) {
	same, one := bigTable(1000, 10, 1), bigTable(1000, 10, 7)
	for _, tc := range []struct {
		name string
		next table.Table
		want uint64
	}{{"nochange", same, 0}, {"oneweight", one, 1}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				p := newPlane(nullKernel{}, quiet())
				if err := p.Apply(context.Background(), same); err != nil {
					b.Fatal(err)
				}
				before, _ := p.Requests()
				b.StartTimer()
				if err := p.Apply(context.Background(), tc.next); err != nil {
					b.Fatal(err)
				}
				if after, _ := p.Requests(); after-before != tc.want {
					b.Fatalf("%d requests, want %d", after-before, tc.want)
				}
			}
		})
	}
}
