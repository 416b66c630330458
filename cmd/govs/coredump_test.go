package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCoreDumps: -m lifts the core size limit; -M also sets core_pattern (here a file
// standing for it) until the returned function puts the old one back; neither flag
// changes nothing, and a core_pattern that cannot be written is reported, not fatal.
func TestCoreDumps(t *testing.T) {
	var saved unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &saved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A later panic in this test binary must not leave a core in the source tree.
		_ = unix.Setrlimit(unix.RLIMIT_CORE, &saved)
		debug.SetTraceback("single")
	})
	orig := corePatternFile
	t.Cleanup(func() { corePatternFile = orig })

	for _, tc := range []struct {
		name        string
		args        []string
		missingFile bool
		pattern     string // core_pattern while running
		unlimited   bool
		warned      string
	}{
		{name: "no flag", pattern: "|/usr/lib/systemd/systemd-coredump %P"},
		{name: "-m", args: []string{"-m"}, pattern: "|/usr/lib/systemd/systemd-coredump %P", unlimited: true},
		{name: "-M", args: []string{"-M"}, pattern: "core", unlimited: true},
		{name: "--core-dump-pattern", args: []string{"--core-dump-pattern=/var/crash/core.%e.%p"}, pattern: "/var/crash/core.%e.%p", unlimited: true},
		{name: "unwritable", args: []string{"-M"}, missingFile: true, unlimited: true, warned: "-M: cannot set core_pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No core to start with, whatever this host allows, so that a flag that did
			// nothing would show.
			if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: saved.Max}); err != nil {
				t.Fatal(err)
			}
			corePatternFile = filepath.Join(t.TempDir(), "core_pattern")
			const before = "|/usr/lib/systemd/systemd-coredump %P"
			if !tc.missingFile {
				if err := os.WriteFile(corePatternFile, []byte(before+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var f runFlags
			fs := flag.NewFlagSet("govs run", flag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			var warnings []string
			restore := f.core.enable(func(msg string, _ ...any) { warnings = append(warnings, msg) })
			if got := strings.Join(warnings, "; "); got != tc.warned {
				t.Errorf("warnings %q, want %q", got, tc.warned)
			}
			var lim unix.Rlimit
			if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
				t.Fatal(err)
			}
			want := uint64(0)
			if tc.unlimited {
				want = unix.RLIM_INFINITY
			}
			if lim.Cur != want {
				t.Errorf("core size limit %d, want %d", lim.Cur, want)
			}
			if tc.missingFile {
				restore()
				return
			}
			if b, _ := os.ReadFile(corePatternFile); strings.TrimSuffix(string(b), "\n") != tc.pattern {
				t.Errorf("core_pattern while running %q, want %q", b, tc.pattern)
			}
			restore()
			if b, _ := os.ReadFile(corePatternFile); strings.TrimSuffix(string(b), "\n") != before {
				t.Errorf("core_pattern after stop %q, want %q back", b, before)
			}
		})
	}
}
