package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/table"
)

// Options configure a Manager.
type Options struct {
	Logger *slog.Logger
	// Security is script_user / enable_script_security, for MISC_CHECK and notify scripts.
	Security script.Security
	// Mailer sends smtp_alert mails for real servers with SMTPAlert; nil sends none.
	Mailer *notify.Mailer
	// NotifyTimeout bounds notify_up/notify_down scripts [DefaultNotifyTimeout].
	NotifyTimeout time.Duration
	// BFDUp says whether a bfd_instance's session is Up, for BFD_CHECK; nil: none.
	// BFDChanged returns a channel closed at the session's next change.
	BFDUp      func(name string) bool
	BFDChanged func(name string) <-chan struct{}
}

// DefaultNotifyTimeout bounds a notify script; keepalived sets none, but a hung script
// must not live forever.
const DefaultNotifyTimeout = 30 * time.Second

// Manager runs the checkers of every real server and reports transitions. Update
// (re)configures it at any time; Run runs it until its context ends.
type Manager struct {
	opts   Options
	logger *slog.Logger

	mu      sync.Mutex
	servers map[Key]*server
	ctx     context.Context // set by Run; nil before
	stopped bool
	queue   []Event
	wake    chan struct{}
	events  chan Event
	wg      sync.WaitGroup // runners, feedback agents, notify scripts
	fifos   []string       // notify FIFOs for real server lines (mu)

	// ha_suspend (suspend.go): the virtual services that have it, the host's
	// addresses, and which services are suspended now.
	haSuspend HASuspend
	hostAddrs map[addrOnLink]struct{}
	addrCount map[netip.Addr]int
	suspended map[table.ServiceKey]bool
}

type server struct {
	rs           RealServer
	checkers     []*checkerState
	up           bool
	weight       int
	notifyUp     *script.Spec
	notifyDown   *script.Spec
	fb           *feedbackState
	fbTarget     Target
	fbCancel     context.CancelFunc
	fbConfig     *Feedback
	fbInterval   time.Duration
	routerVSName string
	rsName       string
	// initNotify is rs_init_notifies' NotifyUp of a server configured before Run,
	// waiting for Run to start it.
	initNotify bool
}

type checkerState struct {
	name    string
	spec    Spec
	checker Checker
	timers  Timers
	target  Target
	probe   probe
	offset  int
	hasOff  bool
	cancel  context.CancelFunc
	stopped bool
	status  CheckerStatus
}

// ServerStatus is one real server's state, for the status API.
type ServerStatus struct {
	VS      table.ServiceKey
	RS      netip.AddrPort
	Up      bool
	Weight  int // effective weight (configured, dynamic offsets, feedback)
	Inhibit bool
	// Suspended: ha_suspend holds its checkers (no address of its virtual service on
	// this host).
	Suspended bool
	// FeedbackPercent is the dynamic feedback percentage; 0 without feedback.
	FeedbackPercent float64
	Checkers        []CheckerStatus
}

// ByServer indexes statuses by virtual service and real server.
func ByServer(statuses []ServerStatus) map[table.ServiceKey]map[netip.AddrPort]ServerStatus {
	out := map[table.ServiceKey]map[netip.AddrPort]ServerStatus{}
	for _, c := range statuses {
		if out[c.VS] == nil {
			out[c.VS] = map[netip.AddrPort]ServerStatus{}
		}
		out[c.VS][c.RS] = c
	}
	return out
}

// CheckerStatus is one checker's state and last result.
type CheckerStatus struct {
	Name        string // e.g. "HTTP_GET#0"
	Up          bool
	Failures    int    // consecutive failures counted toward retry
	Checks      uint64 // probes run
	LastOK      bool
	LastError   string
	LastLatency time.Duration
	LastAt      time.Time
}

// NewManager returns a manager; nothing runs until Run.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.NotifyTimeout <= 0 {
		opts.NotifyTimeout = DefaultNotifyTimeout
	}
	return &Manager{
		opts:      opts,
		logger:    opts.Logger.With("component", "check"),
		servers:   map[Key]*server{},
		wake:      make(chan struct{}, 1),
		events:    make(chan Event, 64),
		hostAddrs: map[addrOnLink]struct{}{},
		addrCount: map[netip.Addr]int{},
	}
}

// Events delivers transitions and weight changes in order. It is closed when Run
// returns. Checkers never wait for the reader: events queue up in between.
func (m *Manager) Events() <-chan Event { return m.events }

// Run starts every checker and runs until ctx ends; then it stops them, runs notify_down
// for servers with omega that are up, and closes Events.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.ctx != nil {
		m.mu.Unlock()
		return errors.New("check: Manager.Run called twice")
	}
	m.ctx = ctx
	for _, srv := range m.servers {
		m.startServerLocked(srv)
	}
	m.mu.Unlock()
	release := func() {}
	if m.opts.Mailer != nil {
		// The shutdown alerts below are sent after ctx has ended, when the mailer
		// would otherwise stop.
		release = m.opts.Mailer.Hold()
	}
	defer release()

	pumpDone := make(chan struct{})
	go func() { defer close(pumpDone); m.pump(ctx) }()
	<-ctx.Done()

	m.mu.Lock()
	m.stopped = true
	var omega []*script.Spec
	for _, srv := range m.servers {
		// omega: what keepalived does for each live server as it stops
		// (ipwrapper.c, clear_service_rs): notify_down, and smtp_alert mail.
		if !srv.up || !srv.rs.Omega {
			continue
		}
		if srv.notifyDown != nil {
			omega = append(omega, srv.notifyDown)
		}
		m.alertLocked(srv, false, "=> Shutting down <=")
	}
	m.mu.Unlock()
	release()
	m.wg.Wait()
	for _, s := range omega {
		m.runScript(context.Background(), *s)
	}
	<-pumpDone
	close(m.events)
	return nil
}

// pump forwards queued events to the channel until ctx ends.
func (m *Manager) pump(ctx context.Context) {
	for {
		m.mu.Lock()
		batch := m.queue
		m.queue = nil
		m.mu.Unlock()
		for _, ev := range batch {
			select {
			case m.events <- ev:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-m.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (m *Manager) emitLocked(ev Event) {
	m.queue = append(m.queue, ev)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// built is a validated real server, ready to apply.
type built struct {
	rs         RealServer
	checkers   []*checkerState
	notifyUp   *script.Spec
	notifyDown *script.Spec
	feedback   *Feedback
	fbInterval time.Duration
	fbTimeout  time.Duration
}

// Update replaces the set of real servers. Every server and checker is validated first;
// on any error nothing changes and the error lists every problem. Checkers whose
// identity (virtual server, real server, index, type) and attributes are unchanged keep
// running untouched; changed ones keep their up/down state; new ones start as keepalived
// starts them (warmup, alpha). After Update, Status gives every server's state; Events
// report changes from then on.
func (m *Manager) Update(servers []RealServer) error {
	env := Env{Logger: m.logger, Security: m.opts.Security, BFDUp: m.opts.BFDUp, BFDChanged: m.opts.BFDChanged}
	var errs []error
	next := make(map[Key]*built, len(servers))
	for _, rs := range servers {
		key := Key{VS: rs.VS, RS: rs.Addr}
		if _, dup := next[key]; dup {
			errs = append(errs, fmt.Errorf("real server %v: defined twice", key))
			continue
		}
		b, err := m.build(rs, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("real server %v: %w", key, err))
			continue
		}
		next[key] = b
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return errors.New("check: manager stopped")
	}
	for key, srv := range m.servers {
		if _, keep := next[key]; !keep {
			m.stopServerLocked(srv)
			m.removedLocked(srv)
			delete(m.servers, key)
		}
	}
	for key, b := range next {
		srv, exists := m.servers[key]
		if !exists {
			srv = &server{}
			m.servers[key] = srv
		}
		m.applyLocked(srv, b, exists)
	}
	return nil
}

func (m *Manager) build(rs RealServer, env Env) (*built, error) {
	if !rs.Addr.Addr().IsValid() {
		return nil, errors.New("no address")
	}
	if rs.Weight < 0 || rs.Weight > MaxWeight {
		return nil, fmt.Errorf("weight %d: want 0..%d", rs.Weight, MaxWeight)
	}
	b := &built{rs: rs}
	var errs []error
	for i, spec := range rs.Checkers {
		name := fmt.Sprintf("%s#%d", spec.Type, i)
		where := name
		if spec.Source != "" {
			where += " (" + spec.Source + ")"
		}
		timers := spec.Timing.Over(rs.Timing).Resolve(spec.Type)
		if err := timers.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		c, err := New(spec, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		target := Target{
			Addr:      netip.AddrPortFrom(rs.Addr.Addr(), rs.Addr.Port()),
			Bind:      netip.AddrPortFrom(spec.BindTo, spec.BindPort),
			BindIf:    spec.BindIf,
			FWMark:    spec.FWMark,
			Timeout:   timers.ConnectTimeout,
			DelayLoop: timers.DelayLoop,
			Weight:    rs.Weight,
		}
		if spec.ConnectIP.IsValid() {
			target.Addr = netip.AddrPortFrom(spec.ConnectIP, target.Addr.Port())
		}
		if spec.ConnectPort != 0 {
			target.Addr = netip.AddrPortFrom(target.Addr.Addr(), spec.ConnectPort)
		}
		if !kindOf(spec.Type).Portless && target.Addr.Port() == 0 {
			errs = append(errs, fmt.Errorf("%s: no port to connect to (set connect_port)", where))
			continue
		}
		b.checkers = append(b.checkers, &checkerState{name: name, spec: spec, checker: c, timers: timers, target: target})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	b.notifyUp = m.notifyScript(rs.NotifyUp, "notify_up")
	b.notifyDown = m.notifyScript(rs.NotifyDown, "notify_down")
	if rs.Feedback != nil {
		rsTimers := rs.Timing.Resolve("")
		fb, err := rs.Feedback.withDefaults(rsTimers)
		if err != nil {
			return nil, err
		}
		b.feedback, b.fbInterval, b.fbTimeout = &fb, fb.AgentInterval, fb.AgentTimeout
	}
	return b, nil
}

// notifyScript checks a notify script as keepalived does: an insecure or missing script
// is disabled with a warning, not an error.
func (m *Manager) notifyScript(argv []string, keyword string) *script.Spec {
	if len(argv) == 0 {
		return nil
	}
	s, err := m.opts.Security.Apply(script.Spec{Argv: argv, Timeout: m.opts.NotifyTimeout}, m.logger)
	if err != nil {
		m.logger.Warn("disabling script", "keyword", keyword, "script", strings.Join(argv, " "), "err", err)
		return nil
	}
	return &s
}

func (m *Manager) applyLocked(srv *server, b *built, existed bool) {
	old := map[string]*checkerState{}
	for _, cs := range srv.checkers {
		old[cs.name] = cs
	}
	srv.rs, srv.notifyUp, srv.notifyDown = b.rs, b.notifyUp, b.notifyDown
	srv.rsName, srv.routerVSName = names(b.rs)
	var checkers []*checkerState
	for _, cs := range b.checkers {
		prev := old[cs.name]
		delete(old, cs.name)
		switch {
		case prev != nil && reflect.DeepEqual(prev.spec, cs.spec) && prev.timers == cs.timers && prev.target == cs.target:
			checkers = append(checkers, prev) // unchanged: keeps running
		case prev != nil:
			m.stopCheckerLocked(prev)
			cs.probe = prev.probe.carry(cs.timers, steps(cs.checker), fast(cs.checker))
			cs.offset, cs.hasOff, cs.status = prev.offset, prev.hasOff, prev.status
			checkers = append(checkers, cs)
			m.startCheckerLocked(srv, cs, jitter(cs.timers.DelayLoop))
		default:
			cs.probe = newProbe(cs.timers, steps(cs.checker), fast(cs.checker))
			cs.status = CheckerStatus{Name: cs.name, Up: cs.probe.up}
			checkers = append(checkers, cs)
			m.startCheckerLocked(srv, cs, jitter(cs.timers.Warmup))
		}
	}
	for _, cs := range old {
		m.stopCheckerLocked(cs)
	}
	srv.checkers = checkers

	if !reflect.DeepEqual(srv.fbConfig, b.feedback) {
		if srv.fbCancel != nil {
			srv.fbCancel()
			srv.fbCancel = nil
		}
		srv.fb, srv.fbConfig = nil, b.feedback
		if b.feedback != nil {
			st := newFeedbackState(*b.feedback)
			srv.fb = &st
			srv.fbInterval = b.fbInterval
			srv.fbTarget = Target{Addr: netip.AddrPortFrom(b.rs.Addr.Addr(), b.feedback.AgentPort), Timeout: b.fbTimeout}
			m.startFeedbackLocked(srv)
		}
	}

	if !existed {
		srv.up = allUp(srv)
		srv.weight = effectiveWeight(srv)
		// rs_init_notifies: keepalived runs notify_up for a server that starts alive
		// (no alpha, no failed checker) as it adds it; no mail (checkers send those).
		if srv.up && b.rs.InitNotify && srv.notifyUp != nil {
			srv.initNotify = true
			m.initNotifyLocked(srv)
		}
		return
	}
	m.recomputeLocked(srv, "", "configuration reloaded", 0)
}

func names(rs RealServer) (rsName, vsName string) {
	proto := strings.ToLower(rs.VS.Protocol.String())
	vsName = rs.VSName
	if rs.VS.FWMark != 0 {
		if vsName == "" {
			vsName = rs.VS.String()
		}
		return fmt.Sprintf("[%s]:%d", rs.Addr.Addr(), rs.Addr.Port()), vsName
	}
	if vsName == "" {
		vsName = notify.Endpoint(rs.VS.Addr.Addr().String(), proto, rs.VS.Addr.Port())
	}
	return notify.Endpoint(rs.Addr.Addr().String(), proto, rs.Addr.Port()), vsName
}

func steps(c Checker) int {
	if s, ok := c.(Stepper); ok {
		return s.Steps()
	}
	return 1
}

func fast(c Checker) bool {
	s, ok := c.(Stepper)
	return ok && s.FastRecovery()
}

// jitter is keepalived's warmup: the first run at a random time in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

func allUp(srv *server) bool {
	for _, cs := range srv.checkers {
		if !cs.probe.up {
			return false
		}
	}
	return true
}

func effectiveWeight(srv *server) int {
	w := srv.rs.Weight
	for _, cs := range srv.checkers {
		if cs.hasOff {
			w += cs.offset
		}
	}
	w = max(0, min(MaxWeight, w))
	if srv.fb != nil {
		w = srv.fb.scale(w)
	}
	return w
}

func (m *Manager) startServerLocked(srv *server) {
	m.initNotifyLocked(srv)
	for _, cs := range srv.checkers {
		if cs.cancel == nil && !cs.stopped {
			m.startCheckerLocked(srv, cs, jitter(cs.timers.Warmup))
		}
	}
	if srv.fb != nil && srv.fbCancel == nil {
		m.startFeedbackLocked(srv)
	}
}

// initNotifyLocked runs a pending rs_init_notifies notify_up once the manager runs.
func (m *Manager) initNotifyLocked(srv *server) {
	if !srv.initNotify || m.ctx == nil {
		return
	}
	srv.initNotify = false
	m.logger.Info("real server up at start (rs_init_notifies)", "rs", srv.rsName, "vs", srv.routerVSName)
	m.spawnScript(*srv.notifyUp)
}

func (m *Manager) stopServerLocked(srv *server) {
	for _, cs := range srv.checkers {
		m.stopCheckerLocked(cs)
	}
	if srv.fbCancel != nil {
		srv.fbCancel()
		srv.fbCancel = nil
	}
}

func (m *Manager) startCheckerLocked(srv *server, cs *checkerState, first time.Duration) {
	if m.ctx == nil {
		return // Run starts it
	}
	ctx, cancel := context.WithCancel(m.ctx)
	cs.cancel = cancel
	m.wg.Add(1)
	go m.runChecker(ctx, srv, cs, onGrain(time.Now(), first))
}

func (m *Manager) stopCheckerLocked(cs *checkerState) {
	cs.stopped = true
	if cs.cancel != nil {
		cs.cancel()
	}
}

// runChecker is the generic runner: it probes at the times the probe state says and
// feeds each result back.
func (m *Manager) runChecker(ctx context.Context, srv *server, cs *checkerState, first time.Duration) {
	defer m.wg.Done()
	timer := time.NewTimer(first)
	defer timer.Stop()
	follower, _ := cs.checker.(Follower)
	var changed <-chan struct{} // nil (never ready) unless the checker is a Follower
	if follower != nil {
		changed = follower.Changed()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-changed:
			timer.Stop()
		}
		if follower != nil {
			// Taken before the probe, so a change during it is not missed.
			changed = follower.Changed()
		}
		m.mu.Lock()
		suspended := m.suspended[srv.rs.VS]
		target := cs.target
		target.Step = cs.probe.step
		m.mu.Unlock()
		if suspended {
			// ha_suspend: look again a delay_loop later, as keepalived does.
			timer.Reset(onGrain(time.Now(), cs.timers.DelayLoop))
			continue
		}
		timeout := target.Timeout
		if o, ok := cs.checker.(TimeoutOverrider); ok {
			timeout = o.Timeout(target)
		}
		start := time.Now()
		res := probeOnce(ctx, cs.checker, target, timeout)
		latency := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		next, ok := m.observe(srv, cs, res, latency, start)
		if !ok {
			return
		}
		timer.Reset(onGrain(time.Now(), next))
	}
}

// wakeGrain is the grid that probe times are rounded to. Probes of many checkers then
// fall due together and run from one wake-up of the runtime's timer thread rather than
// one each: with 1,000 checks a second spread over the interval by warmup, 100
// wake-ups a second of about 10 probes instead of 1,000 of one (a third less CPU,
// measured by BenchmarkThousandServers). A probe moves by at most half the grain, and
// on average not at all, which keepalived's second-scale timers do not notice.
const wakeGrain = 10 * time.Millisecond

// onGrain returns the wait from now until the grid point nearest now+d, never less
// than d−wakeGrain/2 nor 0 for a positive d; a wait of 0 (fast_recovery's back-to-back
// URLs) stays 0.
func onGrain(now time.Time, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	slot := now.Add(d).Round(wakeGrain)
	if !slot.After(now) {
		slot = slot.Add(wakeGrain)
	}
	return slot.Sub(now)
}

// probeOnce runs one check under its deadline; a panicking checker counts as a failure.
func probeOnce(ctx context.Context, c Checker, t Target, timeout time.Duration) (res Result) {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			res = Down("checker panicked: %v", p)
		}
	}()
	return c.Check(pctx, t)
}

// observe records one result and returns the delay to the next probe; ok is false when
// the checker was stopped meanwhile.
func (m *Manager) observe(srv *server, cs *checkerState, res Result, latency time.Duration, at time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cs.stopped {
		return 0, false
	}
	next, changed := cs.probe.observe(res.Err == nil)
	st := &cs.status
	st.Up, st.Failures, st.Checks = cs.probe.up, cs.probe.failures, st.Checks+1
	st.LastOK, st.LastLatency, st.LastAt, st.LastError = res.Err == nil, latency, at, ""
	if res.Err != nil {
		st.LastError = res.Err.Error()
		if cs.probe.up {
			m.logger.Info("check failed, will retry", "rs", srv.rsName, "checker", cs.name, "err", res.Err)
		} else if cs.spec.LogAllFailures {
			m.logger.Info("check failed", "rs", srv.rsName, "checker", cs.name, "err", res.Err)
		}
	}
	if res.Err == nil && res.HasWeight {
		cs.offset, cs.hasOff = res.WeightOffset, true
	}
	if changed && !cs.probe.up {
		cs.offset, cs.hasOff = 0, false // the dynamic weight is dropped on final failure
	}
	if res.Err == nil && srv.fb != nil {
		srv.fb.observeLatency(latency)
	}
	reason := "passed"
	if res.Err != nil {
		reason = res.Err.Error()
	}
	wasUp := srv.up
	m.recomputeLocked(srv, cs.name, reason, latency)
	// keepalived mails each checker's transition, or with no_checker_emails only
	// those that change the server's state.
	if changed && (srv.up != wasUp || !srv.rs.OnlyServerEmails) {
		body := "=> CHECK succeed on service <="
		if !cs.probe.up {
			body = fmt.Sprintf("=> CHECK failed on service : %s <=", reason)
		}
		m.alertLocked(srv, srv.up, body)
	}
	return next, true
}

// recomputeLocked derives the server's state and weight and reports what changed.
func (m *Manager) recomputeLocked(srv *server, checker, reason string, latency time.Duration) {
	up, weight := allUp(srv), effectiveWeight(srv)
	if up == srv.up && weight == srv.weight {
		return
	}
	ev := Event{VS: srv.rs.VS, RS: srv.rs.Addr, Up: up, Weight: -1, Checker: checker, Reason: reason, Latency: latency, At: time.Now()}
	if weight != srv.weight {
		ev.Weight = weight
	}
	transition := up != srv.up
	srv.up, srv.weight = up, weight
	m.emitLocked(ev)
	if !transition {
		m.logger.Info("real server weight changed", "rs", srv.rsName, "vs", srv.routerVSName, "weight", weight, "checker", checker)
		return
	}
	m.logger.Info("real server "+upDown(up), "rs", srv.rsName, "vs", srv.routerVSName, "checker", checker, "reason", reason)
	m.writeFIFOsLocked(fmt.Sprintf("RS %s %s %s\n", srv.rsName, srv.routerVSName, strings.ToUpper(upDown(up))))
	if s := srv.notifyDown; !up && s != nil {
		m.spawnScript(*s)
	}
	if s := srv.notifyUp; up && s != nil {
		m.spawnScript(*s)
	}
}

// removedLocked is what keepalived does for a live real server that a reload removes
// (ipwrapper.c, clear_service_rs): notify_down, and smtp_alert mail.
func (m *Manager) removedLocked(srv *server) {
	if !srv.up {
		return
	}
	m.logger.Info("real server removed", "rs", srv.rsName, "vs", srv.routerVSName)
	if s := srv.notifyDown; s != nil && m.ctx != nil {
		m.spawnScript(*s)
	}
	m.alertLocked(srv, false, "=> Removing <=")
}

// SetFIFOs sets the notify FIFOs that get a line for each real server that goes up
// or down (keepalived's notify_fifo and lvs_notify_fifo).
func (m *Manager) SetFIFOs(paths []string) {
	m.mu.Lock()
	m.fifos = paths
	m.mu.Unlock()
}

func (m *Manager) writeFIFOsLocked(line string) {
	for _, p := range m.fifos {
		if err := notify.WriteFIFO(p, line); err != nil {
			m.logger.Warn("notify FIFO", "fifo", p, "err", err)
		}
	}
}

// alertLocked mails keepalived's real server alert when the server has smtp_alert.
func (m *Manager) alertLocked(srv *server, up bool, body string) {
	if srv.rs.SMTPAlert && m.opts.Mailer != nil {
		m.opts.Mailer.Send(notify.RealServer(m.opts.Mailer.RouterID(), srv.rsName, srv.routerVSName, up, body))
	}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func (m *Manager) spawnScript(s script.Spec) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.runScript(context.Background(), s)
	}()
}

func (m *Manager) runScript(ctx context.Context, s script.Spec) {
	script.Run(ctx, s, m.logger)
}

func (m *Manager) startFeedbackLocked(srv *server) {
	if m.ctx == nil || srv.fbConfig == nil || srv.fbConfig.AgentPort == 0 {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	srv.fbCancel = cancel
	fb, target, interval := srv.fb, srv.fbTarget, srv.fbInterval
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			actx, acancel := context.WithTimeout(ctx, target.Timeout)
			p, ok, err := queryAgent(actx, target)
			acancel()
			if ctx.Err() != nil {
				return
			}
			m.mu.Lock()
			switch {
			case err != nil:
				m.logger.Debug("feedback agent", "rs", srv.rsName, "err", err)
			case ok && srv.fb == fb:
				fb.observeAgent(p)
				m.recomputeLocked(srv, "feedback", fmt.Sprintf("agent: %.0f%%", p), 0)
			}
			m.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
}

// Status returns every real server's state, ordered by virtual then real server.
func (m *Manager) Status() []ServerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ServerStatus, 0, len(m.servers))
	for key, srv := range m.servers {
		st := ServerStatus{VS: key.VS, RS: key.RS, Up: srv.up, Weight: srv.weight, Inhibit: srv.rs.Inhibit, Suspended: m.suspended[key.VS]}
		if srv.fb != nil {
			st.FeedbackPercent = srv.fb.percent
		}
		for _, cs := range srv.checkers {
			st.Checkers = append(st.Checkers, cs.status)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.VS != b.VS {
			return a.VS.String() < b.VS.String()
		}
		return a.RS.Compare(b.RS) < 0
	})
	return out
}
