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
	sessions  []*session
	senders   []*net.UDPConn // one per session, bound to a port of 49152–65535
	receivers map[bool]bool  // families with a receiving socket (true: IPv4)
	byDisc    map[uint32]*session
	rx        chan received
	readers   sync.WaitGroup
	conns     []net.PacketConn
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
// goroutine, and must not block.
func Start(ctx context.Context, cfgs []Config, ns netns.NsHandle, logger *slog.Logger, notify func(Event)) (*Runner, error) {
	r := &Runner{ns: ns, updates: make(chan update), logger: logger, notify: notify, done: make(chan struct{}),
		stopped: make(chan struct{}), byDisc: map[uint32]*session{},
		rx: make(chan received, 64), receivers: map[bool]bool{}}
	if err := r.apply(cfgs, time.Now()); err != nil {
		close(r.stopped)
		r.closeAll()
		r.readers.Wait()
		return nil, err
	}
	go r.loop(ctx)
	return r, nil
}

// Update replaces the sessions with cfgs: one whose configuration is unchanged goes on
// undisturbed; a changed or removed one tells its neighbour AdminDown and, if it was
// Up, is reported Down.
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
	keep := map[string]*session{}
	for _, s := range r.sessions {
		keep[s.cfg.Name] = s
	}
	var sessions []*session
	var senders []*net.UDPConn
	var opened []*net.UDPConn
	err := nsrun.Do(r.ns, func() error {
		for _, c := range cfgs {
			if old := keep[c.Name]; old != nil && old.cfg == c {
				sessions = append(sessions, old)
				senders = append(senders, r.senders[r.index(old)])
				continue
			}
			conn, err := openSender(c)
			if err != nil {
				return fmt.Errorf("bfd_instance %s: %w", c.Name, err)
			}
			opened = append(opened, conn)
			disc := rand.Uint32()
			for disc == 0 || r.byDisc[disc] != nil {
				disc = rand.Uint32()
			}
			sessions = append(sessions, newSession(c, disc, now))
			r.logger.Info("BFD_Instance(" + c.Name + ") Starting: " + c.Neighbor.String())
			senders = append(senders, conn)
			v4 := c.Neighbor.Unmap().Is4()
			if !r.receivers[v4] {
				rc, err := openReceiver(v4)
				if err != nil {
					return err
				}
				r.receivers[v4] = true
				r.conns = append(r.conns, rc.conn)
				r.readers.Add(1)
				go func() { defer r.readers.Done(); r.read(rc) }()
			}
		}
		return nil
	})
	if err != nil {
		for _, c := range opened {
			c.Close()
		}
		return err
	}
	// Sessions that go: a goodbye, and Down for whoever tracked them Up.
	kept := map[*session]bool{}
	for _, s := range sessions {
		kept[s] = true
	}
	for k, s := range r.sessions {
		if kept[s] {
			continue
		}
		wasUp := s.state == Up
		if wasUp || s.state == Init {
			s.state, s.diag = AdminDown, diagAdminDown
			r.send(k, false)
		}
		r.senders[k].Close()
		if wasUp {
			s.state = Down
			r.report(s)
		}
	}
	r.sessions, r.senders = sessions, senders
	r.byDisc = map[uint32]*session{}
	for _, s := range sessions {
		r.byDisc[s.localDisc] = s
	}
	return nil
}

// Done is closed once the runner has stopped and closed its sockets.
func (r *Runner) Done() <-chan struct{} { return r.done }

func (r *Runner) closeAll() {
	for _, c := range r.senders {
		c.Close()
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
		for _, s := range r.sessions {
			if t := s.next(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			for k, s := range r.sessions {
				if s.state == Up || s.state == Init {
					// Tell the neighbour, as keepalived does on stop, so it does not wait
					// for the detection time.
					s.state, s.diag = AdminDown, diagAdminDown
					r.send(k, false)
				}
			}
			return
		case m := <-r.rx:
			r.receive(m, time.Now())
		case u := <-r.updates:
			u.errc <- r.apply(u.cfgs, time.Now())
		case <-timer.C:
			now := time.Now()
			for k := range r.sessions {
				r.step(k, now)
			}
		}
	}
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// session finds whom a packet is for: by our discriminator, or before the neighbour
// knows it by the addresses (RFC 5880 §6.3).
func (r *Runner) session(m received) *session {
	if m.p.YourDisc != 0 {
		if s := r.byDisc[m.p.YourDisc]; s != nil && s.cfg.Neighbor.Unmap() == m.src {
			return s
		}
		return nil
	}
	for _, s := range r.sessions {
		if s.cfg.Neighbor.Unmap() == m.src && (!s.cfg.Source.IsValid() || s.cfg.Source.Unmap() == m.dst) {
			return s
		}
	}
	return nil
}

func (r *Runner) receive(m received, now time.Time) {
	s := r.session(m)
	if s == nil {
		return
	}
	if s.cfg.MaxHops >= 0 && m.ttl+s.cfg.MaxHops < s.cfg.TTL {
		r.logger.Debug("bfd: packet with too low a TTL", "session", s.cfg.Name, "ttl", m.ttl)
		return
	}
	k := r.index(s)
	changed, sendNow := s.receive(m.p, now)
	if changed {
		r.report(s)
	}
	if sendNow {
		r.send(k, m.p.Poll)
	}
}

func (r *Runner) step(k int, now time.Time) {
	s := r.sessions[k]
	changed, send := s.tick(now)
	if changed {
		r.report(s)
	}
	if send {
		r.send(k, false)
	}
}

func (r *Runner) index(s *session) int {
	for k, o := range r.sessions {
		if o == s {
			return k
		}
	}
	return -1
}

func (r *Runner) send(k int, final bool) {
	s := r.sessions[k]
	p := s.packet(final)
	var buf [packetLen]byte
	if _, err := r.senders[k].Write(p.Append(buf[:0])); err != nil {
		r.logger.Debug("bfd: sending", "session", s.cfg.Name, "err", err)
	}
}

// report logs a change and delivers it; keepalived's lines.
func (r *Runner) report(s *session) {
	r.logger.Info("BFD_Instance(" + s.cfg.Name + ") Entering " + s.state.String() + " state")
	r.notify(Event{Name: s.cfg.Name, Up: s.state == Up, State: s.state, Diag: s.diag})
}
