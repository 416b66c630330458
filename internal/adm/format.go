package adm

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/govs/govs/internal/table"
)

// Banner is the first line of a whole-table listing: IPVS 1.2.1 with the kernel's
// default connection table size (conn_tab_bits 12).
const Banner = "IP Virtual Server version 1.2.1 (size=4096)\n"

// printer writes listings in ipvsadm's formats.
type printer struct {
	w    io.Writer
	opts ListOptions
	rule bool // -S
	r    Resolver
	st   map[table.ServiceKey]*table.ServiceStats
}

func newPrinter(w io.Writer, opts ListOptions, rule bool, r Resolver, st table.Stats) *printer {
	if opts.Numeric || r == nil {
		r = &Names{}
	}
	p := &printer{w: w, opts: opts, rule: rule, r: r, st: map[table.ServiceKey]*table.ServiceStats{}}
	for i := range st.Services {
		p.st[st.Services[i].Key] = &st.Services[i]
	}
	return p
}

// WriteList prints the whole table as ipvsadm -L does (the banner, the title, every
// service sorted unless NoSort), or as -S does when save is set.
func WriteList(w io.Writer, t table.Table, st table.Stats, opts ListOptions, save bool, r Resolver) {
	p := newPrinter(w, opts, save, r, st)
	if !save {
		io.WriteString(w, Banner)
	}
	svcs := make([]*table.Service, len(t.Services))
	for i := range t.Services {
		svcs[i] = &t.Services[i]
	}
	if !opts.NoSort {
		msort(svcs, compareServices)
	}
	p.title()
	for _, s := range svcs {
		p.service(s)
	}
}

// WriteService prints one service as ipvsadm -L -t/-u/-f does (no banner). It reports
// false, printing nothing, when t has no such service.
func WriteService(w io.Writer, t table.Table, st table.Stats, key table.ServiceKey, opts ListOptions, r Resolver) bool {
	for i := range t.Services {
		if t.Services[i].ServiceKey == key {
			p := newPrinter(w, opts, false, r, st)
			p.title()
			p.service(&t.Services[i])
			return true
		}
	}
	return false
}

// WriteTimeouts prints ipvsadm -L --timeout; zero values are the kernel's defaults.
func WriteTimeouts(w io.Writer, t table.Timeouts) {
	sec := func(d, def time.Duration) int64 {
		if d <= 0 {
			d = def
		}
		return int64(d / time.Second)
	}
	fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n",
		sec(t.TCP, DefaultTCPTimeout), sec(t.TCPFin, DefaultTCPFinTimeout), sec(t.UDP, DefaultUDPTimeout))
}

// WriteDaemons prints ipvsadm -L --daemon: the master, then the backup.
func WriteDaemons(w io.Writer, ds []Daemon) {
	for _, state := range []DaemonState{DaemonMaster, DaemonBackup} {
		for _, d := range ds {
			if d.State != state {
				continue
			}
			fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d", state, d.Interface, d.SyncID)
			if d.MaxLen != 0 {
				fmt.Fprintf(w, ", maxlen=%d", d.MaxLen)
			}
			if d.Group.IsValid() {
				fmt.Fprintf(w, ", group=%s", ntop(d.Group))
			}
			if d.Port != 0 {
				fmt.Fprintf(w, ", port=%d", d.Port)
			}
			if d.TTL != 0 {
				fmt.Fprintf(w, ", ttl=%d", d.TTL)
			}
			io.WriteString(w, ")\n")
		}
	}
}

// WriteConns prints ipvsadm -L -c: the connection entries in the order given.
func WriteConns(w io.Writer, conns []table.Conn, opts ListOptions, r Resolver) {
	p := newPrinter(w, opts, false, r, table.Stats{})
	io.WriteString(w, "IPVS connection entries\n")
	if opts.PersistConn {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
			"state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(w, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
	for _, c := range conns {
		proto := c.Protocol
		if proto != table.TCP && proto != table.UDP && proto != table.SCTP {
			proto = 0
		}
		cname := p.addrPort(c.Client, proto)
		vname := p.addrPort(netip.AddrPortFrom(familyOf(c.Virtual.Addr(), c.Client.Addr()), c.Virtual.Port()), proto)
		dname := p.addrPort(c.Dest, proto)
		secs := int64(c.Expires / time.Second)
		expire := fmt.Sprintf("%02d:%02d", secs/60, secs%60)
		if opts.PersistConn && c.PEName != "" && c.PEData != "" {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n",
				connProtoName(c.Protocol), expire, c.State, cname, vname, dname, c.PEName, c.PEData)
		} else {
			fmt.Fprintf(w, "%-3s %-6s %-11s %-18s %-18s %s\n",
				connProtoName(c.Protocol), expire, c.State, cname, vname, dname)
		}
	}
}

// familyOf gives a virtual address the client's family, as ipvsadm parses both with the
// client's: a fwmark template's IPv4 pseudo address under an IPv6 client is read as IPv6.
func familyOf(v, client netip.Addr) netip.Addr {
	if client.Is6() && v.Is4() {
		b := v.As4()
		var b16 [16]byte
		copy(b16[:], b[:])
		return netip.AddrFrom16(b16)
	}
	return v
}

// connProtoName is the kernel's ip_vs_proto_name.
func connProtoName(p table.Protocol) string {
	switch p {
	case 0:
		return "IP"
	case table.TCP, table.UDP, table.SCTP:
		return p.String()
	case 1:
		return "ICMP"
	case 58:
		return "ICMPv6"
	}
	return fmt.Sprintf("IP_%d", uint8(p))
}

func (p *printer) title() {
	o := p.opts
	switch {
	case o.Stats:
		fmt.Fprintf(p.w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case o.Rate:
		fmt.Fprintf(p.w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case o.Thresholds:
		fmt.Fprintf(p.w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case o.PersistConn:
		fmt.Fprintf(p.w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn")
	case o.TunInfo:
		io.WriteString(p.w, "Prot LocalAddress:Port Scheduler Flags\n"+
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	case !p.rule:
		io.WriteString(p.w, "Prot LocalAddress:Port Scheduler Flags\n"+
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

// isIPv6 is a service's address family.
func isIPv6(s *table.Service) bool {
	if s.FWMark != 0 {
		return s.IPv6
	}
	return s.Addr.Addr().Is6() && !s.Addr.Addr().Is4In6()
}

// netmask is the kernel's netmask field: the IPv4 mask, or the IPv6 prefix length.
func netmask(s *table.Service) uint32 {
	pl := s.Persistence.PrefixLen
	if isIPv6(s) {
		if pl <= 0 || pl > 128 {
			return 128
		}
		return uint32(pl)
	}
	if m := s.Persistence.Mask; m.Is4() {
		return be32(m.AsSlice())
	}
	if pl <= 0 || pl > 32 {
		return 0xffffffff
	}
	return ^uint32(0) << (32 - pl)
}

func ntoa(m uint32) string {
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// schedFlagNames is print_sched_flags: the flags as the scheduler names them.
func schedFlagNames(s *table.Service) string {
	names := [3]string{"flag-1", "flag-2", "flag-3"}
	switch s.Scheduler {
	case "sh", "mh":
		names = [3]string{s.Scheduler + "-fallback", s.Scheduler + "-port", ""}
	}
	var out []string
	for i, n := range names {
		if s.Flags&(1<<i) != 0 && n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

func (p *printer) service(s *table.Service) {
	v6 := isIPv6(s)
	proto := s.Protocol
	var name string
	switch {
	case s.FWMark != 0 && p.rule:
		// ipvsadm 1.31 prints the mark with %d.
		name = fmt.Sprintf("-f %d", int32(s.FWMark))
		if v6 {
			name += " -6"
		}
	case s.FWMark != 0:
		name = fmt.Sprintf("FWM  %d", int32(s.FWMark))
		if v6 {
			name += " IPv6"
		}
	default:
		vname := p.addrPort(s.Addr, proto)
		if p.rule {
			opt := map[table.Protocol]string{table.TCP: "-t", table.UDP: "-u", table.SCTP: "--sctp-service"}[proto]
			if opt == "" {
				opt = "--xxx-service"
			}
			name = opt + " " + vname
		} else {
			pn := "?"
			if proto == table.TCP || proto == table.UDP || proto == table.SCTP {
				pn = proto.String()
			}
			name = fmt.Sprintf("%-4s %s", pn, vname)
			if !v6 && len(name) > 33 {
				name = name[:33]
			}
		}
	}
	if s.FWMark != 0 {
		proto = 0 // the kernel reports no protocol for fwmark services
	}
	persistent := s.Persistence.Timeout > 0
	timeout := uint32(s.Persistence.Timeout / time.Second)
	mask := netmask(s)
	flags := s.Flags&(table.SchedFlag1|table.SchedFlag2|table.SchedFlag3) != 0
	o := p.opts
	switch {
	case p.rule:
		fmt.Fprintf(p.w, "-A %s -s %s", name, s.Scheduler)
		if persistent {
			fmt.Fprintf(p.w, " -p %d", timeout)
			if !v6 && mask != 0xffffffff {
				fmt.Fprintf(p.w, " -M %s", ntoa(mask))
			}
			if v6 && mask != 128 {
				fmt.Fprintf(p.w, " -M %d", int32(mask))
			}
		}
		if s.Persistence.Engine != "" {
			fmt.Fprintf(p.w, " --pe %s", s.Persistence.Engine)
		}
		if s.OnePacket {
			io.WriteString(p.w, " -o")
		}
		if flags {
			io.WriteString(p.w, " -b "+schedFlagNames(s))
		}
	case o.Stats:
		ss := p.serviceStats(s.ServiceKey)
		fmt.Fprintf(p.w, "%-33s", name)
		p.largenums(ss.Conns, ss.InPkts, ss.OutPkts, ss.InBytes, ss.OutBytes)
	case o.Rate:
		ss := p.serviceStats(s.ServiceKey)
		fmt.Fprintf(p.w, "%-33s", name)
		p.largenums(ss.CPS, ss.InPPS, ss.OutPPS, ss.InBPS, ss.OutBPS)
	default:
		fmt.Fprintf(p.w, "%s %s", name, s.Scheduler)
		if flags {
			io.WriteString(p.w, " ("+schedFlagNames(s)+")")
		}
		if persistent {
			fmt.Fprintf(p.w, " persistent %d", timeout)
			if !v6 && mask != 0xffffffff {
				fmt.Fprintf(p.w, " mask %s", ntoa(mask))
			}
			if v6 && mask != 128 {
				fmt.Fprintf(p.w, " mask %d", int32(mask))
			}
			if s.Persistence.Engine != "" {
				fmt.Fprintf(p.w, " pe %s", s.Persistence.Engine)
			}
		}
		if s.OnePacket {
			io.WriteString(p.w, " ops")
		}
	}
	io.WriteString(p.w, "\n")

	dests := make([]*table.Dest, len(s.Dests))
	for i := range s.Dests {
		dests[i] = &s.Dests[i]
	}
	if !o.NoSort {
		msort(dests, compareDests)
	}
	for _, d := range dests {
		p.dest(name, proto, d, p.destStats(s.ServiceKey, d.Addr))
	}
}

func (p *printer) dest(svcName string, proto table.Protocol, d *table.Dest, ds table.DestStats) {
	dname := p.addrPort(d.Addr, proto)
	if !p.rule && !d.Addr.Addr().Is6() && len(dname) > 28 {
		dname = dname[:28]
	}
	o := p.opts
	switch {
	case p.rule:
		fmt.Fprintf(p.w, "-a %s -r %s %s -w %d", svcName, dname, methodSwitch(d.Method), d.Weight)
		if d.Method == table.Tunnel {
			switch d.TunnelType {
			case "gre":
				fmt.Fprintf(p.w, " --tun-type gre %s", tunFlagOptions[tunFlagIndex(d.TunnelFlags)])
			case "gue":
				fmt.Fprintf(p.w, " --tun-type gue --tun-port %d %s", d.TunnelPort, tunFlagOptions[tunFlagIndex(d.TunnelFlags)])
			default:
				io.WriteString(p.w, " --tun-type ipip")
			}
		}
		io.WriteString(p.w, "\n")
	case o.Stats:
		fmt.Fprintf(p.w, "  -> %-28s", dname)
		p.largenums(ds.Conns, ds.InPkts, ds.OutPkts, ds.InBytes, ds.OutBytes)
		io.WriteString(p.w, "\n")
	case o.Rate:
		fmt.Fprintf(p.w, "  -> %-28s %8d %8d %8d", dname, ds.CPS, ds.InPPS, ds.OutPPS)
		p.largenums(ds.InBPS, ds.OutBPS)
		io.WriteString(p.w, "\n")
	case o.Thresholds:
		fmt.Fprintf(p.w, "  -> %-28s %-10d %-10d %-10d %-10d\n", dname,
			uint32(d.UThreshold), uint32(d.LThreshold), uint32(ds.ActiveConn), uint32(ds.InActConn))
	case o.PersistConn:
		fmt.Fprintf(p.w, "  -> %-28s %-9d %-11d %-10d %-10d\n", dname,
			uint32(d.Weight), uint32(ds.PersistConn), uint32(ds.ActiveConn), uint32(ds.InActConn))
	case o.TunInfo:
		fmt.Fprintf(p.w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", dname, d.Method, tunInfo(d),
			int32(d.Weight), uint32(ds.ActiveConn), uint32(ds.InActConn))
	default:
		fmt.Fprintf(p.w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dname, d.Method,
			int32(d.Weight), uint32(ds.ActiveConn), uint32(ds.InActConn))
	}
}

func methodSwitch(m table.Method) string {
	switch m {
	case table.Masquerade:
		return "-m"
	case table.Tunnel:
		return "-i"
	}
	return "-g"
}

func tunFlagIndex(name string) int {
	for i, n := range tunFlagNames {
		if n == name {
			return i
		}
	}
	return 0
}

// tunInfo is fwd_tun_info, "n/a" for a destination that is not a tunnel.
func tunInfo(d *table.Dest) string {
	if d.Method != table.Tunnel {
		return "n/a"
	}
	flags := tunFlagShort[tunFlagIndex(d.TunnelFlags)]
	switch d.TunnelType {
	case "gue":
		return fmt.Sprintf("gue:%d:%s", d.TunnelPort, flags)
	case "gre":
		return "gre:" + flags
	case "", "ipip":
		return "ipip"
	}
	return "n/a"
}

func (p *printer) serviceStats(k table.ServiceKey) table.ServiceStats {
	if ss := p.st[k]; ss != nil {
		return *ss
	}
	return table.ServiceStats{}
}

func (p *printer) destStats(k table.ServiceKey, addr table.DestKey) table.DestStats {
	if ss := p.st[k]; ss != nil {
		for _, ds := range ss.Dests {
			if ds.Addr == addr {
				return ds
			}
		}
	}
	return table.DestStats{}
}

// largenums is print_largenum for each value: 9 wide, K/M/G/T above 1e8 unless --exact.
func (p *printer) largenums(vals ...uint64) {
	for _, v := range vals {
		switch {
		case p.opts.Exact:
			s := strconv.FormatUint(v, 10)
			width := 9
			if len(s) > 8 {
				width = len(s) + 1
			}
			fmt.Fprintf(p.w, "%*s", width, s)
		case v < 100_000_000:
			fmt.Fprintf(p.w, "%9d", v)
		case v < 1_000_000_000:
			fmt.Fprintf(p.w, "%8dK", v/1000)
		case v < 100_000_000_000:
			fmt.Fprintf(p.w, "%8dM", v/1_000_000)
		case v < 100_000_000_000_000:
			fmt.Fprintf(p.w, "%8dG", v/1_000_000_000)
		default:
			fmt.Fprintf(p.w, "%8dT", v/1_000_000_000_000)
		}
	}
}

// addrPort is addrport_to_anyname: "addr:port" (IPv6 bracketed) with names unless -n,
// cut to the 59 characters of ipvsadm's buffer.
func (p *printer) addrPort(ap netip.AddrPort, proto table.Protocol) string {
	a := ap.Addr()
	host, ok := p.r.HostName(a)
	if !ok {
		host = ntop(a)
	}
	port, ok := p.r.PortName(ap.Port(), proto)
	if !ok {
		port = strconv.Itoa(int(ap.Port()))
	}
	s := host + ":" + port
	if a.Is6() {
		s = "[" + host + "]:" + port
	}
	if len(s) > 59 {
		s = s[:59]
	}
	return s
}

// ntop is inet_ntop: glibc writes an address whose first six words are zero (and the
// seventh is not) with a dotted IPv4 tail, where Go writes hex.
func ntop(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		zero := true
		for _, x := range b[:12] {
			zero = zero && x == 0
		}
		if zero && (b[12] != 0 || b[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte(b[12:16])).String()
		}
	}
	return a.String()
}

// The comparisons of libipvs: C subtractions whose results are truncated to int, so
// that addresses 2^31 or more apart compare the "wrong" way round, as ipvsadm's do.

func compareServices(a, b *table.Service) int {
	if r := int32(a.FWMark - b.FWMark); r != 0 {
		return int(r)
	}
	if r := family(a) - family(b); r != 0 {
		return r
	}
	if r := int(a.Protocol) - int(b.Protocol); r != 0 {
		return r
	}
	if r := compareAddrs(family(a), a.Addr.Addr(), b.Addr.Addr()); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

func compareDests(a, b *table.Dest) int {
	af := afInet
	if a.Addr.Addr().Is6() {
		af = afInet6
	}
	if r := compareAddrs(af, a.Addr.Addr(), b.Addr.Addr()); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

func family(s *table.Service) int {
	if isIPv6(s) {
		return afInet6
	}
	return afInet
}

// compareAddrs compares the 32-bit words of union nf_inet_addr: an IPv4 address is the
// first word, the rest zero; af says how many words the first operand's family uses.
func compareAddrs(af int, a, b netip.Addr) int {
	wa, wb := words(a), words(b)
	n := 1
	if af == afInet6 {
		n = 4
	}
	for i := range n {
		if r := int32(wa[i] - wb[i]); r != 0 {
			return int(r)
		}
	}
	return 0
}

func words(a netip.Addr) [4]uint32 {
	if !a.IsValid() {
		return [4]uint32{}
	}
	if a.Is4() {
		b := a.As4()
		return [4]uint32{be32(b[:])}
	}
	b := a.As16()
	return [4]uint32{be32(b[0:]), be32(b[4:]), be32(b[8:]), be32(b[12:])}
}

// msort is glibc's qsort as Debian 12 runs it: a top-down merge sort that splits at
// n/2 and takes from the left run on ties. With a comparison that is not a total
// order the result depends on exactly this algorithm.
func msort[T any](s []T, cmp func(a, b T) int) {
	if len(s) <= 1 {
		return
	}
	n1 := len(s) / 2
	msort(s[:n1], cmp)
	msort(s[n1:], cmp)
	merged := make([]T, 0, len(s))
	i, j := 0, n1
	for i < n1 && j < len(s) {
		if cmp(s[i], s[j]) <= 0 {
			merged = append(merged, s[i])
			i++
		} else {
			merged = append(merged, s[j])
			j++
		}
	}
	merged = append(merged, s[i:n1]...)
	merged = append(merged, s[j:]...)
	copy(s, merged)
}
