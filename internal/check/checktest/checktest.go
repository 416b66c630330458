// Package checktest starts the real servers the checker tests probe — nginx (HTTP and
// HTTPS with a self-signed certificate), dnsmasq, a socat UDP echo — on loopback, and
// network namespaces for ICMP, all removed when the test ends.
package checktest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/govs/govs/internal/notify/smtptest"
	"github.com/govs/govs/internal/testutil"
)

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int { return smtptest.FreePort(t) }

// FreeUDPPort is a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Process is a server the test started, in its own process group.
type Process struct {
	Name string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	t    testing.TB
}

// Start runs argv in the background until Stop or the end of the test.
func Start(t testing.TB, argv ...string) *Process {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", argv[0], err)
	}
	p := &Process{Name: argv[0], cmd: cmd, out: out, t: t}
	t.Cleanup(p.Stop)
	return p
}

// Stop kills the process group and reaps it; calling it again does nothing.
func (p *Process) Stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// Pause freezes the process group (SIGSTOP): the kernel still completes TCP handshakes
// into its listen queues and queues datagrams, but nothing answers — a hung server.
// It returns once the process is stopped.
func (p *Process) Pause() {
	p.t.Helper()
	if err := smtptest.SetStopped(p.cmd.Process.Pid, true); err != nil {
		p.t.Fatal(err)
	}
}

// Resume lets a paused process group run again (SIGCONT).
func (p *Process) Resume() {
	p.t.Helper()
	if err := smtptest.SetStopped(p.cmd.Process.Pid, false); err != nil {
		p.t.Fatal(err)
	}
}

// CPUTime is the user and system CPU the process has used so far (from /proc), for
// measurements that must tell a server's CPU from its client's.
func (p *Process) CPUTime() (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces:
	// state is the 3rd field of stat, utime and stime the 14th and 15th.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", p.cmd.Process.Pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", p.cmd.Process.Pid, f[11], f[12])
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ut) * tick, time.Duration(st) * tick, nil
}

// Output is what the process printed so far (racy; for failure messages only after Stop).
func (p *Process) Output() string { return p.out.String() }

// WaitTCP polls (20 ms, at most d) until addr accepts connections.
func WaitTCP(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	if !smtptest.WaitListening(addr, d) {
		t.Fatalf("%s not listening after %v", addr, d)
	}
}

// Nginx is a running nginx with a generated configuration.
type Nginx struct {
	Dir  string
	Port int // HTTP on 127.0.0.1
	TLS  int // HTTPS on 127.0.0.1
	Cert string
	conf string
	proc *Process
	t    testing.TB
}

// NginxServers is the part of the configuration inside http{}; it is a text/template
// that can use .Port, .TLS, .Cert, .Key and .Dir.
func StartNginx(t testing.TB, servers string) *Nginx {
	t.Helper()
	testutil.NeedCommand(t, "nginx")
	dir := t.TempDir()
	n := &Nginx{Dir: dir, t: t, Port: FreePort(t), TLS: FreePort(t)}
	n.Cert = filepath.Join(dir, "cert.pem")
	key := filepath.Join(dir, "key.pem")
	SelfSigned(t, n.Cert, key, "rs.test")
	var body bytes.Buffer
	tmpl := template.Must(template.New("servers").Parse(servers))
	if err := tmpl.Execute(&body, map[string]any{"Port": n.Port, "TLS": n.TLS, "Cert": n.Cert, "Key": key, "Dir": dir}); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  default_type text/plain;
%[2]s
}
`, dir, body.String())
	n.conf = filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Start()
	return n
}

// Start (re)starts nginx after Stop and waits until it listens.
func (n *Nginx) Start() {
	n.t.Helper()
	n.proc = Start(n.t, "nginx", "-p", n.Dir, "-c", n.conf)
	WaitTCP(n.t, net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)), 10*time.Second)
}

// Stop kills nginx.
func (n *Nginx) Stop() { n.proc.Stop() }

// CPUTime is nginx's CPU so far (see Process.CPUTime).
func (n *Nginx) CPUTime() (user, sys time.Duration, err error) { return n.proc.CPUTime() }

// Pause freezes nginx (see Process.Pause); Resume lets it run again.
func (n *Nginx) Pause()  { n.proc.Pause() }
func (n *Nginx) Resume() { n.proc.Resume() }

// SlowRelay starts socat relaying network ("tcp" or "udp") connections or datagrams on
// 127.0.0.1:port to target, each delayed by delay before it reaches the target: a real
// server that answers slowly.
func SlowRelay(t testing.TB, network string, port int, target string, delay time.Duration) *Process {
	t.Helper()
	testutil.NeedCommand(t, "socat")
	// socat's address syntax needs the colons of the inner address escaped; -T ends
	// each relay once idle.
	inner := func(kind string) string {
		return fmt.Sprintf("SYSTEM:sleep %.3f; exec socat -T 2 - %s\\:%s", delay.Seconds(), kind, strings.ReplaceAll(target, ":", "\\:"))
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	switch network {
	case "tcp":
		p := Start(t, "socat", fmt.Sprintf("TCP4-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port), inner("TCP4"))
		WaitTCP(t, listen, 10*time.Second)
		return p
	case "udp":
		p := Start(t, "socat", fmt.Sprintf("UDP4-RECVFROM:%d,bind=127.0.0.1,reuseaddr,fork", port), inner("UDP4"))
		// Ready once the kernel lists the port as bound.
		bound := fmt.Sprintf(" 0100007F:%04X ", port)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile("/proc/net/udp"); err == nil && strings.Contains(string(b), bound) {
				return p
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("socat relay did not bind %s", listen)
	default:
		t.Fatalf("SlowRelay: network %q", network)
	}
	return nil
}

// SelfSigned writes a self-signed certificate for cn (also as a DNS SAN) and its key.
func SelfSigned(t testing.TB, certFile, keyFile, cn string) {
	t.Helper()
	testutil.NeedCommand(t, "openssl")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "2", "-subj", "/CN="+cn, "-addext", "subjectAltName=DNS:"+cn,
		"-keyout", keyFile, "-out", certFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
}

// Dnsmasq starts dnsmasq on 127.0.0.1:port answering only from its arguments (no
// upstream, no hosts file), e.g. "--address=/check.test/127.0.0.9".
func Dnsmasq(t testing.TB, port int, records ...string) *Process {
	t.Helper()
	testutil.NeedCommand(t, "dnsmasq")
	args := []string{"dnsmasq", "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--no-poll", "--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + strconv.Itoa(port),
		"--pid-file=", "--user=root", "--log-facility=-"}
	p := Start(t, append(args, records...)...)
	WaitTCP(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	return p
}

// UDPEcho starts socat echoing every datagram back, on 127.0.0.1:port.
func UDPEcho(t testing.TB, port int) *Process {
	t.Helper()
	testutil.NeedCommand(t, "socat")
	p := Start(t, "socat", fmt.Sprintf("UDP4-RECVFROM:%d,bind=127.0.0.1,reuseaddr,fork", port), "EXEC:cat")
	// socat prints nothing when ready; wait until an echo comes back.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write([]byte("ping"))
			buf := make([]byte, 8)
			n, err := c.Read(buf)
			c.Close()
			if err == nil && string(buf[:n]) == "ping" {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("socat UDP echo on port %d did not answer", port)
	return nil
}

// Netns is a network namespace the test created.
type Netns struct{ Name string }

// NewNetns creates a namespace named after a per-test random prefix; it is removed at
// the end of the test.
func NewNetns(t testing.TB, suffix string) Netns {
	t.Helper()
	testutil.NeedRoot(t)
	testutil.NeedCommand(t, "ip")
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "govschk-" + hex.EncodeToString(b[:]) + "-" + suffix
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return Netns{Name: name}
}

// Run runs a command and fails the test on error.
func Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}
