package bfd

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// Config is one bfd_instance.
type Config struct {
	Name     string
	Neighbor netip.Addr
	// Source is the local address packets leave from [chosen by routing].
	Source netip.Addr
	// MinRx is the slowest rate we need the neighbour's packets at, MinTx how fast we
	// would send once Up, IdleTx how fast while not Up [10 ms, 10 ms, 1 s].
	MinRx, MinTx, IdleTx time.Duration
	// Multiplier is how many intervals without a packet take the session down [5].
	Multiplier uint8
	// Passive sends nothing until the neighbour has spoken.
	Passive bool
	// TTL is the IPv4 TTL / IPv6 hop limit sent [255 / 64]. A packet received with
	// fewer than TTL − MaxHops is dropped; MaxHops −1 takes any [0].
	TTL, MaxHops int
}

// session is one BFD session's state machine (RFC 5880 §6.8), without I/O: the
// runner feeds it packets and the time, and sends what it asks for.
type session struct {
	cfg       Config
	state     State
	localDisc uint32
	diag      uint8

	remoteDisc  uint32
	remoteState State
	remoteMinRx time.Duration // the neighbour's Required Min RX Interval
	remoteMinTx time.Duration // its Desired Min TX Interval
	remoteMult  uint8

	// polling sets Poll in what we send until a Final answers: our intervals changed.
	polling bool
	// heard: the neighbour has spoken since we last lost it (passive sessions wait).
	heard bool

	nextTx   time.Time // zero: not sending
	detectAt time.Time // zero: nothing to detect
}

func newSession(cfg Config, disc uint32, now time.Time) *session {
	s := &session{cfg: cfg, state: Down, localDisc: disc, remoteMinRx: time.Microsecond, remoteState: Down}
	if !cfg.Passive {
		s.nextTx = now
	}
	return s
}

// desiredMinTx is what we ask to send at: min_tx once Up, idle_tx otherwise (RFC 5880
// §6.8.3: at least a second while not Up).
func (s *session) desiredMinTx() time.Duration {
	if s.state == Up {
		return s.cfg.MinTx
	}
	return max(s.cfg.IdleTx, time.Second)
}

// txInterval is the periodic transmission interval, before jitter; 0: the neighbour
// wants no packets.
func (s *session) txInterval() time.Duration {
	if s.remoteMinRx == 0 {
		return 0
	}
	return max(s.desiredMinTx(), s.remoteMinRx)
}

// detectTime is how long the neighbour may stay silent (§6.8.4, asynchronous mode).
func (s *session) detectTime() time.Duration {
	return time.Duration(s.remoteMult) * max(s.cfg.MinRx, s.remoteMinTx)
}

// jitter shortens an interval by 0–25 %, or 10–25 % with a multiplier of 1 (§6.8.7).
func (s *session) jitter(d time.Duration) time.Duration {
	lo := 0.75
	hi := 1.0
	if s.cfg.Multiplier == 1 {
		hi = 0.9
	}
	return time.Duration(float64(d) * (lo + rand.Float64()*(hi-lo)))
}

// retime takes a reload's configuration whose socket settings are the same (sameSocket):
// the session goes on, and announces changed intervals with a Poll Sequence
// (RFC 5880 §6.8.3), as keepalived does on reload.
func (s *session) retime(cfg Config, now time.Time) {
	timers := cfg.MinRx != s.cfg.MinRx || cfg.MinTx != s.cfg.MinTx || cfg.IdleTx != s.cfg.IdleTx || cfg.Multiplier != s.cfg.Multiplier
	s.cfg = cfg
	if timers && s.state != AdminDown {
		s.polling = true
		s.nextTx = now
	}
}

// sameSocket reports whether a and b send from the same socket: the rest can change
// under a running session.
func sameSocket(a, b Config) bool {
	return a.Name == b.Name && a.Neighbor == b.Neighbor && a.Source == b.Source && a.TTL == b.TTL
}

// packet is what we send now; final answers a Poll.
func (s *session) packet(final bool) Packet {
	return Packet{
		Diag: s.diag, State: s.state, Poll: s.polling && !final, Final: final,
		DetectMult: s.cfg.Multiplier, MyDisc: s.localDisc, YourDisc: s.remoteDisc,
		DesiredMinTx: uint32(s.desiredMinTx() / time.Microsecond), RequiredMinRx: uint32(s.cfg.MinRx / time.Microsecond),
	}
}

// receive takes a valid packet addressed to this session. It reports whether the
// state changed, and whether a packet must go out at once (a Final, or news).
func (s *session) receive(p Packet, now time.Time) (changed, sendNow bool) {
	if s.state == AdminDown {
		return false, false
	}
	s.remoteDisc, s.remoteState, s.remoteMult = p.MyDisc, p.State, p.DetectMult
	s.remoteMinRx = time.Duration(p.RequiredMinRx) * time.Microsecond
	s.remoteMinTx = time.Duration(p.DesiredMinTx) * time.Microsecond
	s.heard = true
	if p.Final {
		s.polling = false
	}
	old := s.state
	switch {
	case p.State == AdminDown:
		if s.state != Down {
			s.down(diagNeighbourDown)
		}
	case s.state == Down && p.State == Down:
		s.state = Init
	case s.state == Down && p.State == Init, s.state == Init && (p.State == Init || p.State == Up):
		s.state, s.diag = Up, diagNone
	case s.state == Up && p.State == Down:
		s.down(diagNeighbourDown)
	}
	s.detectAt = now.Add(s.detectTime())
	changed = s.state != old
	if changed {
		// Our desired interval changes with Up (idle_tx ↔ min_tx): announce it with a
		// Poll Sequence, and say the new state at once.
		s.polling = true
		s.nextTx = now
	}
	if s.nextTx.IsZero() && s.txInterval() > 0 {
		s.nextTx = now // a passive session starts sending once spoken to
	}
	return changed, p.Poll || changed
}

func (s *session) down(diag uint8) {
	s.state, s.diag = Down, diag
}

// tick handles the timers at now: the detection time running out, and the periodic
// packet. It reports a state change and whether to send.
func (s *session) tick(now time.Time) (changed, send bool) {
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.detectAt = time.Time{}
		s.remoteDisc, s.remoteState, s.remoteMinRx, s.remoteMinTx = 0, Down, time.Microsecond, 0
		if s.state == Init || s.state == Up {
			s.down(diagTimeExpired)
			s.polling = false
			changed = true
		}
		if s.cfg.Passive {
			s.heard, s.nextTx = false, time.Time{} // silent again until spoken to
		}
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		if iv := s.txInterval(); iv > 0 {
			send = true
			s.nextTx = now.Add(s.jitter(iv))
		} else {
			s.nextTx = time.Time{}
		}
	}
	return changed, send
}

// next is the session's next deadline; zero when it waits for nothing.
func (s *session) next() time.Time {
	switch {
	case s.nextTx.IsZero():
		return s.detectAt
	case s.detectAt.IsZero() || s.nextTx.Before(s.detectAt):
		return s.nextTx
	}
	return s.detectAt
}
