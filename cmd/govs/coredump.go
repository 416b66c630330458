package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// corePatternFile is the kernel's core_pattern; a variable so that a test can point
// it elsewhere rather than change the host's.
var corePatternFile = "/proc/sys/kernel/core_pattern"

// coreDumps are keepalived's -m (--core-dump) and -M[PATTERN]
// (--core-dump-pattern): a crash leaves a core file, and -M also sets the
// kernel's core_pattern (default "core") until govs stops.
type coreDumps struct {
	enabled bool
	pattern optionalPath
}

// enable makes a crash dump core: no limit on the core's size, and a Go fatal error
// or unrecovered panic aborts (SIGABRT) once it has printed every goroutine, as
// GOTRACEBACK=crash. With -M it sets core_pattern and returns what puts the old one
// back; keepalived too only logs a core_pattern it cannot set and goes on.
func (c *coreDumps) enable(warn func(msg string, args ...any)) (restore func()) {
	restore = func() {}
	if !c.enabled && !c.pattern.set {
		return restore
	}
	if c.pattern.set {
		if old, err := swapCorePattern(c.pattern.path); err != nil {
			warn("-M: cannot set core_pattern", "err", err)
		} else {
			restore = func() {
				if _, err := swapCorePattern(old); err != nil {
					warn("-M: cannot restore core_pattern", "err", err)
				}
			}
		}
	}
	unlimited := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unlimited); err != nil {
		warn("-m: cannot lift the core file size limit", "err", err)
	}
	debug.SetTraceback("crash")
	return restore
}

// swapCorePattern writes pattern to core_pattern and returns what it held.
func swapCorePattern(pattern string) (old string, err error) {
	b, err := os.ReadFile(corePatternFile)
	if err != nil {
		return "", err
	}
	if pattern == "" {
		return "", errors.New("empty pattern")
	}
	if err := os.WriteFile(corePatternFile, []byte(pattern), 0); err != nil {
		return "", fmt.Errorf("writing %q: %w", pattern, err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}
