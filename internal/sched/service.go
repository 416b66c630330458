package sched

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultScheduler is the scheduler of a service that names none: ipvsadm's default.
const DefaultScheduler = "wlc"

// ServiceConfig is one virtual service's scheduling setup.
type ServiceConfig struct {
	Scheduler   string        // ipvsadm name; empty means DefaultScheduler (wlc)
	Flags       Flags         // scheduler flags (sh/mh: Flag1 fallback, Flag2 port)
	Persistence time.Duration // 0 = not persistent
	PrefixLen4  int           // persistence granularity for IPv4 clients (default 32)
	PrefixLen6  int           // for IPv6 clients (default 128)
	OnePacket   bool          // schedule every datagram on its own (ipvsadm -o)
	// MaglevTableSize is mh's lookup table size, a prime; 0 means the kernel's 4093, which
	// keeps govs and IPVS directors agreeing on every flow.
	MaglevTableSize int
	// ExpireQuiescent is IPVS's expire_quiescent_template sysctl: a template whose
	// destination has weight 0 is dropped and the client scheduled afresh, instead of
	// following the template to the quiesced server.
	ExpireQuiescent bool
}

// Service = scheduler + persistence templates for one virtual service. Safe for concurrent
// use; Schedule and Done take only a per-client-shard lock.
type Service struct {
	updateMu sync.Mutex // serialises Update
	state    atomic.Pointer[serviceState]
	shards   [templateShards]templateShard
}

// serviceState is what one Update installs; Schedule reads it without locking.
type serviceState struct {
	cfg     ServiceConfig // with defaults applied
	sched   Scheduler
	members map[netip.AddrPort]*Dest
}

const (
	templateShardBits = 6
	templateShards    = 1 << templateShardBits
)

// templateShard holds the templates of the clients hashing to it. The padding keeps two
// shards' locks off one cache line.
type templateShard struct {
	mu sync.Mutex
	m  map[netip.Addr]*template
	_  [40]byte
}

// template is a persistence template (an IPVS template connection): the masked client
// address and the destination its connections go to.
type template struct {
	key   netip.Addr
	dest  *Dest
	conns int       // connections scheduled through it and not Done yet
	until time.Time // expiry, once conns is 0
	dead  bool      // dropped from the table; its count on dest ends with its last conn
}

// Conn is one scheduled connection or flow.
type Conn struct {
	Dest *Dest

	tmpl      *template
	onePacket bool
}

// NewService validates cfg and dests (IPVS list order, newest first) and returns the
// service.
func NewService(cfg ServiceConfig, dests []*Dest) (*Service, error) {
	s := &Service{}
	for i := range s.shards {
		s.shards[i].m = map[netip.Addr]*template{}
	}
	if err := s.Update(cfg, dests); err != nil {
		return nil, err
	}
	return s, nil
}

// Update installs a new configuration and destination list. The scheduler keeps its state
// when its name, flags and table size stay; templates survive when their destination does
// (matched by Addr), unless persistence was turned off or its granularity changed.
func (s *Service) Update(cfg ServiceConfig, dests []*Dest) error {
	cfg, err := normalize(cfg, dests)
	if err != nil {
		return err
	}
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	old := s.state.Load()
	st := &serviceState{cfg: cfg, members: make(map[netip.AddrPort]*Dest, len(dests))}
	for _, d := range dests {
		st.members[d.Addr] = d
	}
	if old != nil && sameScheduler(old.cfg, cfg) {
		st.sched = old.sched
	} else if st.sched, err = newScheduler(cfg); err != nil {
		return err
	}
	st.sched.Update(dests)
	s.state.Store(st)
	if old == nil {
		return nil
	}
	if old.sched != st.sched {
		if r, ok := old.sched.(releaser); ok {
			r.release()
		}
	}
	keyChanged := cfg.Persistence == 0 || cfg.PrefixLen4 != old.cfg.PrefixLen4 || cfg.PrefixLen6 != old.cfg.PrefixLen6
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, t := range sh.m {
			if keyChanged || !st.follow(t) {
				sh.drop(t)
			}
		}
		sh.mu.Unlock()
	}
	return nil
}

// normalize applies the defaults and reports the first invalid field.
func normalize(cfg ServiceConfig, dests []*Dest) (ServiceConfig, error) {
	if cfg.Scheduler == "" {
		cfg.Scheduler = DefaultScheduler
	}
	if cfg.PrefixLen4 == 0 {
		cfg.PrefixLen4 = 32
	}
	if cfg.PrefixLen6 == 0 {
		cfg.PrefixLen6 = 128
	}
	switch {
	case cfg.Flags&^(Flag1|Flag2|Flag3) != 0:
		return cfg, fmt.Errorf("sched: Flags %#x: only flag-1..3 (%#x) exist", uint8(cfg.Flags), uint8(Flag1|Flag2|Flag3))
	case cfg.Persistence < 0:
		return cfg, fmt.Errorf("sched: Persistence %v: must not be negative", cfg.Persistence)
	case cfg.PrefixLen4 < 0 || cfg.PrefixLen4 > 32:
		return cfg, fmt.Errorf("sched: PrefixLen4 %d: want 1..32", cfg.PrefixLen4)
	case cfg.PrefixLen6 < 0 || cfg.PrefixLen6 > 128:
		return cfg, fmt.Errorf("sched: PrefixLen6 %d: want 1..128", cfg.PrefixLen6)
	case !registered(cfg.Scheduler):
		return cfg, fmt.Errorf("sched: Scheduler %q: unknown (known: %v)", cfg.Scheduler, Names())
	case cfg.MaglevTableSize != 0 && cfg.Scheduler != "mh":
		return cfg, fmt.Errorf("sched: MaglevTableSize %d: only for the mh scheduler, not %q", cfg.MaglevTableSize, cfg.Scheduler)
	}
	seen := make(map[netip.AddrPort]int, len(dests))
	for i, d := range dests {
		if d == nil {
			return cfg, fmt.Errorf("sched: dests[%d]: nil destination", i)
		}
		if !d.Addr.Addr().IsValid() {
			return cfg, fmt.Errorf("sched: dests[%d]: invalid address %v", i, d.Addr)
		}
		if j, dup := seen[d.Addr]; dup {
			return cfg, fmt.Errorf("sched: dests[%d]: duplicate destination %v (also dests[%d])", i, d.Addr, j)
		}
		seen[d.Addr] = i
	}
	if cfg.Scheduler == "mh" {
		size := cfg.MaglevTableSize
		if size == 0 {
			size = DefaultMaglevTableSize
		}
		if len(dests) > size {
			return cfg, fmt.Errorf("sched: dests: %d destinations do not fit the mh table of %d slots", len(dests), size)
		}
	}
	return cfg, nil
}

func sameScheduler(a, b ServiceConfig) bool {
	return a.Scheduler == b.Scheduler && a.Flags == b.Flags && a.MaglevTableSize == b.MaglevTableSize
}

func newScheduler(cfg ServiceConfig) (Scheduler, error) {
	if cfg.Scheduler == "mh" && cfg.MaglevTableSize != 0 {
		return NewMaglev(cfg.Flags, cfg.MaglevTableSize)
	}
	return New(cfg.Scheduler, cfg.Flags)
}

// Schedule picks a destination for a new connection/flow of f, honouring persistence
// templates (a template's dest is used even at weight 0 while the template lives; not if
// the dest was removed), and binds the connection to the dest (Dest.Bind) and to the
// template. ok=false: no destination available.
//
// With OnePacket every call is one datagram that is over once scheduled: nothing is bound
// and Done does nothing; a template is refreshed by each datagram instead.
func (s *Service) Schedule(f Flow) (c Conn, ok bool) {
	st := s.state.Load()
	ops := st.cfg.OnePacket
	if st.cfg.Persistence == 0 {
		d := st.sched.Pick(f)
		if d == nil {
			return Conn{}, false
		}
		if !ops {
			d.Bind()
		}
		return Conn{Dest: d, onePacket: ops}, true
	}
	now := f.now()
	key := st.templateKey(f.Src.Addr())
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.m[key]
	if t != nil && (t.expired(now) || !st.follow(t) || st.cfg.ExpireQuiescent && t.dest.weight.Load() == 0) {
		sh.drop(t)
		t = nil
	}
	if t == nil {
		d := st.sched.Pick(f)
		if d == nil {
			return Conn{}, false
		}
		t = &template{key: key, dest: d}
		d.bindTemplate()
		sh.m[key] = t
	}
	if ops {
		if t.conns == 0 {
			t.until = now.Add(st.cfg.Persistence)
		}
		return Conn{Dest: t.dest, onePacket: true}, true
	}
	t.conns++
	t.dest.Bind()
	return Conn{Dest: t.dest, tmpl: t}, true
}

// Done ends a connection returned by Schedule: unbinds it (Dest.Unbind) and, for a
// persistent service, starts the template's countdown: the template expires Persistence
// after its last connection ended.
func (s *Service) Done(c Conn, wasActive bool, now time.Time) {
	if c.Dest == nil || c.onePacket {
		return
	}
	c.Dest.Unbind(wasActive)
	t := c.tmpl
	if t == nil {
		return
	}
	sh := s.shard(t.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t.conns--
	if t.conns > 0 {
		return
	}
	if t.dead {
		t.dest.unbindTemplate()
		return
	}
	t.until = now.Add(s.state.Load().cfg.Persistence)
}

// Expire drops the templates that expired by now, and those whose destination left the
// service. Expiry also happens lazily when a client comes back; Expire bounds the memory
// of clients that do not.
func (s *Service) Expire(now time.Time) {
	st := s.state.Load()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, t := range sh.m {
			if t.expired(now) || !st.follow(t) {
				sh.drop(t)
			}
		}
		sh.mu.Unlock()
	}
}

// Templates is the number of templates held (IPVS's persistence templates, see
// Dest.Persistent for the count per destination); call Expire first to leave out the
// expired ones.
func (s *Service) Templates() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// templateKey is the client address masked to the persistence granularity.
func (st *serviceState) templateKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	bits := st.cfg.PrefixLen6
	if a.Is4() {
		bits = st.cfg.PrefixLen4
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a // an invalid address is its own key
	}
	return p.Addr()
}

// follow reports whether t's destination is still in the service, moving t to the
// service's current Dest for that address if the caller replaced the object.
func (st *serviceState) follow(t *template) bool {
	d, ok := st.members[t.dest.Addr]
	if !ok {
		return false
	}
	if d != t.dest {
		t.dest.unbindTemplate()
		t.dest = d
		d.bindTemplate()
	}
	return true
}

func (t *template) expired(now time.Time) bool { return t.conns == 0 && !now.Before(t.until) }

func (s *Service) shard(key netip.Addr) *templateShard {
	return &s.shards[hash32(foldAddr(key), templateShardBits)]
}

// drop removes t from the table; its destination's template count ends now, or with its
// last connection.
func (sh *templateShard) drop(t *template) {
	if sh.m[t.key] == t {
		delete(sh.m, t.key)
	}
	t.dead = true
	if t.conns == 0 {
		t.dest.unbindTemplate()
	}
}
