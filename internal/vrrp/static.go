package vrrp

import (
	"github.com/vishvananda/netlink"
)

// planStatic resolves the static entries one by one, so that one on a device that
// does not exist (yet) costs only itself; each failure is logged.
func (n *Node) planStatic(h *netlink.Handle, sc StaticConfig) *addressPlan {
	out := &addressPlan{}
	add := func(what string, in InstanceConfig) {
		p, err := planAddresses(h, &in, "")
		if err != nil {
			n.logger.Error("static entry not installed", "entry", what, "err", err)
			return
		}
		out.addrs = append(out.addrs, p.addrs...)
		out.routes = append(out.routes, p.routes...)
		out.rules = append(out.rules, p.rules...)
	}
	for _, a := range sc.Addresses {
		add("static_ipaddress "+a.Prefix.String(), InstanceConfig{VIPs: []VIP{a}})
	}
	for _, r := range sc.Routes {
		add("static_routes "+r.Dst.String(), InstanceConfig{Routes: []Route{r}})
	}
	for _, r := range sc.Rules {
		add("static_rules", InstanceConfig{Rules: []Rule{r}})
	}
	return out
}

// applyStatic installs a configuration's static entries after removing what old had
// that it no longer has; old nil (start) removes leftovers of an earlier run first.
func (n *Node) applyStatic(h *netlink.Handle, old, next *addressPlan) {
	stale := next
	if old != nil {
		stale = old.without(next)
	}
	if err := stale.remove(h); err != nil && old != nil {
		n.logger.Error("removing static entries no longer configured", "err", err)
	}
	if err := next.add(h); err != nil {
		n.logger.Error("installing static entries", "err", err)
	}
}
