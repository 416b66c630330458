package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	govsOnce sync.Once
	govsPath string
	govsErr  error
	govsOut  []byte
)

// GovsBinary builds cmd/govs once per test process and returns its path, for tests that
// must run govs as a separate process (inside a network namespace, or to signal it).
func GovsBinary(t testing.TB) string {
	t.Helper()
	govsOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "govs-test-bin-")
		if err != nil {
			govsErr = err
			return
		}
		govsPath = filepath.Join(dir, "govs")
		cmd := exec.Command("go", "build", "-o", govsPath, "./cmd/govs")
		cmd.Dir = root
		govsOut, govsErr = cmd.CombinedOutput()
	})
	if govsErr != nil {
		t.Fatalf("building govs: %v\n%s", govsErr, govsOut)
	}
	return govsPath
}
