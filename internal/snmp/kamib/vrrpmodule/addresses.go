package vrrpmodule

import (
	"net/netip"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// inetScope is keepalived's snmp_scope: a Linux address scope as INET-ADDRESS-MIB's
// InetScopeType: global(14), site(5), link(2), host(1), and 0 for nowhere and the
// rest.
func inetScope(scope string) int {
	switch scope {
	case "", "global", "0":
		return 14
	case "site", "200":
		return 5
	case "link", "253":
		return 2
	case "host", "254":
		return 1
	}
	return 0
}

// addressRow is one address of vrrpAddressTable.
type addressRow struct {
	vip        vrrp.VIP
	dev        string
	set        bool
	advertised bool
}

// addressRows are the rows of instance in (i its position from 1), its virtual
// addresses then its excluded ones, numbered together. An address is set while the
// instance is master and the address is on its device: keepalived's flag says that
// adding it succeeded.
func addressRows(v view, i int, in vrrp.InstanceConfig) []addressRow {
	st, known := v.status[in.Name]
	own := in.Interface
	if in.UseVMAC && in.VMACName != "" {
		own = in.VMACName
	}
	var rows []addressRow
	for k, list := range [][]vrrp.VIP{in.VIPs, in.ExcludedVIPs} {
		for _, a := range list {
			dev := a.Dev
			// An address without a device of its own, or of the instance's family on
			// the instance's interface, goes on the instance's (its VMAC).
			if dev == "" || dev == in.Interface && a.Prefix.Addr().Is6() == in.IPv6() {
				dev = own
			}
			rows = append(rows, addressRow{
				vip: a, dev: dev,
				set: known && st.State == vrrp.StateMaster && v.has(dev, a.Prefix.Addr()),
				// keepalived's quirk: only the first instance's virtual addresses
				// show as advertised. vrrp_header_ar_table sets the flag when it
				// reaches the first instance and clears it for every excluded
				// list, never setting it again for the following instances.
				advertised: k == 0 && i == 1,
			})
		}
	}
	return rows
}

// addresses is vrrpAddressTable: the static addresses (instance 0) and each
// instance's virtual and excluded addresses.
func addresses(v view) []agentx.Variable {
	var vars []agentx.Variable
	var static []addressRow
	for _, a := range v.run.Static.Addresses {
		// Static addresses are installed for the node's whole life.
		static = append(static, addressRow{vip: a, dev: a.Dev, set: v.has(a.Dev, a.Prefix.Addr())})
	}
	vars = append(vars, addressVars(v, 0, static)...)
	for i, in := range v.run.Instances {
		vars = append(vars, addressVars(v, i+1, addressRows(v, i+1, in))...)
	}
	return vars
}

func addressVars(v view, instance int, rows []addressRow) []agentx.Variable {
	var vars []agentx.Variable
	for j, r := range rows {
		idx := []uint32{uint32(instance), uint32(j + 1)}
		col := func(c uint32) agentx.OID { return addressEntry.Append(c).Append(idx...) }
		a := r.vip.Prefix.Addr()
		vars = append(vars,
			agentx.Int(col(2), addrType(a)),
			agentx.Octets(col(3), addrBytes(a)),
			agentx.Unsigned(col(5), uint64(r.vip.Prefix.Bits())),
			agentx.String(col(8), r.dev),
			agentx.Int(col(10), agentx.Truth(r.set)),
			agentx.Int(col(11), agentx.Truth(r.advertised)),
		)
		if a.Is4() {
			// An IPv4 address always shows its broadcast, 0.0.0.0 when it has none
			// (a peer address takes its place).
			brd := netip.IPv4Unspecified()
			if r.vip.Broadcast.Is4() && !r.vip.Peer.IsValid() {
				brd = r.vip.Broadcast
			}
			vars = append(vars, agentx.Octets(col(4), addrBytes(brd)))
			// keepalived ignores scope and label on IPv6 addresses.
			vars = append(vars, agentx.Int(col(6), inetScope(r.vip.Scope)))
			if r.vip.Label != "" {
				vars = append(vars, agentx.String(col(9), r.vip.Label))
			}
		} else {
			vars = append(vars, agentx.Int(col(6), inetScope("")))
		}
		if l, ok := v.link(r.dev); ok {
			vars = append(vars, agentx.Int(col(7), l.Index))
		}
		if r.vip.Peer.IsValid() {
			vars = append(vars, agentx.Octets(col(12), addrBytes(r.vip.Peer)))
		}
	}
	return vars
}
