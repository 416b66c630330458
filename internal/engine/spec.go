package engine

import (
	"net/netip"

	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/table"
)

// Spec is the engine's view of the configuration: every virtual service with the real
// servers it may use and the rules that decide which of them are in the table. It is
// derived from the config model (FromConfig) and replaced whole on reload.
type Spec struct {
	Services []VirtualService
	Timeouts table.Timeouts
	// FIFOs get a line each time a virtual service gains or loses its quorum
	// (keepalived's notify_fifo and lvs_notify_fifo).
	FIFOs []string
}

// VirtualService is one virtual_server block (or one resolved member of a group).
type VirtualService struct {
	// Service carries the key and scheduling attributes; its Dests are ignored: the
	// engine computes them from RealServers and health.
	Service     table.Service
	RealServers []RealServer
	// Quorum is the live weight needed for the service to be "up" (keepalived quorum,
	// default 1); Hysteresis widens the band around it.
	Quorum     int
	Hysteresis int
	QuorumUp   *script.Spec // run when the quorum is gained
	QuorumDown *script.Spec // run when the quorum is lost
	// Sorry replaces every real server while the quorum is lost.
	Sorry        *RealServer
	SorryInhibit bool // keep the sorry server at weight 0 instead of removing it
	// Name is the service as notifications show it (keepalived's FMT_VS):
	// "[10.0.0.10]:tcp:80", "FWM 7", or "[GROUP]:0" for a virtual_server_group; empty:
	// derived from the key.
	Name string
	// HealthFrom, on the members of a virtual_server_group after the first, is the
	// first member's key: its checkers' results are the member's too, and only the
	// first member notifies quorum changes, as keepalived checks and notifies once per
	// group.
	HealthFrom table.ServiceKey
	// SMTPAlert mails each quorum change (smtp_alert).
	SMTPAlert bool
	// Omega notifies the loss of the quorum at shutdown while it is up (omega).
	Omega bool
}

// RealServer is one real_server of a virtual service.
type RealServer struct {
	Addr       netip.AddrPort
	Weight     int
	Method     table.Method
	UThreshold int
	LThreshold int
	// TunnelType (ipip, gue, gre), TunnelPort and TunnelFlags (nocsum, csum, remcsum)
	// are lb_kind TUN's options.
	TunnelType  string
	TunnelPort  uint16
	TunnelFlags string
	// InhibitOnFailure keeps a failed server in the table at weight 0 instead of
	// removing it, so its established connections continue.
	InhibitOnFailure bool
	// Checked is false for a real server with no checker: it is always alive.
	Checked bool
	// Alpha starts the server as failed until its checkers pass.
	Alpha bool
	// CheckedAs, when set, is the address the checkers report the server under: a
	// group member's server without a port of its own is checked at the first
	// member's port.
	CheckedAs netip.AddrPort
}

// healthID is the identity a real server's health is recorded under: the checked
// service and address, shared by a virtual_server_group's members.
func (vs *VirtualService) healthID(rs *RealServer) rsID {
	id := rsID{vs.Service.ServiceKey, rs.Addr}
	if vs.HealthFrom != (table.ServiceKey{}) {
		id.service = vs.HealthFrom
	}
	if rs.CheckedAs.IsValid() {
		id.addr = rs.CheckedAs
	}
	return id
}

// rsID names a real server across reloads.
type rsID struct {
	service table.ServiceKey
	addr    netip.AddrPort
}
