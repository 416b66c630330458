package vrrp

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/govs/govs/internal/vrrp/nftfw"
	"github.com/vishvananda/netlink"
)

// newFirewall returns the node's nftables tables (made on first use) in its namespace.
func (n *Node) newFirewall(opts nftfw.Options) *nftfw.Firewall {
	ns := n.ns
	return nftfw.New(func() (*nftables.Conn, error) {
		if ns.IsOpen() {
			return nftables.New(nftables.WithNetNSFd(int(ns)))
		}
		return nftables.New()
	}, opts, n.logger)
}

// reconfigureFirewall applies a reload's nftables settings.
func (n *Node) reconfigureFirewall(opts nftfw.Options) {
	if err := n.fw.Reconfigure(opts); err != nil {
		n.logger.Error("applying the nftables settings", "err", err)
	}
}

// noteFirewall logs keepalived's line for a configuration that needs the nftables
// tables without naming them.
func (n *Node) noteFirewall(cfg Config) {
	if cfg.Firewall.Table != "" {
		return
	}
	for _, in := range cfg.Instances {
		if dropsTraffic(&in) || in.UseVMAC {
			n.logger.Info("use_vmac or no_accept/strict specified, but no firewall configured - using nftables")
			return
		}
	}
}

// dropsTraffic: a master without accept mode, other than the address owner, drops
// traffic to its addresses.
func dropsTraffic(in *InstanceConfig) bool { return in.NoAccept && in.Priority != 255 }

// dropAddrs lists what an instance's drop rules cover: every address it adds, each
// with its device. dev is the instance's own (its VMAC when it has one).
func dropAddrs(in *InstanceConfig, plan *addressPlan, dev netlink.Link) []nftfw.Addr {
	if !dropsTraffic(in) {
		return nil
	}
	out := make([]nftfw.Addr, 0, len(plan.addrs))
	for _, a := range plan.addrs {
		ip, ok := netip.AddrFromSlice(a.addr.IP)
		if !ok {
			continue
		}
		attrs := a.link.Attrs()
		out = append(out, nftfw.Addr{
			IP: ip.Unmap(), LinkName: attrs.Name, LinkIndex: uint32(attrs.Index),
			ByName: in.DontTrackPrimary && (attrs.Index == dev.Attrs().Index || a.noTrack),
		})
	}
	return out
}

// vmacFamilies are the families whose reports the firewall moves off a VMAC.
type vmacFamilies struct{ IPv4, IPv6 bool }

// vmacRules is what the firewall does for an instance's VMAC: its own family, and the
// other one too when it has excluded addresses of that family that no address VMAC
// takes (keepalived's VRRP_FLAG_EVIP_OTHER_FAMILY).
func vmacRules(in *InstanceConfig) vmacFamilies {
	f := vmacFamilies{IPv6: in.IPv6(), IPv4: !in.IPv6()}
	for _, e := range in.ExcludedVIPs {
		if e.vmac != "" {
			continue
		}
		if e.Prefix.Addr().Is6() {
			f.IPv6 = true
		} else {
			f.IPv4 = true
		}
	}
	return f
}

// heldDrops is what an instance holds in a firewall while master.
type heldDrops struct {
	fw    *nftfw.Firewall
	addrs []nftfw.Addr
}

// holdDrops installs the instance's drop rules; keepalived sets them before adding the
// addresses, so that no packet reaches an address not yet protected.
func (i *instance) holdDrops() {
	if len(i.drops) == 0 || i.held != nil {
		return
	}
	i.logger.Debug("(" + i.cfg.Name + ") setting firewall drop rule")
	if err := i.fw.AddAddrs(i.drops); err != nil {
		i.logger.Error("setting firewall drop rule", "err", err)
	}
	i.held = &heldDrops{fw: i.fw, addrs: i.drops}
}

// releaseDrops removes what holdDrops installed, after the addresses are gone.
func (i *instance) releaseDrops() {
	i.held.release(i)
	i.held = nil
}

func (h *heldDrops) release(i *instance) {
	if h == nil {
		return
	}
	i.logger.Debug("(" + i.cfg.Name + ") removing firewall drop rule")
	if err := h.fw.RemoveAddrs(h.addrs); err != nil {
		i.logger.Error("removing firewall drop rule", "err", err)
	}
}
