// Package bfd runs Bidirectional Forwarding Detection sessions (RFC 5880) as
// keepalived's bfd_instance does: asynchronous mode over UDP (RFC 5881, port 3784),
// without authentication or echo, a session per neighbour. VRRP instances track the
// sessions (track_bfd), as they track interfaces.
package bfd

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// State is a session state (RFC 5880 §4.1).
type State uint8

const (
	AdminDown State = iota
	Down
	Init
	Up
)

func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Diagnostic codes this implementation sets (RFC 5880 §4.1).
const (
	diagNone          = 0
	diagTimeExpired   = 1 // Control Detection Time Expired
	diagNeighbourDown = 3 // Neighbor Signaled Session Down
	diagAdminDown     = 7 // Administratively Down
)

// packetLen is the length of a control packet without authentication.
const packetLen = 24

// Packet is a BFD control packet. Intervals are in microseconds, as on the wire.
type Packet struct {
	Diag               uint8
	State              State
	Poll, Final        bool
	ControlIndependent bool
	Demand             bool
	DetectMult         uint8
	MyDisc, YourDisc   uint32
	DesiredMinTx       uint32
	RequiredMinRx      uint32
	RequiredMinEchoRx  uint32
}

// Append appends the packet's wire form to b.
func (p *Packet) Append(b []byte) []byte {
	flags := byte(p.State) << 6
	for _, f := range []struct {
		set bool
		bit byte
	}{{p.Poll, 0x20}, {p.Final, 0x10}, {p.ControlIndependent, 0x08}, {p.Demand, 0x02}} {
		if f.set {
			flags |= f.bit
		}
	}
	b = append(b, 1<<5|p.Diag&0x1f, flags, p.DetectMult, packetLen)
	for _, v := range []uint32{p.MyDisc, p.YourDisc, p.DesiredMinTx, p.RequiredMinRx, p.RequiredMinEchoRx} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

var errAuth = errors.New("authentication is not supported")

// Parse decodes a control packet and applies the checks of RFC 5880 §6.8.6 that
// need nothing but the packet.
func Parse(b []byte) (Packet, error) {
	if len(b) < packetLen {
		return Packet{}, fmt.Errorf("%d bytes, shorter than a control packet (24)", len(b))
	}
	var p Packet
	if v := b[0] >> 5; v != 1 {
		return Packet{}, fmt.Errorf("version %d, want 1", v)
	}
	p.Diag = b[0] & 0x1f
	p.State = State(b[1] >> 6)
	p.Poll, p.Final = b[1]&0x20 != 0, b[1]&0x10 != 0
	p.ControlIndependent, p.Demand = b[1]&0x08 != 0, b[1]&0x02 != 0
	if b[1]&0x04 != 0 {
		return Packet{}, errAuth
	}
	if b[1]&0x01 != 0 {
		return Packet{}, errors.New("multipoint bit set")
	}
	p.DetectMult = b[2]
	if p.DetectMult == 0 {
		return Packet{}, errors.New("detect multiplier 0")
	}
	if l := int(b[3]); l < packetLen || l > len(b) {
		return Packet{}, fmt.Errorf("length field %d, packet %d bytes", l, len(b))
	}
	p.MyDisc = binary.BigEndian.Uint32(b[4:])
	p.YourDisc = binary.BigEndian.Uint32(b[8:])
	p.DesiredMinTx = binary.BigEndian.Uint32(b[12:])
	p.RequiredMinRx = binary.BigEndian.Uint32(b[16:])
	p.RequiredMinEchoRx = binary.BigEndian.Uint32(b[20:])
	if p.MyDisc == 0 {
		return Packet{}, errors.New("my discriminator 0")
	}
	if p.YourDisc == 0 && p.State != Down && p.State != AdminDown {
		return Packet{}, fmt.Errorf("your discriminator 0 in state %v", p.State)
	}
	if p.Poll && p.Final {
		return Packet{}, errors.New("poll and final both set")
	}
	return p, nil
}
