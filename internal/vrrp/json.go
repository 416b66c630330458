package vrrp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// WriteKeepalivedJSON writes every instance as keepalived's JSON dump does
// (/tmp/keepalived.json on SIGJSON, vrrp_json.c): an array of {"data", "stats"}
// objects with keepalived's names, numbers and state codes, so that the tools reading
// that file (exporters, monitoring plugins) read govs's too.
func (n *Node) WriteKeepalivedJSON(w io.Writer) error {
	n.mu.Lock()
	live, scripts := n.live, map[string]ScriptConfig{}
	for _, s := range n.cfg.Scripts {
		scripts[s.Name] = s
	}
	n.mu.Unlock()
	out := make([]kaJSONInstance, 0, len(live))
	for _, i := range live {
		out = append(out, i.keepalivedJSON(scripts))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// kaJSONInstance is one element of keepalived's JSON dump. Field order is keepalived's.
type kaJSONInstance struct {
	Data  kaJSONData  `json:"data"`
	Stats kaJSONStats `json:"stats"`
}

type kaJSONData struct {
	Iname                string        `json:"iname"`
	DontTrackPrimary     uint          `json:"dont_track_primary"`
	SkipCheckAdvAddr     uint          `json:"skip_check_adv_addr"`
	StrictMode           uint          `json:"strict_mode"`
	VMACIfname           string        `json:"vmac_ifname"`
	IfpIfname            string        `json:"ifp_ifname"`
	MasterPriority       uint8         `json:"master_priority"`
	LastTransition       kaJSONSeconds `json:"last_transition"`
	GarpDelay            float64       `json:"garp_delay"`
	GarpRefresh          uint64        `json:"garp_refresh"`
	GarpRep              int           `json:"garp_rep"`
	GarpRefreshRep       int           `json:"garp_refresh_rep"`
	GarpLowerPrioDelay   uint64        `json:"garp_lower_prio_delay"`
	GarpLowerPrioRep     int           `json:"garp_lower_prio_rep"`
	LowerPrioNoAdvert    uint          `json:"lower_prio_no_advert"`
	HigherPrioSendAdvert uint          `json:"higher_prio_send_advert"`
	VRID                 uint8         `json:"vrid"`
	BasePriority         uint8         `json:"base_priority"`
	EffectivePriority    uint8         `json:"effective_priority"`
	VIPSet               bool          `json:"vipset"`
	PromoteSecondaries   bool          `json:"promote_secondaries"`
	AdverInt             float64       `json:"adver_int"`
	MasterAdverInt       float64       `json:"master_adver_int"`
	Accept               uint          `json:"accept"`
	Nopreempt            bool          `json:"nopreempt"`
	PreemptDelay         uint64        `json:"preempt_delay"`
	State                int           `json:"state"`
	WantState            int           `json:"wantstate"`
	Version              uint8         `json:"version"`
	SMTPAlert            bool          `json:"smtp_alert"`
	NotifyDeleted        bool          `json:"notify_deleted"`
	ScriptBackup         string        `json:"script_backup,omitempty"`
	ScriptMaster         string        `json:"script_master,omitempty"`
	ScriptFault          string        `json:"script_fault,omitempty"`
	ScriptStop           string        `json:"script_stop,omitempty"`
	ScriptDeleted        string        `json:"script_deleted,omitempty"`
	Script               string        `json:"script,omitempty"`
	ScriptMasterRxLower  string        `json:"script_master_rx_lower_pri,omitempty"`
	VIPs                 []string      `json:"vips,omitempty"`
	EVIPs                []string      `json:"evips,omitempty"`
	VRoutes              []string      `json:"vroutes,omitempty"`
	VRules               []string      `json:"vrules,omitempty"`
	TrackIfp             []string      `json:"track_ifp,omitempty"`
	TrackScript          []string      `json:"track_script,omitempty"`
	AuthType             int           `json:"auth_type"`
	AuthData             string        `json:"auth_data,omitempty"`
}

type kaJSONStats struct {
	AdvertRcvd        uint64 `json:"advert_rcvd"`
	AdvertSent        uint64 `json:"advert_sent"`
	BecomeMaster      uint64 `json:"become_master"`
	ReleaseMaster     uint64 `json:"release_master"`
	PacketLenErr      uint64 `json:"packet_len_err"`
	AdvertIntervalErr uint64 `json:"advert_interval_err"`
	IPTTLErr          uint64 `json:"ip_ttl_err"`
	InvalidTypeRcvd   uint64 `json:"invalid_type_rcvd"`
	AddrListErr       uint64 `json:"addr_list_err"`
	InvalidAuthtype   uint64 `json:"invalid_authtype"`
	AuthtypeMismatch  uint64 `json:"authtype_mismatch"`
	AuthFailure       uint64 `json:"auth_failure"`
	PriZeroRcvd       uint64 `json:"pri_zero_rcvd"`
	PriZeroSent       uint64 `json:"pri_zero_sent"`
}

// kaJSONSeconds is a time as keepalived prints last_transition: seconds since the
// epoch with six decimals.
type kaJSONSeconds time.Time

func (s kaJSONSeconds) MarshalJSON() ([]byte, error) {
	t := time.Time(s)
	if t.IsZero() {
		return []byte("0.000000"), nil
	}
	return []byte(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64)), nil
}

// kaStateCodes are keepalived's numbers for the states (vrrp.h).
var kaStateCodes = map[State]int{StateInit: 0, StateBackup: 1, StateMaster: 2, StateFault: 3, StateDeleted: 97, StateStop: 98}

// KeepalivedCode is keepalived's number for the state (vrrp.h), as its JSON dump and
// D-Bus interface give it.
func (s State) KeepalivedCode() int { return kaStateCodes[s] }

func (i *instance) keepalivedJSON(scripts map[string]ScriptConfig) kaJSONInstance {
	st := i.status()
	c := &i.cfg
	bit := func(b bool) uint {
		if b {
			return 1
		}
		return 0
	}
	d := kaJSONData{
		Iname: c.Name, DontTrackPrimary: bit(c.DontTrackPrimary), SkipCheckAdvAddr: bit(c.SkipCheckAdvAddr),
		StrictMode: bit(c.Strict), IfpIfname: c.Interface, LastTransition: kaJSONSeconds(st.LastTransition),
		GarpDelay: max(c.GARP.MasterDelay, 0).Seconds(), GarpRefresh: uint64(c.GARP.MasterRefresh / time.Second),
		GarpRep: c.GARP.MasterRepeat, GarpRefreshRep: c.GARP.MasterRefreshRepeat,
		GarpLowerPrioDelay: uint64(c.GARP.LowerPrioDelay / time.Second), GarpLowerPrioRep: c.GARP.LowerPrioRepeat,
		LowerPrioNoAdvert: bit(c.LowerPrioNoAdvert), HigherPrioSendAdvert: bit(c.HigherPrioSendAdvert),
		VRID: c.VRID, BasePriority: st.Priority, EffectivePriority: st.EffectivePriority,
		VIPSet: st.State == StateMaster, PromoteSecondaries: c.PromoteSecondaries,
		AdverInt: c.AdvertInterval.Seconds(), MasterAdverInt: st.MasterAdverInterval.Seconds(),
		Accept: bit(!c.NoAccept), Nopreempt: st.Nopreempt, PreemptDelay: uint64(c.PreemptDelay / time.Second),
		State: kaStateCodes[st.State], WantState: kaStateCodes[st.State], Version: c.Version,
		SMTPAlert: c.SMTPAlert, NotifyDeleted: c.Notify.AnnounceDeleted,
		ScriptBackup: kaCommand(c.Notify.Backup), ScriptMaster: kaCommand(c.Notify.Master),
		ScriptFault: kaCommand(c.Notify.Fault), ScriptStop: kaCommand(c.Notify.Stop),
		ScriptDeleted: kaCommand(c.Notify.Deleted), Script: kaCommand(c.Notify.Generic),
		ScriptMasterRxLower: kaCommand(c.Notify.MasterRxLowerPri),
	}
	if st.State != StateMaster {
		d.MasterPriority = st.MasterPriority
	}
	if c.UseVMAC {
		d.VMACIfname, d.IfpIfname = c.VMACName, c.VMACName
	}
	installed := st.State == StateMaster
	for _, v := range c.VIPs {
		d.VIPs = append(d.VIPs, kaBuffer(kaAddress(v, c, installed)))
	}
	for _, v := range c.ExcludedVIPs {
		d.EVIPs = append(d.EVIPs, kaBuffer(kaAddress(v, c, installed)))
	}
	for _, r := range c.Routes {
		d.VRoutes = append(d.VRoutes, kaBuffer(kaRoute(r)))
	}
	for _, r := range c.Rules {
		d.VRules = append(d.VRules, kaBuffer(kaRule(r)))
	}
	for _, t := range c.TrackInterfaces {
		d.TrackIfp = append(d.TrackIfp, t.Name)
	}
	for _, t := range c.TrackScripts {
		if s, ok := scripts[t.Name]; ok {
			d.TrackScript = append(d.TrackScript, kaCommand(&s.Command))
		}
	}
	switch c.AuthType {
	case AuthPass:
		d.AuthType, d.AuthData = 1, c.AuthPass
	case AuthAH:
		d.AuthType, d.AuthData = 2, c.AuthPass
	}
	bad := func(rs ...Reason) (n uint64) {
		for _, r := range rs {
			n += i.stats.bad[r].Load()
		}
		return n
	}
	return kaJSONInstance{Data: d, Stats: kaJSONStats{
		AdvertRcvd: st.AdvertsReceived, AdvertSent: st.AdvertsSent, BecomeMaster: st.BecameMaster,
		ReleaseMaster: i.stats.releasedMaster.Load(), PacketLenErr: bad(ReasonTooShort, ReasonLength),
		AdvertIntervalErr: bad(ReasonInterval), IPTTLErr: bad(ReasonTTL), InvalidTypeRcvd: bad(ReasonType),
		AddrListErr: bad(ReasonAddrCount, ReasonAddrs), AuthFailure: bad(ReasonAuth),
		PriZeroRcvd: st.Priority0Received, PriZeroSent: st.Priority0Sent,
	}}
}

// kaBuffer cuts s as keepalived's 256-byte formatting buffer does.
func kaBuffer(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}

// kaCommand writes a script as keepalived's cmd_str: each word quoted, the program by
// its real path.
func kaCommand(c *Command) string {
	if c == nil || len(c.Argv) == 0 {
		return ""
	}
	words := append([]string(nil), c.Argv...)
	if p, err := exec.LookPath(words[0]); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			words[0] = real
		}
	}
	return "'" + strings.Join(words, "' '") + "'"
}

// kaAddress writes an address as keepalived's format_ipaddress.
func kaAddress(v VIP, c *InstanceConfig, installed bool) string {
	var b strings.Builder
	b.WriteString(kaPrefix(v.Prefix))
	if v.Broadcast.IsValid() {
		fmt.Fprintf(&b, " brd %s", v.Broadcast)
	}
	dev := v.Dev
	switch {
	case v.vmac != "":
		dev = v.vmac + "@" + v.Dev
	case c.UseVMAC && (dev == "" || dev == c.Interface) && v.Prefix.Addr().Is6() == c.IPv6():
		dev = c.VMACName + "@" + c.Interface
	case dev == "":
		dev = c.Interface
	}
	fmt.Fprintf(&b, " dev %s", dev)
	if v.UseVMAC {
		b.WriteString(" use_vmac")
	}
	fmt.Fprintf(&b, " scope %s", cmp.Or(v.Scope, "global"))
	if v.Label != "" {
		fmt.Fprintf(&b, " label %s", v.Label)
	}
	if v.Peer.IsValid() {
		fmt.Fprintf(&b, " peer %s/%d", v.Peer, v.Prefix.Bits())
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{v.Flags&unix.IFA_F_HOMEADDRESS != 0, "home"}, {v.DAD, "-nodad"}, {v.Flags&unix.IFA_F_MANAGETEMPADDR != 0, "mngtmpaddr"},
		{v.Flags&unix.IFA_F_NOPREFIXROUTE != 0, "noprefixroute"}, {v.Flags&unix.IFA_F_MCAUTOJOIN != 0, "autojoin"}} {
		if f.on {
			b.WriteString(" " + f.word)
		}
	}
	if v.NoTrack {
		b.WriteString(" no_track")
	}
	if v.Prefix.Addr().Is6() {
		switch lft := preferredLft(v); {
		case lft == 0:
			b.WriteString(" deprecated")
		case lft < 0:
			b.WriteString(" preferred_lft forever")
		default:
			fmt.Fprintf(&b, " preferred_lft %d", lft)
		}
	}
	if installed {
		b.WriteString(" set")
	}
	return b.String()
}

// kaPrefix writes a prefix as keepalived's ipaddresstos: a host address without its
// length.
func kaPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// kaRoute writes a route as keepalived's format_iproute, for the attributes govs keeps.
func kaRoute(r Route) string {
	var b strings.Builder
	mode := [...]string{RoutePrepend: "prepend", RouteAdd: "add", RouteAppend: "append"}[r.Mode]
	if r.Mode == RoutePrepend && r.Type != "" && r.Type != "unicast" {
		mode = "add" // as keepalived 2.2.7 shows a typed route
	}
	b.WriteString(mode + " ")
	if r.Type != "" && r.Type != "unicast" {
		b.WriteString(r.Type + " ")
	}
	b.WriteString(kaPrefix(r.Dst))
	if r.Src.IsValid() {
		fmt.Fprintf(&b, " src %s", r.Src)
	}
	if r.Tos != 0 {
		fmt.Fprintf(&b, " tos %d", r.Tos)
	}
	if r.Gateway.IsValid() {
		fmt.Fprintf(&b, " via %s %s", map[bool]string{true: "inet", false: "inet6"}[r.Gateway.Is4()], r.Gateway)
	}
	if r.Dev != "" {
		fmt.Fprintf(&b, " dev %s", r.Dev)
	}
	if r.Table != 0 && r.Table != 254 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Protocol != 0 || !r.NoTrack {
		fmt.Fprintf(&b, " proto %d", cmp.Or(r.Protocol, rtprotKeepalived))
	}
	if s, ok := scopes[r.Scope]; ok && r.Scope != "" {
		fmt.Fprintf(&b, " scope %d", s)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.OnLink && r.Dst.Addr().Is4() {
		b.WriteString(" onlink")
	}
	if r.Realms != 0 {
		if r.Realms>>16 != 0 {
			fmt.Fprintf(&b, " realms %d/%d", r.Realms>>16, r.Realms&0xffff)
		} else {
			fmt.Fprintf(&b, " realm %d", r.Realms)
		}
	}
	m := r.Metrics
	if m.Congctl != "" {
		fmt.Fprintf(&b, " congctl %s", m.Congctl)
	}
	timed := func(word string, v uint32, perMS float64, locked bool) {
		if v == 0 {
			return
		}
		lock := ""
		if locked {
			lock = " lock"
		}
		if ms := float64(v) / perMS; ms >= 1000 {
			fmt.Fprintf(&b, " %s%s %ss", word, lock, strconv.FormatFloat(ms/1000, 'g', 6, 64))
		} else {
			fmt.Fprintf(&b, " %s%s %sms", word, lock, strconv.FormatFloat(ms, 'g', 6, 64))
		}
	}
	timed("rtt", m.RTT, 8, false)
	timed("rttvar", m.RTTVar, 4, false)
	timed("rto_min", m.RtoMin, 1, m.RtoMinLock)
	if m.ECN {
		b.WriteString(" features ecn")
	}
	if m.MTU != 0 {
		fmt.Fprintf(&b, " mtu %s%d", map[bool]string{true: "lock ", false: ""}[m.MTULock], m.MTU)
	}
	for _, f := range []struct {
		word string
		v    uint32
	}{{"window", m.Window}, {"ssthresh", m.Ssthresh}, {"cwnd", m.Cwnd}, {"advmss", m.AdvMSS}, {"reordering", m.Reordering},
		{"hoplimit", uint32(m.Hoplimit)}, {"initcwnd", m.InitCwnd}, {"initrwnd", m.InitRwnd}} {
		if f.v != 0 {
			fmt.Fprintf(&b, " %s %d", f.word, f.v)
		}
	}
	if m.QuickACK {
		b.WriteString(" quickack 1")
	}
	if m.FastOpenNoCookie {
		b.WriteString(" fastopen_no_cookie 1")
	}
	for _, nh := range r.Nexthops {
		b.WriteString(" nexthop")
		if nh.Gateway.IsValid() {
			fmt.Fprintf(&b, " via inet%s %s", map[bool]string{true: "", false: "6"}[nh.Gateway.Is4()], nh.Gateway)
		}
		if nh.Dev != "" {
			fmt.Fprintf(&b, " dev %s", nh.Dev)
		}
		if nh.Weight != 0 {
			fmt.Fprintf(&b, " weight %d", nh.Weight)
		}
		if nh.OnLink {
			b.WriteString(" onlink")
		}
	}
	if r.NoTrack {
		b.WriteString(" no_track")
	}
	return b.String()
}

// kaRule writes a rule as keepalived's format_iprule.
func kaRule(r Rule) string {
	var b strings.Builder
	if !r.From.IsValid() && !r.To.IsValid() && r.Family == 6 {
		b.WriteString("inet6 ")
	}
	if r.Not {
		b.WriteString("not ")
	}
	if r.From.IsValid() {
		b.WriteString("from " + kaPrefix(r.From))
	} else {
		b.WriteString("from all")
	}
	if r.To.IsValid() {
		b.WriteString(" to " + kaPrefix(r.To))
	}
	if r.Priority != 0 {
		fmt.Fprintf(&b, " priority %d", r.Priority)
	}
	fmt.Fprintf(&b, " tos 0x%x", r.Tos)
	if r.FwMark != 0 || r.FwMask != 0 {
		fmt.Fprintf(&b, " fwmark 0x%x", r.FwMark)
		if r.FwMask != 0 && r.FwMask != 0xffffffff {
			fmt.Fprintf(&b, "/0x%x", r.FwMask)
		}
	}
	if r.IIF != "" {
		fmt.Fprintf(&b, " iif %s", r.IIF)
	}
	if r.OIF != "" {
		fmt.Fprintf(&b, " oif %s", r.OIF)
	}
	if r.SuppressPrefixLen >= 0 {
		fmt.Fprintf(&b, " suppress_prefixlen %d", r.SuppressPrefixLen)
	}
	if r.SuppressIfGroup >= 0 {
		fmt.Fprintf(&b, " suppress_ifgroup %d", r.SuppressIfGroup)
	}
	if r.TunnelID != 0 {
		fmt.Fprintf(&b, " tunnel-id %d", r.TunnelID)
	}
	if r.UIDRange != nil {
		fmt.Fprintf(&b, " uidrange %d-%d", r.UIDRange[0], r.UIDRange[1])
	}
	if r.Protocol != 0 || !r.NoTrack {
		fmt.Fprintf(&b, " protocol %d", cmp.Or(r.Protocol, rtprotKeepalived))
	}
	if r.IPProto != 0 {
		fmt.Fprintf(&b, " ipproto %d", r.IPProto)
	}
	for _, p := range []struct {
		word string
		r    *[2]uint16
	}{{"sport", r.SPort}, {"dport", r.DPort}} {
		if p.r != nil {
			fmt.Fprintf(&b, " %s %d-%d", p.word, p.r[0], p.r[1])
		}
	}
	if r.Realms != 0 {
		fmt.Fprintf(&b, " realms %d/%d", r.Realms>>16, r.Realms&0xffff)
	}
	switch r.Action {
	case "":
		fmt.Fprintf(&b, " lookup %d", r.Table)
	case "goto":
		fmt.Fprintf(&b, " goto %d", r.Goto)
	case "nop":
		b.WriteString(" nop")
	default:
		b.WriteString(" type " + r.Action)
	}
	if r.NoTrack {
		b.WriteString(" no_track")
	}
	return b.String()
}
