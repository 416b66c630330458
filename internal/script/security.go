package script

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultScriptUser is the user keepalived runs scripts as when script_user is not set
// and this user exists; otherwise scripts run as the daemon's own user.
const DefaultScriptUser = "keepalived_script"

// Errors from Security.Apply; callers disable the script (as keepalived does) and log why.
var (
	// ErrInsecure: the script would run as root (or is setuid/setgid root) and it, or a
	// directory above it, can be written by someone other than root.
	ErrInsecure = errors.New("unsafe permissions")
	// ErrNotFound: the program does not exist, or is not in PATH.
	ErrNotFound = errors.New("script not found")
)

// Security is global_defs' script policy: script_user and enable_script_security.
type Security struct {
	// Enabled (enable_script_security) refuses root-run scripts whose path is writable by
	// anyone but root. Without it such scripts run, with a "SECURITY VIOLATION" warning.
	Enabled bool
	// DefaultUser (script_user) runs scripts that name no user. Empty: keepalived_script
	// if that user exists, else the daemon's own user (root, for a director).
	DefaultUser string
	// DefaultGroup is script_user's optional group; empty: DefaultUser's primary group.
	DefaultGroup string
}

// Apply gives spec its effective user and resolved program path, and checks it as
// keepalived's check_script_secure does. The returned Spec is what should be run.
// logger (may be nil) gets the warnings keepalived would print.
func (s Security) Apply(spec Spec, logger *slog.Logger) (Spec, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return spec, errors.New("script: empty command")
	}
	spec.Argv = append([]string(nil), spec.Argv...)
	if spec.User == "" {
		spec.User, spec.Group = s.DefaultUser, s.DefaultGroup
		if spec.User == "" {
			if _, err := user.Lookup(DefaultScriptUser); err == nil {
				spec.User = DefaultScriptUser
			}
		}
	}
	cred, err := credential(spec.User, spec.Group)
	if err != nil {
		return spec, err
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if cred != nil {
		uid, gid = cred.Uid, cred.Gid
	}

	program := "/bin/sh"
	if !spec.Shell {
		env := append([]string{"PATH=" + DefaultPath}, spec.Env...)
		program, err = lookPath(spec.Argv[0], env)
		if err != nil {
			return spec, fmt.Errorf("%w: %q %v", ErrNotFound, spec.Argv[0], err)
		}
		if !strings.HasPrefix(program, "/") {
			if abs, err := filepath.Abs(program); err == nil {
				program = abs
			}
		}
		spec.Argv[0] = program
	}
	var st syscall.Stat_t
	if err := syscall.Stat(program, &st); err != nil {
		return spec, fmt.Errorf("%w: %q: %v", ErrNotFound, program, err)
	}
	if !executableBy(&st, uid, gid) {
		logger.Warn("script is not executable for its user", "script", program, "uid", uid, "gid", gid)
		return spec, nil
	}
	needProtection := uid == 0 || gid == 0 ||
		(st.Uid == 0 && st.Mode&syscall.S_ISUID != 0 && st.Mode&0o100 != 0) ||
		(st.Gid == 0 && st.Mode&syscall.S_ISGID != 0 && st.Mode&0o010 != 0)
	if !needProtection {
		return spec, nil
	}
	if unsafe, err := unsafePrefix(program); err != nil {
		return spec, fmt.Errorf("%w: %q: %v", ErrNotFound, program, err)
	} else if unsafe != "" {
		if s.Enabled {
			return spec, fmt.Errorf("%w: %q (in the path of %q) is writable by a non-root user; script disabled", ErrInsecure, unsafe, program)
		}
		logger.Warn("SECURITY VIOLATION - script runs as root with unsafe permissions and enable_script_security is off",
			"script", program, "unsafe", unsafe)
	}
	return spec, nil
}

// executableBy reports whether uid:gid may execute a file with st's owner and mode,
// as keepalived's is_executable decides it (root needs any x bit).
func executableBy(st *syscall.Stat_t, uid, gid uint32) bool {
	mode := st.Mode
	switch {
	case uid == 0:
		return mode&0o111 != 0
	case uid == st.Uid:
		return mode&0o100 != 0
	case gid == st.Gid:
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// unsafePrefix walks "/", "/a", "/a/b", … up to program and returns the first that a
// non-root user could change: not owned by root, or group-writable by a non-root group
// or world-writable (a sticky directory is exempt from the write test, as /tmp is).
func unsafePrefix(program string) (string, error) {
	clean := filepath.Clean(program)
	prefixes := []string{"/"}
	for i := 1; i < len(clean); i++ {
		if clean[i] == '/' {
			prefixes = append(prefixes, clean[:i])
		}
	}
	if clean != "/" {
		prefixes = append(prefixes, clean)
	}
	for _, p := range prefixes {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return "", err
		}
		regular := st.Mode&syscall.S_IFMT == syscall.S_IFREG
		writable := (st.Gid != 0 && st.Mode&0o020 != 0) || st.Mode&0o002 != 0
		sticky := st.Mode&syscall.S_ISVTX != 0
		if st.Uid != 0 || ((!sticky || regular) && writable) {
			return p, nil
		}
	}
	return "", nil
}
