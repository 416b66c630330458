package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorGolden parses every testdata/errors/*.conf and compares the diagnostics,
// byte for byte, with the .golden file beside it (-update rewrites them). Files named
// warn_* are valid configurations that must only warn; every other one must fail.
func TestErrorGolden(t *testing.T) {
	dir := filepath.Join("testdata", "errors")
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	broken := 0
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".conf"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, diags := Parse(name, data, Options{
				FS:              os.DirFS(dir),
				InterfaceExists: func(n string) bool { return n != "missing0" },
			})
			wantErrors := !strings.HasPrefix(name, "warn_")
			if wantErrors {
				broken++
			}
			if diags.HasErrors() != wantErrors {
				t.Errorf("HasErrors() = %v, want %v:\n%s", diags.HasErrors(), wantErrors, diags)
			}
			if len(diags) == 0 {
				t.Errorf("no diagnostics")
			}
			checkGolden(t, strings.TrimSuffix(f, ".conf")+".golden", diags.String())
		})
	}
	if broken < 30 {
		t.Errorf("only %d broken configurations; keep at least 30", broken)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}
