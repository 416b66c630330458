// Package ipvsoracle runs govs's kernel suite: scenarios in a real Debian 12 kernel with
// IPVS under qemu (ipvs-oracle.sh), with the real ipvsadm and keepalived as witnesses.
package ipvsoracle

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// guestTimeout bounds one scenario's qemu run.
const guestTimeout = 240 * time.Second

// harness builds what the guest runs: a static govs, a static test binary of
// internal/dataplane (the data-plane choice), and the cached guest image.
type harness struct {
	dir  string // extra files for the guest
	root string // repository root
}

var (
	harnessOnce sync.Once
	theHarness  *harness
	harnessErr  error
)

func setup(t testing.TB) *harness {
	t.Helper()
	testutil.Integration(t)
	testutil.NeedRoot(t)
	testutil.NeedCommand(t, "apt-get")
	testutil.NeedCommand(t, "go")
	harnessOnce.Do(func() { theHarness, harnessErr = build() })
	if harnessErr != nil {
		t.Fatal(harnessErr)
	}
	return theHarness
}

func build() (*harness, error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "govs-kernel-")
	if err != nil {
		return nil, err
	}
	steps := [][]string{
		{"go", "build", "-trimpath", "-o", filepath.Join(dir, "govs"), "./cmd/govs"},
		{"go", "test", "-c", "-o", filepath.Join(dir, "dataplane.test"), "./internal/dataplane"},
		{filepath.Join(root, "test/ipvs-oracle/ipvs-oracle.sh"), "--setup"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	for _, f := range []string{"scenarios/lib.sh", "testdata/forms.conf"} {
		if err := copyFile(filepath.Join(root, "test/ipvs-oracle", f), filepath.Join(dir, filepath.Base(f))); err != nil {
			return nil, err
		}
	}
	return &harness{dir: dir, root: root}, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// run boots the guest with scenarios/NAME.sh and the extra files (paths in h.dir or
// absolute), and fails the test when the scenario reports a failure. It returns the
// scenario's output.
func (h *harness) run(t testing.TB, name string, extra ...string) string {
	t.Helper()
	return h.runFor(t, name, guestTimeout, extra...)
}

// runFor is run with a time limit other than guestTimeout.
func (h *harness) runFor(t testing.TB, name string, limit time.Duration, extra ...string) string {
	t.Helper()
	args := []string{"--timeout", fmt.Sprint(int(limit / time.Second)), filepath.Join(h.root, "test/ipvs-oracle/scenarios", name+".sh"),
		filepath.Join(h.dir, "govs"), filepath.Join(h.dir, "lib.sh")}
	for _, e := range extra {
		if !filepath.IsAbs(e) {
			e = filepath.Join(h.dir, e)
		}
		args = append(args, e)
	}
	start := time.Now()
	cmd := exec.Command(filepath.Join(h.root, "test/ipvs-oracle/ipvs-oracle.sh"), args...)
	out, err := cmd.CombinedOutput()
	t.Logf("guest %s: %s, output:\n%s", name, time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Errorf("scenario %s: %v", name, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "FAIL ") {
			t.Error(sc.Text())
		}
	}
	return string(out)
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
