package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/daemon"
)

// TestExamples keeps examples/ honest: every configuration there passes `govs check`
// and maps onto what `govs run` starts.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.conf"))
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut strings.Builder
			if code := dispatch([]string{"check", "-f", f}, &out, &errOut); code != 0 {
				t.Fatalf("govs check = %d:\n%s", code, errOut.String())
			}
			cfg, diags := config.Load(f, config.Options{})
			if diags.HasErrors() {
				t.Fatal(diags.String())
			}
			if _, err := daemon.NewPlan(cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
}
