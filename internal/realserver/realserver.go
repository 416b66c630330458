// Package realserver prepares a host to be an LVS-DR (or TUN) real server, as the
// classic lvs-dr real-server scripts do: the VIPs as host addresses on the loopback
// interface, so the host accepts packets the director forwards to it unchanged, and
// arp_ignore=1 / arp_announce=2 so it never answers ARP for them, which would steal the
// VIP from the director.
//
// IPv6 needs no such setting, and Linux has none: it answers a neighbour solicitation
// only for an address of the interface it arrived on, so a VIP on lo is never announced
// over NDP. An IPv6 VIP is added with nodad: duplicate address detection would probe
// for the director's address (lo does none today, but nothing is lost by saying so).
package realserver

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// arpSysctls are the settings lvs-dr real servers need on lo and all, with the value
// for "up"; "down" restores the kernel defaults (0).
var arpSysctls = []struct{ name, up string }{
	{"arp_ignore", "1"},
	{"arp_announce", "2"},
}

// Host is what Up and Down change; tests point it at a namespace's /proc/sys.
type Host struct {
	ProcSys string // default /proc/sys
	Link    string // default "lo"
}

func (h Host) procSys() string {
	if h.ProcSys == "" {
		return "/proc/sys"
	}
	return h.ProcSys
}

func (h Host) linkName() string {
	if h.Link == "" {
		return "lo"
	}
	return h.Link
}

// ParseVIPs parses a comma-separated VIP list (IPv4 or IPv6, no prefix).
func ParseVIPs(list string) ([]netip.Addr, error) {
	var vips []netip.Addr
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--vip: %q is not an IP address", s)
		}
		if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() {
			return nil, fmt.Errorf("--vip: %s cannot be a virtual address", a)
		}
		vips = append(vips, a.Unmap())
	}
	if len(vips) == 0 {
		return nil, errors.New("--vip: no address given")
	}
	return vips, nil
}

// Up adds each VIP as a host address (/32 or /128, IPv6 with nodad) on the loopback
// interface and sets the ARP sysctls. It is idempotent.
func (h Host) Up(vips []netip.Addr) error {
	link, err := netlink.LinkByName(h.linkName())
	if err != nil {
		return fmt.Errorf("interface %s: %w", h.linkName(), err)
	}
	for _, s := range arpSysctls {
		for _, dev := range []string{"all", h.linkName()} {
			if err := h.writeSysctl(dev, s.name, s.up); err != nil {
				return err
			}
		}
	}
	for _, vip := range vips {
		addr := hostAddr(vip)
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add %s to %s: %w", vip, h.linkName(), err)
		}
	}
	return nil
}

// Down removes the VIPs from the loopback interface. Once no VIP is left there, the ARP
// sysctls go back to the kernel defaults.
func (h Host) Down(vips []netip.Addr) error {
	link, err := netlink.LinkByName(h.linkName())
	if err != nil {
		return fmt.Errorf("interface %s: %w", h.linkName(), err)
	}
	for _, vip := range vips {
		err := netlink.AddrDel(link, hostAddr(vip))
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove %s from %s: %w", vip, h.linkName(), err)
		}
	}
	left, err := h.VIPs()
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return nil
	}
	for _, s := range arpSysctls {
		for _, dev := range []string{"all", h.linkName()} {
			if err := h.writeSysctl(dev, s.name, "0"); err != nil {
				return err
			}
		}
	}
	return nil
}

// VIPs lists the addresses on the loopback interface that are not loopback addresses:
// the VIPs this host serves as a real server.
func (h Host) VIPs() ([]netip.Addr, error) {
	link, err := netlink.LinkByName(h.linkName())
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", h.linkName(), err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", h.linkName(), err)
	}
	var vips []netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.IsLoopback() {
			continue
		}
		vips = append(vips, ip)
	}
	return vips, nil
}

// Sysctl reads one IPv4 conf sysctl of dev, for status output and tests.
func (h Host) Sysctl(dev, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(h.procSys(), "net/ipv4/conf", dev, name))
	return strings.TrimSpace(string(b)), err
}

func (h Host) writeSysctl(dev, name, value string) error {
	p := filepath.Join(h.procSys(), "net/ipv4/conf", dev, name)
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s: %w", p, err)
	}
	return nil
}

func hostAddr(vip netip.Addr) *netlink.Addr {
	bits := 32
	if vip.Is6() {
		bits = 128
	}
	p := netip.PrefixFrom(vip, bits)
	a, _ := netlink.ParseAddr(p.String())
	if vip.Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}
