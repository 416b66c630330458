package daemon

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/rtnames"
	"github.com/govs/govs/internal/vrrp"
	"github.com/govs/govs/internal/vrrp/nftfw"
	"golang.org/x/sys/unix"
)

// vrrpConfig maps the vrrp_instance, vrrp_sync_group, vrrp_script, track_file and
// vrrp_track_process blocks.
func vrrpConfig(cfg *config.Config) (vrrp.Config, error) {
	g := cfg.Global
	out := vrrp.Config{
		MulticastGroup4:      g.McastGroup4,
		VMACPrefix:           g.VMACPrefix,
		VMACAddrPrefix:       g.VMACAddrPrefix,
		LogUnknownVRIDs:      g.LogUnknownVRIDs,
		Threads:              threadSettings(g, g.VRRPPriority, g.VRRPRTPriority, g.VRRPCPUAffinity),
		RxBufs:               rxBufs(g),
		DisableLocalIGMP:     g.DisableLocalIGMP,
		NetlinkCmdRcvBuf:     vrrp.RcvBuf{Bytes: g.VRRPNetlinkCmdRcvBufs, Force: g.VRRPNetlinkCmdRcvBufsForce},
		NetlinkMonitorRcvBuf: vrrp.RcvBuf{Bytes: g.VRRPNetlinkMonitorRcvBufs, Force: g.VRRPNetlinkMonitorRcvBufsForce},
		ProcessMonitorRcvBuf: vrrp.RcvBuf{Bytes: g.ProcessMonitorRcvBufs, Force: g.ProcessMonitorRcvBufsForce},
		MulticastGroup6:      g.McastGroup6,
		ScriptUser:           g.ScriptUser.User,
		ScriptGroup:          g.ScriptUser.Group,
		StartupDelay:         g.StartupDelay,
		DynamicInterfaces:    g.DynamicInterfaces,
		GARPPacing:           vrrp.GARPPacing{ARPInterval: g.GarpInterval, NAInterval: g.GnaInterval},
		Firewall: nftfw.Options{
			Table: g.NFTables, Priority: int32(g.NFTablesPriority),
			Counters: g.NFTablesCounters, IfIndex: g.NFTablesIfIndex,
		},
	}
	out.Static.Addresses = vips(cfg.StaticAddresses)
	for _, r := range cfg.StaticRoutes {
		route, err := vrrpRoute(r)
		if err != nil {
			return vrrp.Config{}, err
		}
		out.Static.Routes = append(out.Static.Routes, route)
	}
	for _, r := range cfg.StaticRules {
		rule, err := vrrpRule(r)
		if err != nil {
			return vrrp.Config{}, err
		}
		out.Static.Rules = append(out.Static.Rules, rule)
	}
	for _, d := range cfg.LinkDelays {
		if out.LinkDelays == nil {
			out.LinkDelays = map[string]vrrp.LinkDelay{}
		}
		out.LinkDelays[d.Interface] = vrrp.LinkDelay{Down: d.Down, Up: d.Up}
	}
	for _, gg := range cfg.GarpGroups {
		out.GARPPacing.Groups = append(out.GARPPacing.Groups, vrrp.GARPGroup{
			ARPInterval: gg.GarpInterval, NAInterval: gg.GnaInterval, Interfaces: gg.Members,
		})
	}
	out.FIFOStatesOnReload = g.FIFOWriteVRRPStatesOnReload
	// keepalived writes VRRP state lines to vrrp_notify_fifo, else to notify_fifo.
	if f := g.VRRPNotifyFIFO; f != nil {
		out.NotifyFIFO = f.Path
	} else if f := g.NotifyFIFO; f != nil {
		out.NotifyFIFO = f.Path
	}
	for _, s := range cfg.Scripts {
		if s.Script == nil {
			continue // keepalived drops a vrrp_script without script (config warned)
		}
		out.Scripts = append(out.Scripts, vrrp.ScriptConfig{
			Name:     s.Name,
			Command:  command(s.Script, s.RunAs),
			Interval: s.Interval,
			Timeout:  s.Timeout,
			Weight:   s.Weight.Value,
			Reverse:  s.Weight.Reverse,
			Rise:     s.Rise,
			Fall:     s.Fall,
			InitFail: s.InitFail,
		})
	}
	for _, f := range cfg.TrackFiles {
		out.TrackFiles = append(out.TrackFiles, vrrp.TrackFileConfig{Name: f.Name, File: f.File, Weight: f.Weight.Value, Reverse: f.Weight.Reverse})
	}
	for _, t := range cfg.TrackProcesses {
		out.TrackProcesses = append(out.TrackProcesses, trackProcess(t))
	}
	tracked := staticTracking(cfg)
	for _, in := range cfg.Instances {
		ic, err := instanceConfig(in)
		if err != nil {
			return vrrp.Config{}, err
		}
		ic.TrackInterfaces = append(ic.TrackInterfaces, tracked[in.Name]...)
		out.Instances = append(out.Instances, ic)
	}
	for _, sg := range cfg.SyncGroups {
		out.SyncGroups = append(out.SyncGroups, vrrp.SyncGroupConfig{
			Name:            sg.Name,
			Members:         sg.Members,
			TrackInterfaces: trackInterfaces(sg.TrackInterfaces),
			TrackScripts:    trackRefs(sg.TrackScripts),
			TrackFiles:      trackRefs(sg.TrackFiles),
			TrackProcesses:  trackRefs(sg.TrackProcesses),
			TrackBFDs:       trackInterfaces(sg.TrackBFDs),
			TrackingWeight:  sg.SyncGroupTrackingWeight,
			Notify: vrrp.NotifyConfig{
				Master: optCommand(sg.NotifyMaster), Backup: optCommand(sg.NotifyBackup),
				Fault: optCommand(sg.NotifyFault), Stop: optCommand(sg.NotifyStop), Generic: optCommand(sg.Notify),
			},
			SMTPAlert: sg.SMTPAlert,
		})
	}
	return out, nil
}

func instanceConfig(in *config.Instance) (vrrp.InstanceConfig, error) {
	ic := vrrp.InstanceConfig{
		Name:                  in.Name,
		Interface:             in.Interface,
		VRID:                  uint8(in.VRID),
		Priority:              uint8(in.Priority),
		AdvertInterval:        in.AdvertInt,
		Version:               uint8(in.Version),
		InitialState:          vrrp.StateBackup,
		Nopreempt:             in.Nopreempt,
		PreemptDelay:          in.PreemptDelay,
		DownTimerAdverts:      in.DownTimerAdverts,
		LowerPrioNoAdvert:     in.LowerPrioNoAdvert,
		HigherPrioSendAdvert:  in.HigherPrioSendAdvert,
		SourceAddr:            in.SourceIP,
		MulticastGroup:        in.McastDstIP,
		SkipCheckAdvAddr:      in.SkipCheckAdvAddr,
		Strict:                in.Strict,
		CheckUnicastSrc:       in.CheckUnicastSrc,
		UnicastTTL:            uint8(in.UnicastTTL),
		DontTrackPrimary:      in.DontTrackPrimary,
		NoAccept:              !in.Accept,
		SMTPAlert:             in.SMTPAlert,
		PromoteSecondaries:    in.PromoteSecondaries,
		NotifyPriorityChanges: in.NotifyPriorityChanges,
		TrackInterfaces:       trackInterfaces(in.TrackInterfaces),
		TrackScripts:          trackRefs(in.TrackScripts),
		TrackFiles:            trackRefs(in.TrackFiles),
		TrackProcesses:        trackRefs(in.TrackProcesses),
		TrackBFDs:             trackInterfaces(in.TrackBFDs),
		GARP: vrrp.GARPConfig{
			MasterDelay:         in.GarpMasterDelay,
			MasterRepeat:        in.GarpMasterRepeat,
			MasterRefresh:       in.GarpMasterRefresh,
			MasterRefreshRepeat: in.GarpRefreshRepeat,
			LowerPrioRepeat:     in.GarpLowerPrioRepeat,
			LowerPrioDelay:      in.GarpLowerPrioDelay,
		},
		Notify: vrrp.NotifyConfig{
			Master: optCommand(in.NotifyMaster), Backup: optCommand(in.NotifyBackup),
			Fault: optCommand(in.NotifyFault), Stop: optCommand(in.NotifyStop), Deleted: optCommand(in.NotifyDeleted),
			Generic:          optCommand(in.Notify),
			MasterRxLowerPri: optCommand(in.NotifyMasterRxLower),
			AnnounceDeleted:  in.NotifyDeleted != nil,
		},
	}
	if in.State == config.StateMaster {
		ic.InitialState = vrrp.StateMaster
	}
	if e := in.GarpExtraIf; e != nil {
		ic.GARP.ExtraIfInterval, ic.GARP.ExtraIfAll = e.Interval, e.All
	}
	if in.Auth != nil {
		ic.AuthPass = in.Auth.Pass
		switch in.Auth.Type {
		case "PASS":
			ic.AuthType = vrrp.AuthPass
		case "AH":
			ic.AuthType = vrrp.AuthAH
		default:
			return ic, fmt.Errorf("%s: auth_type %s is not supported; use PASS, AH or none", in.Auth.Pos, in.Auth.Type)
		}
	}
	if in.UseVMAC != nil {
		ic.UseVMAC, ic.VMACName, ic.VMACXmitBase = true, in.UseVMAC.Name, in.VMACXmitBase
		if in.UseVMAC.MAC != "" {
			mac, err := net.ParseMAC(in.UseVMAC.MAC)
			if err != nil {
				return ic, fmt.Errorf("%s: use_vmac: %w", in.Line("use_vmac"), err)
			}
			ic.VMACMAC = mac
		}
	}
	ic.VMACAddr = in.VMACAddr
	for _, p := range in.UnicastPeers {
		ic.UnicastPeers = append(ic.UnicastPeers, p.Addr)
		if p.MinTTL > 0 || p.MaxTTL > 0 {
			if ic.PeerTTLs == nil {
				ic.PeerTTLs = map[netip.Addr]vrrp.TTLRange{}
			}
			ic.PeerTTLs[p.Addr] = vrrp.TTLRange{Min: uint8(p.MinTTL), Max: uint8(cmp.Or(p.MaxTTL, 255))}
		}
	}
	ic.RxBufSize = in.KernelRxBufSize
	switch in.OldUnicastChecksum {
	case "on":
		ic.UnicastChecksum = vrrp.UnicastChecksumOld
	case "never":
		ic.UnicastChecksum = vrrp.UnicastChecksumNever
	}
	if in.UnicastFaultNoPeer && len(ic.UnicastPeers) == 0 {
		ic.ConfigFault = "cannot use unicast without any peers (unicast_fault_no_peer)"
	}
	ic.VIPs = vips(in.VirtualIPs)
	ic.ExcludedVIPs = vips(in.ExcludedIPs)
	for _, r := range in.VirtualRoutes {
		route, err := vrrpRoute(r)
		if err != nil {
			return ic, err
		}
		ic.Routes = append(ic.Routes, route)
	}
	for _, r := range in.VirtualRules {
		rule, err := vrrpRule(r)
		if err != nil {
			return ic, err
		}
		ic.Rules = append(ic.Rules, rule)
	}
	return ic, nil
}

// addressFlags are the IFA_F flags the address words set.
var addressFlags = map[string]int{"home": unix.IFA_F_HOMEADDRESS, "mngtmpaddr": unix.IFA_F_MANAGETEMPADDR,
	"noprefixroute": unix.IFA_F_NOPREFIXROUTE, "autojoin": unix.IFA_F_MCAUTOJOIN}

func vips(addrs []config.IPAddress) []vrrp.VIP {
	var out []vrrp.VIP
	for _, a := range addrs {
		v := vrrp.VIP{Prefix: a.Prefix, Dev: a.Dev, Scope: a.Scope, Label: a.Label, NoTrack: a.NoTrack, UseVMAC: a.UseVMAC, Peer: a.Peer}
		switch a.Broadcast {
		case "+", "-":
			// The host bits set or cleared, of the peer's address when there is one.
			base := cmp.Or(a.Peer, a.Prefix.Addr()).As4()
			host := ^uint32(0) >> a.Prefix.Bits()
			n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
			if a.Broadcast == "+" {
				n |= host
			} else {
				n &^= host
			}
			v.Broadcast = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		default:
			v.Broadcast, _ = netip.ParseAddr(a.Broadcast)
		}
		for _, f := range a.Flags {
			v.Flags |= addressFlags[f]
			v.DAD = v.DAD || f == "-nodad" // keepalived: do not force nodad; "nodad" is the default
		}
		switch a.PreferredLft {
		case "":
		case "forever":
			forever := int64(-1)
			v.PreferredLft = &forever
		default:
			n, _ := strconv.ParseInt(a.PreferredLft, 0, 64)
			v.PreferredLft = &n
		}
		out = append(out, v)
	}
	return out
}

// staticTracking is what track_group adds to each instance: the device of every
// static address, route (dev) and rule (iif) naming a group it is in, with weight 0
// (FAULT while down), as keepalived's static_track_group_init.
func staticTracking(cfg *config.Config) map[string][]vrrp.TrackInterface {
	members := map[string][]string{}
	for _, g := range cfg.TrackGroups {
		members[g.Name] = g.Members
	}
	out := map[string][]vrrp.TrackInterface{}
	add := func(group, dev string) {
		for _, m := range members[group] {
			if group != "" && !slices.ContainsFunc(out[m], func(t vrrp.TrackInterface) bool { return t.Name == dev }) {
				out[m] = append(out[m], vrrp.TrackInterface{Name: dev})
			}
		}
	}
	for _, a := range cfg.StaticAddresses {
		add(a.TrackGroup, a.Dev)
	}
	for _, r := range cfg.StaticRoutes {
		add(r.TrackGroup, r.Dev)
	}
	for _, r := range cfg.StaticRules {
		add(r.TrackGroup, r.IIF)
	}
	return out
}

func vrrpRoute(r config.Route) (vrrp.Route, error) {
	out := vrrp.Route{Dst: r.Dest, Src: r.Src, Gateway: r.Via, Dev: r.Dev, Metric: r.Metric, Scope: r.Scope,
		OnLink: r.OnLink, NoTrack: r.NoTrack}
	if r.Type != "unicast" {
		out.Type = r.Type
	}
	switch r.Mode {
	case "add":
		out.Mode = vrrp.RouteAdd
	case "append":
		out.Mode = vrrp.RouteAppend
	}
	names := nameResolver{pos: r.Pos}
	out.Table = int(names.lookup(rtnames.Table, "table", cmp.Or(r.Table, "main")))
	if r.Protocol != "" {
		out.Protocol = uint8(names.lookup(rtnames.Protocol, "protocol", r.Protocol))
	}
	if r.Tos != "" {
		out.Tos = uint8(names.lookup(rtnames.DSField, "tos", r.Tos))
	}
	out.Realms = names.realms(r.Realms)
	for _, nh := range r.Nexthops {
		out.Nexthops = append(out.Nexthops, vrrp.Nexthop{Gateway: nh.Via, Dev: nh.Dev, Weight: nh.Weight, OnLink: nh.OnLink})
	}
	m := r.Metrics
	out.Metrics = vrrp.RouteMetrics{MTU: m.MTU, AdvMSS: m.AdvMSS, Reordering: m.Reordering, Window: m.Window,
		Cwnd: m.Cwnd, Ssthresh: m.Ssthresh, InitCwnd: m.InitCwnd, InitRwnd: m.InitRwnd, RTT: m.RTT, RTTVar: m.RTTVar,
		RtoMin: m.RtoMin, Hoplimit: m.Hoplimit, ECN: m.ECN, QuickACK: m.QuickACK, FastOpenNoCookie: m.FastOpenNoCookie,
		Congctl: m.Congctl, MTULock: slices.Contains(m.Locked, "mtu"), RtoMinLock: slices.Contains(m.Locked, "rto_min")}
	return out, names.err
}

func vrrpRule(r config.Rule) (vrrp.Rule, error) {
	out := vrrp.Rule{From: r.From, To: r.To, Not: r.Not, Priority: r.Preference, IIF: r.IIF, OIF: r.OIF,
		FwMark: r.FwMark, FwMask: r.FwMask, Goto: r.Goto, TunnelID: r.TunnelID, UIDRange: r.UIDRange,
		SPort: r.SPort, DPort: r.DPort, NoTrack: r.NoTrack,
		SuppressPrefixLen: -1, SuppressIfGroup: -1}
	if r.Action != "table" {
		out.Action = r.Action
	}
	if r.Family == "inet6" {
		out.Family = 6
	}
	if r.Protocol != nil {
		out.Protocol = *r.Protocol
	}
	if r.SuppressLen != nil {
		out.SuppressPrefixLen = *r.SuppressLen
	}
	names := nameResolver{pos: r.Pos}
	if r.Table != "" {
		out.Table = int(names.lookup(rtnames.Table, "table", r.Table))
	}
	if r.Tos != "" {
		out.Tos = uint8(names.lookup(rtnames.DSField, "tos", r.Tos))
	}
	if r.SuppressGrp != "" {
		out.SuppressIfGroup = int(names.lookup(rtnames.Group, "suppress_ifgroup", r.SuppressGrp))
	}
	if r.IPProto != "" {
		out.IPProto = int(names.lookup(rtnames.IPProto, "ipproto", r.IPProto))
	}
	out.Realms = names.realms(r.Realms)
	return out, names.err
}

// nameResolver resolves a route's or rule's iproute2 names, keeping the first error.
type nameResolver struct {
	pos config.Pos
	err error
}

func (n *nameResolver) lookup(k rtnames.Kind, what, name string) uint32 {
	v, err := rtnames.Lookup(rtnames.Dir, k, name)
	if err != nil && n.err == nil {
		n.err = fmt.Errorf("%s: %s: %w", n.pos, what, err)
	}
	return v
}

// realms reads [FROM/]TO as FROM<<16 | TO.
func (n *nameResolver) realms(s string) uint32 {
	if s == "" {
		return 0
	}
	from, to, both := strings.Cut(s, "/")
	if !both {
		return n.lookup(rtnames.Realm, "realms", s)
	}
	return n.lookup(rtnames.Realm, "realms", from)<<16 | n.lookup(rtnames.Realm, "realms", to)
}

// trackProcess maps a vrrp_track_process block; the config package has already
// resolved what keepalived derives (full_command from parameters, delay, quorum).
func trackProcess(t *config.TrackProcess) vrrp.TrackProcessConfig {
	tp := vrrp.TrackProcessConfig{
		Name:           t.Name,
		FullCommand:    t.FullCommand,
		Weight:         t.Weight.Value,
		Reverse:        t.Weight.Reverse,
		Quorum:         t.Quorum,
		QuorumMax:      max(t.QuorumMax, 0),
		QuorumMaxSet:   t.QuorumMax >= 0,
		TerminateDelay: t.TerminateDelay,
		ForkDelay:      t.ForkDelay,
	}
	if len(t.Process) > 0 {
		tp.Process = t.Process[0]
	}
	if len(t.Process) > 1 {
		tp.Params = t.Process[1:]
	}
	switch t.ParamMatch {
	case "exact":
		tp.ParamMatch = vrrp.ParamMatchExact
	case "partial":
		tp.ParamMatch = vrrp.ParamMatchPartial
	case "initial":
		tp.ParamMatch = vrrp.ParamMatchInitial
	}
	return tp
}

func trackInterfaces(objs []config.TrackedObject) []vrrp.TrackInterface {
	var out []vrrp.TrackInterface
	for _, o := range objs {
		out = append(out, vrrp.TrackInterface{Name: o.Name, Weight: o.Weight, Reverse: o.Reverse})
	}
	return out
}

func trackRefs(objs []config.TrackedObject) []vrrp.TrackRef {
	var out []vrrp.TrackRef
	for _, o := range objs {
		out = append(out, vrrp.TrackRef{Name: o.Name, Weight: o.Weight, WeightSet: o.WeightSet, Reverse: o.Reverse})
	}
	return out
}

func command(s *config.Script, runAs config.UserGroup) vrrp.Command {
	c := vrrp.Command{Argv: s.Argv, User: s.User, Group: s.Group}
	if c.User == "" {
		c.User, c.Group = runAs.User, runAs.Group
	}
	return c
}

func optCommand(s *config.Script) *vrrp.Command {
	if s == nil || len(s.Argv) == 0 {
		return nil
	}
	c := command(s, config.UserGroup{})
	return &c
}

// rxBufs is vrrp_rx_bufs_policy with its multiplier.
func rxBufs(g config.GlobalDefs) vrrp.RxBufs {
	out := vrrp.RxBufs{Multiplier: g.RxBufsMultiplier}
	if p := g.RxBufsPolicy; p != nil {
		out.PerMTU, out.PerAdvert, out.Size = p.Per == "MTU", p.Per == "ADVERT", p.Size
	}
	return out
}
