package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
)

// bigInput is a large director: 100 services of 10 checked real servers each.
func bigInput() status.Input {
	var in status.Input
	for s := range 100 {
		key := table.ServiceKey{Protocol: table.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(s)}), 80)}
		es := engine.ServiceStatus{Key: key, Quorum: true}
		ts := table.Service{ServiceKey: key, Scheduler: "wlc"}
		st := table.ServiceStats{Key: key}
		for r := range 10 {
			addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(s), byte(r)}), 8080)
			es.RealServers = append(es.RealServers, engine.RealServerStatus{Addr: addr, Up: true, Weight: 1, TableWeight: 1})
			ts.Dests = append(ts.Dests, table.Dest{Addr: addr, Weight: 1})
			st.Dests = append(st.Dests, table.DestStats{Addr: addr, ActiveConn: 5, Counters: table.Counters{Conns: 1000, InBytes: 1 << 20}})
			in.Checks = append(in.Checks, check.ServerStatus{VS: key, RS: addr, Up: true, Checkers: []check.CheckerStatus{
				{Name: "HTTP_GET#0", Up: true, Checks: 100, LastOK: true, LastLatency: time.Millisecond, LastAt: time.Now()}}})
		}
		in.Engine.Services = append(in.Engine.Services, es)
		in.Table.Services = append(in.Table.Services, ts)
		in.Stats.Services = append(in.Stats.Services, st)
	}
	return in
}

// BenchmarkBuild is the cost of one snapshot of a 100×10 director, taken on every
// scrape, API call and dashboard refresh. Goal: under 5 ms.
func BenchmarkBuild(b *testing.B) {
	in := bigInput()
	b.ReportAllocs()
	for b.Loop() {
		status.Build(in)
	}
}

// BenchmarkScrape is one /metrics answer for a 100×10 director (about 30,000 series),
// snapshot included. Goal: under 100 ms, so a 15 s scrape interval costs under 1% of a CPU.
func BenchmarkScrape(b *testing.B) {
	snap := status.Build(bigInput())
	fake := &fakeDaemon{snap: snap}
	srv := newServer(Options{Backend: fake})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b.ReportMetric(float64(w.Body.Len()), "bytes/scrape")
}

// BenchmarkStatusJSON is one /api/v1/status answer for a 100×10 director: what each
// open dashboard asks for every second.
func BenchmarkStatusJSON(b *testing.B) {
	srv := newServer(Options{Backend: &fakeDaemon{snap: status.Build(bigInput())}})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/status", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/status", nil))
	b.ReportMetric(float64(w.Body.Len()), "bytes/answer")
}
