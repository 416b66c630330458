// Package agentx is an AgentX subagent (RFC 2741): it connects to an SNMP master agent
// (snmpd's "master agentx"), registers subtrees, and answers the master's Get, GetNext
// and GetBulk requests from a sorted list of variables, runs its sets (TestSet,
// CommitSet, UndoSet, CleanupSet) through the modules that have variables to set, and
// sends notifications. It is what keepalived's net-snmp subagent is to its MIBs.
package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// OID is an object identifier.
type OID []uint32

// ParseOID reads a dotted OID ("1.3.6.1.2.1.207").
func ParseOID(s string) (OID, error) {
	var o OID
	for _, part := range strings.Split(strings.TrimPrefix(s, "."), ".") {
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: %w", s, err)
		}
		o = append(o, uint32(n))
	}
	return o, nil
}

// MustOID is ParseOID for constants.
func MustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (o OID) String() string {
	parts := make([]string, len(o))
	for i, n := range o {
		parts[i] = strconv.FormatUint(uint64(n), 10)
	}
	return strings.Join(parts, ".")
}

// Append is o followed by subs, in a new OID.
func (o OID) Append(subs ...uint32) OID { return append(slices.Clip(o), subs...) }

// Compare orders OIDs lexicographically, as SNMP walks them.
func Compare(a, b OID) int { return slices.Compare(a, b) }

// HasPrefix reports whether o is under prefix (or is it).
func (o OID) HasPrefix(prefix OID) bool {
	return len(o) >= len(prefix) && slices.Equal(o[:len(prefix)], prefix)
}

// Type is a variable's SNMP type as AgentX encodes it.
type Type uint16

// The types of RFC 2741 5.4.
const (
	Integer     Type = 2
	OctetString Type = 4
	Null        Type = 5
	ObjectID    Type = 6
	IPAddress   Type = 64
	Counter32   Type = 65
	Gauge32     Type = 66
	TimeTicks   Type = 67
	Counter64   Type = 70

	noSuchObject Type = 128
	endOfMibView Type = 130
)

// Variable is a name, its type and value: int32 for Integer, uint32 for Counter32,
// Gauge32 and TimeTicks, uint64 for Counter64, []byte for OctetString, netip.Addr (IPv4)
// for IPAddress, OID for ObjectID, nil for Null and the exceptions.
type Variable struct {
	Name  OID
	Type  Type
	Value any
}

// PDU types of RFC 2741 6.1.
const (
	pduOpen       = 1
	pduClose      = 2
	pduRegister   = 3
	pduGet        = 5
	pduGetNext    = 6
	pduGetBulk    = 7
	pduTestSet    = 8
	pduCommitSet  = 9
	pduUndoSet    = 10
	pduCleanupSet = 11
	pduNotify     = 12
	pduPing       = 13
	pduResponse   = 18
)

// Header flags.
const (
	flagNonDefaultContext = 0x08
	flagNetworkByteOrder  = 0x10
)

const headerLen = 20

// header is a PDU's header; order is its byte order.
type header struct {
	Type                      uint8
	Flags                     uint8
	Session, Transaction, Pkt uint32
	PayloadLen                uint32
	order                     byteOrder
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, errors.New("agentx: short header")
	}
	if b[0] != 1 {
		return header{}, fmt.Errorf("agentx: version %d", b[0])
	}
	h := header{Type: b[1], Flags: b[2], order: binary.LittleEndian}
	if h.Flags&flagNetworkByteOrder != 0 {
		h.order = binary.BigEndian
	}
	h.Session = h.order.Uint32(b[4:])
	h.Transaction = h.order.Uint32(b[8:])
	h.Pkt = h.order.Uint32(b[12:])
	h.PayloadLen = h.order.Uint32(b[16:])
	if h.PayloadLen%4 != 0 || h.PayloadLen > maxPayload {
		return header{}, fmt.Errorf("agentx: payload length %d", h.PayloadLen)
	}
	return h, nil
}

// maxPayload bounds what the master may send in one PDU.
const maxPayload = 1 << 20

// byteOrder is the two orders a PDU may use.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// encoder builds a PDU in one byte order.
type encoder struct {
	b     []byte
	order byteOrder
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = e.order.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = e.order.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) {
	// RFC 2741 5.3: a Counter64 is two 32-bit words, the most significant first.
	e.u32(uint32(v >> 32))
	e.u32(uint32(v))
}

func (e *encoder) octets(s []byte) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// oid encodes o, with the 1.3.6.1.X prefix compressed as RFC 2741 5.1 allows.
func (e *encoder) oid(o OID, include bool) {
	prefix := uint8(0)
	if len(o) >= 5 && o[0] == 1 && o[1] == 3 && o[2] == 6 && o[3] == 1 && o[4] > 0 && o[4] < 256 {
		prefix, o = uint8(o[4]), o[5:]
	}
	e.u8(uint8(len(o)))
	e.u8(prefix)
	if include {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(0)
	for _, n := range o {
		e.u32(n)
	}
}

func (e *encoder) variable(v Variable) error {
	e.u16(uint16(v.Type))
	e.u16(0)
	e.oid(v.Name, false)
	switch v.Type {
	case Integer:
		n, ok := v.Value.(int32)
		if !ok {
			return fmt.Errorf("agentx: %s: Integer needs an int32, not %T", v.Name, v.Value)
		}
		e.u32(uint32(n))
	case Counter32, Gauge32, TimeTicks:
		n, ok := v.Value.(uint32)
		if !ok {
			return fmt.Errorf("agentx: %s: type %d needs a uint32, not %T", v.Name, v.Type, v.Value)
		}
		e.u32(n)
	case Counter64:
		n, ok := v.Value.(uint64)
		if !ok {
			return fmt.Errorf("agentx: %s: Counter64 needs a uint64, not %T", v.Name, v.Value)
		}
		e.u64(n)
	case OctetString:
		s, ok := v.Value.([]byte)
		if !ok {
			return fmt.Errorf("agentx: %s: OctetString needs []byte, not %T", v.Name, v.Value)
		}
		e.octets(s)
	case IPAddress:
		a, ok := v.Value.(netip.Addr)
		if !ok || !a.Is4() {
			return fmt.Errorf("agentx: %s: IpAddress needs an IPv4 netip.Addr, not %v", v.Name, v.Value)
		}
		b := a.As4()
		e.octets(b[:])
	case ObjectID:
		o, ok := v.Value.(OID)
		if !ok {
			return fmt.Errorf("agentx: %s: ObjectIdentifier needs an OID, not %T", v.Name, v.Value)
		}
		e.oid(o, false)
	case Null, noSuchObject, endOfMibView:
	default:
		return fmt.Errorf("agentx: %s: unknown type %d", v.Name, v.Type)
	}
	return nil
}

// pdu is the whole PDU of e's payload with its header, which says e's byte order.
func (e *encoder) pdu(typ uint8, session, transaction, pkt uint32) []byte {
	h := encoder{order: e.order}
	h.u8(1)
	h.u8(typ)
	flags := uint8(0)
	if e.order == binary.BigEndian {
		flags = flagNetworkByteOrder
	}
	h.u8(flags)
	h.u8(0)
	h.u32(session)
	h.u32(transaction)
	h.u32(pkt)
	h.u32(uint32(len(e.b)))
	return append(h.b, e.b...)
}

// decoder reads a payload in its PDU's byte order.
type decoder struct {
	b     []byte
	order byteOrder
	err   error
}

var errShort = errors.New("agentx: PDU shorter than its contents")

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.err = errShort
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) u8() uint8 {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if s := d.take(2); s != nil {
		return d.order.Uint16(s)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if s := d.take(4); s != nil {
		return d.order.Uint32(s)
	}
	return 0
}

func (d *decoder) octets() []byte {
	n := d.u32()
	if n > uint32(len(d.b)) {
		d.err = errShort
		return nil
	}
	s := d.take(int(n))
	d.take(int((4 - n%4) % 4))
	return s
}

// oid reads an OID and its include flag.
func (d *decoder) oid() (OID, bool) {
	n, prefix, include := d.u8(), d.u8(), d.u8()
	d.u8()
	var o OID
	if prefix != 0 {
		o = OID{1, 3, 6, 1, uint32(prefix)}
	}
	if d.err != nil || int(n)*4 > len(d.b) {
		d.err = errShort
		return nil, false
	}
	for range n {
		o = append(o, d.u32())
	}
	return o, include != 0
}

// variable reads a VarBind (RFC 2741 5.4), as TestSet carries them; a type the
// encoder does not write (Opaque, noSuchInstance) is an error.
func (d *decoder) variable() Variable {
	v := Variable{Type: Type(d.u16())}
	d.u16() // reserved
	v.Name, _ = d.oid()
	switch v.Type {
	case Integer:
		v.Value = int32(d.u32())
	case Counter32, Gauge32, TimeTicks:
		v.Value = d.u32()
	case Counter64:
		hi := d.u32() // the most significant word first, as encoder.u64 writes
		v.Value = uint64(hi)<<32 | uint64(d.u32())
	case OctetString:
		v.Value = d.octets()
	case IPAddress:
		b := d.octets()
		a, ok := netip.AddrFromSlice(b)
		if !ok || !a.Is4() {
			d.fail(fmt.Errorf("agentx: %s: an IpAddress of %d bytes", v.Name, len(b)))
		}
		v.Value = a
	case ObjectID:
		v.Value, _ = d.oid()
	case Null, noSuchObject, endOfMibView:
	default:
		d.fail(fmt.Errorf("agentx: %s: unknown type %d", v.Name, v.Type))
	}
	return v
}

// variables reads VarBinds up to the end of the payload.
func (d *decoder) variables() []Variable {
	var vs []Variable
	for len(d.b) > 0 && d.err == nil {
		vs = append(vs, d.variable())
	}
	return vs
}

// fail records err unless an error came first.
func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// searchRange is a GetNext or GetBulk range: from Start (Include: Start itself too) up
// to End, not included (nil: no end).
type searchRange struct {
	Start, End OID
	Include    bool
}

func (d *decoder) ranges() []searchRange {
	var rs []searchRange
	for len(d.b) > 0 && d.err == nil {
		var r searchRange
		r.Start, r.Include = d.oid()
		r.End, _ = d.oid()
		rs = append(rs, r)
	}
	return rs
}

// context skips a non-default context, which this subagent never registers.
func (d *decoder) context(h header) {
	if h.Flags&flagNonDefaultContext != 0 {
		d.octets()
	}
}
