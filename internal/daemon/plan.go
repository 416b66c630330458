// Package daemon wires govs together: it maps the parsed configuration onto what each
// component runs (the engine's spec, the checkers, the VRRP node), starts them, and
// handles reloads and shutdown.
package daemon

import (
	"cmp"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/govs/govs/internal/bfd"
	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/nftipvs"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/nsrun"
	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/threadprio"
	"github.com/govs/govs/internal/vrrp"
)

// Plan is a configuration as the components take it.
type Plan struct {
	Spec     engine.Spec
	Checks   []check.RealServer
	VRRP     vrrp.Config
	Security script.Security
	Mail     notify.Config // Server empty: no smtp_alert mail
	// NoEmailFaults (no_email_faults) mails no VRRP entry into FAULT.
	NoEmailFaults bool
	// BFD are the bfd_instance sessions, run with VRRP.
	BFD []bfd.Config
	// TrackFileInits are the track_file init_file values, written when the
	// configuration is loaded.
	TrackFileInits []trackFileInit
	// FIFOReaders are the notify FIFO reader scripts (*_notify_fifo_script).
	FIFOReaders []fifoReader
	// VRRPErr is why the VRRP part cannot run (auth_type AH, say); it only matters
	// when VRRP runs, so `govs run -C` ignores it as keepalived -C ignores VRRP blocks.
	VRRPErr error
	// IPVS are the global_defs keywords about the kernel's IPVS table itself.
	IPVS IPVSSettings
	// HASuspend are the address services of virtual servers with ha_suspend;
	// AddrMonitorRcvBuf sizes the receive buffer of the socket that follows the
	// addresses for it (lvs_netlink_monitor_rcv_bufs and _force).
	HASuspend              check.HASuspend
	AddrMonitorRcvBuf      int
	AddrMonitorRcvBufForce bool
	// Process is what applies to the whole process (*_no_swap, *_rlimit_rttime);
	// BFDThreads the scheduling of the BFD threads (bfd_priority, …), the VRRP ones
	// being in VRRP.
	Process    processSettings
	BFDThreads threadprio.Settings
	// ReloadCheckLog is reload_check_config: where the next reload writes the new
	// configuration's diagnostics; "": nowhere.
	ReloadCheckLog string
	// Umask is global_defs umask, set when the configuration is loaded; nil: unchanged.
	Umask *config.FileMask
	// ReloadTimeFile schedules reloads (reload_time_file); ReloadRepeat keeps a file
	// without a date to reload at the same time every day (reload_repeat).
	ReloadTimeFile string
	ReloadRepeat   bool
	// ReloadFile exists while a reload reads the configuration (reload_file); "":
	// none.
	ReloadFile string
	// DumpSuffix goes before the extension of the SIGUSR1/SIGUSR2 dump files
	// (data_use_instance): "NS", "INSTANCE" or "NS_INSTANCE"; "": none.
	DumpSuffix string
	// NFTMarks, with nftables_ipvs and the ipvs data plane, are the tables that mark
	// the packets of the virtual_server_groups served as fwmark services; nil: none.
	NFTMarks *nftMarks
	// DBus is enable_dbus's settings; nil: off.
	DBus *dbusSettings
	// SNMP is what VRRP's AgentX subagent serves; nil: none.
	SNMP *snmpSettings
	// StartupScript runs before anything starts, ShutdownScript after everything has
	// stopped (startup_script, shutdown_script with their timeouts); nil: none.
	StartupScript, ShutdownScript *script.Spec
}

// IPVSSettings are lvs_flush, lvs_flush_onstop, lvs_sync_daemon and net_namespace_ipvs.
type IPVSSettings struct {
	Flush       bool
	FlushOnStop string // "", "VS" or "RS" (bare keyword)
	Sync        *config.SyncDaemon
	// Namespace is the path of net_namespace_ipvs's namespace; "": govs's own.
	Namespace string
}

// ipvsNamespace is net_namespace_ipvs's namespace as keepalived opens it: NAME under
// /run/netns, or without NAME the default namespace, PID 1's.
func ipvsNamespace(cfg *config.Config) string {
	switch {
	case !cfg.IsSet("net_namespace_ipvs"):
		return ""
	case cfg.NetNamespaceIPVS == "":
		return "/proc/1/ns/net"
	}
	return filepath.Join(nsrun.Dir, cfg.NetNamespaceIPVS)
}

// reloadFile is reload_file's path: the one named, else DefaultReloadFile.
func reloadFile(g config.GlobalDefs) string {
	if !g.IsSet("reload_file") {
		return ""
	}
	return cmp.Or(g.ReloadFile, DefaultReloadFile)
}

// dumpSuffix is keepalived's open_dump_file naming: with data_use_instance, the
// namespace and the instance name, joined by '_' when both are set.
func dumpSuffix(cfg *config.Config) string {
	if !cfg.Global.DataUseInstance {
		return ""
	}
	if cfg.NetNamespace != "" && cfg.Instance != "" {
		return cfg.NetNamespace + "_" + cfg.Instance
	}
	return cfg.NetNamespace + cfg.Instance
}

// nftMarks are nftables_ipvs's tables: their settings and what they mark.
type nftMarks struct {
	Options nftipvs.Options
	Entries []nftipvs.Entry
}

// NewPlan maps a validated configuration for any data plane.
func NewPlan(cfg *config.Config) (Plan, error) { return newPlan(cfg, false) }

// newPlan maps a validated configuration; with ipvsMarks (the ipvs data plane runs)
// nftables_ipvs makes each virtual_server_group one fwmark service per protocol, as
// keepalived does.
func newPlan(cfg *config.Config, ipvsMarks bool) (Plan, error) {
	var marks *groupMarks
	if ipvsMarks && cfg.Global.NFTablesIPVS != "" {
		marks = &groupMarks{next: uint32(cfg.Global.NFTablesIPVSStartFwmark), byGroup: map[groupProto]uint32{}}
	}
	p := Plan{
		Security: script.Security{
			Enabled:      cfg.Global.EnableScriptSecurity,
			DefaultUser:  cfg.Global.ScriptUser.User,
			DefaultGroup: cfg.Global.ScriptUser.Group,
		},
		Mail:                   mailConfig(cfg.Global),
		NoEmailFaults:          cfg.Global.NoEmailFaults,
		Umask:                  cfg.Global.Umask,
		ReloadCheckLog:         cfg.Global.ReloadCheckConfig,
		DumpSuffix:             dumpSuffix(cfg),
		DBus:                   dbusPlan(cfg),
		SNMP:                   snmpPlan(cfg),
		ReloadTimeFile:         cfg.Global.ReloadTimeFile,
		ReloadRepeat:           cfg.Global.ReloadRepeat,
		ReloadFile:             reloadFile(cfg.Global),
		Process:                processPlan(cfg.Global),
		BFDThreads:             threadSettings(cfg.Global, cfg.Global.BFDPriority, cfg.Global.BFDRTPriority, cfg.Global.BFDCPUAffinity),
		StartupScript:          startStopScript(cfg.Global.StartupScript, cfg.Global.StartupScriptTimeout),
		ShutdownScript:         startStopScript(cfg.Global.ShutdownScript, cfg.Global.ShutdownScriptTimeout),
		HASuspend:              check.HASuspend{},
		AddrMonitorRcvBuf:      cfg.Global.LVSNetlinkMonitorRcvBufs,
		AddrMonitorRcvBufForce: cfg.Global.LVSNetlinkMonitorRcvBufsForce,
		Spec: engine.Spec{Timeouts: table.Timeouts{
			TCP:    cfg.Global.LVSTimeouts.TCP,
			TCPFin: cfg.Global.LVSTimeouts.TCPFin,
			UDP:    cfg.Global.LVSTimeouts.UDP,
		}},
	}
	// One service per virtual_server but for groups, which may make more.
	// keepalived writes checker lines to notify_fifo and to lvs_notify_fifo.
	for _, f := range []*config.FIFO{cfg.Global.NotifyFIFO, cfg.Global.LVSNotifyFIFO} {
		if f != nil {
			p.Spec.FIFOs = append(p.Spec.FIFOs, f.Path)
		}
	}
	p.Spec.Services = make([]engine.VirtualService, 0, len(cfg.VirtualServers))
	for _, vs := range cfg.VirtualServers {
		keys, marked, err := marks.keys(vs)
		if err != nil {
			return Plan{}, err
		}
		if !marked {
			if keys, err = serviceKeys(vs); err != nil {
				return Plan{}, err
			}
		}
		for i, key := range keys {
			evs, checks, err := virtualService(vs, key, cfg.SSL)
			if err != nil {
				return Plan{}, err
			}
			if i > 0 {
				// keepalived checks and notifies once per virtual_server_group: the
				// other members follow the first.
				groupMember(&evs, vs, keys[0])
				checks = nil
			}
			p.Spec.Services = append(p.Spec.Services, evs)
			for i := range checks {
				checks[i].InitNotify = cfg.Global.RSInitNotifies
				checks[i].OnlyServerEmails = cfg.Global.NoCheckerEmails
			}
			p.Checks = append(p.Checks, checks...)
		}
		haSuspendAddrs(p.HASuspend, vs, keys, marked)
	}
	if marks != nil {
		p.NFTMarks = &nftMarks{
			Options: nftipvs.Options{Table: cfg.Global.NFTablesIPVS, Priority: int32(cfg.Global.NFTablesIPVSPriority), Counters: cfg.Global.NFTablesCounters},
			Entries: marks.entries,
		}
	}
	p.VRRP, p.VRRPErr = vrrpConfig(cfg)
	p.BFD = bfdConfigs(cfg)
	p.TrackFileInits = trackFileInits(cfg)
	p.FIFOReaders = fifoReaders(cfg.Global)
	p.IPVS = IPVSSettings{Flush: cfg.Global.LVSFlush, FlushOnStop: cfg.Global.LVSFlushOnStop, Sync: cfg.Global.LVSSyncDaemon, Namespace: ipvsNamespace(cfg)}
	return p, nil
}

func where(s config.Source) string { return s.Pos.String() }

// serviceKeys resolves a virtual_server to the services it stands for: one for an
// address or a mark, one per resolved member of a group.
func serviceKeys(vs *config.VirtualServer) ([]table.ServiceKey, error) {
	proto, err := protocol(vs.Protocol)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(vs.Source), err)
	}
	ipv6 := vs.IPFamily == "inet6"
	switch {
	case vs.FwMark != 0:
		return []table.ServiceKey{{FWMark: vs.FwMark, IPv6: ipv6 || rsFamilyIs6(vs)}}, nil
	case vs.Group != nil:
		var keys []table.ServiceKey
		for _, a := range vs.Group.Addresses {
			keys = append(keys, table.ServiceKey{Protocol: proto, Addr: a})
		}
		for _, m := range vs.Group.FwMarks {
			keys = append(keys, table.ServiceKey{FWMark: m, IPv6: ipv6 || rsFamilyIs6(vs)})
		}
		return keys, nil
	default:
		return []table.ServiceKey{{Protocol: proto, Addr: netip.AddrPortFrom(vs.Addr, vs.Port)}}, nil
	}
}

// groupMarks gives virtual_server_groups their nftables_ipvs marks, as keepalived
// does: one per group and protocol, in the order of the virtual servers, from
// nftables_ipvs_start_fwmark on.
type groupMarks struct {
	next    uint32
	byGroup map[groupProto]uint32
	entries []nftipvs.Entry
}

type groupProto struct {
	group string
	proto table.Protocol
}

// keys returns the fwmark services a virtual server of a group stands for (one per
// address family of the group), and whether it is one: a nil g, a virtual server
// without a group, or a group with fwmark entries (keepalived marks only groups of
// addresses) is served by address.
func (g *groupMarks) keys(vs *config.VirtualServer) ([]table.ServiceKey, bool, error) {
	if g == nil || vs.Group == nil || len(vs.Group.FwMarks) > 0 || len(vs.Group.Addresses) == 0 {
		return nil, false, nil
	}
	proto, err := protocol(vs.Protocol)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", where(vs.Source), err)
	}
	k := groupProto{vs.Group.Name, proto}
	mark, ok := g.byGroup[k]
	if !ok {
		mark = g.next
		g.next++
		g.byGroup[k] = mark
		for _, e := range vs.Group.Entries {
			g.entries = append(g.entries, nftipvs.Entry{First: e.First, Last: e.Last, Port: e.Port, Protocol: uint8(proto), Mark: mark})
		}
	}
	var v4, v6 bool
	for _, a := range vs.Group.Addresses {
		v4, v6 = v4 || a.Addr().Is4(), v6 || a.Addr().Is6()
	}
	var keys []table.ServiceKey
	if v4 {
		keys = append(keys, table.ServiceKey{FWMark: mark})
	}
	if v6 {
		keys = append(keys, table.ServiceKey{FWMark: mark, IPv6: true})
	}
	return keys, true, nil
}

func rsFamilyIs6(vs *config.VirtualServer) bool {
	return len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Is6()
}

func protocol(name string) (table.Protocol, error) {
	switch strings.ToUpper(name) {
	case "TCP":
		return table.TCP, nil
	case "UDP", "":
		return table.UDP, nil
	case "SCTP":
		return table.SCTP, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", name)
}

func method(f config.Forwarding) table.Method {
	switch f.Method {
	case "DR":
		return table.Route
	case "TUN":
		return table.Tunnel
	}
	return table.Masquerade
}

func schedFlags(vs *config.VirtualServer) table.SchedFlags {
	var f table.SchedFlags
	if vs.Flag1 || vs.SHFallback || vs.MHFallback {
		f |= table.SchedFlag1
	}
	if vs.Flag2 || vs.SHPort || vs.MHPort {
		f |= table.SchedFlag2
	}
	if vs.Flag3 {
		f |= table.SchedFlag3
	}
	return f
}

// persistence maps persistence_timeout and persistence_granularity (an IPv4 mask such
// as 255.255.255.0, or an IPv6 prefix length).
func persistence(vs *config.VirtualServer, key table.ServiceKey) (table.Persistence, error) {
	p := table.Persistence{Timeout: vs.Persistence, Engine: vs.PersistenceEngine}
	v6 := key.IPv6 || key.Addr.Addr().Is6()
	p.PrefixLen = 32
	if v6 {
		p.PrefixLen = 128
	}
	if vs.PersistenceMask == "" {
		return p, nil
	}
	if v6 {
		var n int
		if _, err := fmt.Sscanf(vs.PersistenceMask, "%d", &n); err != nil || n < 1 || n > 128 {
			return p, fmt.Errorf("%s: persistence_granularity %q: want an IPv6 prefix length 1..128", vs.Line("persistence_granularity"), vs.PersistenceMask)
		}
		p.PrefixLen = n
		return p, nil
	}
	mask, err := netip.ParseAddr(vs.PersistenceMask)
	if err != nil || !mask.Is4() {
		return p, fmt.Errorf("%s: persistence_granularity %q: want an IPv4 netmask", vs.Line("persistence_granularity"), vs.PersistenceMask)
	}
	if n, ok := maskLen(mask); ok {
		p.PrefixLen = n
	} else {
		p.Mask = mask
	}
	return p, nil
}

// maskLen returns the prefix length of a contiguous mask.
func maskLen(mask netip.Addr) (int, bool) {
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// virtualService maps one service of a virtual_server and its real servers' checkers.
func virtualService(vs *config.VirtualServer, key table.ServiceKey, ssl *config.SSL) (engine.VirtualService, []check.RealServer, error) {
	pers, err := persistence(vs, key)
	if err != nil {
		return engine.VirtualService{}, nil, err
	}
	out := engine.VirtualService{
		Service: table.Service{
			ServiceKey:  key,
			Scheduler:   vs.Scheduler,
			Flags:       schedFlags(vs),
			Persistence: pers,
			Method:      method(vs.Forwarding),
			OnePacket:   vs.OnePacket,
			ProxyProto:  vs.ProxyProtocol,
			Name:        where(vs.Source),
		},
		Name:         notifyName(vs, key),
		SMTPAlert:    vs.SMTPAlert,
		Omega:        vs.Omega,
		Quorum:       vs.Quorum,
		Hysteresis:   vs.Hysteresis,
		QuorumUp:     scriptSpec(vs.QuorumUp),
		QuorumDown:   scriptSpec(vs.QuorumDown),
		SorryInhibit: vs.SorryServerInhibit,
		RealServers:  make([]engine.RealServer, 0, len(vs.RealServers)),
	}
	if vs.SorryServer != nil {
		m := method(vs.SorryForwarding)
		out.Sorry = &engine.RealServer{Addr: ipvsAddr(*vs.SorryServer, m, key), Weight: max(vs.Weight, 1), Method: m}
	}
	var checks []check.RealServer
	for _, rs := range vs.RealServers {
		configured := netip.AddrPortFrom(rs.Addr, rs.Port)
		m := method(rs.Forwarding)
		addr := ipvsAddr(configured, m, key)
		// keepalived resets the port of a DR or TUN server to the service's (0 for
		// fwmark) and knows the server by it, but its checkers, made before, still
		// connect to the port configured (the configuration fills connect_port with
		// it). A group's servers keep theirs.
		checked := addr
		if vs.Group != nil {
			checked = rsAddr(configured, key)
		}
		var checkedAs netip.AddrPort
		if checked != addr {
			checkedAs = checked
		}
		out.RealServers = append(out.RealServers, engine.RealServer{
			Addr:             addr,
			CheckedAs:        checkedAs,
			Weight:           rs.Weight,
			Method:           m,
			TunnelType:       rs.Forwarding.TunnelType,
			TunnelPort:       rs.Forwarding.TunnelPort,
			TunnelFlags:      rs.Forwarding.Checksum,
			UThreshold:       rs.UThreshold,
			LThreshold:       rs.LThreshold,
			InhibitOnFailure: rs.InhibitOnFailure,
			Checked:          len(rs.Checkers) > 0,
			Alpha:            rs.Alpha,
		})
		// A real server without checkers is alive all along to keepalived, which
		// still runs its notify_up at start (rs_init_notifies) and its notify_down and
		// "Removing" mail when a reload drops it. The check manager runs those, so it
		// gets such a server when it has any of them, with no checker to run.
		if len(rs.Checkers) == 0 && rs.NotifyUp == nil && rs.NotifyDown == nil && !rs.SMTPAlert {
			continue
		}
		crs := check.RealServer{
			VS:        key,
			VSName:    out.Name,
			Addr:      checked,
			Weight:    rs.Weight,
			Inhibit:   rs.InhibitOnFailure,
			Omega:     vs.Omega,
			SMTPAlert: rs.SMTPAlert,
		}
		if len(rs.Checkers) > 0 {
			crs.Feedback = feedback(vs.DynamicFeedback)
		}
		if rs.NotifyUp != nil {
			crs.NotifyUp = rs.NotifyUp.Argv
		}
		if rs.NotifyDown != nil {
			crs.NotifyDown = rs.NotifyDown.Argv
		}
		for _, c := range rs.Checkers {
			spec, err := checkSpec(c, rs, vs, ssl)
			if err != nil {
				return engine.VirtualService{}, nil, err
			}
			crs.Checkers = append(crs.Checkers, spec)
		}
		checks = append(checks, crs)
	}
	return out, checks, nil
}

// notifyName is the virtual server as keepalived's notifications show it (FMT_VS):
// "[GROUP]:0" for a virtual_server_group (keepalived prints the port of the group
// server's unset address), "FWM 7", or "[10.0.0.10]:tcp:80".
func notifyName(vs *config.VirtualServer, key table.ServiceKey) string {
	switch {
	case vs.Group != nil:
		return "[" + vs.Group.Name + "]:0"
	case key.FWMark != 0:
		return fmt.Sprintf("FWM %d", key.FWMark)
	}
	return notify.Endpoint(key.Addr.Addr().String(), key.Protocol.String(), key.Addr.Port())
}

// groupMember makes evs, the service of a virtual_server_group's member after the
// first (key first), follow the first: its real servers' health is the first member's,
// a server without a port of its own being checked at the first member's port.
func groupMember(evs *engine.VirtualService, vs *config.VirtualServer, first table.ServiceKey) {
	evs.HealthFrom = first
	for i, rs := range vs.RealServers {
		r := &evs.RealServers[i]
		r.CheckedAs = netip.AddrPort{}
		if checked := rsAddr(netip.AddrPortFrom(rs.Addr, rs.Port), first); checked != r.Addr {
			r.CheckedAs = checked
		}
	}
}

// rsAddr gives a real server without a port the service's port, as IPVS does for
// address services; fwmark services keep port 0.
func rsAddr(a netip.AddrPort, key table.ServiceKey) netip.AddrPort {
	if a.Port() == 0 && key.FWMark == 0 {
		return netip.AddrPortFrom(a.Addr(), key.Addr.Port())
	}
	return a
}

// ipvsAddr is where the table sends real server a of service key, as keepalived
// programs IPVS (ipvswrapper.c, as ipvsadm for an address service): DR and TUN forward
// to the port the client asked for, so the server takes the service's port, 0 for a
// fwmark service; a NAT server keeps its own (rsAddr).
func ipvsAddr(a netip.AddrPort, m table.Method, key table.ServiceKey) netip.AddrPort {
	if m == table.Masquerade {
		return rsAddr(a, key)
	}
	return netip.AddrPortFrom(a.Addr(), key.Addr.Port())
}

func scriptSpec(s *config.Script) *script.Spec {
	if s == nil || len(s.Argv) == 0 {
		return nil
	}
	return &script.Spec{Argv: s.Argv, User: s.User, Group: s.Group, Timeout: 30 * time.Second}
}

// checkSpec maps a checker block; its timers are already resolved by config. ssl is
// the global SSL block (nil: none), SSL_GET's client context.
func checkSpec(c *config.Checker, rs *config.RealServer, vs *config.VirtualServer, ssl *config.SSL) (check.Spec, error) {
	s := check.Spec{
		Type:        string(c.Type),
		ConnectIP:   c.ConnectIP,
		ConnectPort: c.ConnectPort,
		BindTo:      c.BindTo,
		BindPort:    c.BindPort,
		BindIf:      c.BindIf,
		FWMark:      c.FwMark,
		Timing: check.Timing{
			DelayLoop:        check.Dur(c.DelayLoop),
			ConnectTimeout:   check.Dur(c.ConnectTimeout),
			Retry:            check.Int(c.Retry),
			DelayBeforeRetry: check.Dur(c.DelayBeforeRetry),
			Warmup:           check.Dur(c.Warmup),
			Alpha:            check.Bool(c.Alpha || rs.Alpha || vs.Alpha),
		},
		Source:         where(c.Source),
		LogAllFailures: c.LogAllFailures,
	}
	switch c.Type {
	case config.HTTPGet, config.SSLGet:
		o := &check.HTTPOptions{
			Protocol:     c.HTTPProtocol,
			VirtualHost:  firstNonEmpty(c.Virtualhost, rs.Virtualhost, vs.Virtualhost),
			FastRecovery: c.FastRecovery,
			EnableSNI:    c.EnableSNI,
		}
		if ssl != nil && c.Type == config.SSLGet {
			o.CAFile = ssl.CA
			// A certificate needs its key; an encrypted key cannot be read (config
			// warned about both).
			if ssl.Certificate != "" && ssl.Key != "" && ssl.Password == "" {
				o.CertFile, o.KeyFile = ssl.Certificate, ssl.Key
			}
		}
		for _, u := range c.URLs {
			url := check.URL{
				Path:           u.Path,
				Digest:         u.Digest,
				VirtualHost:    u.Virtualhost,
				Regex:          u.Regex,
				RegexOptions:   u.RegexOptions,
				RegexNoMatch:   u.RegexNoMatch,
				RegexMinOffset: u.RegexMinOffset,
			}
			if u.IsSet("regex_max_offset") {
				url.RegexMaxOffset = u.RegexMaxOffset + 1
			}
			if u.Regex != "" {
				if err := check.ValidateRegex(u.Regex, u.RegexOptions); err != nil {
					return check.Spec{}, fmt.Errorf("%s: regex %q: %w", u.Line("regex"), u.Regex, err)
				}
			}
			for _, r := range u.StatusCodes {
				url.StatusCodes = append(url.StatusCodes, check.StatusRange{Lo: r.Lo, Hi: r.Hi})
			}
			o.URLs = append(o.URLs, url)
		}
		s.Options = o
	case config.SMTPCheck:
		s.Options = &check.SMTPOptions{HeloName: c.HeloName}
	case config.DNSCheck:
		s.Options = &check.DNSOptions{Type: c.DNSType, Name: c.Name}
	case config.MiscCheck:
		if c.MiscPath == nil {
			return s, fmt.Errorf("%s: MISC_CHECK has no misc_path", where(c.Source))
		}
		s.Options = &check.MiscOptions{
			Argv:    c.MiscPath.Argv,
			Timeout: c.MiscTimeout,
			Dynamic: c.MiscDynamic,
			User:    firstNonEmpty(c.RunAs.User, c.MiscPath.User),
			Group:   firstNonEmpty(c.RunAs.Group, c.MiscPath.Group),
		}
	case config.UDPCheck:
		o := &check.UDPOptions{Payload: c.Payload, MinReplyLength: c.MinReplyLength, MaxReplyLength: c.MaxReplyLength}
		if c.RequireReply != nil {
			o.RequireReply = true
			o.Pattern = nibblePattern(c.RequireReply)
		}
		s.Options = o
	case config.FileCheck:
		s.Options = &check.FileOptions{Path: c.TrackFile, Weight: c.Weight.Value, Reverse: c.Weight.Reverse}
	case config.BFDCheck:
		s.Options = &check.BFDOptions{Name: c.Name}
	}
	return s, nil
}

// mailConfig maps global_defs' mail settings; without a server and a recipient no mail
// is sent (config has already warned).
func mailConfig(g config.GlobalDefs) notify.Config {
	if !g.MailEnabled() {
		return notify.Config{}
	}
	return notify.Config{
		Server:         g.SMTPServer.String(),
		ConnectTimeout: g.SMTPConnectTimeout,
		From:           g.NotificationEmailFrom,
		To:             g.NotificationEmail,
		HeloName:       g.SMTPHeloName,
		RouterID:       g.RouterID,
	}
}

// feedback maps the govs dynamic_feedback block.
func feedback(f *config.DynamicFeedback) *check.Feedback {
	if f == nil {
		return nil
	}
	return &check.Feedback{
		AgentPort:     f.AgentPort,
		AgentInterval: f.AgentInterval,
		AgentTimeout:  f.AgentTimeout,
		LatencyTarget: f.LatencyTarget,
		Smoothing:     f.Smoothing,
		MinPercent:    f.MinPercent,
		MaxPercent:    f.MaxPercent,
	}
}

// nibblePattern turns config's bytes-and-mask form of require_reply into the checker's
// one-entry-per-nibble form (-1 for a wildcard nibble).
func nibblePattern(h *config.HexPattern) check.Pattern {
	p := make(check.Pattern, 0, 2*len(h.Data))
	for i, b := range h.Data {
		m := byte(0xff)
		if i < len(h.Mask) {
			m = h.Mask[i]
		}
		for _, shift := range []uint{4, 0} {
			if (m>>shift)&0x0f == 0 {
				p = append(p, -1)
			} else {
				p = append(p, int8((b>>shift)&0x0f))
			}
		}
	}
	return p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
