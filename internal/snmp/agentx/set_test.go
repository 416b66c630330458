package agentx

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// settable is a module whose integers under 1.3.6.1.4.1.99999.2 take 1..10; the commit
// of failing fails.
type settable struct {
	mu      sync.Mutex
	values  map[string]int32
	failing string
}

var settableRoot = MustOID("1.3.6.1.4.1.99999.2")

func (s *settable) Subtrees() []OID       { return []OID{settableRoot} }
func (s *settable) Variables() []Variable { return nil }

func (s *settable) Test(v Variable) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, isInt := v.Value.(int32)
	switch _, ok := s.values[v.Name.String()]; {
	case !ok:
		return NotWritable
	case v.Type != Integer || !isInt:
		return WrongType
	case n < 1 || n > 10:
		return WrongValue
	}
	return NoError
}

func (s *settable) Commit(v Variable) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := v.Name.String()
	if name == s.failing {
		return nil, errors.New("cannot")
	}
	old := s.values[name]
	s.values[name] = v.Value.(int32)
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.values[name] = old
		return nil
	}, nil
}

func (s *settable) snapshot() map[string]int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int32{}
	for k, v := range s.values {
		out[k] = v
	}
	return out
}

var _ Setter = (*settable)(nil)

// setPDU is one PDU of a set the fake master sends: its type and transaction, and the
// variables of a TestSet.
type setPDU struct {
	typ  uint8
	txn  uint32
	vars []Variable
	raw  []byte // a payload of its own instead of vars
}

// TestSet: the phases of RFC 2741's sets as a master runs them against the agent's
// Setters: the answers (error status and index, from 1) to each PDU, and what is set
// once they are done.
func TestSet(t *testing.T) {
	a1, a2, a3 := settableRoot.Append(1, 0), settableRoot.Append(2, 0), settableRoot.Append(3, 0)
	fixed := MustOID("1.3.6.1.4.1.99999.1.1.0") // sampleVars', of no Setter
	i := func(o OID, n int32) Variable { return Variable{Name: o, Type: Integer, Value: n} }
	initial := map[string]int32{a1.String(): 1, a2.String(): 2, a3.String(): 3}
	type answer struct {
		status Status
		index  uint16
	}
	for _, tc := range []struct {
		name string
		pdus []setPDU
		// want are the answers to each PDU but CleanupSet, which has none.
		want []answer
		set  map[string]int32 // the values changed
	}{
		{"one variable", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5)}, nil}, {pduCommitSet, 7, nil, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {NoError, 0}}, map[string]int32{a1.String(): 5}},
		{"two variables", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5), i(a3, 9)}, nil}, {pduCommitSet, 7, nil, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {NoError, 0}}, map[string]int32{a1.String(): 5, a3.String(): 9}},
		{"wrong type", []setPDU{{pduTestSet, 7, []Variable{{Name: a1, Type: Gauge32, Value: uint32(5)}}, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{WrongType, 1}}, nil},
		{"the second variable's wrong value fails the set", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5), i(a3, 11)}, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{WrongValue, 2}}, nil},
		{"a variable of a module that sets nothing", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5), i(fixed, 1)}, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NotWritable, 2}}, nil},
		{"a variable the module does not have", []setPDU{{pduTestSet, 7, []Variable{i(settableRoot.Append(9, 0), 5)}, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NotWritable, 1}}, nil},
		{"a commit that fails is undone", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5), i(a3, 6), i(a2, 4)}, nil}, {pduCommitSet, 7, nil, nil}, {pduUndoSet, 7, nil, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {commitFailed, 3}, {NoError, 0}}, nil},
		{"a commit of another transaction", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5)}, nil}, {pduCommitSet, 8, nil, nil}, {pduCleanupSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {commitFailed, 0}}, nil},
		{"a commit after a test that failed", []setPDU{{pduTestSet, 7, []Variable{i(a1, 50)}, nil}, {pduCommitSet, 7, nil, nil}},
			[]answer{{WrongValue, 1}, {commitFailed, 0}}, nil},
		{"a commit after cleanup", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5)}, nil}, {pduCleanupSet, 7, nil, nil}, {pduCommitSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {commitFailed, 0}}, nil},
		{"a second commit", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5)}, nil}, {pduCommitSet, 7, nil, nil}, {pduCommitSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {NoError, 0}, {commitFailed, 0}}, map[string]int32{a1.String(): 5}},
		{"an undo of nothing committed", []setPDU{{pduTestSet, 7, []Variable{i(a1, 5)}, nil}, {pduUndoSet, 7, nil, nil}},
			[]answer{{NoError, 0}, {undoFailed, 0}}, nil},
		{"an unreadable set", []setPDU{{pduTestSet, 7, nil, []byte{0, 2, 0, 0, 9, 0, 0, 0}}},
			[]answer{{266, 0}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &settable{values: map[string]int32{}, failing: a2.String()}
			for k, v := range initial {
				s.values[k] = v
			}
			conn := openSession(t, New(Options{Subtrees: []OID{MustOID("1.3.6.1.4.1.99999")}, Source: sampleVars,
				Setters: Setters(readOnly{}, s)}))
			var got []answer
			for k, p := range tc.pdus {
				e := encoder{order: bigEndian}
				for _, v := range p.vars {
					if err := e.variable(v); err != nil {
						t.Fatal(err)
					}
				}
				if p.raw != nil {
					e.b = p.raw
				}
				if _, err := conn.Write(e.pdu(p.typ, 1, p.txn, uint32(100+k))); err != nil {
					t.Fatal(err)
				}
				if p.typ == pduCleanupSet {
					continue
				}
				h, payload, err := readPDU(conn)
				if err != nil || h.Type != pduResponse || h.Pkt != uint32(100+k) || h.Transaction != p.txn {
					t.Fatalf("PDU %d: answered with type %d packet %d transaction %d (%v)", k, h.Type, h.Pkt, h.Transaction, err)
				}
				d := decoder{b: payload, order: h.order}
				d.u32()
				status, index := Status(d.u16()), d.u16()
				got = append(got, answer{status, index})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("answers %v, want %v", got, tc.want)
			}
			want := map[string]int32{}
			for k, v := range initial {
				want[k] = v
			}
			for k, v := range tc.set {
				want[k] = v
			}
			if got := s.snapshot(); !reflect.DeepEqual(got, want) {
				t.Errorf("values %v, want %v", got, want)
			}
		})
	}
}

// readOnly is a module of the same subtree that is not a Setter: Setters leaves it out.
type readOnly struct{}

func (readOnly) Subtrees() []OID       { return []OID{settableRoot} }
func (readOnly) Variables() []Variable { return nil }

// openSession runs a against a fake master and returns the master's side of the
// session, once the agent has opened it and registered its subtrees.
func openSession(t *testing.T, a *Agent) net.Conn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "master")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a.opts.Address = "unix:" + sock
	runAgent(t, a)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for range 1 + len(a.opts.Subtrees) { // Open, then each Register
		h, _, err := readPDU(conn)
		if err != nil {
			t.Fatal(err)
		}
		e := encoder{order: bigEndian}
		e.u32(0)
		e.u16(0)
		e.u16(0)
		if _, err := conn.Write(e.pdu(pduResponse, 1, h.Transaction, h.Pkt)); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// FuzzVariables: whatever a TestSet carries is read without a panic, and variables read
// whole are written back as they were read.
func FuzzVariables(f *testing.F) {
	e := encoder{order: bigEndian}
	for _, v := range sampleVars() {
		if err := e.variable(v); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(e.b, true)
	f.Add([]byte{2, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xfe}, false)
	f.Fuzz(func(t *testing.T, b []byte, big bool) {
		order := littleEndian
		if big {
			order = bigEndian
		}
		d := decoder{b: b, order: order}
		vars := d.variables()
		if d.err != nil {
			return
		}
		e := encoder{order: order}
		for _, v := range vars {
			if err := e.variable(v); err != nil {
				t.Fatalf("%v read, not written: %v", v, err)
			}
		}
		d = decoder{b: e.b, order: order}
		again := d.variables()
		if d.err != nil || fmt.Sprint(again) != fmt.Sprint(vars) {
			t.Fatalf("read %v, written and read again %v (%v)", vars, again, d.err)
		}
	})
}
