package adm

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govs/govs/internal/table"
)

// Resolver turns names into addresses and ports and back, as ipvsadm does with
// gethostbyname/getservbyname on input and gethostbyaddr/getservbyport when listing
// without -n.
type Resolver interface {
	// LookupHost resolves a host name to its first IPv4 address (gethostbyname).
	LookupHost(name string) (netip.Addr, bool)
	// LookupPort resolves a service name for a protocol (getservbyname).
	LookupPort(name string, proto table.Protocol) (uint16, bool)
	// HostName is an address's name (gethostbyaddr).
	HostName(addr netip.Addr) (string, bool)
	// PortName is a port's service name for a protocol (getservbyport).
	PortName(port uint16, proto table.Protocol) (string, bool)
}

// protoName is the protocol column of /etc/services, "" for protocols it never lists.
func protoName(p table.Protocol) string {
	switch p {
	case table.TCP:
		return "tcp"
	case table.UDP:
		return "udp"
	case table.SCTP:
		return "sctp"
	}
	return ""
}

// Names is a Resolver over fixed tables in /etc/hosts and /etc/services form; the zero
// value resolves nothing (every lookup fails, as with -n).
type Names struct {
	hostAddr map[string]netip.Addr // name or alias -> first IPv4 address
	addrHost map[netip.Addr]string // address -> first (canonical) name
	portOf   map[string]uint16     // "name/proto" (or alias) -> port
	nameOf   map[string]string     // "port/proto" -> canonical name
}

var _ Resolver = (*Names)(nil)

// ParseHosts reads /etc/hosts lines ("addr name alias...", '#' comments) into n. Bad
// lines are skipped, as the C library skips them.
func (n *Names) ParseHosts(r io.Reader) error {
	if n.hostAddr == nil {
		n.hostAddr, n.addrHost = map[string]netip.Addr{}, map[netip.Addr]string{}
	}
	return eachLine(r, func(fields []string) {
		if len(fields) < 2 {
			return
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil || a.Zone() != "" {
			return
		}
		a = a.Unmap()
		if _, ok := n.addrHost[a]; !ok {
			n.addrHost[a] = fields[1]
		}
		if !a.Is4() {
			return
		}
		for _, name := range fields[1:] {
			if _, ok := n.hostAddr[name]; !ok {
				n.hostAddr[name] = a
			}
		}
	})
}

// ParseServices reads /etc/services lines ("name port/proto alias...") into n.
func (n *Names) ParseServices(r io.Reader) error {
	if n.portOf == nil {
		n.portOf, n.nameOf = map[string]uint16{}, map[string]string{}
	}
	return eachLine(r, func(fields []string) {
		if len(fields) < 2 {
			return
		}
		portStr, proto, ok := strings.Cut(fields[1], "/")
		if !ok || proto == "" {
			return
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return
		}
		key := strconv.FormatUint(port, 10) + "/" + proto
		if _, dup := n.nameOf[key]; !dup {
			n.nameOf[key] = fields[0]
		}
		names := append([]string{fields[0]}, fields[2:]...)
		for _, name := range names {
			if _, dup := n.portOf[name+"/"+proto]; !dup {
				n.portOf[name+"/"+proto] = uint16(port)
			}
		}
	})
}

// eachLine calls f with the white-space separated fields of every line, comments cut.
func eachLine(r io.Reader, f func(fields []string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fields := strings.Fields(line); len(fields) > 0 {
			f(fields)
		}
	}
	return sc.Err()
}

// LookupHost implements Resolver.
func (n *Names) LookupHost(name string) (netip.Addr, bool) {
	a, ok := n.hostAddr[name]
	return a, ok
}

// LookupPort implements Resolver.
func (n *Names) LookupPort(name string, proto table.Protocol) (uint16, bool) {
	pn := protoName(proto)
	if pn == "" {
		return 0, false
	}
	p, ok := n.portOf[name+"/"+pn]
	return p, ok
}

// HostName implements Resolver.
func (n *Names) HostName(addr netip.Addr) (string, bool) {
	h, ok := n.addrHost[addr]
	return h, ok
}

// PortName implements Resolver.
func (n *Names) PortName(port uint16, proto table.Protocol) (string, bool) {
	pn := protoName(proto)
	if pn == "" {
		return "", false
	}
	s, ok := n.nameOf[strconv.Itoa(int(port))+"/"+pn]
	return s, ok
}

// SystemResolver resolves like the C library on this host: /etc/hosts and
// /etc/services first (read once), then DNS for host names, each DNS query bounded by
// Timeout so a listing never hangs on an unreachable name server.
type SystemResolver struct {
	Timeout time.Duration // per DNS query; 0 means 2 s

	once  sync.Once
	files Names
}

var _ Resolver = (*SystemResolver)(nil)

func (s *SystemResolver) load() {
	s.once.Do(func() {
		if f, err := os.Open("/etc/hosts"); err == nil {
			_ = s.files.ParseHosts(f)
			f.Close()
		}
		if f, err := os.Open("/etc/services"); err == nil {
			_ = s.files.ParseServices(f)
			f.Close()
		}
	})
}

func (s *SystemResolver) ctx() (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d <= 0 {
		d = 2 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

// LookupHost implements Resolver.
func (s *SystemResolver) LookupHost(name string) (netip.Addr, bool) {
	s.load()
	if a, ok := s.files.LookupHost(name); ok {
		return a, true
	}
	ctx, cancel := s.ctx()
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	return addrs[0].Unmap(), true
}

// LookupPort implements Resolver.
func (s *SystemResolver) LookupPort(name string, proto table.Protocol) (uint16, bool) {
	s.load()
	return s.files.LookupPort(name, proto)
}

// HostName implements Resolver.
func (s *SystemResolver) HostName(addr netip.Addr) (string, bool) {
	s.load()
	if h, ok := s.files.HostName(addr); ok {
		return h, true
	}
	ctx, cancel := s.ctx()
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

// PortName implements Resolver.
func (s *SystemResolver) PortName(port uint16, proto table.Protocol) (string, bool) {
	s.load()
	return s.files.PortName(port, proto)
}
