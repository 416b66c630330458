package vrrp

import (
	"cmp"

	"github.com/vishvananda/netlink"
)

// Installed is one reading of the kernel's routes and rules, to say which configured
// ones are in: keepalived's SNMP agent shows a route or rule as set once adding it
// succeeded, and not after something deleted it.
type Installed struct {
	h  *netlink.Handle
	ks *kernelState
}

// ReadInstalled reads this network namespace's routes marked with the protocols of
// routes (keepalived's unless they say) and, when rules is true, its rules.
func ReadInstalled(routes []Route, rules bool) (*Installed, error) {
	// A socket per request, in the calling thread's namespace; no addresses, which a
	// plan of routes and rules does not hold.
	h := &netlink.Handle{}
	ks := &kernelState{routes: map[string]bool{}}
	if rules {
		if err := ks.readRules(h); err != nil {
			return nil, err
		}
	}
	read := map[uint8]bool{}
	for _, r := range routes {
		proto := cmp.Or(r.Protocol, rtprotKeepalived)
		if read[proto] {
			continue
		}
		read[proto] = true
		if err := ks.readRoutes(h, proto); err != nil {
			return nil, err
		}
	}
	return &Installed{h: h, ks: ks}, nil
}

// HasRoute says whether the kernel has route r; dev is the device of a route that names
// none (its instance's interface).
func (in *Installed) HasRoute(r Route, dev string) bool {
	p, err := planAddresses(in.h, &InstanceConfig{Routes: []Route{r}}, dev)
	return err == nil && in.ks.has(p)
}

// HasRule says whether the kernel has rule r.
func (in *Installed) HasRule(r Rule) bool {
	p, err := planAddresses(in.h, &InstanceConfig{Rules: []Rule{r}}, "")
	return err == nil && in.ks.has(p)
}
