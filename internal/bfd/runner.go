package bfd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/govs/govs/internal/nsrun"
	"github.com/govs/govs/internal/threadprio"
	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ControlPort is where single-hop control packets go (RFC 5881).
const ControlPort = 3784

// Event is a session coming up or going down.
type Event struct {
	Name string
	Up   bool
	// State is the new state, Diag why (RFC 5880 diagnostic code).
	State State
	Diag  uint8
}

// Runner runs a set of sessions until its context ends.
type Runner struct {
	ns        netns.NsHandle
	updates   chan update
	logger    *slog.Logger
	notify    func(Event)
	done      chan struct{}
	stopped   chan struct{}
	peers     []*peer
	receivers map[bool]bool // families with a receiving socket (true: IPv4)
	byDisc    map[uint32]*peer
	rx        chan received
	readers   sync.WaitGroup
	conns     []net.PacketConn
	// threads, when set, holds the runner's goroutines on threads of their own with
	// bfd_priority, bfd_rt_priority and bfd_cpu_affinity.
	threads *threadprio.Group
}

// peer is a session and the socket its packets leave by (bound to a source port of
// 49152–65535).
type peer struct {
	*session
	conn *net.UDPConn
}

// update is a new set of sessions for the loop, and where to say how it went.
type update struct {
	cfgs []Config
	errc chan error
}

type received struct {
	p        Packet
	src, dst netip.Addr
	ttl      int
}

// Start opens the sockets (in ns when open) and runs the sessions until ctx ends.
// Sessions start Down; notify is called with each change, from the runner's
// goroutine, and must not block. threads, when not nil, is the thread group the
// runner's goroutines join.
func Start(ctx context.Context, cfgs []Config, ns netns.NsHandle, logger *slog.Logger, notify func(Event), threads *threadprio.Group) (*Runner, error) {
	r := &Runner{ns: ns, threads: threads, updates: make(chan update), logger: logger, notify: notify, done: make(chan struct{}),
		stopped: make(chan struct{}), byDisc: map[uint32]*peer{},
		rx: make(chan received, 64), receivers: map[bool]bool{}}
	if err := r.apply(cfgs, time.Now()); err != nil {
		close(r.stopped)
		r.closeAll()
		r.readers.Wait()
		return nil, err
	}
	go func() {
		defer r.joinThreads()()
		r.loop(ctx)
	}()
	return r, nil
}

// joinThreads puts the calling goroutine in the runner's thread group, if it has one.
func (r *Runner) joinThreads() (leave func()) {
	if r.threads == nil {
		return func() {}
	}
	return r.threads.Join()
}

// Update replaces the sessions with cfgs: one whose configuration is unchanged goes on
// undisturbed, one with other intervals goes on and announces them (a Poll
// Sequence), as keepalived's reload does; one with another neighbour, source or TTL,
// or removed, tells its neighbour AdminDown and, if it was Up, is reported Down.
func (r *Runner) Update(cfgs []Config) error {
	u := update{cfgs: cfgs, errc: make(chan error, 1)}
	select {
	case r.updates <- u:
		return <-u.errc
	case <-r.done:
		return errors.New("bfd: the sessions have stopped")
	}
}

// apply makes the session set cfgs, opening what new sessions need.
func (r *Runner) apply(cfgs []Config, now time.Time) error {
	keep := map[string]*peer{}
	for _, p := range r.peers {
		keep[p.cfg.Name] = p
	}
	var peers, opened []*peer
	err := nsrun.Do(r.ns, func() error {
		for _, c := range cfgs {
			if old := keep[c.Name]; old != nil && sameSocket(old.cfg, c) {
				if old.cfg != c {
					old.retime(c, now)
					r.logger.Info("BFD_Instance(" + c.Name + ") reconfigured")
				}
				peers = append(peers, old)
				continue
			}
			conn, err := openSender(c)
			if err != nil {
				return fmt.Errorf("bfd_instance %s: %w", c.Name, err)
			}
			disc := rand.Uint32()
			for disc == 0 || r.byDisc[disc] != nil {
				disc = rand.Uint32()
			}
			p := &peer{session: newSession(c, disc, now), conn: conn}
			opened = append(opened, p)
			peers = append(peers, p)
			r.logger.Info("BFD_Instance(" + c.Name + ") Starting: " + c.Neighbor.String())
			v4 := c.Neighbor.Unmap().Is4()
			if !r.receivers[v4] {
				rc, err := openReceiver(v4)
				if err != nil {
					return err
				}
				r.receivers[v4] = true
				r.conns = append(r.conns, rc.conn)
				r.readers.Add(1)
				go func() {
					defer r.readers.Done()
					defer r.joinThreads()()
					r.read(rc)
				}()
			}
		}
		return nil
	})
	if err != nil {
		for _, p := range opened {
			p.conn.Close()
		}
		return err
	}
	// Sessions that go: a goodbye, and Down for whoever tracked them Up.
	kept := map[*peer]bool{}
	for _, p := range peers {
		kept[p] = true
	}
	for _, p := range r.peers {
		if kept[p] {
			continue
		}
		wasUp := p.state == Up
		if wasUp || p.state == Init {
			p.state, p.diag = AdminDown, diagAdminDown
			r.send(p, false)
		}
		p.conn.Close()
		if wasUp {
			p.state = Down
			r.report(p.session)
		}
	}
	r.peers = peers
	r.byDisc = map[uint32]*peer{}
	for _, p := range peers {
		r.byDisc[p.localDisc] = p
	}
	return nil
}

// Done is closed once the runner has stopped and closed its sockets.
func (r *Runner) Done() <-chan struct{} { return r.done }

func (r *Runner) closeAll() {
	for _, p := range r.peers {
		p.conn.Close()
	}
	for _, c := range r.conns {
		c.Close()
	}
}

// openSender binds a session's socket to a source port of 49152–65535 (RFC 5881 §4),
// with its TTL, connected to the neighbour's control port.
func openSender(cfg Config) (*net.UDPConn, error) {
	nb := cfg.Neighbor.Unmap()
	network := "udp4"
	if nb.Is6() {
		network = "udp6"
	}
	var lastErr error
	for range 64 {
		local := &net.UDPAddr{IP: cfg.Source.AsSlice(), Port: 49152 + rand.IntN(16384)}
		c, err := net.DialUDP(network, local, net.UDPAddrFromAddrPort(netip.AddrPortFrom(nb, ControlPort)))
		if errors.Is(err, syscall.EADDRINUSE) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("socket to %v: %w", nb, err)
		}
		if nb.Is4() {
			err = ipv4.NewConn(c).SetTTL(cfg.TTL)
		} else {
			err = ipv6.NewConn(c).SetHopLimit(cfg.TTL)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("setting the TTL: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("no free source port: %w", lastErr)
}

// receiver is the control port of one family, reporting the TTL of each packet.
type receiver struct {
	conn net.PacketConn
	p4   *ipv4.PacketConn // nil for IPv6
	p6   *ipv6.PacketConn
}

// openReceiver listens on the control port of one family.
func openReceiver(v4 bool) (*receiver, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil && !v4 {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network, addr := "udp4", "0.0.0.0"
	if !v4 {
		network, addr = "udp6", "::"
	}
	c, err := lc.ListenPacket(context.Background(), network, net.JoinHostPort(addr, strconv.Itoa(ControlPort)))
	if err != nil {
		return nil, fmt.Errorf("listening on the BFD control port: %w", err)
	}
	rc := &receiver{conn: c}
	// The flags live in the wrapper: reads must go through the same one.
	if v4 {
		rc.p4 = ipv4.NewPacketConn(c)
		err = rc.p4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst, true)
	} else {
		rc.p6 = ipv6.NewPacketConn(c)
		err = rc.p6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("asking for the TTL of packets: %w", err)
	}
	return rc, nil
}

// read hands the valid packets of one receiving socket to the loop.
func (r *Runner) read(rc *receiver) {
	buf := make([]byte, 1500)
	for {
		var n, ttl int
		var from net.Addr
		var dst net.IP
		var err error
		if rc.p4 != nil {
			var cm *ipv4.ControlMessage
			if n, cm, from, err = rc.p4.ReadFrom(buf); cm != nil {
				ttl, dst = cm.TTL, cm.Dst
			}
		} else {
			var cm *ipv6.ControlMessage
			if n, cm, from, err = rc.p6.ReadFrom(buf); cm != nil {
				ttl, dst = cm.HopLimit, cm.Dst
			}
		}
		if err != nil {
			return // closed
		}
		p, err := Parse(buf[:n])
		if err != nil {
			r.logger.Debug("bfd: bad packet", "from", from, "err", err)
			continue
		}
		select {
		case r.rx <- received{p: p, src: from.(*net.UDPAddr).AddrPort().Addr().Unmap(), dst: addrOf(dst), ttl: ttl}:
		case <-r.stopped:
			return
		}
	}
}

// loop owns the sessions: packets in, timers, packets out, events.
func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	defer r.readers.Wait()
	defer r.closeAll()
	defer close(r.stopped) // a reader handing over a packet gives up
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next time.Time
		for _, p := range r.peers {
			if t := p.next(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			for _, p := range r.peers {
				if p.state == Up || p.state == Init {
					// Tell the neighbour, as keepalived does on stop, so it does not wait
					// for the detection time.
					p.state, p.diag = AdminDown, diagAdminDown
					r.send(p, false)
				}
			}
			return
		case m := <-r.rx:
			r.receive(m, time.Now())
		case u := <-r.updates:
			u.errc <- r.apply(u.cfgs, time.Now())
		case <-timer.C:
			now := time.Now()
			if r.threads != nil {
				r.threads.Overdue(now.Sub(next))
			}
			for _, p := range r.peers {
				r.step(p, now)
			}
		}
	}
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// peer finds whom a packet is for: by our discriminator, or before the neighbour knows
// it by the addresses (RFC 5880 §6.3).
func (r *Runner) peer(m received) *peer {
	if m.p.YourDisc != 0 {
		if p := r.byDisc[m.p.YourDisc]; p != nil && p.cfg.Neighbor.Unmap() == m.src {
			return p
		}
		return nil
	}
	for _, p := range r.peers {
		if p.cfg.Neighbor.Unmap() == m.src && (!p.cfg.Source.IsValid() || p.cfg.Source.Unmap() == m.dst) {
			return p
		}
	}
	return nil
}

func (r *Runner) receive(m received, now time.Time) {
	p := r.peer(m)
	if p == nil {
		return
	}
	if p.cfg.MaxHops >= 0 && m.ttl+p.cfg.MaxHops < p.cfg.TTL {
		r.logger.Debug("bfd: packet with too low a TTL", "session", p.cfg.Name, "ttl", m.ttl)
		return
	}
	changed, sendNow := p.receive(m.p, now)
	if changed {
		r.report(p.session)
	}
	if sendNow {
		r.send(p, m.p.Poll)
	}
}

func (r *Runner) step(p *peer, now time.Time) {
	changed, send := p.tick(now)
	if changed {
		r.report(p.session)
	}
	if send {
		r.send(p, false)
	}
}

func (r *Runner) send(p *peer, final bool) {
	pkt := p.packet(final)
	var buf [packetLen]byte
	if _, err := p.conn.Write(pkt.Append(buf[:0])); err != nil {
		r.logger.Debug("bfd: sending", "session", p.cfg.Name, "err", err)
	}
}

// report logs a change and delivers it; keepalived's lines.
func (r *Runner) report(s *session) {
	r.logger.Info("BFD_Instance(" + s.cfg.Name + ") Entering " + s.state.String() + " state")
	r.notify(Event{Name: s.cfg.Name, Up: s.state == Up, State: s.state, Diag: s.diag})
}
