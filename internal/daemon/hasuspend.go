package daemon

import (
	"context"
	"net/netip"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/table"
)

// haSuspendAddrs adds a virtual_server with ha_suspend to h: each of its address
// services is suspended while none of the virtual server's addresses (its own, or
// every address of its group) is on this host. fwmark services have no address;
// config has already dropped ha_suspend from a fwmark virtual server. A group's
// nftables_ipvs fwmark services (marked) go by its addresses.
func haSuspendAddrs(h check.HASuspend, vs *config.VirtualServer, keys []table.ServiceKey, marked bool) {
	if !vs.HASuspend {
		return
	}
	var addrs []netip.Addr
	if vs.Group != nil {
		for _, a := range vs.Group.Addresses {
			addrs = append(addrs, a.Addr())
		}
	} else if vs.Addr.IsValid() {
		addrs = append(addrs, vs.Addr)
	}
	for _, key := range keys {
		if (key.FWMark == 0 || marked) && len(addrs) > 0 {
			h[key] = addrs
		}
	}
}

// followAddresses feeds the host's address changes to the checkers' ha_suspend. A
// watch that cannot run is logged, not fatal: only virtual servers with ha_suspend
// depend on it, and they stay suspended.
func (d *Daemon) followAddresses(ctx context.Context) error {
	d.mu.Lock() // a reload may be replacing the plan
	w := check.NetlinkAddrs{RcvBuf: d.plan.AddrMonitorRcvBuf, RcvBufForce: d.plan.AddrMonitorRcvBufForce, Logger: d.log}
	d.mu.Unlock()
	if err := d.check.FollowAddresses(ctx, w); err != nil && ctx.Err() == nil {
		d.log.Error("ha_suspend: virtual servers with it stay suspended", "err", err)
	}
	return nil
}
