// Package testutil holds helpers shared by tests: gating of integration tests and
// checks for what a test needs from the host.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI, where a skip counts as a failure.
func InCI() bool { return os.Getenv("CI") != "" }

// Integration gates a test that needs root, namespaces or Debian packages. Such tests run
// when GOVS_INTEGRATION=1 (scripts/test.sh sets it). Outside that they are skipped with
// the reason.
func Integration(t testing.TB) {
	t.Helper()
	if os.Getenv("GOVS_INTEGRATION") == "" {
		t.Skip("integration test: set GOVS_INTEGRATION=1 (scripts/test.sh does)")
	}
}

// Need stops the test when the host lacks something it needs: a skip with the reason
// outside CI, a failure in CI (where scripts/test.sh should have installed it).
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("missing in CI: %s", why)
	}
	t.Skip("skipped: " + why)
}

// NeedRoot requires uid 0.
func NeedRoot(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root")
}

// NeedCommand requires a program on PATH and returns its path.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Need(t, err == nil, name+" is not installed (scripts/test.sh installs it)")
	return p
}
