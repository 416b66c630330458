package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the README's first command end to end on loopback, with short acts:
// the failure and the recovery must both be seen, and every request in between must be
// answered by a live backend.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for several seconds")
	}
	var out, errOut strings.Builder
	code := dispatch([]string{"demo", "--port", "0", "--step", "1s", "--duration", "9s",
		"--socket", filepath.Join(t.TempDir(), "demo.sock")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("govs demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"govs demo is running",
		"TCP  127.0.0.1:",
		"backend-2 is DOWN: out of rotation",
		"backend-2 is UP: back in rotation",
		"The demo is done",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "request failed") {
		t.Errorf("a request through the virtual service failed:\n%s", got)
	}
	// Between the failure and the recovery, backend-2 must not answer.
	down := got[strings.Index(got, "is DOWN"):strings.Index(got, "== starting backend-2")]
	if strings.Contains(down, "hello from backend-2") {
		t.Errorf("backend-2 answered while out of rotation:\n%s", down)
	}
}
