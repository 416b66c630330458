// Package nftfw keeps the nftables tables keepalived keeps for VRRP: drop rules for the
// virtual addresses of instances without accept mode (vrrp_strict's no_accept), and the
// rules that move IGMP/MLD reports off VMACs. The tables, their sets, chains and rules
// are keepalived 2.2.7's, created in its order, so `nft list ruleset` reads the same
// under govs as under keepalived, and an operator's own rules and scripts that refer
// to them keep working.
package nftfw

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/google/nftables"
)

// DefaultTable is the table name keepalived uses when `nftables` names none.
const DefaultTable = "keepalived"

// Options are the global_defs nftables settings.
type Options struct {
	// Table names the ip and ip6 tables [keepalived].
	Table string
	// Priority is the base chains' priority (nftables_priority; keepalived's default,
	// -1, comes from the configuration: 0 here is priority filter).
	Priority int32
	// Counters puts a counter in every rule (nftables_counters).
	Counters bool
	// IfIndex matches link-local addresses by interface index even where keepalived
	// would match the name (nftables_ifindex).
	IfIndex bool
}

// Addr is a virtual address whose traffic is dropped while its instance holds it.
type Addr struct {
	IP netip.Addr
	// Link is the device the address is on; an IPv6 link-local address is only
	// dropped on it.
	LinkName  string
	LinkIndex uint32
	// ByName matches a link-local address with the device's name instead of its index:
	// keepalived does so for an instance with dont_track_primary when the address is on
	// the instance's interface or marked no_track, unless nftables_ifindex.
	ByName bool
}

// VMAC is a VMAC whose IGMP/MLD reports go out through its base interface instead.
type VMAC struct {
	Index, BaseIndex uint32
	// IPv4 and IPv6 say for which families: an instance's own, and the other one too
	// when it has excluded addresses of that family.
	IPv4, IPv6 bool
}

// Firewall is one network namespace's keepalived tables. Addresses and VMACs are
// counted, so two instances (or an old and a new one during a reload) may hold the same
// one; the tables exist from the first use to Close.
type Firewall struct {
	mu      sync.Mutex
	newConn func() (*nftables.Conn, error)
	opts    Options
	log     *slog.Logger

	fam      [2]*family // ip, ip6
	cleaned  bool       // leftover tables of an earlier run deleted
	addrRefs counted[element, Addr]
	vmacRefs counted[vmacKey, vmacKey]
}

type vmacKey struct {
	index, base uint32
	ipv6        bool
}

// New returns the firewall of the namespace connections from newConn reach. Nothing is
// done until the first address or VMAC is added.
func New(newConn func() (*nftables.Conn, error), opts Options, log *slog.Logger) *Firewall {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	return &Firewall{
		newConn:  newConn,
		opts:     opts,
		log:      log,
		fam:      [2]*family{{nf: nftables.TableFamilyIPv4}, {nf: nftables.TableFamilyIPv6}},
		addrRefs: counted[element, Addr]{},
		vmacRefs: counted[vmacKey, vmacKey]{},
	}
}

// counted are what the tables hold, by key, each with a holder count: a value goes in
// with its first holder and out with its last.
type counted[K comparable, V any] map[K]*holders[V]

type holders[V any] struct {
	v V
	n int
}

// hold counts one more holder of k (v the value it stands for) and reports whether it
// is the first.
func (c counted[K, V]) hold(k K, v V) bool {
	h := c[k]
	if h == nil {
		h = &holders[V]{v: v}
		c[k] = h
	}
	h.n++
	return h.n == 1
}

// release counts one holder of k less and, when it was the last, returns its value.
func (c counted[K, V]) release(k K) (v V, last bool) {
	h := c[k]
	if h == nil {
		return v, false
	}
	if h.n--; h.n > 0 {
		return v, false
	}
	delete(c, k)
	return h.v, true
}

func (c counted[K, V]) values() []V {
	out := make([]V, 0, len(c))
	for _, h := range c {
		out = append(out, h.v)
	}
	return out
}

// AddAddrs drops traffic to and from addrs (keepalived's "setting firewall drop rule").
func (f *Firewall) AddAddrs(addrs []Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var added []Addr
	for _, a := range addrs {
		if f.addrRefs.hold(f.element(a), a) {
			added = append(added, a)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return f.apply(func(b *batch) { b.addrElements(added, true) })
}

// RemoveAddrs lets traffic of addrs through again, unless another holder keeps them.
func (f *Firewall) RemoveAddrs(addrs []Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var removed []Addr
	for _, a := range addrs {
		if held, last := f.addrRefs.release(f.element(a)); last {
			removed = append(removed, held)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	return f.apply(func(b *batch) { b.addrElements(removed, false) })
}

// AddVMAC sends v's IGMP (IPv4) and MLD reports (IPv6) out of its base interface, and
// drops its router solicitations, as keepalived does so that switches do not learn the
// virtual MAC from a backup's reports.
func (f *Firewall) AddVMAC(v VMAC) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var added []vmacKey
	for _, k := range v.keys() {
		if f.vmacRefs.hold(k, k) {
			added = append(added, k)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return f.apply(func(b *batch) { b.vmacElements(added, true) })
}

// RemoveVMAC undoes AddVMAC.
func (f *Firewall) RemoveVMAC(v VMAC) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var removed []vmacKey
	for _, k := range v.keys() {
		if _, last := f.vmacRefs.release(k); last {
			removed = append(removed, k)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	return f.apply(func(b *batch) { b.vmacElements(removed, false) })
}

func (v VMAC) keys() []vmacKey {
	var out []vmacKey
	if v.IPv4 {
		out = append(out, vmacKey{index: v.Index, base: v.BaseIndex})
	}
	if v.IPv6 {
		out = append(out, vmacKey{index: v.Index, base: v.BaseIndex, ipv6: true})
	}
	return out
}

// Close deletes the tables, as keepalived does when it stops.
func (f *Firewall) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrRefs, f.vmacRefs = counted[element, Addr]{}, counted[vmacKey, vmacKey]{}
	if f.fam[0].table == nil && f.fam[1].table == nil {
		return nil
	}
	conn, err := f.newConn()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	for _, fm := range f.fam {
		if fm.table != nil {
			conn.DelTable(fm.table)
		}
		fm.reset()
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: deleting table %s: %w", f.opts.Table, err)
	}
	return nil
}

// apply sends one batch built by build, creating tables, sets, chains and rules as they
// are first needed. A batch the kernel refuses is undone whole; the tables are then
// rebuilt from what is held, so that one failure does not leave the holders of other
// addresses unprotected.
func (f *Firewall) apply(build func(*batch)) error {
	conn, err := f.conn()
	if err != nil {
		return err
	}
	saved := [2]family{*f.fam[0], *f.fam[1]}
	b := &batch{f: f, conn: conn}
	build(b)
	err = conn.Flush()
	if err == nil {
		return nil
	}
	*f.fam[0], *f.fam[1] = saved[0], saved[1]
	return errors.Join(fmt.Errorf("nftables table %s: %w", f.opts.Table, err), f.rebuild())
}

// Reconfigure applies new options (a reload that changed the nftables settings): the
// tables are replaced by ones made with them, holding the same addresses and VMACs, in
// one transaction, so no packet meets neither.
func (f *Firewall) Reconfigure(opts Options) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if opts == f.opts {
		return nil
	}
	if opts.Table != f.opts.Table {
		f.cleaned = false
	}
	f.opts = opts
	// nftables_ifindex decides which set a link-local address is in.
	rekeyed := counted[element, Addr]{}
	for _, h := range f.addrRefs {
		e := f.element(h.v)
		if o := rekeyed[e]; o != nil {
			o.n += h.n
		} else {
			rekeyed[e] = h
		}
	}
	f.addrRefs = rekeyed
	if len(f.addrRefs) == 0 && len(f.vmacRefs) == 0 && f.fam[0].table == nil && f.fam[1].table == nil {
		return nil // nothing made yet: the next use makes it with opts
	}
	return f.rebuild()
}

// conn opens a connection, and at the first use deletes the tables of our name an
// earlier run left (keepalived: "Deleting old ip keepalived table").
func (f *Firewall) conn() (*nftables.Conn, error) {
	conn, err := f.newConn()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	if !f.cleaned {
		if err := f.deleteLeftovers(conn); err != nil {
			return nil, err
		}
		f.cleaned = true
	}
	return conn, nil
}

// rebuild replaces the tables with ones holding exactly what is held now.
func (f *Firewall) rebuild() error {
	conn, err := f.conn()
	if err != nil {
		return err
	}
	for _, fm := range f.fam {
		if fm.table != nil {
			conn.DelTable(fm.table)
		}
		fm.reset()
	}
	b := &batch{f: f, conn: conn}
	b.vmacElements(f.vmacRefs.values(), true)
	b.addrElements(f.addrRefs.values(), true)
	if err := conn.Flush(); err != nil {
		for _, fm := range f.fam {
			fm.reset()
		}
		return fmt.Errorf("nftables: rebuilding table %s: %w", f.opts.Table, err)
	}
	return nil
}

// deleteLeftovers removes tables of our name that we did not make.
func (f *Firewall) deleteLeftovers(conn *nftables.Conn) error {
	found := false
	for _, fm := range f.fam {
		if fm.table != nil && fm.table.Name == f.opts.Table {
			continue
		}
		t, err := conn.ListTableOfFamily(f.opts.Table, fm.nf)
		if err != nil || t == nil {
			continue // no such table
		}
		name := "ip"
		if fm.nf == nftables.TableFamilyIPv6 {
			name = "ip6"
		}
		f.log.Info(fmt.Sprintf("Deleting old %s %s table", name, f.opts.Table))
		conn.DelTable(t)
		found = true
	}
	if !found {
		return nil
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: deleting old table %s: %w", f.opts.Table, err)
	}
	return nil
}
