package check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/notify/smtptest"
	"github.com/govs/govs/internal/testutil"
)

const nginxServers = `
server {
  listen 127.0.0.1:{{.Port}};
  location = /ok       { return 200 "hello\n"; }
  location = /missing  { return 404; }
  location = /redirect { return 302 /ok; }
  location = /host     { return 200 "host=$host\n"; }
  location = /slow     { echo_sleep 0.15; echo "slow"; }
}
server {
  listen 127.0.0.1:{{.TLS}} ssl;
  ssl_certificate     {{.Cert}};
  ssl_certificate_key {{.Key}};
  location = /ok  { return 200 "hello\n"; }
  location = /sni { return 200 "sni=$ssl_server_name\n"; }
}
`

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkOnce builds a checker and probes addr once with a 2 s timeout.
func checkOnce(t *testing.T, spec Spec, addr netip.AddrPort) Result {
	t.Helper()
	c, err := New(spec, Env{})
	if err != nil {
		t.Fatalf("New(%s): %v", spec.Type, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Check(ctx, Target{Addr: addr, Timeout: 2 * time.Second, DelayLoop: time.Second, Weight: 1})
}

func loop(port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
}

func TestHTTPAndSSLAgainstNginx(t *testing.T) {
	testutil.Integration(t)
	leakCheck(t)
	ng := checktest.StartNginx(t, nginxServers)
	codes := func(s ...string) []StatusRange {
		r, err := ParseStatusCodes(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name    string
		typ     string
		opts    HTTPOptions
		wantErr string // empty: up
	}{
		{"status 200", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok"}}}, ""},
		{"digest matches", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n")}}}, ""},
		{"digest mismatch", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("other")}}}, "digest " + md5hex("hello\n") + ", want " + md5hex("other")},
		{"status mismatch", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/missing"}}}, "HTTP status 404 not in 200-299"},
		{"status listed", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/missing", StatusCodes: codes("200", "404")}}}, ""},
		{"status range", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/redirect", StatusCodes: codes("300-399")}}}, ""},
		{"redirect is not followed", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/redirect"}}}, "HTTP status 302"},
		{"virtualhost and regex", "HTTP_GET", HTTPOptions{VirtualHost: "www.example", URLs: []URL{{Path: "/host", Regex: "(?m)^host=www\\.example$"}}}, ""},
		{"url virtualhost wins", "HTTP_GET", HTTPOptions{VirtualHost: "a.example", URLs: []URL{{Path: "/host", VirtualHost: "b.example", Regex: "host=b"}}}, ""},
		{"regex does not match", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "bye"}}}, "does not match regex"},
		{"regex_no_match", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "hello", RegexNoMatch: true}}}, "body matches regex"},
		{"regex outside its offsets", "HTTP_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Regex: "hello", RegexMinOffset: 1}}}, "does not match"},
		{"http_protocol 1.1", "HTTP_GET", HTTPOptions{Protocol: "1.1", URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n")}}}, ""},
		{"http_protocol 1.0C", "HTTP_GET", HTTPOptions{Protocol: "1.0C", URLs: []URL{{Path: "/ok"}}}, ""},
		{"SSL self-signed, not verified (keepalived's default)", "SSL_GET", HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n")}}}, ""},
		{"SSL verified against the system roots", "SSL_GET", HTTPOptions{VerifyCert: true, SNIName: "rs.test", URLs: []URL{{Path: "/ok"}}}, "certificate"},
		{"SSL verified against its CA", "SSL_GET", HTTPOptions{VerifyCert: true, CAFile: ng.Cert, SNIName: "rs.test", URLs: []URL{{Path: "/ok"}}}, ""},
		{"SSL verified, wrong name", "SSL_GET", HTTPOptions{VerifyCert: true, CAFile: ng.Cert, SNIName: "other.test", URLs: []URL{{Path: "/ok"}}}, "other.test"},
		{"SNI from virtualhost", "SSL_GET", HTTPOptions{EnableSNI: true, VirtualHost: "rs.test", URLs: []URL{{Path: "/sni", Regex: "sni=rs\\.test"}}}, ""},
		{"no SNI unless enabled", "SSL_GET", HTTPOptions{VirtualHost: "rs.test", URLs: []URL{{Path: "/sni", Regex: "sni=rs"}}}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := ng.Port
			if tt.typ == "SSL_GET" {
				port = ng.TLS
			}
			opts := tt.opts
			res := checkOnce(t, Spec{Type: tt.typ, Options: &opts}, loop(port))
			switch {
			case tt.wantErr == "" && res.Err != nil:
				t.Fatalf("want up, got %v", res.Err)
			case tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)):
				t.Fatalf("want error containing %q, got %v", tt.wantErr, res.Err)
			}
		})
	}
}

// measureDetection runs a manager on one checker, makes the server fail and recover,
// and checks both transitions happen within keepalived's bound (+10 %).
func measureDetection(t *testing.T, spec Spec, addr netip.AddrPort, fail, recover func()) {
	t.Helper()
	measureDetectionTiming(t, spec, addr, fastTiming(), fail, recover)
}

// measureDetectionTiming is measureDetection with the real server's timing given. The
// clock starts when fail or recover returns, that is once the server has changed.
func measureDetectionTiming(t *testing.T, spec Spec, addr netip.AddrPort, timing Timing, fail, recover func()) {
	t.Helper()
	rs := RealServer{VS: testVS, Addr: addr, Weight: 1, Timing: timing, Checkers: []Spec{spec}}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	defer stop()
	bound := spec.Timing.Over(rs.Timing).Resolve(spec.Type).DetectionBound()
	waitStatus(t, m, func(st []ServerStatus) bool { return st[0].Up && st[0].Checkers[0].Checks >= 2 })

	fail()
	failed := time.Now()
	ev := waitEvent(t, m, 10*time.Second)
	if ev.Up {
		t.Fatalf("event %+v, want down", ev)
	}
	within(t, spec.Type+" down", ev.At.Sub(failed), bound)
	t.Logf("reason: %s", ev.Reason)
	if t.Failed() {
		t.Logf("status: %+v", m.Status())
	}

	recover()
	recovered := time.Now()
	ev = waitEvent(t, m, 10*time.Second)
	if !ev.Up {
		t.Fatalf("event %+v, want up", ev)
	}
	within(t, spec.Type+" up", ev.At.Sub(recovered), bound)
}

func TestDetectionHTTP(t *testing.T) {
	testutil.Integration(t)
	ng := checktest.StartNginx(t, nginxServers)
	spec := Spec{Type: "HTTP_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n")}}}}
	measureDetection(t, spec, loop(ng.Port), ng.Stop, ng.Start)
}

func TestDetectionSSL(t *testing.T) {
	testutil.Integration(t)
	ng := checktest.StartNginx(t, nginxServers)
	spec := Spec{Type: "SSL_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/ok"}}}}
	measureDetection(t, spec, loop(ng.TLS), ng.Stop, ng.Start)
}

// A server slower than the checks' interval but within connect_timeout never flaps.
func TestNoFlapOnSlowServer(t *testing.T) {
	testutil.Integration(t)
	leakCheck(t)
	ng := checktest.StartNginx(t, nginxServers)
	timing := fastTiming()
	timing.ConnectTimeout = Dur(500 * time.Millisecond) // the server answers in 150 ms
	rs := RealServer{VS: testVS, Addr: loop(ng.Port), Weight: 1, Timing: timing,
		Checkers: []Spec{{Type: "HTTP_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/slow", Regex: "slow"}}}}}}
	m, stop := runManager(t, Options{}, []RealServer{rs})
	select {
	case ev := <-m.Events():
		t.Fatalf("flapped: %+v", ev)
	case <-time.After(3 * time.Second):
	}
	st := m.Status()[0]
	if !st.Up || st.Checkers[0].Checks < 5 || st.Checkers[0].LastLatency < 150*time.Millisecond {
		t.Fatalf("status %+v", st)
	}
	stop()
}

func TestSMTPCheck(t *testing.T) {
	testutil.Integration(t)
	srv := smtptest.Start(t)
	addr := netip.MustParseAddrPort(srv.Addr)
	if res := checkOnce(t, Spec{Type: "SMTP_CHECK", Options: &SMTPOptions{HeloName: "lb.example"}}, addr); res.Err != nil {
		t.Fatalf("SMTP_CHECK: %v", res.Err)
	}
	measureDetection(t, Spec{Type: "SMTP_CHECK"}, addr, srv.Stop, srv.Restart)
}

func TestDNSCheck(t *testing.T) {
	testutil.Integration(t)
	port := checktest.FreeUDPPort(t)
	records := []string{"--address=/check.test/127.0.0.9", "--address=/check.test/fd00::9", "--txt-record=txt.check.test,hello"}
	dns := checktest.Dnsmasq(t, port, records...)
	addr := loop(port)
	tests := []struct {
		opts    DNSOptions
		wantErr string
	}{
		{DNSOptions{Type: "A", Name: "check.test"}, ""},
		{DNSOptions{Type: "aaaa", Name: "check.test."}, ""},
		{DNSOptions{Type: "TXT", Name: "txt.check.test"}, ""},
		{DNSOptions{Type: "A", Name: "nothing.invalid"}, "rcode"},
	}
	for _, tt := range tests {
		opts := tt.opts
		res := checkOnce(t, Spec{Type: "DNS_CHECK", Options: &opts}, addr)
		if (tt.wantErr == "") != (res.Err == nil) || (res.Err != nil && !strings.Contains(res.Err.Error(), tt.wantErr)) {
			t.Errorf("%+v: %v, want error %q", tt.opts, res.Err, tt.wantErr)
		}
	}
	if _, err := New(Spec{Type: "DNS_CHECK", Options: &DNSOptions{Type: "PTRX"}}, Env{}); err == nil || !strings.Contains(err.Error(), `type "PTRX"`) {
		t.Errorf("bad type accepted: %v", err)
	}
	spec := Spec{Type: "DNS_CHECK", Options: &DNSOptions{Type: "A", Name: "check.test"}, Timing: Timing{Retry: Int(1), DelayBeforeRetry: Dur(100 * time.Millisecond)}}
	measureDetection(t, spec, addr, dns.Stop, func() { dns = checktest.Dnsmasq(t, port, records...) })
}

func TestUDPCheck(t *testing.T) {
	testutil.Integration(t)
	port := checktest.FreeUDPPort(t)
	echo := checktest.UDPEcho(t, port)
	addr := loop(port)
	pattern, err := ParsePattern("6Xc0")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    UDPOptions
		wantErr string
	}{
		{"no reply needed", UDPOptions{Payload: []byte("hi")}, ""},
		{"reply required", UDPOptions{Payload: []byte("hi"), RequireReply: true}, ""},
		{"reply pattern with wildcard", UDPOptions{Payload: []byte{0x61, 0xc0, 0x01}, Pattern: pattern}, ""},
		{"reply pattern mismatch", UDPOptions{Payload: []byte{0x61, 0xc1}, Pattern: pattern}, "does not match"},
		{"reply too short", UDPOptions{Payload: []byte("hi"), RequireReply: true, MinReplyLength: 3}, "reply of 2 bytes"},
	}
	for _, tt := range tests {
		opts := tt.opts
		res := checkOnce(t, Spec{Type: "UDP_CHECK", Options: &opts}, addr)
		if (tt.wantErr == "") != (res.Err == nil) || (res.Err != nil && !strings.Contains(res.Err.Error(), tt.wantErr)) {
			t.Errorf("%s: %v, want error %q", tt.name, res.Err, tt.wantErr)
		}
	}
	spec := Spec{Type: "UDP_CHECK", Options: &UDPOptions{Payload: []byte("ping"), RequireReply: true}}
	measureDetection(t, spec, addr, echo.Stop, func() { echo = checktest.UDPEcho(t, port) })
	// Without require_reply, a closed port is detected by the ICMP port unreachable.
	echo.Stop()
	if res := checkOnce(t, Spec{Type: "UDP_CHECK"}, addr); res.Err == nil || !strings.Contains(res.Err.Error(), "unreachable") {
		t.Errorf("closed port: %v", res.Err)
	}
}

func TestMiscCheck(t *testing.T) {
	testutil.Integration(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	script := filepath.Join(dir, "check.sh")
	body := fmt.Sprintf("#!/bin/sh\n[ -f %s ] || exit 1\nexit \"$(cat %s)\"\n", flag, flag)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(flag, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		content    string
		dynamic    bool
		wantErr    string
		wantOffset int
		hasWeight  bool
	}{
		{"0", false, "", 0, false},
		{"1", false, "exited with status 1", 0, false},
		{"7", false, "exited with status 7", 0, false},
		{"1", true, "exited with status 1", 0, false},
		{"7", true, "", 7 - 2 - 1, true}, // weight 5 = configured 1 + offset 4
		{"255", true, "", 253 - 1, true},
	}
	for _, tt := range tests {
		write(tt.content)
		res := checkOnce(t, Spec{Type: "MISC_CHECK", Options: &MiscOptions{Argv: []string{script}, Dynamic: tt.dynamic}}, loop(0))
		if (tt.wantErr == "") != (res.Err == nil) || (res.Err != nil && !strings.Contains(res.Err.Error(), tt.wantErr)) ||
			res.WeightOffset != tt.wantOffset || res.HasWeight != tt.hasWeight {
			t.Errorf("exit %s dynamic %v: %+v, want error %q offset %d", tt.content, tt.dynamic, res, tt.wantErr, tt.wantOffset)
		}
	}
	// A hung script is killed at misc_timeout and counts as a failure.
	hung := filepath.Join(dir, "hung.sh")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nsleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := checkOnce(t, Spec{Type: "MISC_CHECK", Options: &MiscOptions{Argv: []string{hung}, Timeout: 200 * time.Millisecond}}, loop(0))
	if res.Err == nil || !strings.Contains(res.Err.Error(), "timed out") || time.Since(start) > 2*time.Second {
		t.Errorf("hung script: %v after %v", res.Err, time.Since(start))
	}

	write("0")
	spec := Spec{Type: "MISC_CHECK", Options: &MiscOptions{Argv: []string{script}, Timeout: 300 * time.Millisecond}}
	measureDetection(t, spec, loop(0), func() { write("1") }, func() { write("0") })
}

func TestFileCheckDetection(t *testing.T) {
	testutil.Integration(t)
	f := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(f, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	set := func(s string) func() {
		return func() {
			if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	measureDetection(t, Spec{Type: "FILE_CHECK", Options: &FileOptions{Path: f}}, loop(0), set("1"), set("0"))
}

// smtp_alert: every real server transition is mailed to a real SMTP server with
// keepalived's subject.
func TestSMTPAlertsOnTransitions(t *testing.T) {
	testutil.Integration(t)
	mail := smtptest.Start(t)
	mailer := notify.New(notify.Config{Server: mail.Addr, To: []string{"ops@example.org"}, RouterID: "lb1", ConnectTimeout: 2 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go mailer.Run(ctx)

	srv := newListener(t)
	rs := RealServer{VS: testVS, Addr: srv.addr, Weight: 1, Timing: fastTiming(), SMTPAlert: true, Checkers: []Spec{{Type: "TCP_CHECK"}}}
	m, stop := runManager(t, Options{Mailer: mailer}, []RealServer{rs})
	defer stop()
	srv.stop()
	waitEvent(t, m, 5*time.Second)
	srv.start()
	waitEvent(t, m, 5*time.Second)
	for _, state := range []string{"DOWN", "UP"} {
		subject := fmt.Sprintf("Subject: [lb1] Realserver [127.0.0.1]:tcp:%d of virtual server [127.0.0.1]:tcp:80 - %s", srv.addr.Port(), state)
		msg, ok := mail.WaitFor(subject, 10*time.Second)
		if !ok {
			t.Fatalf("no mail %q; got %q", subject, mail.Messages())
		}
		if state == "DOWN" && !strings.Contains(msg, "=> CHECK failed on service : ") {
			t.Errorf("body:\n%s", msg)
		}
	}
}

// smtp_alert as keepalived sends it for live servers leaving: "=> Removing <=" when a
// reload removes one, "=> Shutting down <=" for those with omega when the checkers
// stop — delivered even though the mailer is stopped by the same cancellation, as in
// the daemon. keepalived sends no mail about the checker daemon itself starting or
// stopping.
func TestSMTPAlertsOnRemovalAndShutdown(t *testing.T) {
	testutil.Integration(t)
	mail := smtptest.Start(t)
	mailer := notify.New(notify.Config{Server: mail.Addr, To: []string{"ops@example.org"}, RouterID: "lb1", ConnectTimeout: 2 * time.Second}, nil)
	a, b := newListener(t), newListener(t)
	rsA := RealServer{VS: testVS, Addr: a.addr, Weight: 1, Timing: fastTiming(), SMTPAlert: true, Omega: true, Checkers: []Spec{{Type: "TCP_CHECK"}}}
	rsB := RealServer{VS: testVS, Addr: b.addr, Weight: 1, Timing: fastTiming(), SMTPAlert: true, Checkers: []Spec{{Type: "TCP_CHECK"}}}
	// A real server without checkers is alive all along, and leaves as one.
	rsC := RealServer{VS: testVS, Addr: netip.AddrPortFrom(b.addr.Addr(), 9), Weight: 1, SMTPAlert: true}
	m := NewManager(Options{Mailer: mailer})
	if err := m.Update([]RealServer{rsA, rsB, rsC}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mailerDone, managerDone := make(chan struct{}), make(chan struct{})
	go func() { mailer.Run(ctx); close(mailerDone) }()
	go func() { _ = m.Run(ctx); close(managerDone) }()

	if err := m.Update([]RealServer{rsA}); err != nil {
		t.Fatal(err)
	}
	subject := func(rs netip.AddrPort) string {
		return fmt.Sprintf("Subject: [lb1] Realserver [127.0.0.1]:tcp:%d of virtual server [127.0.0.1]:tcp:80 - DOWN", rs.Port())
	}
	for _, rs := range []netip.AddrPort{b.addr, rsC.Addr} {
		if msg, ok := mail.WaitFor(subject(rs), 10*time.Second); !ok || !strings.Contains(msg, "=> Removing <=") {
			t.Fatalf("removal mail for %s %q (found %v); have %q", rs, msg, ok, mail.Messages())
		}
	}
	cancel()
	for _, done := range []chan struct{}{managerDone, mailerDone} {
		select {
		case <-done:
		case <-time.After(notify.DrainTimeout + 5*time.Second):
			t.Fatal("manager or mailer did not stop")
		}
	}
	if msg, ok := mail.WaitFor(subject(a.addr), 5*time.Second); !ok || !strings.Contains(msg, "=> Shutting down <=") {
		t.Fatalf("shutdown mail %q (found %v); have %q", msg, ok, mail.Messages())
	}
}

// smtp_alert with two checkers: keepalived mails each checker's transition, and with
// no_checker_emails (OnlyServerEmails) only those that change the server's state.
func TestSMTPAlertsPerChecker(t *testing.T) {
	testutil.Integration(t)
	for _, tc := range []struct {
		name       string
		onlyServer bool
		want       []string // the subjects' states, sorted (the mailer may deliver out of order)
	}{
		{"each checker", false, []string{"DOWN", "DOWN", "DOWN", "UP"}},
		{"no_checker_emails", true, []string{"DOWN", "UP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mail := smtptest.Start(t)
			mailer := notify.New(notify.Config{Server: mail.Addr, To: []string{"ops@example.org"}, RouterID: "lb1", ConnectTimeout: 2 * time.Second}, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go mailer.Run(ctx)
			a, b := newListener(t), newListener(t)
			rs := RealServer{VS: testVS, Addr: a.addr, Weight: 1, Timing: fastTiming(), SMTPAlert: true, OnlyServerEmails: tc.onlyServer,
				Checkers: []Spec{{Type: "TCP_CHECK"}, {Type: "TCP_CHECK", ConnectPort: b.addr.Port()}}}
			m, stop := runManager(t, Options{Mailer: mailer}, []RealServer{rs})
			defer stop()
			checkerUp := func(i int, want bool) {
				t.Helper()
				if !testutil.Eventually(5*time.Second, func() bool {
					st := m.Status()
					return len(st) == 1 && st[0].Checkers[i].Up == want
				}) {
					t.Fatalf("checker %d did not become up=%v", i, want)
				}
			}
			a.stop() // the server goes down
			checkerUp(0, false)
			b.stop() // the second checker fails too; the server was down already
			checkerUp(1, false)
			a.start() // the first recovers; the second still holds the server down
			checkerUp(0, true)
			b.start() // the server is up again
			checkerUp(1, true)
			var states []string
			testutil.Eventually(5*time.Second, func() bool {
				states = states[:0]
				for _, msg := range mail.Messages() {
					for _, s := range []string{"DOWN", "UP"} {
						if strings.Contains(msg, "of virtual server [127.0.0.1]:tcp:80 - "+s+"\n") {
							states = append(states, s)
						}
					}
				}
				return len(states) >= len(tc.want)
			})
			time.Sleep(300 * time.Millisecond) // nothing more comes
			slices.Sort(states)
			if len(mail.Messages()) != len(tc.want) || !slices.Equal(states, tc.want) {
				t.Fatalf("mails %q, want %q:\n%q", states, tc.want, mail.Messages())
			}
		})
	}
}
