package vrrp

import (
	"cmp"
	"fmt"
	"golang.org/x/sys/unix"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/govs/govs/internal/threadprio"
	"github.com/govs/govs/internal/vrrp/nftfw"
)

// Config is everything a Node runs: keepalived's vrrp_instance, vrrp_sync_group,
// vrrp_script and track_file blocks plus the global settings they use. The engine maps
// the parsed keepalived.conf onto it; New validates it and fills in defaults.
type Config struct {
	Instances  []InstanceConfig
	SyncGroups []SyncGroupConfig
	// Scripts are the vrrp_script blocks instances and groups refer to by name.
	Scripts []ScriptConfig
	// TrackFiles are the track_file blocks instances and groups refer to by name.
	TrackFiles []TrackFileConfig
	// TrackProcesses are the vrrp_track_process blocks instances and groups refer to.
	TrackProcesses []TrackProcessConfig
	// NotifyFIFO, when set, gets one line per state change (keepalived's notify_fifo).
	NotifyFIFO string
	// FIFOStatesOnReload writes every instance's and group's state to NotifyFIFO after
	// each reload (fifo_write_vrrp_states_on_reload).
	FIFOStatesOnReload bool
	// RxBufs sizes the receive buffers of advert sockets whose instance has no
	// RxBufSize of its own (vrrp_rx_bufs_policy, vrrp_rx_bufs_multiplier).
	RxBufs RxBufs
	// Threads are the scheduling of the threads that run the instances and receive
	// their adverts (vrrp_priority, vrrp_rt_priority, vrrp_cpu_affinity); with any
	// set, each of those goroutines gets a thread of its own.
	Threads threadprio.Settings
	// LogUnknownVRIDs logs every advert for a VRID the node does not run on the
	// interface it arrives on (log_unknown_vrids).
	LogUnknownVRIDs bool
	// VMACPrefix begins the names of VMACs without one of their own (vmac_prefix)
	// [vrrp]; VMACAddrPrefix those of the addresses' VMACs (vmac_addr_prefix)
	// [VMACPrefix].
	VMACPrefix, VMACAddrPrefix string
	// MulticastGroup4 and MulticastGroup6 replace 224.0.0.18 and ff02::12
	// (vrrp_mcast_group4/6).
	MulticastGroup4, MulticastGroup6 netip.Addr
	// ScriptUser and ScriptGroup run scripts and notifies unless they name their own
	// (script_user); empty runs them as the daemon's user.
	ScriptUser, ScriptGroup string
	// NetlinkCmdRcvBuf, NetlinkMonitorRcvBuf and ProcessMonitorRcvBuf size the receive
	// buffers of the netlink socket that changes addresses and links, of the one that
	// follows the links, and of the proc connector's (vrrp_netlink_cmd_rcv_bufs,
	// vrrp_netlink_monitor_rcv_bufs, process_monitor_rcv_bufs and their _force).
	NetlinkCmdRcvBuf, NetlinkMonitorRcvBuf, ProcessMonitorRcvBuf RcvBuf
	// DisableLocalIGMP turns the kernel's IGMP reports for 224.0.0.0/24 off while the
	// node runs (disable_local_igmp); a reload cannot change it, as in keepalived.
	DisableLocalIGMP bool
	// StartupDelay is vrrp_startup_delay: after the node starts, no instance becomes
	// master before it has passed (the address owner included) [0].
	StartupDelay time.Duration
	// GARPPacing spaces gratuitous ARPs and NAs per interface (vrrp_garp_interval,
	// vrrp_gna_interval, garp_group).
	GARPPacing GARPPacing
	// Static are static_ipaddress, static_routes and static_rules: installed while the
	// node runs, whatever the instances' states.
	Static StaticConfig
	// LinkDelays are interface_up_down_delays, by interface name.
	LinkDelays map[string]LinkDelay
	// DynamicInterfaces lets an instance's interface (or an address's device) be
	// missing: the instance is in FAULT until it appears, then built on it, as with
	// keepalived's dynamic_interfaces. Without it a missing device is an error.
	DynamicInterfaces bool
	// Firewall names keepalived's nftables table and how it is made (nftables,
	// nftables_priority, nftables_counters, nftables_ifindex). The table exists only
	// while an instance needs it: one without accept mode, or one on a VMAC.
	Firewall nftfw.Options
}

// Runs says whether a node has anything to do: instances, or static entries.
func (c *Config) Runs() bool {
	return len(c.Instances) > 0 || len(c.Static.Addresses)+len(c.Static.Routes)+len(c.Static.Rules) > 0
}

// StaticConfig is what the node installs for its whole life, as keepalived's VRRP
// process does: leftovers of an earlier run are removed first, a reload removes what
// it no longer lists, and stopping removes everything.
type StaticConfig struct {
	Addresses []VIP // each with its device (global default_interface when none)
	Routes    []Route
	Rules     []Rule
}

// GARPPacing is how long an interface rests after each gratuitous ARP and each
// unsolicited NA sent on it, whichever instance sent it, as keepalived paces them.
// The interfaces of a group share one schedule (links into the same switch); every
// other interface has its own, with the defaults.
type GARPPacing struct {
	ARPInterval, NAInterval time.Duration // the defaults [0: no pause]
	Groups                  []GARPGroup
}

// GARPGroup is one garp_group: its pauses (0: none, whatever the defaults) and its
// interfaces, each in one group at most.
type GARPGroup struct {
	ARPInterval, NAInterval time.Duration
	Interfaces              []string
}

// pace is the schedule and pause of a GARP (na false) or NA sent on interface name (a
// VMAC's base interface for a VMAC).
func (p GARPPacing) pace(name string, na bool) garpPace {
	sched, arp, gna := "if "+name, p.ARPInterval, p.NAInterval
	for _, g := range p.Groups {
		if slices.Contains(g.Interfaces, name) {
			sched, arp, gna = "group "+strings.Join(g.Interfaces, ","), g.ARPInterval, g.NAInterval
			break
		}
	}
	pause := arp
	if na {
		pause = gna
	}
	return garpPace{key: paceKey{sched: sched, na: na}, pause: pause}
}

// InstanceConfig is one vrrp_instance.
type InstanceConfig struct {
	// Name identifies the instance in logs, notifies and across reloads.
	Name string
	// Interface adverts are sent and received on, and the default device of VIPs.
	Interface string
	// VRID is virtual_router_id, 1..255 (required).
	VRID uint8
	// Priority is the base priority, 1..255 [100]; 255 is the address owner.
	Priority uint8
	// AdvertInterval is advert_int [1 s]; VRRPv2 rounds it to whole seconds, VRRPv3 to
	// centiseconds (at most 40.95 s).
	AdvertInterval time.Duration
	// Version is 2 or 3 [2; IPv6 instances are always 3].
	Version uint8
	// InitialState is `state MASTER` or `state BACKUP` [BACKUP]. MASTER only clears
	// nopreempt and preempt_delay; every instance starts as BACKUP except the owner.
	InitialState State
	// Nopreempt: a backup accepts a lower priority master (keepalived's nopreempt).
	Nopreempt bool
	// PreemptDelay holds preemption by a higher priority backup for this long, 0..1000 s.
	PreemptDelay time.Duration
	// DownTimerAdverts is how many adverts may be missed before the master is down [3].
	DownTimerAdverts int
	// LowerPrioNoAdvert: a master does not answer lower priority adverts at once.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert: a master that hears a higher priority advert sends one
	// before it becomes backup (higher_prio_send_advert).
	HigherPrioSendAdvert bool
	// AuthType and AuthPass are VRRPv2's authentication: PASS, or AH (IPsec AH with
	// HMAC-MD5-96 keyed by the password, as keepalived); only the first 8 bytes of the
	// password count. Ignored for version 3, as keepalived does.
	AuthType AuthType
	AuthPass string
	// VIPs are virtual_ipaddress: advertised, all of one family, added on MASTER.
	VIPs []VIP
	// ExcludedVIPs are virtual_ipaddress_excluded: added on MASTER but not advertised.
	ExcludedVIPs []VIP
	// Routes and Rules are virtual_routes and virtual_rules, added on MASTER.
	Routes []Route
	Rules  []Rule
	// SourceAddr is unicast_src_ip / mcast_src_ip [the interface's first address of the
	// VIPs' family; for IPv6 its link-local address].
	SourceAddr netip.Addr
	// UnicastPeers switch the instance from multicast to unicast adverts, one per peer.
	UnicastPeers []netip.Addr
	// PeerTTLs are the TTL / hop limit ranges unicast_peer's min_ttl and max_ttl allow
	// a peer's adverts, by peer, checked with CheckUnicastSrc (keepalived's); a peer
	// not listed may send any.
	PeerTTLs map[netip.Addr]TTLRange
	// ConfigFault, when set, holds the instance in FAULT for good with this reason
	// (keepalived's configuration faults, e.g. unicast_fault_no_peer without peers).
	ConfigFault string
	// UnicastTTL is the TTL / hop limit of unicast adverts (unicast_ttl) [255; 0 means
	// 255].
	UnicastTTL uint8
	// RxBufSize is the receive buffer (SO_RCVBUF) of the advert socket
	// (kernel_rx_buf_size) [Config.RxBufs].
	RxBufSize int
	// rxBufMTUs, set by normalize from RxBufs, sizes the buffer by the receiving
	// device's MTU, known only when the socket opens.
	rxBufMTUs int
	// UnicastChecksum is old_unicast_checksum: which pseudo-header an IPv4 VRRPv3
	// unicast instance's checksums cover.
	UnicastChecksum UnicastChecksum
	// oldChecksumGroup is the group the old unicast checksum holds: the node's
	// vrrp_mcast_group4 (never mcast_dst_ip), filled in by normalize.
	oldChecksumGroup netip.Addr
	// CheckUnicastSrc drops unicast adverts whose source is not one of UnicastPeers
	// (check_unicast_src); without it any source is accepted, as keepalived does.
	CheckUnicastSrc bool
	// MulticastGroup is mcast_dst_ip [Config.MulticastGroup4/6].
	MulticastGroup netip.Addr
	// SkipCheckAdvAddr does not compare the advertised addresses with ours.
	SkipCheckAdvAddr bool
	// Strict is strict_mode, for the JSON dump (its effects are in the other fields).
	Strict bool
	// GARP sets the gratuitous ARP / unsolicited NA schedule.
	GARP GARPConfig
	// UseVMAC puts the instance on a VMAC, as keepalived's use_vmac: a private-mode
	// macvlan on Interface with the virtual router MAC (VMACAddr). Addresses and routes
	// without a dev of their own go on it, adverts are received on it and sent from it,
	// gratuitous ARPs announce its MAC: a takeover moves the MAC, and neighbours' caches
	// stay right. The node creates it at start (or adopts one left by an earlier run)
	// and removes it when it stops.
	UseVMAC bool
	// VMACAddr is use_vmac_addr: each address on another interface than the
	// instance's, or of the other family, goes on a VMAC of its own on that interface.
	VMACAddr bool
	// addrVMACs are the VMACs of the instance's addresses (set by normalize).
	addrVMACs []addrVMAC
	// VMACName is the VMAC's name [vrrp.VRID; vrrp6.VRID for an IPv6 instance whose
	// VRID's name another instance already uses].
	VMACName string
	// VMACMAC is the MAC of the instance's VMACs, its address VMACs' too, instead of
	// the virtual router MAC (use_vmac … MAC) [VMACAddr].
	VMACMAC net.HardwareAddr
	// VMACXmitBase sends adverts from Interface with its own MAC instead of from the
	// VMAC (vmac_xmit_base); set automatically with unicast peers, as keepalived does.
	VMACXmitBase bool
	// DontTrackPrimary ignores the state of Interface itself.
	DontTrackPrimary bool
	// NoAccept turns accept mode off (no_accept; vrrp_strict's default): a master that
	// is not the address owner then drops all traffic to and from its addresses (RFC
	// 5798 §6.1) through nftables drop rules held while it is master, as keepalived
	// does.
	NoAccept bool
	// TrackInterfaces, TrackScripts and TrackFiles adjust the effective priority, or put
	// the instance in FAULT when their weight is 0.
	TrackInterfaces []TrackInterface
	TrackScripts    []TrackRef
	TrackFiles      []TrackRef
	TrackProcesses  []TrackRef
	// TrackBFDs are track_bfd: bfd_instance sessions, weighed as interfaces are (Up
	// or not); their states come from Node.SetBFD.
	TrackBFDs []TrackInterface
	// Notify are the instance's notify scripts.
	Notify NotifyConfig
	// SMTPAlert sends a mail on each state change through Options.Alerter.
	SMTPAlert bool
	// PromoteSecondaries sets net.ipv4.conf.IF.promote_secondaries on the instance's
	// interface (its VMAC when it has one) while the node runs, as keepalived's
	// promote_secondaries: an interface already at 1 is left as it is.
	PromoteSecondaries bool
	// NotifyPriorityChanges writes a notify_fifo line each time tracking changes the
	// effective priority (notify_priority_changes): INSTANCE "NAME" MASTER_PRIORITY|
	// BACKUP_PRIORITY PRIO. No script runs.
	NotifyPriorityChanges bool
}

func (in *InstanceConfig) unicastTTL() uint8 {
	if in.UnicastTTL == 0 {
		return TTL
	}
	return in.UnicastTTL
}

// VIP is one line of virtual_ipaddress: `IP[/PREFIX] [brd IP] [dev IF] [scope S]
// [label L]`.
type VIP struct {
	// Prefix is the address and its prefix length [/32, /128].
	Prefix netip.Prefix
	// Broadcast is brd; invalid means none.
	Broadcast netip.Addr
	// Peer is the other end of a point-to-point address; invalid means none.
	Peer netip.Addr
	// Flags are IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_NOPREFIXROUTE and
	// IFA_F_MCAUTOJOIN as given (home, mngtmpaddr, noprefixroute, autojoin).
	Flags int
	// DAD (keepalived's -nodad) lets an IPv6 address go through duplicate address
	// detection; without it it is usable at once (IFA_F_NODAD).
	DAD bool
	// PreferredLft is an IPv6 address's preferred lifetime in seconds: 0 makes it
	// deprecated (not chosen as a source), -1 is forever. Unset (nil): 0 for a /128,
	// forever otherwise, as keepalived.
	PreferredLft *int64
	// Dev is the device [the instance's interface].
	Dev string
	// Scope is the address scope: "global" (default), "site", "link", "host", "nowhere".
	Scope string
	// Label is the address label, conventionally "dev:tag".
	Label string
	// NoTrack is no_track: the address's device is not tracked; for the firewall, a
	// link-local address so marked is matched by its device's name.
	NoTrack bool
	// UseVMAC (use_vmac on the address's line) puts the address on a VMAC of its own
	// on Dev, as use_vmac_addr does, where the instance's VMAC would not carry it.
	UseVMAC bool

	// vmac is the address VMAC the address goes on (set by normalize); "": Dev.
	vmac string
}

// Route is one line of virtual_routes or static_routes.
type Route struct {
	Dst     netip.Prefix
	Src     netip.Addr // preferred source
	Gateway netip.Addr // via / gw
	Dev     string
	Table   int
	Metric  int
	Scope   string // as for VIP
	// Type is "" (unicast), "blackhole", "unreachable", "prohibit", "throw", "local",
	// "broadcast", "multicast", "anycast" or "nat".
	Type string
	// Protocol marks the route [0: 18, keepalived's]; a route is found again by it.
	Protocol uint8
	Tos      uint8
	Realms   uint32 // FROM<<16 | TO
	OnLink   bool
	// Mode is how the route goes in: prepend (keepalived's default, before any route
	// of the same key), add (fails on one) or append.
	Mode     RouteMode
	Nexthops []Nexthop
	Metrics  RouteMetrics
	// NoTrack: a deleted route is neither restored (static) nor a reason to leave
	// MASTER (virtual).
	NoTrack bool
}

// RouteMode is how a route is added.
type RouteMode uint8

const (
	RoutePrepend RouteMode = iota
	RouteAdd
	RouteAppend
)

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Gateway netip.Addr
	Dev     string
	Weight  int // 1..256 [1]
	OnLink  bool
}

// RouteMetrics are a route's RTAX attributes in the kernel's units; 0 is unset.
type RouteMetrics struct {
	MTU, AdvMSS, Reordering, Window, Cwnd, Ssthresh, InitCwnd, InitRwnd uint32
	RTT, RTTVar, RtoMin                                                 uint32
	Hoplimit                                                            uint8
	ECN, QuickACK, FastOpenNoCookie                                     bool
	Congctl                                                             string
	MTULock, RtoMinLock                                                 bool
}

// Rule is one line of virtual_rules or static_rules.
type Rule struct {
	From, To netip.Prefix
	Not      bool
	// Action is "" (look up Table), "goto" (Goto), "nop", "blackhole", "prohibit" or
	// "unreachable".
	Action   string
	Table    int
	Goto     int
	Priority int // preference; 0 lets the kernel choose
	IIF, OIF string
	FwMark   uint32
	FwMask   uint32
	Tos      uint8
	Realms   uint32
	// SuppressPrefixLen and SuppressIfGroup are -1 when unset.
	SuppressPrefixLen, SuppressIfGroup int
	TunnelID                           uint64
	UIDRange                           *[2]uint32
	IPProto                            int // 0: any
	SPort, DPort                       *[2]uint16
	// Protocol marks the rule [0: 18, keepalived's].
	Protocol uint8
	// Family is 4 or 6 when From and To are both unset (keepalived's `inet6`) [4].
	Family  int
	NoTrack bool
}

// GARPConfig is the gratuitous ARP / unsolicited NA schedule on becoming master.
type GARPConfig struct {
	// MasterDelay is when the second burst follows the first [5 s; negative: none].
	MasterDelay time.Duration
	// LowerPrioRepeat GARPs go out at once when a master hears a lower priority advert,
	// and again LowerPrioDelay later (garp_lower_prio_repeat/delay; keepalived defaults
	// them to the master's values): a backup that briefly took over has just sent GARPs
	// of its own, and without these the hosts keep sending to it. 0: none.
	LowerPrioRepeat int
	LowerPrioDelay  time.Duration
	// MasterRepeat is how many are sent per burst [5].
	MasterRepeat int
	// MasterRefresh, when positive, repeats a burst of MasterRefreshRepeat this often.
	MasterRefresh       time.Duration
	MasterRefreshRepeat int
	// ExtraIfInterval, when positive, sends one GARP / NA this often while master on
	// each interface other than the instance's own that carries its addresses
	// (garp_extra_if), to keep switches' MAC caches of those interfaces: only the
	// node's VMACs, or every such interface with ExtraIfAll. The instance's own counts
	// too with vmac_xmit_base, whose adverts leave by the base.
	ExtraIfInterval time.Duration
	ExtraIfAll      bool
}

// TrackInterface is one line of track_interface.
type TrackInterface struct {
	Name string
	// Weight is added while up (positive) or subtracted while down (negative); 0 puts
	// the instance in FAULT while the interface is down. Reverse negates what a weight
	// adds, at the same moments (keepalived's weight_multiplier), and with weight 0 makes
	// up the fault.
	Weight  int
	Reverse bool
}

// TrackRef refers to a vrrp_script, track_file or vrrp_track_process by name, with an optional weight that
// replaces the block's own.
type TrackRef struct {
	Name      string
	Weight    int
	WeightSet bool
	Reverse   bool
}

// ScriptConfig is one vrrp_script block.
type ScriptConfig struct {
	Name string
	// Command is the script, already split into argv (keepalived's script tokenising).
	Command Command
	// Interval between runs [1 s]; Timeout of one run [Interval].
	Interval, Timeout time.Duration
	// Weight -253..253 [0] and Reverse: as TrackInterface's, OK meaning success.
	Weight  int
	Reverse bool
	// Rise successes in a row make it OK, Fall failures in a row make it fail [1, 1].
	Rise, Fall int
	// InitFail starts the script as failed instead of OK.
	InitFail bool
}

// TrackFileConfig is one track_file block: the integer in File, times Weight, is added
// to the priority (weight 0: a non-zero value means FAULT).
type TrackFileConfig struct {
	Name    string
	File    string
	Weight  int // [1]
	Reverse bool
}

// Command is a program to run: argv, and optionally a user and group.
type Command struct {
	Argv        []string
	User, Group string
}

// NotifyConfig are keepalived's notify scripts. Master..Deleted run with their own
// arguments only; Generic gets TYPE NAME STATE PRIORITY appended.
type NotifyConfig struct {
	Master, Backup, Fault, Stop, Deleted, Generic *Command
	// AnnounceDeleted (notify_deleted, with or without Deleted) announces an instance
	// a reload removes as DELETED; without it, as FAULT, as keepalived does.
	AnnounceDeleted bool
	// MasterRxLowerPri runs each time a master hears a lower priority master
	// (notify_master_rx_lower_pri), with its own arguments only.
	MasterRxLowerPri *Command
}

// SyncGroupConfig is one vrrp_sync_group: its members change state together.
type SyncGroupConfig struct {
	Name    string
	Members []string
	// Tracking applied to every member.
	TrackInterfaces []TrackInterface
	TrackScripts    []TrackRef
	TrackFiles      []TrackRef
	TrackProcesses  []TrackRef
	TrackBFDs       []TrackInterface
	// TrackingWeight keeps the weights of the members' own tracked objects
	// (sync_group_tracking_weight); without it their interfaces count with weight 0
	// and their weighted scripts, BFDs and files are not tracked. The group's own
	// tracked objects keep their weights either way.
	TrackingWeight bool
	Notify         NotifyConfig
	SMTPAlert      bool
}

// RxBufs is keepalived's vrrp_rx_bufs_policy: an instance's advert socket receives
// into Size bytes, or Multiplier times its interface's MTU (PerMTU) or its advert's
// length (PerAdvert); with none of them the kernel's default stays.
type RxBufs struct {
	PerMTU, PerAdvert bool
	Size              int
	Multiplier        int
}

// UnicastChecksum says which destination the pseudo-header of an IPv4 VRRPv3 unicast
// advert's checksum holds. keepalived 1.3.6 and earlier put the multicast group there
// (vrrp_mcast_group4) instead of the peer's address, so their adverts fail the RFC's
// check and ours fail theirs.
type UnicastChecksum uint8

const (
	// UnicastChecksumDetect uses the peer's address, and switches to the group for
	// good the first time a unicast advert verifies only with it (keepalived's
	// default, which logs "Setting unicast VRRPv3 checksum to old version").
	UnicastChecksumDetect UnicastChecksum = iota
	// UnicastChecksumNever always uses the peer's address (old_unicast_checksum never).
	UnicastChecksumNever
	// UnicastChecksumOld always uses the group (old_unicast_checksum).
	UnicastChecksumOld
)

// Defaults for zero fields, as keepalived 2.2.7 has them.
const (
	DefaultPriority       = 100
	DefaultAdvertInterval = time.Second
	DefaultGARPDelay      = 5 * time.Second
	DefaultGARPRepeat     = 5
)

// normalize validates c and returns a copy with every default filled in. Errors name
// the instance and field.
func (c Config) normalize() (Config, error) {
	out := c
	if !out.MulticastGroup4.IsValid() {
		out.MulticastGroup4 = MulticastGroup4
	}
	if !out.MulticastGroup6.IsValid() {
		out.MulticastGroup6 = MulticastGroup6
	}
	if c.StartupDelay < 0 {
		return c, fmt.Errorf("vrrp_startup_delay: %v is negative", c.StartupDelay)
	}
	scripts := map[string]bool{}
	out.Scripts = append([]ScriptConfig(nil), c.Scripts...)
	for i := range out.Scripts {
		s := &out.Scripts[i]
		if s.Name == "" || scripts[s.Name] {
			return c, fmt.Errorf("vrrp_script %d: empty or duplicate name %q", i, s.Name)
		}
		scripts[s.Name] = true
		if len(s.Command.Argv) == 0 {
			return c, fmt.Errorf("vrrp_script %s: no script", s.Name)
		}
		if s.Interval <= 0 {
			s.Interval = time.Second
		}
		if s.Timeout <= 0 {
			s.Timeout = s.Interval
		}
		if s.Rise <= 0 {
			s.Rise = 1
		}
		if s.Fall <= 0 {
			s.Fall = 1
		}
		if s.Weight < -253 || s.Weight > 253 {
			return c, fmt.Errorf("vrrp_script %s: weight %d outside -253..253", s.Name, s.Weight)
		}
	}
	files := map[string]bool{}
	for i, f := range c.TrackFiles {
		if f.Name == "" || files[f.Name] || f.File == "" {
			return c, fmt.Errorf("track_file %d (%q): empty or duplicate name, or no file", i, f.Name)
		}
		files[f.Name] = true
	}
	procs := map[string]bool{}
	out.TrackProcesses = append([]TrackProcessConfig(nil), c.TrackProcesses...)
	for i := range out.TrackProcesses {
		p := &out.TrackProcesses[i]
		if err := p.normalize(); err != nil {
			return c, fmt.Errorf("vrrp_track_process %d (%q): %w", i, p.Name, err)
		}
		if procs[p.Name] {
			return c, fmt.Errorf("vrrp_track_process %q: defined twice", p.Name)
		}
		procs[p.Name] = true
	}
	checkRefs := func(where, kind string, refs []TrackRef, known map[string]bool) error {
		for _, r := range refs {
			if !known[r.Name] {
				return fmt.Errorf("%s: %s %q is not defined", where, kind, r.Name)
			}
		}
		return nil
	}
	names := map[string]int{}
	type vkey struct {
		iface string
		vrid  uint8
		v6    bool
	}
	vrids := map[vkey]string{}
	vmacs := map[string]string{}
	out.Instances = append([]InstanceConfig(nil), c.Instances...)
	// keepalived's generated names avoid every name given in the file, later ones too.
	named := map[string]bool{}
	for _, in := range c.Instances {
		if in.UseVMAC && in.VMACName != "" {
			named[in.VMACName] = true
		}
	}
	vmacPrefix := cmp.Or(c.VMACPrefix, "vrrp")
	for i := range out.Instances {
		in := &out.Instances[i]
		where := fmt.Sprintf("vrrp_instance %s", in.Name)
		if in.Name == "" {
			return c, fmt.Errorf("vrrp_instance %d: no name", i)
		}
		if _, dup := names[in.Name]; dup {
			return c, fmt.Errorf("%s: defined twice", where)
		}
		names[in.Name] = i
		if err := in.normalize(); err != nil {
			return c, fmt.Errorf("%s: %w", where, err)
		}
		if err := checkRefs(where, "track_script", in.TrackScripts, scripts); err != nil {
			return c, err
		}
		if err := checkRefs(where, "track_file", in.TrackFiles, files); err != nil {
			return c, err
		}
		if err := checkRefs(where, "track_process", in.TrackProcesses, procs); err != nil {
			return c, err
		}
		k := vkey{in.Interface, in.VRID, in.IPv6()}
		if other, dup := vrids[k]; dup {
			return c, fmt.Errorf("%s: virtual_router_id %d on %s is already used by %s", where, in.VRID, in.Interface, other)
		}
		vrids[k] = in.Name
		if in.UseVMAC {
			if in.VMACName == "" {
				taken := maps.Clone(named)
				for name := range vmacs {
					taken[name] = true
				}
				in.VMACName = defaultVMACName(vmacPrefix, in.VRID, in.IPv6(), taken)
				if !validDevName(in.VMACName) {
					return c, fmt.Errorf("%s: vmac_prefix %q makes %q, which is not a valid interface name", where, vmacPrefix, in.VMACName)
				}
			}
			if other, dup := vmacs[in.VMACName]; dup {
				return c, fmt.Errorf("%s: use_vmac %s is already the VMAC of %s", where, in.VMACName, other)
			}
			vmacs[in.VMACName] = in.Name
		}

		in.oldChecksumGroup = out.MulticastGroup4
		if in.RxBufSize == 0 {
			switch p := c.RxBufs; {
			case p.Size > 0:
				in.RxBufSize = p.Size
			case p.PerAdvert:
				in.RxBufSize = max(p.Multiplier, 1) * in.advertLen()
			case p.PerMTU:
				in.rxBufMTUs = max(p.Multiplier, 1)
			}
		}
		if !in.MulticastGroup.IsValid() {
			in.MulticastGroup = out.MulticastGroup4
			if in.IPv6() {
				in.MulticastGroup = out.MulticastGroup6
			}
		}
	}
	// The addresses' VMACs are named after every instance's own, as keepalived names
	// them when it completes the instances, after reading the file.
	for i := range out.Instances {
		in := &out.Instances[i]
		if err := in.placeAddrVMACs(cmp.Or(c.VMACAddrPrefix, vmacPrefix), named, vmacs); err != nil {
			return c, fmt.Errorf("vrrp_instance %s: %w", in.Name, err)
		}
	}
	member := map[string]string{}
	out.SyncGroups = append([]SyncGroupConfig(nil), c.SyncGroups...)
	for _, g := range out.SyncGroups {
		where := fmt.Sprintf("vrrp_sync_group %s", g.Name)
		if len(g.Members) == 0 {
			return c, fmt.Errorf("%s: no group members", where)
		}
		for _, m := range g.Members {
			if _, ok := names[m]; !ok {
				return c, fmt.Errorf("%s: member %q is not a vrrp_instance", where, m)
			}
			if other, dup := member[m]; dup {
				return c, fmt.Errorf("%s: member %q is already in %s", where, m, other)
			}
			member[m] = g.Name
		}
		if err := checkRefs(where, "track_script", g.TrackScripts, scripts); err != nil {
			return c, err
		}
		if err := checkRefs(where, "track_file", g.TrackFiles, files); err != nil {
			return c, err
		}
		if err := checkRefs(where, "track_process", g.TrackProcesses, procs); err != nil {
			return c, err
		}
	}
	return out, nil
}

// IPv6 reports whether the instance advertises IPv6 addresses.
func (in *InstanceConfig) IPv6() bool {
	if len(in.VIPs) > 0 {
		return in.VIPs[0].Prefix.Addr().Is6()
	}
	return in.SourceAddr.Is6()
}

// advertLen is keepalived's vrrp_adv_len: the length of the instance's adverts as its
// socket receives them (IPv4 with the IP header and any AH header).
func (in *InstanceConfig) advertLen() int {
	a := Advert{Version: in.Version}
	for _, v := range in.VIPs {
		a.Addrs = append(a.Addrs, v.Prefix.Addr())
	}
	n := a.Len()
	if !in.IPv6() {
		n += ipv4HeaderLen
		if in.AuthType == AuthAH {
			n += ahHeaderLen
		}
	}
	return n
}

func (in *InstanceConfig) normalize() error {
	if in.Interface == "" {
		return fmt.Errorf("interface: missing")
	}
	if in.VRID == 0 {
		return fmt.Errorf("virtual_router_id: missing or 0, want 1..255")
	}
	if in.Priority == 0 {
		in.Priority = DefaultPriority
	}
	if in.InitialState != StateMaster && in.InitialState != StateBackup && in.InitialState != StateInit {
		return fmt.Errorf("state: %v, want MASTER or BACKUP", in.InitialState)
	}
	if in.InitialState == StateMaster || in.Priority == 255 {
		// keepalived: `state MASTER` and the owner both ignore nopreempt/preempt_delay.
		in.Nopreempt, in.PreemptDelay = false, 0
	}
	if in.PreemptDelay < 0 || in.PreemptDelay > 1000*time.Second {
		return fmt.Errorf("preempt_delay: %v outside 0..1000 s", in.PreemptDelay)
	}
	if in.AdvertInterval == 0 {
		in.AdvertInterval = DefaultAdvertInterval
	}
	if in.IPv6() {
		if in.Version == 2 {
			return fmt.Errorf("version: 2 cannot carry IPv6 addresses, use 3")
		}
		in.Version = 3
	}
	switch in.Version {
	case 0, 2:
		in.Version = 2
		in.AdvertInterval = in.AdvertInterval.Round(time.Second)
		if in.AdvertInterval < time.Second || in.AdvertInterval > 255*time.Second {
			return fmt.Errorf("advert_int: %v outside 1..255 s for VRRPv2", in.AdvertInterval)
		}
	case 3:
		in.AdvertInterval = in.AdvertInterval.Truncate(10 * time.Millisecond)
		if in.AdvertInterval < 10*time.Millisecond || in.AdvertInterval > maxV3Interval {
			return fmt.Errorf("advert_int: %v outside 0.01..40.95 s for VRRPv3", in.AdvertInterval)
		}
		in.AuthType, in.AuthPass = AuthNone, "" // keepalived: "v3 does not support authentication"
	default:
		return fmt.Errorf("version: %d, want 2 or 3", in.Version)
	}
	switch in.AuthType {
	case AuthNone, AuthPass, AuthAH:
	default:
		return fmt.Errorf("authentication: auth_type %v, want PASS or AH", in.AuthType)
	}
	if in.DownTimerAdverts == 0 {
		in.DownTimerAdverts = 3
	}
	if in.DownTimerAdverts < 1 || in.DownTimerAdverts > 100 {
		return fmt.Errorf("down_timer_adverts: %d outside 1..100", in.DownTimerAdverts)
	}
	if len(in.VIPs) > maxAddrs {
		return fmt.Errorf("virtual_ipaddress: %d addresses, at most %d fit an advert", len(in.VIPs), maxAddrs)
	}
	v6 := in.IPv6()
	for i, v := range in.VIPs {
		if !v.Prefix.IsValid() {
			return fmt.Errorf("virtual_ipaddress %d: no address", i+1)
		}
		if v.Prefix.Addr().Is6() != v6 {
			return fmt.Errorf("virtual_ipaddress %d (%v): every address must be of one family", i+1, v.Prefix)
		}
	}
	for i, v := range in.ExcludedVIPs {
		if !v.Prefix.IsValid() {
			return fmt.Errorf("virtual_ipaddress_excluded %d: no address", i+1)
		}
	}
	if in.SourceAddr.IsValid() && in.SourceAddr.Is6() != v6 {
		return fmt.Errorf("unicast_src_ip %v: not of the VIPs' family", in.SourceAddr)
	}
	for _, p := range in.UnicastPeers {
		if p.Is6() != v6 {
			return fmt.Errorf("unicast_peer %v: not of the VIPs' family", p)
		}
	}
	if in.MulticastGroup.IsValid() && (!in.MulticastGroup.IsMulticast() || in.MulticastGroup.Is6() != v6) {
		return fmt.Errorf("mcast_dst_ip %v: not a multicast address of the VIPs' family", in.MulticastGroup)
	}
	if in.GARP.MasterDelay == 0 {
		in.GARP.MasterDelay = DefaultGARPDelay
	}
	if in.GARP.MasterRepeat <= 0 {
		in.GARP.MasterRepeat = DefaultGARPRepeat
	}
	if in.GARP.MasterRefreshRepeat <= 0 {
		in.GARP.MasterRefreshRepeat = 1
	}
	if in.UseVMAC {
		if in.VMACName != "" && !validDevName(in.VMACName) {
			return fmt.Errorf("use_vmac %q: not a valid interface name (1..15 characters, no '/', ':' or space)", in.VMACName)
		}
		if in.VMACName == in.Interface {
			return fmt.Errorf("use_vmac %s: the VMAC cannot be the interface itself", in.VMACName)
		}
		if len(in.UnicastPeers) > 0 {
			// keepalived: "unicast with use_vmac requires vmac_xmit_base - setting".
			in.VMACXmitBase = true
		}
	} else if in.VMACName != "" || in.VMACXmitBase {
		return fmt.Errorf("VMAC settings without use_vmac")
	}
	for _, ti := range in.TrackInterfaces {
		if ti.Weight < -253 || ti.Weight > 253 {
			return fmt.Errorf("track_interface %s: weight %d outside -253..253", ti.Name, ti.Weight)
		}
	}
	return nil
}

// TTLRange is the TTLs allowed, Min to Max included.
type TTLRange struct{ Min, Max uint8 }

// RcvBuf is a socket's receive buffer size: the zero value leaves the kernel's default.
type RcvBuf struct {
	Bytes int
	// Force sets it with SO_RCVBUFFORCE, beyond net.core.rmem_max (CAP_NET_ADMIN).
	Force bool
}

// set applies b to socket fd.
func (b RcvBuf) set(fd int) error {
	opt := unix.SO_RCVBUF
	if b.Force {
		opt = unix.SO_RCVBUFFORCE
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, b.Bytes)
}

// addrVMAC is a VMAC that carries addresses of an instance (use_vmac_addr, or use_vmac
// on an address) on base: keepalived's address VMACs.
type addrVMAC struct {
	name, base string
	v6         bool
}

// placeAddrVMACs decides which addresses go on a VMAC of their own, as keepalived's
// vrrp_complete_instance does: one on the instance's interface only when the
// instance's VMAC cannot carry it (other family) and use_vmac_addr or its use_vmac
// asks; one elsewhere when either asks. Their VMACs (one per interface and family)
// get keepalived's generated names (create_vmac_name with prefix), avoiding every
// name in named and vmacs, where they are added.
func (in *InstanceConfig) placeAddrVMACs(prefix string, named map[string]bool, vmacs map[string]string) error {
	in.addrVMACs = nil
	in.VIPs, in.ExcludedVIPs = slices.Clone(in.VIPs), slices.Clone(in.ExcludedVIPs)
	for _, list := range [][]VIP{in.VIPs, in.ExcludedVIPs} {
		for k := range list {
			v := &list[k]
			v.vmac = ""
			v6 := v.Prefix.Addr().Is6()
			own := v.Dev == "" || v.Dev == in.Interface
			if own && (in.UseVMAC && v6 == in.IPv6() || !v.UseVMAC && !(in.VMACAddr && v6 != in.IPv6())) ||
				!own && !v.UseVMAC && !in.VMACAddr {
				continue
			}
			base := cmp.Or(v.Dev, in.Interface)
			i := slices.IndexFunc(in.addrVMACs, func(a addrVMAC) bool { return a.base == base && a.v6 == v6 })
			if i < 0 {
				taken := maps.Clone(named)
				for name := range vmacs {
					taken[name] = true
				}
				name := defaultVMACName(prefix, in.VRID, v6, taken)
				if !validDevName(name) {
					return fmt.Errorf("vmac_addr_prefix %q makes %q, which is not a valid interface name", prefix, name)
				}
				vmacs[name] = in.Name
				in.addrVMACs = append(in.addrVMACs, addrVMAC{name: name, base: base, v6: v6})
				i = len(in.addrVMACs) - 1
			}
			v.vmac = in.addrVMACs[i].name
		}
	}
	return nil
}
