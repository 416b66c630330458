package config

import (
	"reflect"
	"time"
)

// The schema: every block and keyword of keepalived 2.2.7's parser (see
// ../shared/conformance/keepalived-2.2.7-keywords.tsv), with its value type, default,
// aliases and whether govs acts on it. Decoding, defaults, suggestions, the reference
// document (docs/config-reference.md) and the coverage test all read this table.

const maxTimer = 4294967295 * time.Microsecond

var (
	kTimer       = timerKind(time.Microsecond, maxTimer)
	kTimer0      = timerKind(0, maxTimer)
	kCount       = intKind(0, 1<<31-1)
	kPositive    = intKind(1, 1<<31-1)
	kPriority    = intKind(1, 255)
	kProcPrio    = intKind(-20, 19)
	kRTPrio      = intKind(1, 99)
	kTTL         = intKind(0, 255)
	kBufSize     = intKind(0, 1<<31-1)
	kGarpRepeat  = intKind(0, 255)
	kFwmark      = kind{doc: "MARK", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return parseUint32(a[0].Text, 0) }}
	kMcast4      = kind{doc: "IPv4 multicast address", minArgs: 1, maxArgs: 1, parse: parseMcast(4)}
	kMcast6      = kind{doc: "IPv6 multicast address", minArgs: 1, maxArgs: 1, parse: parseMcast(6)}
	kSchedulers  = enumKind("rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos", "srt") // srt: govs extension (shortest smoothed response time)
	kProtocols   = enumKind("TCP", "UDP", "SCTP")
	kFamily      = enumKind("inet", "inet6")
	kOptBoolList = kind{doc: "[WORD…]", maxArgs: -1, parse: func(a []Token, _ string) (any, error) { return texts(a), nil }}
)

func parseMcast(v int) func([]Token, string) (any, error) {
	return func(a []Token, _ string) (any, error) {
		addr, err := parseAddr(a[0].Text, 0)
		if err != nil {
			return nil, err
		}
		if !addr.IsMulticast() || (v == 4) != addr.Is4() {
			return nil, argErrorf(0, "%s is not an IPv%d multicast address", addr, v)
		}
		return addr, nil
	}
}

// connectionKeywords are the connection options of every checker but MISC, FILE and BFD.
func connectionKeywords() []*keywordSpec {
	return []*keywordSpec{
		kw("connect_ip", kAddr, dfltDoc("real server address")),
		kw("connect_port", kPort, dfltDoc("real server port")),
		kw("bindto", kAddr),
		kw("bind_port", kPort),
		kw("bind_if", kString),
		kw("connect_timeout", kTimer, dfltDoc("real_server, virtual_server, 5s")),
		kw("fwmark", kFwmark),
	}
}

// retryKeywords are the scheduling options every checker but FILE and BFD has.
func retryKeywords(retryDoc, delayDoc string) []*keywordSpec {
	return []*keywordSpec{
		kw("retry", kCount, dfltDoc(retryDoc)),
		kw("delay_before_retry", kTimer0, dfltDoc(delayDoc)),
		kw("warmup", kTimer0, dfltDoc("real_server, virtual_server, = delay_loop")),
		kw("delay_loop", kTimer, dfltDoc("real_server, virtual_server, 60s")),
		kw("alpha", kBool, dfltDoc("real_server alpha")),
		kw("log_all_failures", kBool, doc("log every failed check, not only those of a server still up")),
	}
}

func checkerBlock(name string, extra ...*keywordSpec) *blockSpec {
	kws := append(connectionKeywords(), retryKeywords("real_server, virtual_server, 1", "real_server, virtual_server, 1s")...)
	return block(name, newOf[Checker], hChecker, "", append(kws, extra...)...)
}

func urlBlock() *blockSpec {
	return block("url", newOf[URL], hNone, "",
		kw("path", kString, required()),
		kw("digest", kind{doc: "MD5HEX", minArgs: 1, maxArgs: 1, parse: parseDigest}),
		kw("status_code", kStatus, dflt("200-299")),
		kw("virtualhost", kString),
		kw("regex", kString),
		kw("regex_no_match", kFlag),
		kw("regex_options", kWords, doc("keepalived's PCRE2 options: caseless, multiline, dotall, ungreedy, dollar_endonly, extended and firstline apply; options that only tune PCRE2 are accepted; allow_empty_class, alt_bsux, alt_circumflex, alt_verbnames, match_unset_backref and ucp are not supported (warning). Without dollar_endonly a $ also matches before a final newline, as in PCRE2")),
		kw("regex_min_offset", kCount, doc("the match is searched for from byte N of the body")),
		kw("regex_max_offset", kCount, doc("the match must start at or before byte N of the body (it may end after it)")),
		kw("regex_stack", kind{doc: "START MAX", minArgs: 2, maxArgs: 2, parse: kIntList.parse}, doc("PCRE2's JIT stack: accepted, no effect (govs's regular expressions need none)")),
	)
}

func httpBlock(name string) *blockSpec {
	b := block(name, newOf[Checker], hChecker, "",
		append(connectionKeywords(), retryKeywords("real_server, virtual_server, 1", "real_server, virtual_server, 3s")...)...)
	for _, k := range b.keywords {
		if k.name == "retry" {
			k.aliases = []string{"nb_get_retry"}
			k.deprecated = []string{"nb_get_retry"}
		}
	}
	b.keywords = append(b.keywords,
		kw("virtualhost", kString, dfltDoc("real_server, virtual_server virtualhost")),
		kw("http_protocol", enumKind("1.0", "1.0C", "1.1"), dflt("1.0")),
		kw("enable_sni", kBool),
		kw("fast_recovery", kBool),
		sub("url", urlBlock(), repeat()),
	)
	return b
}

func smtpBlock() *blockSpec {
	host := block("host", newOf[Checker], hNone, "",
		append(connectionKeywords(), retryKeywords("SMTP_CHECK retry", "SMTP_CHECK delay_before_retry")...)...)
	b := checkerBlock("SMTP_CHECK",
		kw("helo_name", kString),
		sub("host", host, repeat(), deprecated("host")),
	)
	return b
}

func dnsBlock() *blockSpec {
	kws := append(connectionKeywords(), retryKeywords("real_server, virtual_server, 3", "real_server, virtual_server, = delay_loop")...)
	return block("DNS_CHECK", newOf[Checker], hChecker, "", append(kws,
		kw("type", enumKind("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"), dflt("SOA")),
		kw("name", kString, dflt(".")),
	)...)
}

func miscBlock() *blockSpec {
	return block("MISC_CHECK", newOf[Checker], hChecker, "", append(
		retryKeywords("real_server, virtual_server, 0", "real_server, virtual_server, 1s"),
		kw("misc_path", kCmd, required()),
		kw("misc_timeout", kTimer, dfltDoc("delay_loop")),
		kw("misc_dynamic", kFlag),
		kw("user", kUser, dfltDoc("global script_user")),
	)...)
}

var realServerBlock = block("real_server", newOf[RealServer], hRealServer, "IP [PORT]",
	kw("weight", intKind(0, 1<<31-1), dfltDoc("virtual_server weight")),
	kw("lvs_method", kForwarding, dfltDoc("virtual_server lb_kind")),
	kw("uthreshold", kCount),
	kw("lthreshold", kCount),
	kw("inhibit_on_failure", kBool, dfltDoc("virtual_server inhibit_on_failure")),
	kw("notify_up", kScript),
	kw("notify_down", kScript),
	kw("alpha", kBool, dfltDoc("virtual_server alpha")),
	kw("retry", kCount, dfltDoc("virtual_server retry")),
	kw("delay_before_retry", kTimer0, dfltDoc("virtual_server delay_before_retry")),
	kw("warmup", kTimer0, dfltDoc("virtual_server warmup")),
	kw("connect_timeout", kTimer, dfltDoc("virtual_server connect_timeout")),
	kw("delay_loop", kTimer, dfltDoc("virtual_server delay_loop")),
	kw("smtp_alert", kBool, dfltDoc("global smtp_alert_checker, else on; off without mail"), doc("keepalived's real servers default to on, unlike every other smtp_alert")),
	kw("virtualhost", kString, dfltDoc("virtual_server virtualhost")),
	kw("snmp_name", kString, doc("the real server's realServerName in KEEPALIVED-MIB (enable_snmp_checker)")),
	sub("TCP_CHECK", checkerBlock("TCP_CHECK"), repeat()),
	sub("HTTP_GET", httpBlock("HTTP_GET"), repeat()),
	sub("SSL_GET", httpBlock("SSL_GET"), repeat()),
	sub("SMTP_CHECK", smtpBlock(), repeat()),
	sub("DNS_CHECK", dnsBlock(), repeat()),
	sub("MISC_CHECK", miscBlock(), repeat()),
	sub("PING_CHECK", checkerBlock("PING_CHECK"), repeat()),
	sub("UDP_CHECK", checkerBlock("UDP_CHECK",
		kw("payload", kHex),
		kw("require_reply", kHexPattern),
		kw("min_reply_length", intKind(0, 65535)),
		kw("max_reply_length", intKind(0, 65535), dflt("255")),
	), repeat()),
	sub("FILE_CHECK", block("FILE_CHECK", newOf[Checker], hChecker, "",
		kw("track_file", kString, required()),
		kw("weight", weightKind(-254, 254), dflt("1")),
	), repeat()),
	sub("BFD_CHECK", block("BFD_CHECK", newOf[Checker], hChecker, "",
		kw("name", kString, required(), doc("the bfd_instance whose session is the real server's health: up while Up")),
		kw("alpha", kBool),
	), repeat()),
)

var virtualServerBlock = block("virtual_server", newOf[VirtualServer], hVirtualServer, "IP [PORT] | fwmark N | group NAME",
	kw("ip_family", kFamily),
	kw("retry", kCount, dfltDoc("checker type: 1, MISC_CHECK 0, DNS_CHECK 3")),
	kw("delay_before_retry", kTimer0, dfltDoc("checker type: 1s, HTTP_GET/SSL_GET 3s, DNS_CHECK = delay_loop")),
	kw("warmup", kTimer0, dfltDoc("= delay_loop")),
	kw("connect_timeout", kTimer, dflt("5")),
	kw("delay_loop", kTimer, dflt("60")),
	kw("inhibit_on_failure", kBool),
	kw("lb_algo", kSchedulers, alias("lvs_sched"), dfltDoc("wlc (with a warning)")),
	kw("hashed", kFlag, doc("accepted; no effect, as with keepalived: the kernel marks every service hashed")),
	kw("ops", kFlag),
	kw("flag-1", kFlag),
	kw("flag-2", kFlag),
	kw("flag-3", kFlag),
	kw("sh-port", kFlag),
	kw("sh-fallback", kFlag),
	kw("mh-port", kFlag),
	kw("mh-fallback", kFlag),
	kw("lb_kind", kForwarding, alias("lvs_method"), dfltDoc("NAT (with a warning)")),
	kw("persistence_engine", kString),
	kw("persistence_timeout", kPersist, dfltDoc("none; the bare keyword means 360 s")),
	kw("persistence_granularity", kind{doc: "MASK", minArgs: 1, maxArgs: 1, parse: parseGranularity}),
	kw("protocol", kProtocols, dfltDoc("UDP for an address service (with a warning); none for fwmark")),
	kw("ha_suspend", kFlag, doc("checkers paused while no address of the virtual server is on this host (VRRP backup); servers keep their state")),
	kw("smtp_alert", kBool, dfltDoc("global smtp_alert_checker, else off; off without mail"), doc("mail on quorum changes")),
	kw("virtualhost", kString),
	kw("snmp_name", kString, doc("the virtual server's virtualServerName in KEEPALIVED-MIB (enable_snmp_checker)")),
	kw("alpha", kFlag),
	kw("omega", kFlag),
	kw("quorum_up", kScript),
	kw("quorum_down", kScript),
	kw("quorum", kPositive, dflt("1")),
	kw("hysteresis", kCount),
	kw("weight", intKind(0, 1<<31-1), dflt("1")),
	kw("sorry_server", kSorry),
	kw("sorry_server_inhibit", kBool),
	kw("sorry_server_lvs_method", kForwarding, dfltDoc("lb_kind")),
	sub("real_server", realServerBlock, repeat()),
	kw("proxy_protocol", kProxyProtocol, ext(), doc("send a PROXY protocol header of this version to real servers; TCP and lb_kind NAT only (the proxy data plane)")),
	sub("dynamic_feedback", feedbackBlock, ext()),
)

// feedbackBlock is the dynamic_feedback extension: see check.Feedback.
var feedbackBlock = block("dynamic_feedback", newOf[DynamicFeedback], hNone, "",
	kw("agent_port", kPort, ext(), doc("TCP port of each real server's load agent (HAProxy agent-check replies); none: latency only")),
	kw("agent_interval", kInterval, ext(), dfltDoc("real server delay_loop")),
	kw("agent_timeout", kInterval, ext(), dfltDoc("real server connect_timeout")),
	kw("latency_target", kInterval0, ext(), doc("check latency above it scales the weight down; 0 or unset: latency does not count")),
	kw("smoothing", kFraction, ext(), dflt("0.3"), doc("weight of each new sample in the moving average")),
	kw("min_percent", kPercent, alias("min_weight"), ext(), dflt("10"), doc("lower bound, % of the configured weight")),
	kw("max_percent", kPercent1, alias("max_weight"), ext(), dflt("100"), doc("upper bound, % of the configured weight")),
)

var authenticationBlock = block("authentication", newOf[Authentication], hNone, "",
	kw("auth_type", enumKind("PASS", "AH"), required()),
	kw("auth_pass", kString),
)

var instanceBlock = block("vrrp_instance", newOf[Instance], hName, "NAME",
	kw("use_vmac", kVMAC, doc("run the instance on a private macvlan with the VRRP virtual MAC 00:00:5e:00:01:VRID (IPv6 …:02:VRID), or with MAC (its address VMACs too; given as five octets, the VRID is the sixth; cleared by strict_mode), as keepalived"), dfltDoc("NAME vrrp.VRID")),
	kw("use_vmac_addr", kFlag, doc("each address on another interface than the instance's, or of the other family, goes on a VMAC of its own on that interface (vmac_addr_prefix names them); per address, use_vmac on its virtual_ipaddress line does the same")),
	kw("vmac_xmit_base", kFlag, doc("with use_vmac: send adverts from the base interface with its own MAC (forced with unicast_peer)")),
	unsup("use_ipvlan", kOptBoolList, doc("not implemented: the kernel govs is built and tested on has no ipvlan (CONFIG_IPVLAN), so it could not be compared with keepalived; the instance runs on its interface")),
	kw("unicast_peer", eUnicastPeer),
	kw("unicast_fault_no_peer", kFlag, doc("without unicast peers the instance stays in FAULT instead of falling back to multicast")),
	kw("check_unicast_src", kBool, dfltDoc("global vrrp_check_unicast_src")),
	kw("old_unicast_checksum", kOldChecksum, doc("IPv4 VRRPv3 unicast: checksum over the multicast group instead of the peer's address, as keepalived 1.3.6 and earlier; without it the old checksum is used once a peer's advert verifies only that way; never: not even then")),
	unsup("native_ipv6", kFlag, deprecated("native_ipv6")),
	kw("state", enumKind("MASTER", "BACKUP"), dfltDoc("MASTER when priority is 255, else BACKUP")),
	kw("interface", kString),
	unsup("vrf", kString, doc("not implemented: the kernel govs is tested on has no VRF (CONFIG_NET_VRF)")),
	kw("dont_track_primary", kFlag),
	kw("track_interface", eTrackIf),
	kw("track_script", eTrackIf),
	kw("track_file", eTrackFile),
	kw("track_process", eTrackFile, doc("weight defaults to the vrrp_track_process block's")),
	kw("track_bfd", eTrackIf, doc("bfd_instance NAME [weight W [reverse]]: as track_interface, the session being Up or not; weight [the bfd_instance's]")),
	kw("mcast_src_ip", kAddr, alias("unicast_src_ip"), dfltDoc("primary address of the interface")),
	kw("mcast_dst_ip", kAddr, dfltDoc("global vrrp_mcast_group4/6")),
	kw("track_src_ip", kFlag, notApplied(), doc("keepalived documents FAULT while the configured source address is missing; keepalived 2.2.7 itself did not leave MASTER when unicast_src_ip was deleted from the interface (primary or secondary; tried 2026-11-24), and govs does nothing either")),
	kw("virtual_router_id", kPriority, required()),
	kw("unicast_ttl", kTTL, dflt("255"), doc("TTL / hop limit of unicast adverts (multicast ones carry 255)")),
	kw("version", intKind(2, 3), dfltDoc("global vrrp_version; 3 for IPv6")),
	kw("priority", kPriority, dfltDoc("100; 255 with state MASTER")),
	kw("advert_int", timerKind(10*time.Millisecond, 255*time.Second), dflt("1")),
	kw("virtual_ipaddress", eIPAddress),
	kw("virtual_ipaddress_excluded", eIPAddress),
	kw("promote_secondaries", kFlag, doc("sets the interface's promote_secondaries sysctl while running; reset at stop unless it was already on")),
	unsup("linkbeat_use_polling", kFlag, deprecated("linkbeat_use_polling"), doc("as the top-level linkbeat_use_polling")),
	kw("virtual_routes", eRoute),
	kw("virtual_rules", eRule),
	kw("accept", kFlag, dfltDoc("on, off with strict mode and priority < 255"), doc("without it, a master other than the address owner drops all traffic to and from its addresses (nftables rules in the table of global nftables), as keepalived; an explicit accept in strict mode with VRRPv2 is reset, with keepalived's warning")),
	kw("no_accept", kFlagOff),
	kw("skip_check_adv_addr", kBool, dfltDoc("global vrrp_skip_check_adv_addr")),
	kw("strict_mode", kBool, dfltDoc("global vrrp_strict")),
	kw("preempt", kFlagOff),
	kw("nopreempt", kFlag),
	kw("preempt_delay", timerKind(0, 1000*time.Second)),
	unsup("debug", intKind(0, 4), doc("keepalived's internal debugging; govs run --log-level debug")),
	kw("notify_backup", kScript),
	kw("notify_master", kScript),
	kw("notify_fault", kScript),
	kw("notify_stop", kScript),
	kw("notify_deleted", kOptScript, doc("a reload that removes the instance announces it DELETED (to notify, the FIFO and SNMP) instead of FAULT; with a command, that command also runs")),
	kw("notify", kScript),
	kw("notify_master_rx_lower_pri", kScript, doc("run each time this master hears a lower priority master; a MASTER_RX_LOWER_PRI line goes to the notify FIFO")),
	kw("smtp_alert", kBool, dfltDoc("global smtp_alert_vrrp, else off; off without mail")),
	kw("notify_priority_changes", kBool, dfltDoc("the sync group's, else global vrrp_notify_priority_changes"), doc("notify_fifo line INSTANCE \"NAME\" MASTER_PRIORITY (or BACKUP_PRIORITY) PRIO on each change of the effective priority; no script")),
	kw("lvs_sync_daemon_interface", kString, deprecated("lvs_sync_daemon_interface"),
		doc("deprecated for global lvs_sync_daemon IF INSTANCE, which it stands for unless that is set, as in keepalived")),
	kw("garp_master_delay", kTimer0, dfltDoc("global vrrp_garp_master_delay")),
	kw("garp_master_refresh", kTimer0, dfltDoc("global vrrp_garp_master_refresh")),
	kw("garp_master_repeat", kGarpRepeat, dfltDoc("global vrrp_garp_master_repeat")),
	kw("garp_master_refresh_repeat", kGarpRepeat, dfltDoc("global vrrp_garp_master_refresh_repeat")),
	kw("garp_lower_prio_delay", kTimer0, dfltDoc("global vrrp_garp_lower_prio_delay; 0 in strict mode")),
	kw("garp_lower_prio_repeat", kGarpRepeat, dfltDoc("global vrrp_garp_lower_prio_repeat; 0 in strict mode")),
	kw("down_timer_adverts", intKind(1, 100), dfltDoc("global vrrp_down_timer_adverts")),
	kw("garp_extra_if", garpExtraIfKind(0), alias("vmac_garp_intvl"), deprecated("vmac_garp_intvl"), dfltDoc("global vrrp_garp_extra_if"), doc("while master, one gratuitous ARP / NA every SECS on each other interface carrying the instance's addresses: VMACs only, or every one with all; the instance's own too with vmac_xmit_base. 0 turns it off")),
	kw("lower_prio_no_advert", kBool, dfltDoc("global vrrp_lower_prio_no_advert")),
	kw("higher_prio_send_advert", kBool, dfltDoc("global vrrp_higher_prio_send_advert; off in strict mode")),
	kw("kernel_rx_buf_size", kBufSize, doc("SO_RCVBUF of the instance's advert socket, in bytes"), dfltDoc("by vrrp_rx_bufs_policy; none: the kernel's default")),
	sub("authentication", authenticationBlock),
)

var globalDefsBlock = block("global_defs", newOf[GlobalDefs], hNone, "",
	unsup("process_names", kFlag),
	kw("process_name", kString, doc("the name of govs's process (its comm: ps, pgrep, top), as keepalived names its parent process; at most 15 characters (longer is cut, with keepalived's warning); a reload changes it, and one without it gives back the name govs started with. The child-process names below have no process to name: govs is one")),
	unsup("vrrp_process_name", kString),
	unsup("checker_process_name", kString, alias("lvs_process_name")),
	unsup("bfd_process_name", kString),
	kw("router_id", kString, dfltDoc("host name")),
	kw("notification_email_from", kMailbox, dfltDoc("USER@<host name>: the user govs runs as, as keepalived")),
	kw("smtp_server", kSMTPServer, doc("port 25 when not given; no mail without it")),
	kw("smtp_helo_name", kHostName, dfltDoc("host name")),
	kw("smtp_connect_timeout", secondsKind(0, 4294), dflt("30"), doc("0 means 1, with a warning")),
	kw("notification_email", eMailbox, doc("recipients; no mail without one")),
	kw("smtp_alert", kBool, doc("default of smtp_alert_vrrp and smtp_alert_checker")),
	kw("startup_script", kScript, doc("run before govs starts anything, at most startup_script_timeout; started anyway on failure or timeout; not run again on reload")),
	kw("startup_script_timeout", intKind(1, 1000), dflt("10"), doc("seconds; then SIGTERM to its process group, SIGKILL 2 s later")),
	kw("shutdown_script", kScript, doc("run after everything stopped, at most shutdown_script_timeout; the reloaded configuration's counts")),
	kw("shutdown_script_timeout", intKind(1, 1000), dflt("10"), doc("seconds; then SIGTERM to its process group, SIGKILL 2 s later")),
	kw("max_auto_priority", kind{doc: "[-1..99]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return 99, nil
		}
		return parseIntRange(a[0].Text, 0, -1, 99)
	}}, dfltDoc("0 (off); alone: 99"), doc("when a VRRP or BFD thread finds a timer more than min_auto_priority_delay overdue, those threads' SCHED_RR priority goes up one step (from none to 1), up to this, logged as keepalived does; -1 or 0: off. Checkers run on goroutines spread over every thread and are not raised")),
	kw("min_auto_priority_delay", intKind(1, 10000000), dflt("1000000"), doc("µs a timer must be overdue for max_auto_priority to act")),
	kw("smtp_alert_vrrp", kBool, dfltDoc("smtp_alert")),
	kw("smtp_alert_checker", kBool, dfltDoc("smtp_alert")),
	kw("checker_log_all_failures", kBool, doc("log_all_failures for every checker")),
	kw("dynamic_interfaces", kind{doc: "[allow_if_changes]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 1 && a[0].Text != "allow_if_changes" {
			return nil, argErrorf(0, "%q is not allow_if_changes", a[0].Text)
		}
		return true, nil
	}}, doc("an instance whose interface (or an address's device) is missing is in FAULT until it appears, instead of an error; an interface deleted and created again, of any type, gets its instances rebuilt with or without it, so allow_if_changes is always in effect")),
	kw("no_email_faults", kFlag, doc("no mail when an instance or sync group enters FAULT")),
	kw("default_interface", kString, dflt("eth0")),
	kw("disable_local_igmp", kFlag, doc("net.ipv4.igmp_link_local_mcast_reports is 0 while govs runs (put back to 1 at stop if it was), so VMACs send no IGMP reports for 224.0.0.0/24; a reload cannot change it (logged, as keepalived)")),
	kw("lvs_timeouts", kTimeouts),
	kw("lvs_flush", kFlag),
	kw("lvs_flush_on_stop", kind{doc: "[VS|RS]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "RS", nil
		}
		if a[0].Text != "VS" && a[0].Text != "RS" {
			return nil, argErrorf(0, "%q is not VS or RS", a[0].Text)
		}
		return a[0].Text, nil
	}}, alias("lvs_flush_onstop"), deprecated("lvs_flush_onstop")),
	kw("lvs_sync_daemon", kSyncDaemon, doc("with the ipvs data plane, as keepalived: naming an instance, the daemon is backup and becomes master with it (id defaults to its virtual_router_id; an instance that does not exist clears lvs_sync_daemon), run by the VRRP side (also under -P, not under -C); naming none, master and backup run together (id 0), run by the checker side (not under -P)")),
	kw("vrrp_mcast_group4", kMcast4, dflt("224.0.0.18")),
	kw("vrrp_mcast_group6", kMcast6, dflt("ff02::12")),
	kw("vrrp_garp_master_delay", kTimer0, dflt("5")),
	kw("vrrp_garp_master_repeat", kGarpRepeat, dflt("5")),
	kw("vrrp_garp_master_refresh", kTimer0),
	kw("vrrp_garp_master_refresh_repeat", kGarpRepeat, dflt("1")),
	kw("vrrp_garp_lower_prio_delay", kTimer0, dfltDoc("vrrp_garp_master_delay")),
	kw("vrrp_garp_lower_prio_repeat", kGarpRepeat, dfltDoc("vrrp_garp_master_repeat")),
	kw("vrrp_down_timer_adverts", intKind(1, 100), dflt("3")),
	kw("vrrp_garp_interval", kTimer0, doc("pause after each gratuitous ARP on an interface, whichever instance sent it (a VMAC counts as its base interface); garp_group overrides it. keepalived 2.2.7 rejects 0 with a warning")),
	kw("vrrp_gna_interval", kTimer0, doc("pause after each unsolicited NA on an interface, whichever instance sent it (a VMAC counts as its base interface); garp_group overrides it. keepalived 2.2.7 rejects 0 with a warning")),
	kw("vrrp_min_garp", kBool, doc("sets vrrp_garp_master_delay 0, _repeat 1, _refresh 0, _refresh_repeat 0 where they are at their defaults when its line is read")),
	kw("vrrp_garp_extra_if", garpExtraIfKind(1), alias("vrrp_vmac_garp_intvl"), deprecated("vrrp_vmac_garp_intvl"), doc("default of the instances' garp_extra_if")),
	kw("vrrp_lower_prio_no_advert", kBool),
	kw("vrrp_higher_prio_send_advert", kBool),
	kw("vrrp_version", intKind(2, 3), dflt("2")),
	kw("vrrp_iptables", kOptBoolList, doc("iptables is not supported (as in Debian's keepalived, built with nftables only): means nftables with the table \"keepalived\", with keepalived's warning")),
	unsup("vrrp_ipsets", kOptBoolList, doc("as namespace_with_ipsets (Debian's keepalived 2.2.7 reports it as an unknown keyword)")),
	kw("nftables", kOptStr, doc("[keepalived] names the ip and ip6 tables of the drop rules of instances without accept mode and of the VMAC IGMP/MLD rules; without it they are made as \"keepalived\" where needed. Resets nftables_priority to -1, as keepalived")),
	kw("nftables_priority", intKind(-2147483648, 2147483647), dflt("-1")),
	kw("nftables_ifindex", kFlag),
	kw("nftables_ipvs", kOptStr, doc("[keepalived_ipvs] with the ipvs data plane, each virtual_server_group without fwmark entries is one IPVS fwmark service per protocol, and nftables maps (table ip/ip6 TABLE, chain in) mark the packets to its addresses; resets nftables_ipvs_priority and nftables_ipvs_start_fwmark, as keepalived. Ignored, with a warning, by the other data planes")),
	kw("nftables_ipvs_priority", intKind(-2147483648, 2147483647), dflt("-1"), doc("priority of the input chain that marks")),
	kw("nftables_ipvs_start_fwmark", intKind(1, 4294967295), dflt("1000"), doc("the first mark given; each group and protocol after takes the next, in the order of the virtual servers")),
	kw("nftables_counters", kFlag),
	kw("vrrp_check_unicast_src", kFlag),
	kw("vrrp_skip_check_adv_addr", kFlag),
	kw("vrrp_strict", kFlag),
	kw("vrrp_priority", kProcPrio, doc("nice value of the VRRP instances' threads (each instance's state machine and advert receiver get threads of their own); unused with vrrp_rt_priority")),
	kw("vrrp_no_swap", kFlag, doc("keeps govs in memory (mlockall, as pages are first used): govs is one process, so all of it")),
	kw("vrrp_rt_priority", kRTPrio, doc("SCHED_RR priority of the VRRP instances' threads (each instance's state machine and advert receiver get threads of their own)")),
	kw("vrrp_cpu_affinity", kCPUs, doc("CPUs the VRRP instances' threads (each instance's state machine and advert receiver get threads of their own) run on")),
	kw("vrrp_rlimit_rttime", kPositive, alias("vrrp_rlimit_rtime"), deprecated("vrrp_rlimit_rtime"), dflt("10000"), doc("with vrrp_rt_priority: µs of CPU a real-time thread may use without blocking (RLIMIT_RTTIME of the process, the largest of those in use); SIGXCPU, logged, at half; the kernel kills govs at all of it")),
	kw("notify_fifo", kFIFO, doc("owner defaults to script_user")),
	kw("notify_fifo_script", kScript, doc("started with the FIFO's path as its last argument, left running; govs holds the FIFO open so it blocks between lines")),
	kw("vrrp_notify_fifo", kFIFO, doc("ignored when it is notify_fifo")),
	kw("vrrp_notify_fifo_script", kScript, doc("as notify_fifo_script, for vrrp_notify_fifo")),
	kw("vrrp_notify_priority_changes", kBool, doc("default of every vrrp_instance's notify_priority_changes")),
	kw("fifo_write_vrrp_states_on_reload", kFlag, doc("after each reload, every instance's and sync group's state line goes to the VRRP notify FIFO")),
	kw("lvs_notify_fifo", kFIFO, doc("gets the checker lines (RS … UP|DOWN, VS … UP|DOWN), as notify_fifo does; ignored when it is notify_fifo")),
	kw("lvs_notify_fifo_script", kScript, doc("as notify_fifo_script, for lvs_notify_fifo")),
	unsup("checker_priority", kProcPrio, doc("checkers run on goroutines spread over all of govs's threads, which cannot be singled out")),
	kw("checker_no_swap", kFlag, doc("keeps govs in memory (mlockall, as pages are first used): govs is one process, so all of it")),
	unsup("checker_rt_priority", kRTPrio, doc("as checker_priority")),
	unsup("checker_cpu_affinity", kWords, doc("as checker_priority")),
	unsup("checker_rlimit_rttime", kPositive, alias("checker_rlimit_rtime"), deprecated("checker_rlimit_rtime")),
	kw("bfd_priority", kProcPrio, doc("nice value of the BFD sessions' threads; unused with bfd_rt_priority")),
	kw("bfd_no_swap", kFlag, doc("keeps govs in memory (mlockall, as pages are first used): govs is one process, so all of it")),
	kw("bfd_rt_priority", kRTPrio, doc("SCHED_RR priority of the BFD sessions' threads")),
	kw("bfd_cpu_affinity", kCPUs, doc("CPUs the BFD sessions' threads run on")),
	kw("bfd_rlimit_rttime", kPositive, alias("bfd_rlimit_rtime"), deprecated("bfd_rlimit_rtime"), dflt("10000"), doc("with bfd_rt_priority: µs of CPU a real-time thread may use without blocking (RLIMIT_RTTIME of the process, the largest of those in use); SIGXCPU, logged, at half; the kernel kills govs at all of it")),
	kw("snmp_socket", kSNMPSocket, dflt("unix:/var/agentx/master"), doc("the SNMP master agent's AgentX socket (snmpd's master agentx): unix:PATH, PATH, tcp:HOST:PORT or udp:HOST:PORT (accepted as keepalived accepts it, but net-snmp's master cannot query a subagent over UDP); govs connects again every 15 s while it is away")),
	kw("enable_traps", kFlag, doc("the SNMP notifications go to the master agent: with enable_snmp_rfcv2/rfcv3 the new-master ones (vrrpTrapNewMaster, vrrpv3NewMaster; the authentication and protocol error ones are not sent), with enable_snmp_vrrp and enable_snmp_checker KEEPALIVED-MIB's")),
	kw("enable_snmp_vrrp", kFlag, alias("enable_snmp_keepalived"), deprecated("enable_snmp_keepalived"), doc("KEEPALIVED-MIB's VRRP part (1.3.6.1.4.1.9586.100.5.2) and its global objects (…5.1) through an AgentX subagent, from the process that runs VRRP, as keepalived 2.2.7 fills them in; sets of vrrpInstanceBasePriority and vrrpInstancePreempt change the instance until the next reload, as keepalived's")),
	kw("enable_snmp_rfc", kFlag, doc("enable_snmp_rfcv2 and enable_snmp_rfcv3")),
	kw("enable_snmp_rfcv2", kFlag, doc("RFC 2787's VRRP-MIB (1.3.6.1.2.1.68) through an AgentX subagent, from the process that runs VRRP: the VRRPv2 instances over IPv4, as keepalived 2.2.7 shows them")),
	kw("enable_snmp_rfcv3", kFlag, doc("RFC 6527's VRRPv3-MIB (1.3.6.1.2.1.207) through an AgentX subagent, from the process that runs VRRP: every instance with a virtual address (VRRPv2 ones too, as Debian's keepalived)")),
	kw("enable_snmp_checker", kFlag, doc("KEEPALIVED-MIB's health checker part (1.3.6.1.4.1.9586.100.5.3: virtual servers, real servers, the LVS sync daemon and timeouts) and its global objects through an AgentX subagent, as keepalived 2.2.7 fills them in; a set of realServerWeight gives the real server that weight until the next reload, as keepalived's")),
	kw("enable_dbus", kFlag, doc("keepalived's D-Bus interface on the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket): the Vrrp object's PrintData, PrintStats, PrintStatsClear and ReloadConfig and its VrrpStarted, VrrpReloaded and VrrpStopped signals; an object per VRRP instance with Name, State, SendGarp and VrrpStatusChange. Only where VRRP runs (not under -C); the bus's policy must let govs own the name (keepalived's /etc/dbus-1/system.d/org.keepalived.Vrrp1.conf does for root). A bus not up yet, or restarted, is connected to again once it answers (tried after 1 s, then doubling to 30 s), with VrrpStarted and each instance's state sent again; VRRP runs on meanwhile")),
	kw("dbus_service_name", kBusName, dflt("org.keepalived.Vrrp1"), doc("the bus name enable_dbus owns")),
	kw("script_user", kUser, dfltDoc("keepalived_script if that user exists, else root")),
	kw("enable_script_security", kFlag),
	kw("vrrp_netlink_cmd_rcv_bufs", kBufSize, doc("SO_RCVBUF, in bytes, of VRRP's netlink socket for addresses, routes, rules and links"), dfltDoc("the kernel's default")),
	kw("vrrp_netlink_cmd_rcv_bufs_force", kBool, doc("set it with SO_RCVBUFFORCE, beyond net.core.rmem_max")),
	kw("vrrp_netlink_monitor_rcv_bufs", kBufSize, doc("SO_RCVBUF, in bytes, of VRRP's netlink socket that follows the links (from the next start or reload)"), dfltDoc("the kernel's default")),
	kw("vrrp_netlink_monitor_rcv_bufs_force", kBool, doc("set it with SO_RCVBUFFORCE")),
	kw("process_monitor_rcv_bufs", kBufSize, doc("SO_RCVBUF, in bytes, of the proc connector socket of vrrp_track_process (from the next start or reload); when it overflows govs rescans /proc and doubles it, logging the new size, as keepalived does"), dfltDoc("the kernel's default")),
	kw("process_monitor_rcv_bufs_force", kBool, doc("set it with SO_RCVBUFFORCE")),
	unsup("lvs_netlink_cmd_rcv_bufs", kBufSize, doc("keepalived 2.2.7's checker process applies it to no socket either")),
	unsup("lvs_netlink_cmd_rcv_bufs_force", kBool, doc("as lvs_netlink_cmd_rcv_bufs")),
	kw("lvs_netlink_monitor_rcv_bufs", kBufSize, doc("SO_RCVBUF, in bytes, of the checkers' netlink socket that follows addresses (ha_suspend)"), dfltDoc("the kernel's default")),
	kw("lvs_netlink_monitor_rcv_bufs_force", kBool, doc("set it with SO_RCVBUFFORCE")),
	kw("rs_init_notifies", kBool, doc("a real server that starts up (no alpha, or no checkers) runs notify_up when first configured, at start or added by a reload")),
	kw("no_checker_emails", kBool, doc("real servers with smtp_alert are mailed only about changes of their own state; without it, as keepalived, each of their checkers' changes is mailed too")),
	kw("vrrp_rx_bufs_policy", kRxBufsPolicy, doc("receive buffer (SO_RCVBUF) of advert sockets of instances without kernel_rx_buf_size: vrrp_rx_bufs_multiplier interface MTUs or adverts, or a size in bytes"), dfltDoc("the kernel's default")),
	kw("vrrp_rx_bufs_multiplier", kPositive, dflt("3")),
	kw("vrrp_startup_delay", kTimer0),
	kw("log_unknown_vrids", kFlag, doc("log each advert for a VRID no instance runs on the interface it arrives on")),
	kw("vmac_prefix", kString, dflt("vrrp"), doc("begins the names of VMACs that use_vmac does not name: PREFIX.VRID, then PREFIX1.VRID, … while taken")),
	kw("vmac_addr_prefix", kString, dfltDoc("vmac_prefix"), doc("begins the names of the VMACs of use_vmac_addr and of addresses with use_vmac")),
	kw("umask", kUmask, dfltDoc("0177, as keepalived (or govs run -u MASK)"), doc("set at start and on each reload; ignored when govs run has -u, as keepalived ignores it with its -u. Files govs and its scripts create get it")),
	kw("random_seed", kind{doc: "0..4294967295", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return parseUint32(a[0].Text, 0) }},
		doc("seeds ${_RANDOM}, so every parse of the file gives the same values"), dfltDoc("a new seed at each start and reload")),
	kw("reload_check_config", kind{doc: "[LOGFILE]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "/dev/null", nil
		}
		return a[0].Text, nil
	}}, doc("each reload writes the new configuration's diagnostics to LOGFILE [/dev/null], emptied first, and logs \"new configuration failed validation, see LOGFILE\" when it is refused; govs checks a new configuration before every reload either way")),
	kw("reload_time_file", kAbsPath, doc("a file whose first line (HH:MM:SS, YY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS, Z for UTC) schedules a reload at that time, so that a pair can switch to an incompatible configuration at once; read every half second: a change moves the time, removing the file cancels it; the file is removed when the reload comes unless reload_repeat")),
	kw("reload_repeat", kFlag, doc("keep reload_time_file after its reload: a time without a date then reloads every day")),
	kw("reload_file", kOptStr, doc("[/run/govs/govs.reload] exists, empty, while a reload reads the configuration, so a configuration updater can wait for it to go")),
	kw("include_check", kind{doc: "[read|match|wildcard_match|brace_match] [+TYPE|-TYPE …]", maxArgs: -1, parse: func(a []Token, _ string) (any, error) { return texts(a), nil }},
		doc("makes the include lines after it (in this file and the files it includes) fail as includea/includem/includew/includeb would: match = a file named must exist, wildcard_match = a pattern must match, brace_match = every {a,b} alternative must; alone: all of them (as govs run -e from the start). read is what govs always does (an unreadable file is an error)")),
	unsup("config_save_dir", kString, doc("keepalived keeps the configuration there for its child processes to reread; govs has none")),
	unsup("tmp_config_directory", kString, doc("as config_save_dir")),
	kw("data_use_instance", kBool, doc("the SIGUSR1 dump file gets the net_namespace and instance names before its extension (/tmp/govs.NS_INSTANCE.data), as keepalived's; govs names its SIGUSR2 and JSON dumps so too (keepalived's stay keepalived.stats and keepalived.json), so that several govs on one host do not share them")),
	kw("http_listen", kListen, ext(), doc("address of the HTTP status, /metrics and dashboard listener; none: no listener")),
	kw("http_listen_any", kFlag, ext(), doc("allow http_listen on 0.0.0.0 or [::]")),
	kw("http_token", kToken, ext(), doc("bearer token the HTTP API requires")),
)

func trackFileBlock() *blockSpec {
	return block("track_file", newOf[TrackFile], hName, "NAME",
		kw("file", kString, required()),
		kw("weight", weightKind(-2147483647, 2147483647), dflt("1")),
		kw("init_file", kInitFile, doc("VALUE [0] written when the configuration is read if the file is missing; with overwrite also over an existing regular file, except on a reload")),
	)
}

// kProcessDelay is the delays of vrrp_track_process: keepalived reads them with
// microsecond resolution, 0.000001..3600 s.
var kProcessDelay = timerKind(time.Microsecond, 3600*time.Second)

func trackProcessBlock() *blockSpec {
	return block("vrrp_track_process", newOf[TrackProcess], hName, "NAME",
		kw("process", kind{doc: "NAME [PARAM…]", minArgs: 1, maxArgs: -1, parse: func(a []Token, _ string) (any, error) { return texts(a), nil }},
			required(), doc("matched against /proc/PID/stat's name (15 characters) or, with parameters or full_command, against the command line")),
		kw("param_match", kParamMatch, dfltDoc("exact when process has parameters"), doc("bare keyword: exact; each sets full_command")),
		kw("weight", weightKind(-254, 254), dflt("0"), doc("0: the instances tracking it go to FAULT while it is down")),
		kw("quorum", intKind(1, 65535), dflt("1"), doc("up while at least this many processes match")),
		kw("quorum_max", intKind(0, 65535), dfltDoc("no maximum"), doc("up while at most this many match; 0 (quorum unset): up while none runs")),
		kw("delay", kProcessDelay, doc("sets fork_delay and terminate_delay; the later line wins")),
		kw("terminate_delay", kProcessDelay, dfltDoc("delay, else 0"), doc("a loss of quorum takes effect only if it lasts this long")),
		kw("fork_delay", kProcessDelay, dfltDoc("delay, else 0"), doc("a process forked by a tracked one counts only after this long")),
		kw("full_command", kFlag, doc("match the command line's first word instead of the process name")),
	)
}

var syncGroupBlock = func() *blockSpec {
	b := block("vrrp_sync_group", newOf[SyncGroup], hName, "NAME",
		kw("group", eName, required()),
		kw("track_interface", eTrackIf),
		kw("track_script", eTrackIf),
		kw("track_file", eTrackFile),
		kw("track_process", eTrackFile, doc("applied to every member")),
		kw("track_bfd", eTrackIf, doc("bfd_instance NAME [weight W [reverse]]: as track_interface, the session being Up or not; weight [the bfd_instance's]")),
		kw("notify_backup", kScript),
		kw("notify_master", kScript),
		kw("notify_fault", kScript),
		kw("notify_stop", kScript),
		kw("notify", kScript),
		kw("smtp_alert", kBool, dfltDoc("global smtp_alert_vrrp, else off; off without mail")),
		unsup("global_tracking", kFlag, deprecated("global_tracking")),
		kw("sync_group_tracking_weight", kFlag, doc("the members keep the weights of what they track themselves; without it, as keepalived, their tracked interfaces count with weight 0 (down is FAULT), their weighted scripts, BFDs and files are not tracked (a file with the default weight 1 counts with 0); the group's own track_* keep their weights either way")),
		kw("notify_priority_changes", kBool, doc("default of its members' notify_priority_changes")),
	)
	b.hint = "members of a sync group go inside group { }"
	return b
}()

// rootBlock is the top level of a configuration file.
var rootBlock = func() *blockSpec {
	vsg := block("virtual_server_group", newOf[VirtualServerGroup], hName, "NAME")
	vsg.entries = &eVSGroup
	root := block("(top level)", nil, hNone, "",
		unsup("linkbeat_use_polling", kFlag, doc("govs follows links through rtnetlink's carrier and up/down events, which current drivers all send; keepalived's MII, ethtool or SIOCGIFFLAGS polling every second, for drivers that send none, is not done")),
		kw("net_namespace", kString, doc("govs run enters the network namespace NAME (ip netns add NAME) before anything starts, and its default control socket becomes /run/govs/NAME/govs.sock; a reload cannot change it; govs run -s NAME overrides it")),
		kw("net_namespace_ipvs", kOptNetns, doc("the ipvs data plane programs IPVS (its table, timeouts, sync daemon, nftables_ipvs's tables) in the network namespace NAME (ip netns add NAME), or without NAME in the default one (of PID 1), while VRRP and the checkers stay in govs's; a reload cannot change it; the other data planes serve in govs's namespace")),
		unsup("namespace_with_ipsets", kFlag, doc("ipsets are for iptables; govs uses nftables, as Debian's keepalived, which does not know vrrp_ipsets")),
		unsup("use_pid_dir", kFlag, doc("govs writes pid files only where govs run -p, -r, -c or -b names them")),
		kw("instance", kString, doc("the instance's name, for data_use_instance's file names")),
		unsup("child_wait_time", kPositive, doc("govs has no child processes to wait for")),
		sub("global_defs", globalDefsBlock),
		sub("track_file", trackFileBlock(), alias("vrrp_track_file"), deprecated("vrrp_track_file"), repeat()),
		sub("track_group", block("track_group", newOf[TrackGroup], hName, "NAME", kw("group", eName)), repeat(),
			doc("the vrrp_instances in group track the device of each static address, route (dev) and rule (iif) naming the track_group: FAULT while it is down; it must come before them, as in keepalived")),
		kw("static_ipaddress", eIPAddress, repeat()),
		kw("static_routes", eRoute, repeat()),
		kw("static_rules", eRule, repeat()),
		sub("vrrp_sync_group", syncGroupBlock, repeat()),
		sub("garp_group", block("garp_group", newOf[GarpGroup], hNone, "",
			kw("garp_interval", kTimer0, doc("pause after each gratuitous ARP on the group's interfaces, which share it")),
			kw("gna_interval", kTimer0, doc("pause after each unsolicited NA on the group's interfaces, which share it")),
			kw("interface", kString),
			kw("interfaces", eName),
		), repeat(), doc("an interface in no group is paced on its own with vrrp_garp_interval / vrrp_gna_interval")),
		unsup("linkbeat_interfaces", eWords, doc("as linkbeat_use_polling")),
		sub("vrrp_instance", instanceBlock, repeat()),
		sub("vrrp_script", block("vrrp_script", newOf[VRRPScript], hName, "NAME",
			kw("script", kCmd),
			kw("interval", secondsKind(1, 4294), dflt("1")),
			kw("timeout", secondsKind(1, 4294), dfltDoc("interval")),
			kw("weight", kWeight, dflt("0")),
			kw("rise", kPositive, dflt("1")),
			kw("fall", kPositive, dflt("1")),
			kw("user", kUser, dfltDoc("global script_user")),
			kw("init_fail", kFlag),
		), repeat()),
		sub("vrrp_track_process", trackProcessBlock(), repeat()),
		kw("interface_up_down_delays", eLinkDelay, repeat(), doc("seconds (0..255, to the microsecond) a link going down, or up, must stay so before VRRP sees it; shortened below (down_timer_adverts − 1) × advert_int of the instances on it, as keepalived does")),
		sub("SSL", block("SSL", newOf[SSL], hNone, "",
			kw("password", kString, doc("govs cannot read an encrypted key: with a password, SSL_GET presents no certificate (a warning says so)")),
			kw("ca", kString, doc("file of CA certificates")),
			kw("certificate", kString, doc("file")),
			kw("key", kString, doc("file")),
		), doc("client context of every SSL_GET: a client certificate to present, CAs to load (keepalived does not reject an unverified server)")),
		sub("virtual_server_group", vsg, repeat()),
		sub("virtual_server", virtualServerBlock, repeat()),
		sub("bfd_instance", block("bfd_instance", newOf[BFDInstance], hName, "NAME",
			kw("source_ip", kAddr, dfltDoc("chosen by routing")),
			kw("neighbor_ip", kAddr, alias("neighbour_ip"), required()),
			kw("min_rx", msKind(1, 4294967), dflt("10"), doc("ms: the slowest the neighbour's packets may come")),
			kw("min_tx", msKind(1, 4294967), dflt("10"), doc("ms: how fast we send once Up")),
			kw("idle_tx", msKind(1000, 4294967), dflt("1000"), doc("ms: how fast we send while not Up")),
			kw("multiplier", intKind(1, 255), dflt("5"), doc("packets missed before the session is down")),
			kw("passive", kFlag, doc("send nothing until the neighbour has spoken")),
			kw("ttl", intKind(1, 255), alias("hoplimit"), dfltDoc("255 IPv4, 64 IPv6")),
			kw("max_hops", intKind(-1, 255), dflt("0"), doc("a packet must arrive with at least ttl − max_hops; −1 takes any")),
			kw("weight", weightKind(-253, 253), dflt("0"), doc("default weight of track_bfd entries")),
			kw("vrrp", kFlag, doc("only VRRP gets its state (with checker: both; neither: both)")),
			kw("checker", kFlag, doc("only checkers (BFD_CHECK) get its state")),
		), repeat()),
	)
	prepare(root)
	indexHomes(root)
	indexFields(reflect.TypeOf(Config{}))
	return root
}()

// newOf returns a new zero T; the schema uses it to make a block's model value.
func newOf[T any]() any { return new(T) }
