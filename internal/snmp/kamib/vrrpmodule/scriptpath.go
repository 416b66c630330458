package vrrpmodule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// scriptPath is the program of a script as keepalived's check_script_secure rewrites
// it when it reads the configuration, and so as its MIB shows it: a bare name found in
// PATH, then the path with symbolic links resolved (/bin/true becomes /usr/bin/true
// where /bin links to usr/bin), keeping the name it was given when the resolved
// directory holds the same file under it (programs that look at their name). A
// redirection (<, >) and a program that cannot be found stay as written.
func scriptPath(p string) string {
	if p == "" || strings.HasPrefix(p, "<") || strings.HasPrefix(p, ">") {
		return p
	}
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			return p
		}
		p = found
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return p
	}
	if filepath.Base(real) == filepath.Base(p) {
		return real
	}
	named := filepath.Join(filepath.Dir(real), filepath.Base(p))
	a, errA := os.Stat(real)
	b, errB := os.Stat(named)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return named
	}
	return real
}
