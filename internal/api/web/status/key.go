package status

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/govs/govs/internal/table"
)

// ParseServiceKey reads a service as table.ServiceKey.String writes it and as the JSON
// API shows it: "TCP 192.0.2.1:80", "UDP [2001:db8::1]:53", "SCTP 192.0.2.1:9",
// "FWM 7" or "FWM 7 IPv6". The protocol and FWM are case-insensitive.
func ParseServiceKey(s string) (table.ServiceKey, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return table.ServiceKey{}, fmt.Errorf("service %q: want \"PROTO ADDRESS:PORT\" or \"FWM MARK\"", s)
	}
	kind := strings.ToUpper(fields[0])
	if kind == "FWM" {
		mark, err := strconv.ParseUint(fields[1], 10, 32)
		if err != nil || mark == 0 {
			return table.ServiceKey{}, fmt.Errorf("service %q: fwmark %q: want 1..4294967295", s, fields[1])
		}
		key := table.ServiceKey{FWMark: uint32(mark)}
		switch {
		case len(fields) == 2:
		case len(fields) == 3 && strings.EqualFold(fields[2], "IPv6"):
			key.IPv6 = true
		default:
			return table.ServiceKey{}, fmt.Errorf("service %q: unexpected %q after the fwmark (only IPv6 may follow)", s, strings.Join(fields[2:], " "))
		}
		return key, nil
	}
	if len(fields) != 2 {
		return table.ServiceKey{}, fmt.Errorf("service %q: unexpected %q after the address", s, strings.Join(fields[2:], " "))
	}
	var key table.ServiceKey
	switch kind {
	case "TCP":
		key.Protocol = table.TCP
	case "UDP":
		key.Protocol = table.UDP
	case "SCTP":
		key.Protocol = table.SCTP
	default:
		return table.ServiceKey{}, fmt.Errorf("service %q: protocol %q: want TCP, UDP, SCTP or FWM", s, fields[0])
	}
	addr, err := netip.ParseAddrPort(fields[1])
	if err != nil {
		return table.ServiceKey{}, fmt.Errorf("service %q: address %q: want IP:PORT or [IPv6]:PORT", s, fields[1])
	}
	key.Addr = addr
	return key, nil
}
