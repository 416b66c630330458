package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/table"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPlane starts a plane with two loops and closes it at the end of the test.
func newPlane(t testing.TB) *Plane {
	t.Helper()
	return newPlaneLoops(t, 2)
}

func newPlaneLoops(t testing.TB, loops int) *Plane {
	t.Helper()
	p, err := New(slog.New(slog.DiscardHandler), loops)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB, network, host string) netip.AddrPort {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).AddrPort()
	default:
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).AddrPort()
	}
}

// backend is an in-process TCP real server. For every connection it writes its name
// and a newline, then serves lines: "echo X" → "X", "size N" → N bytes, EOF → closes
// after writing "bye" (so half-close can be checked).
type backend struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
	// firstLine receives the first bytes a connection sent, when it is a PROXY header.
	mu      sync.Mutex
	headers []string
}

func startBackend(t testing.TB, name, host string, proxyHeader bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.serve(c, proxyHeader)
			}()
		}
	}()
	t.Cleanup(b.stop)
	return b
}

func (b *backend) addr() netip.AddrPort { return b.ln.Addr().(*net.TCPAddr).AddrPort() }

func (b *backend) stop() {
	b.ln.Close()
	b.wg.Wait()
}

func (b *backend) serve(c net.Conn, proxyHeader bool) {
	defer c.Close()
	r := bufio.NewReader(c)
	if proxyHeader {
		h, err := readProxyHeader(r)
		if err != nil {
			fmt.Fprintf(c, "bad header: %v\n", err)
			return
		}
		b.mu.Lock()
		b.headers = append(b.headers, h.String())
		b.mu.Unlock()
	}
	fmt.Fprintf(c, "%s\n", b.name)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Fprint(c, "bye\n")
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "echo":
			fmt.Fprintf(c, "%s\n", arg)
		case "size":
			var n int
			fmt.Sscan(arg, &n)
			if _, err := io.CopyN(c, zeros{}, int64(n)); err != nil {
				return
			}
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func tcpService(vip netip.AddrPort, sched string, dests ...netip.AddrPort) table.Service {
	s := table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: vip}, Scheduler: sched, Name: "test:1"}
	for _, d := range dests {
		s.Dests = append(s.Dests, table.Dest{Addr: d, Weight: 1, Method: table.Masquerade})
	}
	return s
}

func apply(t testing.TB, p *Plane, svcs ...table.Service) {
	t.Helper()
	if err := p.Apply(context.Background(), table.Table{Services: svcs}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// session is a client connection through the proxy.
type session struct {
	t testing.TB
	c *net.TCPConn
	r *bufio.Reader
}

func dial(t testing.TB, vip netip.AddrPort) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", vip.String(), 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", vip, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &session{t: t, c: c.(*net.TCPConn), r: bufio.NewReader(c)}
}

func (s *session) line() string {
	s.t.Helper()
	l, err := s.r.ReadString('\n')
	if err != nil {
		s.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\n")
}

func (s *session) send(format string, args ...any) {
	s.t.Helper()
	if _, err := fmt.Fprintf(s.c, format+"\n", args...); err != nil {
		s.t.Fatalf("write: %v", err)
	}
}

// whoAnswers opens a connection and returns the name of the backend that greeted it.
func whoAnswers(t testing.TB, vip netip.AddrPort) string {
	t.Helper()
	s := dial(t, vip)
	defer s.c.Close()
	return s.line()
}

func destStats(t testing.TB, p *Plane, key table.ServiceKey, addr netip.AddrPort) table.DestStats {
	t.Helper()
	for _, s := range p.Stats().Services {
		if s.Key != key {
			continue
		}
		for _, d := range s.Dests {
			if d.Addr == addr {
				return d
			}
		}
	}
	t.Fatalf("no stats for %s -> %s", key, addr)
	return table.DestStats{}
}

// eventually polls cond every 10 ms for up to 3 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRelayAndRoundRobin(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			p := newPlane(t)
			a := startBackend(t, "a", host, false)
			b := startBackend(t, "b", host, false)
			vip := freeAddr(t, "tcp", host)
			svc := tcpService(vip, "rr", a.addr(), b.addr())
			apply(t, p, svc)

			counts := map[string]int{}
			var prev string
			for i := 0; i < 10; i++ {
				who := whoAnswers(t, vip)
				if who == prev {
					t.Fatalf("connection %d went to %s twice in a row under rr", i, who)
				}
				prev = who
				counts[who]++
			}
			if counts["a"] != 5 || counts["b"] != 5 {
				t.Fatalf("rr over two servers gave %v, want 5 each", counts)
			}

			s := dial(t, vip)
			s.line()
			s.send("echo hello")
			if got := s.line(); got != "hello" {
				t.Fatalf("echo through the proxy: %q", got)
			}
			s.send("size 1000000")
			if n, err := io.CopyN(io.Discard, s.r, 1000000); err != nil {
				t.Fatalf("1 MB through the proxy: %d bytes, %v", n, err)
			}
			total := func() table.Counters {
				var c table.Counters
				for _, addr := range []netip.AddrPort{a.addr(), b.addr()} {
					d := destStats(t, p, svc.ServiceKey, addr)
					c.Conns += d.Conns
					c.InBytes += d.InBytes
					c.OutBytes += d.OutBytes
				}
				return c
			}
			if c := total(); c.Conns != 11 || c.OutBytes < 1000000 || c.InBytes < 24 {
				t.Fatalf("counters %+v: want 11 connections, ≥1 MB out, ≥24 bytes in", c)
			}
		})
	}
}

// TestConnectionsSpreadOverLoops: connections opened one at a time, each established
// before the next, would all be accepted by the one loop that waits first on the shared
// listening socket; the loops that accept pass them on, so that no loop holds more than
// the hand-off slack over the least loaded one.
func TestConnectionsSpreadOverLoops(t *testing.T) {
	p := newPlaneLoops(t, 4)
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, tcpService(vip, "rr", a.addr()))
	const conns = 120
	for i := 0; i < conns; i++ {
		dial(t, vip).line()
	}
	var held []int
	for _, l := range p.loops {
		l.runWait(func() { held = append(held, l.conns.len()) })
	}
	fewest, most, total := held[0], held[0], 0
	for _, n := range held {
		fewest, most, total = min(fewest, n), max(most, n), total+n
	}
	if total != conns || fewest == 0 || most-fewest > handOffSlack+fewest/8+1 {
		t.Fatalf("connections per loop %v: want %d in all, every loop some, at most %d+%d+1 apart",
			held, conns, handOffSlack, fewest/8)
	}
}

// TestHalfClose: the client shuts down its sending side; the real server sees EOF and
// still gets its answer through to the client, and vice versa.
func TestHalfClose(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, tcpService(vip, "rr", a.addr()))

	s := dial(t, vip)
	s.line()
	s.send("echo before")
	if err := s.c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(s.r)
	if err != nil {
		t.Fatalf("reading after CloseWrite: %v", err)
	}
	if string(rest) != "before\nbye\n" {
		t.Fatalf("after the client's FIN got %q, want the echo and the server's goodbye", rest)
	}

	// The server half-closes first: a server that says something and shuts down its side
	// while still reading.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		io.WriteString(c, "early\n")
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	vip2 := freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, tcpService(vip, "rr", a.addr()), tcpService(vip2, "rr", ln.Addr().(*net.TCPAddr).AddrPort()))
	s2 := dial(t, vip2)
	if l := s2.line(); l != "early" {
		t.Fatalf("got %q", l)
	}
	if _, err := s2.r.ReadByte(); err != io.EOF {
		t.Fatalf("want EOF after the server's FIN, got %v", err)
	}
	s2.send("late data")
	s2.c.CloseWrite()
	select {
	case b := <-got:
		if b != "late data\n" {
			t.Fatalf("server read %q after its own FIN, want the client's late data", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("server never saw the client's FIN")
	}
}

// TestRedispatch: real servers that refuse connections cost the client nothing.
func TestRedispatch(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	dead1 := freeAddr(t, "tcp", "127.0.0.1")
	dead2 := freeAddr(t, "tcp", "127.0.0.1")
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", dead1, a.addr(), dead2)
	apply(t, p, svc)
	for i := 0; i < 12; i++ {
		if who := whoAnswers(t, vip); who != "a" {
			t.Fatalf("connection %d: %q", i, who)
		}
	}
	eventually(t, "refused attempts released", func() bool {
		d := destStats(t, p, svc.ServiceKey, dead1)
		return d.ActiveConn == 0 && d.InActConn == 0
	})
}

// TestAllServersDown: no real server answers; the client's connection is reset, and
// nothing stays counted.
func TestAllServersDown(t *testing.T) {
	p := newPlane(t)
	dead := freeAddr(t, "tcp", "127.0.0.1")
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", dead)
	apply(t, p, svc)
	// The reset can arrive before the client's connect returns, or on the first read.
	if c, err := net.DialTimeout("tcp", vip.String(), 2*time.Second); err == nil {
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
		if err == nil {
			t.Fatal("read succeeded with every real server down")
		}
	}
	d := destStats(t, p, svc.ServiceKey, dead)
	if d.ActiveConn != 0 || d.InActConn != 0 {
		t.Fatalf("after a refused connection: %+v", d)
	}
}

// TestActiveInactive follows one connection through IPVS's counters: established is
// ActiveConn, after the first FIN InActConn, and after the close it lingers in InActConn
// for the tcpfin timeout.
func TestActiveInactive(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", a.addr())
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{svc}, Timeouts: table.Timeouts{TCPFin: 2 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	s := dial(t, vip)
	s.line()
	if d := destStats(t, p, svc.ServiceKey, a.addr()); d.ActiveConn != 1 || d.InActConn != 0 {
		t.Fatalf("established: ActiveConn %d InActConn %d, want 1 0", d.ActiveConn, d.InActConn)
	}
	s.c.Close()
	eventually(t, "closed connection counted inactive", func() bool {
		d := destStats(t, p, svc.ServiceKey, a.addr())
		return d.ActiveConn == 0 && d.InActConn == 1
	})
	eventually(t, "lingering entry expired after tcpfin", func() bool {
		d := destStats(t, p, svc.ServiceKey, a.addr())
		return d.ActiveConn == 0 && d.InActConn == 0
	})
	d := destStats(t, p, svc.ServiceKey, a.addr())
	if d.Conns != 1 || d.InPkts == 0 || d.OutPkts == 0 {
		t.Fatalf("counters after one connection: %+v", d)
	}
}

// TestWeightZeroDrains: weight 0 takes no new connections; an established transfer to
// it finishes. A removed real server's connection finishes too.
func TestWeightZeroDrains(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	b := startBackend(t, "b", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", a.addr(), b.addr())
	apply(t, p, svc)

	var onA *session
	for i := 0; i < 2 && onA == nil; i++ {
		s := dial(t, vip)
		if s.line() == "a" {
			onA = s
		}
	}
	if onA == nil {
		t.Fatal("rr never chose a")
	}
	svc.Dests[0].Weight = 0
	apply(t, p, svc)
	for i := 0; i < 6; i++ {
		if who := whoAnswers(t, vip); who != "b" {
			t.Fatalf("new connection %d went to %s with its weight 0", i, who)
		}
	}
	onA.send("echo still here")
	if got := onA.line(); got != "still here" {
		t.Fatalf("established connection to the quiesced server: %q", got)
	}
	if d := destStats(t, p, svc.ServiceKey, a.addr()); d.Conns != 1 || d.ActiveConn != 1 {
		t.Fatalf("quiesced a: %+v, want its one connection kept", d)
	}

	// Remove a altogether: the connection still works, and stats no longer list it.
	svc.Dests = svc.Dests[1:]
	apply(t, p, svc)
	onA.send("echo after removal")
	if got := onA.line(); got != "after removal" {
		t.Fatalf("connection to a removed server: %q", got)
	}
	for _, d := range p.Stats().Services[0].Dests {
		if d.Addr == a.addr() {
			t.Fatal("removed real server still listed")
		}
	}
	// Re-adding it revives its state: the counters are intact.
	svc.Dests = append(svc.Dests, table.Dest{Addr: a.addr(), Weight: 1})
	apply(t, p, svc)
	if d := destStats(t, p, svc.ServiceKey, a.addr()); d.Conns != 1 || d.ActiveConn != 1 {
		t.Fatalf("re-added a: %+v, want the old counters back", d)
	}
}

// TestApplyIdentity: re-applying keeps the listener and the connections; a removed service
// stops listening while its connection finishes.
func TestApplyIdentity(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", a.addr())
	apply(t, p, svc)
	s := dial(t, vip)
	s.line()
	svc.Scheduler = "wrr"
	svc.Dests[0].Weight = 3
	apply(t, p, svc)
	s.send("echo kept")
	if got := s.line(); got != "kept" {
		t.Fatalf("after reload: %q", got)
	}
	if d := destStats(t, p, svc.ServiceKey, a.addr()); d.Conns != 1 {
		t.Fatalf("after reload Conns = %d, want 1 (state kept)", d.Conns)
	}
	apply(t, p)
	if c, err := net.DialTimeout("tcp", vip.String(), time.Second); err == nil {
		c.Close()
		t.Fatal("removed service still accepts connections")
	}
	s.send("echo still")
	if got := s.line(); got != "still" {
		t.Fatalf("connection of a removed service: %q", got)
	}
	if n := len(p.Stats().Services); n != 0 {
		t.Fatalf("Stats lists %d services after removal", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	p := newPlane(t)
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := tcpService(vip, "rr", a.addr())
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{svc}, Timeouts: table.Timeouts{TCP: time.Second}}); err != nil {
		t.Fatal(err)
	}
	s := dial(t, vip)
	s.line()
	start := time.Now()
	_, err := s.r.ReadByte()
	if err == nil {
		t.Fatal("idle connection still open")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("idle connection closed after %v, want about 1-2 s", el)
	}
}

func TestProxyProtocol(t *testing.T) {
	for _, v := range []int{1, 2} {
		for _, host := range []string{"127.0.0.1", "::1"} {
			t.Run(fmt.Sprintf("v%d/%s", v, host), func(t *testing.T) {
				p := newPlane(t)
				a := startBackend(t, "a", host, true)
				vip := freeAddr(t, "tcp", host)
				svc := tcpService(vip, "rr", a.addr())
				svc.ProxyProto = v
				apply(t, p, svc)
				s := dial(t, vip)
				if got := s.line(); got != "a" {
					t.Fatalf("greeting %q", got)
				}
				a.mu.Lock()
				defer a.mu.Unlock()
				want := fmt.Sprintf("TCP %s -> %s", s.c.LocalAddr(), vip)
				if len(a.headers) != 1 || a.headers[0] != want {
					t.Fatalf("real server got headers %q, want [%q]", a.headers, want)
				}
			})
		}
	}
}

// udpEcho is an in-process UDP real server answering "name:payload".
func udpEcho(t testing.TB, name, host string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(append([]byte(name+":"), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestUDP(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			p := newPlane(t)
			a := udpEcho(t, "a", host)
			b := udpEcho(t, "b", host)
			vip := freeAddr(t, "udp", host)
			svc := tcpService(vip, "rr", a, b)
			svc.Protocol = table.UDP
			svc.ServiceKey.Protocol = table.UDP
			apply(t, p, svc)

			seen := map[string]bool{}
			for i := 0; i < 2; i++ {
				c, err := net.Dial("udp", vip.String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				var first string
				for j := 0; j < 3; j++ {
					fmt.Fprintf(c, "ping%d", j)
					buf := make([]byte, 100)
					n, err := c.Read(buf)
					if err != nil {
						t.Fatalf("client %d datagram %d: %v", i, j, err)
					}
					who, payload, _ := strings.Cut(string(buf[:n]), ":")
					if payload != fmt.Sprintf("ping%d", j) {
						t.Fatalf("reply %q", buf[:n])
					}
					if first == "" {
						first = who
					} else if who != first {
						t.Fatalf("one client's flow went to %s then %s", first, who)
					}
				}
				seen[first] = true
			}
			if !seen["a"] || !seen["b"] {
				t.Fatalf("two flows under rr reached %v, want both servers", seen)
			}
			for _, addr := range []netip.AddrPort{a, b} {
				d := destStats(t, p, svc.ServiceKey, addr)
				if d.ActiveConn != 0 || d.InActConn != 1 || d.Conns != 1 || d.InPkts != 3 || d.OutPkts != 3 {
					t.Fatalf("%s: %+v, want one inactive flow of 3 datagrams each way", addr, d)
				}
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	good := tcpService(vip, "rr", netip.MustParseAddrPort("127.0.0.1:1"))
	tests := []struct {
		name string
		svc  table.Service
		want string
	}{
		{"fwmark", table.Service{ServiceKey: table.ServiceKey{FWMark: 7}, Scheduler: "rr", Name: "k.conf:3"}, "FWM 7 (k.conf:3): fwmark services need the ipvs or xdp data plane"},
		{"sctp", table.Service{ServiceKey: table.ServiceKey{Protocol: table.SCTP, Addr: vip}, Scheduler: "rr"}, "protocol SCTP is not supported"},
		{"port zero", tcpService(netip.MustParseAddrPort("127.0.0.1:0"), "rr"), "needs an address and a non-zero port"},
		{"bad proxy protocol", func() table.Service { s := good; s.ProxyProto = 3; return s }(), "PROXY protocol version 3"},
		{"dest without port", tcpService(vip, "rr", netip.MustParseAddrPort("127.0.0.1:0")), "real server 1 (127.0.0.1:0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Apply(context.Background(), table.Table{Services: []table.Service{tt.svc}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// A bad service does not stop the good ones.
	bad := tests[0].svc
	err := p.Apply(context.Background(), table.Table{Services: []table.Service{bad, good}})
	if err == nil {
		t.Fatal("want an error for the fwmark service")
	}
	if st := p.Stats(); len(st.Services) != 1 || st.Services[0].Key != good.ServiceKey {
		t.Fatalf("good service not applied next to a bad one: %+v", st)
	}
	// Port taken by someone without SO_REUSEPORT.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := tcpService(ln.Addr().(*net.TCPAddr).AddrPort(), "rr")
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{taken}}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("binding a taken port: %v", err)
	}
}

// TestFreebind: a VIP that is not (yet) on this host can be listened on.
func TestFreebind(t *testing.T) {
	p := newPlane(t)
	vip := netip.MustParseAddrPort("192.0.2.77:8080") // TEST-NET-1, never local here
	if err := p.Apply(context.Background(), table.Table{Services: []table.Service{tcpService(vip, "rr")}}); err != nil {
		t.Fatalf("listening on a non-local VIP: %v", err)
	}
}

func TestCloseWaitsForConnections(t *testing.T) {
	p, err := New(slog.New(slog.DiscardHandler), 1)
	if err != nil {
		t.Fatal(err)
	}
	a := startBackend(t, "a", "127.0.0.1", false)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, tcpService(vip, "rr", a.addr()))
	s := dial(t, vip)
	s.line()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("Close returned after %v with a connection open, want it to wait for ctx", el)
	}
	if _, err := s.r.ReadByte(); err == nil {
		t.Fatal("connection still open after Close")
	}
	if err := p.Apply(context.Background(), table.Table{}); err == nil {
		t.Fatal("Apply after Close succeeded")
	}
}

func TestRegistered(t *testing.T) {
	dp, err := dataplane.New("proxy", dataplane.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
