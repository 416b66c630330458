// Package vrrpmib is the VRRP instances as the standard MIBs show them, as keepalived
// 2.2.7's vrrp_snmp.c fills them in: RFC 2787's VRRP-MIB (enable_snmp_rfcv2: VRRPv2
// instances over IPv4) and RFC 6527's VRRPv3-MIB (enable_snmp_rfcv3: every instance,
// as Debian's keepalived, built to answer for VRRPv2 instances there too), and their
// notifications.
package vrrpmib

import (
	"net"
	"net/netip"
	"time"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// The MIBs' roots.
var (
	RFC2787 = agentx.MustOID("1.3.6.1.2.1.68")
	RFC6527 = agentx.MustOID("1.3.6.1.2.1.207")
)

// Node is what the MIBs read of the VRRP node.
type Node interface {
	Status() []vrrp.InstanceStatus
	Running() vrrp.Config
}

// MIB builds the variables of the enabled MIBs.
type MIB struct {
	Node   Node
	V2, V3 bool
	// Traps is enable_traps (RFC 2787's vrrpNotificationCntl).
	Traps bool
	// Started is when the agent started: RFC 2787's uptimes count from it, as
	// keepalived's snmp_vrrp_start_time.
	Started time.Time
	// Link describes an interface by name; nil: the host's interfaces.
	Link func(name string) (Link, bool)
}

// Link is what the MIBs show of an interface: its index, hardware address and primary
// IPv4 and IPv6 (link-local) addresses.
type Link struct {
	Index  int
	MAC    []byte
	V4, V6 netip.Addr
}

// HostLink reads an interface of this network namespace.
func HostLink(name string) (Link, bool) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return Link{}, false
	}
	l := Link{Index: ifc.Index, MAC: ifc.HardwareAddr}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		switch ip := p.Addr(); {
		case ip.Is4() && !l.V4.IsValid():
			l.V4 = ip
		case ip.Is6() && ip.IsLinkLocalUnicast() && !l.V6.IsValid():
			l.V6 = ip
		}
	}
	return l, true
}

// Subtrees are the roots of the enabled MIBs, to register.
func (m *MIB) Subtrees() []agentx.OID {
	var out []agentx.OID
	if m.V2 {
		out = append(out, RFC2787)
	}
	if m.V3 {
		out = append(out, RFC6527)
	}
	return out
}

// row is an instance with what its rows show.
type row struct {
	cfg       vrrp.InstanceConfig
	st        vrrp.InstanceStatus
	base, ifp Link // the configured interface, and the one adverts leave by (a VMAC)
	index     uint32
	v6        bool
	vips      []netip.Addr
	primary   netip.Addr
	master    netip.Addr // MasterIpAddr: the last advertiser, or the primary address as master
	addrType  uint32
	state     int32 // RFC state: initialize(1), backup(2), master(3)
}

func (m *MIB) rows() []row {
	link := m.Link
	if link == nil {
		link = HostLink
	}
	cfg := m.Node.Running()
	byName := map[string]vrrp.InstanceStatus{}
	for _, st := range m.Node.Status() {
		byName[st.Name] = st
	}
	var rows []row
	for _, in := range cfg.Instances {
		st, ok := byName[in.Name]
		if !ok || len(in.VIPs) == 0 {
			continue // keepalived answers only for instances with a virtual address
		}
		r := row{cfg: in, st: st, v6: in.IPv6(), addrType: 1}
		if r.v6 {
			r.addrType = 2
		}
		if l, ok := link(in.Interface); ok {
			r.base, r.ifp, r.index = l, l, uint32(l.Index)
		}
		if in.UseVMAC {
			if l, ok := link(in.VMACName); ok {
				r.ifp = l
			}
		}
		r.primary = r.base.V4
		if r.v6 {
			r.primary = r.base.V6
		}
		r.master = st.HeardMaster
		if st.State == vrrp.StateMaster {
			r.master = r.primary
		}
		switch st.State {
		case vrrp.StateBackup:
			r.state = 2
		case vrrp.StateMaster:
			r.state = 3
		default:
			r.state = 1
		}
		for _, v := range in.VIPs {
			r.vips = append(r.vips, v.Prefix.Addr())
		}
		rows = append(rows, r)
	}
	return rows
}

// Variables are the enabled MIBs' variables.
func (m *MIB) Variables() []agentx.Variable {
	rows := m.rows()
	var vars []agentx.Variable
	if m.V2 {
		vars = append(vars, m.rfc2787(rows)...)
	}
	if m.V3 {
		vars = append(vars, m.rfc6527(rows)...)
	}
	return vars
}

// bad sums the instance's dropped adverts for the reasons keepalived counts together.
func bad(st vrrp.InstanceStatus, reasons ...string) uint64 {
	var n uint64
	for _, r := range reasons {
		n += st.BadPackets[r]
	}
	return n
}

func addrBytes(a netip.Addr, v6 bool) []byte {
	if v6 {
		if !a.Is6() {
			a = netip.IPv6Unspecified()
		}
		b := a.As16()
		return b[:]
	}
	if !a.Is4() {
		a = netip.IPv4Unspecified()
	}
	b := a.As4()
	return b[:]
}

// ipv4 is a, or 0.0.0.0 where keepalived has no address to show.
func ipv4(a netip.Addr) netip.Addr {
	if !a.Is4() {
		return netip.IPv4Unspecified()
	}
	return a
}

func centiseconds(d time.Duration) uint32 { return uint32(max(d, 0) / (10 * time.Millisecond)) }

// rfc2787 is VRRP-MIB: VRRPv2 instances over IPv4 only, as keepalived built with both.
func (m *MIB) rfc2787(rows []row) []agentx.Variable {
	root := RFC2787
	vars := []agentx.Variable{
		agentx.Int(root.Append(1, 1, 0), 2), // vrrpNodeVersion
		agentx.Int(root.Append(1, 2, 0), agentx.Truth(m.Traps)),
	}
	var chk, vers, vrid uint32
	for _, r := range rows {
		if r.cfg.Version != 2 || r.v6 {
			continue
		}
		idx := []uint32{r.index, uint32(r.cfg.VRID)}
		col := func(c uint32) agentx.OID { return root.Append(1, 3, 1, c).Append(idx...) }
		uptime := uint32(0)
		if r.state >= 2 {
			uptime = centiseconds(r.st.Started.Sub(m.Started))
		}
		auth := 1
		switch r.cfg.AuthType {
		case vrrp.AuthPass:
			auth = 2
		case vrrp.AuthAH:
			auth = 3
		}
		vars = append(vars,
			agentx.Variable{Name: col(2), Type: agentx.OctetString, Value: r.ifp.MAC},
			agentx.Int(col(3), int(r.state)),
			agentx.Int(col(4), 1), // adminState up
			agentx.Int(col(5), int(r.st.Priority)),
			agentx.Int(col(6), len(r.vips)),
			agentx.Variable{Name: col(7), Type: agentx.IPAddress, Value: ipv4(r.st.HeardMaster)},
			agentx.Variable{Name: col(8), Type: agentx.IPAddress, Value: ipv4(r.primary)},
			agentx.Int(col(9), auth),
			agentx.Int(col(11), int(r.cfg.AdvertInterval/time.Second)),
			agentx.Int(col(12), agentx.Truth(!r.st.Nopreempt)),
			agentx.Variable{Name: col(13), Type: agentx.TimeTicks, Value: uptime},
			agentx.Int(col(14), 1), // protocol ip
			agentx.Int(col(15), 1), // rowStatus active
		)
		for _, a := range r.vips {
			b := a.As4()
			vars = append(vars, agentx.Int(root.Append(1, 4, 1, 2).Append(idx...).Append(uint32(b[0]), uint32(b[1]), uint32(b[2]), uint32(b[3])), 1))
		}
		st := r.st
		c32 := func(c uint32, v uint64) agentx.Variable {
			return agentx.Variable{Name: root.Append(2, 4, 1, c).Append(idx...), Type: agentx.Counter32, Value: uint32(v)}
		}
		vars = append(vars,
			c32(1, st.BecameMaster), c32(2, st.AdvertsReceived), c32(3, bad(st, "interval")), c32(4, bad(st, "auth")),
			c32(5, bad(st, "ttl")), c32(6, st.Priority0Received), c32(7, st.Priority0Sent), c32(8, bad(st, "type")),
			c32(9, bad(st, "address_count", "addresses")), c32(10, 0), c32(11, 0), c32(12, bad(st, "too_short", "length")),
		)
		chk += uint32(bad(st, "checksum"))
		vers += uint32(bad(st, "version"))
		vrid += uint32(bad(st, "vrid"))
	}
	return append(vars,
		agentx.Variable{Name: root.Append(2, 1, 0), Type: agentx.Counter32, Value: chk},
		agentx.Variable{Name: root.Append(2, 2, 0), Type: agentx.Counter32, Value: vers},
		agentx.Variable{Name: root.Append(2, 3, 0), Type: agentx.Counter32, Value: vrid},
	)
}

// rfc6527 is VRRPv3-MIB: every instance with a virtual address.
func (m *MIB) rfc6527(rows []row) []agentx.Variable {
	root := RFC6527
	var vars []agentx.Variable
	var chk, vers, vrid uint64
	now := time.Now()
	for _, r := range rows {
		idx := []uint32{r.index, uint32(r.cfg.VRID), r.addrType}
		col := func(c uint32) agentx.OID { return root.Append(1, 1, 1, 1, c).Append(idx...) }
		uptime := uint32(0)
		if r.state >= 2 {
			uptime = centiseconds(now.Sub(r.st.Started))
		}
		vars = append(vars,
			agentx.Variable{Name: col(3), Type: agentx.OctetString, Value: addrBytes(r.master, r.v6)},
			agentx.Variable{Name: col(4), Type: agentx.OctetString, Value: addrBytes(r.primary, r.v6)},
			agentx.Variable{Name: col(5), Type: agentx.OctetString, Value: r.ifp.MAC},
			agentx.Int(col(6), int(r.state)),
			agentx.Variable{Name: col(7), Type: agentx.Gauge32, Value: uint32(r.st.Priority)},
			agentx.Int(col(8), len(r.vips)),
			agentx.Int(col(9), int(r.cfg.AdvertInterval/(10*time.Millisecond))),
			agentx.Int(col(10), agentx.Truth(!r.st.Nopreempt)),
			agentx.Int(col(11), agentx.Truth(!r.cfg.NoAccept)),
			agentx.Variable{Name: col(12), Type: agentx.TimeTicks, Value: uptime},
			agentx.Int(col(13), 1), // rowStatus active
		)
		for _, a := range r.vips {
			name := root.Append(1, 1, 2, 1, 2).Append(idx...)
			for _, b := range addrBytes(a, r.v6) {
				name = append(name, uint32(b))
			}
			vars = append(vars, agentx.Int(name, 1))
		}
		st := r.st
		c64 := func(c uint32, v uint64) agentx.Variable {
			return agentx.Variable{Name: root.Append(1, 2, 5, 1, c).Append(idx...), Type: agentx.Counter64, Value: v}
		}
		vars = append(vars,
			agentx.Variable{Name: root.Append(1, 2, 5, 1, 1).Append(idx...), Type: agentx.Counter32, Value: uint32(st.BecameMaster)},
			agentx.Int(root.Append(1, 2, 5, 1, 2).Append(idx...), int(st.MasterReason)),
			c64(3, st.AdvertsReceived), c64(4, bad(st, "interval")), c64(5, bad(st, "ttl")),
			agentx.Int(root.Append(1, 2, 5, 1, 6).Append(idx...), int(st.ProtoErrReason)),
			c64(7, st.Priority0Received), c64(8, st.Priority0Sent), c64(9, bad(st, "type")),
			c64(10, bad(st, "address_count", "addresses")), c64(11, bad(st, "too_short", "length")),
			agentx.Variable{Name: root.Append(1, 2, 5, 1, 12).Append(idx...), Type: agentx.TimeTicks, Value: uint32(0)},
			agentx.Variable{Name: root.Append(1, 2, 5, 1, 13).Append(idx...), Type: agentx.Gauge32, Value: uint32(r.cfg.AdvertInterval / time.Millisecond)},
		)
		chk += bad(st, "checksum")
		vers += bad(st, "version")
		vrid += bad(st, "vrid")
	}
	return append(vars,
		agentx.Variable{Name: root.Append(1, 2, 1, 0), Type: agentx.Counter64, Value: chk},
		agentx.Variable{Name: root.Append(1, 2, 2, 0), Type: agentx.Counter64, Value: vers},
		agentx.Variable{Name: root.Append(1, 2, 3, 0), Type: agentx.Counter64, Value: vrid},
		agentx.Variable{Name: root.Append(1, 2, 4, 0), Type: agentx.TimeTicks, Value: uint32(0)},
	)
}

// NewMaster is what keepalived sends when instance name becomes master, for each
// enabled MIB that shows it: RFC 2787's vrrpTrapNewMaster with the master's address,
// RFC 6527's vrrpv3NewMaster with the address and why. None without enable_traps.
func (m *MIB) NewMaster(name string) []agentx.Notification {
	if !m.Traps {
		return nil
	}
	var out []agentx.Notification
	for _, r := range m.rows() {
		if r.cfg.Name != name {
			continue
		}
		src := r.st.SourceAddr
		if m.V2 && r.cfg.Version == 2 && !r.v6 {
			out = append(out, agentx.Notification{Trap: RFC2787.Append(0, 1), Vars: []agentx.Variable{
				{Name: RFC2787.Append(1, 3, 1, 7, r.index, uint32(r.cfg.VRID)), Type: agentx.IPAddress, Value: ipv4(src)},
			}})
		}
		if m.V3 {
			idx := []uint32{r.index, uint32(r.cfg.VRID), r.addrType}
			out = append(out, agentx.Notification{Trap: RFC6527.Append(0, 1), Vars: []agentx.Variable{
				{Name: RFC6527.Append(1, 1, 1, 1, 3).Append(idx...), Type: agentx.OctetString, Value: addrBytes(src, r.v6)},
				agentx.Int(RFC6527.Append(1, 2, 5, 1, 2).Append(idx...), int(r.st.MasterReason)),
			}})
		}
	}
	return out
}
