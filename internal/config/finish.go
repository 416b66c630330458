package config

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"
)

// finish fills computed defaults and inherited values, then checks what spans blocks:
// references, duplicates, and rules that depend on several keywords.
func finish(cfg *Config, opts *Options, d *diagSink) {
	f := &finisher{cfg: cfg, opts: opts, d: d, ifSeen: map[string]bool{}}
	f.global()
	f.mail()
	f.fifos()
	f.httpListener()
	f.ssl()
	f.scripts()
	f.bfdInstances()
	f.instances()
	f.syncDaemon()
	f.linkDelays()
	f.syncGroups()
	f.garpGroups()
	f.priorityChanges()
	for i := range cfg.StaticAddresses {
		a := &cfg.StaticAddresses[i]
		if a.Dev == "" {
			a.Dev = cfg.Global.DefaultInterface
		} else {
			f.iface(a.Dev, a.Pos)
		}
	}
	f.routesAndRules()
	f.groups()
	f.virtualServers()
	if ns := cfg.NetNamespace; ns == "." || ns == ".." || strings.Contains(ns, "/") {
		d.errorf(cfg.Line("net_namespace"), "net_namespace %q: not a namespace name (a file name in /run/netns)", ns)
	}
}

type finisher struct {
	cfg        *Config
	opts       *Options
	d          *diagSink
	ifSeen     map[string]bool
	mailWarned bool // "smtp_alert without mail" was reported
}

// bfdInstances checks the bfd_instance blocks as keepalived's parser does, and fills in
// the defaults that depend on the neighbour's family.
func (f *finisher) bfdInstances() {
	seen := map[[2]netip.Addr]Pos{}
	names := map[string]Pos{}
	for _, b := range f.cfg.BFDInstances {
		who := "bfd_instance " + b.Name
		if at, dup := names[b.Name]; dup {
			f.d.errorf(b.Pos, "%s is defined twice (first at %s)", who, at)
		}
		names[b.Name] = b.Pos
		if b.SourceIP.IsValid() && b.SourceIP.Is4() != b.Neighbor.Is4() {
			f.d.errorf(b.Line("source_ip"), "%s: source address %v and neighbour %v are not of the same family", who, b.SourceIP, b.Neighbor)
		}
		key := [2]netip.Addr{b.Neighbor, b.SourceIP}
		if at, dup := seen[key]; dup {
			f.d.errorf(b.Pos, "%s: neighbour %v (source %v) already has a session, at %s", who, b.Neighbor, b.SourceIP, at)
		}
		seen[key] = b.Pos
		if !b.IsSet("ttl") {
			b.TTL = 255
			if b.Neighbor.Is6() {
				b.TTL = 64
			}
		}
		if b.MaxHops > b.TTL {
			f.d.warnf(b.Line("max_hops"), "%s: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit (%d)", who, b.TTL)
			b.MaxHops = b.TTL
		}
		for _, k := range []struct {
			key string
			v   time.Duration
		}{{"min_rx", b.MinRx}, {"min_tx", b.MinTx}, {"idle_tx", b.IdleTx}} {
			if k.v > 10*time.Second {
				f.d.warnf(b.Line(k.key), "%s: %s %v is larger than max sensible (10000 ms)", who, k.key, k.v)
			}
		}
		if b.Multiplier > 10 {
			f.d.warnf(b.Line("multiplier"), "%s: multiplier %d is larger than max sensible (10)", who, b.Multiplier)
		}
		if !b.VRRP && !b.Checker {
			b.VRRP, b.Checker = true, true
		}
	}
}

// linkDelays settles interface_up_down_delays as keepalived does: a later line for an
// interface replaces an earlier one, and a delay long enough to hide a link change
// from the backups' down timer is shortened for each instance on the interface: to 0
// with down_timer_adverts 1, else to just under (down_timer_adverts − 1) × advert_int.
func (f *finisher) linkDelays() {
	byIf := map[string]int{}
	var out []LinkDelay
	for _, d := range f.cfg.LinkDelays {
		f.iface(d.Interface, d.Pos)
		if i, ok := byIf[d.Interface]; ok {
			f.d.warnf(d.Pos, "interface_up_down_delays: %s given again (first at %s); this line replaces it", d.Interface, out[i].Pos)
			out[i] = d
			continue
		}
		byIf[d.Interface] = len(out)
		out = append(out, d)
	}
	f.cfg.LinkDelays = out
	for _, vi := range f.cfg.Instances {
		i, ok := byIf[vi.Interface]
		if !ok {
			continue
		}
		d := &f.cfg.LinkDelays[i]
		if d.Down == 0 && d.Up == 0 {
			continue
		}
		who := "vrrp_instance " + vi.Name
		if vi.DownTimerAdverts == 1 {
			f.d.warnf(d.Pos, "%s: cannot use debounce timers with down_timer_adverts = 1 - resetting %s's delays to 0", who, d.Interface)
			d.Down, d.Up = 0, 0
			continue
		}
		limit := time.Duration(vi.DownTimerAdverts-1) * vi.AdvertInt
		if d.Down < limit && d.Up < limit {
			continue
		}
		shorter := limit - vi.AdvertInt/256
		for _, v := range []*time.Duration{&d.Down, &d.Up} {
			if *v >= limit {
				*v = shorter
			}
		}
		f.d.warnf(d.Pos, "%s: interface %s debounce timer(s) not less than %d * advert_int - resetting to %v", who, d.Interface, vi.DownTimerAdverts-1, shorter)
	}
}

// garpGroups resolves each garp_group's interfaces as keepalived does: a group with
// neither pause set is dropped, and an interface already in a group stays there.
func (f *finisher) garpGroups() {
	in := map[string]bool{}
	// A VMAC is paced with its base interface; keepalived ignores one named in a group.
	vmacs := map[string]bool{}
	for _, vi := range f.cfg.Instances {
		if vi.UseVMAC != nil {
			name := vi.UseVMAC.Name
			if name == "" {
				name = fmt.Sprintf("vrrp.%d", vi.VRID)
			}
			vmacs[name] = true
		}
	}
	kept := f.cfg.GarpGroups[:0]
	for _, g := range f.cfg.GarpGroups {
		if !g.IsSet("garp_interval") && !g.IsSet("gna_interval") {
			f.d.warnf(g.Pos, "garp_group without garp_interval or gna_interval has no effect; ignored")
			continue
		}
		type named struct {
			name string
			at   Pos
		}
		var names []named
		if g.Interface != "" {
			names = append(names, named{g.Interface, g.Line("interface")})
		}
		for _, name := range g.Interfaces {
			names = append(names, named{name, g.Line("interfaces")})
		}
		for _, n := range names {
			name, at := n.name, n.at
			if in[name] {
				f.d.warnf(at, "garp_group: interface %s is already in an earlier garp_group; ignored here", name)
				continue
			}
			if vmacs[name] {
				f.d.warnf(at, "garp_group: %s is a VMAC, which is paced with its base interface: cannot specify garp_delay on a vmac - ignoring", name)
				continue
			}
			in[name] = true
			f.iface(name, at)
			g.Members = append(g.Members, name)
		}
		if len(g.Members) == 0 {
			f.d.warnf(g.Pos, "garp_group names no interface; ignored")
			continue
		}
		kept = append(kept, g)
	}
	f.cfg.GarpGroups = kept
}

// iface reports, once per name, an interface this host does not have.
func (f *finisher) iface(name string, at Pos) {
	if name == "" || f.opts.InterfaceExists == nil || f.ifSeen[name] {
		return
	}
	f.ifSeen[name] = true
	if !f.opts.InterfaceExists(name) {
		f.d.warnf(at, "interface %q does not exist on this host", name)
	}
}

// inherit copies a value from the first enclosing block that set key, recording
// that block's line, unless own already set it. It reports whether a value was found.
func inherit[T any](dst *T, own *Source, key string, parents ...parent[T]) bool {
	if own.IsSet(key) {
		return true
	}
	for _, p := range parents {
		if p.set {
			*dst = p.v
			own.mark(key, p.at)
			return true
		}
	}
	return false
}

// parent is an enclosing block's value of a keyword and where it set it, if it did.
type parent[T any] struct {
	v   T
	at  Pos
	set bool
}

// from reads the enclosing block's keyword once; a loop over the block's children
// makes it once for all of them.
func from[T any](v T, src *Source, key string) parent[T] {
	at, set := src.Lines[key]
	return parent[T]{v, at, set}
}

func (f *finisher) global() {
	g := &f.cfg.Global
	if g.MinGarp {
		at := g.Line("vrrp_min_garp")
		minGarp(&g.GarpMasterDelay, &g.Source, "vrrp_garp_master_delay", garpMasterDelay, 0, at)
		minGarp(&g.GarpMasterRepeat, &g.Source, "vrrp_garp_master_repeat", garpMasterRepeat, 1, at)
		minGarp(&g.GarpMasterRefresh, &g.Source, "vrrp_garp_master_refresh", 0, 0, at)
		minGarp(&g.GarpRefreshRepeat, &g.Source, "vrrp_garp_master_refresh_repeat", garpRefreshRepeat, 0, at)
	}
	inherit(&g.GarpLowerPrioDelay, &g.Source, "vrrp_garp_lower_prio_delay", from(g.GarpMasterDelay, &g.Source, "vrrp_garp_master_delay"))
	if !g.IsSet("vrrp_garp_lower_prio_delay") {
		g.GarpLowerPrioDelay = g.GarpMasterDelay
	}
	inherit(&g.GarpLowerPrioRepeat, &g.Source, "vrrp_garp_lower_prio_repeat", from(g.GarpMasterRepeat, &g.Source, "vrrp_garp_master_repeat"))
	if !g.IsSet("vrrp_garp_lower_prio_repeat") {
		g.GarpLowerPrioRepeat = g.GarpMasterRepeat
	}
	for _, k := range []string{"vrrp_garp_interval", "vrrp_gna_interval"} {
		v := g.GarpInterval
		if k == "vrrp_gna_interval" {
			v = g.GnaInterval
		}
		if g.IsSet(k) && v == 0 {
			f.d.warnf(g.Line(k), "%s 0: keepalived 2.2.7 rejects 0 (range 0.000001..4294.967295); govs treats it as no delay", k)
		}
	}
	// The kernel keeps 15 bytes of a process name (TASK_COMM_LEN 16).
	if n := g.ProcessName; len(n) > 15 {
		f.d.warnf(g.Line("process_name"), "Process name %s more than 15 characters, truncating", n)
		g.ProcessName = n[:15]
	}
	f.nftables()
}

// syncDaemon settles lvs_sync_daemon as keepalived: an instance's deprecated
// lvs_sync_daemon_interface stands for it unless it is set, and its id defaults to the
// virtual_router_id of the instance it names.
func (f *finisher) syncDaemon() {
	g := &f.cfg.Global
	for _, vi := range f.cfg.Instances {
		if vi.LVSSyncDaemonInterface == "" {
			continue
		}
		at := vi.Line("lvs_sync_daemon_interface")
		f.d.warnf(at, "(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon", vi.Name)
		if g.LVSSyncDaemon != nil {
			f.d.warnf(at, "(%s) lvs_sync_daemon_interface has already been specified as %s - ignoring", vi.Name, g.LVSSyncDaemon.Interface)
			continue
		}
		g.LVSSyncDaemon = &SyncDaemon{Interface: vi.LVSSyncDaemonInterface, Instance: vi.Name, Port: 8848, TTL: 1, Group: netip.MustParseAddr("224.0.0.81")}
		g.mark("lvs_sync_daemon", at)
	}
	sd := g.LVSSyncDaemon
	if sd == nil {
		return
	}
	f.iface(sd.Interface, g.Line("lvs_sync_daemon"))
	if sd.Instance == "" {
		return
	}
	for _, vi := range f.cfg.Instances {
		if vi.Name == sd.Instance {
			if !sd.SyncIDSet {
				sd.SyncID = vi.VRID
			}
			return
		}
	}
	f.d.warnf(g.Line("lvs_sync_daemon"), "Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config", sd.Instance)
	g.LVSSyncDaemon = nil
}

// nftables settles the firewall table the way keepalived 2.2.7 built with nftables
// only (Debian's) reads its keywords, in line order: vrrp_iptables means the table
// "keepalived"; a second table keyword is ignored; each table keyword that takes effect
// resets nftables_priority to -1.
func (f *finisher) nftables() {
	g := &f.cfg.Global
	iptables, nftables := g.IsSet("vrrp_iptables"), g.IsSet("nftables")
	var reset Pos // the table keyword that took effect
	switch {
	case iptables:
		reset = g.Line("vrrp_iptables")
		f.d.warnf(reset, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")
		if nftables && reset.before(g.Line("nftables")) {
			f.d.warnf(g.Line("nftables"), "nftables already specified (vrrp_iptables at %s) - ignoring", reset)
		}
		g.NFTables = "keepalived"
	case nftables:
		reset = g.Line("nftables")
		if g.NFTables == "" {
			g.NFTables = "keepalived"
		}
		if len(g.NFTables) >= nftTableMaxNameLen {
			f.d.errorf(reset, "nftables table name too long (%d bytes, at most %d)", len(g.NFTables), nftTableMaxNameLen-1)
		}
	}
	if g.IsSet("nftables_priority") && reset.IsValid() && g.Line("nftables_priority").before(reset) {
		f.d.warnf(g.Line("nftables_priority"), "nftables_priority is reset to -1 by the table keyword at %s, as keepalived does; put it after that line", reset)
		g.NFTablesPriority = -1
	}
	if !g.IsSet("nftables_ipvs") {
		return
	}
	at := g.Line("nftables_ipvs")
	if g.NFTablesIPVS == "" {
		g.NFTablesIPVS = "keepalived_ipvs"
	}
	if len(g.NFTablesIPVS) >= nftTableMaxNameLen {
		f.d.errorf(at, "nftables_ipvs table name too long (%d bytes, at most %d)", len(g.NFTablesIPVS), nftTableMaxNameLen-1)
	}
	for _, k := range []struct {
		name  string
		value *int
		dflt  int
	}{{"nftables_ipvs_priority", &g.NFTablesIPVSPriority, -1}, {"nftables_ipvs_start_fwmark", &g.NFTablesIPVSStartFwmark, 1000}} {
		if g.IsSet(k.name) && g.Line(k.name).before(at) {
			f.d.warnf(g.Line(k.name), "%s is reset to %d by nftables_ipvs at %s, as keepalived does; put it after that line", k.name, k.dflt, at)
			*k.value = k.dflt
		}
	}
}

// nftTableMaxNameLen is the kernel's NFT_TABLE_MAXNAMELEN, with the terminating NUL.
const nftTableMaxNameLen = 256

// keepalived's defaults of the global GARP settings (VRRP_GARP_DELAY, VRRP_GARP_REP,
// VRRP_GARP_REFRESH_REP), which vrrp_min_garp compares with.
const (
	garpMasterDelay   = 5 * time.Second
	garpMasterRepeat  = 5
	garpRefreshRepeat = 1
)

// minGarp applies vrrp_min_garp to one setting the way keepalived's handler does when
// it reads the line at: a setting still at its default then becomes min. So the same
// keyword on a later line wins, and one on an earlier line wins unless it wrote the
// default. The setting is marked as set by the vrrp_min_garp line.
func minGarp[T comparable](dst *T, src *Source, key string, dflt, min T, at Pos) {
	if src.IsSet(key) && (at.before(src.Line(key)) || *dst != dflt) {
		return
	}
	*dst = min
	src.mark(key, at)
}

func (f *finisher) scripts() {
	seen := map[string]Pos{}
	for _, s := range f.cfg.Scripts {
		if p, dup := seen[s.Name]; dup {
			f.d.errorf(s.Pos, "vrrp_script %s is already defined at %s", s.Name, p)
		}
		seen[s.Name] = s.Pos
		if s.Script == nil {
			f.d.warnf(s.Pos, "vrrp_script %s has no script; keepalived removes it, and it never fails", s.Name)
		}
		if !s.IsSet("timeout") {
			s.Timeout = s.Interval
		}
		if !s.IsSet("user") {
			s.RunAs = f.cfg.Global.ScriptUser
		}
	}
	seen = map[string]Pos{}
	for _, t := range f.cfg.TrackFiles {
		if p, dup := seen[t.Name]; dup {
			f.d.errorf(t.Pos, "track_file %s is already defined at %s", t.Name, p)
		}
		seen[t.Name] = t.Pos
	}
	seen = map[string]Pos{}
	for _, t := range f.cfg.TrackProcesses {
		if p, dup := seen[t.Name]; dup {
			f.d.errorf(t.Pos, "vrrp_track_process %s is already defined at %s", t.Name, p)
		}
		seen[t.Name] = t.Pos
		f.trackProcess(t)
	}
}

// commLen is the longest process name the kernel keeps (TASK_COMM_LEN less the NUL).
const commLen = 15

// trackProcess fills the defaults of a vrrp_track_process that depend on other
// keywords, as keepalived 2.2.7's handlers do, and checks quorum against quorum_max.
func (f *finisher) trackProcess(t *TrackProcess) {
	who := "vrrp_track_process " + t.Name
	if len(t.Process) > 1 || t.ParamMatch != "" {
		// Parameters can only be seen on the command line.
		t.FullCommand = true
	}
	if len(t.Process) > 1 && t.ParamMatch == "" {
		t.ParamMatch = "exact"
	}
	if t.IsSet("delay") {
		// keepalived applies the lines in order: the later of delay and
		// terminate_delay (fork_delay) wins.
		for key, dst := range map[string]*time.Duration{"terminate_delay": &t.TerminateDelay, "fork_delay": &t.ForkDelay} {
			if !t.IsSet(key) || t.Line(key).before(t.Line("delay")) {
				*dst = t.Delay
			}
		}
	}
	if !t.IsSet("quorum_max") {
		t.QuorumMax = -1
	} else if t.QuorumMax == 0 && !t.IsSet("quorum") {
		t.Quorum = 0 // quorum_max 0 alone: up while no process runs
	} else if t.QuorumMax < t.Quorum {
		f.d.errorf(t.Line("quorum_max"), "%s: quorum_max %d is less than quorum %d", who, t.QuorumMax, t.Quorum)
	}
	if len(t.Process) > 0 && !t.FullCommand && len(t.Process[0]) > commLen {
		f.d.warnf(t.Line("process"), "%s: process name %q is longer than the kernel's %d-character process name, so it never matches and the block is always down, as in keepalived; use full_command to match the command line", who, t.Process[0], commLen)
	}
}

// resolveTracked drops duplicate track_script / track_file / track_process / track_bfd
// entries and fills the weights and reverse of the others from the objects they name
// where they give none; an undefined name is an error, one defined later a warning
// (keepalived drops forward references).
func (f *finisher) resolveTracked(list *[]TrackedObject, owner, what string) {
	entries := f.uniqueTracked(*list, owner, trackKeywords[what])
	*list = entries
	for i := range entries {
		e := &entries[i]
		var defPos Pos
		var w Weight
		found := false
		switch what {
		case "vrrp_script":
			for _, s := range f.cfg.Scripts {
				if s.Name == e.Name {
					defPos, w, found = s.Pos, s.Weight, true
					break
				}
			}
		case "vrrp_track_process":
			for _, t := range f.cfg.TrackProcesses {
				if t.Name == e.Name {
					defPos, w, found = t.Pos, t.Weight, true
					break
				}
			}
		case "bfd_instance":
			for _, b := range f.cfg.BFDInstances {
				if b.Name == e.Name {
					defPos, w, found = b.Pos, b.Weight, true
					if !b.VRRP {
						f.d.errorf(e.Pos, "%s tracks bfd_instance %q, which only checkers get (checker without vrrp)", owner, e.Name)
					}
					break
				}
			}
		default:
			for _, t := range f.cfg.TrackFiles {
				if t.Name == e.Name {
					defPos, w, found = t.Pos, t.Weight, true
					break
				}
			}
		}
		if !found {
			f.d.errorf(e.Pos, "%s tracks %s %q, which is not defined", owner, what, e.Name)
			continue
		}
		if defPos.File == e.Pos.File && e.Pos.before(defPos) {
			f.d.warnf(e.Pos, "%s %q is defined after its use (at line %d); keepalived 2.2 ignores such forward references", what, e.Name, defPos.Line)
		}
		if !e.WeightSet {
			e.Weight = w.Value
		}
		if !e.ReverseSet {
			e.Reverse = w.Reverse
		}
	}
}

// trackKeywords are the keywords that track each kind of object resolveTracked
// resolves.
var trackKeywords = map[string]string{"vrrp_script": "track_script", "track_file": "track_file", "vrrp_track_process": "track_process", "bfd_instance": "track_bfd"}

// uniqueTracked drops an entry naming an object tracked already, with keepalived's
// warning: the first entry's weight counts.
func (f *finisher) uniqueTracked(entries []TrackedObject, owner, keyword string) []TrackedObject {
	seen := map[string]bool{}
	return slices.DeleteFunc(entries, func(e TrackedObject) bool {
		if seen[e.Name] {
			f.d.warnf(e.Pos, "(%s) duplicate %s %s - ignoring", owner, keyword, e.Name)
			return true
		}
		seen[e.Name] = true
		return false
	})
}

func (f *finisher) instances() {
	g := &f.cfg.Global
	names := map[string]Pos{}
	type vridKey struct {
		iface  string
		family string
		vrid   int
	}
	vrids := map[vridKey]*Instance{}
	vips := map[netip.Addr]*Instance{}
	for _, vi := range f.cfg.Instances {
		if p, dup := names[vi.Name]; dup {
			f.d.errorf(vi.Pos, "vrrp_instance %s is already defined at %s", vi.Name, p)
		}
		names[vi.Name] = vi.Pos
		who := "vrrp_instance " + vi.Name

		if !vi.IsSet("priority") {
			vi.Priority = 100
			if vi.State == StateMaster {
				vi.Priority = 255
			}
		}
		if !vi.IsSet("state") {
			vi.State = StateBackup
			if vi.Priority == 255 {
				vi.State = StateMaster
			}
		}
		if vi.Interface == "" && len(vi.UnicastPeers) == 0 {
			f.d.errorf(vi.Pos, "%s has no interface (required unless unicast_peer and unicast_src_ip are given)", who)
		}
		f.iface(vi.Interface, vi.Line("interface"))

		// Address family, from the VIPs.
		vi.Family = "inet"
		for i, a := range vi.VirtualIPs {
			fam := family(a.Prefix.Addr())
			if i == 0 {
				vi.Family = fam
			} else if fam != vi.Family {
				f.d.errorf(a.Pos, "%s: virtual_ipaddress %s is %s but the first one is %s; use virtual_ipaddress_excluded to mix families", who, a.Prefix.Addr(), fam, vi.Family)
			}
		}
		if !vi.IsSet("version") {
			vi.Version = g.VRRPVersion
			if vi.Family == "inet6" {
				vi.Version = 3
			}
		} else if vi.Version == 2 && vi.Family == "inet6" {
			f.d.errorf(vi.Line("version"), "%s: VRRP version 2 does not support IPv6 addresses", who)
		}
		f.advertInt(vi, who)

		// Defaults taken from global_defs.
		inherit(&vi.GarpMasterDelay, &vi.Source, "garp_master_delay", from(g.GarpMasterDelay, &g.Source, "vrrp_garp_master_delay"))
		fillUnset(&vi.GarpMasterDelay, &vi.Source, "garp_master_delay", g.GarpMasterDelay)
		inherit(&vi.GarpMasterRepeat, &vi.Source, "garp_master_repeat", from(g.GarpMasterRepeat, &g.Source, "vrrp_garp_master_repeat"))
		fillUnset(&vi.GarpMasterRepeat, &vi.Source, "garp_master_repeat", g.GarpMasterRepeat)
		inherit(&vi.GarpMasterRefresh, &vi.Source, "garp_master_refresh", from(g.GarpMasterRefresh, &g.Source, "vrrp_garp_master_refresh"))
		inherit(&vi.GarpRefreshRepeat, &vi.Source, "garp_master_refresh_repeat", from(g.GarpRefreshRepeat, &g.Source, "vrrp_garp_master_refresh_repeat"))
		fillUnset(&vi.GarpRefreshRepeat, &vi.Source, "garp_master_refresh_repeat", g.GarpRefreshRepeat)
		inherit(&vi.GarpExtraIf, &vi.Source, "garp_extra_if", from(g.GarpExtraIf, &g.Source, "vrrp_garp_extra_if"))
		inherit(&vi.GarpLowerPrioDelay, &vi.Source, "garp_lower_prio_delay", from(g.GarpLowerPrioDelay, &g.Source, "vrrp_garp_lower_prio_delay"))
		// keepalived takes an unset lower-priority GARP setting from the global one,
		// which itself defaults to the global master GARP setting, never from the
		// instance's own garp_master_* (vrrp_complete_init, vrrp_complete_instance).
		fillUnset(&vi.GarpLowerPrioDelay, &vi.Source, "garp_lower_prio_delay", g.GarpLowerPrioDelay)
		inherit(&vi.GarpLowerPrioRepeat, &vi.Source, "garp_lower_prio_repeat", from(g.GarpLowerPrioRepeat, &g.Source, "vrrp_garp_lower_prio_repeat"))
		fillUnset(&vi.GarpLowerPrioRepeat, &vi.Source, "garp_lower_prio_repeat", g.GarpLowerPrioRepeat)
		inherit(&vi.DownTimerAdverts, &vi.Source, "down_timer_adverts", from(g.DownTimerAdverts, &g.Source, "vrrp_down_timer_adverts"))
		fillUnset(&vi.DownTimerAdverts, &vi.Source, "down_timer_adverts", g.DownTimerAdverts)
		inherit(&vi.LowerPrioNoAdvert, &vi.Source, "lower_prio_no_advert", from(g.LowerPrioNoAdvert, &g.Source, "vrrp_lower_prio_no_advert"))
		inherit(&vi.SkipCheckAdvAddr, &vi.Source, "skip_check_adv_addr", from(g.SkipCheckAdvAddr, &g.Source, "vrrp_skip_check_adv_addr"))
		inherit(&vi.Strict, &vi.Source, "strict_mode", from(g.Strict, &g.Source, "vrrp_strict"))
		if len(vi.UnicastPeers) == 0 && !vi.UnicastFaultNoPeer && (vi.IsSet("unicast_peer") || vi.IsSet("check_unicast_src") || vi.IsSet("old_unicast_checksum")) {
			f.d.warnf(vi.Pos, "%s: a unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - set unicast_fault_no_peer to go to FAULT instead", who)
		}
		if vi.IsSet("unicast_ttl") && len(vi.UnicastPeers) == 0 {
			f.d.warnf(vi.Line("unicast_ttl"), "%s: cannot use unicast_ttl without unicast peers - resetting", who)
			vi.UnicastTTL = 255
		}
		if vi.Strict && vi.IsSet("higher_prio_send_advert") && vi.HigherPrioSendAdvert {
			f.d.warnf(vi.Line("higher_prio_send_advert"), "%s: strict mode requires higher_prio_send_advert to be false - resetting", who)
			vi.HigherPrioSendAdvert = false
		} else if !vi.Strict {
			inherit(&vi.HigherPrioSendAdvert, &vi.Source, "higher_prio_send_advert", from(g.HigherPrioSendAdvert, &g.Source, "vrrp_higher_prio_send_advert"))
		}
		inherit(&vi.CheckUnicastSrc, &vi.Source, "check_unicast_src", from(g.CheckUnicastSrc, &g.Source, "vrrp_check_unicast_src"))
		if !vi.IsSet("mcast_dst_ip") {
			vi.McastDstIP = g.McastGroup4
			if vi.Family == "inet6" {
				vi.McastDstIP = g.McastGroup6
			}
		}
		if !vi.IsSet("accept") && !vi.IsSet("no_accept") {
			vi.Accept = !(vi.Strict && vi.Priority < 255)
		}
		if vi.Accept && vi.Strict && vi.Priority < 255 && vi.Version == 2 {
			f.d.warnf(vi.Line("accept"), "%s: accept mode for VRRP version 2 does not comply with RFC3768 - resetting (strict mode)", who)
			vi.Accept = false
		}
		if vi.Nopreempt && (vi.State == StateMaster || vi.Priority == 255) {
			f.d.warnf(vi.Line("nopreempt"), "%s: nopreempt has no effect with state MASTER or priority 255", who)
			vi.Nopreempt = false
		}
		if vi.Strict {
			f.strictLowerPrioGarp(vi, who)
			if vi.State == StateMaster && vi.Priority < 255 {
				f.d.warnf(vi.Line("state"), "%s: strict mode: state MASTER needs priority 255 (the address owner)", who)
			}
			if len(vi.VirtualIPs) == 0 {
				f.d.errorf(vi.Pos, "%s: strict mode needs at least one virtual_ipaddress", who)
			}
		}
		f.auth(vi, who)
		f.smtpAlert(&vi.SMTPAlert, &vi.Source, "smtp_alert_vrrp", false)
		if vi.UseVMAC != nil && vi.UseVMAC.Name != "" && vi.UseVMAC.Name == vi.Interface {
			f.d.errorf(vi.Line("use_vmac"), "%s: use_vmac %s: the VMAC cannot be the interface itself", who, vi.Interface)
		}
		if vi.UseVMAC != nil && vi.UseVMAC.MAC != "" {
			if vi.Strict {
				f.d.warnf(vi.Line("use_vmac"), "%s: cannot specify MAC address with strict mode - clearing", who)
				vi.UseVMAC.MAC, vi.UseVMAC.MACUsesVRID = "", false
			} else if vi.UseVMAC.MACUsesVRID {
				vi.UseVMAC.MAC = vi.UseVMAC.MAC[:len("xx:xx:xx:xx:xx:")] + fmt.Sprintf("%02x", vi.VRID)
			}
		}
		if vi.VMACXmitBase && vi.UseVMAC == nil {
			f.d.warnf(vi.Line("vmac_xmit_base"), "%s: vmac_xmit_base without use_vmac has no effect", who)
			vi.VMACXmitBase = false
		}

		for i := range vi.VirtualIPs {
			a := &vi.VirtualIPs[i]
			if other, dup := vips[a.Prefix.Addr()]; dup && other != vi {
				f.d.errorf(a.Pos, "%s: virtual address %s is also in vrrp_instance %s (at %s)", who, a.Prefix.Addr(), other.Name, other.Pos)
			} else if dup {
				f.d.warnf(a.Pos, "%s: virtual address %s is listed twice", who, a.Prefix.Addr())
			}
			vips[a.Prefix.Addr()] = vi
		}
		for _, list := range [][]IPAddress{vi.VirtualIPs, vi.ExcludedIPs} {
			for i := range list {
				if list[i].Dev == "" {
					// With use_vmac an address without dev goes on the VMAC, which the
					// VRRP side names (empty Dev); without, on the instance's interface.
					if vi.UseVMAC == nil {
						list[i].Dev = vi.Interface
					}
				} else {
					f.iface(list[i].Dev, list[i].Pos)
				}
			}
		}
		vi.TrackInterfaces = f.uniqueTracked(vi.TrackInterfaces, who, "track_interface")
		for _, t := range vi.TrackInterfaces {
			f.iface(t.Name, t.Pos)
		}
		f.resolveTracked(&vi.TrackScripts, who, "vrrp_script")
		f.resolveTracked(&vi.TrackFiles, who, "track_file")
		f.resolveTracked(&vi.TrackProcesses, who, "vrrp_track_process")
		f.resolveTracked(&vi.TrackBFDs, who, "bfd_instance")
		for _, p := range vi.UnicastPeers {
			if family(p.Addr) != vi.Family && len(vi.VirtualIPs) > 0 {
				f.d.errorf(p.Pos, "%s: unicast_peer %s is not %s like the virtual addresses", who, p.Addr, vi.Family)
			}
		}
		key := vridKey{vi.Interface, vi.Family, vi.VRID}
		if other, dup := vrids[key]; dup && vi.Interface != "" {
			f.d.errorf(vi.Line("virtual_router_id"), "%s: virtual_router_id %d on %s is also used by vrrp_instance %s (at %s)", who, vi.VRID, vi.Interface, other.Name, other.Pos)
		}
		vrids[key] = vi
	}
}

// strictLowerPrioGarp: strict mode sends no GARPs in answer to a lower-priority
// advert. keepalived zeroes an inherited setting silently, and an instance's own
// non-zero one with a configuration error after which it runs on (a warning here, as
// govs's errors refuse the file).
func (f *finisher) strictLowerPrioGarp(vi *Instance, who string) {
	g := &f.cfg.Global
	// An inherited setting is marked with the global keyword's line.
	own := func(key, globalKey string) bool {
		return vi.IsSet(key) && (!g.IsSet(globalKey) || vi.Line(key) != g.Line(globalKey))
	}
	if own("garp_lower_prio_repeat", "vrrp_garp_lower_prio_repeat") && vi.GarpLowerPrioRepeat != 0 {
		f.d.warnf(vi.Line("garp_lower_prio_repeat"), "%s: strict mode requires no repeat GARPs; garp_lower_prio_repeat reset to 0", who)
	}
	if own("garp_lower_prio_delay", "vrrp_garp_lower_prio_delay") && vi.GarpLowerPrioDelay != 0 {
		f.d.warnf(vi.Line("garp_lower_prio_delay"), "%s: strict mode requires no repeat GARP delay; garp_lower_prio_delay reset to 0", who)
	}
	vi.GarpLowerPrioRepeat, vi.GarpLowerPrioDelay = 0, 0
}

func fillUnset[T any](dst *T, own *Source, key string, v T) {
	if !own.IsSet(key) {
		*dst = v
	}
}

// advertInt checks advert_int against what the VRRP version can carry: whole seconds
// 1..255 for v2, centiseconds up to 40.95 s for v3.
func (f *finisher) advertInt(vi *Instance, who string) {
	at := vi.Line("advert_int")
	switch vi.Version {
	case 2:
		if vi.AdvertInt < time.Second {
			f.d.errorf(at, "%s: advert_int %s is below 1 second, the least VRRPv2 can advertise", who, fmtSeconds(vi.AdvertInt))
		} else if vi.AdvertInt%time.Second != 0 {
			r := vi.AdvertInt.Round(time.Second)
			f.d.warnf(at, "%s: VRRPv2 advertises whole seconds; advert_int %s is rounded to %s", who, fmtSeconds(vi.AdvertInt), fmtSeconds(r))
			vi.AdvertInt = r
		}
	case 3:
		if vi.AdvertInt > 4095*10*time.Millisecond {
			f.d.errorf(at, "%s: advert_int %s is above 40.95 seconds, the most VRRPv3 can advertise", who, fmtSeconds(vi.AdvertInt))
		} else if vi.AdvertInt%(10*time.Millisecond) != 0 {
			r := vi.AdvertInt.Round(10 * time.Millisecond)
			f.d.warnf(at, "%s: VRRPv3 advertises centiseconds; advert_int %s is rounded to %s", who, fmtSeconds(vi.AdvertInt), fmtSeconds(r))
			vi.AdvertInt = r
		}
	}
}

func (f *finisher) auth(vi *Instance, who string) {
	a := vi.Auth
	if a == nil {
		return
	}
	switch {
	case vi.Version == 3:
		f.d.warnf(a.Pos, "%s: VRRPv3 has no authentication; the authentication block is ignored", who)
	case vi.Strict:
		f.d.warnf(a.Pos, "%s: strict mode does not allow authentication; it is ignored", who)
	}
	if a.Type == "PASS" && !a.IsSet("auth_pass") {
		f.d.errorf(a.Pos, "%s: auth_type PASS needs an auth_pass", who)
	}
	if len(a.Pass) > 8 {
		f.d.warnf(a.Line("auth_pass"), "%s: only the first 8 characters of auth_pass are used", who)
		a.Pass = a.Pass[:8]
	}
	if a.Type == "AH" {
		if vi.Family == "inet6" {
			f.d.errorf(a.Line("auth_type"), "%s: AH authentication is not available with IPv6", who)
		}
		if vi.State == StateMaster && vi.Priority < 255 {
			f.d.warnf(vi.Line("state"), "%s: initial state MASTER is incompatible with AH authentication; starting as BACKUP", who)
			vi.State = StateBackup
		}
	}
}

func (f *finisher) syncGroups() {
	byName := map[string]*Instance{}
	for _, vi := range f.cfg.Instances {
		byName[vi.Name] = vi
	}
	names := map[string]Pos{}
	for _, sg := range f.cfg.SyncGroups {
		who := "vrrp_sync_group " + sg.Name
		if p, dup := names[sg.Name]; dup {
			f.d.errorf(sg.Pos, "%s is already defined at %s", who, p)
		}
		names[sg.Name] = sg.Pos
		for _, m := range sg.Members {
			vi := byName[m]
			switch {
			case vi == nil:
				f.d.errorf(sg.Line("group"), "%s: member %q is not a vrrp_instance", who, m)
			case vi.SyncGroup != nil:
				f.d.errorf(sg.Line("group"), "%s: vrrp_instance %s is already in vrrp_sync_group %s", who, m, vi.SyncGroup.Name)
			default:
				vi.SyncGroup = sg
				sg.Instances = append(sg.Instances, vi)
			}
		}
		if len(sg.Members) == 1 {
			f.d.warnf(sg.Pos, "%s has only one member", who)
		}
		f.resolveTracked(&sg.TrackScripts, who, "vrrp_script")
		f.resolveTracked(&sg.TrackFiles, who, "track_file")
		f.resolveTracked(&sg.TrackProcesses, who, "vrrp_track_process")
		f.resolveTracked(&sg.TrackBFDs, who, "bfd_instance")
		f.smtpAlert(&sg.SMTPAlert, &sg.Source, "smtp_alert_vrrp", false)
		sg.TrackInterfaces = f.uniqueTracked(sg.TrackInterfaces, who, "track_interface")
		for _, t := range sg.TrackInterfaces {
			f.iface(t.Name, t.Pos)
		}
	}
}

// priorityChanges resolves each instance's notify_priority_changes: its own, else its
// sync group's, else global vrrp_notify_priority_changes, as keepalived fills an unset
// (-1) value.
func (f *finisher) priorityChanges() {
	g := &f.cfg.Global
	global := from(g.VRRPNotifyPriorityChanges, &g.Source, "vrrp_notify_priority_changes")
	for _, vi := range f.cfg.Instances {
		parents := []parent[bool]{global}
		if sg := vi.SyncGroup; sg != nil {
			parents = []parent[bool]{from(sg.NotifyPriorityChanges, &sg.Source, "notify_priority_changes"), global}
		}
		inherit(&vi.NotifyPriorityChanges, &vi.Source, "notify_priority_changes", parents...)
	}
}

// groups expands virtual_server_group ranges into the resolved address list.
func (f *finisher) groups() {
	names := map[string]Pos{}
	total := 0
	for _, g := range f.cfg.VirtualServerGroups {
		if p, dup := names[g.Name]; dup {
			f.d.errorf(g.Pos, "virtual_server_group %s is already defined at %s", g.Name, p)
		}
		names[g.Name] = g.Pos
		seen := map[netip.AddrPort]bool{}
		for _, e := range g.Entries {
			if e.FwMark != 0 {
				g.FwMarks = append(g.FwMarks, e.FwMark)
				continue
			}
			for a := e.First; ; a = a.Next() {
				ap := netip.AddrPortFrom(a, e.Port)
				if seen[ap] {
					f.d.warnf(e.Pos, "virtual_server_group %s: %s is listed twice", g.Name, ap)
				}
				seen[ap] = true
				g.Addresses = append(g.Addresses, ap)
				total++
				if a == e.Last || total > 1<<20 {
					break
				}
			}
			if total > 1<<20 {
				f.d.errorf(e.Pos, "virtual_server_group ranges expand to more than %d addresses", 1<<20)
				return
			}
		}
	}
}

func (f *finisher) virtualServers() {
	groups := map[string]*VirtualServerGroup{}
	for _, g := range f.cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	type vsKey struct {
		addr  netip.Addr
		port  uint16
		proto string
		mark  uint32
		group string
	}
	seen := map[vsKey]*VirtualServer{}
	for _, vs := range f.cfg.VirtualServers {
		who := "virtual_server " + vsName(vs)
		byAddress := vs.Addr.IsValid()
		if vs.GroupName != "" {
			vs.Group = groups[vs.GroupName]
			if vs.Group == nil {
				f.d.errorf(vs.Pos, "%s: virtual_server_group %q is not defined", who, vs.GroupName)
			} else {
				byAddress = len(vs.Group.Addresses) > 0
			}
		}
		if byAddress && !vs.IsSet("protocol") {
			f.d.warnf(vs.Pos, "%s: no protocol set; defaulting to UDP as keepalived does (add protocol TCP for TCP services)", who)
			vs.Protocol = "UDP"
		}
		if !byAddress && vs.IsSet("protocol") && (vs.FwMark != 0 || vs.Group != nil && len(vs.Group.FwMarks) > 0) {
			f.d.warnf(vs.Line("protocol"), "%s: protocol is ignored for a firewall-mark service", who)
			vs.Protocol = ""
		}
		k := vsKey{vs.Addr, vs.Port, vs.Protocol, vs.FwMark, vs.GroupName}
		if other, dup := seen[k]; dup {
			f.d.errorf(vs.Pos, "%s is already defined at %s", who, other.Pos)
		}
		seen[k] = vs
		if !vs.IsSet("lb_algo") {
			f.d.warnf(vs.Pos, "%s: no lb_algo set; defaulting to wlc", who)
			vs.Scheduler = "wlc"
		}
		if !vs.IsSet("lb_kind") {
			vs.Forwarding = Forwarding{Method: "NAT"}
			if len(vs.RealServers) > 0 {
				f.d.warnf(vs.Pos, "%s: no lb_kind set; defaulting to NAT", who)
			}
		}
		if !vs.IsSet("sorry_server_lvs_method") {
			vs.SorryForwarding = vs.Forwarding
		}
		if vs.SorryServer != nil && vs.SorryServer.Port() == 0 && vs.Port != 0 {
			*vs.SorryServer = netip.AddrPortFrom(vs.SorryServer.Addr(), vs.Port)
		}
		if s := vs.SorryServer; s != nil && vs.KeptAddr(*s, vs.SorryForwarding) != *s {
			f.d.warnf(vs.Line("sorry_server"), "%s: sorry_server %s is not on the service's port; IPVS gets port %d for a %s server, as keepalived", who, s, vs.Port, vs.SorryForwarding.Method)
		}
		if vs.OnePacket && byAddress && vs.Protocol != "UDP" {
			f.d.errorf(vs.Line("ops"), "%s: ops (one-packet scheduling) needs protocol UDP", who)
		}
		if vs.Addr.IsValid() && vs.Port == 0 && vs.Persistence == 0 {
			f.d.warnf(vs.Pos, "%s: port 0 is only valid for persistent services; persistence_timeout set to 360", who)
			vs.Persistence = 360 * time.Second
		}
		if vs.HASuspend && !byAddress {
			f.d.warnf(vs.Line("ha_suspend"), "%s: ha_suspend cannot be used with firewall marks; ignored", who)
			vs.HASuspend = false
		}
		if !vs.IsSet("warmup") {
			vs.Warmup = vs.DelayLoop
		}
		if !vs.IsSet("real_server") {
			f.d.warnf(vs.Pos, "%s has no real_server; keepalived ignores it", who)
		}
		f.smtpAlert(&vs.SMTPAlert, &vs.Source, "smtp_alert_checker", false)
		f.proxyProtocol(vs, who, byAddress)
		f.feedback(vs, who)
		f.realServers(vs, who)
	}
}

func vsName(vs *VirtualServer) string {
	switch {
	case vs.FwMark != 0:
		return fmt.Sprintf("fwmark %d", vs.FwMark)
	case vs.GroupName != "":
		return "group " + vs.GroupName
	case vs.Addr.Is6():
		return fmt.Sprintf("[%s]:%d", vs.Addr, vs.Port)
	}
	return fmt.Sprintf("%s:%d", vs.Addr, vs.Port)
}

func (f *finisher) realServers(vs *VirtualServer, who string) {
	seen := make(map[netip.AddrPort]Pos, len(vs.RealServers))
	weightSum := 0
	// What every real server may inherit: the virtual server does not change below.
	var (
		vsWeight         = from(vs.Weight, &vs.Source, "weight")
		vsForwarding     = from(vs.Forwarding, &vs.Source, "lb_kind")
		vsInhibit        = from(vs.InhibitOnFailure, &vs.Source, "inhibit_on_failure")
		vsAlpha          = from(vs.Alpha, &vs.Source, "alpha")
		vsVirtualhost    = from(vs.Virtualhost, &vs.Source, "virtualhost")
		vsDelayLoop      = from(vs.DelayLoop, &vs.Source, "delay_loop")
		vsConnectTimeout = from(vs.ConnectTimeout, &vs.Source, "connect_timeout")
		vsRetry          = from(vs.Retry, &vs.Source, "retry")
		vsDelayRetry     = from(vs.DelayBeforeRetry, &vs.Source, "delay_before_retry")
		vsWarmup         = from(vs.Warmup, &vs.Source, "warmup")
	)
	for _, rs := range vs.RealServers {
		if rs.Port == 0 && vs.Addr.IsValid() {
			rs.Port = vs.Port
		}
		if vs.Addr.IsValid() && rs.Addr.Is4() != vs.Addr.Is4() && rs.Forwarding.Method != "TUN" && vs.Forwarding.Method != "TUN" {
			f.d.errorf(rs.Pos, "%s: real_server %s is not of the virtual server's address family", who, rs.Addr)
		}
		// Neither the real server nor the virtual server set it: the virtual
		// server's default.
		if !inherit(&rs.Weight, &rs.Source, "weight", vsWeight) {
			rs.Weight = vs.Weight
		}
		if !inherit(&rs.Forwarding, &rs.Source, "lvs_method", vsForwarding) {
			rs.Forwarding = vs.Forwarding
		}
		// keepalived gives IPVS a DR or TUN server at the service's port, while its
		// checkers still connect to the one configured.
		ap := vs.KeptAddr(netip.AddrPortFrom(rs.Addr, rs.Port), rs.Forwarding)
		if ap.Port() != rs.Port {
			if vs.FwMark != 0 {
				f.d.warnf(rs.Pos, "%s: real_server %s has a port; IPVS gets port 0 for a %s server of a fwmark service, as keepalived (its checkers connect to %d)", who, rs.Addr, rs.Forwarding.Method, rs.Port)
			} else {
				f.d.warnf(rs.Pos, "%s: real_server %s:%d is not on the service's port; IPVS gets port %d for a %s server, as keepalived (its checkers connect to %d)", who, rs.Addr, rs.Port, vs.Port, rs.Forwarding.Method, rs.Port)
			}
		}
		if p, dup := seen[ap]; dup {
			f.d.errorf(rs.Pos, "%s: real_server %s is already defined at line %d", who, ap, p.Line)
		}
		seen[ap] = rs.Pos
		inherit(&rs.InhibitOnFailure, &rs.Source, "inhibit_on_failure", vsInhibit)
		inherit(&rs.Alpha, &rs.Source, "alpha", vsAlpha)
		inherit(&rs.Virtualhost, &rs.Source, "virtualhost", vsVirtualhost)
		if !inherit(&rs.DelayLoop, &rs.Source, "delay_loop", vsDelayLoop) {
			rs.DelayLoop = vs.DelayLoop
		}
		if !inherit(&rs.ConnectTimeout, &rs.Source, "connect_timeout", vsConnectTimeout) {
			rs.ConnectTimeout = vs.ConnectTimeout
		}
		retrySet := inherit(&rs.Retry, &rs.Source, "retry", vsRetry)
		dbrSet := inherit(&rs.DelayBeforeRetry, &rs.Source, "delay_before_retry", vsDelayRetry)
		warmSet := inherit(&rs.Warmup, &rs.Source, "warmup", vsWarmup)
		if !retrySet {
			rs.Retry = 1
		}
		if !dbrSet {
			rs.DelayBeforeRetry = time.Second
		}
		if !warmSet {
			rs.Warmup = rs.DelayLoop
		}
		// keepalived's real servers alone default to sending mail.
		f.smtpAlert(&rs.SMTPAlert, &rs.Source, "smtp_alert_checker", true)
		if rs.UThreshold != 0 && rs.LThreshold > rs.UThreshold {
			f.d.errorf(rs.Line("lthreshold"), "%s: real_server %s: lthreshold %d is above uthreshold %d", who, ap, rs.LThreshold, rs.UThreshold)
		}
		weightSum += rs.Weight
		for _, c := range rs.Checkers {
			f.checker(c, rs, vs, who)
		}
	}
	if len(vs.RealServers) > 0 && vs.Quorum > weightSum {
		f.d.warnf(vs.Line("quorum"), "%s: quorum %d exceeds the total weight of the real servers (%d); reduced to %d", who, vs.Quorum, weightSum, weightSum)
		vs.Quorum = weightSum
	}
	if vs.IsSet("hysteresis") && vs.Hysteresis >= vs.Quorum && vs.Quorum > 0 {
		f.d.warnf(vs.Line("hysteresis"), "%s: hysteresis %d must be below quorum %d; set to %d", who, vs.Hysteresis, vs.Quorum, vs.Quorum-1)
		vs.Hysteresis = vs.Quorum - 1
	}
}

// bfdCheck checks that BFD_CHECK names a bfd_instance that checkers get.
func (f *finisher) bfdCheck(c *Checker, who string) {
	for _, b := range f.cfg.BFDInstances {
		if b.Name == c.Name {
			if !b.Checker {
				f.d.errorf(c.Line("name"), "%s: BFD_CHECK names bfd_instance %q, which only VRRP gets (vrrp without checker)", who, c.Name)
			}
			return
		}
	}
	f.d.errorf(c.Line("name"), "%s: BFD_CHECK - BFD %s not configured", who, c.Name)
}

// checker fills a checker's values: its own, else the real server's, else the
// virtual server's, else the checker type's default.
func (f *finisher) checker(c *Checker, rs *RealServer, vs *VirtualServer, who string) {
	retryDefault, dbrDefault := 1, time.Second
	switch c.Type {
	case MiscCheck:
		retryDefault = 0
	case DNSCheck:
		retryDefault = 3
	case HTTPGet, SSLGet:
		dbrDefault = 3 * time.Second
	}
	inherit(&c.DelayLoop, &c.Source, "delay_loop", from(rs.DelayLoop, &rs.Source, "delay_loop"), from(vs.DelayLoop, &vs.Source, "delay_loop"))
	fillUnset(&c.DelayLoop, &c.Source, "delay_loop", vs.DelayLoop)
	if c.Type == DNSCheck {
		dbrDefault = c.DelayLoop
	}
	inherit(&c.ConnectTimeout, &c.Source, "connect_timeout", from(rs.ConnectTimeout, &rs.Source, "connect_timeout"), from(vs.ConnectTimeout, &vs.Source, "connect_timeout"))
	fillUnset(&c.ConnectTimeout, &c.Source, "connect_timeout", vs.ConnectTimeout)
	inherit(&c.Retry, &c.Source, "retry", from(rs.Retry, &rs.Source, "retry"), from(vs.Retry, &vs.Source, "retry"))
	fillUnset(&c.Retry, &c.Source, "retry", retryDefault)
	inherit(&c.DelayBeforeRetry, &c.Source, "delay_before_retry", from(rs.DelayBeforeRetry, &rs.Source, "delay_before_retry"), from(vs.DelayBeforeRetry, &vs.Source, "delay_before_retry"))
	fillUnset(&c.DelayBeforeRetry, &c.Source, "delay_before_retry", dbrDefault)
	inherit(&c.Warmup, &c.Source, "warmup", from(rs.Warmup, &rs.Source, "warmup"), from(vs.Warmup, &vs.Source, "warmup"))
	fillUnset(&c.Warmup, &c.Source, "warmup", c.DelayLoop)
	inherit(&c.Alpha, &c.Source, "alpha", from(rs.Alpha, &rs.Source, "alpha"))
	if c.Type == BFDCheck {
		f.bfdCheck(c, who)
	}
	if g := &f.cfg.Global; g.CheckerLogAllFailures {
		// keepalived ORs the global and the checker's setting.
		inherit(&c.LogAllFailures, &c.Source, "log_all_failures", from(true, &g.Source, "checker_log_all_failures"))
		c.LogAllFailures = true
	}
	if !c.IsSet("connect_ip") {
		c.ConnectIP = rs.Addr
	}
	if !c.IsSet("connect_port") {
		c.ConnectPort = rs.Port
	}
	f.iface(c.BindIf, c.Line("bind_if"))
	switch c.Type {
	case HTTPGet, SSLGet:
		inherit(&c.Virtualhost, &c.Source, "virtualhost", from(rs.Virtualhost, &rs.Source, "virtualhost"))
		if len(c.URLs) == 0 {
			f.d.errorf(c.Pos, "%s: %s of real_server %s has no url block (required)", who, c.Type, rs.Addr)
		}
		for _, u := range c.URLs {
			f.urlRegex(u)
		}
	case MiscCheck:
		if !c.IsSet("misc_timeout") {
			c.MiscTimeout = c.DelayLoop
		}
		if !c.IsSet("user") {
			c.RunAs = f.cfg.Global.ScriptUser
		}
	case UDPCheck:
		if c.MinReplyLength > c.MaxReplyLength {
			f.d.errorf(c.Line("min_reply_length"), "%s: min_reply_length %d is above max_reply_length %d", who, c.MinReplyLength, c.MaxReplyLength)
		}
	case SMTPCheck:
		// Deprecated host { } blocks take what they do not set from their SMTP_CHECK.
		for _, h := range c.Hosts {
			h.Type = SMTPCheck
			inheritAll(&h.DelayLoop, &h.Source, "delay_loop", c.DelayLoop, &c.Source)
			inheritAll(&h.ConnectTimeout, &h.Source, "connect_timeout", c.ConnectTimeout, &c.Source)
			inheritAll(&h.Retry, &h.Source, "retry", c.Retry, &c.Source)
			inheritAll(&h.DelayBeforeRetry, &h.Source, "delay_before_retry", c.DelayBeforeRetry, &c.Source)
			inheritAll(&h.Warmup, &h.Source, "warmup", c.Warmup, &c.Source)
			inheritAll(&h.Alpha, &h.Source, "alpha", c.Alpha, &c.Source)
			inheritAll(&h.ConnectIP, &h.Source, "connect_ip", c.ConnectIP, &c.Source)
			inheritAll(&h.ConnectPort, &h.Source, "connect_port", c.ConnectPort, &c.Source)
			inheritAll(&h.BindTo, &h.Source, "bindto", c.BindTo, &c.Source)
			inheritAll(&h.BindPort, &h.Source, "bind_port", c.BindPort, &c.Source)
			inheritAll(&h.BindIf, &h.Source, "bind_if", c.BindIf, &c.Source)
			inheritAll(&h.FwMark, &h.Source, "fwmark", c.FwMark, &c.Source)
			h.HeloName = c.HeloName
		}
	}
}

// inheritAll takes the parent's value, set or default, when own did not set key.
func inheritAll[T any](dst *T, own *Source, key string, v T, parentSrc *Source) {
	if !inherit(dst, own, key, from(v, parentSrc, key)) {
		*dst = v
	}
}

// mail fills the mail defaults and reports settings that cannot send anything.
func (f *finisher) mail() {
	g := &f.cfg.Global
	if at := g.Line("smtp_connect_timeout"); g.IsSet("smtp_connect_timeout") && g.SMTPConnectTimeout == 0 && !f.d.errorOnLine(at) {
		f.d.warnf(at, "smtp_connect_timeout 0: keepalived uses 1 second (range 1..4294)")
		g.SMTPConnectTimeout = time.Second
	}
	inherit(&g.SMTPAlertVRRP, &g.Source, "smtp_alert_vrrp", from(g.SMTPAlert, &g.Source, "smtp_alert"))
	inherit(&g.SMTPAlertChecker, &g.Source, "smtp_alert_checker", from(g.SMTPAlert, &g.Source, "smtp_alert"))
	// IsSet rather than a nil SMTPServer: a bad server was reported already.
	switch {
	case g.IsSet("smtp_server") && len(g.NotificationEmail) == 0:
		f.d.warnf(g.Line("smtp_server"), "smtp_server is set but notification_email lists no recipient; no mail is sent")
	case !g.IsSet("smtp_server") && len(g.NotificationEmail) > 0:
		f.d.warnf(g.Line("notification_email"), "notification_email is set but smtp_server is not; no mail is sent")
	}
	for _, a := range []struct {
		key string
		on  bool
	}{{"smtp_alert", g.SMTPAlert}, {"smtp_alert_vrrp", g.SMTPAlertVRRP}, {"smtp_alert_checker", g.SMTPAlertChecker}} {
		if a.on && g.IsSet(a.key) {
			f.alertWithoutMail(g.Line(a.key))
		}
	}
}

// alertWithoutMail reports, once, an smtp_alert turned on in a file that configures no
// mail at all (a half-configured one was reported by mail already).
func (f *finisher) alertWithoutMail(at Pos) {
	g := &f.cfg.Global
	if f.mailWarned || g.IsSet("smtp_server") || g.IsSet("notification_email") {
		return
	}
	f.mailWarned = true
	f.d.warnf(at, "smtp_alert is on but global_defs has no smtp_server and notification_email; no mail is sent")
}

// smtpAlert resolves an object's smtp_alert as keepalived does: its own value, else
// the global key (smtp_alert_vrrp or smtp_alert_checker, which default to smtp_alert),
// else dflt. It is off whenever no mail can be sent, so that it means "send mail".
func (f *finisher) smtpAlert(v *bool, own *Source, globalKey string, dflt bool) {
	g := &f.cfg.Global
	if *v && own.IsSet("smtp_alert") {
		f.alertWithoutMail(own.Line("smtp_alert"))
	}
	global := g.SMTPAlertVRRP
	if globalKey == "smtp_alert_checker" {
		global = g.SMTPAlertChecker
	}
	if !inherit(v, own, "smtp_alert", from(global, &g.Source, globalKey)) {
		*v = dflt
	}
	if !g.MailEnabled() {
		*v = false
	}
}

// fifos fills the FIFO owners and drops what keepalived drops: a script without its
// FIFO, and a VRRP or LVS FIFO that is the global one (its lines would be written twice).
func (f *finisher) fifos() {
	g := &f.cfg.Global
	type fifoKeywords struct {
		name   string
		fifo   **FIFO
		script **Script
	}
	all := []fifoKeywords{
		{"notify_fifo", &g.NotifyFIFO, &g.NotifyFIFOScript},
		{"vrrp_notify_fifo", &g.VRRPNotifyFIFO, &g.VRRPNotifyFIFOScript},
		{"lvs_notify_fifo", &g.LVSNotifyFIFO, &g.LVSNotifyFIFOScript},
	}
	for _, k := range all {
		if *k.fifo == nil {
			if *k.script != nil {
				f.d.warnf(g.Line(k.name+"_script"), "%s_script has no %s to read; ignored", k.name, k.name)
				*k.script = nil
			}
			continue
		}
		fifo := *k.fifo
		if fifo.Owner.User == "" {
			fifo.Owner = g.ScriptUser
		}
		if !path.IsAbs(fifo.Path) {
			f.d.warnf(g.Line(k.name), "%s %q is a relative path; keepalived resolves it from /", k.name, fifo.Path)
		}
	}
	for _, k := range all[1:] {
		if *k.fifo != nil && g.NotifyFIFO != nil && samePath((*k.fifo).Path, g.NotifyFIFO.Path) {
			f.d.warnf(g.Line(k.name), "%s %s is also notify_fifo (line %d); ignored, as keepalived does, so that no line is written twice", k.name, (*k.fifo).Path, g.Line("notify_fifo").Line)
			*k.fifo, *k.script = nil, nil
		}
	}
	if g.VRRPNotifyFIFO != nil && g.LVSNotifyFIFO != nil && samePath(g.VRRPNotifyFIFO.Path, g.LVSNotifyFIFO.Path) &&
		g.VRRPNotifyFIFOScript != nil && g.LVSNotifyFIFOScript != nil {
		f.d.warnf(g.Line("lvs_notify_fifo_script"), "lvs_notify_fifo is vrrp_notify_fifo, which has its own script (line %d); lvs_notify_fifo_script is ignored", g.Line("vrrp_notify_fifo_script").Line)
		g.LVSNotifyFIFOScript = nil
	}
}

func samePath(a, b string) bool { return path.Clean(a) == path.Clean(b) }

// ssl reports an SSL block whose parts cannot work together.
func (f *finisher) ssl() {
	s := f.cfg.SSL
	if s == nil {
		return
	}
	switch {
	case s.Certificate != "" && s.Key == "":
		f.d.warnf(s.Line("certificate"), "SSL: certificate without key; SSL_GET cannot present it")
	case s.Key != "" && s.Certificate == "":
		f.d.warnf(s.Line("key"), "SSL: key without certificate; the key is not used")
	}
	if s.Password != "" && s.Key == "" {
		f.d.warnf(s.Line("password"), "SSL: password without key; it is not used")
	} else if s.Password != "" {
		f.d.warnf(s.Line("password"), "SSL: govs cannot read a password-protected key; SSL_GET presents no client certificate (use an unencrypted key)")
	}
}

// regexOptions are keepalived's regex_options (PCRE2 compile options): true for those
// govs's regular expressions (Go's RE2) honour, exactly or because they change nothing
// that matches; false for those they cannot.
var regexOptions = map[string]bool{
	"caseless": true, "multiline": true, "dotall": true, "ungreedy": true, "dollar_endonly": true,
	"extended": true, "firstline": true, "no_auto_capture": true, "no_auto_possess": true,
	"no_dotstar_anchor": true, "no_start_optimize": true, "auto_callout": true, "use_offset_limit": true,
	"never_backslash_c": true, "never_utf": true, "never_ucp": true, "utf": true, "dupnames": true,
	"allow_empty_class": false, "alt_bsux": false, "alt_circumflex": false, "alt_verbnames": false,
	"match_unset_backref": false, "ucp": false,
}

// urlRegex applies keepalived's rules to a url block's regex settings: without a
// regex they are dropped, an unknown option is ignored, offsets that cross are
// dropped; govs also says which options it cannot honour.
func (f *finisher) urlRegex(u *URL) {
	if u.Regex == "" {
		for _, kw := range []string{"regex_options", "regex_no_match", "regex_min_offset", "regex_max_offset", "regex_stack"} {
			if u.IsSet(kw) {
				f.d.warnf(u.Line(kw), "%s without regex: ignored, as keepalived ignores regex parameters specified without regex", kw)
			}
		}
		u.RegexOptions, u.RegexNoMatch, u.RegexMinOffset, u.RegexMaxOffset, u.RegexStack = nil, false, 0, 0, nil
		return
	}
	kept := u.RegexOptions[:0]
	for _, o := range u.RegexOptions {
		honoured, known := regexOptions[o]
		switch {
		case !known:
			f.d.warnf(u.Line("regex_options"), "regex_options %s: not a PCRE2 option keepalived knows; ignored", o)
		case !honoured:
			f.d.warnf(u.Line("regex_options"), "regex_options %s: not supported by govs's regular expressions (Go's RE2); ignored", o)
		default:
			kept = append(kept, o)
		}
	}
	u.RegexOptions = kept
	if u.IsSet("regex_max_offset") && u.RegexMinOffset > u.RegexMaxOffset {
		f.d.warnf(u.Line("regex_max_offset"), "regex min offset %d > regex_max_offset %d - ignoring both, as keepalived", u.RegexMinOffset, u.RegexMaxOffset)
		u.RegexMinOffset, u.RegexMaxOffset = 0, 0
		delete(u.Lines, "regex_max_offset")
	}
}
