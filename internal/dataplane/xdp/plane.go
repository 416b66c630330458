// Package xdp is govs's XDP data plane: LVS-DR (destination MAC rewrite, XDP_TX or
// redirect) and LVS-TUN (IPIP or IPv6 encapsulation) at line rate, for TCP and UDP virtual
// services over IPv4 and IPv6. The program (bpf/govs_xdp.c) picks a real server for a new
// flow from a Maglev table the Go side computes with the sched package and remembers it in
// an LRU flow table shared by all CPUs (with a per-CPU cache in front), so a table change
// does not move established flows and two directors with the same real servers send a flow
// to the same one (failover keeps flows). A TCP packet of a flow the director has no entry
// for (one that began on another director) is looked up in a second table over every
// real server of the service, including those that have since failed a health check, so
// their established flows survive a failover too (see service.members). Flows idle past
// their protocol's timeout (ipvsadm --set) are aged out by a periodic scan, which also
// keeps the active-flow counts honest.
//
// Every scheduler is realised as a Maglev table (see realise): rr/wrr as weights, lc, wlc,
// sed, nq and ovf as weights refreshed every 100 ms from the active-flow counts the
// program keeps from the client's SYN, FIN and RST, mh exactly as IPVS builds it.
package xdp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/estimator"
	"github.com/govs/govs/internal/sched"
	"github.com/govs/govs/internal/table"
)

func init() {
	dataplane.Register("xdp", func(opts dataplane.Options) (dataplane.Dataplane, error) {
		return New(Config{Logger: opts.Logger, Interfaces: opts.Interfaces})
	})
}

// Limits of the program's maps (bpf/govs_xdp.c).
const (
	maglevSize  = sched.DefaultMaglevTableSize
	maxServices = 1024
	maxDests    = 4096
	noDest      = 0xffff
)

// Timing of the control loop.
const (
	refreshEvery = 100 * time.Millisecond // dynamic weights (lc, wlc, ...), the clock
	neighEvery   = time.Second            // real servers' MACs
)

// Each CPU's flow cache has maxCacheSlots slots (of cacheSlotBytes), fewer on hosts with
// so many CPUs that the caches would take more than maxCacheBytes together.
const (
	maxCacheSlots = 1 << 16
	minCacheSlots = 1 << 10
	maxCacheBytes = 64 << 20
)

const cacheSlotBytes = uint64(unsafe.Sizeof(govsXDPCacheSlot{}))

// Config configures the XDP plane.
type Config struct {
	Logger *slog.Logger
	// Interfaces the program is attached to, besides every interface a real server is
	// reached through (attached as real servers appear). Traffic to a VIP must arrive on
	// one of them: name the client-side interface of a two-armed director here.
	Interfaces []string
	// Mode is "native" (driver XDP), "generic" (skb XDP, works on any interface, slower)
	// or "" (native, falling back to generic where the driver has no XDP).
	Mode string
}

// Plane is the XDP data plane.
type Plane struct {
	log     *slog.Logger
	cfg     Config
	objs    govsXDPObjects
	destTab *destTable
	// epoch is the program's clock's zero; now is time.Now except in tests.
	epoch time.Time
	now   func() time.Time

	mu       sync.Mutex // guards everything below; Apply, the control loop and Stats take it
	services map[table.ServiceKey]*service
	order    []*service // services in table order, for Stats
	dests    map[destKey]*dest
	freeIDs  []uint32
	gen      uint32
	links    map[int]link.Link // attached, by ifindex
	timeouts table.Timeouts
	closed   bool
	ports    [65536 / 64]uint64 // the vip_ports bitmap as installed
	clockSet uint32             // the clock as installed
	epochSet uint32             // the epoch as installed

	// resolve and attachHops are resolveAll and true, except in tests that install next
	// hops themselves and attach nothing.
	resolve    func(context.Context, []netip.Addr) map[netip.Addr]nextHop
	attachHops bool

	stop context.CancelFunc
	done chan struct{}
}

type service struct {
	key   table.ServiceKey
	spec  table.Service
	real  realisation
	dests []*dest
	// members are the servers of the table for mid-flow TCP packets without a flow
	// entry: every real server the configuration names, in its order, whether a failed
	// check keeps it out of the table or not (table.Service.Configured), then those the
	// table adds; and, in their former place, those a reload removed, for the TCP
	// timeout, since another director may still send them flows. Two directors with
	// the same configuration build the same one, whenever each started. A table without
	// a configuration stands for it (the plane then remembers servers a failed check
	// removed, in their place, for the TCP timeout).
	members []*dest
	// installed is the weights the program's tables were last built from; a refresh
	// that computes the same ones writes nothing.
	installed, installedAll []int
	base                    estimator.Counters // counters of real servers since removed
	est                     estimator.Estimator
	lastConns               uint64 // for the arrival estimate of dynamic weights
}

type destKey struct {
	svc  table.ServiceKey
	addr netip.AddrPort
}

type dest struct {
	key        destKey
	id, gen    uint32
	method     table.Method
	weight     int
	lastWeight int // last non-zero weight (mh keeps the slots of a quiesced server)
	hop        nextHop
	removedAt  time.Time // zero while in its service
	raw        govsXDPCounters
	cnt        estimator.Counters
	est        estimator.Estimator
	// active is the flows not closed by the client nor idle past their timeout: the last
	// flow scan's count (scanOpen) moved on by the flows opened and closed since, as the
	// counters tell (scanConns, scanCloses: their values when the scan began). inactive is
	// the closed flows the scan found still in their FIN timeout.
	active, inactive      int64
	scanOpen, scanClosed  int64
	scanConns, scanCloses uint64
}

var _ dataplane.Dataplane = (*Plane)(nil)

// New loads the program and attaches it to cfg.Interfaces. Where XDP cannot work it
// returns an error wrapping dataplane.ErrNotSupported that says why and names the
// alternative.
func New(cfg Config) (*Plane, error) {
	p, err := load(cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.Interfaces {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			p.release()
			return nil, fmt.Errorf("%w: xdp: interface %q does not exist (%v); name an existing interface or use --dataplane proxy", dataplane.ErrNotSupported, name, err)
		}
		if err := p.attach(ifc.Index); err != nil {
			p.release()
			return nil, err
		}
	}
	p.start()
	return p, nil
}

// load checks the host and loads the program and its maps, attaching nothing.
func load(cfg Config) (*Plane, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch cfg.Mode {
	case "", "native", "generic":
	default:
		return nil, fmt.Errorf("xdp: mode %q: want native, generic or empty (native, else generic)", cfg.Mode)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: xdp: loading an XDP program needs root (CAP_BPF and CAP_NET_ADMIN); run govs as root, or use --dataplane proxy", dataplane.ErrNotSupported)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("%w: xdp: raising the locked-memory limit for BPF maps: %v; use --dataplane proxy", dataplane.ErrNotSupported, err)
	}
	p := &Plane{
		log:        cfg.Logger.With("dataplane", "xdp"),
		cfg:        cfg,
		services:   map[table.ServiceKey]*service{},
		dests:      map[destKey]*dest{},
		links:      map[int]link.Link{},
		resolve:    resolveAll,
		attachHops: true,
		epoch:      time.Now(),
		now:        time.Now,
	}
	spec, err := loadGovsXDP()
	if err != nil {
		return nil, fmt.Errorf("xdp: reading the BPF program: %w", err)
	}
	slots := cacheSlots(ebpf.MustPossibleCPU())
	spec.Maps["flow_cache"].MaxEntries = slots
	if err := spec.Variables["cache_mask"].Set(slots - 1); err != nil {
		return nil, fmt.Errorf("xdp: sizing the flow cache: %w", err)
	}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: xdp: loading the BPF program: %v (the kernel needs BPF and XDP, and govs CAP_BPF); use --dataplane proxy", dataplane.ErrNotSupported, err)
		}
		return nil, fmt.Errorf("xdp: loading the BPF program: %w", err)
	}
	if p.destTab, err = newDestTable(p.objs.Dests, spec.Maps["dests"].InnerMap); err != nil {
		p.objs.Close()
		return nil, err
	}
	if err := p.writeClock(p.now()); err != nil {
		p.destTab.close()
		p.objs.Close()
		return nil, err
	}
	for i := maxDests - 1; i >= 0; i-- {
		p.freeIDs = append(p.freeIDs, uint32(i))
	}
	return p, nil
}

// cacheSlots is the size of each CPU's flow cache on a host with cpus CPUs.
func cacheSlots(cpus int) uint32 {
	slots := uint32(maxCacheSlots)
	for slots > minCacheSlots && uint64(slots)*cacheSlotBytes*uint64(cpus) > maxCacheBytes {
		slots /= 2
	}
	return slots
}

// start starts the control loop.
func (p *Plane) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	go p.control(ctx)
}

// attach puts the program on interface ifindex, once; p.mu is held or p is not shared yet.
func (p *Plane) attach(ifindex int) error {
	if _, ok := p.links[ifindex]; ok {
		return nil
	}
	name := fmt.Sprint(ifindex)
	if ifc, err := net.InterfaceByIndex(ifindex); err == nil {
		name = ifc.Name
	}
	modes := map[string][]link.XDPAttachFlags{
		"":        {link.XDPDriverMode, link.XDPGenericMode},
		"native":  {link.XDPDriverMode},
		"generic": {link.XDPGenericMode},
	}[p.cfg.Mode]
	var errs []error
	for _, mode := range modes {
		l, err := link.AttachXDP(link.XDPOptions{Program: p.objs.GovsXdp, Interface: ifindex, Flags: mode})
		if err == nil {
			p.links[ifindex] = l
			p.log.Info("XDP program attached", "interface", name, "mode", modeName(mode))
			return nil
		}
		errs = append(errs, fmt.Errorf("%s mode: %w", modeName(mode), err))
	}
	return fmt.Errorf("%w: xdp: attaching to interface %s: %v; use --dataplane proxy", dataplane.ErrNotSupported, name, errors.Join(errs...))
}

func modeName(f link.XDPAttachFlags) string {
	if f == link.XDPDriverMode {
		return "native"
	}
	return "generic"
}

func (p *Plane) detachAll() {
	for i, l := range p.links {
		_ = l.Close()
		delete(p.links, i)
	}
}

// Apply reconciles the program's maps with t. Every service is checked first, so a table
// the plane cannot serve changes nothing. Each service's Maglev table and flags are one
// map element, replaced at once. New real servers are installed before the tables that
// name them, and a server leaves the tables before it stops taking new flows; removed
// ones linger, unscheduled, for their established flows.
func (p *Plane) Apply(ctx context.Context, t table.Table) error {
	reals := make([]realisation, len(t.Services))
	for i, s := range t.Services {
		r, err := realise(s)
		if err != nil {
			return err
		}
		reals[i] = r
	}
	if len(t.Services) > maxServices {
		return fmt.Errorf("xdp: %d virtual services exceed the program's %d", len(t.Services), maxServices)
	}
	// Resolve the next hops of new real servers before taking the lock: it may wait
	// for ARP.
	p.mu.Lock()
	var unresolved []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, s := range t.Services {
		for _, d := range slices.Concat(s.Dests, s.Configured) {
			a := d.Addr.Addr().Unmap()
			if p.dests[destKey{s.ServiceKey, d.Addr}] == nil && !seen[a] {
				seen[a] = true
				unresolved = append(unresolved, a)
			}
		}
	}
	p.mu.Unlock()
	hops := p.resolve(ctx, unresolved)

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("xdp: Apply after Close")
	}
	p.timeouts = t.Timeouts
	now := time.Now()
	// The new services' ports are let through before their tables exist, and the old
	// ones' are dropped only after their services are gone.
	newPorts := p.ports
	for _, s := range t.Services {
		setPort(&newPorts, s.Addr.Port())
	}
	if err := p.writePorts(newPorts); err != nil {
		return err
	}

	// First the destinations, each still taking new flows if it did, so that no table
	// names one the program does not know or refuses.
	want := map[table.ServiceKey]bool{}
	order := make([]*service, 0, len(t.Services))
	var leaving []*dest
	for i, s := range t.Services {
		want[s.ServiceKey] = true
		svc := p.services[s.ServiceKey]
		if svc == nil {
			svc = &service{key: s.ServiceKey}
			p.services[s.ServiceKey] = svc
		}
		if svc.real.what != reals[i].what {
			p.log.Info("virtual server "+s.ServiceKey.String()+": "+reals[i].what, "service", s.ServiceKey.String(), "from", s.Name)
		}
		svc.spec, svc.real = s, reals[i]
		keep := map[netip.AddrPort]bool{}
		svc.dests = svc.dests[:0]
		for _, td := range s.Dests {
			keep[td.Addr] = true
			d, err := p.destFor(s.ServiceKey, td.Addr, hops)
			if err != nil {
				return err
			}
			d.method, d.weight, d.removedAt = td.Method, td.Weight, time.Time{}
			if td.Weight > 0 {
				d.lastWeight = td.Weight
			}
			if err := d.usable(); err != nil {
				p.log.Warn("real server not reachable; it gets no flows until it is", "service", s.ServiceKey.String(), "real_server", td.Addr.String(), "error", err)
			} else if p.attachHops {
				if err := p.attach(d.hop.ifindex); err != nil {
					return err
				}
			}
			p.installDest(d, true)
			svc.dests = append(svc.dests, d)
		}
		for _, d := range p.dests {
			if d.key.svc == s.ServiceKey && !keep[d.key.addr] && d.removedAt.IsZero() {
				d.removedAt = now
				leaving = append(leaving, d)
			}
		}
		cur, standby, err := p.configuredOrder(svc, s, keep, hops)
		if err != nil {
			return err
		}
		for _, d := range standby {
			// In the destination array before the table that names it.
			d.removedAt = now
			p.installDest(d, false)
		}
		svc.members = mergeMembers(svc.members, cur, func(d *dest) bool { return p.dests[d.key] == d })
		order = append(order, svc)
	}
	if err := p.flushDests(); err != nil {
		return err
	}
	for _, svc := range order {
		if err := p.installService(svc, true); err != nil {
			return err
		}
	}
	for k, svc := range p.services {
		if want[k] {
			continue
		}
		if err := p.objs.Services.Delete(svcKeyOf(k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("xdp: removing service %s: %w", k, err)
		}
		for _, d := range svc.dests {
			if d.removedAt.IsZero() {
				d.removedAt = now
				leaving = append(leaving, d)
			}
		}
		delete(p.services, k)
		p.log.Info("virtual server removed; its established flows continue", "service", k.String())
	}
	// Then the destinations no table names any more, or names with weight 0, stop
	// taking new flows.
	for _, svc := range order {
		for _, d := range svc.dests {
			p.installDest(d, false)
		}
	}
	for _, d := range leaving {
		p.installDest(d, false)
	}
	if err := p.flushDests(); err != nil {
		return err
	}
	p.order = order
	var exact [65536 / 64]uint64
	for _, s := range t.Services {
		setPort(&exact, s.Addr.Port())
	}
	return p.writePorts(exact)
}

func setPort(bits *[65536 / 64]uint64, port uint16) { bits[port/64] |= 1 << (port % 64) }

// writePorts installs the vip_ports bitmap words that differ from bits; p.mu is held.
func (p *Plane) writePorts(bits [65536 / 64]uint64) error {
	for i, w := range bits {
		if w == p.ports[i] {
			continue
		}
		if err := p.objs.VipPorts.Update(uint32(i), w, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("xdp: installing the virtual service ports: %w", err)
		}
		p.ports[i] = w
	}
	return nil
}

// destFor returns the element of real server addr of service key, making it (with its
// next hop from hops) if there is none; p.mu is held.
func (p *Plane) destFor(key table.ServiceKey, addr netip.AddrPort, hops map[netip.Addr]nextHop) (*dest, error) {
	k := destKey{key, addr}
	if d := p.dests[k]; d != nil {
		return d, nil
	}
	if len(p.freeIDs) == 0 {
		return nil, fmt.Errorf("xdp: service %s: real server %s: more than %d real servers installed", key, addr, maxDests)
	}
	d := &dest{key: k, id: p.freeIDs[len(p.freeIDs)-1]}
	p.freeIDs = p.freeIDs[:len(p.freeIDs)-1]
	p.gen++
	d.gen = p.gen
	d.hop = hops[addr.Addr().Unmap()]
	if err := p.objs.DestCounters.Update(d.id, make([]govsXDPCounters, ebpf.MustPossibleCPU()), ebpf.UpdateAny); err != nil {
		return nil, fmt.Errorf("xdp: clearing counters of %s: %w", addr, err)
	}
	p.dests[k] = d
	return d, nil
}

// configuredOrder returns the servers of svc's mid-flow table as its configuration
// orders them: the configured ones, scheduled or not, then those the table adds (a sorry
// server, one `govs adm` added). It makes the elements of configured servers the plane
// has never had, which a failed check kept out of every table it was given (a director
// started while they fail), and returns them as standby: they take no new flow but
// carry the mid-flow packets another director's flows send them. Without a
// configuration the table's own order is the answer; p.mu is held.
func (p *Plane) configuredOrder(svc *service, s table.Service, scheduled map[netip.AddrPort]bool, hops map[netip.Addr]nextHop) (order, standby []*dest, err error) {
	if len(s.Configured) == 0 {
		return svc.dests, nil, nil
	}
	order = make([]*dest, 0, len(s.Configured)+len(svc.dests))
	in := make(map[netip.AddrPort]bool, len(s.Configured))
	for _, td := range s.Configured {
		if in[td.Addr] {
			continue // named twice: one server
		}
		in[td.Addr] = true
		if scheduled[td.Addr] {
			order = append(order, p.dests[destKey{s.ServiceKey, td.Addr}])
			continue
		}
		d, err := p.destFor(s.ServiceKey, td.Addr, hops)
		if err != nil {
			return nil, nil, err
		}
		if d.removedAt.IsZero() {
			// Not in the table, and not leaving it now either (that is the loop
			// above): an element made just now.
			d.method = td.Method
			if d.lastWeight == 0 {
				d.lastWeight = td.Weight
			}
			if p.attachHops && d.usable() == nil {
				if err := p.attach(d.hop.ifindex); err != nil {
					return nil, nil, err
				}
			}
			standby = append(standby, d)
		}
		order = append(order, d)
	}
	for _, d := range svc.dests {
		if !in[d.key.addr] {
			order = append(order, d)
		}
	}
	return order, standby, nil
}

// configured reports whether the configuration names addr among svc's real servers.
func (svc *service) configured(addr netip.AddrPort) bool {
	return slices.ContainsFunc(svc.spec.Configured, func(d table.Dest) bool { return d.Addr == addr })
}

// mergeMembers returns cur followed by nothing else but, each in its former place (after
// the member that preceded it in old), the members of old not in cur that keep accepts.
func mergeMembers(old, cur []*dest, keep func(*dest) bool) []*dest {
	in := make(map[*dest]bool, len(cur))
	for _, d := range cur {
		in[d] = true
	}
	out := append(make([]*dest, 0, len(old)+len(cur)), cur...)
	at := 0 // where the next member of old that left goes
	for _, d := range old {
		if in[d] {
			at = slices.Index(out, d) + 1
			continue
		}
		if !keep(d) {
			continue
		}
		out = slices.Insert(out, at, d)
		at++
	}
	return out
}

// flushDests installs the destination array's changes and moves the epoch when it did,
// so that no CPU's flow cache keeps a copy of an element older than the array; p.mu is
// held or p is not shared yet.
func (p *Plane) flushDests() error {
	changed := p.destTab.dirty
	if err := p.destTab.flush(); err != nil {
		return err
	}
	if changed {
		return p.moveEpoch()
	}
	return nil
}

// moveEpoch invalidates every CPU's flow cache; p.mu is held or p is not shared yet.
func (p *Plane) moveEpoch() error {
	if err := p.objs.Epoch.Set(p.epochSet + 1); err != nil {
		return fmt.Errorf("xdp: moving the flow cache's epoch: %w", err)
	}
	p.epochSet++
	return nil
}

// installDest sets d's element of the destination array for the next flush. With
// widen, a server the program lets take new flows keeps doing so (until the tables that
// stop naming it are installed).
func (p *Plane) installDest(d *dest, widen bool) {
	v := govsXDPDest{Ifindex: uint32(d.hop.ifindex), Daddr: addr16(d.key.addr.Addr()), Saddr: addr16(d.hop.src), Gen: d.gen, Mtu: uint16(min(d.hop.mtu, 0xffff))}
	copy(v.Dmac[:], d.hop.mac)
	copy(v.Smac[:], d.hop.srcMAC)
	if d.method == table.Tunnel {
		v.Flags |= destTunnel
	}
	if !d.key.addr.Addr().Unmap().Is4() {
		v.Flags |= destIPv6
	}
	v.Flags |= destReachable
	if d.usable() == nil && d.weight > 0 && d.removedAt.IsZero() {
		v.Flags |= destAvailable
	}
	if widen {
		if old := p.destTab.installed(d.id); old.Gen == d.gen {
			v.Flags |= old.Flags & destAvailable
		}
	}
	if d.usable() != nil {
		// Not reachable: the element exists (so tables may name it) but forwards nothing.
		v.Flags = 0
	}
	p.destTab.set(d.id, v)
}

// installService builds svc's Maglev tables and replaces the service's element, unless
// the weights are those already installed and force is false. The table for new flows
// follows the current weights; the table for mid-flow packets without a flow entry
// follows every member's last configured weight, whatever its health (dynamic weights,
// which differ from one director to the next, give way to the configured ones).
func (p *Plane) installService(svc *service, force bool) error {
	loads := make([]destLoad, len(svc.dests))
	for i, d := range svc.dests {
		loads[i] = destLoad{weight: d.weight, ready: d.usable() == nil, active: d.active}
		if svc.real.keepQuiesced && d.weight == 0 {
			loads[i].weight = d.lastWeight
		}
	}
	weights := tableWeights(svc.real, loads, p.arrivals(svc))
	all := make([]destLoad, len(svc.members))
	for i, d := range svc.members {
		all[i] = destLoad{weight: d.lastWeight, ready: true}
	}
	configured := svc.real
	if configured.weights == "dynamic" {
		configured.weights = "static"
	}
	allWeights := tableWeights(configured, all, 0)
	if !force && equalInts(weights, svc.installed) && equalInts(allWeights, svc.installedAll) {
		return nil
	}
	v := govsXDPSvc{Flags: svc.real.flags, ClientMask: addr16(svc.real.clientMask)}
	if err := fillTable(v.Tables[:maglevSize], svc.dests, weights); err != nil {
		return fmt.Errorf("xdp: service %s: %w", svc.key, err)
	}
	if err := fillTable(v.Tables[maglevSize:], svc.members, allWeights); err != nil {
		return fmt.Errorf("xdp: service %s: %w", svc.key, err)
	}
	if err := p.objs.Services.Update(svcKeyOf(svc.key), &v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("xdp: installing service %s: %w", svc.key, err)
	}
	svc.installed, svc.installedAll = weights, allWeights
	return nil
}

// fillTable writes into slots the Maglev table of dests with weights, as dest ids.
func fillTable(slots []uint16, dests []*dest, weights []int) error {
	md := make([]sched.MaglevDest, len(dests))
	for i, d := range dests {
		md[i] = sched.MaglevDest{Addr: d.key.addr, Weight: weights[i]}
	}
	built, err := sched.MaglevTable(md, len(slots))
	if err != nil {
		return err
	}
	for i, s := range built {
		slots[i] = noDest
		if s >= 0 {
			slots[i] = uint16(dests[s].id)
		}
	}
	return nil
}

// arrivals estimates how many new flows the service gets per refresh period, from the
// connection counter: at least 16, so that a quiet service still spreads.
func (p *Plane) arrivals(svc *service) int64 {
	var conns uint64
	for _, d := range svc.dests {
		conns += d.cnt.Conns
	}
	n := int64(conns - svc.lastConns)
	svc.lastConns = conns
	return max(n, 16)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// control runs the periodic work: the clock and dynamic weights every 100 ms, next hops
// every second, the flow scan (see scanLoop), rate estimates every 2 s, and the removal
// of lingering real servers without flows.
func (p *Plane) control(ctx context.Context) {
	defer close(p.done)
	// Resolution may wait for ARP, and a scan of a big flow table takes a while: each
	// has its own loop, so weights and the clock stay on time.
	var loops sync.WaitGroup
	every := func(d time.Duration, f func()) {
		loops.Add(1)
		go func() {
			defer loops.Done()
			tick := time.NewTicker(d)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					f()
				}
			}
		}()
	}
	every(neighEvery, func() { p.refreshHops(ctx) })
	loops.Add(1)
	go func() {
		defer loops.Done()
		p.scanLoop(ctx)
	}()
	defer loops.Wait()
	tick := time.NewTicker(refreshEvery)
	defer tick.Stop()
	lastEst := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			p.mu.Lock()
			if err := p.writeClock(p.now()); err != nil {
				p.log.Warn("advancing the clock", "error", err)
			}
			p.readCounters()
			for _, svc := range p.order {
				if svc.real.weights == "dynamic" {
					if err := p.installService(svc, false); err != nil {
						p.log.Warn("refreshing dynamic weights", "service", svc.key.String(), "error", err)
					}
				}
			}
			if now.Sub(lastEst) >= estimator.Interval {
				lastEst = now
				for _, svc := range p.order {
					total := svc.base
					for _, d := range svc.dests {
						d.est.Sample(d.cnt)
						total = addCounters(total, d.cnt)
					}
					svc.est.Sample(total)
				}
			}
			p.expire(now)
			p.mu.Unlock()
		}
	}
}

// readCounters sums every installed real server's per-CPU counters; p.mu is held.
func (p *Plane) readCounters() {
	var per []govsXDPCounters
	for _, d := range p.dests {
		if err := p.objs.DestCounters.Lookup(d.id, &per); err != nil {
			continue
		}
		var c govsXDPCounters
		for _, x := range per {
			c.Packets += x.Packets
			c.Bytes += x.Bytes
			c.Conns += x.Conns
			c.Closes += x.Closes
		}
		d.raw = c
		d.cnt = estimator.Counters{Conns: c.Conns, InPkts: c.Packets, InBytes: c.Bytes}
		d.active = max(0, d.scanOpen+int64(c.Conns-d.scanConns)-int64(c.Closes-d.scanCloses))
		d.inactive = d.scanClosed
	}
}

// expire removes lingering real servers whose linger time is over, or whose flows are
// all closed unless they are members of a TCP service's mid-flow table (which keeps them
// for the TCP timeout: another director may hold flows on them), folding their counters
// into their service's; p.mu is held.
func (p *Plane) expire(now time.Time) {
	// The flow scan ages a server's flows out; the protocol's timeout bounds the wait
	// should its counts be off.
	tcp, _, udp := flowTimeouts(p.timeouts)
	var gone []*dest
	changed := map[*service]bool{}
	for _, d := range p.dests {
		if d.removedAt.IsZero() {
			continue
		}
		svc := p.services[d.key.svc]
		if svc != nil && svc.configured(d.key.addr) {
			continue // out of the table while its check fails, a member for good
		}
		linger := time.Duration(udp) * clockUnit
		member := false
		if d.key.svc.Protocol == table.TCP {
			linger = time.Duration(tcp) * clockUnit
			member = svc != nil
		}
		if (d.active+d.inactive > 0 || member) && now.Sub(d.removedAt) < linger {
			continue
		}
		gone = append(gone, d)
		if svc != nil && slices.Contains(svc.members, d) {
			svc.members = slices.DeleteFunc(svc.members, func(m *dest) bool { return m == d })
			changed[svc] = true
		}
	}
	if len(gone) == 0 {
		return
	}
	// The tables stop naming the servers before their elements go.
	for svc := range changed {
		if err := p.installService(svc, true); err != nil {
			p.log.Warn("removing real servers from a table", "service", svc.key.String(), "error", err)
			return
		}
	}
	for _, d := range gone {
		p.destTab.set(d.id, govsXDPDest{})
	}
	if err := p.flushDests(); err != nil {
		p.log.Warn("removing real servers", "error", err)
		return
	}
	for _, d := range gone {
		if svc := p.services[d.key.svc]; svc != nil {
			svc.base = addCounters(svc.base, d.cnt)
		}
		delete(p.dests, d.key)
		p.freeIDs = append(p.freeIDs, d.id)
	}
}

func addCounters(a, b estimator.Counters) estimator.Counters {
	return estimator.Counters{Conns: a.Conns + b.Conns, InPkts: a.InPkts + b.InPkts, OutPkts: a.OutPkts + b.OutPkts, InBytes: a.InBytes + b.InBytes, OutBytes: a.OutBytes + b.OutBytes}
}

// refreshHops re-resolves every real server's next hop (route and MAC) and installs the
// changes: a new MAC, a server that became reachable (its service's table then includes
// it) or unreachable.
func (p *Plane) refreshHops(ctx context.Context) {
	p.mu.Lock()
	addrs := map[netip.Addr]bool{}
	for _, d := range p.dests {
		addrs[d.key.addr.Addr().Unmap()] = true
	}
	p.mu.Unlock()
	list := make([]netip.Addr, 0, len(addrs))
	for a := range addrs {
		list = append(list, a)
	}
	hops := p.resolve(ctx, list)
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := map[table.ServiceKey]bool{}
	for _, d := range p.dests {
		h, ok := hops[d.key.addr.Addr().Unmap()]
		if !ok || h.equal(d.hop) {
			continue
		}
		if (h.err == nil) != (d.hop.err == nil) {
			changed[d.key.svc] = true
			if h.err != nil {
				p.log.Warn("real server became unreachable", "real_server", d.key.addr.String(), "error", h.err)
			} else {
				p.log.Info("real server reachable", "real_server", d.key.addr.String(), "mac", h.mac.String())
			}
		}
		d.hop = h
		if h.err == nil && p.attachHops {
			if err := p.attach(h.ifindex); err != nil {
				p.log.Warn("attaching to a real server's interface", "real_server", d.key.addr.String(), "error", err)
			}
		}
		p.installDest(d, false)
	}
	if err := p.flushDests(); err != nil {
		p.log.Warn("updating real servers' next hops", "error", err)
		return
	}
	for k := range changed {
		if svc := p.services[k]; svc != nil {
			if err := p.installService(svc, true); err != nil {
				p.log.Warn("rebuilding a table", "service", k.String(), "error", err)
			}
		}
	}
}

// Stats returns the counters of every service and real server: packets and bytes from
// clients (replies bypass a DR/TUN director, so Out* stay zero), new flows as Conns,
// flows neither closed by the client nor idle past their timeout as ActiveConn, and
// closed flows within their FIN timeout as InActConn.
func (p *Plane) Stats() table.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readCounters()
	st := table.Stats{Services: make([]table.ServiceStats, 0, len(p.order))}
	for _, svc := range p.order {
		ss := table.ServiceStats{Key: svc.key, Rates: svc.est.Rates()}
		total := svc.base
		for _, d := range svc.dests {
			total = addCounters(total, d.cnt)
			ss.Dests = append(ss.Dests, table.DestStats{
				Addr:       d.key.addr,
				ActiveConn: uint64(max(d.active, 0)),
				InActConn:  uint64(max(d.inactive, 0)),
				Counters:   d.cnt,
				Rates:      d.est.Rates(),
			})
		}
		// Lingering real servers still carry flows of this service.
		for _, d := range p.dests {
			if d.key.svc == svc.key && !d.removedAt.IsZero() {
				total = addCounters(total, d.cnt)
			}
		}
		ss.Counters = total
		st.Services = append(st.Services, ss)
	}
	return st
}

// Drops counts the packets to a virtual service the program dropped, by reason.
type Drops struct {
	NoServer uint64 // no available real server in the flow's slot
	NoRoom   uint64 // no headroom for the IPIP header
	Gone     uint64 // the slot names a real server no longer installed (a table being replaced)
	TooBig   uint64 // too big for the IPIP tunnel, without DF (XDP cannot fragment)
}

// Drops returns the packets the program dropped, by reason.
func (p *Plane) Drops() Drops {
	var out [4]uint64
	for i := range out {
		var per []uint64
		if err := p.objs.Drops.Lookup(uint32(i), &per); err == nil {
			for _, n := range per {
				out[i] += n
			}
		}
	}
	return Drops{NoServer: out[0], NoRoom: out[1], Gone: out[2], TooBig: out[3]}
}

// Close detaches the program and frees its maps. Flows in progress end with it: a DR
// director's clients then reach the kernel's own stack, which holds the VIP.
func (p *Plane) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.release()
}

// release detaches the program and frees its maps.
func (p *Plane) release() error {
	p.detachAll()
	p.destTab.close()
	return p.objs.Close()
}

// svcKeyOf is the services map key of k.
func svcKeyOf(k table.ServiceKey) govsXDPSvcKey {
	return govsXDPSvcKey{Addr: addr16(k.Addr.Addr()), Port: be16(k.Addr.Port()), Proto: uint8(k.Protocol)}
}

// addr16 is an address as the program holds it, IPv6 or IPv4 as ::ffff:a.b.c.d: four
// __be32 words read on this host (the address's bytes in memory order). Zero for none.
func addr16(a netip.Addr) [4]uint32 {
	var w [4]uint32
	if !a.IsValid() {
		return w
	}
	b := a.As16()
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

// be16 is a port as the program reads an __be16.
func be16(port uint16) uint16 {
	return binary.NativeEndian.Uint16([]byte{byte(port >> 8), byte(port)})
}
