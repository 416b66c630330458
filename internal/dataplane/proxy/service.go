package proxy

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/govs/govs/internal/estimator"
	"github.com/govs/govs/internal/sched"
	"github.com/govs/govs/internal/table"
)

// counters are IPVS's cumulative counters, updated by every loop.
type counters struct {
	conns, inPkts, outPkts, inBytes, outBytes atomic.Uint64
}

func (c *counters) read() estimator.Counters {
	return estimator.Counters{
		Conns: c.conns.Load(), InPkts: c.inPkts.Load(), OutPkts: c.outPkts.Load(),
		InBytes: c.inBytes.Load(), OutBytes: c.outBytes.Load(),
	}
}

// destState is one real server of a service. It outlives reloads that keep its address,
// so its counters and the *sched.Dest its connections are bound to survive.
type destState struct {
	sd     *sched.Dest
	addr   rawAddr // sd.Addr in the form connect takes
	family int
	method table.Method // recorded for display; the proxy always relays
	counters
	est *estimator.Estimator // guarded by Plane.statsMu
}

// svcConfig is the part of a service that Apply replaces as a whole; loops read it
// through an atomic pointer, so a reload never blocks relaying.
type svcConfig struct {
	proxyProto int
	onePacket  bool
	// list is the destinations in IPVS list order (newest first): the scheduler's view
	// and the order redispatch falls back through.
	list []*destState
	// shown is the destinations in table order, for Stats.
	shown []*destState
	// byDest finds the state of what the scheduler picked; it also holds removed
	// destinations whose connections are still open.
	byDest map[*sched.Dest]*destState
}

// service is one virtual service.
type service struct {
	key   table.ServiceKey
	proto uint8
	sched *sched.Service
	cfg   atomic.Pointer[svcConfig]
	counters
	est *estimator.Estimator // guarded by Plane.statsMu
	// listenFD is a TCP service's listening socket, which all loops watch; -1 for UDP
	// (each loop has its own) and once closed. Guarded by Plane.mu.
	listenFD int
	// trash keeps removed destinations that still have connections, so re-adding the
	// same address revives them with their counters, as IPVS does. Guarded by Plane.mu.
	trash map[netip.AddrPort]*destState
}

// account adds one connection or flow's counts to its destination and service.
func (s *service) countConn(d *destState) {
	d.conns.Add(1)
	s.conns.Add(1)
}

func (s *service) countIn(d *destState, pkts, bytes uint64) {
	if pkts != 0 {
		d.inPkts.Add(pkts)
		s.inPkts.Add(pkts)
	}
	if bytes != 0 {
		d.inBytes.Add(bytes)
		s.inBytes.Add(bytes)
	}
}

func (s *service) countOut(d *destState, pkts, bytes uint64) {
	if pkts != 0 {
		d.outPkts.Add(pkts)
		s.outPkts.Add(pkts)
	}
	if bytes != 0 {
		d.outBytes.Add(bytes)
		s.outBytes.Add(bytes)
	}
}

// binding is a connection's claim on a destination: either through the scheduler
// (persistence templates and counters handled by sched.Service.Done) or, after a failed
// connect, bound directly by the redispatch fallback.
type binding struct {
	dest     *destState
	conn     sched.Conn
	viaSched bool
}

// pick chooses a destination for a new connection or flow from client. tried lists
// destinations that already failed for it: the scheduler's choice is taken unless it
// is one of them; then, like HAProxy's redispatch, the first other eligible destination
// in list order is used, so a server that just died costs the client nothing.
func (s *service) pick(client netip.AddrPort, tried []*destState) (binding, bool) {
	cfg := s.cfg.Load()
	c, ok := s.sched.Schedule(sched.Flow{Proto: s.proto, Src: client, Dst: s.key.Addr})
	if ok {
		d := cfg.byDest[c.Dest]
		if d != nil && !contains(tried, d) {
			return binding{dest: d, conn: c, viaSched: true}, true
		}
		s.sched.Done(c, false, time.Now())
	}
	if len(tried) == 0 {
		return binding{}, false
	}
	for _, d := range cfg.list {
		if d.sd.Weight() > 0 && !d.sd.Overloaded() && !contains(tried, d) {
			d.sd.Bind()
			return binding{dest: d}, true
		}
	}
	return binding{}, false
}

// release gives a binding back. wasActive says which counter the connection is in.
func (s *service) release(b binding, wasActive bool) {
	if b.viaSched {
		s.sched.Done(b.conn, wasActive, time.Now())
	} else {
		b.dest.sd.Unbind(wasActive)
	}
}

func contains(list []*destState, d *destState) bool {
	for _, x := range list {
		if x == d {
			return true
		}
	}
	return false
}

// schedConfig turns a table service into the scheduler's configuration.
func schedConfig(ts table.Service) sched.ServiceConfig {
	pl4, pl6 := 32, 128
	if p := ts.Persistence.PrefixLen; p != 0 {
		if ts.Addr.Addr().Is4() {
			pl4 = p
		} else {
			pl6 = p
		}
	}
	return sched.ServiceConfig{
		Scheduler:   ts.Scheduler,
		Flags:       sched.Flags(ts.Flags),
		Persistence: ts.Persistence.Timeout,
		PrefixLen4:  pl4,
		PrefixLen6:  pl6,
		OnePacket:   ts.OnePacket,
	}
}
