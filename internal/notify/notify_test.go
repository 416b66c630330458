package notify

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govs/govs/internal/notify/smtptest"
	"github.com/govs/govs/internal/testutil"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSubjects(t *testing.T) {
	rs, vs := Endpoint("10.0.0.2", "TCP", 80), Endpoint("10.0.0.10", "TCP", 80)
	tests := []struct {
		got  Message
		want string
	}{
		{RealServer("lb1", rs, vs, false, ""), "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.10]:tcp:80 - DOWN"},
		{RealServer("lb1", rs, vs, true, ""), "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.10]:tcp:80 - UP"},
		{VirtualServer("lb1", vs, "UP", ""), "[lb1] Virtualserver [10.0.0.10]:tcp:80 - UP"},
		{VRRPInstance("lb1", "VI_1", "Entering MASTER state", ""), "[lb1] VRRP Instance VI_1 - Entering MASTER state"},
		{VRRPGroup("lb1", "G1", "Entering FAULT state", ""), "[lb1] VRRP Group G1 - Entering FAULT state"},
	}
	for _, tt := range tests {
		if tt.got.Subject != tt.want {
			t.Errorf("subject %q, want %q", tt.got.Subject, tt.want)
		}
	}
}

func TestFormatGolden(t *testing.T) {
	m := New(Config{Server: "127.0.0.1", From: "Keepalived <lb@example.org>", To: []string{"a@example.org", "b@example.org"}}, nil)
	msg := RealServer("lb1", Endpoint("10.0.0.2", "tcp", 80), Endpoint("10.0.0.10", "tcp", 80), false,
		"=> TCP_CHECK failed on service: connection refused <=\n.dotted line\r\ninjected\r\nSubject: x")
	msg.Subject += "\r\nBcc: evil@example.org"
	got := m.format(msg, time.Date(2026, 3, 1, 9, 44, 8, 0, time.UTC))
	golden := filepath.Join("testdata", "alert.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("format:\n%q\nwant:\n%q", got, want)
	}
	if !strings.HasPrefix(m.cfg.Server, "127.0.0.1:25") || angle(m.cfg.From) != "<lb@example.org>" {
		t.Errorf("defaults: server %q, MAIL FROM %q", m.cfg.Server, angle(m.cfg.From))
	}
}

func TestDisabledMailerDiscards(t *testing.T) {
	if New(Config{Server: "127.0.0.1"}, nil).Send(Message{Subject: "x"}) {
		t.Error("a mailer without recipients accepted a message")
	}
	if New(Config{To: []string{"a@b"}}, nil).Send(Message{Subject: "x"}) {
		t.Error("a mailer without a server accepted a message")
	}
}

// A server that accepts connections and never answers must not slow the caller: Send
// returns at once and drops what does not fit the queue.
func TestSendNeverBlocksOnSlowServer(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); <-done; c.Close() }()
		}
	}()
	m := New(Config{Server: l.Addr().String(), To: []string{"ops@example.org"}, Queue: 8, ConnectTimeout: 5 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { m.Run(ctx); close(ran) }()

	start := time.Now()
	accepted := 0
	for i := 0; i < 1000; i++ {
		if m.Send(Message{Subject: "s"}) {
			accepted++
		}
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("1000 Sends took %v with a stuck server", took)
	}
	if accepted > 9 || m.Stats().Dropped < 991 {
		t.Errorf("accepted %d, stats %+v; want at most queue+1 accepted", accepted, m.Stats())
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop promptly on cancel during a stuck delivery")
	}
	l.Close()
	close(done)
	conns.Wait()
}

func TestDeliveryToRealSMTPServer(t *testing.T) {
	testutil.Integration(t)
	srv := smtptest.Start(t)
	m := New(Config{Server: srv.Addr, To: []string{"ops@example.org", "Ops Two <two@example.org>"}, From: "lb1@example.org", RouterID: "lb1", ConnectTimeout: 3 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	rs, vs := Endpoint("127.0.0.2", "tcp", 8080), Endpoint("127.0.0.1", "tcp", 80)
	m.Send(RealServer(m.RouterID(), rs, vs, false, "=> TCP_CHECK failed <=\n.leading dot"))
	m.Send(RealServer(m.RouterID(), rs, vs, true, "=> TCP_CHECK succeeded <="))
	for _, subj := range []string{
		"Subject: [lb1] Realserver [127.0.0.2]:tcp:8080 of virtual server [127.0.0.1]:tcp:80 - DOWN",
		"Subject: [lb1] Realserver [127.0.0.2]:tcp:8080 of virtual server [127.0.0.1]:tcp:80 - UP",
	} {
		msg, ok := srv.WaitFor(subj, 10*time.Second)
		if !ok {
			t.Fatalf("no message with %q; have %q, stats %+v", subj, srv.Messages(), m.Stats())
		}
		if !strings.Contains(msg, "To: ops@example.org,") {
			t.Errorf("message lacks the recipients header:\n%s", msg)
		}
	}
	if msg, _ := srv.WaitFor("leading dot", time.Second); !strings.Contains(msg, "\n.leading dot") {
		t.Errorf("dot-stuffing not undone by the server:\n%s", msg)
	}
}
