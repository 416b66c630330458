package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/nsrun"
	"github.com/vishvananda/netns"
)

// LAN is a test network: a bridge in a namespace of its own, and hosts (namespaces)
// joined to it by veth pairs. Everything lives in namespaces named after the test, and
// t.Cleanup kills what the test started in them and removes them; nothing touches the
// root namespace.
type LAN struct {
	t      testing.TB
	prefix string
	bridge string // namespace holding the bridge br0
	mu     sync.Mutex
	hosts  []*Host
}

// Host is a network namespace with one interface, eth0, on the LAN's bridge.
type Host struct {
	lan   *LAN
	Name  string // namespace name
	Iface string // "eth0"
	port  string // its veth end in the bridge namespace
	NS    netns.NsHandle
	procs []startedProc
}

type startedProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var lanSeq atomic.Uint32

// NewLAN creates the bridge namespace. It needs root and ip(8); the test is marked as
// an integration test by the caller.
func NewLAN(t testing.TB) *LAN {
	t.Helper()
	NeedRoot(t)
	NeedCommand(t, "ip")
	// Namespace names: short, unique per process and test, recognisable in `ip netns`.
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, t.Name())
	if len(name) > 24 {
		name = name[:24]
	}
	l := &LAN{t: t, prefix: fmt.Sprintf("gt%d-%d-%s-", os.Getpid(), lanSeq.Add(1), name)}
	l.bridge = l.prefix + "br"
	t.Cleanup(l.remove)
	l.ip("netns", "add", l.bridge)
	l.ip("-n", l.bridge, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	l.ip("-n", l.bridge, "link", "set", "br0", "up")
	return l
}

func (l *LAN) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// AddHost creates namespace <prefix><name> with eth0 on the bridge, up, with the given
// addresses (CIDR notation, IPv4 or IPv6). IPv6 duplicate address detection is off in
// it so addresses work at once.
func (l *LAN) AddHost(name string, addrs ...string) *Host {
	l.t.Helper()
	l.mu.Lock()
	idx := len(l.hosts)
	l.mu.Unlock()
	h := &Host{lan: l, Name: l.prefix + name, Iface: "eth0", port: fmt.Sprintf("p%d", idx)}
	l.ip("netns", "add", h.Name)
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	for _, kv := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"} {
		if _, err := h.Exec("sysctl", "-qw", kv); err != nil {
			l.t.Fatalf("%s: sysctl %s: %v", h.Name, kv, err)
		}
	}
	l.ip("-n", l.bridge, "link", "add", h.port, "type", "veth", "peer", "name", h.Iface, "netns", h.Name)
	l.ip("-n", l.bridge, "link", "set", h.port, "master", "br0", "up")
	l.ip("-n", h.Name, "link", "set", "lo", "up")
	for _, a := range addrs {
		l.ip("-n", h.Name, "addr", "add", a, "dev", h.Iface)
	}
	l.ip("-n", h.Name, "link", "set", h.Iface, "up")
	ns, err := netns.GetFromName(h.Name)
	if err != nil {
		l.t.Fatalf("opening namespace %s: %v", h.Name, err)
	}
	h.NS = ns
	return h
}

// LAN is the LAN the host is on, to add more hosts to it.
func (h *Host) LAN() *LAN { return h.lan }

// SetBridgePort sets the host's port on the bridge up or down: the host's eth0 keeps
// its configuration but loses (or regains) carrier, like a pulled cable.
func (h *Host) SetBridgePort(up bool) {
	h.lan.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	h.lan.ip("-n", h.lan.bridge, "link", "set", h.port, state)
}

// Exec runs a command inside the host's namespace and returns its combined output.
func (h *Host) Exec(name string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start starts a long-running command inside the host's namespace (ip netns exec execs
// it, so the returned Cmd's PID is the command's) with its output in the returned
// buffer. t.Cleanup kills it with SIGKILL if it is still running.
func (h *Host) Start(name string, args ...string) (*exec.Cmd, *SyncBuffer) {
	h.lan.t.Helper()
	var buf SyncBuffer
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		h.lan.t.Fatalf("starting %s in %s: %v", name, h.Name, err)
	}
	p := startedProc{cmd: cmd, done: make(chan struct{})}
	h.lan.mu.Lock()
	h.procs = append(h.procs, p)
	h.lan.mu.Unlock()
	go func() { _ = cmd.Wait(); close(p.done) }()
	return cmd, &buf
}

// WaitExit waits up to timeout for a command Start returned to exit, and says whether
// it did. Start's own goroutine waits for the process: a second Wait would block on
// the output copies the first one consumes.
func (h *Host) WaitExit(cmd *exec.Cmd, timeout time.Duration) bool {
	h.lan.mu.Lock()
	var done chan struct{}
	for _, p := range h.procs {
		if p.cmd == cmd {
			done = p.done
		}
	}
	h.lan.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Do runs f on an OS thread inside the host's namespace.
func (h *Host) Do(f func() error) error { return nsrun.Do(h.NS, f) }

// Eventually polls cond every 20 ms until it holds or timeout passes.
func Eventually(timeout time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// remove kills what the hosts' Start started, then deletes the namespaces.
func (l *LAN) remove() {
	l.mu.Lock()
	hosts := l.hosts
	l.mu.Unlock()
	for _, h := range hosts {
		for _, p := range h.procs {
			select {
			case <-p.done:
			default:
				_ = p.cmd.Process.Signal(syscall.SIGKILL)
				select {
				case <-p.done:
				case <-time.After(5 * time.Second):
					l.t.Logf("pid %d in %s did not die within 5 s of SIGKILL", p.cmd.Process.Pid, h.Name)
				}
			}
		}
	}
	for _, h := range hosts {
		if h.NS.IsOpen() {
			h.NS.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", h.Name).CombinedOutput(); err != nil {
			l.t.Logf("removing namespace %s: %v %s", h.Name, err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", l.bridge).CombinedOutput(); err != nil {
		l.t.Logf("removing namespace %s: %v %s", l.bridge, err, out)
	}
}

// SyncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
