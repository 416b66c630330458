package xdp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/govs/govs/internal/table"
)

// fakeClock is a time the test moves, read by the plane's control loop too.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// withClock makes p run on a fake clock starting at its epoch, and installs it.
func withClock(t testing.TB, p *Plane) *fakeClock {
	t.Helper()
	c := &fakeClock{}
	c.ns.Store(p.epoch.UnixNano())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = c.now
	if err := p.writeClock(c.now()); err != nil {
		t.Fatal(err)
	}
	return c
}

// tick moves the clock on, installs it and scans the flow table, as the control loop
// would over that time.
func tick(t testing.TB, p *Plane, c *fakeClock, d time.Duration) {
	t.Helper()
	c.advance(d)
	p.mu.Lock()
	err := p.writeClock(c.now())
	p.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.scanFlows(); err != nil {
		t.Fatal(err)
	}
}

func destStats(t testing.TB, p *Plane, svc int) table.DestStats {
	t.Helper()
	st := p.Stats()
	if len(st.Services) <= svc || len(st.Services[svc].Dests) == 0 {
		t.Fatalf("stats %+v: no service %d with a real server", st, svc)
	}
	return st.Services[svc].Dests[0]
}

func flowCountIn(t testing.TB, p *Plane) int {
	t.Helper()
	var k govsXDPFlowKey
	var v govsXDPFlow
	n := 0
	for it := p.objs.Flows.Iterate(); it.Next(&k, &v); {
		n++
	}
	return n
}

// TestFlowAging: flows that end without a FIN or RST from the client stop counting as
// active once idle past their protocol's timeout, and are deleted; closed TCP flows count
// as inactive until the FIN timeout; UDP flows count as active.
func TestFlowAging(t *testing.T) {
	p := testPlane(t)
	clock := withClock(t, p)
	udp := table.Service{ServiceKey: table.ServiceKey{Protocol: table.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53")}, Scheduler: "rr", Dests: []table.Dest{dr(netip.MustParseAddrPort("10.0.0.11:53"), 1)}}
	tcpSvc := drService("rr", dr(rs1, 1))
	if err := p.Apply(context.Background(), table.Table{
		Services: []table.Service{tcpSvc, udp},
		Timeouts: table.Timeouts{TCP: 60 * time.Second, TCPFin: 10 * time.Second, UDP: 30 * time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	// Three TCP flows: one closed by the client, two left open; two UDP flows.
	for i := range 3 {
		run(t, p, tcpFrame(client(i), vip, syn, 0))
		run(t, p, tcpFrame(client(i), vip, ack, 10))
	}
	run(t, p, tcpFrame(client(0), vip, fin|ack, 0))
	for i := range 2 {
		run(t, p, ipFrame(17, client(i), udp.Addr, 0, 20))
	}
	tick(t, p, clock, time.Second)
	if d := destStats(t, p, 0); d.ActiveConn != 2 || d.InActConn != 1 {
		t.Fatalf("TCP after 2 open and 1 closed flows: active %d inactive %d, want 2 and 1", d.ActiveConn, d.InActConn)
	}
	if d := destStats(t, p, 1); d.ActiveConn != 2 {
		t.Fatalf("UDP after 2 flows: active %d, want 2", d.ActiveConn)
	}

	// 20 s on: the closed flow is past the FIN timeout; client 1 keeps talking.
	tick(t, p, clock, 20*time.Second)
	run(t, p, tcpFrame(client(1), vip, ack, 10))
	run(t, p, ipFrame(17, client(1), udp.Addr, 0, 20))
	tick(t, p, clock, time.Second)
	if d := destStats(t, p, 0); d.ActiveConn != 2 || d.InActConn != 0 {
		t.Errorf("TCP 21 s on: active %d inactive %d, want 2 and 0", d.ActiveConn, d.InActConn)
	}
	// 45 s on: client 0's UDP flow is past the UDP timeout, client 1's is not.
	tick(t, p, clock, 24*time.Second)
	if d := destStats(t, p, 1); d.ActiveConn != 1 {
		t.Errorf("UDP 45 s on: active %d, want 1 (the other flow idle for 45 s > 30 s)", d.ActiveConn)
	}
	// 75 s on: client 2's TCP flow, which never closed, is past the TCP timeout.
	tick(t, p, clock, 30*time.Second)
	if d := destStats(t, p, 0); d.ActiveConn != 1 {
		t.Errorf("TCP 75 s on: active %d, want 1 (client 2 idle for 75 s > 60 s)", d.ActiveConn)
	}
	if n := flowCountIn(t, p); n != 1 {
		t.Errorf("%d flows left in the table, want 1 (client 1's TCP flow)", n)
	}
	// Client 2 comes back after its flow expired: scheduled again, a new flow.
	before := destStats(t, p, 0)
	if ret, _ := run(t, p, tcpFrame(client(2), vip, ack, 10)); ret != xdpTX {
		t.Fatalf("a packet of an expired flow: action %d, want XDP_TX", ret)
	}
	if d := destStats(t, p, 0); d.Conns != before.Conns+1 || d.ActiveConn != 2 {
		t.Errorf("after an expired flow came back: conns %d→%d, active %d; want one more conn and 2 active", before.Conns, d.Conns, d.ActiveConn)
	}
}

// TestFlowAgingKeepsBusyFlows: a flow sending a packet every few seconds through the
// per-CPU cache stays fresh in the shared table.
func TestFlowAgingKeepsBusyFlows(t *testing.T) {
	p := testPlane(t)
	clock := withClock(t, p)
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{drService("rr", dr(rs1, 1))}, Timeouts: table.Timeouts{TCP: 10 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	run(t, p, tcpFrame(client(1), vip, syn, 0))
	for range 10 {
		for range 3 {
			run(t, p, tcpFrame(client(1), vip, ack, 100))
		}
		tick(t, p, clock, 4*time.Second)
	}
	if d := destStats(t, p, 0); d.ActiveConn != 1 || d.Conns != 1 {
		t.Errorf("a flow busy for 40 s with a 10 s timeout: active %d, conns %d; want 1 and 1", d.ActiveConn, d.Conns)
	}
}

// TestDestSwapUnderTraffic changes a real server's MAC over and over while the program
// forwards its flow on another goroutine: every frame carries one of the two MACs
// whole, and after the last change the new one.
func TestDestSwapUnderTraffic(t *testing.T) {
	p := testPlane(t)
	macs := []net.HardwareAddr{{0x02, 0x11, 0x11, 0x11, 0x11, 0x11}, {0x02, 0x22, 0x22, 0x22, 0x22, 0x22}}
	var which atomic.Int32
	p.resolve = func(ctx context.Context, a []netip.Addr) map[netip.Addr]nextHop {
		m := fakeHops(ctx, a)
		for k, h := range m {
			h.mac = macs[which.Load()]
			m[k] = h
		}
		return m
	}
	apply(t, p, drService("rr", dr(rs1, 1)))
	run(t, p, tcpFrame(client(1), vip, syn, 0))
	frame := tcpFrame(client(1), vip, ack, 10)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	var runs atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Not run(): t.Fatal belongs to the test's goroutine.
			out := make([]byte, len(frame))
			ret, err := p.objs.GovsXdp.Run(&ebpf.RunOptions{Data: frame, DataOut: out, Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: testIfindex}})
			runs.Add(1)
			if err != nil || ret != xdpTX || (string(out[:6]) != string(macs[0]) && string(out[:6]) != string(macs[1])) {
				bad.Store(fmt.Sprintf("action %d, error %v, destination MAC %s", ret, err, net.HardwareAddr(out[:6])))
				return
			}
		}
	}()
	const changes = 40
	for i := range changes {
		which.Store(int32((i + 1) % 2))
		p.refreshHops(context.Background())
	}
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatalf("%v; want XDP_TX to %s or %s", b, macs[0], macs[1])
	}
	_, out := run(t, p, frame)
	if want := macs[changes%2]; string(out[:6]) != string(want) {
		t.Errorf("after the last change the flow goes to %s, want %s", net.HardwareAddr(out[:6]), want)
	}
	t.Logf("%d runs during %d swaps", runs.Load(), changes)
}
