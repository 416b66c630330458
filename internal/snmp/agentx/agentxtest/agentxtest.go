// Package agentxtest drives a MIB's sets as the master agent does, for the modules'
// tests.
package agentxtest

import (
	"testing"

	"github.com/govs/govs/internal/snmp/agentx"
)

// SetAndUndo sets v through s as a master agent's TestSet, CommitSet and UndoSet
// would: Test must answer want; when that is NoError, Commit must succeed and its undo
// too. The caller checks what the commit and the undo changed.
func SetAndUndo(t testing.TB, s agentx.Setter, v agentx.Variable, want agentx.Status) {
	t.Helper()
	if got := s.Test(v); got != want {
		t.Fatalf("Test = %d, want %d", got, want)
	}
	if want != agentx.NoError {
		return
	}
	undo, err := s.Commit(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
}
