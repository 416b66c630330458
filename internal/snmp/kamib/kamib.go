// Package kamib is keepalived's own MIB, KEEPALIVED-MIB (1.3.6.1.4.1.9586.100.5), as
// keepalived 2.2.7 fills it in: this package serves its global objects (…5.1); the
// VRRP part (…5.2) and the health checker part (…5.3) are modules of their own.
package kamib

import (
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/snmp/agentx"
)

// Root is KEEPALIVED-MIB::keepalived.
var Root = agentx.MustOID("1.3.6.1.4.1.9586.100.5")

// The roots of the MIB's parts.
var (
	GlobalRoot  = Root.Append(1)
	VRRPRoot    = Root.Append(2)
	CheckerRoot = Root.Append(3)
)

// RouterIDOID is the routerId scalar's instance, which every keepalived notification
// carries.
var RouterIDOID = GlobalRoot.Append(2, 0)

// Global is the MIB's global objects (…5.1), read from the configuration in force.
type Global struct {
	// Config returns the configuration in force.
	Config func() *config.Config
	// Version is govs's version, shown as keepalived shows its own.
	Version string
}

// Subtrees registers the global objects' subtree.
func (g *Global) Subtrees() []agentx.OID { return []agentx.OID{GlobalRoot} }

// Variables are the global scalars and the emailTable, as keepalived 2.2.7's
// snmp_scalar and snmp_mail answer them.
func (g *Global) Variables() []agentx.Variable {
	cfg := g.Config()
	if cfg == nil {
		return nil
	}
	gd := &cfg.Global
	scalar := func(sub ...uint32) agentx.OID { return GlobalRoot.Append(sub...).Append(0) }
	vars := []agentx.Variable{agentx.String(scalar(1), "govs "+g.Version)}
	if id := RouterID(gd); id != "" {
		vars = append(vars, agentx.String(scalar(2), id))
	}
	// keepalived shows the SMTP server even when none is set: an all-zero IPv4 address
	// whose type, from the unset address family, says ipv6(2).
	server, port, timeout := netip.IPv4Unspecified(), uint64(0), uint64(0)
	serverType := 2
	if gd.SMTPServer != nil {
		if a, err := netip.ParseAddr(strings.Trim(gd.SMTPServer.Host, "[]")); err == nil {
			server = a.Unmap()
		}
		if server.Is4() {
			serverType = 1
		}
		port, timeout = uint64(gd.SMTPServer.Port), uint64(gd.SMTPConnectTimeout/time.Second)
	}
	vars = append(vars,
		agentx.Int(scalar(3, 1), serverType),
		agentx.Octets(scalar(3, 2), server.AsSlice()),
		agentx.Unsigned(scalar(3, 3), timeout),
	)
	if from := emailFrom(gd); from != "" {
		vars = append(vars, agentx.String(scalar(3, 4), from))
	}
	for i, to := range gd.NotificationEmail {
		vars = append(vars, agentx.String(GlobalRoot.Append(3, 5, 1, 2, uint32(i+1)), to))
	}
	vars = append(vars,
		agentx.Unsigned(scalar(3, 6), port),
		agentx.Int(scalar(3, 7), agentx.Truth(!gd.NoEmailFaults)),
		agentx.Int(scalar(3, 8), tristate(gd, "smtp_alert", gd.SMTPAlert)),
		agentx.Int(scalar(3, 9), tristate(gd, "smtp_alert_vrrp", gd.SMTPAlertVRRP)),
		agentx.Int(scalar(3, 10), tristate(gd, "smtp_alert_checker", gd.SMTPAlertChecker)),
		agentx.Int(scalar(4), agentx.Truth(gd.EnableTraps)),
		agentx.Int(scalar(5), 1), // linkBeat: netlink, govs never polls
		agentx.Int(scalar(6), agentx.Truth(gd.LVSFlush)),
		agentx.Int(scalar(7), 1), // 64-bit IPVS counters
		agentx.String(scalar(8), cfg.NetNamespace),
		agentx.Int(scalar(9), agentx.Truth(gd.EnableDBus)),
		agentx.Int(scalar(10), agentx.Truth(gd.DynamicInterfaces)),
		agentx.Int(scalar(11), flushOnStop(gd.LVSFlushOnStop)),
	)
	return vars
}

// RouterID is router_id, by default the host's name as keepalived's mails and
// notifications name it.
func RouterID(gd *config.GlobalDefs) string {
	if gd.RouterID != "" {
		return gd.RouterID
	}
	host, _ := os.Hostname()
	return host
}

// emailFrom is notification_email_from; keepalived's default, USER@HOST, exists only
// with an SMTP server.
func emailFrom(gd *config.GlobalDefs) string {
	if gd.NotificationEmailFrom != "" || gd.SMTPServer == nil {
		return gd.NotificationEmailFrom
	}
	host, _ := os.Hostname()
	if host == "" {
		return ""
	}
	return notify.DefaultFrom(host)
}

// tristate is an smtp_alert keyword as keepalived shows it: true(1), false(2), or
// unset(3) when no line of its own sets it (smtp_alert_vrrp and smtp_alert_checker
// inherit smtp_alert's line, but keepalived keeps them unset).
func tristate(gd *config.GlobalDefs, keyword string, on bool) int {
	at, ok := gd.Lines[keyword]
	if !ok || keyword != "smtp_alert" && at == gd.Lines["smtp_alert"] {
		return 3
	}
	return agentx.Truth(on)
}

// flushOnStop is lvs_flush_on_stop: all services (1), none (2), or those govs
// configured (3).
func flushOnStop(mode string) int {
	switch mode {
	case "RS":
		return 1
	case "VS":
		return 3
	}
	return 2
}
