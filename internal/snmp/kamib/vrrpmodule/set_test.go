package vrrpmodule

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/agentx/agentxtest"
)

// writingNode is a fakeNode that records the changes sets make.
type writingNode struct {
	*fakeNode
	calls []string
}

func (n *writingNode) SetBasePriority(name string, prio uint8) error {
	if name == "B" {
		return errors.New("gone")
	}
	n.calls = append(n.calls, fmt.Sprintf("%s priority %d", name, prio))
	return nil
}

func (n *writingNode) SetPreempt(name string, preempt bool) error {
	n.calls = append(n.calls, fmt.Sprintf("%s preempt %v", name, preempt))
	return nil
}

// TestSet: which variables of vrrpInstanceTable a set may write and with what, as
// keepalived answers; what a commit changes on the node, and what its undo puts back.
func TestSet(t *testing.T) {
	col := func(c uint32, row ...uint32) agentx.OID { return instanceEntry.Append(c).Append(row...) }
	i := func(o agentx.OID, n int32) agentx.Variable { return agentx.Int(o, int(n)) }
	for _, tc := range []struct {
		name     string
		v        agentx.Variable
		want     agentx.Status
		commit   string // the change a commit makes; its undo's after a comma
		readOnly bool   // a node that is not a Writer
	}{
		{"base priority", i(col(7, 1), 200), agentx.NoError, "A priority 200,A priority 150", false},
		{"base priority 255", i(col(7, 1), 255), agentx.NoError, "A priority 255,A priority 150", false},
		{"base priority 1", i(col(7, 3), 1), agentx.NoError, "C priority 1,C priority 95", false},
		{"base priority 0", i(col(7, 1), 0), agentx.WrongValue, "", false},
		{"base priority 256", i(col(7, 1), 256), agentx.WrongValue, "", false},
		{"base priority 300", i(col(7, 1), 300), agentx.WrongValue, "", false},
		{"base priority -1", i(col(7, 1), -1), agentx.WrongValue, "", false},
		{"base priority as Unsigned32", agentx.Unsigned(col(7, 1), 100), agentx.WrongType, "", false},
		{"base priority as a string", agentx.String(col(7, 1), "100"), agentx.WrongType, "", false},
		{"a row that does not exist", i(col(7, 4), 100), agentx.NotWritable, "", false},
		{"row 0", i(col(7, 0), 100), agentx.NotWritable, "", false},
		{"more index than a row", i(col(7, 1, 0), 100), agentx.NotWritable, "", false},
		{"no row", i(col(7), 100), agentx.NotWritable, "", false},
		{"preempt off", i(col(13, 1), 2), agentx.NoError, "A preempt false,A preempt true", false},
		{"preempt on", i(col(13, 3), 1), agentx.NoError, "C preempt true,C preempt false", false},
		{"preempt 3", i(col(13, 1), 3), agentx.WrongValue, "", false},
		{"preempt 0", i(col(13, 1), 0), agentx.WrongValue, "", false},
		{"read-only: the name", agentx.String(col(2, 1), "X"), agentx.NotWritable, "", false},
		{"read-only: the effective priority", i(col(8, 1), 100), agentx.NotWritable, "", false},
		{"accept of VRRPv3: noAccess", i(col(27, 2), 1), agentx.NoAccess, "", false},
		{"accept of VRRPv3 of another type: noAccess", agentx.String(col(27, 2), "x"), agentx.NoAccess, "", false},
		{"accept of VRRPv2: not writable", i(col(27, 1), 1), agentx.NotWritable, "", false},
		{"another table", i(trackedIfEntry.Append(2, 1, 1), 1), agentx.NotWritable, "", false},
		{"a node without sets", i(col(7, 1), 200), agentx.NotWritable, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, conf := fixture()
			w := &writingNode{fakeNode: node}
			m := module(w, conf)
			if tc.readOnly {
				m = module(node, conf)
			}
			agentxtest.SetAndUndo(t, m, tc.v, tc.want)
			if got := strings.Join(w.calls, ","); got != tc.commit {
				t.Errorf("changes %q, want %q", got, tc.commit)
			}
		})
	}
	// The node refuses: the commit fails.
	node, conf := fixture()
	if _, err := module(&writingNode{fakeNode: node}, conf).Commit(agentx.Int(instanceEntry.Append(7, 2), 120)); err == nil {
		t.Error("a commit the node refused succeeded")
	}
}
