package config

import (
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Source records where a block was written and where each of its keywords was set.
// Lines is keyed by the keyword's canonical name (lb_kind, not lvs_method). A value
// that no line set is a default; a value inherited from an enclosing block (a checker's
// delay_loop taken from its virtual_server) carries that block's line.
type Source struct {
	Pos   Pos            `json:"pos"`
	Lines map[string]Pos `json:"lines,omitempty"`
}

// IsSet reports whether a line set the keyword (or an enclosing block it inherits from).
func (s *Source) IsSet(keyword string) bool { _, ok := s.Lines[keyword]; return ok }

// Line returns where the keyword was set, or the zero Pos for a default.
func (s *Source) Line(keyword string) Pos { return s.Lines[keyword] }

func (s *Source) mark(keyword string, p Pos) {
	if s.Lines == nil {
		s.Lines = make(map[string]Pos, 4)
	}
	s.Lines[keyword] = p
}

// Config is a whole keepalived.conf, includes expanded and defaults filled.
type Config struct {
	Source
	Global              GlobalDefs            `json:"global" kw:"global_defs"`
	NetNamespace        string                `json:"net_namespace,omitempty" kw:"net_namespace"`
	Instance            string                `json:"instance,omitempty" kw:"instance"`                     // names the dump files with data_use_instance
	NetNamespaceIPVS    string                `json:"net_namespace_ipvs,omitempty" kw:"net_namespace_ipvs"` // with IsSet: "" is the default namespace
	StaticAddresses     []IPAddress           `json:"static_addresses,omitempty" kw:"static_ipaddress"`
	StaticRoutes        []Route               `json:"static_routes,omitempty" kw:"static_routes"`
	StaticRules         []Rule                `json:"static_rules,omitempty" kw:"static_rules"`
	Scripts             []*VRRPScript         `json:"vrrp_scripts,omitempty" kw:"vrrp_script"`
	TrackFiles          []*TrackFile          `json:"track_files,omitempty" kw:"track_file"`
	TrackGroups         []*TrackGroup         `json:"track_groups,omitempty" kw:"track_group"`
	TrackProcesses      []*TrackProcess       `json:"track_processes,omitempty" kw:"vrrp_track_process"`
	BFDInstances        []*BFDInstance        `json:"bfd_instances,omitempty" kw:"bfd_instance"`
	SyncGroups          []*SyncGroup          `json:"sync_groups,omitempty" kw:"vrrp_sync_group"`
	GarpGroups          []*GarpGroup          `json:"garp_groups,omitempty" kw:"garp_group"`
	LinkDelays          []LinkDelay           `json:"interface_up_down_delays,omitempty" kw:"interface_up_down_delays"`
	Instances           []*Instance           `json:"vrrp_instances,omitempty" kw:"vrrp_instance"`
	VirtualServerGroups []*VirtualServerGroup `json:"virtual_server_groups,omitempty" kw:"virtual_server_group"`
	VirtualServers      []*VirtualServer      `json:"virtual_servers,omitempty" kw:"virtual_server"`
	SSL                 *SSL                  `json:"ssl,omitempty" kw:"SSL"` // nil: SSL_GET uses a default client context
}

// GlobalDefs is the global_defs block: process-wide settings and defaults for instances.
type GlobalDefs struct {
	Source
	RouterID                       string        `json:"router_id,omitempty" kw:"router_id"`       // [short host name, filled by the runtime]
	DefaultInterface               string        `json:"default_interface" kw:"default_interface"` // [eth0] for static addresses and routes without dev
	McastGroup4                    netip.Addr    `json:"vrrp_mcast_group4" kw:"vrrp_mcast_group4"` // [224.0.0.18]
	LogUnknownVRIDs                bool          `json:"log_unknown_vrids,omitempty" kw:"log_unknown_vrids"`
	VMACPrefix                     string        `json:"vmac_prefix,omitempty" kw:"vmac_prefix"`           // [vrrp]
	VMACAddrPrefix                 string        `json:"vmac_addr_prefix,omitempty" kw:"vmac_addr_prefix"` // [vmac_prefix]
	McastGroup6                    netip.Addr    `json:"vrrp_mcast_group6" kw:"vrrp_mcast_group6"`         // [ff02::12]
	RxBufsPolicy                   *RxBufsPolicy `json:"vrrp_rx_bufs_policy,omitempty" kw:"vrrp_rx_bufs_policy"`
	RxBufsMultiplier               int           `json:"vrrp_rx_bufs_multiplier" kw:"vrrp_rx_bufs_multiplier"` // [3]
	VRRPVersion                    int           `json:"vrrp_version" kw:"vrrp_version"`                       // [2]
	GarpMasterDelay                time.Duration `json:"garp_master_delay" kw:"vrrp_garp_master_delay"`        // [5s]
	GarpMasterRepeat               int           `json:"garp_master_repeat" kw:"vrrp_garp_master_repeat"`
	GarpMasterRefresh              time.Duration `json:"garp_master_refresh" kw:"vrrp_garp_master_refresh"`
	GarpRefreshRepeat              int           `json:"garp_master_refresh_repeat" kw:"vrrp_garp_master_refresh_repeat"`
	GarpLowerPrioDelay             time.Duration `json:"garp_lower_prio_delay" kw:"vrrp_garp_lower_prio_delay"`   // [= GarpMasterDelay]
	GarpLowerPrioRepeat            int           `json:"garp_lower_prio_repeat" kw:"vrrp_garp_lower_prio_repeat"` // [= GarpMasterRepeat]
	GarpExtraIf                    *GarpExtraIf  `json:"garp_extra_if,omitempty" kw:"vrrp_garp_extra_if"`         // nil: none
	MinGarp                        bool          `json:"vrrp_min_garp,omitempty" kw:"vrrp_min_garp"`              // one GARP, no second burst, no refresh: applied to the Garp* fields
	GarpInterval                   time.Duration `json:"garp_interval" kw:"vrrp_garp_interval"`
	GnaInterval                    time.Duration `json:"gna_interval" kw:"vrrp_gna_interval"`
	DownTimerAdverts               int           `json:"down_timer_adverts" kw:"vrrp_down_timer_adverts"` // [3]
	LowerPrioNoAdvert              bool          `json:"lower_prio_no_advert" kw:"vrrp_lower_prio_no_advert"`
	HigherPrioSendAdvert           bool          `json:"higher_prio_send_advert" kw:"vrrp_higher_prio_send_advert"`
	CheckUnicastSrc                bool          `json:"check_unicast_src" kw:"vrrp_check_unicast_src"`
	SkipCheckAdvAddr               bool          `json:"skip_check_adv_addr" kw:"vrrp_skip_check_adv_addr"`
	Strict                         bool          `json:"vrrp_strict" kw:"vrrp_strict"`
	VRRPIptables                   []string      `json:"vrrp_iptables,omitempty" kw:"vrrp_iptables"`                 // the chains named; iptables is not supported, so it means nftables
	NFTables                       string        `json:"nftables,omitempty" kw:"nftables"`                           // table of the no_accept drop and VMAC rules; "" when not set (keepalived then uses "keepalived" where one is needed)
	NFTablesPriority               int           `json:"nftables_priority" kw:"nftables_priority"`                   // [-1] priority of the table's base chains
	NFTablesCounters               bool          `json:"nftables_counters,omitempty" kw:"nftables_counters"`         // a counter in every rule
	NFTablesIPVS                   string        `json:"nftables_ipvs,omitempty" kw:"nftables_ipvs"`                 // table of the group marks; "" when not set
	NFTablesIPVSPriority           int           `json:"nftables_ipvs_priority" kw:"nftables_ipvs_priority"`         // [-1]
	NFTablesIPVSStartFwmark        int           `json:"nftables_ipvs_start_fwmark" kw:"nftables_ipvs_start_fwmark"` // [1000]
	NFTablesIfIndex                bool          `json:"nftables_ifindex,omitempty" kw:"nftables_ifindex"`           // link-local addresses matched by interface index, never name
	StartupDelay                   time.Duration `json:"startup_delay" kw:"vrrp_startup_delay"`
	DynamicInterfaces              bool          `json:"dynamic_interfaces,omitempty" kw:"dynamic_interfaces"` // missing instance interfaces mean FAULT, not an error
	ScriptUser                     UserGroup     `json:"script_user" kw:"script_user"`
	EnableScriptSecurity           bool          `json:"enable_script_security" kw:"enable_script_security"`
	LVSSyncDaemon                  *SyncDaemon   `json:"lvs_sync_daemon,omitempty" kw:"lvs_sync_daemon"`
	LVSTimeouts                    LVSTimeouts   `json:"lvs_timeouts" kw:"lvs_timeouts"`
	LVSFlush                       bool          `json:"lvs_flush" kw:"lvs_flush"`
	LVSFlushOnStop                 string        `json:"lvs_flush_on_stop,omitempty" kw:"lvs_flush_on_stop"`     // "" (off), "VS" or "RS"
	ReloadCheckConfig              string        `json:"reload_check_config,omitempty" kw:"reload_check_config"` // log file; "": not set
	IncludeCheck                   []string      `json:"include_check,omitempty" kw:"include_check"`             // as written; the lexer applies it
	VRRPPriority                   int           `json:"vrrp_priority,omitempty" kw:"vrrp_priority"`
	VRRPNoSwap                     bool          `json:"vrrp_no_swap,omitempty" kw:"vrrp_no_swap"`
	VRRPRTPriority                 int           `json:"vrrp_rt_priority,omitempty" kw:"vrrp_rt_priority"`
	VRRPCPUAffinity                []int         `json:"vrrp_cpu_affinity,omitempty" kw:"vrrp_cpu_affinity"`
	VRRPRlimitRTTime               int           `json:"vrrp_rlimit_rttime" kw:"vrrp_rlimit_rttime"` // [10000] µs
	VRRPNetlinkCmdRcvBufs          int           `json:"vrrp_netlink_cmd_rcv_bufs,omitempty" kw:"vrrp_netlink_cmd_rcv_bufs"`
	VRRPNetlinkCmdRcvBufsForce     bool          `json:"vrrp_netlink_cmd_rcv_bufs_force,omitempty" kw:"vrrp_netlink_cmd_rcv_bufs_force"`
	VRRPNetlinkMonitorRcvBufs      int           `json:"vrrp_netlink_monitor_rcv_bufs,omitempty" kw:"vrrp_netlink_monitor_rcv_bufs"`
	VRRPNetlinkMonitorRcvBufsForce bool          `json:"vrrp_netlink_monitor_rcv_bufs_force,omitempty" kw:"vrrp_netlink_monitor_rcv_bufs_force"`
	ProcessMonitorRcvBufs          int           `json:"process_monitor_rcv_bufs,omitempty" kw:"process_monitor_rcv_bufs"`
	ProcessMonitorRcvBufsForce     bool          `json:"process_monitor_rcv_bufs_force,omitempty" kw:"process_monitor_rcv_bufs_force"`
	LVSNetlinkMonitorRcvBufs       int           `json:"lvs_netlink_monitor_rcv_bufs,omitempty" kw:"lvs_netlink_monitor_rcv_bufs"`
	LVSNetlinkMonitorRcvBufsForce  bool          `json:"lvs_netlink_monitor_rcv_bufs_force,omitempty" kw:"lvs_netlink_monitor_rcv_bufs_force"`
	ReloadTimeFile                 string        `json:"reload_time_file,omitempty" kw:"reload_time_file"`
	ReloadRepeat                   bool          `json:"reload_repeat,omitempty" kw:"reload_repeat"`
	ReloadFile                     string        `json:"reload_file,omitempty" kw:"reload_file"` // "" with the keyword: the default file
	DataUseInstance                bool          `json:"data_use_instance,omitempty" kw:"data_use_instance"`
	ProcessName                    string        `json:"process_name,omitempty" kw:"process_name"`
	EnableDBus                     bool          `json:"enable_dbus,omitempty" kw:"enable_dbus"`
	SNMPSocket                     string        `json:"snmp_socket,omitempty" kw:"snmp_socket"`
	EnableTraps                    bool          `json:"enable_traps,omitempty" kw:"enable_traps"`
	EnableSNMPRFC                  bool          `json:"enable_snmp_rfc,omitempty" kw:"enable_snmp_rfc"`
	EnableSNMPRFCv2                bool          `json:"enable_snmp_rfcv2,omitempty" kw:"enable_snmp_rfcv2"`
	EnableSNMPRFCv3                bool          `json:"enable_snmp_rfcv3,omitempty" kw:"enable_snmp_rfcv3"`
	EnableSNMPVRRP                 bool          `json:"enable_snmp_vrrp,omitempty" kw:"enable_snmp_vrrp"`
	EnableSNMPChecker              bool          `json:"enable_snmp_checker,omitempty" kw:"enable_snmp_checker"`
	DBusServiceName                string        `json:"dbus_service_name,omitempty" kw:"dbus_service_name"` // "": org.keepalived.Vrrp1
	DisableLocalIGMP               bool          `json:"disable_local_igmp,omitempty" kw:"disable_local_igmp"`
	MaxAutoPriority                int           `json:"max_auto_priority,omitempty" kw:"max_auto_priority"`   // 0 or -1: off
	MinAutoPriorityDelay           int           `json:"min_auto_priority_delay" kw:"min_auto_priority_delay"` // [1000000] µs
	CheckerNoSwap                  bool          `json:"checker_no_swap,omitempty" kw:"checker_no_swap"`
	BFDPriority                    int           `json:"bfd_priority,omitempty" kw:"bfd_priority"`
	BFDNoSwap                      bool          `json:"bfd_no_swap,omitempty" kw:"bfd_no_swap"`
	BFDRTPriority                  int           `json:"bfd_rt_priority,omitempty" kw:"bfd_rt_priority"`
	BFDCPUAffinity                 []int         `json:"bfd_cpu_affinity,omitempty" kw:"bfd_cpu_affinity"`
	BFDRlimitRTTime                int           `json:"bfd_rlimit_rttime" kw:"bfd_rlimit_rttime"` // [10000] µs
	RandomSeed                     *uint32       `json:"random_seed,omitempty" kw:"random_seed"`
	Umask                          *FileMask     `json:"umask,omitempty" kw:"umask"`                           // nil: unchanged (govs run starts with DefaultFileMask or -u)
	StartupScript                  *Script       `json:"startup_script,omitempty" kw:"startup_script"`         // run before anything starts
	StartupScriptTimeout           int           `json:"startup_script_timeout" kw:"startup_script_timeout"`   // [10] seconds
	ShutdownScript                 *Script       `json:"shutdown_script,omitempty" kw:"shutdown_script"`       // run after everything stopped
	ShutdownScriptTimeout          int           `json:"shutdown_script_timeout" kw:"shutdown_script_timeout"` // [10] seconds

	// Mail alerts. Mail is sent only when MailEnabled; the per-object SMTPAlert fields
	// (Instance, SyncGroup, VirtualServer, RealServer) are already resolved against
	// these globals and MailEnabled.
	NotificationEmail     []string      `json:"notification_email,omitempty" kw:"notification_email"`
	NotificationEmailFrom string        `json:"notification_email_from,omitempty" kw:"notification_email_from"` // [USER@<host name>, as keepalived: filled by the runtime]
	SMTPServer            *HostPort     `json:"smtp_server,omitempty" kw:"smtp_server"`                         // nil: no mail; port [25]
	SMTPHeloName          string        `json:"smtp_helo_name,omitempty" kw:"smtp_helo_name"`                   // [host name, filled by the runtime]
	SMTPConnectTimeout    time.Duration `json:"smtp_connect_timeout" kw:"smtp_connect_timeout"`                 // [30s] bounds the connection and each reply
	SMTPAlert             bool          `json:"smtp_alert" kw:"smtp_alert"`                                     // as written; see SMTPAlertVRRP, SMTPAlertChecker
	SMTPAlertVRRP         bool          `json:"smtp_alert_vrrp" kw:"smtp_alert_vrrp"`                           // [smtp_alert] default of instances and sync groups
	SMTPAlertChecker      bool          `json:"smtp_alert_checker" kw:"smtp_alert_checker"`                     // [smtp_alert] default of virtual and real servers
	NoEmailFaults         bool          `json:"no_email_faults" kw:"no_email_faults"`                           // no mail when an instance or group enters FAULT
	NoCheckerEmails       bool          `json:"no_checker_emails" kw:"no_checker_emails"`                       // checker mail only when a real server changes state
	CheckerLogAllFailures bool          `json:"checker_log_all_failures" kw:"checker_log_all_failures"`         // every checker logs every failure (ORed into Checker.LogAllFailures)
	RSInitNotifies        bool          `json:"rs_init_notifies,omitempty" kw:"rs_init_notifies"`               // notify_up of real servers that start up, at start

	// Notify FIFOs: named pipes that get one line per state change. A *Script is the
	// reader started for its FIFO; it is nil when its FIFO is not set.
	NotifyFIFO                  *FIFO   `json:"notify_fifo,omitempty" kw:"notify_fifo"` // VRRP and checker events
	NotifyFIFOScript            *Script `json:"notify_fifo_script,omitempty" kw:"notify_fifo_script"`
	VRRPNotifyFIFO              *FIFO   `json:"vrrp_notify_fifo,omitempty" kw:"vrrp_notify_fifo"` // VRRP events; nil when it is NotifyFIFO's path
	VRRPNotifyFIFOScript        *Script `json:"vrrp_notify_fifo_script,omitempty" kw:"vrrp_notify_fifo_script"`
	LVSNotifyFIFO               *FIFO   `json:"lvs_notify_fifo,omitempty" kw:"lvs_notify_fifo"` // checker events; nil when it is NotifyFIFO's path
	LVSNotifyFIFOScript         *Script `json:"lvs_notify_fifo_script,omitempty" kw:"lvs_notify_fifo_script"`
	FIFOWriteVRRPStatesOnReload bool    `json:"fifo_write_vrrp_states_on_reload" kw:"fifo_write_vrrp_states_on_reload"`   // write every instance's state after a reload
	VRRPNotifyPriorityChanges   bool    `json:"vrrp_notify_priority_changes,omitempty" kw:"vrrp_notify_priority_changes"` // default of instances' notify_priority_changes

	// govs extensions: the HTTP listener for /metrics, JSON status and the dashboard.
	HTTPListen    netip.AddrPort `json:"http_listen,omitzero" kw:"http_listen"`          // zero: no HTTP listener
	HTTPListenAny bool           `json:"http_listen_any,omitempty" kw:"http_listen_any"` // allow an unspecified (all-interfaces) http_listen address
	HTTPToken     Secret         `json:"http_token,omitempty" kw:"http_token"`           // bearer token the HTTP API requires; "": none
}

// MailEnabled reports whether alert mail can be sent: an SMTP server and at least one
// recipient are configured.
func (g *GlobalDefs) MailEnabled() bool {
	return g.SMTPServer != nil && len(g.NotificationEmail) > 0
}

// HostPort is a host name or IP address with a port, as smtp_server takes it; the name
// is resolved when it is used, not when the configuration is read.
type HostPort struct {
	Host string `json:"host"`
	Port uint16 `json:"port"`
}

// String returns host:port, with IPv6 addresses in brackets, ready for net.Dial.
func (h HostPort) String() string {
	return net.JoinHostPort(h.Host, strconv.Itoa(int(h.Port)))
}

// FIFO is a notify FIFO (named pipe) keepalived creates if it is missing.
type FIFO struct {
	Path  string    `json:"path"`
	Owner UserGroup `json:"owner"` // owner of a FIFO govs creates [global script_user]
}

// Secret is a configuration value that must not be shown: it is written as "(hidden)"
// in JSON dumps. Convert it with string() to use it.
type Secret string

// MarshalText hides the value.
func (s Secret) MarshalText() ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return []byte("(hidden)"), nil
}

// SSL is the top-level SSL block: the client context every SSL_GET checker uses. Every
// field is a file name but Password. keepalived loads CA but never rejects a server
// whose certificate does not verify; without the block it uses a default context.
type SSL struct {
	Source
	Password    Secret `json:"password,omitempty" kw:"password"` // unlocks Key
	CA          string `json:"ca,omitempty" kw:"ca"`             // CA certificates that verify the real servers
	Certificate string `json:"certificate,omitempty" kw:"certificate"`
	Key         string `json:"key,omitempty" kw:"key"`
}

// UserGroup is a "user [group]" pair scripts run as.
type UserGroup struct {
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// SyncDaemon is global lvs_sync_daemon: the IPVS connection sync daemon.
type SyncDaemon struct {
	Interface string `json:"interface"`
	Instance  string `json:"instance,omitempty"` // the vrrp_instance whose state drives master/backup
	SyncID    int    `json:"id"`                 // [the instance's virtual_router_id, else 0]
	// SyncIDSet says id was given.
	SyncIDSet bool       `json:"-"`
	MaxLen    int        `json:"maxlen,omitempty"`
	Port      uint16     `json:"port"`  // [8848]
	TTL       int        `json:"ttl"`   // [1]
	Group     netip.Addr `json:"group"` // [224.0.0.81]
}

// LVSTimeouts is global lvs_timeouts; zero means the kernel default.
type LVSTimeouts struct {
	TCP    time.Duration `json:"tcp"`
	TCPFin time.Duration `json:"tcpfin"`
	UDP    time.Duration `json:"udp"`
}

// Script is a command line keepalived runs: argv after shell-like tokenising of the
// quoted command, and the optional user and group it runs as.
type Script struct {
	Argv  []string `json:"argv,omitempty"`
	User  string   `json:"user,omitempty"`
	Group string   `json:"group,omitempty"`
}

// Weight is a tracking weight with keepalived's optional "reverse".
type Weight struct {
	Value   int  `json:"value"`
	Reverse bool `json:"reverse,omitempty"`
}

// VRRPScript is a vrrp_script block: a command run every Interval whose result
// adjusts the priority of the instances tracking it.
type VRRPScript struct {
	Source
	Name     string        `json:"name"`
	Script   *Script       `json:"script,omitempty" kw:"script"` // nil: keepalived drops the script (warning)
	Interval time.Duration `json:"interval" kw:"interval"`       // [1s]
	Timeout  time.Duration `json:"timeout" kw:"timeout"`         // [= Interval]
	Weight   Weight        `json:"weight" kw:"weight"`           // [0]
	Rise     int           `json:"rise" kw:"rise"`               // [1]
	Fall     int           `json:"fall" kw:"fall"`               // [1]
	RunAs    UserGroup     `json:"user" kw:"user"`               // [global script_user]
	InitFail bool          `json:"init_fail" kw:"init_fail"`
}

// GarpGroup is a garp_group block: the pauses after each gratuitous ARP and NA on a set
// of interfaces that share one schedule (links into the same switch).
type GarpGroup struct {
	Source
	GarpInterval time.Duration `json:"garp_interval" kw:"garp_interval"` // [0: no pause]
	GnaInterval  time.Duration `json:"gna_interval" kw:"gna_interval"`   // [0: no pause]
	Interface    string        `json:"interface,omitempty" kw:"interface"`
	Interfaces   []string      `json:"interfaces,omitempty" kw:"interfaces"`
	// Members are Interface and Interfaces less those an earlier group has.
	Members []string `json:"members,omitempty"`
}

// TrackFile is a track_file block: a file whose number, times Weight, adjusts priority.
type TrackFile struct {
	Source
	Name     string    `json:"name"`
	File     string    `json:"file" kw:"file"`
	Weight   Weight    `json:"weight" kw:"weight"` // [1]
	InitFile *InitFile `json:"init_file,omitempty" kw:"init_file"`
}

// TrackGroup is a track_group block: the VRRP instances that track the devices of the
// static addresses, routes and rules naming it.
type TrackGroup struct {
	Source
	Name    string   `json:"name"`
	Members []string `json:"group" kw:"group"`
}

// BFDInstance is a bfd_instance: a BFD session with a neighbour, which VRRP instances
// and sync groups track with track_bfd.
type BFDInstance struct {
	Source
	Name       string        `json:"name"`
	Neighbor   netip.Addr    `json:"neighbor_ip" kw:"neighbor_ip"`
	SourceIP   netip.Addr    `json:"source_ip,omitzero" kw:"source_ip"`
	MinRx      time.Duration `json:"min_rx" kw:"min_rx"`         // [10ms]
	MinTx      time.Duration `json:"min_tx" kw:"min_tx"`         // [10ms]
	IdleTx     time.Duration `json:"idle_tx" kw:"idle_tx"`       // [1s]
	Multiplier int           `json:"multiplier" kw:"multiplier"` // [5]
	Passive    bool          `json:"passive,omitempty" kw:"passive"`
	TTL        int           `json:"ttl" kw:"ttl"`           // [255 IPv4, 64 IPv6]
	MaxHops    int           `json:"max_hops" kw:"max_hops"` // [0]; -1: any TTL
	Weight     Weight        `json:"weight" kw:"weight"`     // [0] default of track_bfd
	VRRP       bool          `json:"vrrp,omitempty" kw:"vrrp"`
	Checker    bool          `json:"checker,omitempty" kw:"checker"`
}

// TrackProcess is a vrrp_track_process block: it is up while the number of running
// processes that match lies in Quorum..QuorumMax.
type TrackProcess struct {
	Source
	Name string `json:"name"`
	// Process is the name to match, then the parameters (keepalived's process line).
	// Without FullCommand the name is compared with the kernel's 15-character process
	// name (/proc/PID/stat), so a longer one never matches (a warning says so).
	Process        []string      `json:"process" kw:"process"`
	ParamMatch     string        `json:"param_match,omitempty" kw:"param_match"` // "", "exact", "partial" or "initial"; [exact with parameters]
	Weight         Weight        `json:"weight" kw:"weight"`                     // [0]
	Quorum         int           `json:"quorum" kw:"quorum"`                     // [1; 0 with quorum_max 0]
	QuorumMax      int           `json:"quorum_max" kw:"quorum_max"`             // [-1: no maximum]
	Delay          time.Duration `json:"delay,omitempty" kw:"delay"`
	TerminateDelay time.Duration `json:"terminate_delay,omitempty" kw:"terminate_delay"` // [Delay]
	ForkDelay      time.Duration `json:"fork_delay,omitempty" kw:"fork_delay"`           // [Delay]
	FullCommand    bool          `json:"full_command,omitempty" kw:"full_command"`       // set by parameters and param_match
}

// InitFile is track_file's "init_file [VALUE] [overwrite]".
type InitFile struct {
	Value     int  `json:"value"`
	Overwrite bool `json:"overwrite,omitempty"`
}

// SyncGroup is a vrrp_sync_group: instances that change state together.
type SyncGroup struct {
	Source
	Name                    string          `json:"name"`
	Members                 []string        `json:"group" kw:"group"`
	TrackInterfaces         []TrackedObject `json:"track_interface,omitempty" kw:"track_interface"`
	TrackScripts            []TrackedObject `json:"track_script,omitempty" kw:"track_script"`
	TrackFiles              []TrackedObject `json:"track_file,omitempty" kw:"track_file"`
	TrackProcesses          []TrackedObject `json:"track_process,omitempty" kw:"track_process"`
	TrackBFDs               []TrackedObject `json:"track_bfd,omitempty" kw:"track_bfd"`
	NotifyMaster            *Script         `json:"notify_master,omitempty" kw:"notify_master"`
	NotifyBackup            *Script         `json:"notify_backup,omitempty" kw:"notify_backup"`
	NotifyFault             *Script         `json:"notify_fault,omitempty" kw:"notify_fault"`
	NotifyStop              *Script         `json:"notify_stop,omitempty" kw:"notify_stop"`
	Notify                  *Script         `json:"notify,omitempty" kw:"notify"`
	SMTPAlert               bool            `json:"smtp_alert" kw:"smtp_alert"` // [global smtp_alert_vrrp, else off; off without mail]
	SyncGroupTrackingWeight bool            `json:"sync_group_tracking_weight" kw:"sync_group_tracking_weight"`
	NotifyPriorityChanges   bool            `json:"notify_priority_changes,omitempty" kw:"notify_priority_changes"` // default of its members
	Instances               []*Instance     `json:"-"`                                                              // Members resolved, in order
}

// Instance is a vrrp_instance: one virtual router this node takes part in.
type Instance struct {
	Source
	Name                 string          `json:"name"`
	State                State           `json:"state" kw:"state"` // [MASTER when Priority is 255, else BACKUP]
	Interface            string          `json:"interface,omitempty" kw:"interface"`
	VRID                 int             `json:"virtual_router_id" kw:"virtual_router_id"` // required, 1..255
	Priority             int             `json:"priority" kw:"priority"`                   // [100; 255 with state MASTER]
	AdvertInt            time.Duration   `json:"advert_int" kw:"advert_int"`               // [1s]
	Version              int             `json:"version" kw:"version"`                     // [global vrrp_version; 3 for IPv6]
	Family               string          `json:"family"`                                   // "inet" or "inet6", from the VIPs
	Auth                 *Authentication `json:"authentication,omitempty" kw:"authentication"`
	VirtualIPs           []IPAddress     `json:"virtual_ipaddress,omitempty" kw:"virtual_ipaddress"`
	ExcludedIPs          []IPAddress     `json:"virtual_ipaddress_excluded,omitempty" kw:"virtual_ipaddress_excluded"`
	VirtualRoutes        []Route         `json:"virtual_routes,omitempty" kw:"virtual_routes"`
	VirtualRules         []Rule          `json:"virtual_rules,omitempty" kw:"virtual_rules"`
	PromoteSecondaries   bool            `json:"promote_secondaries,omitempty" kw:"promote_secondaries"` // net.ipv4.conf.IF.promote_secondaries = 1 while running
	TrackInterfaces      []TrackedObject `json:"track_interface,omitempty" kw:"track_interface"`
	TrackScripts         []TrackedObject `json:"track_script,omitempty" kw:"track_script"`
	TrackFiles           []TrackedObject `json:"track_file,omitempty" kw:"track_file"`
	TrackProcesses       []TrackedObject `json:"track_process,omitempty" kw:"track_process"`
	TrackBFDs            []TrackedObject `json:"track_bfd,omitempty" kw:"track_bfd"`
	DontTrackPrimary     bool            `json:"dont_track_primary" kw:"dont_track_primary"`
	TrackSrcIP           bool            `json:"track_src_ip" kw:"track_src_ip"`
	SourceIP             netip.Addr      `json:"src_ip,omitzero" kw:"mcast_src_ip"` // mcast_src_ip / unicast_src_ip
	McastDstIP           netip.Addr      `json:"mcast_dst_ip,omitzero" kw:"mcast_dst_ip"`
	UnicastPeers         []UnicastPeer   `json:"unicast_peer,omitempty" kw:"unicast_peer"`
	UnicastTTL           int             `json:"unicast_ttl" kw:"unicast_ttl"`                         // [255]
	KernelRxBufSize      int             `json:"kernel_rx_buf_size,omitempty" kw:"kernel_rx_buf_size"` // 0: by vrrp_rx_bufs_policy
	UnicastFaultNoPeer   bool            `json:"unicast_fault_no_peer" kw:"unicast_fault_no_peer"`
	UseVMAC              *VMAC           `json:"use_vmac,omitempty" kw:"use_vmac"` // nil: no VMAC
	VMACXmitBase         bool            `json:"vmac_xmit_base,omitempty" kw:"vmac_xmit_base"`
	VMACAddr             bool            `json:"use_vmac_addr,omitempty" kw:"use_vmac_addr"`
	CheckUnicastSrc      bool            `json:"check_unicast_src" kw:"check_unicast_src"`                 // [global]
	OldUnicastChecksum   string          `json:"old_unicast_checksum,omitempty" kw:"old_unicast_checksum"` // "on", "never"; "": detect
	Accept               bool            `json:"accept" kw:"accept,no_accept"`                             // [true, false with strict and priority < 255]
	Nopreempt            bool            `json:"nopreempt" kw:"nopreempt,preempt"`                         // cleared by state MASTER or priority 255
	PreemptDelay         time.Duration   `json:"preempt_delay" kw:"preempt_delay"`
	SkipCheckAdvAddr     bool            `json:"skip_check_adv_addr" kw:"skip_check_adv_addr"` // [global]
	Strict               bool            `json:"strict_mode" kw:"strict_mode"`                 // [global vrrp_strict]
	GarpMasterDelay      time.Duration   `json:"garp_master_delay" kw:"garp_master_delay"`     // [global]
	GarpMasterRepeat     int             `json:"garp_master_repeat" kw:"garp_master_repeat"`
	GarpMasterRefresh    time.Duration   `json:"garp_master_refresh" kw:"garp_master_refresh"`
	GarpRefreshRepeat    int             `json:"garp_master_refresh_repeat" kw:"garp_master_refresh_repeat"`
	GarpLowerPrioDelay   time.Duration   `json:"garp_lower_prio_delay" kw:"garp_lower_prio_delay"`
	GarpLowerPrioRepeat  int             `json:"garp_lower_prio_repeat" kw:"garp_lower_prio_repeat"`
	GarpExtraIf          *GarpExtraIf    `json:"garp_extra_if,omitempty" kw:"garp_extra_if"` // [global vrrp_garp_extra_if]
	DownTimerAdverts     int             `json:"down_timer_adverts" kw:"down_timer_adverts"` // [global, 3]
	LowerPrioNoAdvert    bool            `json:"lower_prio_no_advert" kw:"lower_prio_no_advert"`
	HigherPrioSendAdvert bool            `json:"higher_prio_send_advert" kw:"higher_prio_send_advert"`
	NotifyMaster         *Script         `json:"notify_master,omitempty" kw:"notify_master"`
	NotifyBackup         *Script         `json:"notify_backup,omitempty" kw:"notify_backup"`
	NotifyFault          *Script         `json:"notify_fault,omitempty" kw:"notify_fault"`
	NotifyStop           *Script         `json:"notify_stop,omitempty" kw:"notify_stop"`
	NotifyDeleted        *Script         `json:"notify_deleted,omitempty" kw:"notify_deleted"` // Argv empty: the keyword alone
	Notify               *Script         `json:"notify,omitempty" kw:"notify"`                 // gets TYPE NAME STATE PRIORITY appended
	NotifyMasterRxLower  *Script         `json:"notify_master_rx_lower_pri,omitempty" kw:"notify_master_rx_lower_pri"`
	SMTPAlert            bool            `json:"smtp_alert" kw:"smtp_alert"` // [global smtp_alert_vrrp, else off; off without mail]
	// NotifyPriorityChanges writes a notify_fifo line on each change of the effective
	// priority [its sync group's, else global vrrp_notify_priority_changes, else off].
	NotifyPriorityChanges bool       `json:"notify_priority_changes,omitempty" kw:"notify_priority_changes"`
	SyncGroup             *SyncGroup `json:"-"` // the group this instance belongs to, if any
	// LVSSyncDaemonInterface is the deprecated lvs_sync_daemon_interface.
	LVSSyncDaemonInterface string `json:"lvs_sync_daemon_interface,omitempty" kw:"lvs_sync_daemon_interface"`
}

// State is a configured VRRP start state.
type State string

// The states a vrrp_instance may be configured with.
const (
	StateMaster State = "MASTER"
	StateBackup State = "BACKUP"
)

// Authentication is a VRRPv2 authentication block.
type Authentication struct {
	Source
	Type string `json:"auth_type" kw:"auth_type"` // PASS or AH
	Pass string `json:"auth_pass" kw:"auth_pass"` // at most 8 characters are used
}

// TrackedObject is one entry of a track_interface/track_script/track_file/track_process block.
// Weight is filled from the tracked object when the entry sets none.
type TrackedObject struct {
	Pos       Pos    `json:"pos"`
	Name      string `json:"name"`
	Weight    int    `json:"weight"`
	WeightSet bool   `json:"weight_set,omitempty"` // the entry gave its own weight
	Reverse   bool   `json:"reverse,omitempty"`
	// ReverseSet: the entry said reverse or noreverse; otherwise it takes the tracked
	// object's, even with a weight of its own, as keepalived.
	ReverseSet bool `json:"reverse_set,omitempty"`
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Pos    Pos        `json:"pos"`
	Addr   netip.Addr `json:"addr"`
	MinTTL int        `json:"min_ttl,omitempty"`
	MaxTTL int        `json:"max_ttl,omitempty"` // 0: no check
}

// IPAddress is one virtual_ipaddress, virtual_ipaddress_excluded or static_ipaddress line.
type IPAddress struct {
	Pos          Pos          `json:"pos"`
	Prefix       netip.Prefix `json:"prefix"`              // address/len; /32 or /128 when not given
	Broadcast    string       `json:"broadcast,omitempty"` // an address, "+" or "-"
	Dev          string       `json:"dev,omitempty"`       // [instance interface; default_interface for static]
	Scope        string       `json:"scope,omitempty"`
	Label        string       `json:"label,omitempty"`
	Peer         netip.Addr   `json:"peer,omitzero"`
	PreferredLft string       `json:"preferred_lft,omitempty"`
	TrackGroup   string       `json:"track_group,omitempty"`
	NoTrack      bool         `json:"no_track,omitempty"`
	UseVMAC      bool         `json:"use_vmac,omitempty"`
	Flags        []string     `json:"flags,omitempty"` // home, -nodad, mngtmpaddr, noprefixroute, autojoin
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight,omitempty"` // 1..256; 0: not given (1)
	OnLink bool       `json:"onlink,omitempty"`
	Realms string     `json:"realms,omitempty"` // [FROM/]TO, names or numbers
}

// Route is one virtual_routes or static_routes line, iproute2 style, with the words
// keepalived takes. Names (table, protocol, tos, realms) are kept as written; the
// VRRP plan resolves them from /etc/iproute2 as keepalived does.
type Route struct {
	Pos      Pos          `json:"pos"`
	Type     string       `json:"type"` // unicast, blackhole, unreachable, prohibit, throw, …
	Dest     netip.Prefix `json:"dest"`
	Src      netip.Addr   `json:"src,omitzero"`
	Via      netip.Addr   `json:"via,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	Scope    string       `json:"scope,omitempty"`
	Table    string       `json:"table,omitempty"`
	Metric   int          `json:"metric,omitempty"`
	Protocol string       `json:"protocol,omitempty"` // "": keepalived (18)
	Tos      string       `json:"tos,omitempty"`
	Realms   string       `json:"realms,omitempty"`
	OnLink   bool         `json:"onlink,omitempty"`
	// Mode is how the route goes in: "add" (fails if it exists), "append", or ""
	// for keepalived's default, prepend.
	Mode     string       `json:"mode,omitempty"`
	Nexthops []Nexthop    `json:"nexthops,omitempty"`
	Metrics  RouteMetrics `json:"metrics,omitzero"`
	NoTrack  bool         `json:"no_track,omitempty"`
	// TrackGroup is a static route's track_group: its instances track Dev.
	TrackGroup string `json:"track_group,omitempty"`
	// Ignored are the words read but not installed (encap, pref, expires, from, …),
	// each with why; the configuration warns of them.
	Ignored []string `json:"ignored,omitempty"`
}

// RouteMetrics are a route's RTAX attributes, in the kernel's units (rtt in 1/8 ms,
// rttvar in 1/4 ms, rto_min in ms), clamped as keepalived clamps them. 0: not set.
type RouteMetrics struct {
	MTU, AdvMSS, Reordering, Window, Cwnd, Ssthresh, InitCwnd, InitRwnd uint32
	RTT, RTTVar, RtoMin                                                 uint32
	Hoplimit                                                            uint8
	ECN, QuickACK, FastOpenNoCookie                                     bool
	Congctl                                                             string
	// Locked are the metrics given with "lock".
	Locked []string `json:",omitempty"`
}

// Rule is one virtual_rules or static_rules line, iproute2 style, with the words
// keepalived takes.
type Rule struct {
	Pos        Pos          `json:"pos"`
	From       netip.Prefix `json:"from,omitzero"`
	To         netip.Prefix `json:"to,omitzero"`
	Not        bool         `json:"not,omitempty"`
	Table      string       `json:"table,omitempty"`
	Preference int          `json:"preference,omitempty"` // 0: keepalived assigns one (warning)
	// Action is "table" (Table), goto (Goto), nop, blackhole, prohibit or unreachable.
	Action      string     `json:"action,omitempty"`
	Goto        int        `json:"goto,omitempty"`
	Family      string     `json:"family"`
	Tos         string     `json:"tos,omitempty"`
	FwMark      uint32     `json:"fwmark,omitempty"`
	FwMask      uint32     `json:"fwmask,omitempty"` // 0: not given
	Realms      string     `json:"realms,omitempty"`
	SuppressLen *int       `json:"suppress_prefixlength,omitempty"`
	SuppressGrp string     `json:"suppress_ifgroup,omitempty"`
	IIF         string     `json:"iif,omitempty"`
	OIF         string     `json:"oif,omitempty"`
	TunnelID    uint64     `json:"tunnel_id,omitempty"`
	UIDRange    *[2]uint32 `json:"uidrange,omitempty"`
	Protocol    *uint8     `json:"protocol,omitempty"` // nil: keepalived (18)
	IPProto     string     `json:"ipproto,omitempty"`
	SPort       *[2]uint16 `json:"sport,omitempty"`
	DPort       *[2]uint16 `json:"dport,omitempty"`
	NoTrack     bool       `json:"no_track,omitempty"`
	TrackGroup  string     `json:"track_group,omitempty"`
	Ignored     []string   `json:"ignored,omitempty"`
}

// VirtualServerGroup is a virtual_server_group: addresses and marks that share one
// set of real servers. Addresses and FwMarks are the resolved, range-expanded list.
type VirtualServerGroup struct {
	Source
	Name      string           `json:"name"`
	Entries   []VSGroupEntry   `json:"entries"`
	Addresses []netip.AddrPort `json:"addresses,omitempty"`
	FwMarks   []uint32         `json:"fwmarks,omitempty"`
}

// LinkDelay is one line of interface_up_down_delays: how long a change of the
// interface's state (up and running, or not) waits before VRRP takes it into account;
// one undone within the delay is never seen.
type LinkDelay struct {
	Pos       Pos           `json:"pos"`
	Interface string        `json:"interface"`
	Down      time.Duration `json:"down_delay"`
	Up        time.Duration `json:"up_delay"` // [0]
}

// VSGroupEntry is one virtual_server_group line as written: an address range with a
// port, or a firewall mark.
type VSGroupEntry struct {
	Pos    Pos        `json:"pos"`
	First  netip.Addr `json:"first,omitzero"`
	Last   netip.Addr `json:"last,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FwMark uint32     `json:"fwmark,omitempty"`
	Family string     `json:"family,omitempty"`
}

// Forwarding is an LVS forwarding method (lb_kind / lvs_method) with its tunnel options.
type Forwarding struct {
	Method     string `json:"method"`                // NAT, DR or TUN
	TunnelType string `json:"tunnel_type,omitempty"` // ipip, gue, gre
	TunnelPort uint16 `json:"tunnel_port,omitempty"`
	Checksum   string `json:"checksum,omitempty"` // nocsum, csum, remcsum
}

// VirtualServer is a virtual_server: an address and port, a firewall mark or a group.
type VirtualServer struct {
	Source
	Addr      netip.Addr          `json:"addr,omitzero"`
	Port      uint16              `json:"port,omitempty"`
	FwMark    uint32              `json:"fwmark,omitempty"`
	GroupName string              `json:"group,omitempty"`
	Group     *VirtualServerGroup `json:"-"` // GroupName resolved

	Protocol           string          `json:"protocol" kw:"protocol"`                       // TCP, UDP, SCTP; "" for fwmark; [UDP, warning]
	Scheduler          string          `json:"lb_algo" kw:"lb_algo"`                         // [wlc, warning]
	Forwarding         Forwarding      `json:"lb_kind" kw:"lb_kind"`                         // [NAT, warning]
	Persistence        time.Duration   `json:"persistence_timeout" kw:"persistence_timeout"` // 0: none; bare keyword 360s
	PersistenceMask    string          `json:"persistence_granularity,omitempty" kw:"persistence_granularity"`
	PersistenceEngine  string          `json:"persistence_engine,omitempty" kw:"persistence_engine"`
	Hashed             bool            `json:"hashed,omitempty" kw:"hashed"`
	OnePacket          bool            `json:"ops,omitempty" kw:"ops"`
	Flag1              bool            `json:"flag-1,omitempty" kw:"flag-1"`
	Flag2              bool            `json:"flag-2,omitempty" kw:"flag-2"`
	Flag3              bool            `json:"flag-3,omitempty" kw:"flag-3"`
	SHPort             bool            `json:"sh-port,omitempty" kw:"sh-port"`
	SHFallback         bool            `json:"sh-fallback,omitempty" kw:"sh-fallback"`
	MHPort             bool            `json:"mh-port,omitempty" kw:"mh-port"`
	MHFallback         bool            `json:"mh-fallback,omitempty" kw:"mh-fallback"`
	HASuspend          bool            `json:"ha_suspend,omitempty" kw:"ha_suspend"`
	IPFamily           string          `json:"ip_family,omitempty" kw:"ip_family"`
	Virtualhost        string          `json:"virtualhost,omitempty" kw:"virtualhost"`
	SNMPName           string          `json:"snmp_name,omitempty" kw:"snmp_name"` // KEEPALIVED-MIB's virtualServerName/realServerName
	Alpha              bool            `json:"alpha" kw:"alpha"`
	Omega              bool            `json:"omega" kw:"omega"`
	Quorum             int             `json:"quorum" kw:"quorum"` // [1]
	Hysteresis         int             `json:"hysteresis" kw:"hysteresis"`
	QuorumUp           *Script         `json:"quorum_up,omitempty" kw:"quorum_up"`
	QuorumDown         *Script         `json:"quorum_down,omitempty" kw:"quorum_down"`
	Weight             int             `json:"weight" kw:"weight"` // default real server weight [1]
	SorryServer        *netip.AddrPort `json:"sorry_server,omitempty" kw:"sorry_server"`
	SorryServerInhibit bool            `json:"sorry_server_inhibit,omitempty" kw:"sorry_server_inhibit"`
	SorryForwarding    Forwarding      `json:"sorry_server_lvs_method" kw:"sorry_server_lvs_method"` // [lb_kind]
	DelayLoop          time.Duration   `json:"delay_loop" kw:"delay_loop"`                           // [60s]
	ConnectTimeout     time.Duration   `json:"connect_timeout" kw:"connect_timeout"`                 // [5s]
	Retry              int             `json:"retry" kw:"retry"`                                     // [per checker type]
	DelayBeforeRetry   time.Duration   `json:"delay_before_retry" kw:"delay_before_retry"`           // [per checker type]
	Warmup             time.Duration   `json:"warmup" kw:"warmup"`                                   // [= delay_loop]
	InhibitOnFailure   bool            `json:"inhibit_on_failure" kw:"inhibit_on_failure"`
	SMTPAlert          bool            `json:"smtp_alert" kw:"smtp_alert"` // quorum mail [global smtp_alert_checker, else off; off without mail]
	RealServers        []*RealServer   `json:"real_servers" kw:"real_server"`

	// govs extensions.
	ProxyProtocol   int              `json:"proxy_protocol,omitempty" kw:"proxy_protocol"` // 0: none; 1 or 2: PROXY header version sent to real servers (TCP, NAT)
	DynamicFeedback *DynamicFeedback `json:"dynamic_feedback,omitempty" kw:"dynamic_feedback"`
}

// KeptAddr is real server address a, forwarded by fwd, as keepalived keeps it once it
// has checked the configuration (check_data.c): a NAT server without a port takes the
// service's; a DR or TUN server takes the service's port, 0 for a fwmark service, as
// IPVS forwards to the port the client asked for. A group's servers keep theirs.
func (vs *VirtualServer) KeptAddr(a netip.AddrPort, fwd Forwarding) netip.AddrPort {
	switch {
	case vs.GroupName != "":
		return a
	case fwd.Method == "NAT" || fwd.Method == "":
		if vs.FwMark == 0 && a.Port() == 0 {
			return netip.AddrPortFrom(a.Addr(), vs.Port)
		}
		return a
	}
	return netip.AddrPortFrom(a.Addr(), vs.Port) // vs.Port is 0 for a fwmark service
}

// DynamicFeedback is a virtual server's dynamic_feedback block (a govs extension): real
// server weights scaled from an agent's answers and check latency. The fields map one
// to one onto check.Feedback, with one difference: a MinPercent of 0 here is 0 %
// (written explicitly), where check.Feedback reads 0 as its default, 10 %.
type DynamicFeedback struct {
	Source
	AgentPort     uint16        `json:"agent_port,omitempty" kw:"agent_port"`         // 0: no agent
	AgentInterval time.Duration `json:"agent_interval,omitempty" kw:"agent_interval"` // 0: each real server's delay_loop
	AgentTimeout  time.Duration `json:"agent_timeout,omitempty" kw:"agent_timeout"`   // 0: each real server's connect_timeout
	LatencyTarget time.Duration `json:"latency_target,omitempty" kw:"latency_target"` // 0: latency does not count
	Smoothing     float64       `json:"smoothing" kw:"smoothing"`                     // EWMA factor, 0 < s ≤ 1 [0.3]
	MinPercent    int           `json:"min_percent" kw:"min_percent"`                 // lower bound, % of the configured weight [10]
	MaxPercent    int           `json:"max_percent" kw:"max_percent"`                 // upper bound [100]
}

// RealServer is a real_server with its health checkers. Unset timers and counters
// are inherited from the virtual server.
type RealServer struct {
	Source
	Addr             netip.Addr    `json:"addr"`
	Port             uint16        `json:"port"`                       // 0 for fwmark services
	Weight           int           `json:"weight" kw:"weight"`         // [virtual server weight]
	Forwarding       Forwarding    `json:"lvs_method" kw:"lvs_method"` // [virtual server lb_kind]
	UThreshold       int           `json:"uthreshold,omitempty" kw:"uthreshold"`
	LThreshold       int           `json:"lthreshold,omitempty" kw:"lthreshold"`
	InhibitOnFailure bool          `json:"inhibit_on_failure" kw:"inhibit_on_failure"`
	NotifyUp         *Script       `json:"notify_up,omitempty" kw:"notify_up"`
	NotifyDown       *Script       `json:"notify_down,omitempty" kw:"notify_down"`
	Alpha            bool          `json:"alpha" kw:"alpha"`
	Virtualhost      string        `json:"virtualhost,omitempty" kw:"virtualhost"`
	SNMPName         string        `json:"snmp_name,omitempty" kw:"snmp_name"` // KEEPALIVED-MIB's virtualServerName/realServerName
	DelayLoop        time.Duration `json:"delay_loop" kw:"delay_loop"`
	ConnectTimeout   time.Duration `json:"connect_timeout" kw:"connect_timeout"`
	Retry            int           `json:"retry" kw:"retry"`
	DelayBeforeRetry time.Duration `json:"delay_before_retry" kw:"delay_before_retry"`
	Warmup           time.Duration `json:"warmup" kw:"warmup"`
	SMTPAlert        bool          `json:"smtp_alert" kw:"smtp_alert"` // [global smtp_alert_checker, else ON (keepalived's default); off without mail]
	Checkers         []*Checker    `json:"checkers,omitempty" kw:"TCP_CHECK,HTTP_GET,SSL_GET,SMTP_CHECK,DNS_CHECK,MISC_CHECK,PING_CHECK,UDP_CHECK,FILE_CHECK,BFD_CHECK"`
}

// CheckerType is a checker block name: TCP_CHECK, HTTP_GET, …
type CheckerType string

// The checker types keepalived 2.2 has.
const (
	TCPCheck  CheckerType = "TCP_CHECK"
	HTTPGet   CheckerType = "HTTP_GET"
	SSLGet    CheckerType = "SSL_GET"
	SMTPCheck CheckerType = "SMTP_CHECK"
	DNSCheck  CheckerType = "DNS_CHECK"
	MiscCheck CheckerType = "MISC_CHECK"
	PingCheck CheckerType = "PING_CHECK"
	UDPCheck  CheckerType = "UDP_CHECK"
	FileCheck CheckerType = "FILE_CHECK"
	BFDCheck  CheckerType = "BFD_CHECK"
)

// Checker is one health checker of a real server; the fields used depend on Type.
// Every timer and counter is filled: checker ← real_server ← virtual_server ← the
// type's default, so the runner never re-derives them.
type Checker struct {
	Source
	Type             CheckerType   `json:"type"`
	ConnectIP        netip.Addr    `json:"connect_ip,omitzero" kw:"connect_ip"`      // [real server address]
	ConnectPort      uint16        `json:"connect_port,omitempty" kw:"connect_port"` // [real server port]
	BindTo           netip.Addr    `json:"bindto,omitzero" kw:"bindto"`
	BindPort         uint16        `json:"bind_port,omitempty" kw:"bind_port"`
	BindIf           string        `json:"bind_if,omitempty" kw:"bind_if"`
	FwMark           uint32        `json:"fwmark,omitempty" kw:"fwmark"`
	ConnectTimeout   time.Duration `json:"connect_timeout" kw:"connect_timeout"`
	Retry            int           `json:"retry" kw:"retry"`
	DelayBeforeRetry time.Duration `json:"delay_before_retry" kw:"delay_before_retry"`
	Warmup           time.Duration `json:"warmup" kw:"warmup"`
	DelayLoop        time.Duration `json:"delay_loop" kw:"delay_loop"`
	Alpha            bool          `json:"alpha" kw:"alpha"`
	LogAllFailures   bool          `json:"log_all_failures,omitempty" kw:"log_all_failures"` // [on with global checker_log_all_failures]

	// HTTP_GET, SSL_GET
	URLs         []*URL `json:"urls,omitempty" kw:"url"`
	HTTPProtocol string `json:"http_protocol,omitempty" kw:"http_protocol"` // 1.0, 1.0C, 1.1 [1.0]
	Virtualhost  string `json:"virtualhost,omitempty" kw:"virtualhost"`     // [real/virtual server virtualhost]
	EnableSNI    bool   `json:"enable_sni,omitempty" kw:"enable_sni"`
	FastRecovery bool   `json:"fast_recovery,omitempty" kw:"fast_recovery"`
	// SMTP_CHECK
	HeloName string     `json:"helo_name,omitempty" kw:"helo_name"` // [real server address? keepalived: local host name]
	Hosts    []*Checker `json:"hosts,omitempty" kw:"host"`          // deprecated host { } sub-blocks
	// DNS_CHECK (Name is the query name) and BFD_CHECK (Name is the bfd_instance)
	DNSType string `json:"dns_type,omitempty" kw:"type"` // [SOA]
	Name    string `json:"name,omitempty" kw:"name"`     // DNS [.]
	// MISC_CHECK
	MiscPath    *Script       `json:"misc_path,omitempty" kw:"misc_path"`
	MiscTimeout time.Duration `json:"misc_timeout,omitempty" kw:"misc_timeout"` // [delay_loop]
	MiscDynamic bool          `json:"misc_dynamic,omitempty" kw:"misc_dynamic"`
	RunAs       UserGroup     `json:"user" kw:"user"`
	// UDP_CHECK
	Payload        []byte      `json:"payload,omitempty" kw:"payload"`
	RequireReply   *HexPattern `json:"require_reply,omitempty" kw:"require_reply"`
	MinReplyLength int         `json:"min_reply_length,omitempty" kw:"min_reply_length"`
	MaxReplyLength int         `json:"max_reply_length,omitempty" kw:"max_reply_length"` // [255]
	// FILE_CHECK
	TrackFile string `json:"track_file,omitempty" kw:"track_file"`
	Weight    Weight `json:"weight" kw:"weight"`
}

// HexPattern is UDP_CHECK's require_reply: bytes where Mask bits of 0 are wildcards.
type HexPattern struct {
	Data []byte `json:"data"`
	Mask []byte `json:"mask"`
}

// URL is one url block of HTTP_GET / SSL_GET.
type URL struct {
	Source
	Path           string        `json:"path" kw:"path"`
	Digest         string        `json:"digest,omitempty" kw:"digest"`
	StatusCodes    []StatusRange `json:"status_code" kw:"status_code"` // [200-299]
	Virtualhost    string        `json:"virtualhost,omitempty" kw:"virtualhost"`
	Regex          string        `json:"regex,omitempty" kw:"regex"`
	RegexNoMatch   bool          `json:"regex_no_match,omitempty" kw:"regex_no_match"`
	RegexOptions   []string      `json:"regex_options,omitempty" kw:"regex_options"`
	RegexMinOffset int           `json:"regex_min_offset,omitempty" kw:"regex_min_offset"`
	RegexMaxOffset int           `json:"regex_max_offset,omitempty" kw:"regex_max_offset"`
	RegexStack     []int         `json:"regex_stack,omitempty" kw:"regex_stack"`
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// VMAC is use_vmac [NAME]: the instance runs on a private macvlan carrying the VRRP
// virtual router MAC.
// GarpExtraIf is garp_extra_if: one gratuitous ARP / NA per other interface that
// carries the instance's addresses, this often while master, to keep switches' MAC
// caches of those interfaces. Without All only VMACs count.
type GarpExtraIf struct {
	Interval time.Duration `json:"interval"` // 0: off (instance only)
	All      bool          `json:"all,omitempty"`
}

// RxBufsPolicy is vrrp_rx_bufs_policy: how big the receive buffer of an instance's
// advert socket is when kernel_rx_buf_size does not say.
type RxBufsPolicy struct {
	Per  string `json:"per,omitempty"`  // MTU or ADVERT: vrrp_rx_bufs_multiplier of them
	Size int    `json:"size,omitempty"` // bytes, without Per
}

type VMAC struct {
	Name string `json:"name,omitempty"` // [vrrp.VRID, chosen by the VRRP side]
	// MAC is the VMAC's own address (use_vmac … MAC) instead of RFC 5798's
	// 00:00:5e:00:01:VRID, as xx:xx:xx:xx:xx:xx; given as five octets, the sixth is
	// the virtual_router_id (MACUsesVRID), filled in once the instance is read.
	MAC         string `json:"mac,omitempty"`
	MACUsesVRID bool   `json:"mac_uses_vrid,omitempty"`
}
