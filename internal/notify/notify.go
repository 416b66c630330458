// Package notify sends keepalived's smtp_alert e-mails: one message per state change of
// a real server, virtual server or VRRP instance, with keepalived's subject lines, to
// global_defs' notification_email list through smtp_server.
//
// Sending never blocks the caller: messages go into a bounded queue that one goroutine
// drains; when the SMTP server is slow or down the queue fills and further alerts are
// dropped (and counted) rather than delaying health checks or VRRP.
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults from keepalived's global_defs.
const (
	DefaultPort           = "25"
	DefaultConnectTimeout = 30 * time.Second // smtp_connect_timeout
	DefaultQueue          = 64
	// DrainTimeout bounds how long Run goes on delivering after its context ends (the
	// shutdown mails keepalived sends with omega); a slow or dead SMTP server must not
	// hold up the daemon's stop for longer.
	DrainTimeout = 5 * time.Second
)

// Config is the mail part of global_defs.
type Config struct {
	// Server is smtp_server as host or host:port (port 25 when absent). Empty disables mail.
	Server string
	// ConnectTimeout (smtp_connect_timeout) bounds the connection and each reply; default 30 s.
	ConnectTimeout time.Duration
	// From is notification_email_from; default DefaultFrom.
	From string
	// To is notification_email. Empty disables mail.
	To []string
	// HeloName is smtp_helo_name; default the hostname.
	HeloName string
	// RouterID is router_id, put in brackets at the start of every subject; default the hostname.
	RouterID string
	// Queue is how many messages may wait; default 64. Beyond it alerts are dropped.
	Queue int
}

// Message is one alert.
type Message struct {
	Subject string
	Body    string
}

// RealServer builds keepalived's alert for a real server changing state, e.g. subject
// "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.10]:tcp:80 - DOWN".
// rs and vs are in keepalived's "[ip]:proto:port" form (see Endpoint).
func RealServer(routerID, rs, vs string, up bool, body string) Message {
	return Message{
		Subject: fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", routerID, rs, vs, upDown(up)),
		Body:    body,
	}
}

// VirtualServer builds the alert for a virtual server event such as quorum changes:
// "[lb1] Virtualserver [10.0.0.10]:tcp:80 - UP".
func VirtualServer(routerID, vs, what, body string) Message {
	return Message{Subject: fmt.Sprintf("[%s] Virtualserver %s - %s", routerID, vs, what), Body: body}
}

// VRRPInstance builds the alert for a VRRP instance changing state:
// "[lb1] VRRP Instance VI_1 - Entering MASTER state".
func VRRPInstance(routerID, instance, what, body string) Message {
	return Message{Subject: fmt.Sprintf("[%s] VRRP Instance %s - %s", routerID, instance, what), Body: body}
}

// VRRPGroup builds the alert for a VRRP sync group changing state.
func VRRPGroup(routerID, group, what, body string) Message {
	return Message{Subject: fmt.Sprintf("[%s] VRRP Group %s - %s", routerID, group, what), Body: body}
}

// Endpoint formats an address the way keepalived's alerts show services and real
// servers: "[ip]:tcp:port".
func Endpoint(addr, proto string, port uint16) string {
	return fmt.Sprintf("[%s]:%s:%d", addr, strings.ToLower(proto), port)
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// Mailer queues messages and delivers them in the background. The zero value is not
// usable; call New. A Mailer with no server or no recipients accepts and discards
// everything, as keepalived does.
type Mailer struct {
	cfg     Config
	logger  *slog.Logger
	queue   chan Message
	dropped atomic.Uint64
	sent    atomic.Uint64
	failed  atomic.Uint64
	once    sync.Once

	// Holds (see Hold): while any is held, Run keeps delivering after its context
	// ends; unheld is closed whenever none is.
	holdMu   sync.Mutex
	holds    int
	unheld   chan struct{}
	everHeld atomic.Bool
}

// DefaultFrom is keepalived's notification_email_from default: the user govs runs as,
// at host; "" if the user has no name.
func DefaultFrom(host string) string {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return ""
	}
	return u.Username + "@" + host
}

// New returns a mailer for cfg; Run must be started for anything to be sent. logger may
// be nil.
func New(cfg Config, logger *slog.Logger) *Mailer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.From == "" {
		cfg.From = cmp.Or(DefaultFrom(host), "keepalived@"+host)
	}
	if cfg.HeloName == "" {
		cfg.HeloName = host
	}
	if cfg.RouterID == "" {
		cfg.RouterID = host
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Server != "" {
		if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
			cfg.Server = net.JoinHostPort(strings.Trim(cfg.Server, "[]"), DefaultPort)
		}
	}
	unheld := make(chan struct{})
	close(unheld)
	return &Mailer{cfg: cfg, logger: logger.With("component", "notify"), queue: make(chan Message, cfg.Queue), unheld: unheld}
}

// Hold keeps Run delivering after its context ends until the returned release is
// called (or DrainTimeout passes): a component that mails as it stops (the checkers'
// "=> Shutting down <=" alerts) holds the mailer while it runs, so that its last
// alerts are not lost to the mailer stopping first. Release may be called more than
// once.
func (m *Mailer) Hold() (release func()) {
	m.everHeld.Store(true)
	m.holdMu.Lock()
	if m.holds == 0 {
		m.unheld = make(chan struct{})
	}
	m.holds++
	m.holdMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.holdMu.Lock()
			if m.holds--; m.holds == 0 {
				close(m.unheld)
			}
			m.holdMu.Unlock()
		})
	}
}

func (m *Mailer) unheldChan() <-chan struct{} {
	m.holdMu.Lock()
	defer m.holdMu.Unlock()
	return m.unheld
}

// RouterID is the router_id the mailer was configured with (or its default), for
// building subjects.
func (m *Mailer) RouterID() string { return m.cfg.RouterID }

// Enabled reports whether alerts will be sent at all (a server and recipients are set).
func (m *Mailer) Enabled() bool { return m.cfg.Server != "" && len(m.cfg.To) > 0 }

// Send queues msg and returns at once. It reports false when the message was dropped
// because the queue is full or mail is not configured.
func (m *Mailer) Send(msg Message) bool {
	if !m.Enabled() {
		return false
	}
	select {
	case m.queue <- msg:
		return true
	default:
		m.dropped.Add(1)
		m.logger.Warn("smtp alert dropped: queue full (SMTP server slow or down?)", "subject", msg.Subject)
		return false
	}
}

// Stats are the mailer's counters.
type Stats struct{ Sent, Failed, Dropped uint64 }

// Stats returns how many alerts were delivered, failed, and dropped.
func (m *Mailer) Stats() Stats {
	return Stats{Sent: m.sent.Load(), Failed: m.failed.Load(), Dropped: m.dropped.Load()}
}

// Run delivers queued messages one at a time until ctx ends; call it once, in its own
// goroutine. Then, if it was ever held (see Hold), it delivers what is queued and what
// holders still send until they release it, for at most DrainTimeout; what is left is
// dropped. A mailer never held stops at once.
func (m *Mailer) Run(ctx context.Context) {
	started := false
	m.once.Do(func() { started = true })
	if !started {
		m.logger.Error("notify: Mailer.Run called twice")
		return
	}
	for {
		select {
		case <-ctx.Done():
			m.drain()
			return
		case msg := <-m.queue:
			m.deliverLogged(ctx, msg)
		}
	}
}

// drain delivers, once Run's context has ended, until no holder is left and the
// queue is empty, or DrainTimeout has passed.
func (m *Mailer) drain() {
	if !m.everHeld.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	unheld := m.unheldChan()
	for {
		select {
		case msg := <-m.queue:
			m.deliverLogged(ctx, msg)
			continue
		default:
		}
		select {
		case msg := <-m.queue:
			m.deliverLogged(ctx, msg)
		case <-unheld:
			for {
				select {
				case msg := <-m.queue:
					m.deliverLogged(ctx, msg)
				default:
					return
				}
			}
		case <-ctx.Done():
			if n := len(m.queue); n > 0 {
				m.dropped.Add(uint64(n))
				m.logger.Warn("smtp alerts dropped at shutdown", "count", n, "after", DrainTimeout)
			}
			return
		}
	}
}

func (m *Mailer) deliverLogged(ctx context.Context, msg Message) {
	if err := m.deliver(ctx, msg); err != nil {
		m.failed.Add(1)
		m.logger.Warn("smtp alert not sent", "server", m.cfg.Server, "subject", msg.Subject, "err", err)
		return
	}
	m.sent.Add(1)
	m.logger.Info("smtp alert sent", "subject", msg.Subject)
}

// ErrReply is wrapped when the server answers a command with an unexpected code.
var ErrReply = errors.New("unexpected SMTP reply")
