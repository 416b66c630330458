package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pidFiles are keepalived's -p, -r, -c and -b files. govs is one process, so each
// names it: a script that signals keepalived through any of them (kill -HUP
// $(cat /run/keepalived.pid)) reaches govs.
type pidFiles []string

// claim refuses to start while a file names a live process, as keepalived's "daemon is
// already running"; a file naming no process is stale and replaced. It writes this
// process's pid to each file (mode 0644, as keepalived).
func (p pidFiles) claim() error {
	for _, path := range p {
		if pid, err := readPid(path); err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("%s: process %d is running: govs (or keepalived) is already running", path, pid)
		}
	}
	for i, path := range p {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
		if err == nil {
			// Readable by all whatever the umask, as keepalived makes it.
			err = f.Chmod(0o644)
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			err = errors.Join(err, werr, f.Close())
		}
		if err != nil {
			p[:i].release()
			return fmt.Errorf("pid file: %w", err)
		}
	}
	return nil
}

// release removes the files that still name this process.
func (p pidFiles) release() {
	for _, path := range p {
		if pid, err := readPid(path); err == nil && pid == os.Getpid() {
			os.Remove(path)
		}
	}
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
