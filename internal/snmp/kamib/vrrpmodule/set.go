package vrrpmodule

import (
	"fmt"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// Writer is a node whose instances' base priority and preemption can be changed until
// the next reload (vrrp.Node). A Module whose Node is one lets sets write
// vrrpInstanceBasePriority and vrrpInstancePreempt, as keepalived does.
type Writer interface {
	SetBasePriority(instance string, prio uint8) error
	SetPreempt(instance string, preempt bool) error
}

// The columns of vrrpInstanceTable keepalived gives a write method.
const (
	colBasePriority = 7
	colPreempt      = 13
	colAccept       = 27
)

// writable is the instance and column of a variable keepalived has a write method for;
// ok is false for every other variable, and for a row that does not exist.
func (m *Module) writable(name agentx.OID) (in vrrp.InstanceConfig, col uint32, ok bool) {
	n := len(instanceEntry)
	if _, w := m.Node.(Writer); !w || len(name) != n+2 || !name.HasPrefix(instanceEntry) {
		return in, 0, false
	}
	instances := m.Node.Running().Instances
	col, row := name[n], int(name[n+1])
	if row < 1 || row > len(instances) {
		return in, 0, false
	}
	in = instances[row-1]
	// vrrpInstanceAccept has one on VRRPv3 instances only.
	ok = col == colBasePriority || col == colPreempt || col == colAccept && in.Version == 3
	return in, col, ok
}

// Test checks a set as keepalived's vrrp_snmp_instance_priority, _preempt and _accept
// do: an INTEGER (else wrongType), a priority of 1..255 and a preemption of preempt(1)
// or noPreempt(2) (else wrongValue); vrrpInstanceAccept is noAccess, as keepalived
// answers unless built with ALLOW_SNMP_SET_ACCEPT (Debian's is not). keepalived takes
// the value's first byte in memory, the low one on a little-endian host: a priority of
// 300 sets 44, -1 sets 255, 258 sets noPreempt. govs sets what was asked or nothing.
func (m *Module) Test(v agentx.Variable) agentx.Status {
	_, col, ok := m.writable(v.Name)
	if !ok {
		return agentx.NotWritable
	}
	if col == colAccept {
		return agentx.NoAccess
	}
	n, isInt := v.Value.(int32)
	switch {
	case v.Type != agentx.Integer || !isInt:
		return agentx.WrongType
	case col == colBasePriority && (n < 1 || n > 255), col == colPreempt && n != 1 && n != 2:
		return agentx.WrongValue
	}
	return agentx.NoError
}

// Commit changes the instance on the node until the next reload.
func (m *Module) Commit(v agentx.Variable) (func() error, error) {
	in, col, ok := m.writable(v.Name)
	if !ok || col == colAccept {
		return nil, fmt.Errorf("%s: not writable", v.Name)
	}
	w, n := m.Node.(Writer), v.Value.(int32)
	prio, nopreempt := in.Priority, in.Nopreempt
	for _, st := range m.Node.Status() {
		if st.Name == in.Name {
			prio, nopreempt = st.Priority, st.Nopreempt
		}
	}
	if col == colBasePriority {
		if err := w.SetBasePriority(in.Name, uint8(n)); err != nil {
			return nil, err
		}
		return func() error { return w.SetBasePriority(in.Name, prio) }, nil
	}
	if err := w.SetPreempt(in.Name, n == 1); err != nil {
		return nil, err
	}
	return func() error { return w.SetPreempt(in.Name, !nopreempt) }, nil
}

var _ agentx.Setter = (*Module)(nil)
