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
}

// rsID names a real server across reloads.
type rsID struct {
	service table.ServiceKey
	addr    netip.AddrPort
}
