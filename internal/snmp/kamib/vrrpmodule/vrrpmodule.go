// Package vrrpmodule is KEEPALIVED-MIB's VRRP part (1.3.6.1.4.1.9586.100.5.2,
// enable_snmp_vrrp) as keepalived 2.2.7's vrrp_snmp.c fills it in: the sync groups and
// their members, the instances, their tracked interfaces and scripts, their virtual
// and excluded addresses, the static and virtual routes (and their next hops) and
// rules, the vrrp_scripts, the track_files, vrrp_track_processes and
// BFDs with what tracks them, and the notifications vrrpInstanceStateChange and
// vrrpSyncGroupStateChange.
//
// keepalived numbers the rows of every table by position (the n-th instance, the m-th
// address of the n-th instance), whatever the MIB's INDEX clauses say; so does this
// package.
package vrrpmodule

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/snmp/vrrpmib"
	"github.com/govs/govs/internal/vrrp"
)

// Node is what the module reads of the VRRP node: the instances' states and the
// configuration it runs (normalized: defaults and VMAC names filled in).
type Node interface {
	Status() []vrrp.InstanceStatus
	Running() vrrp.Config
	ScriptResults() map[string]vrrp.ScriptResult
	TrackFileValues() map[string]int64
	TrackProcessStates() map[string]vrrp.ProcessState
	BFDStates() map[string]bool
}

// Module serves the VRRP part of KEEPALIVED-MIB.
type Module struct {
	Node Node
	// Config is the configuration in force (nil: none), for what the node's
	// configuration no longer says as keepalived.conf did (state BACKUP written or
	// not, notify_deleted, the LVS sync daemon, static addresses).
	Config func() *config.Config
	// Traps is enable_traps: without it no notification is sent.
	Traps bool
	// Link describes an interface by name; nil: the host's interfaces.
	Link func(name string) (vrrpmib.Link, bool)
	// HasAddress says whether device dev has address a; nil: the host's.
	HasAddress func(dev string, a netip.Addr) bool
	// HasRoute and HasRule say whether the kernel has a route (dev: the device of one
	// that names none) or a rule; nil: this network namespace's, read once a request.
	HasRoute func(r vrrp.Route, dev string) bool
	HasRule  func(r vrrp.Rule) bool

	// mu guards the states the notifications follow.
	mu     sync.Mutex
	states map[string]vrrp.State // each instance's last state, from StateChanged
	groups map[string]vrrp.State // each sync group's last state notified
	// memos keep what the last notification of an instance a reload removes needs.
	memos map[string]memo
}

// The tables' entries under kamib.VRRPRoot.
var (
	syncGroupEntry       = kamib.VRRPRoot.Append(1, 1)
	syncGroupMemberEntry = kamib.VRRPRoot.Append(2, 1)
	instanceEntry        = kamib.VRRPRoot.Append(3, 1)
	trackedIfEntry       = kamib.VRRPRoot.Append(4, 1)
	trackedScriptEntry   = kamib.VRRPRoot.Append(5, 1)
	addressEntry         = kamib.VRRPRoot.Append(6, 1)
	routeEntry           = kamib.VRRPRoot.Append(7, 1)
	ruleEntry            = kamib.VRRPRoot.Append(8, 1)
	scriptEntry          = kamib.VRRPRoot.Append(9, 1)
	nextHopEntry         = kamib.VRRPRoot.Append(11, 1)
)

// Subtrees is the VRRP part's root, which keepalived's VRRP process registers.
func (m *Module) Subtrees() []agentx.OID { return []agentx.OID{kamib.VRRPRoot} }

// view is one reading of the node and the configuration, shared by the tables.
type view struct {
	run    vrrp.Config
	conf   *config.Config
	status map[string]vrrp.InstanceStatus
	// scripts are the vrrp_scripts' results; one missing is init.
	scripts map[string]vrrp.ScriptResult
	// fileValues are the track_files' values; one missing is 0.
	fileValues map[string]int64
	link       func(name string) (vrrpmib.Link, bool)
	has        func(dev string, a netip.Addr) bool
	hasRoute   func(r vrrp.Route, dev string) bool
	hasRule    func(r vrrp.Rule) bool

	// procs are the vrrp_track_processes' states, bfds the BFD sessions' (Up or
	// not); one missing is zero, down.
	procs map[string]vrrp.ProcessState
	bfds  map[string]bool
}

func (m *Module) view() view {
	v := view{run: m.Node.Running(), conf: &config.Config{}, status: map[string]vrrp.InstanceStatus{}, link: m.Link, has: m.HasAddress}
	if m.Config != nil {
		if c := m.Config(); c != nil {
			v.conf = c
		}
	}
	if v.link == nil {
		v.link = vrrpmib.HostLink
	}
	if v.has == nil {
		v.has = hostHasAddress
	}
	v.hasRoute, v.hasRule = m.HasRoute, m.HasRule
	if v.hasRoute == nil || v.hasRule == nil {
		v.hasRoute, v.hasRule = kernelEntries(v.run)
	}
	for _, st := range m.Node.Status() {
		v.status[st.Name] = st
	}
	v.scripts = m.Node.ScriptResults()
	v.fileValues = m.Node.TrackFileValues()
	v.procs = m.Node.TrackProcessStates()
	v.bfds = m.Node.BFDStates()
	return v
}

// confInstance is instance name's block in keepalived.conf (an empty one if missing).
func (v view) confInstance(name string) *config.Instance {
	for _, in := range v.conf.Instances {
		if in != nil && in.Name == name {
			return in
		}
	}
	return &config.Instance{}
}

// groupOf is the sync group instance name is a member of, or nil.
func (v view) groupOf(name string) *vrrp.SyncGroupConfig {
	for i := range v.run.SyncGroups {
		for _, m := range v.run.SyncGroups[i].Members {
			if m == name {
				return &v.run.SyncGroups[i]
			}
		}
	}
	return nil
}

// Variables are the module's variables, read from the node and the configuration now.
func (m *Module) Variables() []agentx.Variable {
	v := m.view()
	var vars []agentx.Variable
	vars = append(vars, syncGroups(v)...)
	vars = append(vars, instances(v)...)
	vars = append(vars, trackedInterfaces(v)...)
	vars = append(vars, trackedScripts(v)...)
	vars = append(vars, addresses(v)...)
	vars = append(vars, routes(v)...)
	vars = append(vars, rules(v)...)
	vars = append(vars, nextHops(v)...)
	vars = append(vars, scripts(v)...)
	vars = append(vars, trackedFiles(v)...)
	vars = append(vars, files(v)...)
	vars = append(vars, groupTracked(v)...)
	vars = append(vars, bfdTables(v)...)
	vars = append(vars, processTables(v)...)
	return vars
}

// snmpState is keepalived's vrrp_snmp_state: init(0), backup(1), master(2), fault(3),
// and unknown(4) for anything else (stopping, deleted).
func snmpState(s vrrp.State) int {
	if s <= vrrp.StateFault {
		return int(s)
	}
	return 4
}

// commandString is keepalived's cmd_str_r of a script, its program resolved as
// keepalived resolves it: every word quoted with ', separated by a space, except a
// first word that is a bare redirection (< or >).
func commandString(c *vrrp.Command) string {
	var b strings.Builder
	for i, a := range c.Argv {
		if i > 0 {
			b.WriteByte(' ')
		} else {
			a = scriptPath(a)
		}
		if i == 0 && (strings.HasPrefix(a, "<") || strings.HasPrefix(a, ">")) {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + a + "'")
	}
	return b.String()
}

// addrType is INET-ADDRESS-MIB's InetAddressType as keepalived's SNMP_InetAddressType
// gives it: ipv4(1), else ipv6(2).
func addrType(a netip.Addr) int {
	if a.Is4() {
		return 1
	}
	return 2
}

func addrBytes(a netip.Addr) []byte { return a.AsSlice() }

// kernelEntries reads the routes and rules of this network namespace, when the
// configuration has any; one that cannot be read shows as not set.
func kernelEntries(run vrrp.Config) (hasRoute func(vrrp.Route, string) bool, hasRule func(vrrp.Rule) bool) {
	routes, rules := slices.Clone(run.Static.Routes), len(run.Static.Rules) > 0
	for _, in := range run.Instances {
		routes = append(routes, in.Routes...)
		rules = rules || len(in.Rules) > 0
	}
	none := func() (func(vrrp.Route, string) bool, func(vrrp.Rule) bool) {
		return func(vrrp.Route, string) bool { return false }, func(vrrp.Rule) bool { return false }
	}
	if len(routes) == 0 && !rules {
		return none()
	}
	installed, err := vrrp.ReadInstalled(routes, rules)
	if err != nil {
		return none()
	}
	return installed.HasRoute, installed.HasRule
}

// hostHasAddress says whether interface dev of this network namespace has address a.
func hostHasAddress(dev string, a netip.Addr) bool {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return false
	}
	addrs, _ := ifc.Addrs()
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr() == a {
			return true
		}
	}
	return false
}

var _ agentx.MIB = (*Module)(nil)
