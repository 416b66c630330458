// Package script runs the external programs keepalived's configuration names —
// MISC_CHECK, notify_up/notify_down, quorum_up/quorum_down, vrrp_script, VRRP notify —
// the way keepalived does: without a shell unless asked, as a configured user and group,
// with a timeout after which the whole process group gets SIGTERM and, 2 s later, SIGKILL.
// What the program prints goes to the log.
package script

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// KillGrace is how long a script has between SIGTERM at its timeout and SIGKILL, as in
// keepalived.
const KillGrace = 2 * time.Second

// MaxOutput bounds how much of a script's output is kept and logged; the rest is
// discarded (and counted) so a chatty script cannot grow the daemon's memory.
const MaxOutput = 64 << 10

// DefaultPath is the PATH scripts see unless Spec.Env sets one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec says what to run and how.
type Spec struct {
	// Argv is the program and its arguments. Without Shell, Argv[0] is executed directly
	// (looked up in PATH when it has no slash). With Shell, Argv[0] is a shell command line
	// run by /bin/sh -c, and Argv[1:] become its positional parameters $1, $2, ….
	Argv  []string
	Shell bool
	// User and Group to run as (names or numeric ids); empty User keeps the daemon's user,
	// empty Group means User's primary group.
	User, Group string
	// Timeout after which the script's process group gets SIGTERM, then SIGKILL after
	// KillGrace. Zero means no timeout (only ctx stops it).
	Timeout time.Duration
	// Env entries (KEY=value) added to the minimal environment (PATH=DefaultPath).
	Env []string
}

// String renders the spec for logs.
func (s Spec) String() string {
	if s.Shell && len(s.Argv) > 0 {
		return "sh -c " + strconv.Quote(s.Argv[0])
	}
	return strings.Join(s.Argv, " ")
}

// Result is what happened to one run.
type Result struct {
	// ExitCode is the program's exit status, or -1 when it did not exit normally (killed
	// by a signal, timed out, never started).
	ExitCode int
	// Output is the combined stdout and stderr, at most MaxOutput bytes.
	Output []byte
	// TimedOut is set when the run was stopped because Timeout expired.
	TimedOut bool
	// Err explains a run that did not exit normally: a start failure, a signal, a timeout,
	// or ctx ending. Nil for any normal exit, whatever its status.
	Err error
}

// OK reports whether the script exited with status 0.
func (r Result) OK() bool { return r.Err == nil && r.ExitCode == 0 }

// ErrTimeout is wrapped in Result.Err when a script ran past its Timeout.
var ErrTimeout = errors.New("script timed out")

// Run executes spec and waits for it (or its timeout, or ctx). It never panics on bad
// input: an empty Argv, an unknown user or a missing program come back in Result.Err.
// logger may be nil.
func Run(ctx context.Context, spec Spec, logger *slog.Logger) Result {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	res := run(ctx, spec)
	logResult(logger, spec, res)
	return res
}

func run(ctx context.Context, spec Spec) Result {
	fail := func(err error) Result { return Result{ExitCode: -1, Err: err} }
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return fail(errors.New("script: empty command"))
	}
	name, args := spec.Argv[0], spec.Argv[1:]
	if spec.Shell {
		// "sh -c CMD sh ARGS…": the extra "sh" fills $0 so ARGS start at $1.
		name, args = "/bin/sh", append([]string{"-c", spec.Argv[0], "sh"}, args...)
	}
	cred, err := credential(spec.User, spec.Group)
	if err != nil {
		return fail(err)
	}
	env := []string{"PATH=" + DefaultPath}
	env = append(env, spec.Env...)
	path, err := lookPath(name, env)
	if err != nil {
		return fail(fmt.Errorf("script %q: %w", name, err))
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut bool
	if spec.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = context.WithTimeout(runCtx, spec.Timeout)
		defer cancelTimeout()
	}

	var out capped
	cmd := exec.CommandContext(runCtx, path, args...)
	cmd.Args[0] = name
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so a timeout reaches the children a script started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error {
		timedOut = errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	// After KillGrace, exec kills the leader and stops waiting for the output pipes.
	cmd.WaitDelay = KillGrace

	err = cmd.Run()
	if cmd.Process != nil && runCtx.Err() != nil {
		// Whatever of the group survived SIGTERM (a grandchild holding the pipe) goes now.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res := Result{ExitCode: -1, Output: out.bytes(), TimedOut: timedOut}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case timedOut:
		res.ExitCode = -1
		res.Err = fmt.Errorf("%w after %v", ErrTimeout, spec.Timeout)
	case ctx.Err() != nil && cmd.ProcessState != nil && !cmd.ProcessState.Exited():
		res.Err = fmt.Errorf("script stopped: %w", ctx.Err())
	case res.ExitCode >= 0:
		res.Err = nil // a normal exit, whatever its status, is not an error
	case err != nil:
		res.Err = err
	default:
		res.Err = errors.New("script did not exit normally")
	}
	return res
}

// lookPath resolves a program name against the PATH in env (not the daemon's own).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathList := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	for _, dir := range strings.Split(pathList, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in PATH %s", pathList)
}

// credential turns user/group names or ids into the credential to exec with; nil keeps
// the daemon's own.
func credential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return nil, err
		}
		uid, gid = u.uid, u.gid
	}
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return nil, err
		}
		gid = g
	}
	if uid == uint32(os.Getuid()) && gid == uint32(os.Getgid()) {
		return nil, nil
	}
	// Groups empty: supplementary groups are cleared, as keepalived does.
	return &syscall.Credential{Uid: uid, Gid: gid}, nil
}

type ids struct{ uid, gid uint32 }

func lookupUser(name string) (ids, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, perr := strconv.ParseUint(name, 10, 32); perr != nil {
			return ids{}, fmt.Errorf("script user %q: %w", name, err)
		}
		if u, err = user.LookupId(name); err != nil {
			return ids{}, fmt.Errorf("script user %q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return ids{}, fmt.Errorf("script user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return ids{}, fmt.Errorf("script user %q: gid %q: %w", name, u.Gid, err)
	}
	return ids{uint32(uid), uint32(gid)}, nil
}

func lookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if n, perr := strconv.ParseUint(name, 10, 32); perr == nil {
			return uint32(n), nil
		}
		return 0, fmt.Errorf("script group %q: %w", name, err)
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("script group %q: gid %q: %w", name, g.Gid, err)
	}
	return uint32(gid), nil
}

func logResult(logger *slog.Logger, spec Spec, res Result) {
	cmd := spec.String()
	sc := bufio.NewScanner(bytes.NewReader(res.Output))
	sc.Buffer(make([]byte, 0, 4096), MaxOutput+1)
	for sc.Scan() {
		logger.Info("script output", "script", cmd, "line", sc.Text())
	}
	switch {
	case res.Err != nil:
		logger.Warn("script failed", "script", cmd, "err", res.Err)
	case res.ExitCode != 0:
		logger.Debug("script exited", "script", cmd, "status", res.ExitCode)
	}
}

// capped is an io.Writer keeping the first MaxOutput bytes; exec writes to it from two
// goroutines (stdout and stderr), hence the lock.
type capped struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := MaxOutput - len(c.buf)
	if room > len(p) {
		room = len(p)
	}
	c.buf = append(c.buf, p[:room]...)
	c.dropped += len(p) - room
	return len(p), nil
}

func (c *capped) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped > 0 {
		return append(c.buf[:len(c.buf):len(c.buf)], fmt.Sprintf("\n[%d bytes of output dropped]", c.dropped)...)
	}
	return c.buf
}

// Owner resolves user/group names or ids as scripts run with them: nil means the
// daemon's own.
func Owner(userName, groupName string) (*syscall.Credential, error) {
	return credential(userName, groupName)
}
