// Package nftipvs keeps the nftables tables of keepalived's nftables_ipvs: each
// virtual_server_group (per protocol) is one IPVS fwmark service, and a map per
// protocol marks the packets to the group's addresses and port with its mark. The
// tables, maps, chain and rules are keepalived 2.2.7's, made in its order, so
// `nft list ruleset` reads the same under govs.
package nftipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// DefaultTable is the table name when nftables_ipvs names none.
const DefaultTable = "keepalived_ipvs"

// Options are the global_defs nftables_ipvs settings.
type Options struct {
	// Table names the ip and ip6 tables [keepalived_ipvs].
	Table string
	// Priority is the input chain's priority (nftables_ipvs_priority; keepalived's
	// default, -1, comes from the configuration).
	Priority int32
	// Counters counts each rule's and each element's packets (nftables_counters).
	Counters bool
}

// Entry marks the packets to First..Last (one address when they are equal), port
// Port, protocol Protocol (unix.IPPROTO_TCP, _UDP or _SCTP) with Mark.
type Entry struct {
	First, Last netip.Addr
	Port        uint16
	Protocol    uint8
	Mark        uint32
}

// Marks is the tables of one network namespace. They exist from the first entry to
// Close; a map and its rule, from the first entry of their family and protocol.
type Marks struct {
	mu      sync.Mutex
	newConn func() (*nftables.Conn, error)
	opts    Options
	tables  [2]*nftables.Table // ip, ip6
	chains  [2]*nftables.Chain
	maps    map[mapKey]*nftables.Set
	entries map[Entry]bool
	cleaned bool // leftover tables of an earlier run deleted
}

type mapKey struct {
	ipv6  bool
	proto uint8
}

// New returns the tables of the namespace connections from newConn reach; nothing is
// made before the first Set with entries.
func New(newConn func() (*nftables.Conn, error)) *Marks {
	return &Marks{newConn: newConn, maps: map[mapKey]*nftables.Set{}, entries: map[Entry]bool{}}
}

// Set makes the tables hold exactly entries, with opts. Entries already held stay
// untouched; new options (another table, priority or counters) replace the tables in
// one transaction, so no packet meets neither.
func (m *Marks) Set(opts Options, entries []Entry) error {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	for _, e := range entries {
		if err := e.check(); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(entries) == 0 && m.tables[0] == nil && m.tables[1] == nil {
		return nil
	}
	conn, err := m.newConn()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	if opts != m.opts {
		// Made again whole with the new options; under a new name, over any leftover
		// of that name.
		m.deleteTables(conn)
		m.opts, m.cleaned = opts, false
	}
	if !m.cleaned {
		m.deleteLeftovers(conn)
		m.cleaned = true
	}
	want := make(map[Entry]bool, len(entries))
	var add []Entry
	for _, e := range entries {
		if !want[e] && !m.entries[e] {
			add = append(add, e)
		}
		want[e] = true
	}
	var remove []Entry
	for e := range m.entries {
		if !want[e] {
			remove = append(remove, e)
		}
	}
	for _, e := range add {
		m.element(conn, e, true)
	}
	for _, e := range remove {
		m.element(conn, e, false)
	}
	if err := conn.Flush(); err != nil {
		m.forget()
		return fmt.Errorf("nftables table %s: %w", opts.Table, err)
	}
	m.entries = want
	return nil
}

// Close deletes the tables, as keepalived does when it stops.
func (m *Marks) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tables[0] == nil && m.tables[1] == nil {
		return nil
	}
	conn, err := m.newConn()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	m.deleteTables(conn)
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: deleting table %s: %w", m.opts.Table, err)
	}
	return nil
}

func (e Entry) check() error {
	switch {
	case !e.First.IsValid() || !e.Last.IsValid() || e.First.Is4() != e.Last.Is4():
		return fmt.Errorf("nftables_ipvs: bad address range %v-%v", e.First, e.Last)
	case e.Protocol != unix.IPPROTO_TCP && e.Protocol != unix.IPPROTO_UDP && e.Protocol != unix.IPPROTO_SCTP:
		return fmt.Errorf("nftables_ipvs: protocol %d", e.Protocol)
	}
	return nil
}

// deleteTables queues the deletion of the tables made and forgets them.
func (m *Marks) deleteTables(conn *nftables.Conn) {
	for _, t := range m.tables {
		if t != nil {
			conn.DelTable(t)
		}
	}
	m.forget()
}

// forget drops what the tables are known to hold, after they are deleted or a
// transaction that made them failed.
func (m *Marks) forget() {
	m.tables, m.chains = [2]*nftables.Table{}, [2]*nftables.Chain{}
	m.maps, m.entries = map[mapKey]*nftables.Set{}, map[Entry]bool{}
}

// deleteLeftovers queues the deletion of tables of our name an earlier run left (one
// started with --dont-release-ipvs, or killed), so that they are made again whole.
func (m *Marks) deleteLeftovers(conn *nftables.Conn) {
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		if t, err := conn.ListTableOfFamily(m.opts.Table, fam); err == nil && t != nil {
			conn.DelTable(t)
		}
	}
}

// element queues adding or removing e, first making its table, map and rule if needed.
func (m *Marks) element(conn *nftables.Conn, e Entry, add bool) {
	k := mapKey{ipv6: e.First.Is6(), proto: e.Protocol}
	s := m.maps[k]
	if s == nil {
		if !add {
			return
		}
		s = m.addMap(conn, k)
	}
	el := []nftables.SetElement{{Key: key(e.First, e.Port), KeyEnd: key(e.Last, e.Port), Val: binaryutil.NativeEndian.PutUint32(e.Mark)}}
	// Errors here are only for anonymous sets, which these are not.
	if add {
		_ = conn.SetAddElements(s, el)
	} else {
		_ = conn.SetDeleteElements(s, el)
	}
}

// key is an element's address . port, zero padded to the register size as keepalived
// (and nft) lay concatenations out.
func key(a netip.Addr, port uint16) []byte {
	b := binary.BigEndian.AppendUint16(a.AsSlice(), port)
	return append(b, 0, 0)
}

// addMap makes the map of k and the rule that looks packets up in it, after the table
// and its chain (keepalived's nft_ipvs_add_set_rule).
func (m *Marks) addMap(conn *nftables.Conn, k mapKey) *nftables.Set {
	i, nf, addr := 0, nftables.TableFamilyIPv4, nftables.TypeIPAddr
	if k.ipv6 {
		i, nf, addr = 1, nftables.TableFamilyIPv6, nftables.TypeIP6Addr
	}
	if m.tables[i] == nil {
		m.tables[i] = conn.AddTable(&nftables.Table{Name: m.opts.Table, Family: nf})
		accept := nftables.ChainPolicyAccept
		m.chains[i] = conn.AddChain(&nftables.Chain{
			Name: "in", Table: m.tables[i], Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookInput,
			Priority: nftables.ChainPriorityRef(nftables.ChainPriority(m.opts.Priority)), Policy: &accept,
		})
	}
	s := &nftables.Set{
		Table: m.tables[i], Name: mapName(k.proto), IsMap: true, Interval: true, Concatenation: true,
		KeyType: nftables.MustConcatSetType(addr, nftables.TypeInetService), DataType: nftables.TypeMark,
		KeyByteOrder: binaryutil.BigEndian, Counter: m.opts.Counters,
	}
	// Errors here are for set definitions this does not make (anonymous, constant).
	_ = conn.AddSet(s, nil)
	m.maps[k] = s
	// The destination address, then the port in the register after it.
	daddr, size, dport := uint32(16), uint32(4), uint32(unix.NFT_REG32_01)
	if k.ipv6 {
		daddr, size, dport = 24, 16, unix.NFT_REG_2
	}
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: unix.NFT_REG_1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: unix.NFT_REG_1, Data: []byte{k.proto}},
		&expr.Payload{DestRegister: unix.NFT_REG_1, Base: expr.PayloadBaseNetworkHeader, Offset: daddr, Len: size},
		&expr.Payload{DestRegister: dport, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: unix.NFT_REG_1, DestRegister: unix.NFT_REG_1, IsDestRegSet: true, SetName: s.Name, SetID: s.ID},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: unix.NFT_REG_1},
	}
	if m.opts.Counters {
		exprs = append(exprs, &expr.Counter{})
	}
	conn.AddRule(&nftables.Rule{Table: m.tables[i], Chain: m.chains[i], Exprs: append(exprs, &expr.Verdict{Kind: expr.VerdictReturn})})
	return s
}

func mapName(proto uint8) string {
	switch proto {
	case unix.IPPROTO_TCP:
		return "tcp_map"
	case unix.IPPROTO_UDP:
		return "udp_map"
	}
	return "sctp_map"
}
