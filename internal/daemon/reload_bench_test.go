package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
)

// benchConfig is the configuration of test/ipvs-oracle/scenarios/bench.sh: n TCP
// virtual services x m NAT real servers (wlc), the first real server of the first
// service at weight w1. With checked, every real server has a TCP_CHECK.
func benchConfig(n, m, w1 int, checked bool) []byte {
	var b strings.Builder
	b.WriteString("global_defs { router_id b }\n")
	for i := range n {
		a, c := i/250, i%250+1
		fmt.Fprintf(&b, "virtual_server 192.168.%d.%d 80 {\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n", 100+a, c)
		for j := 1; j <= m; j++ {
			w := 1
			if i == 0 && j == 1 {
				w = w1
			}
			if checked {
				fmt.Fprintf(&b, "  real_server 10.%d.%d.%d 80 {\n    weight %d\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n", a, c, j, w)
			} else {
				fmt.Fprintf(&b, "  real_server 10.%d.%d.%d 80 { weight %d }\n", a, c, j, w)
			}
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// lastTablePlane is a data plane that keeps the last table it was handed.
type lastTablePlane struct {
	applies int
	last    table.Table
}

func (p *lastTablePlane) Apply(_ context.Context, t table.Table) error {
	p.applies++
	p.last = t
	return nil
}
func (p *lastTablePlane) Stats() table.Stats          { return table.Stats{} }
func (p *lastTablePlane) Close(context.Context) error { return nil }

var _ dataplane.Dataplane = (*lastTablePlane)(nil)

// BenchmarkReload is SIGHUP's work for the configuration of the kernel suite's
// benchmark, 1,000 virtual services x 10 real servers: read, parse, check and plan the
// file, recompute the table (handed to a data plane that keeps it) and reconcile the
// checkers, which are not running. "nochange" reloads the same file, "oneweight"
// alternates between two files that differ in one weight; "checked" gives every real
// server a TCP_CHECK. live-MB is the heap after a collection, once the reloads are done.
// The kernel plane's own diff is BenchmarkApplyReload in internal/dataplane/ipvs.
func BenchmarkReload(b *testing.B) {
	for _, checked := range []bool{false, true} {
		for _, change := range []string{"nochange", "oneweight"} {
			name := change
			if checked {
				name += "/checked"
			}
			b.Run(name, func(b *testing.B) { benchReload(b, checked, change == "oneweight") })
		}
	}
}

func benchReload(b *testing.B, checked, alternate bool) {
	dir := b.TempDir()
	paths := [2]string{filepath.Join(dir, "w1.conf"), filepath.Join(dir, "w7.conf")}
	for i, w := range []int{1, 7} {
		if err := os.WriteFile(paths[i], benchConfig(1000, 10, w, checked), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	opts := Options{ConfigPath: paths[0], Logger: log}
	plan, _, err := loadConfigPlan(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dp := &lastTablePlane{}
	eng := engine.New(dp, engine.Options{Logger: log})
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := eng.Load(ctx, plan.Spec); err != nil {
		b.Fatal(err)
	}
	cm := check.NewManager(check.Options{Logger: log})
	if err := cm.Update(plan.Checks); err != nil {
		b.Fatal(err)
	}
	d := &Daemon{opts: opts, log: log, plan: plan, eng: eng, check: cm, dp: dp}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if alternate {
			n++
			d.opts.ConfigPath = paths[n%2]
		}
		if err := d.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if got, want := dp.last.Services[0].Dests[0].Weight, []int{1, 7}[n%2]; got != want || dp.applies < 2 {
		b.Fatalf("after %d tables the first weight is %d, want %d", dp.applies, got, want)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/1e6, "live-MB")
}
