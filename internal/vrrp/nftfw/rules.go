package nftfw

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// family is what exists of one table (ip or ip6). Each part is created the first time
// something needs it, in keepalived's order, and stays until Close.
type family struct {
	nf      nftables.TableFamily
	table   *nftables.Table
	out, in *nftables.Chain
	vips    *nftables.Set
	nd      *nftables.Set // ip6: the neighbour discovery types let through
	llIndex *nftables.Set // ip6: link-local address . interface index
	llName  *nftables.Set // ip6: link-local address . interface name
	vmacMap *nftables.Set // VMAC index : base interface index
	vmacSet *nftables.Set // ip6: VMAC indexes
}

func (fm *family) reset() { *fm = family{nf: fm.nf} }

// batch collects one netlink transaction.
type batch struct {
	f    *Firewall
	conn *nftables.Conn
}

// Registers as keepalived uses them: the 16-byte NFT_REG_1 and NFT_REG_2.
const (
	reg1 = 1
	reg2 = 2
)

// metaOIFKind is NFT_META_OIFKIND, which golang.org/x/sys does not name.
const metaOIFKind = expr.MetaKey(27)

// ICMPv6 types the rules name.
const (
	icmp6RouterSolicit  = 133
	icmp6NeighborSolict = 135
	icmp6NeighborAdvert = 136
	icmp6MLDv2Report    = 143
)

var (
	linkLocalMask   = netip.MustParseAddr("ffc0::").AsSlice()
	linkLocalPrefix = netip.MustParseAddr("fe80::").AsSlice()
	macvlanKind     = ifname("macvlan")
)

// ifname is an interface name as nftables compares it: IFNAMSIZ bytes, zero padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// setKind names the sets addresses go in.
type setKind int

const (
	setVIPs4   setKind = iota // ip vips
	setVIPs6                  // ip6 vips
	setLLIndex                // ip6 vips_link_local: address . interface index
	setLLName                 // ip6 vips_link_local_name: address . interface name
)

// element is an address as the sets hold it: its set and key. Two instances holding
// the same address hold the same element.
type element struct {
	set setKind
	key string
}

func (f *Firewall) element(a Addr) element {
	ip := a.IP.Unmap()
	switch {
	case ip.Is4():
		return element{setVIPs4, string(ip.AsSlice())}
	case !ip.IsLinkLocalUnicast():
		return element{setVIPs6, string(ip.AsSlice())}
	case a.ByName && !f.opts.IfIndex:
		return element{setLLName, string(append(ip.AsSlice(), ifname(a.LinkName)...))}
	default:
		return element{setLLIndex, string(append(ip.AsSlice(), u32(a.LinkIndex)...))}
	}
}

// addrElements adds or deletes addresses in the sets, in keepalived's order: ip vips,
// ip6 vips, link-local by index, link-local by name.
func (b *batch) addrElements(addrs []Addr, add bool) {
	var els [setLLName + 1][]nftables.SetElement
	for _, a := range addrs {
		e := b.f.element(a)
		fm := b.f.fam[1]
		if e.set == setVIPs4 {
			fm = b.f.fam[0]
		}
		if add {
			b.ensureVIPs(fm)
			if e.set == setLLIndex || e.set == setLLName {
				b.ensureLinkLocal(fm, e.set == setLLName)
			}
		}
		els[e.set] = append(els[e.set], nftables.SetElement{Key: []byte(e.key)})
	}
	v6 := b.f.fam[1]
	b.elements(b.f.fam[0].vips, els[setVIPs4], add)
	b.elements(v6.vips, els[setVIPs6], add)
	b.elements(v6.llIndex, els[setLLIndex], add)
	b.elements(v6.llName, els[setLLName], add)
}

// vmacElements adds or deletes VMACs in the maps and sets.
func (b *batch) vmacElements(keys []vmacKey, add bool) {
	for _, k := range keys {
		fm := b.f.fam[0]
		if k.ipv6 {
			fm = b.f.fam[1]
		}
		if add {
			b.ensureIGMP(fm)
		} else if fm.vmacMap == nil {
			continue
		}
		b.elements(fm.vmacMap, []nftables.SetElement{{Key: u32(k.index), Val: u32(k.base)}}, add)
		if k.ipv6 {
			b.elements(fm.vmacSet, []nftables.SetElement{{Key: u32(k.index)}}, add)
		}
	}
}

func (b *batch) elements(s *nftables.Set, els []nftables.SetElement, add bool) {
	if s == nil || len(els) == 0 {
		return
	}
	// Errors here are only for anonymous sets, which these are not.
	if add {
		_ = b.conn.SetAddElements(s, els)
	} else {
		_ = b.conn.SetDeleteElements(s, els)
	}
}

// ensureTable creates the table and its output chain (keepalived's nft_setup_ipv4/6).
func (b *batch) ensureTable(fm *family) {
	if fm.table != nil {
		return
	}
	fm.table = b.conn.AddTable(&nftables.Table{Name: b.f.opts.Table, Family: fm.nf})
	fm.out = b.baseChain(fm, "out", nftables.ChainHookOutput)
}

func (b *batch) baseChain(fm *family, name string, hook *nftables.ChainHook) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return b.conn.AddChain(&nftables.Chain{
		Name: name, Table: fm.table, Type: nftables.ChainTypeFilter, Hooknum: hook,
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(b.f.opts.Priority)), Policy: &accept,
	})
}

func (b *batch) addSet(s *nftables.Set, els []nftables.SetElement) *nftables.Set {
	// The key byte order tells nft how to show elements; keepalived marks address sets
	// big endian, the others (interface indexes above all) host endian.
	s.KeyByteOrder = binaryutil.NativeEndian
	if s.KeyType == nftables.TypeIPAddr || s.KeyType == nftables.TypeIP6Addr {
		s.KeyByteOrder = binaryutil.BigEndian
	}
	// Errors here are for set definitions the code does not make (anonymous, interval).
	_ = b.conn.AddSet(s, els)
	return s
}

// ensureVIPs creates the input chain, the vips set and the drop rules
// (keepalived's nft_setup_ipv4_vips / nft_setup_ipv6_vips).
func (b *batch) ensureVIPs(fm *family) {
	if fm.vips != nil {
		return
	}
	b.ensureTable(fm)
	fm.in = b.baseChain(fm, "in", nftables.ChainHookInput)
	if fm.nf == nftables.TableFamilyIPv4 {
		fm.vips = b.addSet(&nftables.Set{Table: fm.table, Name: "vips", KeyType: nftables.TypeIPAddr}, nil)
		b.rule(fm.in, expr.VerdictDrop, lookupAddr(false, 4, fm.vips)...)
		b.rule(fm.out, expr.VerdictDrop, lookupAddr(true, 4, fm.vips)...)
		return
	}
	inLL := b.conn.AddChain(&nftables.Chain{Name: "in_link_local", Table: fm.table})
	outLL := b.conn.AddChain(&nftables.Chain{Name: "out_link_local", Table: fm.table})
	fm.vips = b.addSet(&nftables.Set{Table: fm.table, Name: "vips", KeyType: nftables.TypeIP6Addr}, nil)
	fm.nd = b.addSet(&nftables.Set{Table: fm.table, Name: "neighbor-discovery", KeyType: nftables.TypeICMP6Type, Constant: true},
		[]nftables.SetElement{{Key: []byte{icmp6NeighborSolict}}, {Key: []byte{icmp6NeighborAdvert}}})
	b.rule(fm.in, expr.VerdictAccept, neighborDiscovery(fm.nd)...)
	b.ruleGoto(fm.in, inLL.Name, linkLocalRange(false)...)
	b.rule(fm.out, expr.VerdictAccept, neighborDiscovery(fm.nd)...)
	b.ruleGoto(fm.out, outLL.Name, linkLocalRange(true)...)
	b.rule(fm.in, expr.VerdictDrop, lookupAddr(false, 16, fm.vips)...)
	b.rule(fm.out, expr.VerdictDrop, lookupAddr(true, 16, fm.vips)...)
}

// ensureLinkLocal creates the set of link-local addresses matched with their
// interface's name or index, and its drop rules (keepalived's setup_link_local_checks).
func (b *batch) ensureLinkLocal(fm *family, byName bool) {
	set, ifType := &fm.llIndex, nftables.TypeIFIndex
	name := "vips_link_local"
	inKey, outKey := expr.MetaKeyIIF, expr.MetaKeyOIF
	if byName {
		set, ifType = &fm.llName, nftables.TypeIFName
		name = "vips_link_local_name"
		inKey, outKey = expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME
	}
	if *set != nil {
		return
	}
	*set = b.addSet(&nftables.Set{Table: fm.table, Name: name, Concatenation: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeIP6Addr, ifType)}, nil)
	inLL := &nftables.Chain{Name: "in_link_local", Table: fm.table}
	outLL := &nftables.Chain{Name: "out_link_local", Table: fm.table}
	b.rule(inLL, expr.VerdictDrop,
		addrPayload(false, 16), &expr.Meta{Key: inKey, Register: reg2}, lookup(reg1, *set))
	b.rule(outLL, expr.VerdictDrop,
		addrPayload(true, 16), &expr.Meta{Key: outKey, Register: reg2}, lookup(reg1, *set))
}

// ensureIGMP creates the VMAC map (and, for ip6, set) and the rules that send a VMAC's
// IGMP or MLD reports from its base interface and drop its router solicitations
// (keepalived's nft_setup_igmp).
func (b *batch) ensureIGMP(fm *family) {
	if fm.vmacMap != nil {
		return
	}
	b.ensureTable(fm)
	fm.vmacMap = b.addSet(&nftables.Set{Table: fm.table, Name: "vmac_map", IsMap: true,
		KeyType: nftables.TypeIFIndex, DataType: nftables.TypeIFIndex}, nil)
	moveToBase := func(s *nftables.Set) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: metaOIFKind, Register: reg2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg2, Data: macvlanKind},
			&expr.Meta{Key: expr.MetaKeyOIF, Register: reg2},
			&expr.Lookup{SourceRegister: reg2, DestRegister: reg2, IsDestRegSet: true, SetName: s.Name, SetID: s.ID},
			&expr.Dup{RegAddr: reg1, RegDev: reg2, IsRegDevSet: true},
		}
	}
	if fm.nf == nftables.TableFamilyIPv4 {
		b.rule(fm.out, expr.VerdictDrop, append([]expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_IGMP}},
			addrPayload(false, 4),
		}, moveToBase(fm.vmacMap)...)...)
		return
	}
	fm.vmacSet = b.addSet(&nftables.Set{Table: fm.table, Name: "vmac_set", KeyType: nftables.TypeIFIndex}, nil)
	b.rule(fm.out, expr.VerdictDrop, append(append(icmp6Type(icmp6MLDv2Report), addrPayload(false, 16)),
		moveToBase(fm.vmacMap)...)...)
	b.rule(fm.out, expr.VerdictDrop, append(icmp6Type(icmp6RouterSolicit),
		&expr.Meta{Key: metaOIFKind, Register: reg2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg2, Data: macvlanKind},
		&expr.Meta{Key: expr.MetaKeyOIF, Register: reg2},
		lookup(reg2, fm.vmacSet))...)
}

// rule appends a rule of matches and verdict, with a counter before the verdict under
// nftables_counters.
func (b *batch) rule(c *nftables.Chain, verdict expr.VerdictKind, matches ...expr.Any) {
	b.appendRule(c, &expr.Verdict{Kind: verdict}, matches)
}

func (b *batch) ruleGoto(c *nftables.Chain, target string, matches ...expr.Any) {
	b.appendRule(c, &expr.Verdict{Kind: expr.VerdictGoto, Chain: target}, matches)
}

func (b *batch) appendRule(c *nftables.Chain, verdict *expr.Verdict, matches []expr.Any) {
	exprs := append([]expr.Any(nil), matches...)
	if b.f.opts.Counters {
		exprs = append(exprs, &expr.Counter{})
	}
	b.conn.AddRule(&nftables.Rule{Table: c.Table, Chain: c, Exprs: append(exprs, verdict)})
}

// addrPayload loads the source (saddr) or destination address into NFT_REG_1.
func addrPayload(saddr bool, size uint32) *expr.Payload {
	off := uint32(16) // IPv4 daddr
	switch {
	case size == 4 && saddr:
		off = 12
	case size == 16 && saddr:
		off = 8
	case size == 16:
		off = 24
	}
	return &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size}
}

func lookup(reg uint32, s *nftables.Set) *expr.Lookup {
	return &expr.Lookup{SourceRegister: reg, SetName: s.Name, SetID: s.ID}
}

func lookupAddr(saddr bool, size uint32, s *nftables.Set) []expr.Any {
	return []expr.Any{addrPayload(saddr, size), lookup(reg1, s)}
}

// neighborDiscovery matches ICMPv6 neighbour solicitations and advertisements, which
// must pass for the addresses to be resolved at all. keepalived tests the next header
// of the IPv6 header here, and meta l4proto in the VMAC rules; both are kept.
func neighborDiscovery(nd *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 6, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		lookup(reg1, nd),
	}
}

func icmp6Type(typ byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{typ}},
	}
}

// linkLocalRange matches fe80::/10 source or destination addresses.
func linkLocalRange(saddr bool) []expr.Any {
	return []expr.Any{
		addrPayload(saddr, 16),
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 16, Mask: linkLocalMask, Xor: make([]byte, 16)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: linkLocalPrefix},
	}
}
