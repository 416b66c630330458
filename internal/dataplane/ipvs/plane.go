// Package ipvs is the kernel IPVS data plane: it programs the Linux kernel's IPVS over
// generic netlink so that the kernel forwards (NAT, DR, TUN), leaving the same table
// keepalived would, and runs the kernel's connection sync daemon.
//
// Apply diffs the desired table against what the plane knows the kernel holds and sends
// only the differences; it reads the kernel once, on the first Apply, and adopts the
// services that the desired table names, so a restart of govs keeps the kernel's
// established connections. Services it never owned are left alone.
package ipvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/nsrun"
	"github.com/govs/govs/internal/table"
)

// Name is the data plane's registry name.
const Name = "ipvs"

func init() {
	dataplane.Register(Name, func(opts dataplane.Options) (dataplane.Dataplane, error) {
		return NewIn(opts.IPVSNamespace, opts.Logger)
	})
}

// StopMode says what Close does with the kernel's table.
type StopMode uint8

const (
	// RemoveOwned deletes the services the plane created or adopted (keepalived's
	// default on stop).
	RemoveOwned StopMode = iota
	// FlushAll empties the whole IPVS table (keepalived's lvs_flush_onstop).
	FlushAll
	// KeepTable leaves the table to the kernel (keepalived -I, --dont-release-ipvs), so the
	// next start adopts it and established connections never notice the restart.
	KeepTable
)

// Options are keepalived's global_defs keywords that concern IPVS itself.
type Options struct {
	// FlushOnStart empties the IPVS table before the first Apply (lvs_flush).
	FlushOnStart bool
	// OnStop is what Close does with the table [RemoveOwned].
	OnStop StopMode
}

// Plane is the kernel IPVS data plane.
type Plane struct {
	log      *slog.Logger
	k        kernel
	connPath string // the kernel's connection table, /proc/net/ip_vs_conn
	netns    string // the namespace's path, NewIn's; "": the process's

	mu          sync.Mutex
	opts        Options
	started     bool                      // the kernel has been read once
	known       []table.Service           // what the kernel holds of the services below, in the kernel's order
	owned       map[table.ServiceKey]bool // created or adopted: ours to change and remove
	timeouts    table.Timeouts            // the kernel's timeouts as last read or set
	sync        *adm.Daemon               // lvs_sync_daemon; nil: none
	syncFollows bool                      // a VRRP instance decides the role (SetSync)
	syncRoles   adm.DaemonState           // the roles of the daemons running now (master|backup); 0: none
	stale       bool                      // a request failed: read the kernel again
	byKey       map[table.ServiceKey]int  // index into known
	applied     atomic.Uint64             // change requests sent
	reads       atomic.Uint64             // read requests sent (dumps count once)
}

var _ dataplane.Dataplane = (*Plane)(nil)

// New connects to the kernel's IPVS in the calling process's network namespace. Without
// IPVS it returns an error wrapping dataplane.ErrNotSupported that says what to use.
func New(log *slog.Logger) (*Plane, error) { return NewIn("", log) }

// NewIn is New in the network namespace at nsPath (net_namespace_ipvs), where the plane
// programs IPVS and reads its connection table; "" is the process's.
func NewIn(nsPath string, log *slog.Logger) (*Plane, error) {
	k, err := openKernel(nsPath)
	if err != nil {
		if errors.Is(err, ErrNoIPVS) {
			return nil, fmt.Errorf("%w: %v (load ip_vs with modprobe, or use --dataplane proxy)", dataplane.ErrNotSupported, err)
		}
		return nil, err
	}
	p := newPlane(k, log)
	p.netns = nsPath
	return p, nil
}

func newPlane(k kernel, log *slog.Logger) *Plane {
	if log == nil {
		log = slog.Default()
	}
	return &Plane{
		log:      log.With("dataplane", Name),
		k:        k,
		connPath: "/proc/net/ip_vs_conn",
		owned:    map[table.ServiceKey]bool{},
		byKey:    map[table.ServiceKey]int{},
	}
}

// Configure sets the IPVS global options; call it before the first Apply.
func (p *Plane) Configure(opts Options) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts = opts
}

// Requests reports how many change requests (add, edit, delete, set) and read requests
// the plane has sent to the kernel.
func (p *Plane) Requests() (changes, reads uint64) {
	return p.applied.Load(), p.reads.Load()
}

// Apply brings the kernel's table to t, sending one request per difference.
func (p *Plane) Apply(ctx context.Context, t table.Table) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.stale {
		if err := p.readKernel(t); err != nil {
			return err
		}
	}
	ops := plan(p.known, p.timeouts, t, p.owned)
	// Every service the table names is ours from now on, adopted or about to be added.
	for _, s := range t.Services {
		p.owned[normalizeKey(s.ServiceKey)] = true
	}
	var errs []error
	sent, start := 0, time.Now()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ops) > 0 {
		results := p.k.Change(ops)
		sent = len(ops)
		p.applied.Add(uint64(sent))
		for i, o := range ops {
			if err := results[i]; err != nil {
				// One refused entry must not hold back the rest. The kernel is read
				// again on the next Apply to learn where it stands.
				p.stale = true
				errs = append(errs, fmt.Errorf("ipvs: %s: %w", o, err))
				continue
			}
			p.record(o)
		}
	}
	p.log.Info("ipvs table applied", "changes", sent, "services", len(t.Services), "failed", len(errs), "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// readKernel learns the kernel's table, flushing it first with lvs_flush, and adopts the
// services t names.
func (p *Plane) readKernel(t table.Table) error {
	if !p.started && p.opts.FlushOnStart {
		p.applied.Add(1)
		if err := p.k.Flush(); err != nil {
			return fmt.Errorf("ipvs: lvs_flush: %w", err)
		}
	}
	p.reads.Add(1)
	have, _, err := p.k.Services()
	if err != nil {
		return err
	}
	p.reads.Add(1)
	tm, err := p.k.Timeouts()
	if err != nil {
		return err
	}
	want := make(map[table.ServiceKey]bool, len(t.Services))
	for _, s := range t.Services {
		want[normalizeKey(s.ServiceKey)] = true
	}
	// known holds the whole table, foreign services included, so that a service the
	// configuration starts to name later is adopted rather than added twice.
	p.known = have
	adopted := 0
	present := make(map[table.ServiceKey]bool, len(have))
	for _, s := range have {
		present[s.ServiceKey] = true
		if want[s.ServiceKey] && !p.owned[s.ServiceKey] {
			adopted++
		}
	}
	// What we owned and the kernel lost (someone ran ipvsadm -D) is ours no more.
	for k := range p.owned {
		if !present[k] {
			delete(p.owned, k)
		}
	}
	p.reindex()
	p.timeouts = tm
	if !p.started && adopted > 0 {
		p.log.Info("ipvs: adopted services already in the kernel", "services", adopted)
	}
	p.started, p.stale = true, false
	return nil
}

func (p *Plane) reindex() {
	clear(p.byKey)
	for i, s := range p.known {
		p.byKey[s.ServiceKey] = i
	}
}

// record updates what the plane knows of the kernel after a request succeeded.
func (p *Plane) record(o op) {
	if o.kind == opSetTimeouts {
		p.timeouts = mergeTimeouts(p.timeouts, o.timeouts)
		return
	}
	idx, ok := p.byKey[o.svc.ServiceKey]
	if !ok {
		idx = -1
	}
	p.known = applyOp(p.known, idx, o)
	switch o.kind {
	case opNewService:
		p.owned[o.svc.ServiceKey] = true
		p.byKey[o.svc.ServiceKey] = len(p.known) - 1
	case opDelService:
		delete(p.owned, o.svc.ServiceKey)
		p.reindex()
	}
}

func mergeTimeouts(have, set table.Timeouts) table.Timeouts {
	if set.TCP != 0 {
		have.TCP = set.TCP
	}
	if set.TCPFin != 0 {
		have.TCPFin = set.TCPFin
	}
	if set.UDP != 0 {
		have.UDP = set.UDP
	}
	return have
}

// applyOp is what a successful request does to the kernel's table: a new service goes
// last, a new destination first (the kernel keeps the newest first). idx is the
// service's index in svcs, -1 when it is not there.
func applyOp(svcs []table.Service, idx int, o op) []table.Service {
	switch o.kind {
	case opNewService:
		s := *o.svc
		s.Dests = nil
		return append(svcs, s)
	case opDelService:
		if idx >= 0 {
			return append(svcs[:idx:idx], svcs[idx+1:]...)
		}
	case opSetService:
		if idx >= 0 {
			dests := svcs[idx].Dests
			svcs[idx] = *o.svc
			svcs[idx].Dests = dests
		}
	case opNewDest:
		if idx >= 0 {
			// In place: a new service's destinations arrive one by one.
			ds := append(svcs[idx].Dests, table.Dest{})
			copy(ds[1:], ds)
			ds[0] = o.dest
			svcs[idx].Dests = ds
		}
	case opSetDest, opDelDest:
		if idx < 0 {
			break
		}
		ds := svcs[idx].Dests
		for j := range ds {
			if ds[j].Addr != o.dest.Addr {
				continue
			}
			if o.kind == opSetDest {
				ds[j] = o.dest
			} else {
				svcs[idx].Dests = append(ds[:j:j], ds[j+1:]...)
			}
			break
		}
	}
	return svcs
}

// Stats reads the kernel's counters, rates and connection counts of every service.
func (p *Plane) Stats() table.Stats {
	p.reads.Add(1)
	_, st, err := p.k.Services()
	if err != nil {
		p.log.Warn("ipvs: reading counters", "err", err)
		return table.Stats{}
	}
	return table.Stats{Services: st}
}

// KernelTable is the whole IPVS table as the kernel holds it, in its order (services in
// hash order, destinations newest first), with its timeouts: what ipvsadm lists.
func (p *Plane) KernelTable() (table.Table, error) {
	p.reads.Add(2)
	svcs, _, err := p.k.Services()
	if err != nil {
		return table.Table{}, err
	}
	tm, err := p.k.Timeouts()
	if err != nil {
		return table.Table{}, err
	}
	return table.Table{Services: svcs, Timeouts: tm}, nil
}

// Conns lists the kernel's connection entries and persistence templates (-L -c).
func (p *Plane) Conns() []table.Conn {
	var conns []table.Conn
	read := func() error {
		path := p.connPath
		if p.netns != "" {
			path = "/proc/thread-self/net/ip_vs_conn" // the namespace the thread is in
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		conns, err = parseConnTable(f)
		return err
	}
	var err error
	if p.netns == "" {
		err = read()
	} else {
		err = inNamespace(p.netns, read)
	}
	if err != nil {
		p.log.Warn("ipvs: reading the connection table", "err", err)
	}
	return conns
}

// inNamespace runs f on a thread in the network namespace at path.
func inNamespace(path string, f func() error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer ns.Close()
	return nsrun.Do(ns, f)
}

// Close stops the sync daemon it started and, as Options.OnStop says, removes the
// services it owns, flushes the table or leaves it.
func (p *Plane) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	errs = append(errs, p.stopDaemons())
	switch p.opts.OnStop {
	case FlushAll:
		p.applied.Add(1)
		errs = append(errs, p.k.Flush())
	case RemoveOwned:
		var ops []op
		for i := range p.known {
			if s := &p.known[i]; p.owned[s.ServiceKey] {
				ops = append(ops, op{kind: opDelService, svc: s})
			}
		}
		if len(ops) > 0 && ctx.Err() == nil {
			p.applied.Add(uint64(len(ops)))
			for i, err := range p.k.Change(ops) {
				if err != nil {
					errs = append(errs, fmt.Errorf("ipvs: removing %s: %w", ops[i].svc.ServiceKey, err))
				}
			}
		}
	}
	p.known, p.owned = nil, map[table.ServiceKey]bool{}
	errs = append(errs, p.k.Close())
	return errors.Join(errs...)
}
