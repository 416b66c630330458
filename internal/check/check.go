// Package check runs keepalived's real-server health checks: TCP_CHECK, HTTP_GET,
// SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK and FILE_CHECK, each
// a small Checker registered under its keepalived block name, plus govs' dynamic
// feedback extension (see Feedback).
//
// A Checker only answers "is the server up now?" within a timeout. One generic runner
// (see probe.go) owns keepalived's timing: delay_loop, retry, delay_before_retry, warmup,
// alpha, the per-URL ticks of HTTP_GET. A Manager runs every checker of every real
// server, combines them (a real server is alive when all its checkers are), runs
// notify_up/notify_down and smtp_alert, and sends the engine an Event for each transition
// and each dynamic weight change. Quorum and hysteresis are a pure state machine in
// quorum.go for the engine to call.
package check

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/govs/govs/internal/table"
)

// Checker probes one real server once.
type Checker interface {
	// Check answers whether the server is up now. It must return by ctx's deadline
	// (connect_timeout, or the checker's own Timeout) and must not keep anything open
	// after returning.
	Check(ctx context.Context, t Target) Result
}

// Target is what one probe is aimed at.
type Target struct {
	// Addr is connect_ip:connect_port, defaulting to the real server's address and port.
	Addr netip.AddrPort
	// Bind is bindto:bind_port; zero fields are left to the kernel.
	Bind netip.AddrPort
	// BindIf is bind_if: the device to send from (SO_BINDTODEVICE), needed for
	// IPv6 link-local targets.
	BindIf string
	// FWMark is fwmark: set on the probe's packets (SO_MARK), for policy routing.
	FWMark uint32
	// Timeout is connect_timeout; the context also carries it as a deadline.
	Timeout time.Duration
	// DelayLoop is the checker's delay_loop (MISC_CHECK's default misc_timeout).
	DelayLoop time.Duration
	// Weight is the real server's configured weight, for checkers that compute a
	// dynamic weight relative to it.
	Weight int
	// Step is which of a multi-step checker's steps to probe (HTTP_GET: the URL index).
	Step int
}

// Stepper is implemented by checkers that probe one of several steps per tick
// (HTTP_GET's URLs); the runner walks the steps with keepalived's per-URL timing.
type Stepper interface {
	Steps() int
	FastRecovery() bool
}

// TimeoutOverrider is implemented by checkers whose probe is bounded by their own
// timeout rather than connect_timeout (MISC_CHECK's misc_timeout).
type TimeoutOverrider interface {
	Timeout(t Target) time.Duration
}

// Follower is implemented by checkers that follow something which tells of its
// changes (BFD_CHECK's session): Changed returns a channel closed at the next change
// after the call, and the manager probes at once then, besides its own schedule.
type Follower interface {
	Changed() <-chan struct{}
}

// Result of one probe.
type Result struct {
	// Err is nil when the server is up, else why not (it becomes the event's Reason).
	Err error
	// WeightOffset is added to the real server's configured weight when HasWeight is set
	// (MISC_CHECK misc_dynamic, FILE_CHECK); the sum over checkers, bounded to
	// 0..MaxWeight, is the effective weight.
	WeightOffset int
	HasWeight    bool
}

// Up is a passing result.
func Up() Result { return Result{} }

// Down is a failing result; format and args say why.
func Down(format string, args ...any) Result { return Result{Err: fmt.Errorf(format, args...)} }

// MaxWeight is the largest weight IPVS accepts.
const MaxWeight = 65535

// Errors a factory may return.
var (
	// ErrUnknownType: the block name is not a checker keepalived has.
	ErrUnknownType = errors.New("unknown checker type")
)

// Timing holds the keywords that inherit virtual_server → real_server → checker → the
// checker type's default. A nil field is unset.
type Timing struct {
	DelayLoop        *time.Duration // delay_loop [60s]
	ConnectTimeout   *time.Duration // connect_timeout [5s]
	Retry            *int           // retry (nb_get_retry) [1; MISC_CHECK 0; DNS_CHECK 3]
	DelayBeforeRetry *time.Duration // delay_before_retry [1s; HTTP/SSL 3s; DNS = delay_loop]
	Warmup           *time.Duration // warmup [= delay_loop]; 0 disables the random start
	Alpha            *bool          // alpha: start down until proven up [false]
}

// Dur returns a pointer to d, for Timing literals.
func Dur(d time.Duration) *time.Duration { return &d }

// Int returns a pointer to n, for Timing literals.
func Int(n int) *int { return &n }

// Bool returns a pointer to b, for Timing literals.
func Bool(b bool) *bool { return &b }

// Over returns t with every unset field taken from parent: checker.Over(rs).Over(vs).
func (t Timing) Over(parent Timing) Timing {
	if t.DelayLoop == nil {
		t.DelayLoop = parent.DelayLoop
	}
	if t.ConnectTimeout == nil {
		t.ConnectTimeout = parent.ConnectTimeout
	}
	if t.Retry == nil {
		t.Retry = parent.Retry
	}
	if t.DelayBeforeRetry == nil {
		t.DelayBeforeRetry = parent.DelayBeforeRetry
	}
	if t.Warmup == nil {
		t.Warmup = parent.Warmup
	}
	if t.Alpha == nil {
		t.Alpha = parent.Alpha
	}
	return t
}

// Timers are a checker's effective timing, all inheritance and defaults applied.
type Timers struct {
	DelayLoop, ConnectTimeout, DelayBeforeRetry, Warmup time.Duration
	Retry                                               int
	Alpha                                               bool
}

// Resolve applies keepalived's defaults (reference b: retry 1, delay_before_retry 1 s,
// warmup = delay_loop), as the checker type changes them (its Kind), then t's values.
func (t Timing) Resolve(checkerType string) Timers {
	kind := kindOf(checkerType)
	r := Timers{DelayLoop: 60 * time.Second, ConnectTimeout: 5 * time.Second, Retry: 1, DelayBeforeRetry: time.Second}
	if t.DelayLoop != nil {
		r.DelayLoop = *t.DelayLoop
	}
	if kind.Defaults != nil {
		kind.Defaults(&r)
	}
	r.Warmup = r.DelayLoop
	if t.ConnectTimeout != nil {
		r.ConnectTimeout = *t.ConnectTimeout
	}
	if t.Retry != nil {
		r.Retry = *t.Retry
	}
	if t.DelayBeforeRetry != nil {
		r.DelayBeforeRetry = *t.DelayBeforeRetry
	}
	if t.Warmup != nil {
		r.Warmup = *t.Warmup
	}
	if t.Alpha != nil {
		r.Alpha = *t.Alpha
	}
	if kind.Follows > 0 {
		r.DelayLoop, r.Retry, r.DelayBeforeRetry, r.Warmup = kind.Follows, 0, 0, 0
	}
	return r
}

// Validate reports the first value out of range, naming its keyword.
func (t Timers) Validate() error {
	switch {
	case t.DelayLoop <= 0:
		return fmt.Errorf("delay_loop %v: must be positive", t.DelayLoop)
	case t.ConnectTimeout <= 0:
		return fmt.Errorf("connect_timeout %v: must be positive", t.ConnectTimeout)
	case t.Retry < 0:
		return fmt.Errorf("retry %d: must be 0 or more", t.Retry)
	case t.DelayBeforeRetry < 0:
		return fmt.Errorf("delay_before_retry %v: must be 0 or more", t.DelayBeforeRetry)
	case t.Warmup < 0:
		return fmt.Errorf("warmup %v: must be 0 or more", t.Warmup)
	}
	return nil
}

// Spec is one checker block of a real server.
type Spec struct {
	// Type is the keepalived block name: "TCP_CHECK", "HTTP_GET", ….
	Type string
	// ConnectIP and ConnectPort (connect_ip, connect_port) default to the real server's.
	ConnectIP   netip.Addr
	ConnectPort uint16
	BindTo      netip.Addr // bindto
	BindPort    uint16     // bind_port
	BindIf      string     // bind_if
	FWMark      uint32     // fwmark
	Timing      Timing
	// Options is the type's own options: *HTTPOptions for HTTP_GET and SSL_GET,
	// *SMTPOptions, *DNSOptions, *MiscOptions, *UDPOptions, *FileOptions; nil for
	// TCP_CHECK and PING_CHECK (and for a type's defaults where it has any).
	Options any
	// Source is where the block came from (e.g. "keepalived.conf:42"), for messages.
	Source string
	// LogAllFailures logs every failed probe, not only those of a server still up
	// (log_all_failures, checker_log_all_failures).
	LogAllFailures bool
}

// RealServer is one real_server block of one virtual server, with what the manager
// needs to check it and to report on it.
type RealServer struct {
	VS table.ServiceKey // the virtual server it belongs to
	// VSName is the virtual server as alerts show it, e.g. "[10.0.0.10]:tcp:80"; empty
	// derives it from VS.
	VSName string
	Addr   netip.AddrPort
	Weight int // configured weight
	// Timing is the real server's timing over its virtual server's (rs.Over(vs)); each
	// checker's own Timing is laid over it.
	Timing   Timing
	Checkers []Spec
	// Inhibit is inhibit_on_failure: the engine keeps a failed server at weight 0 rather
	// than removing it. The manager only passes it on in status.
	Inhibit bool
	// NotifyUp and NotifyDown run on transitions (without a shell, per script.Spec).
	NotifyUp, NotifyDown []string
	// Omega: on shutdown, run NotifyDown for servers that are up.
	Omega bool
	// InitNotify is global rs_init_notifies: a server that starts up when it is first
	// configured (at start, or added by a reload) runs NotifyUp then, not only on a
	// later transition, as keepalived's init_service_vs does.
	InitNotify bool
	// SMTPAlert sends an e-mail on each transition (real_server smtp_alert): each
	// checker's, or with OnlyServerEmails (no_checker_emails) only those that change
	// the server's state.
	SMTPAlert        bool
	OnlyServerEmails bool
	// Feedback, when set, adjusts the weight from measured load (govs extension).
	Feedback *Feedback
}

// Key identifies a real server within the manager: its virtual server and address.
type Key struct {
	VS table.ServiceKey
	RS netip.AddrPort
}

func (k Key) String() string { return fmt.Sprintf("%v → %v", k.VS, k.RS) }

// Event is a transition of a real server, or a change of its dynamic weight.
type Event struct {
	VS table.ServiceKey
	RS netip.AddrPort
	// Up is the real server's state after the event (all checkers passing).
	Up bool
	// Weight is the new effective weight from MISC_CHECK/FILE_CHECK/feedback, or -1 when
	// unchanged.
	Weight int
	// Checker that caused the event, e.g. "HTTP_GET#0" (index among the server's checkers).
	Checker string
	Reason  string
	Latency time.Duration // of the probe that caused the event
	At      time.Time
}
