package nsrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where `ip netns add` names network namespaces.
const Dir = "/run/netns"

// Current returns the name in Dir of the network namespace this process is in, or ""
// when it has none there (the host's namespace, or an unnamed one).
func Current() string {
	var self unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil {
		return ""
	}
	entries, err := os.ReadDir(Dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(Dir, e.Name()), &st) == nil && st.Dev == self.Dev && st.Ino == self.Ino {
			return e.Name()
		}
	}
	return ""
}

// validName reports whether name can name a namespace in Dir.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && filepath.Base(name) == name
}

// ExecIn replaces the process with exe run with argv and env in the named network
// namespace. A process starts in the namespace of the thread that execs, so the
// calling thread enters it first and stays locked to the caller, which exits when
// ExecIn fails.
func ExecIn(name, exe string, argv, env []string) error {
	if !validName(name) {
		return fmt.Errorf("%q is not a namespace name", name)
	}
	runtime.LockOSThread()
	ns, err := netns.GetFromPath(filepath.Join(Dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("network namespace %s does not exist (ip netns add %s)", name, name)
		}
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("entering network namespace %s: %w", name, err)
	}
	return unix.Exec(exe, argv, env)
}
