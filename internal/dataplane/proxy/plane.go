// Package proxy is the userspace L4 data plane: it accepts TCP connections and UDP flows
// on every virtual service's address, schedules each with the service's IPVS scheduler
// and persistence, and relays it to the chosen real server. Semantically this is LVS
// FULLNAT: real servers see the director's address (or the client's, through the
// optional PROXY protocol header), whatever lb_kind the configuration names.
//
// Design: one epoll event loop per two CPUs of GOMAXPROCS (see New). The loops share each
// TCP service's listening socket (one accept queue, see listen) and have a SO_REUSEPORT
// socket each per UDP service; a connection lives on one loop (the one that accepted it,
// or the least loaded one, see loopFor) and is only ever touched by its goroutine. A
// connection costs no goroutine and, while idle, no buffer: reads land in the loop's
// shared buffer and are written straight on; only data the other side cannot take yet
// is kept. A transfer that fills the buffer goes on by splice(2) through a pooled pipe
// (splice.go).
//
// Accounting follows what `ipvsadm -L` shows on a real director:
//   - A TCP connection is bound (InActConn) when it is scheduled, becomes ActiveConn when
//     the real server accepts it (IPVS: ESTABLISHED), and moves back to InActConn at the
//     first FIN of either side (FIN_WAIT). After the close it stays in InActConn for the
//     tcpfin timeout, as IPVS keeps FIN_WAIT/TIME_WAIT entries, so the lc/wlc overhead
//     and the thresholds see recent connections as IPVS's do. An aborted connection
//     (RST, timeout) is released at once (IPVS: CLOSE, 10 s).
//   - A UDP flow (keyed by the client's address and port) is InActConn for its whole
//     life and ends after the udp idle timeout; UDP is never active in IPVS either.
//   - Conns counts scheduled connections/flows. InPkts/OutPkts are the segments the
//     proxy received from the client / from the real server (TCP_INFO's segs_in, so
//     handshake and pure ACKs count as in IPVS); for UDP, datagrams. InBytes/OutBytes are
//     payload bytes relayed (IPVS counts IP packet bytes, headers included; a relay
//     cannot see those). Rates come from the kernel's estimator (package estimator).
//   - Persistence templates count in PersistConn; a template's countdown starts when its
//     last connection closes.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/estimator"
	"github.com/govs/govs/internal/sched"
	"github.com/govs/govs/internal/table"
	"golang.org/x/sys/unix"
)

func init() {
	dataplane.Register("proxy", func(opts dataplane.Options) (dataplane.Dataplane, error) {
		return New(opts.Logger, 0)
	})
}

// Default idle timeouts, as a fresh kernel's `ipvsadm -L --timeout` (900 120 300).
const (
	defaultTCPTimeout    = 900 * time.Second
	defaultTCPFinTimeout = 120 * time.Second
	defaultUDPTimeout    = 300 * time.Second
	// connectTimeout bounds a connect to a real server before the next one is tried.
	connectTimeout = 3 * time.Second
)

// timeouts are the idle timeouts in whole seconds, as the loops compare them.
type timeouts struct{ tcp, tcpFin, udp int64 }

// Plane is the proxy data plane. Create it with New (or dataplane.New("proxy", …)).
type Plane struct {
	log   *slog.Logger
	start time.Time
	loops []*loop

	timeouts atomic.Pointer[timeouts]

	mu       sync.Mutex // serialises Apply and Close
	services map[table.ServiceKey]*service
	order    []*service // table order, for Stats
	closed   bool

	lastAcceptLog atomic.Int64 // unix second of the last accept error logged

	statsMu sync.Mutex // guards every estimator
	stopEst chan struct{}
	estDone chan struct{}
}

var _ dataplane.Dataplane = (*Plane)(nil)

// New starts a proxy data plane with the given number of event loops (0: one per two
// CPUs of GOMAXPROCS, at least one). Relaying on loopback or a fast NIC costs the kernel
// about as much CPU in softirq and socket work as the loop itself spends, so a loop per
// CPU only makes loops compete with that work: measured on 2 CPUs, one loop did the same
// requests per CPU-second as HAProxy, two loops 0.65× (docs/performance.md).
func New(log *slog.Logger, loops int) (*Plane, error) {
	if log == nil {
		log = slog.Default()
	}
	if loops <= 0 {
		loops = (runtime.GOMAXPROCS(0) + 1) / 2
	}
	p := &Plane{
		log:      log,
		start:    time.Now(),
		services: map[table.ServiceKey]*service{},
		stopEst:  make(chan struct{}),
		estDone:  make(chan struct{}),
	}
	p.timeouts.Store(&timeouts{
		tcp: int64(defaultTCPTimeout / time.Second), tcpFin: int64(defaultTCPFinTimeout / time.Second),
		udp: int64(defaultUDPTimeout / time.Second),
	})
	for i := 0; i < loops; i++ {
		l, err := newLoop(p, i)
		if err != nil {
			for _, l := range p.loops {
				go l.serve()
				l.stop()
			}
			return nil, fmt.Errorf("proxy: event loop %d: %w", i, err)
		}
		l.pipes.limit = pipeLimit(loops)
		p.loops = append(p.loops, l)
	}
	for _, l := range p.loops {
		go l.serve()
	}
	go p.estimate()
	log.Info("proxy data plane started: every connection is relayed by this process (FULLNAT semantics); "+
		"lb_kind NAT/DR/TUN is recorded and shown but not applied", "loops", loops)
	return p, nil
}

// Apply reconciles the running services with t. A service whose key is unchanged keeps
// its listeners and connections; its scheduler, persistence and destinations are updated
// in place. Destinations are matched by address: a kept one keeps its counters and
// connections, a removed one gets no new connections while its open ones finish. A
// removed service stops listening. Services the proxy cannot serve are reported in the
// returned error; the others are still applied.
func (p *Plane) Apply(ctx context.Context, t table.Table) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("proxy: Apply after Close")
	}
	p.timeouts.Store(toTimeouts(t.Timeouts))

	var errs []error
	seen := map[table.ServiceKey]bool{}
	order := make([]*service, 0, len(t.Services))
	for _, ts := range t.Services {
		if seen[ts.ServiceKey] {
			errs = append(errs, fmt.Errorf("proxy: service %s%s listed twice", ts.ServiceKey, where(ts)))
			continue
		}
		seen[ts.ServiceKey] = true
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		svc, err := p.applyService(ts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		order = append(order, svc)
	}
	for key, svc := range p.services {
		if !seen[key] {
			p.removeService(svc)
		}
	}
	p.order = order
	return errors.Join(errs...)
}

func where(ts table.Service) string {
	if ts.Name == "" {
		return ""
	}
	return " (" + ts.Name + ")"
}

func toTimeouts(t table.Timeouts) *timeouts {
	sec := func(d, def time.Duration) int64 {
		if d <= 0 {
			d = def
		}
		if s := int64(d / time.Second); s > 0 {
			return s
		}
		return 1
	}
	return &timeouts{
		tcp:    sec(t.TCP, defaultTCPTimeout),
		tcpFin: sec(t.TCPFin, defaultTCPFinTimeout),
		udp:    sec(t.UDP, defaultUDPTimeout),
	}
}

// validate says why the proxy cannot serve ts, or nil.
func validate(ts table.Service) error {
	switch {
	case ts.FWMark != 0:
		return fmt.Errorf("proxy: service %s%s: fwmark services need the ipvs or xdp data plane", ts.ServiceKey, where(ts))
	case ts.Protocol != table.TCP && ts.Protocol != table.UDP:
		return fmt.Errorf("proxy: service %s%s: protocol %s is not supported (TCP and UDP are)", ts.ServiceKey, where(ts), ts.Protocol)
	case !ts.Addr.IsValid() || ts.Addr.Port() == 0:
		return fmt.Errorf("proxy: service %s%s: needs an address and a non-zero port", ts.ServiceKey, where(ts))
	case ts.ProxyProto != 0 && ts.ProxyProto != 1 && ts.ProxyProto != 2:
		return fmt.Errorf("proxy: service %s%s: PROXY protocol version %d (want 0, 1 or 2)", ts.ServiceKey, where(ts), ts.ProxyProto)
	}
	for i, d := range ts.Dests {
		if !d.Addr.IsValid() || d.Addr.Port() == 0 {
			return fmt.Errorf("proxy: service %s%s: real server %d (%s): needs an address and a non-zero port", ts.ServiceKey, where(ts), i+1, d.Addr)
		}
		if d.Weight < 0 {
			return fmt.Errorf("proxy: service %s%s: real server %s: negative weight %d", ts.ServiceKey, where(ts), d.Addr, d.Weight)
		}
	}
	return nil
}

func (p *Plane) applyService(ts table.Service) (*service, error) {
	if err := validate(ts); err != nil {
		return nil, err
	}
	svc, exists := p.services[ts.ServiceKey]
	if !exists {
		svc = &service{key: ts.ServiceKey, proto: uint8(ts.Protocol), listenFD: -1, trash: map[netip.AddrPort]*destState{}}
	}
	var old *svcConfig
	if exists {
		old = svc.cfg.Load()
	}
	cfg := p.mergeDests(svc, old, ts)
	var schedDests []*sched.Dest
	for _, d := range cfg.list {
		schedDests = append(schedDests, d.sd)
	}
	if !exists {
		s, err := sched.NewService(schedConfig(ts), schedDests)
		if err != nil {
			return nil, fmt.Errorf("proxy: service %s%s: %w", ts.ServiceKey, where(ts), err)
		}
		svc.sched = s
		svc.cfg.Store(cfg)
		p.statsMu.Lock()
		svc.est = estimator.New(estimator.Counters{})
		p.statsMu.Unlock()
		if err := p.listen(svc); err != nil {
			return nil, fmt.Errorf("proxy: service %s%s: %w", ts.ServiceKey, where(ts), err)
		}
		p.services[ts.ServiceKey] = svc
		return svc, nil
	}
	// The new map must be visible before the scheduler can pick a new destination.
	svc.cfg.Store(cfg)
	if err := svc.sched.Update(schedConfig(ts), schedDests); err != nil {
		svc.cfg.Store(old)
		return nil, fmt.Errorf("proxy: service %s%s: %w", ts.ServiceKey, where(ts), err)
	}
	return svc, nil
}

// mergeDests builds the new destination set of svc, keeping the state of every address
// that stays (or comes back from the trash) and putting new ones at the head of the list,
// where IPVS puts a newly added destination.
func (p *Plane) mergeDests(svc *service, old *svcConfig, ts table.Service) *svcConfig {
	cfg := &svcConfig{proxyProto: ts.ProxyProto, onePacket: ts.OnePacket, byDest: map[*sched.Dest]*destState{}}
	want := map[netip.AddrPort]table.Dest{}
	for _, d := range ts.Dests {
		want[d.Addr] = d
	}
	kept := map[netip.AddrPort]*destState{}
	if old != nil {
		for _, d := range old.list {
			if _, ok := want[d.sd.Addr]; ok {
				kept[d.sd.Addr] = d
			} else if d.sd.Active()+d.sd.Inactive() > 0 {
				svc.trash[d.sd.Addr] = d
			}
		}
	}
	var added []*destState
	for _, td := range ts.Dests {
		d := kept[td.Addr]
		if d == nil {
			if d = svc.trash[td.Addr]; d != nil {
				delete(svc.trash, td.Addr)
			} else {
				d = &destState{sd: sched.NewDest(td.Addr, td.Weight), family: family(td.Addr.Addr())}
				d.addr.set(td.Addr)
				p.statsMu.Lock()
				d.est = estimator.New(estimator.Counters{})
				p.statsMu.Unlock()
			}
			added = append(added, d)
		}
		d.sd.SetWeight(td.Weight)
		d.sd.SetThresholds(int32(td.UThreshold), int32(td.LThreshold))
		d.method = td.Method
		cfg.shown = append(cfg.shown, d)
	}
	// Keepalived adds real servers in file order, each at the list head: newest first.
	for i := len(added) - 1; i >= 0; i-- {
		cfg.list = append(cfg.list, added[i])
	}
	if old != nil {
		for _, d := range old.list {
			if kept[d.sd.Addr] == d {
				cfg.list = append(cfg.list, d)
			}
		}
	}
	for _, d := range cfg.list {
		cfg.byDest[d.sd] = d
	}
	for addr, d := range svc.trash {
		if d.sd.Active()+d.sd.Inactive() == 0 {
			delete(svc.trash, addr)
			continue
		}
		cfg.byDest[d.sd] = d
	}
	return cfg
}

// listen opens the service's sockets and hands them to the loops.
//
// A TCP service has one listening socket that every loop watches, so the loops share one
// accept queue and a new connection goes to whichever loop gets to it first: a busy loop
// comes back to accept less often and takes fewer. Per-loop SO_REUSEPORT sockets, which
// the kernel fills by a hash of the client's address and port whatever each loop's load,
// give every loop its own queue instead; with four loops, 400 clients opening a
// connection per request kept some loops' queues long for good, and the p99 was 2.2×
// HAProxy's (whose threads share one queue) at the same median (docs/performance.md).
// A UDP service keeps one SO_REUSEPORT socket per loop: the hash sends a client's
// datagrams to the same socket every time, so its flow stays on one loop.
func (p *Plane) listen(svc *service) error {
	if svc.key.Protocol == table.UDP {
		return p.listenUDP(svc)
	}
	fd, err := listenSocket(svc.key.Addr, unix.SOCK_STREAM)
	if err != nil {
		return err
	}
	svc.listenFD = fd
	shared := len(p.loops) > 1
	return p.onEveryLoop(svc, func(l *loop) error { return l.addTCPListener(svc, fd, shared) })
}

func (p *Plane) listenUDP(svc *service) error {
	fds := make([]int, 0, len(p.loops))
	for range p.loops {
		fd, err := listenSocket(svc.key.Addr, unix.SOCK_DGRAM)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return err
		}
		fds = append(fds, fd)
	}
	next := 0
	err := p.onEveryLoop(svc, func(l *loop) error {
		fd := fds[next]
		next++
		return l.addUDPListener(svc, fd)
	})
	// A loop that had stopped took none; the sockets it did not take are still ours.
	for _, fd := range fds[next:] {
		unix.Close(fd)
	}
	return err
}

// onEveryLoop runs add on each loop in turn (never two at once); if any fails, the
// service's listeners are all removed again.
func (p *Plane) onEveryLoop(svc *service, add func(*loop) error) error {
	var errs []error
	for _, l := range p.loops {
		var err error
		ran := false
		l.runWait(func() {
			ran = true
			err = add(l)
		})
		if !ran {
			err = errors.New("event loop stopped")
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		p.unlisten(svc)
		return err
	}
	return nil
}

// unlisten closes the service's listeners on every loop, then the TCP listening socket
// they shared.
func (p *Plane) unlisten(svc *service) {
	for _, l := range p.loops {
		l.runWait(func() { l.removeListeners(svc) })
	}
	if svc.listenFD >= 0 {
		unix.Close(svc.listenFD)
		svc.listenFD = -1
	}
}

func (p *Plane) removeService(svc *service) {
	p.unlisten(svc)
	delete(p.services, svc.key)
}

// Stats returns every service's counters and rates, in table order.
func (p *Plane) Stats() table.Stats {
	p.mu.Lock()
	order := p.order
	p.mu.Unlock()
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	st := table.Stats{Services: make([]table.ServiceStats, 0, len(order))}
	for _, svc := range order {
		ss := table.ServiceStats{Key: svc.key, Counters: svc.read(), Rates: svc.est.Rates()}
		for _, d := range svc.cfg.Load().shown {
			ss.Dests = append(ss.Dests, table.DestStats{
				Addr:        d.sd.Addr,
				ActiveConn:  nonNegative(d.sd.Active()),
				InActConn:   nonNegative(d.sd.Inactive()),
				PersistConn: nonNegative(d.sd.Persistent()),
				Counters:    d.read(),
				Rates:       d.est.Rates(),
			})
		}
		st.Services = append(st.Services, ss)
	}
	return st
}

func nonNegative(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// estimate samples every counter each estimator.Interval, like the kernel's estimation
// timer, and lets the schedulers drop expired persistence templates.
func (p *Plane) estimate() {
	defer close(p.estDone)
	tick := time.NewTicker(estimator.Interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stopEst:
			return
		case now := <-tick.C:
			p.mu.Lock()
			svcs := make([]*service, 0, len(p.services))
			for _, svc := range p.services {
				svcs = append(svcs, svc)
			}
			p.mu.Unlock()
			p.statsMu.Lock()
			for _, svc := range svcs {
				svc.est.Sample(svc.read())
				for _, d := range svc.cfg.Load().byDest {
					d.est.Sample(d.read())
				}
			}
			p.statsMu.Unlock()
			for _, svc := range svcs {
				svc.sched.Expire(now)
			}
		}
	}
}

// Close stops listening at once, lets open connections finish until ctx is done, then
// closes whatever is left and stops the loops.
func (p *Plane) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for _, svc := range p.services {
		p.removeService(svc)
	}
	p.order = nil
	p.mu.Unlock()

	wait := time.NewTicker(20 * time.Millisecond)
	defer wait.Stop()
	for p.openConns() > 0 {
		select {
		case <-ctx.Done():
			p.stop()
			return nil
		case <-wait.C:
		}
	}
	p.stop()
	return nil
}

func (p *Plane) stop() {
	for _, l := range p.loops {
		l.stop()
	}
	close(p.stopEst)
	<-p.estDone
}

// openConns counts TCP connections and UDP flows still open on all loops.
func (p *Plane) openConns() int {
	n := 0
	for _, l := range p.loops {
		l.runWait(func() { n += l.conns.len() + l.flowCount() })
	}
	return n
}

// logAcceptError reports a failing listener at most once a second per plane, so a
// descriptor shortage does not flood the log.
func (p *Plane) logAcceptError(svc *service, err error) {
	now := time.Now().Unix()
	if last := p.lastAcceptLog.Load(); last == now || !p.lastAcceptLog.CompareAndSwap(last, now) {
		return
	}
	p.log.Warn("proxy: receiving on a virtual service failed", "service", svc.key.String(), "err", err)
}
