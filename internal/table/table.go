// Package table defines the desired table: the plain value the engine computes from the
// configuration, health events, VRRP state and admin commands, and hands whole to a data
// plane. It holds no behaviour beyond identity and ordering helpers, so every data plane
// and the admin tools can share it without importing each other.
package table

import (
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the L4 protocol of an address-based virtual service.
type Protocol uint8

// Protocols, with the numbering IPVS uses (IPPROTO_*).
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("proto%d", uint8(p))
}

// Method is a destination's forwarding method (ipvsadm -g/-i/-m).
type Method uint8

// Forwarding methods, numbered as IPVS's IP_VS_CONN_F_* forwarding codes.
const (
	Masquerade Method = 0 // NAT, -m
	Local      Method = 1 // the director itself
	Tunnel     Method = 2 // TUN, -i
	Route      Method = 3 // DR, -g
)

func (m Method) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	}
	return fmt.Sprintf("method%d", uint8(m))
}

// ServiceKey identifies a virtual service: (protocol, address, port) or (fwmark, family).
// Data planes diff on it; everything else in Service is an attribute.
type ServiceKey struct {
	Protocol Protocol       // zero for fwmark services
	Addr     netip.AddrPort // zero for fwmark services
	FWMark   uint32         // zero for address services
	IPv6     bool           // family of a fwmark service
}

func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return fmt.Sprintf("%s %s", k.Protocol, k.Addr)
}

// SchedFlags are the scheduler flags (ipvsadm -b): flag-1..3, named per scheduler.
type SchedFlags uint8

// Scheduler flags; sh and mh give flag-1 and flag-2 their names.
const (
	SchedFlag1 SchedFlags = 1 << iota // sh-fallback, mh-fallback
	SchedFlag2                        // sh-port, mh-port
	SchedFlag3
)

// Persistence is a service's client affinity (ipvsadm -p / -M).
type Persistence struct {
	Timeout time.Duration // zero: not persistent
	// Netmask groups clients: an IPv4 mask as a prefix length (default 32), or an IPv6
	// prefix length (default 128).
	PrefixLen int
	Engine    string // persistence engine, e.g. "sip"; empty for none
	// Mask, when valid, is an IPv4 client mask that PrefixLen cannot express: ipvsadm and
	// the kernel accept any dotted mask (-M 255.0.255.0, -M 0.0.0.0). It wins over PrefixLen.
	Mask netip.Addr
}

// Service is one virtual service and its destinations.
type Service struct {
	ServiceKey
	Scheduler   string     // ipvsadm name: rr, wrr, lc, wlc, sh, mh, ...
	Flags       SchedFlags // scheduler flags
	Persistence Persistence
	// Method is the service's lb_kind, which decides the data plane that runs it when
	// several do (DR and TUN to XDP, NAT to the proxy); destinations may override it.
	Method     Method
	OnePacket  bool   // ops: schedule every UDP datagram on its own
	ProxyProto int    // 0: off; 1 or 2: send a PROXY protocol header of that version (proxy plane only)
	Name       string // where it came from, e.g. "keepalived.conf:12", for logs
	Dests      []Dest
	// Configured is every real server the configuration names for the service, in
	// configuration order with its configured weight, whatever its health (Dests is
	// what is scheduled now). Only the XDP plane reads it: its table for mid-flow
	// packets must come out the same on every director, one started while a server
	// fails included. Empty when the table does not come from a configuration.
	Configured []Dest
}

// DestKey identifies a destination within its service.
type DestKey = netip.AddrPort

// Dest is one real server of a service.
type Dest struct {
	Addr       netip.AddrPort // port 0 for fwmark services without a port
	Weight     int            // 0: quiesced, no new connections
	Method     Method
	UThreshold int // 0: no upper connection threshold (-x)
	LThreshold int // 0: no lower threshold (-y)
	// TunnelType and friends only matter for Method == Tunnel; kept for the IPVS plane.
	TunnelType  string // ipip (default), gue, gre
	TunnelPort  uint16
	TunnelFlags string // nocsum, csum, remcsum
}

// Timeouts are the connection idle timeouts (ipvsadm --set tcp tcpfin udp). Zero means
// "the data plane's default".
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// Table is the whole desired state.
type Table struct {
	Services []Service
	Timeouts Timeouts
}

// Counters are IPVS-style cumulative counters.
type Counters struct {
	Conns    uint64
	InPkts   uint64
	OutPkts  uint64
	InBytes  uint64
	OutBytes uint64
}

// Rates are per-second rates as the kernel's 2-second estimator computes them.
type Rates struct {
	CPS    uint64
	InPPS  uint64
	OutPPS uint64
	InBPS  uint64
	OutBPS uint64
}

// DestStats are one destination's counters.
type DestStats struct {
	Addr        netip.AddrPort
	ActiveConn  uint64
	InActConn   uint64
	PersistConn uint64
	Counters
	Rates
}

// ServiceStats are one service's counters and its destinations'.
type ServiceStats struct {
	Key ServiceKey
	Counters
	Rates
	Dests []DestStats
}

// Stats is a snapshot of every service's counters.
type Stats struct {
	Services []ServiceStats
}

// Conn is one entry of the connection table (ipvsadm -L -c): a connection, or a
// persistence template (client port 0, state NONE or ASSURED).
type Conn struct {
	Protocol Protocol       // 0 (shown as IP) for templates of fwmark services
	Client   netip.AddrPort // templates: the masked client address, port 0
	Virtual  netip.AddrPort // fwmark templates: the mark as an IPv4 address, port 0
	Dest     netip.AddrPort
	State    string        // ESTABLISHED, SYN_RECV, TIME_WAIT, UDP, ASSURED, NONE, ...
	Expires  time.Duration // time left before the entry expires
	PEName   string        // persistence engine, e.g. "sip"; empty for none
	PEData   string        // the engine's key, e.g. a SIP Call-ID
}
