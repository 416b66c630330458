// Package checkmodule is KEEPALIVED-MIB's health checker part (1.3.6.1.4.1.9586.100.5.3,
// enable_snmp_checker) as keepalived 2.2.7's check_snmp.c fills it in: the virtual
// server groups and their members, the virtual and real servers with their settings,
// health, quorum and IPVS counters, the LVS sync daemon and timeouts; and its two
// notifications, realServerStateChange and virtualServerQuorumStateChange.
//
// Rows are numbered as keepalived numbers them: virtual servers in the order of the
// configuration, each one's real servers after its sorry server (realServerIndex 1 when
// there is one). A column keepalived leaves out for a row (the address of a fwmark
// service, the status of a sorry server, an unset threshold) is left out here too.
// realServerWeight is the one writable variable, as in keepalived.
package checkmodule

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/table"
)

// The tables and groups of the checker part.
var (
	groupEntry  = kamib.CheckerRoot.Append(1, 1)
	memberEntry = kamib.CheckerRoot.Append(2, 1)
	vsEntry     = kamib.CheckerRoot.Append(3, 1)
	rsEntry     = kamib.CheckerRoot.Append(4, 1)
	syncDaemon  = kamib.CheckerRoot.Append(6)
	timeouts    = kamib.CheckerRoot.Append(7)

	// RealServerStateChange and QuorumStateChange are the notifications' OIDs.
	RealServerStateChange = kamib.CheckerRoot.Append(5, 0, 1)
	QuorumStateChange     = kamib.CheckerRoot.Append(5, 0, 2)
)

// Live is the running state the module shows beside the configuration.
type Live struct {
	// Services are the engine's services (engine.Status): health and quorum.
	Services []engine.ServiceStatus
	// Stats are the data plane's counters.
	Stats table.Stats
	// Checks are the checkers' states, for the failed checks of each real server.
	Checks []check.ServerStatus
}

// Source is what the module reads, again at every request.
type Source struct {
	// Config returns the configuration in force; nil: none, the module is empty.
	Config func() *config.Config
	// Keys returns the services a virtual server stands for, its first the one whose
	// health its real servers have (a group's members follow the first).
	Keys func(*config.VirtualServer) []table.ServiceKey
	// Live returns the running state; a zero Live shows every server down.
	Live func() Live
	// SetWeight gives a real server of a service (as Live names them) a weight until
	// the next reload (engine.SetWeight); nil: realServerWeight is not writable.
	SetWeight func(key table.ServiceKey, rs netip.AddrPort, weight int) error
}

// MIB serves the checker part from a Source.
type MIB struct {
	Source Source
}

var _ agentx.MIB = (*MIB)(nil)

// Subtrees is the checker part's root.
func (m *MIB) Subtrees() []agentx.OID { return []agentx.OID{kamib.CheckerRoot} }

// Variables builds every variable of the checker part.
func (m *MIB) Variables() []agentx.Variable {
	cfg := m.config()
	if cfg == nil {
		return nil
	}
	vss := m.rows(cfg)
	var out []agentx.Variable
	out = appendGroups(out, cfg.VirtualServerGroups)
	for i := range vss {
		out = vss[i].appendVariables(out, uint32(i+1))
	}
	out = appendSyncDaemon(out, cfg.Global.LVSSyncDaemon)
	return appendTimeouts(out, cfg.Global.LVSTimeouts)
}

func (m *MIB) config() *config.Config {
	if m.Source.Config == nil {
		return nil
	}
	return m.Source.Config()
}

// vsRow is a virtual server and what its rows show.
type vsRow struct {
	vs      *config.VirtualServer
	live    engine.ServiceStatus // its first service's; zero when the engine has none
	inTable bool                 // the engine runs it: keepalived's vs->alive
	stats   []table.ServiceStats // of every service it stands for
	rss     []rsRow              // the sorry server first, then the real servers
}

// rsRow is a real server (or the sorry server) of a virtual server.
type rsRow struct {
	rs     *config.RealServer // nil for the sorry server
	addr   netip.AddrPort     // as keepalived shows it
	fwd    config.Forwarding
	up     bool
	weight int
	failed int // checkers that fail now
	stats  table.DestStats
	// live is the engine's state of the server; nil when it runs no such server.
	live *engine.RealServerStatus
}

func (m *MIB) rows(cfg *config.Config) []vsRow {
	var live Live
	if m.Source.Live != nil {
		live = m.Source.Live()
	}
	return m.rowsOf(cfg, live)
}

func (m *MIB) rowsOf(cfg *config.Config, live Live) []vsRow {
	services := map[table.ServiceKey]engine.ServiceStatus{}
	for _, s := range live.Services {
		if _, ok := services[s.Key]; !ok {
			services[s.Key] = s
		}
	}
	stats := map[table.ServiceKey]table.ServiceStats{}
	for _, s := range live.Stats.Services {
		stats[s.Key] = s
	}
	checks := check.ByServer(live.Checks)
	out := make([]vsRow, 0, len(cfg.VirtualServers))
	for _, vs := range cfg.VirtualServers {
		if vs == nil {
			continue
		}
		r := vsRow{vs: vs}
		var keys []table.ServiceKey
		if m.Source.Keys != nil {
			keys = m.Source.Keys(vs)
		}
		for i, k := range keys {
			if i == 0 {
				r.live, r.inTable = services[k]
			}
			if st, ok := stats[k]; ok {
				r.stats = append(r.stats, st)
			}
		}
		if vs.SorryServer != nil {
			sorry := rsRow{addr: vs.KeptAddr(*vs.SorryServer, vs.SorryForwarding), fwd: vs.SorryForwarding}
			sorry.stats = destStats(r.stats, *vs.SorryServer)
			r.rss = append(r.rss, sorry)
		}
		// The engine's real servers are the configuration's, in its order.
		known := len(r.live.RealServers) == len(vs.RealServers)
		for j, rs := range vs.RealServers {
			row := rsRow{rs: rs, fwd: rs.Forwarding, weight: rs.Weight}
			row.addr = vs.KeptAddr(netip.AddrPortFrom(rs.Addr, rs.Port), rs.Forwarding)
			if known {
				st := &r.live.RealServers[j]
				row.up, row.live = st.Up, st
				row.stats = destStats(r.stats, st.Addr)
				// keepalived shows the weight it gives the server when up (what its
				// checkers and SNMP sets made it); a server in the table shows the
				// weight it has there, govs adm's edits included.
				row.weight = st.EffectiveWeight
				if st.Up && st.TableWeight >= 0 {
					row.weight = st.TableWeight
				}
				if c, ok := checks[st.CheckedVS][st.CheckedAddr]; ok {
					for _, ch := range c.Checkers {
						if !ch.Up {
							row.failed++
						}
					}
				}
			}
			r.rss = append(r.rss, row)
		}
		out = append(out, r)
	}
	return out
}

// destStats adds up a destination's counters over the services of a virtual server,
// as keepalived's ipvs_update_stats adds a group's members.
func destStats(services []table.ServiceStats, addr netip.AddrPort) table.DestStats {
	var sum table.DestStats
	for _, s := range services {
		for _, d := range s.Dests {
			if d.Addr.Addr() != addr.Addr() || (d.Addr.Port() != addr.Port() && d.Addr.Port() != 0 && addr.Port() != 0) {
				continue
			}
			sum.ActiveConn += d.ActiveConn
			sum.InActConn += d.InActConn
			sum.PersistConn += d.PersistConn
			sum.Counters = addCounters(sum.Counters, d.Counters)
			sum.Rates = addRates(sum.Rates, d.Rates)
		}
	}
	return sum
}

func addCounters(a, b table.Counters) table.Counters {
	return table.Counters{Conns: a.Conns + b.Conns, InPkts: a.InPkts + b.InPkts, OutPkts: a.OutPkts + b.OutPkts,
		InBytes: a.InBytes + b.InBytes, OutBytes: a.OutBytes + b.OutBytes}
}

func addRates(a, b table.Rates) table.Rates {
	return table.Rates{CPS: a.CPS + b.CPS, InPPS: a.InPPS + b.InPPS, OutPPS: a.OutPPS + b.OutPPS, InBPS: a.InBPS + b.InBPS, OutBPS: a.OutBPS + b.OutBPS}
}

// alive counts the real servers up: virtualServerRealUp.
func (r *vsRow) alive() int {
	n := 0
	for _, rs := range r.rss {
		if rs.rs != nil && rs.up {
			n++
		}
	}
	return n
}

// quorum is quorum and hysteresis as keepalived keeps them: a quorum above the real
// servers' total weight is lowered to it, and a hysteresis not below the quorum is set
// to one less (an unsigned one: 4294967295 for a quorum of 0).
func quorum(vs *config.VirtualServer) (q, hysteresis uint64) {
	sum := 0
	for _, rs := range vs.RealServers {
		sum += rs.Weight
	}
	q = uint64(max(vs.Quorum, 0))
	if q > uint64(max(sum, 0)) {
		q = uint64(max(sum, 0))
	}
	hysteresis = uint64(max(vs.Hysteresis, 0))
	if hysteresis >= q {
		hysteresis = (q - 1) & 0xffffffff
	}
	return q, hysteresis
}

// isV6 is the virtual server's family (keepalived's vs->af): its address's, a group's
// first address's, a fwmark service's (ip_family, else its real servers').
func isV6(vs *config.VirtualServer) bool {
	switch {
	case vs.Addr.IsValid():
		return vs.Addr.Is6()
	case vs.IPFamily != "":
		return vs.IPFamily == "inet6"
	case vs.Group != nil && len(vs.Group.Addresses) > 0:
		return vs.Group.Addresses[0].Addr().Is6()
	case len(vs.RealServers) > 0:
		return vs.RealServers[0].Addr.Is6()
	}
	return false
}

func addrType(a netip.Addr) int {
	if a.Is6() && !a.Is4In6() {
		return 2
	}
	return 1
}

// proto is keepalived's vs->service_type as virtualServerProtocol numbers it: tcp(1),
// udp(2), sctp(3), none(4) for a group of marks only, whose protocol keepalived drops
// (a fwmark service shows none). No protocol on an address service is UDP.
func proto(vs *config.VirtualServer) int {
	if vs.Group != nil && len(vs.Group.Addresses) == 0 && len(vs.Group.FwMarks) > 0 {
		return 4
	}
	switch strings.ToUpper(vs.Protocol) {
	case "TCP":
		return 1
	case "UDP", "":
		return 2
	case "SCTP":
		return 3
	}
	return 4
}

var schedulers = map[string]int{"rr": 1, "wrr": 2, "lc": 3, "wlc": 4, "lblc": 5, "lblcr": 6, "dh": 7, "sh": 8, "sed": 9,
	"nq": 10, "fo": 11, "ovf": 12, "mh": 13, "twos": 14}

func method(f config.Forwarding) int {
	switch f.Method {
	case "NAT", "":
		return 1
	case "DR":
		return 2
	case "TUN":
		return 3
	}
	return 0
}

// tunnel appends the tunnel columns (type, port, checksum) keepalived shows for a
// TUN server: the port for GUE only, the checksum for all but IPIP.
func tunnel(out []agentx.Variable, f config.Forwarding, typ, port, csum agentx.OID) []agentx.Variable {
	if f.Method != "TUN" {
		return out
	}
	kind := map[string]int{"": 1, "ipip": 1, "gue": 2, "gre": 3}[f.TunnelType]
	out = append(out, agentx.Int(typ, kind))
	if kind == 2 {
		out = append(out, agentx.Unsigned(port, uint64(f.TunnelPort)))
	}
	if kind != 1 {
		out = append(out, agentx.Int(csum, map[string]int{"": 1, "nocsum": 1, "csum": 2, "remcsum": 3}[f.Checksum]))
	}
	return out
}

// script is a notify script as keepalived's cmd_str_r writes it: each word quoted.
func script(s *config.Script) string {
	words := make([]string, len(s.Argv))
	for i, w := range s.Argv {
		words[i] = "'" + w + "'"
	}
	return strings.Join(words, " ")
}

func seconds(d time.Duration) uint64 { return uint64(max(d, 0) / time.Second) }
func micros(d time.Duration) uint64  { return uint64(max(d, 0) / time.Microsecond) }

// ifSet is d where the keyword was written (on the object or a block it inherits
// from), else 0: keepalived shows an unset retry, delay_before_retry or warmup as 0.
func ifSet(src *config.Source, keyword string, d time.Duration) time.Duration {
	if src.IsSet(keyword) {
		return d
	}
	return 0
}

// granularity is persistence_granularity as keepalived stores it, a 32-bit word: an
// IPv4 mask in network order, an IPv6 prefix length, 0xffffffff when unset; the
// octet-string column shows its bytes in memory (x86: little-endian), the unsigned one
// its value.
func granularity(vs *config.VirtualServer) uint32 {
	if vs.PersistenceMask == "" {
		return 0xffffffff
	}
	if m, err := netip.ParseAddr(vs.PersistenceMask); err == nil && m.Is4() {
		b := m.As4()
		return binary.LittleEndian.Uint32(b[:])
	}
	var n uint32
	for _, c := range vs.PersistenceMask {
		if c < '0' || c > '9' {
			return 0xffffffff
		}
		n = n*10 + uint32(c-'0')
	}
	return n
}

// schedFlags are the IPVS scheduler flags keepalived sets: flag-N always, sh-* only
// with the sh scheduler and mh-* only with mh (the same bits).
func schedFlags(vs *config.VirtualServer) (flag1, flag2, flag3 bool) {
	sh, mh := vs.Scheduler == "sh", vs.Scheduler == "mh"
	flag1 = vs.Flag1 || (sh && vs.SHFallback) || (mh && vs.MHFallback)
	flag2 = vs.Flag2 || (sh && vs.SHPort) || (mh && vs.MHPort)
	return flag1, flag2, vs.Flag3
}

// onePacket is ops as keepalived keeps it: reset for a service by address that is not UDP.
func onePacket(vs *config.VirtualServer) bool {
	byAddr := (vs.Group != nil && len(vs.Group.Addresses) > 0) || (vs.Group == nil && vs.FwMark == 0)
	return vs.OnePacket && (!byAddr || proto(vs) == 2)
}

// smtpAlert is a virtual or real server's smtp_alert as keepalived shows it: as set,
// else keepalived's default (off for virtual servers, on for real servers).
func smtpAlert(src *config.Source, v, dflt bool) bool {
	if src.IsSet("smtp_alert") {
		return v
	}
	return dflt
}

func (r *vsRow) appendVariables(out []agentx.Variable, idx uint32) []agentx.Variable {
	vs := r.vs
	col := func(c uint32) agentx.OID { return vsEntry.Append(c, idx) }
	typ := 2
	switch {
	case vs.Group != nil:
		typ = 3
	case vs.FwMark != 0:
		typ = 1
	}
	out = append(out, agentx.Int(col(2), typ))
	if vs.Group != nil {
		out = append(out, agentx.String(col(3), vs.Group.Name))
	}
	if vs.FwMark != 0 {
		out = append(out, agentx.Unsigned(col(4), uint64(vs.FwMark)))
	}
	v6 := isV6(vs)
	out = append(out, agentx.Int(col(5), map[bool]int{false: 1, true: 2}[v6]))
	if typ == 2 {
		out = append(out, agentx.Octets(col(6), vs.Addr.AsSlice()), agentx.Unsigned(col(7), uint64(vs.Port)))
	}
	if vs.FwMark == 0 {
		out = append(out, agentx.Int(col(8), proto(vs)))
	}
	algo, ok := schedulers[vs.Scheduler]
	if !ok {
		algo = 99
	}
	out = append(out, agentx.Int(col(9), algo))
	if k := method(vs.Forwarding); k != 0 {
		out = append(out, agentx.Int(col(10), k))
	}
	out = append(out, agentx.Int(col(11), agentx.Truth(r.inTable)))
	if vs.Virtualhost != "" {
		out = append(out, agentx.String(col(12), vs.Virtualhost))
	}
	persistence := vs.Persistence
	if persistence == 0 && vs.PersistenceMask != "" {
		// keepalived's persistence_granularity makes a service persistent (360 s).
		persistence = 360 * time.Second
	}
	out = append(out, agentx.Int(col(13), agentx.Truth(persistence > 0)))
	if persistence > 0 {
		out = append(out, agentx.Unsigned(col(14), seconds(persistence)))
	}
	// A group or fwmark service has no address family of its own (AF_UNSPEC), so
	// keepalived shows both granularity columns for it.
	gran := granularity(vs)
	if !vs.Addr.IsValid() || vs.Addr.Is4() {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], gran)
		out = append(out, agentx.Octets(col(15), b[:]))
	}
	out = append(out, agentx.Unsigned(col(16), seconds(vs.DelayLoop)), agentx.Int(col(17), agentx.Truth(vs.HASuspend)))
	out = append(out, agentx.Int(col(18), agentx.Truth(vs.Alpha)), agentx.Int(col(19), agentx.Truth(vs.Omega)))
	q, hyst := quorum(vs)
	out = append(out, agentx.Unsigned(col(20), uint64(len(vs.RealServers))), agentx.Unsigned(col(21), uint64(r.alive())),
		agentx.Unsigned(col(22), q), agentx.Int(col(23), agentx.Truth(r.live.Quorum)))
	if vs.QuorumUp != nil {
		out = append(out, agentx.String(col(24), script(vs.QuorumUp)))
	}
	if vs.QuorumDown != nil {
		out = append(out, agentx.String(col(25), script(vs.QuorumDown)))
	}
	out = append(out, agentx.Unsigned(col(26), hyst))
	var st table.ServiceStats
	for _, s := range r.stats {
		st.Counters = addCounters(st.Counters, s.Counters)
		st.Rates = addRates(st.Rates, s.Rates)
	}
	out = appendStats(out, col, 27, st.Counters, st.Rates)
	out = append(out, agentx.Int(col(37), agentx.Truth(onePacket(vs))))
	out = appendStats64(out, col, 38, st.Counters, st.Rates)
	if !vs.Addr.IsValid() || vs.Addr.Is6() {
		out = append(out, agentx.Unsigned(col(51), uint64(gran)))
	}
	f1, f2, f3 := schedFlags(vs)
	// keepalived's "hashed" sets no flag (its handler takes it for an sh/mh flag of
	// another scheduler), so virtualServerHashed is always false.
	out = append(out, agentx.Int(col(52), agentx.Truth(false)), agentx.Int(col(53), agentx.Truth(f1)),
		agentx.Int(col(54), agentx.Truth(f2)), agentx.Int(col(55), agentx.Truth(f3)),
		agentx.Int(col(56), agentx.Truth(!vs.InhibitOnFailure)),
		agentx.Unsigned(col(57), uint64(max(ifSetInt(&vs.Source, "retry", vs.Retry), 0))),
		agentx.Unsigned(col(58), seconds(ifSet(&vs.Source, "delay_before_retry", vs.DelayBeforeRetry))),
		agentx.Unsigned(col(59), seconds(ifSet(&vs.Source, "warmup", vs.Warmup))),
		agentx.Int(col(60), vs.Weight),
		agentx.Int(col(61), agentx.Truth(smtpAlert(&vs.Source, vs.SMTPAlert, false))),
		agentx.Int(col(62), agentx.Truth(f1)), agentx.Int(col(63), agentx.Truth(f2)),
		agentx.Unsigned(col(64), micros(vs.DelayLoop)),
		agentx.Unsigned(col(65), micros(ifSet(&vs.Source, "delay_before_retry", vs.DelayBeforeRetry))),
		agentx.Unsigned(col(66), micros(ifSet(&vs.Source, "warmup", vs.Warmup))),
		agentx.Unsigned(col(67), micros(vs.ConnectTimeout)))
	out = tunnel(out, vs.Forwarding, col(68), col(69), col(70))
	if vs.SNMPName != "" {
		out = append(out, agentx.String(col(71), vs.SNMPName))
	}
	for j := range r.rss {
		out = r.rss[j].appendVariables(out, vs, idx, uint32(j+1))
	}
	return out
}

func ifSetInt(src *config.Source, keyword string, v int) int {
	if src.IsSet(keyword) {
		return v
	}
	return 0
}

// appendStats appends the five 32-bit counters and five rates from column first on,
// as keepalived's ASN_GAUGE and ASN_COUNTER columns: conns, in/out packets (the
// bytes are Counter64), then cps, in/out pps and bps.
func appendStats(out []agentx.Variable, col func(uint32) agentx.OID, first uint32, c table.Counters, r table.Rates) []agentx.Variable {
	return append(out,
		agentx.Unsigned(col(first), c.Conns&0xffffffff),
		agentx.Counter(col(first+1), c.InPkts), agentx.Counter(col(first+2), c.OutPkts),
		agentx.Counter64Of(col(first+3), c.InBytes), agentx.Counter64Of(col(first+4), c.OutBytes),
		agentx.Unsigned(col(first+5), r.CPS&0xffffffff), agentx.Unsigned(col(first+6), r.InPPS&0xffffffff),
		agentx.Unsigned(col(first+7), r.OutPPS&0xffffffff), agentx.Unsigned(col(first+8), r.InBPS&0xffffffff),
		agentx.Unsigned(col(first+9), r.OutBPS&0xffffffff))
}

// appendStats64 appends the 64-bit counters and the rates' low and high words from
// column first on. keepalived answers a low word with the first word of its last
// Counter64 answer (the high one, of a counter of the same table), not the rate's low
// word: 0 until a counter passes 2^32, which is what is shown here.
func appendStats64(out []agentx.Variable, col func(uint32) agentx.OID, first uint32, c table.Counters, r table.Rates) []agentx.Variable {
	out = append(out, agentx.Counter64Of(col(first), c.Conns), agentx.Counter64Of(col(first+1), c.InPkts),
		agentx.Counter64Of(col(first+2), c.OutPkts))
	for i, rate := range []uint64{r.CPS, r.InPPS, r.OutPPS, r.InBPS, r.OutBPS} {
		n := first + 3 + 2*uint32(i)
		out = append(out, agentx.Unsigned(col(n), 0), agentx.Unsigned(col(n+1), rate>>32))
	}
	return out
}

func (r *rsRow) appendVariables(out []agentx.Variable, vs *config.VirtualServer, vsIdx, idx uint32) []agentx.Variable {
	col := func(c uint32) agentx.OID { return rsEntry.Append(c, vsIdx, idx) }
	rs := r.rs
	out = append(out, agentx.Int(col(2), agentx.Truth(rs != nil)), agentx.Int(col(3), addrType(r.addr.Addr())),
		agentx.Octets(col(4), r.addr.Addr().AsSlice()), agentx.Unsigned(col(5), uint64(r.addr.Port())))
	if rs != nil {
		out = append(out, agentx.Int(col(6), agentx.Truth(r.up)), agentx.Int(col(7), r.weight))
		if rs.UThreshold > 0 {
			out = append(out, agentx.Unsigned(col(8), uint64(rs.UThreshold)))
		}
		if rs.LThreshold > 0 {
			out = append(out, agentx.Unsigned(col(9), uint64(rs.LThreshold)))
		}
		out = append(out, agentx.Int(col(10), agentx.Truth(!rs.InhibitOnFailure)))
		if rs.NotifyUp != nil {
			out = append(out, agentx.String(col(11), script(rs.NotifyUp)))
		}
		if rs.NotifyDown != nil {
			out = append(out, agentx.String(col(12), script(rs.NotifyDown)))
		}
		out = append(out, agentx.Unsigned(col(13), uint64(r.failed)))
	}
	s := r.stats
	out = append(out, agentx.Unsigned(col(14), s.Conns&0xffffffff), agentx.Unsigned(col(15), s.ActiveConn&0xffffffff),
		agentx.Unsigned(col(16), s.InActConn&0xffffffff), agentx.Unsigned(col(17), s.PersistConn&0xffffffff))
	out = append(out,
		agentx.Counter(col(18), s.InPkts), agentx.Counter(col(19), s.OutPkts),
		agentx.Counter64Of(col(20), s.InBytes), agentx.Counter64Of(col(21), s.OutBytes),
		agentx.Unsigned(col(22), s.CPS&0xffffffff), agentx.Unsigned(col(23), s.InPPS&0xffffffff),
		agentx.Unsigned(col(24), s.OutPPS&0xffffffff), agentx.Unsigned(col(25), s.InBPS&0xffffffff),
		agentx.Unsigned(col(26), s.OutBPS&0xffffffff))
	out = appendStats64(out, col, 27, s.Counters, s.Rates)
	if k := method(r.fwd); k != 0 {
		out = append(out, agentx.Int(col(40), k))
	}
	if rs == nil {
		// keepalived's sorry server has no timers, retries or alerts of its own.
		out = append(out, agentx.Int(col(42), agentx.Truth(false)), agentx.Unsigned(col(43), 0), agentx.Unsigned(col(44), 0),
			agentx.Unsigned(col(45), 0), agentx.Unsigned(col(46), 0), agentx.Int(col(47), agentx.Truth(false)),
			agentx.Unsigned(col(48), 0), agentx.Unsigned(col(49), 0), agentx.Unsigned(col(50), 0), agentx.Unsigned(col(51), 0))
		return tunnel(out, r.fwd, col(52), col(53), col(54))
	}
	// A real server's own virtualhost only: keepalived's checkers fall back to the
	// virtual server's, its SNMP row does not.
	if rs.Virtualhost != "" && rs.Line("virtualhost") != vs.Line("virtualhost") {
		out = append(out, agentx.String(col(41), rs.Virtualhost))
	}
	dbr := ifSet(&rs.Source, "delay_before_retry", rs.DelayBeforeRetry)
	warmup := ifSet(&rs.Source, "warmup", rs.Warmup)
	out = append(out, agentx.Int(col(42), agentx.Truth(rs.Alpha)),
		agentx.Unsigned(col(43), uint64(max(ifSetInt(&rs.Source, "retry", rs.Retry), 0))),
		agentx.Unsigned(col(44), seconds(dbr)), agentx.Unsigned(col(45), seconds(warmup)),
		agentx.Unsigned(col(46), seconds(rs.DelayLoop)),
		agentx.Int(col(47), agentx.Truth(smtpAlert(&rs.Source, rs.SMTPAlert, true))),
		agentx.Unsigned(col(48), micros(dbr)), agentx.Unsigned(col(49), micros(warmup)),
		agentx.Unsigned(col(50), micros(rs.DelayLoop)), agentx.Unsigned(col(51), micros(rs.ConnectTimeout)))
	out = tunnel(out, r.fwd, col(52), col(53), col(54))
	if rs.SNMPName != "" {
		out = append(out, agentx.String(col(55), rs.SNMPName))
	}
	return out
}

func appendGroups(out []agentx.Variable, groups []*config.VirtualServerGroup) []agentx.Variable {
	for i, g := range groups {
		if g == nil {
			continue
		}
		gi := uint32(i + 1)
		out = append(out, agentx.String(groupEntry.Append(2, gi), g.Name))
		// keepalived keeps a group's marks and its address ranges apart, the marks first.
		var members []config.VSGroupEntry
		for _, e := range g.Entries {
			if e.FwMark != 0 {
				members = append(members, e)
			}
		}
		for _, e := range g.Entries {
			if e.FwMark == 0 {
				members = append(members, e)
			}
		}
		for j, e := range members {
			col := func(c uint32) agentx.OID { return memberEntry.Append(c, gi, uint32(j+1)) }
			switch {
			case e.FwMark != 0:
				out = append(out, agentx.Int(col(2), 1), agentx.Unsigned(col(3), uint64(e.FwMark)))
				continue
			case e.Last.IsValid() && e.Last != e.First:
				out = append(out, agentx.Int(col(2), 3), agentx.Int(col(4), addrType(e.First)),
					agentx.Octets(col(6), e.First.AsSlice()), agentx.Octets(col(7), e.Last.AsSlice()))
			default:
				out = append(out, agentx.Int(col(2), 2), agentx.Int(col(4), addrType(e.First)), agentx.Octets(col(5), e.First.AsSlice()))
			}
			out = append(out, agentx.Unsigned(col(8), uint64(e.Port)))
		}
	}
	return out
}

// appendSyncDaemon appends lvsSyncDaemon's scalars. keepalived shows the port, TTL
// and group only as given on the lvs_sync_daemon line (0 and absent otherwise, the
// kernel's defaults then applying); govs's configuration fills its defaults in, so a
// default value is shown as not given.
func appendSyncDaemon(out []agentx.Variable, sd *config.SyncDaemon) []agentx.Variable {
	scalar := func(n uint32) agentx.OID { return syncDaemon.Append(n, 0) }
	if sd == nil || sd.Interface == "" {
		return append(out, agentx.Int(scalar(1), agentx.Truth(false)))
	}
	out = append(out, agentx.Int(scalar(1), agentx.Truth(true)), agentx.String(scalar(2), sd.Interface))
	if sd.Instance != "" {
		out = append(out, agentx.String(scalar(3), sd.Instance))
	}
	port, ttl := int(sd.Port), sd.TTL
	if port == 8848 {
		port = 0
	}
	if ttl == 1 {
		ttl = 0
	}
	out = append(out, agentx.Int(scalar(4), sd.SyncID), agentx.Int(scalar(5), sd.MaxLen), agentx.Int(scalar(6), port), agentx.Int(scalar(7), ttl))
	if sd.Group.IsValid() && sd.Group != netip.MustParseAddr("224.0.0.81") {
		out = append(out, agentx.Int(scalar(8), addrType(sd.Group)), agentx.Octets(scalar(9), sd.Group.AsSlice()))
	}
	return out
}

// appendTimeouts appends the lvs_timeouts set (in seconds); an unset one is absent.
func appendTimeouts(out []agentx.Variable, t config.LVSTimeouts) []agentx.Variable {
	for i, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if d > 0 {
			out = append(out, agentx.Int(timeouts.Append(uint32(i+1), 0), int(d/time.Second)))
		}
	}
	return out
}

// Notifications are the notifications keepalived sends for the engine's events, in
// their order: realServerStateChange for rs-up and rs-down, and
// virtualServerQuorumStateChange for quorum-up and quorum-down (a real server's change
// first, then the quorum change it made, as keepalived). Events of services the
// configuration does not have (govs adm's) send nothing.
func (m *MIB) Notifications(events []engine.Event) []agentx.Notification {
	cfg := m.config()
	if cfg == nil {
		return nil
	}
	var rows []vsRow
	var out []agentx.Notification
	for _, ev := range events {
		if ev.Kind != "rs-up" && ev.Kind != "rs-down" && ev.Kind != "quorum-up" && ev.Kind != "quorum-down" {
			continue
		}
		if rows == nil {
			rows = m.rows(cfg)
		}
		for i := range rows {
			r := &rows[i]
			if !r.inTable || r.live.Key.String() != ev.Service {
				continue
			}
			if ev.Kind == "quorum-up" || ev.Kind == "quorum-down" {
				out = append(out, r.quorumTrap(cfg, agentx.Truth(r.live.Quorum)))
				break
			}
			for j, st := range r.live.RealServers {
				if st.Addr.String() == ev.RS && j < len(r.vs.RealServers) {
					out = append(out, r.rsTrap(cfg, r.rsRowOf(j)))
					break
				}
			}
			break
		}
	}
	return out
}

// rsRowOf is the row of the real server j of the configuration (after the sorry server).
func (r *vsRow) rsRowOf(j int) rsRow {
	if r.vs.SorryServer != nil {
		j++
	}
	return r.rss[j]
}

func (r *vsRow) rsTrap(cfg *config.Config, rs rsRow) agentx.Notification {
	col := func(c uint32) agentx.OID { return rsEntry.Append(c) }
	vars := []agentx.Variable{agentx.Int(col(3), addrType(rs.addr.Addr())), agentx.Octets(col(4), rs.addr.Addr().AsSlice()),
		agentx.Unsigned(col(5), uint64(rs.addr.Port())), agentx.Int(col(6), agentx.Truth(rs.up))}
	vars = append(vars, r.trapVS()...)
	vars = append(vars, agentx.Unsigned(vsEntry.Append(21), uint64(r.alive())), agentx.Unsigned(vsEntry.Append(20), uint64(len(r.vs.RealServers))),
		agentx.String(kamib.RouterIDOID, kamib.RouterID(&cfg.Global)))
	return agentx.Notification{Trap: RealServerStateChange, Vars: vars}
}

// Stopping are the notifications keepalived's checker sends as it shuts down, from the
// engine's last status: for each virtual server, a realServerStateChange for each real
// server up, now down (the count of those up falling with each), then its
// virtualServerQuorumStateChange with the status stopping(3).
func (m *MIB) Stopping(final engine.Status) []agentx.Notification {
	cfg := m.config()
	if cfg == nil {
		return nil
	}
	rows := m.rowsOf(cfg, Live{Services: final.Services})
	var out []agentx.Notification
	for i := range rows {
		r := &rows[i]
		if !r.inTable {
			continue
		}
		for j := range r.rss {
			if rs := &r.rss[j]; rs.rs != nil && rs.up {
				rs.up = false
				out = append(out, r.rsTrap(cfg, *rs))
			}
		}
		out = append(out, r.quorumTrap(cfg, 3))
	}
	return out
}

// quorumTrap is virtualServerQuorumStateChange: the quorum's status, up(1), down(2) or
// stopping(3), and the real servers alive.
func (r *vsRow) quorumTrap(cfg *config.Config, status int) agentx.Notification {
	alive := r.alive()
	q, _ := quorum(r.vs)
	vars := append(r.trapVS(), agentx.Int(vsEntry.Append(23), status), agentx.Unsigned(vsEntry.Append(22), q),
		agentx.Unsigned(vsEntry.Append(21), uint64(alive)), agentx.Unsigned(vsEntry.Append(20), uint64(len(r.vs.RealServers))),
		agentx.String(kamib.RouterIDOID, kamib.RouterID(&cfg.Global)))
	return agentx.Notification{Trap: QuorumStateChange, Vars: vars}
}

// trapVS are the virtual server's variables of both notifications: its type, then its
// group, mark or address and port, then virtualServerProtocol, which keepalived fills
// with a TruthValue of "is TCP": 1 for TCP, 2 for anything else (a fwmark service too).
func (r *vsRow) trapVS() []agentx.Variable {
	vs := r.vs
	col := func(c uint32) agentx.OID { return vsEntry.Append(c) }
	var vars []agentx.Variable
	switch {
	case vs.Group != nil:
		vars = append(vars, agentx.Int(col(2), 3), agentx.String(col(3), vs.Group.Name))
	case vs.FwMark != 0:
		vars = append(vars, agentx.Int(col(2), 1), agentx.Unsigned(col(4), uint64(vs.FwMark)))
	default:
		vars = append(vars, agentx.Int(col(2), 2), agentx.Int(col(5), addrType(vs.Addr)), agentx.Octets(col(6), vs.Addr.AsSlice()),
			agentx.Unsigned(col(7), uint64(vs.Port)))
	}
	return append(vars, agentx.Int(col(8), agentx.Truth(vs.FwMark == 0 && proto(vs) == 1)))
}
