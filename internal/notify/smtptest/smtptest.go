// Package smtptest starts a real SMTP server (aiosmtpd from Debian's python3-aiosmtpd)
// on a free loopback port for tests, delivering into a Maildir the test can read.
package smtptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// Python is Debian's interpreter, where python3-aiosmtpd installs the module (a python3
// earlier on PATH, e.g. from pyenv, would not have it).
const Python = "/usr/bin/python3"

// Server is a running aiosmtpd.
type Server struct {
	Addr    string // 127.0.0.1:port
	Maildir string
	cmd     *exec.Cmd
	t       testing.TB
}

// Start runs aiosmtpd for the rest of the test; the test is skipped (failed in CI) when
// it is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	_, err := os.Stat(Python)
	ok := err == nil && exec.Command(Python, "-c", "import aiosmtpd").Run() == nil
	testutil.Need(t, ok, "python3-aiosmtpd is not installed (scripts/test.sh installs it)")
	dir := filepath.Join(t.TempDir(), "Maildir")
	for attempt := 0; attempt < 5; attempt++ {
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))), Maildir: dir, t: t}
		t.Cleanup(s.Stop)
		if s.start() {
			return s
		}
		s.Stop()
	}
	t.Fatalf("aiosmtpd did not start listening")
	return nil
}

func (s *Server) start() bool {
	s.cmd = exec.Command(Python, "-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "aiosmtpd.handlers.Mailbox", s.Maildir)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("aiosmtpd: %v", err)
	}
	return WaitListening(s.Addr, 10*time.Second)
}

// Restart starts the server again on the same address after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	if !s.start() {
		s.t.Fatalf("aiosmtpd did not listen again on %s", s.Addr)
	}
}

// Stop kills the server (it is also stopped at the end of the test).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

// Pause freezes the server (SIGSTOP): the kernel still accepts connections for it, but
// it sends no banner — a hung SMTP server. Resume lets it run again.
func (s *Server) Pause() {
	s.t.Helper()
	if err := SetStopped(s.cmd.Process.Pid, true); err != nil {
		s.t.Fatal(err)
	}
}

// Resume lets a paused server run again.
func (s *Server) Resume() {
	s.t.Helper()
	if err := SetStopped(s.cmd.Process.Pid, false); err != nil {
		s.t.Fatal(err)
	}
}

// SetStopped sends the process group led by pid SIGSTOP (stopped) or SIGCONT, and
// returns once the kernel shows pid in that state (polling /proc every 5 ms, at most
// 2 s): a signal is delivered asynchronously, and a test timing a hung server must not
// start its clock before the server has stopped.
func SetStopped(pid int, stopped bool) error {
	sig := syscall.SIGCONT
	if stopped {
		sig = syscall.SIGSTOP
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pid, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// The state follows the command name, which is in parentheses.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if f := strings.Fields(rest); len(f) > 0 && (f[0] == "T") == stopped {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("process %d not %s 2 s after %v", pid, map[bool]string{true: "stopped", false: "running"}[stopped], sig)
}

// Messages returns every delivered message, raw.
func (s *Server) Messages() []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(s.Maildir, sub, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// WaitFor polls (every 20 ms, at most d) until a message contains substr.
func (s *Server) WaitFor(substr string, d time.Duration) (string, bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range s.Messages() {
			if strings.Contains(m, substr) {
				return m, true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", false
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening polls (every 20 ms, at most d) until addr accepts TCP connections.
func WaitListening(addr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
