package agentx

import "slices"

// MIB is one MIB module a subagent serves: the subtrees it registers and their
// variables, read again for every request so that they are never stale.
type MIB interface {
	Subtrees() []OID
	// Variables returns the module's variables, in any order.
	Variables() []Variable
}

// Setter is a MIB module some of whose variables can be set. For a set, the agent
// asks each variable's module to Test it and, once every variable of the set has
// passed (in every subagent), to Commit them: RFC 2741's TestSet and CommitSet. A
// variable outside every Setter's subtrees is not writable.
type Setter interface {
	MIB
	// Test says whether v may be set now: NoError, or the status the set fails with.
	Test(v Variable) Status
	// Commit sets v, which Test passed, and returns what sets it back, for the
	// master's UndoSet when another variable of the set cannot be committed.
	Commit(v Variable) (undo func() error, err error)
}

// Status is an SNMP error status (RFC 3416): the answer to a set.
type Status uint16

// The statuses a Setter answers with.
const (
	NoError     Status = 0
	NoAccess    Status = 6
	WrongType   Status = 7
	WrongValue  Status = 10
	NotWritable Status = 17
)

// The statuses of the agent's own, for a commit or an undo that fails.
const (
	commitFailed Status = 14
	undoFailed   Status = 15
)

// Setters are the modules of mibs that have variables to set, for Options.Setters.
func Setters(mibs ...MIB) []Setter {
	var out []Setter
	for _, m := range mibs {
		if s, ok := m.(Setter); ok {
			out = append(out, s)
		}
	}
	return out
}

// Notification is a trap and its variables, sent with Agent.Notify.
type Notification struct {
	Trap OID
	Vars []Variable
}

// Int is an INTEGER variable (net-snmp's ASN_INTEGER: enumerations, TruthValue).
func Int(name OID, v int) Variable { return Variable{Name: name, Type: Integer, Value: int32(v)} }

// Unsigned is an Unsigned32/Gauge32 variable (net-snmp's ASN_UNSIGNED and ASN_GAUGE
// are the same type on the wire).
func Unsigned(name OID, v uint64) Variable {
	return Variable{Name: name, Type: Gauge32, Value: uint32(min(v, 1<<32-1))}
}

// Counter is a Counter32 variable: v modulo 2^32, as a wrapping counter is read.
func Counter(name OID, v uint64) Variable {
	return Variable{Name: name, Type: Counter32, Value: uint32(v)}
}

// Counter64Of is a Counter64 variable.
func Counter64Of(name OID, v uint64) Variable {
	return Variable{Name: name, Type: Counter64, Value: v}
}

// String is an OCTET STRING variable holding s.
func String(name OID, s string) Variable {
	return Variable{Name: name, Type: OctetString, Value: []byte(s)}
}

// Octets is an OCTET STRING variable holding b.
func Octets(name OID, b []byte) Variable {
	return Variable{Name: name, Type: OctetString, Value: b}
}

// Truth is SNMPv2-TC's TruthValue: true(1), false(2).
func Truth(b bool) int {
	if b {
		return 1
	}
	return 2
}

// Modules joins MIB modules for one agent: their subtrees, and a Source that reads
// every module's variables and sorts them by name.
func Modules(mibs ...MIB) (subtrees []OID, source func() []Variable) {
	for _, m := range mibs {
		subtrees = append(subtrees, m.Subtrees()...)
	}
	return subtrees, func() []Variable {
		var vars []Variable
		for _, m := range mibs {
			vars = append(vars, m.Variables()...)
		}
		slices.SortFunc(vars, func(a, b Variable) int { return Compare(a.Name, b.Name) })
		return vars
	}
}
