package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/govs/govs/internal/table"
)

// maxConnLine bounds one line of the connection table (two IPv6 addresses, a state and
// persistence-engine data fit many times over).
const maxConnLine = 4096

// parseConnTable reads the kernel's connection table (/proc/net/ip_vs_conn: what
// ipvsadm -L -c lists), in the kernel's order. IPVS has no netlink request for it.
// Rows look like
//
//	TCP AC100002 CE08 C0A80A64 20FB 0A000002 01BB TIME_WAIT       113
//	TCP 2001:0db8:000c:0000:0000:0000:0000:0007 9609 2001:... 0050 2001:... 0050 ESTABLISHED 899 sip CALLID
//
// IPv4 addresses in hex, ports in hex, the expiry in seconds.
func parseConnTable(r io.Reader) ([]table.Conn, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxConnLine)
	var conns []table.Conn
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 && strings.HasPrefix(text, "Pro ") {
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		c, err := parseConnLine(text)
		if err != nil {
			return conns, fmt.Errorf("ip_vs_conn line %d: %w", line, err)
		}
		conns = append(conns, c)
	}
	if err := sc.Err(); err != nil {
		return conns, fmt.Errorf("ip_vs_conn line %d: %w", line+1, err)
	}
	return conns, nil
}

func parseConnLine(text string) (table.Conn, error) {
	var c table.Conn
	f := strings.Fields(text)
	if len(f) < 9 {
		return c, fmt.Errorf("%d fields, want at least 9", len(f))
	}
	proto, err := connProto(f[0])
	if err != nil {
		return c, err
	}
	c.Protocol = proto
	names := [3]string{"client", "virtual", "destination"}
	var eps [3]netip.AddrPort
	for i := range eps {
		a, err := connAddr(f[1+2*i])
		if err != nil {
			return c, fmt.Errorf("%s address %q: %w", names[i], f[1+2*i], err)
		}
		p, err := strconv.ParseUint(f[2+2*i], 16, 16)
		if err != nil {
			return c, fmt.Errorf("%s port %q: want 4 hex digits", names[i], f[2+2*i])
		}
		eps[i] = netip.AddrPortFrom(a, uint16(p))
	}
	c.Client, c.Virtual, c.Dest = eps[0], eps[1], eps[2]
	c.State = f[7]
	secs, err := strconv.ParseUint(f[8], 10, 32)
	if err != nil {
		return c, fmt.Errorf("expires %q: want seconds", f[8])
	}
	c.Expires = time.Duration(secs) * time.Second
	if len(f) > 9 {
		c.PEName = f[9]
		c.PEData = strings.Join(f[10:], " ")
	}
	return c, nil
}

func connProto(name string) (table.Protocol, error) {
	switch name {
	case "TCP":
		return table.TCP, nil
	case "UDP":
		return table.UDP, nil
	case "SCTP":
		return table.SCTP, nil
	case "IP":
		return 0, nil
	}
	return 0, fmt.Errorf("protocol %q: want TCP, UDP, SCTP or IP", name)
}

// connAddr reads an IPv4 address as 8 hex digits or an IPv6 address in full form.
func connAddr(s string) (netip.Addr, error) {
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("not an IPv6 address")
		}
		return a, nil
	}
	if len(s) != 8 {
		return netip.Addr{}, fmt.Errorf("want 8 hex digits")
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("want 8 hex digits")
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}
