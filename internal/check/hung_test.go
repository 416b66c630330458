package check

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/notify/smtptest"
	"github.com/govs/govs/internal/testutil"
)

// hungNginx serves HTTP and HTTPS, each also slowly (/slow answers after 150 ms), and
// a plain TCP port with a listen queue of one for TCP_CHECK.
const hungNginx = `
server {
  listen 127.0.0.1:{{.Port}};
  location = /ok   { return 200 "hello\n"; }
  location = /slow { echo_sleep 0.15; echo "slow"; }
}
server {
  listen 127.0.0.1:{{.TLS}} ssl;
  ssl_certificate     {{.Cert}};
  ssl_certificate_key {{.Key}};
  location = /ok   { return 200 "hello\n"; }
  location = /slow { echo_sleep 0.15; echo "slow"; }
}
`

// hungTiming: a probe of a hung server lasts its whole connect_timeout.
func hungTiming() Timing {
	t := fastTiming()
	t.ConnectTimeout = Dur(300 * time.Millisecond)
	return t
}

// fillListenQueue makes SYNs to addr go unanswered while its server is paused: it
// connects (and keeps the connections) until the kernel stops completing handshakes,
// which it does once the listen queue is full. The connections close at the end of
// the test.
func fillListenQueue(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	for i := 0; i < 64; i++ {
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			t.Fatalf("filling the listen queue of %v: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("the listen queue of %v never filled", addr)
}

// TestHungServerDetection: a server that stops answering without closing its port —
// its process frozen, so the kernel still accepts connections (or, once its listen
// queue is full, drops SYNs) but nothing answers — is detected by every connection
// checker within keepalived's bound, delay_loop + connect_timeout × (retry+1) +
// delay_before_retry × retry (+10 %), and the server comes back within the same bound
// once it answers again. MISC_CHECK's hung script is killed at misc_timeout, which
// takes connect_timeout's part in the bound.
func TestHungServerDetection(t *testing.T) {
	testutil.Integration(t)
	tests := []struct {
		name  string
		setup func(t *testing.T) (spec Spec, addr netip.AddrPort, hang, answer func())
	}{
		{"TCP_CHECK, SYN unanswered", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			ng := checktest.StartNginx(t, "server {\n  listen 127.0.0.1:{{.Port}} backlog=1;\n  return 200;\n}\n")
			addr := loop(ng.Port)
			return Spec{Type: "TCP_CHECK"}, addr, func() { ng.Pause(); fillListenQueue(t, addr) }, ng.Resume
		}},
		{"HTTP_GET, connection accepted, no response", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			ng := checktest.StartNginx(t, hungNginx)
			spec := Spec{Type: "HTTP_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n")}}}}
			return spec, loop(ng.Port), ng.Pause, ng.Resume
		}},
		{"SSL_GET, no TLS handshake", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			ng := checktest.StartNginx(t, hungNginx)
			return Spec{Type: "SSL_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/ok"}}}}, loop(ng.TLS), ng.Pause, ng.Resume
		}},
		{"SMTP_CHECK, no banner", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			srv := smtptest.Start(t)
			return Spec{Type: "SMTP_CHECK"}, netip.MustParseAddrPort(srv.Addr), srv.Pause, srv.Resume
		}},
		{"DNS_CHECK, no answer", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			port := checktest.FreeUDPPort(t)
			dns := checktest.Dnsmasq(t, port, "--address=/check.test/127.0.0.9")
			spec := Spec{Type: "DNS_CHECK", Options: &DNSOptions{Type: "A", Name: "check.test"},
				Timing: Timing{Retry: Int(1), DelayBeforeRetry: Dur(100 * time.Millisecond)}}
			return spec, loop(port), dns.Pause, dns.Resume
		}},
		{"UDP_CHECK require_reply, no reply", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			port := checktest.FreeUDPPort(t)
			echo := checktest.UDPEcho(t, port)
			spec := Spec{Type: "UDP_CHECK", Options: &UDPOptions{Payload: []byte("ping"), RequireReply: true}}
			return spec, loop(port), echo.Pause, echo.Resume
		}},
		{"MISC_CHECK, script hangs", func(t *testing.T) (Spec, netip.AddrPort, func(), func()) {
			dir := t.TempDir()
			flag, pidFile := filepath.Join(dir, "hang"), filepath.Join(dir, "pid")
			sh := filepath.Join(dir, "check.sh")
			body := fmt.Sprintf("#!/bin/sh\n[ -f %s ] || exit 0\necho $$ > %s\nexec sleep 30\n", flag, pidFile)
			if err := os.WriteFile(sh, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			// misc_timeout bounds each probe; connect_timeout is set to it only so that
			// the bound's formula reads the same for every checker.
			spec := Spec{Type: "MISC_CHECK", Options: &MiscOptions{Argv: []string{sh}, Timeout: 300 * time.Millisecond},
				Timing: Timing{ConnectTimeout: Dur(300 * time.Millisecond)}}
			hang := func() {
				if err := os.WriteFile(flag, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			answer := func() {
				if err := os.Remove(flag); err != nil {
					t.Fatal(err)
				}
				// The hung script was killed, not left behind.
				b, err := os.ReadFile(pidFile)
				pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || perr != nil {
					t.Fatalf("hung script's pid: %v %v", err, perr)
				}
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("hung script %d still exists after misc_timeout (kill 0: %v)", pid, err)
				}
			}
			return spec, loop(0), hang, answer
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, addr, hang, answer := tt.setup(t)
			measureDetectionTiming(t, spec, addr, hungTiming(), hang, answer)
		})
	}
}

// TestNoFlapOnSlowServers: servers that answer slowly (150 ms) but within
// connect_timeout (500 ms) never go down, for every checker that can be slowed on
// loopback (TCP_CHECK cannot: the kernel completes the handshake). HTTP_GET is
// TestNoFlapOnSlowServer's.
func TestNoFlapOnSlowServers(t *testing.T) {
	testutil.Integration(t)
	leakCheck(t)
	const delay = 150 * time.Millisecond
	tests := []struct {
		name  string
		setup func(t *testing.T) (Spec, netip.AddrPort)
	}{
		{"SSL_GET", func(t *testing.T) (Spec, netip.AddrPort) {
			ng := checktest.StartNginx(t, hungNginx)
			return Spec{Type: "SSL_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/slow", Regex: "slow"}}}}, loop(ng.TLS)
		}},
		{"SMTP_CHECK", func(t *testing.T) (Spec, netip.AddrPort) {
			srv := smtptest.Start(t)
			port := checktest.FreePort(t)
			checktest.SlowRelay(t, "tcp", port, srv.Addr, delay)
			return Spec{Type: "SMTP_CHECK"}, loop(port)
		}},
		{"DNS_CHECK", func(t *testing.T) (Spec, netip.AddrPort) {
			dnsPort, port := checktest.FreeUDPPort(t), checktest.FreeUDPPort(t)
			checktest.Dnsmasq(t, dnsPort, "--address=/check.test/127.0.0.9")
			checktest.SlowRelay(t, "udp", port, loop(dnsPort).String(), delay)
			return Spec{Type: "DNS_CHECK", Options: &DNSOptions{Type: "A", Name: "check.test"}}, loop(port)
		}},
		{"UDP_CHECK", func(t *testing.T) (Spec, netip.AddrPort) {
			echoPort, port := checktest.FreeUDPPort(t), checktest.FreeUDPPort(t)
			checktest.UDPEcho(t, echoPort)
			checktest.SlowRelay(t, "udp", port, loop(echoPort).String(), delay)
			return Spec{Type: "UDP_CHECK", Options: &UDPOptions{Payload: []byte("ping"), RequireReply: true}}, loop(port)
		}},
		{"MISC_CHECK", func(t *testing.T) (Spec, netip.AddrPort) {
			sh := filepath.Join(t.TempDir(), "slow.sh")
			if err := os.WriteFile(sh, []byte("#!/bin/sh\nsleep 0.15\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			return Spec{Type: "MISC_CHECK", Options: &MiscOptions{Argv: []string{sh}, Timeout: 500 * time.Millisecond}}, loop(0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, addr := tt.setup(t)
			timing := fastTiming()
			timing.ConnectTimeout = Dur(500 * time.Millisecond)
			rs := RealServer{VS: testVS, Addr: addr, Weight: 1, Timing: timing, Checkers: []Spec{spec}}
			m, stop := runManager(t, Options{}, []RealServer{rs})
			defer stop()
			select {
			case ev := <-m.Events():
				t.Fatalf("flapped: %+v", ev)
			case <-time.After(3 * time.Second):
			}
			st := m.Status()[0]
			if !st.Up || st.Checkers[0].Checks < 4 || st.Checkers[0].LastLatency < delay {
				t.Fatalf("status %+v, want up after 4 or more probes of %v or more", st, delay)
			}
			t.Logf("%d probes, last took %v", st.Checkers[0].Checks, st.Checkers[0].LastLatency.Round(time.Millisecond))
		})
	}
}
