package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/govs/govs/internal/nsrun"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VMACAddr is the virtual router MAC address of RFC 5798 §7.3: 00-00-5e-00-01-VRID for
// IPv4, 00-00-5e-00-02-VRID for IPv6.
func VMACAddr(vrid uint8, v6 bool) net.HardwareAddr {
	family := byte(1)
	if v6 {
		family = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, family, vrid}
}

// vmacMAC is the MAC of the instance's VMAC of family v6: its own (use_vmac … MAC), as
// keepalived gives the address VMACs too, or the virtual router MAC.
func (in *InstanceConfig) vmacMAC(v6 bool) net.HardwareAddr {
	if in.VMACMAC != nil {
		return in.VMACMAC
	}
	return VMACAddr(in.VRID, v6)
}

// validDevName is the kernel's dev_valid_name, as keepalived checks use_vmac names.
func validDevName(name string) bool {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/: \t\n\v\f\r")
}

// vmacSysctls are what keepalived sets on a VMAC (vrrp_if_config.c): it must not answer
// ARP for the base interface's addresses (arp_ignore), must accept adverts of the other
// routers that arrive with a source MAC of its own (accept_local) while it has no
// address of the family (rp_filter), and keeps secondary VIPs when the primary goes.
var vmacSysctls = []struct{ name, value string }{
	{"arp_ignore", "1"},
	{"accept_local", "1"},
	{"rp_filter", "0"},
	{"promote_secondaries", "1"},
}

// baseARPSysctls are set to 1 on the base interface so that it does not answer ARP for
// the VIPs the VMAC holds (arp_ignore) nor for its own addresses on the VMAC's behalf
// (arp_filter); keepalived restores them when its last VMAC on the interface goes.
var baseARPSysctls = []string{"arp_ignore", "arp_filter"}

func sysctlPath(family, dev, name string) string {
	return filepath.Join("/proc/sys/net", family, "conf", dev, name)
}

// writeSysctl sets a per-device sysctl of the calling thread's network namespace.
func writeSysctl(family, dev, name, value string) error {
	if err := os.WriteFile(sysctlPath(family, dev, name), []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl net.%s.conf.%s.%s=%s: %w", family, dev, name, value, err)
	}
	return nil
}

func readSysctl(family, dev, name string) (string, error) {
	b, err := os.ReadFile(sysctlPath(family, dev, name))
	if err != nil {
		return "", fmt.Errorf("sysctl net.%s.conf.%s.%s: %w", family, dev, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// in6AddrGenModeNone is IN6_ADDR_GEN_MODE_NONE of linux/if_link.h: the kernel adds no
// link-local address of its own.
const in6AddrGenModeNone = 1

// vmacState is one VMAC the node manages, for removal.
type vmacState struct {
	base string // the base interface's name
}

// baseSaved is what a base interface's ARP sysctls were before the first VMAC on it.
type baseSaved map[string]string

// setupVMAC finds or creates the instance's VMAC (keepalived's netlink_link_add_vmac):
// a private-mode macvlan on base with the virtual router MAC, its sysctls set, up. A
// leftover VMAC of an earlier run is reused when its MAC and base match, replaced when
// not; a device of that name that is not a macvlan is never touched. created is called
// once the device exists, before it is configured and up. It runs in the node's
// namespace (sysctls are per namespace).
func (n *Node) setupVMAC(h *netlink.Handle, base netlink.Link, name string, mac net.HardwareAddr, created func(netlink.Link), configure func(link netlink.Link) error) (netlink.Link, error) {
	existing, err := h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		existing = nil
	case err != nil:
		return nil, fmt.Errorf("use_vmac %s: %w", name, err)
	}
	if existing != nil {
		mv, ok := existing.(*netlink.Macvlan)
		if !ok {
			return nil, fmt.Errorf("use_vmac %s: device exists and is a %s, not a macvlan", name, existing.Type())
		}
		if mv.ParentIndex != base.Attrs().Index || mv.HardwareAddr.String() != mac.String() || mv.Mode != netlink.MACVLAN_MODE_PRIVATE {
			// Left by an earlier configuration (another VRID or interface): replace it, as
			// keepalived does.
			if err := h.LinkDel(mv); err != nil {
				return nil, fmt.Errorf("use_vmac %s: removing the stale macvlan: %w", name, err)
			}
			existing = nil
		}
	}
	if existing == nil {
		mv := &netlink.Macvlan{LinkAttrs: netlink.NewLinkAttrs(), Mode: netlink.MACVLAN_MODE_PRIVATE}
		mv.Name, mv.ParentIndex, mv.HardwareAddr = name, base.Attrs().Index, mac
		if err := h.LinkAdd(mv); err != nil {
			return nil, fmt.Errorf("use_vmac %s: creating a macvlan on %s: %w", name, base.Attrs().Name, err)
		}
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("use_vmac %s: %w", name, err)
	}
	created(link)
	n.mu.Lock()
	n.vmacs[name] = vmacState{base: base.Attrs().Name}
	n.mu.Unlock()

	if err := configure(link); err != nil {
		return nil, fmt.Errorf("use_vmac %s: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("use_vmac %s: setting it up: %w", name, err)
	}
	return h.LinkByName(name) // with its state now up
}

// configureVMAC sets the instance's VMAC's and its base's sysctls and its IPv6
// addressing: IPv6 for an IPv6 instance, or one with IPv6 excluded addresses on it.
func (n *Node) configureVMAC(h *netlink.Handle, link, base netlink.Link, in *InstanceConfig, src netip.Addr) error {
	if err := n.setVMACSysctls(link, base); err != nil {
		return err
	}
	name := link.Attrs().Name
	v6 := in.IPv6()
	wantIPv6 := v6
	for _, v := range in.ExcludedVIPs {
		wantIPv6 = wantIPv6 || v.Prefix.Addr().Is6() && v.vmac == "" && (v.Dev == "" || v.Dev == name)
	}
	if err := vmacIPv6(h, link, wantIPv6); err != nil || !wantIPv6 {
		return err
	}
	if v6 && !in.VMACXmitBase {
		// Adverts leave from the VMAC with the base's link-local source, which must
		// therefore be an address of the VMAC too (keepalived does the same).
		a := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(src, 64)), Flags: unix.IFA_F_NODAD}
		if err := h.AddrAdd(link, a); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("adding the source address %v: %w", src, err)
		}
	}
	return nil
}

// configureAddrVMAC sets an address VMAC's and its base's sysctls and, for an IPv6
// one, its IPv6 addressing: no address of its own, its base's link-local one.
func (n *Node) configureAddrVMAC(h *netlink.Handle, link, base netlink.Link, v6 bool) error {
	if err := n.setVMACSysctls(link, base); err != nil {
		return err
	}
	if err := vmacIPv6(h, link, v6); err != nil || !v6 {
		return err
	}
	return addBaseLinkLocal(h, link, base)
}

// addBaseLinkLocal gives an IPv6 VMAC its base's link-local address, as keepalived
// gives its addresses' VMACs: the VMAC makes none of its own (vmacIPv6), and its
// neighbour advertisements need one.
func addBaseLinkLocal(h *netlink.Handle, vmac, base netlink.Link) error {
	addrs, err := h.AddrList(base, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", base.Attrs().Name, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !ip.IsLinkLocalUnicast() {
			continue
		}
		la := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ip, 64)), Flags: unix.IFA_F_NODAD}
		if err := h.AddrAdd(vmac, la); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("adding %s's link-local address %v: %w", base.Attrs().Name, ip, err)
		}
		return nil
	}
	return nil // none yet: keepalived goes on without it too
}

// vmacIPv6 turns IPv6 on for a VMAC that carries IPv6 addresses, without a link-local
// address derived from the virtual MAC (RFC 5798 §7.4), and off for one that does not:
// it would otherwise send router solicitations and MLD reports with the virtual MAC
// while backup, teaching switches the wrong port.
func vmacIPv6(h *netlink.Handle, link netlink.Link, on bool) error {
	name := link.Attrs().Name
	if !on {
		return writeSysctl("ipv6", name, "disable_ipv6", "1")
	}
	if err := writeSysctl("ipv6", name, "disable_ipv6", "0"); err != nil {
		return err
	}
	if err := h.LinkSetIP6AddrGenMode(link, in6AddrGenModeNone); err != nil {
		return fmt.Errorf("IPv6 address generation mode: %w", err)
	}
	return nil
}

// setVMACSysctls sets a VMAC's sysctls, and its base's ARP ones (saved, for when the last
// VMAC on it goes).
func (n *Node) setVMACSysctls(link, base netlink.Link) error {
	name, baseName := link.Attrs().Name, base.Attrs().Name
	for _, s := range vmacSysctls {
		if err := writeSysctl("ipv4", name, s.name, s.value); err != nil {
			return err
		}
	}
	n.mu.Lock()
	_, saved := n.vmacBases[baseName]
	n.mu.Unlock()
	if !saved {
		old := baseSaved{}
		for _, s := range baseARPSysctls {
			v, err := readSysctl("ipv4", baseName, s)
			if err != nil {
				return err
			}
			old[s] = v
		}
		for _, s := range baseARPSysctls {
			if err := writeSysctl("ipv4", baseName, s, "1"); err != nil {
				return err
			}
		}
		n.mu.Lock()
		n.vmacBases[baseName] = old
		n.mu.Unlock()
	}
	return nil
}

// removeVMACs deletes the VMACs not named in keep, and gives back a base interface's ARP
// sysctls once no VMAC is left on it. keep nil removes them all (shutdown).
func (n *Node) removeVMACs(h *netlink.Handle, keep map[string]bool) {
	n.mu.Lock()
	var gone []string
	for name := range n.vmacs {
		if !keep[name] {
			gone = append(gone, name)
		}
	}
	n.mu.Unlock()
	if len(gone) == 0 {
		return
	}
	_ = nsrun.Do(n.ns, func() error {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, name := range gone {
			if l, err := h.LinkByName(name); err == nil {
				if _, ok := l.(*netlink.Macvlan); ok {
					if err := h.LinkDel(l); err != nil {
						n.logger.Warn("removing VMAC", "device", name, "err", err)
					}
				}
			}
			delete(n.vmacs, name)
		}
		for base, old := range n.vmacBases {
			inUse := false
			for _, v := range n.vmacs {
				inUse = inUse || v.base == base
			}
			if inUse {
				continue
			}
			for _, s := range baseARPSysctls {
				if err := writeSysctl("ipv4", base, s, old[s]); err != nil {
					n.logger.Warn("restoring the base interface's ARP settings", "err", err)
				}
			}
			delete(n.vmacBases, base)
		}
		return nil
	})
}

// vmacNames are the VMAC devices cfg uses.
func vmacNames(cfg Config) map[string]bool {
	out := map[string]bool{}
	for _, in := range cfg.Instances {
		if in.UseVMAC {
			out[in.VMACName] = true
		}
		for _, a := range in.addrVMACs {
			out[a.name] = true
		}
	}
	return out
}

// defaultVMACName is keepalived's create_vmac_name: PREFIX.VRID, else PREFIX1.VRID,
// PREFIX2.VRID, … (an IPv6 instance tries PREFIX6.VRID first, and the others skip 6),
// the prefix shortened so that the name fits IFNAMSIZ. taken are the names other
// instances' VMACs have.
func defaultVMACName(prefix string, vrid uint8, v6 bool, taken map[string]bool) string {
	format := func(num string) string {
		suffix := num + "." + strconv.Itoa(int(vrid))
		if over := len(prefix) + len(suffix) - (unix.IFNAMSIZ - 1); over > 0 {
			return prefix[:max(len(prefix)-over, 0)] + suffix
		}
		return prefix + suffix
	}
	name := format("")
	for num := 0; taken[name]; {
		switch {
		case v6 && num == 0:
			num = 6
		case v6 && num == 6:
			num = 1
		default:
			if num++; num == 6 && v6 {
				num++
			}
		}
		name = format(strconv.Itoa(num))
	}
	return name
}
