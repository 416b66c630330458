package agentx

import "slices"

// MIB is one MIB module a subagent serves: the subtrees it registers and their
// variables, read again for every request so that they are never stale.
type MIB interface {
	Subtrees() []OID
	// Variables returns the module's variables, in any order.
	Variables() []Variable
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
