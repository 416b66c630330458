// Package engine owns govs's runtime state in one goroutine. It turns the configuration
// (a Spec), health events, and admin commands into the desired table and hands the whole
// table to the data plane, which diffs. Nothing else changes state: every other
// component sends the engine events.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/table"
)

// HealthEvent is a real server's health as its checkers see it: a transition, or a
// new dynamic weight (MISC_CHECK misc_dynamic, FILE_CHECK, feedback).
type HealthEvent struct {
	Service table.ServiceKey
	RS      netip.AddrPort
	Up      bool
	// Weight is a dynamic weight to use instead of the configured one while the
	// server is up (the checkers' effective weight); -1 leaves the weight as it is.
	Weight int
	Reason string
}

// AdminOp is a runtime change made with `govs adm`: a function from table to table.
// The engine keeps every applied op and replays them on each recomputation, so they
// survive health changes until the next reload, like ipvsadm rules survive until
// keepalived reloads.
type AdminOp func(table.Table) (table.Table, error)

// Engine is the runtime state. Create it with New and start it with Run.
type Engine struct {
	dp      dataplane.Dataplane
	log     *slog.Logger
	scripts ScriptRunner
	alert   func(vs, what, body string)
	// stopping is Options.Stopping.
	stopping func(Status)
	reqs     chan func(*state)
	done     chan struct{}
}

// ScriptRunner runs notify and quorum scripts; tests substitute their own.
type ScriptRunner func(ctx context.Context, s script.Spec)

// Options configure an Engine.
type Options struct {
	Logger  *slog.Logger
	Scripts ScriptRunner // default: run with internal/script, output to the log
	// Alert, when set, mails a quorum change of a service with smtp_alert: the
	// service's name, UP or DOWN, and keepalived's body.
	Alert func(vs, what, body string)
	// Stopping, when set, is given the last status as Run stops, for what keepalived
	// announces as its checkers shut down (SNMP notifications).
	Stopping func(Status)
}

// state is owned by the Run goroutine.
type state struct {
	ctx    context.Context
	spec   Spec
	health map[rsID]*health
	// healthOf[i][j] is s.health's entry for spec.Services[i].RealServers[j], so that
	// recomputing the table looks nothing up.
	healthOf [][]*health
	// loads counts Load calls; an entry that the latest Load did not stamp is gone.
	loads   uint64
	quorum  map[table.ServiceKey]bool
	overlay []AdminOp
	applied table.Table
	events  []Event
}

type health struct {
	up     bool
	weight int // dynamic weight, -1 for none
	// shift is what SetWeight moved the weight by until the next reload: dynamic
	// weights move it on from the weight set, as they move keepalived's effective
	// weight from what its SNMP set wrote.
	shift  int
	reason string
	since  time.Time
	load   uint64 // the last Load whose spec has this real server
}

// Event is one thing worth showing an operator: a state change with its reason.
type Event struct {
	At      time.Time
	Kind    string // "rs-up", "rs-down", "quorum-up", "quorum-down", "reload", "admin"
	Service string
	RS      string
	Message string
}

const maxEvents = 200

// New returns an engine that will drive dp.
func New(dp dataplane.Dataplane, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{dp: dp, log: opts.Logger, scripts: opts.Scripts, alert: opts.Alert, stopping: opts.Stopping, reqs: make(chan func(*state)), done: make(chan struct{})}
	if e.scripts == nil {
		e.scripts = func(ctx context.Context, s script.Spec) {
			res := script.Run(ctx, s, e.log)
			if !res.OK() {
				e.log.Warn("script failed", "script", s.String(), "exit", res.ExitCode, "err", res.Err)
			}
		}
	}
	return e
}

// ErrStopped is returned by calls made after Run has returned.
var ErrStopped = errors.New("engine stopped")

// Run owns the state until ctx is done.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.done)
	s := &state{ctx: ctx, health: map[rsID]*health{}, quorum: map[table.ServiceKey]bool{}}
	for {
		select {
		case <-ctx.Done():
			if e.stopping != nil {
				e.stopping(s.status())
			}
			e.notifyStop(s)
			return nil
		case f := <-e.reqs:
			f(s)
		}
	}
}

// do runs f in the engine goroutine and waits for it.
func (e *Engine) do(ctx context.Context, f func(*state)) error {
	finished := make(chan struct{})
	select {
	case e.reqs <- func(s *state) { f(s); close(finished) }:
	case <-e.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-finished:
		return nil
	case <-e.done:
		return ErrStopped
	}
}

// Load installs a new spec (start-up or reload). Health of real servers that still
// exist is kept; admin changes are dropped, as a keepalived reload drops ipvsadm edits,
// and so are the weights SetWeight set, as keepalived's reload its SNMP sets.
func (e *Engine) Load(ctx context.Context, spec Spec) error {
	var err error
	derr := e.do(ctx, func(s *state) {
		first := s.spec.Services == nil
		s.spec = spec
		s.spec.Services = withConfigured(spec.Services)
		s.overlay = nil
		s.loads++
		now := time.Now()
		total := 0
		for _, vs := range spec.Services {
			total += len(vs.RealServers)
		}
		// One lookup per real server: its entry is kept (with its health) or made,
		// stamped with this load, and remembered beside the spec.
		all := make([]*health, 0, total)
		distinct := 0 // a server named twice has one entry
		s.healthOf = make([][]*health, len(spec.Services))
		for i, vs := range spec.Services {
			start := len(all)
			for _, rs := range vs.RealServers {
				id := vs.healthID(&rs)
				h, ok := s.health[id]
				if !ok {
					// Without alpha a server starts alive, as keepalived puts it in
					// IPVS at once; with alpha it must pass its checks first.
					h = &health{up: !rs.Checked || !rs.Alpha, weight: -1, since: now, reason: "initial state"}
					s.health[id] = h
				}
				if h.load != s.loads {
					h.load = s.loads
					h.shift = 0 // a reload gives the configured weight back
					distinct++
				}
				all = append(all, h)
			}
			s.healthOf[i] = all[start:len(all):len(all)]
		}
		if len(s.health) > distinct {
			for id, h := range s.health {
				if h.load != s.loads {
					delete(s.health, id)
				}
			}
		}
		if !first {
			s.record(Event{Kind: "reload", Message: fmt.Sprintf("%d virtual services", len(spec.Services))})
		}
		err = e.apply(s)
	})
	return errors.Join(derr, err)
}

// Health records a health event from the checkers.
func (e *Engine) Health(ctx context.Context, ev HealthEvent) error {
	var err error
	derr := e.do(ctx, func(s *state) {
		id := rsID{ev.Service, ev.RS}
		h, ok := s.health[id]
		if !ok {
			return // a server a reload removed; its checker was late
		}
		changed := h.up != ev.Up
		reweighted := ev.Weight >= 0 && ev.Weight != h.weight
		if !changed && !reweighted {
			return
		}
		if reweighted {
			h.weight = ev.Weight
		}
		if changed {
			h.up, h.reason, h.since = ev.Up, ev.Reason, time.Now()
			kind, verb := "rs-down", "DOWN"
			if ev.Up {
				kind, verb = "rs-up", "UP"
			}
			e.log.Info("real server "+verb, "service", ev.Service.String(), "rs", ev.RS.String(), "reason", ev.Reason)
			s.record(Event{Kind: kind, Service: ev.Service.String(), RS: ev.RS.String(), Message: ev.Reason})
		}
		err = e.apply(s)
	})
	return errors.Join(derr, err)
}

// Admin applies a runtime change and keeps it until the next reload. An op that fails
// against the current table is refused and not kept.
func (e *Engine) Admin(ctx context.Context, op AdminOp) error {
	var err error
	derr := e.do(ctx, func(s *state) {
		if _, err = op(s.applied); err != nil {
			return
		}
		s.overlay = append(s.overlay, op)
		if err = e.apply(s); err != nil {
			// The data plane refused it (a listener it cannot open, say): forget it.
			s.overlay = s.overlay[:len(s.overlay)-1]
			err = errors.Join(err, e.apply(s))
		}
	})
	return errors.Join(derr, err)
}

// SetWeight gives real server rs of service key the weight weight (0..check.MaxWeight)
// until the next reload, as keepalived's SNMP set of realServerWeight (update_svr_wgt):
// the weight it has whenever it is up, counted in its service's quorum; a server down
// takes it when it comes back. rs is the address the service's status names it by.
func (e *Engine) SetWeight(ctx context.Context, key table.ServiceKey, rs netip.AddrPort, weight int) error {
	var err error
	derr := e.do(ctx, func(s *state) {
		i := slices.IndexFunc(s.spec.Services, func(vs VirtualService) bool { return vs.Service.ServiceKey == key })
		if i < 0 {
			err = fmt.Errorf("no virtual service %s", key)
			return
		}
		vs := &s.spec.Services[i]
		j := slices.IndexFunc(vs.RealServers, func(r RealServer) bool { return r.Addr == rs })
		if j < 0 {
			err = fmt.Errorf("virtual service %s has no real server %s", key, rs)
			return
		}
		h, r := s.healthOf[i][j], &vs.RealServers[j]
		from := h.weightOf(r)
		h.shift = weight - h.dynamicWeight(r)
		if from == weight {
			return
		}
		e.log.Info("real server weight set", "service", key.String(), "rs", rs.String(), "from", from, "to", weight)
		err = e.apply(s)
	})
	return errors.Join(derr, err)
}

// dynamicWeight is the weight the checkers give a real server: their dynamic weight,
// or the configured one.
func (h *health) dynamicWeight(rs *RealServer) int {
	if h.weight >= 0 {
		return h.weight
	}
	return rs.Weight
}

// weightOf is the weight a real server has when up: its dynamic weight moved by
// SetWeight, within 0..check.MaxWeight (keepalived's real_weight).
func (h *health) weightOf(rs *RealServer) int {
	return max(0, min(check.MaxWeight, h.dynamicWeight(rs)+h.shift))
}

// Table returns the table last handed to the data plane.
func (e *Engine) Table(ctx context.Context) (table.Table, error) {
	var t table.Table
	err := e.do(ctx, func(s *state) { t = s.applied })
	return t, err
}

// ServiceStatus is one virtual service as the status API shows it.
type ServiceStatus struct {
	Key         table.ServiceKey
	Quorum      bool
	RealServers []RealServerStatus
}

// RealServerStatus is one real server's health and the weight it has in the table.
type RealServerStatus struct {
	Addr   netip.AddrPort
	Up     bool
	Weight int // configured weight
	// EffectiveWeight is the weight it has when up: its dynamic or configured
	// weight, or what SetWeight made it (keepalived's effective weight).
	EffectiveWeight int
	TableWeight     int // weight in the table now; -1 when not in the table
	// CheckedVS and CheckedAddr are what the checkers report the server's health
	// under (check.ServerStatus's VS and RS): a group member's first member, and an
	// address other than Addr where the table's port is not the configured one.
	CheckedVS   table.ServiceKey
	CheckedAddr netip.AddrPort
	Reason      string
	Since       time.Time
}

// Status is a snapshot for the status API, `govs status` and the dashboard.
type Status struct {
	Services []ServiceStatus
	Events   []Event
}

// Status returns a snapshot of health, quorum and recent events.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	var st Status
	err := e.do(ctx, func(s *state) { st = s.status() })
	return st, err
}

// status is the state's health, quorum and recent events.
func (s *state) status() Status {
	var st Status
	// The first service of a key in the table, as the data planes take it.
	applied := make(map[table.ServiceKey]*table.Service, len(s.applied.Services))
	for i := range s.applied.Services {
		if t := &s.applied.Services[i]; applied[t.ServiceKey] == nil {
			applied[t.ServiceKey] = t
		}
	}
	st.Services = make([]ServiceStatus, 0, len(s.spec.Services))
	for i, vs := range s.spec.Services {
		key := vs.Service.ServiceKey
		ss := ServiceStatus{Key: key, Quorum: s.quorum[key], RealServers: make([]RealServerStatus, 0, len(vs.RealServers))}
		var dests []table.Dest
		if t := applied[key]; t != nil {
			dests = t.Dests
		}
		for j, rs := range vs.RealServers {
			h := s.healthOf[i][j]
			id := vs.healthID(&rs)
			rst := RealServerStatus{Addr: rs.Addr, Up: h.up, Weight: rs.Weight, EffectiveWeight: h.weightOf(&rs), TableWeight: -1,
				CheckedVS: id.service, CheckedAddr: id.addr, Reason: h.reason, Since: h.since}
			// Few destinations per service: a scan beats building a map.
			if k := slices.IndexFunc(dests, func(d table.Dest) bool { return d.Addr == rs.Addr }); k >= 0 {
				rst.TableWeight = dests[k].Weight
			}
			ss.RealServers = append(ss.RealServers, rst)
		}
		st.Services = append(st.Services, ss)
	}
	st.Events = slices.Clone(s.events)
	return st
}

// withConfigured returns a copy of services whose table services name their configured
// real servers, built once per load so that recomputing the table allocates nothing for
// them.
func withConfigured(services []VirtualService) []VirtualService {
	out := slices.Clone(services)
	total := 0
	for _, vs := range services {
		total += len(vs.RealServers)
	}
	all := make([]table.Dest, 0, total)
	for i, vs := range out {
		start := len(all)
		for _, rs := range vs.RealServers {
			all = append(all, rs.dest(rs.Weight))
		}
		out[i].Service.Configured = all[start:len(all):len(all)]
	}
	return out
}

// apply recomputes the desired table and hands it to the data plane.
func (e *Engine) apply(s *state) error {
	t := e.compute(s)
	for _, op := range s.overlay {
		// An op that no longer fits (its real server left with a health change) is
		// skipped for now and tried again on the next recomputation.
		if next, err := op(t); err == nil {
			t = next
		}
	}
	s.applied = t
	return e.dp.Apply(s.ctx, t)
}

// compute derives the table from the spec and health, with keepalived's rules for
// inhibit_on_failure, quorum and the sorry server.
func (e *Engine) compute(s *state) table.Table {
	t := table.Table{Timeouts: s.spec.Timeouts, Services: make([]table.Service, 0, len(s.spec.Services))}
	// Every service's destinations share one allocation, each capped to its own part.
	total := 0
	for _, vs := range s.spec.Services {
		total += len(vs.RealServers)
	}
	dests := make([]table.Dest, 0, total)
	for i, vs := range s.spec.Services {
		svc := vs.Service
		start := len(dests)
		live := 0
		for j, rs := range vs.RealServers {
			h := s.healthOf[i][j]
			w := h.weightOf(&rs)
			switch {
			case h.up:
				live += w
				dests = append(dests, rs.dest(w))
			case rs.InhibitOnFailure:
				dests = append(dests, rs.dest(0))
			}
		}
		svc.Dests = nil
		if len(dests) > start {
			svc.Dests = dests[start:len(dests):len(dests)]
		}
		up := e.quorumState(s, &s.spec.Services[i], live)
		if !up && vs.Sorry != nil {
			svc.Dests = []table.Dest{vs.Sorry.dest(vs.Sorry.Weight)}
		} else if up && vs.Sorry != nil && vs.SorryInhibit {
			svc.Dests = append(svc.Dests, vs.Sorry.dest(0))
		}
		t.Services = append(t.Services, svc)
	}
	return t
}

// quorumState updates and returns whether vs has its quorum (check.Quorum's rule).
// As keepalived, it notifies (notifyQuorum) every transition, and at start, or when a
// reload adds the service, a quorum that is up, or one that is down where a sorry
// server then stands in.
func (e *Engine) quorumState(s *state, vs *VirtualService, live int) bool {
	key := vs.Service.ServiceKey
	q := check.Quorum{Quorum: max(vs.Quorum, 1), Hysteresis: vs.Hysteresis}
	up, known := s.quorum[key]
	// keepalived's threshold, from the state before the change.
	threshold := q.Quorum + q.Hysteresis
	if up {
		threshold = q.Quorum - q.Hysteresis
	}
	var next, changed bool
	if known {
		next, changed = q.Next(up, live)
	} else {
		next = q.Initial(live)
		changed = next || vs.Sorry != nil
	}
	s.quorum[key] = next
	if !changed || vs.HealthFrom != (table.ServiceKey{}) {
		return next
	}
	what := map[bool]string{true: "Gained quorum", false: "Lost quorum"}[next]
	if !known {
		what = map[bool]string{true: "Starting with quorum up", false: "Starting with quorum down"}[next]
	}
	kind := map[bool]string{true: "quorum-up", false: "quorum-down"}[next]
	e.log.Info(strings.ToLower(what), "service", vs.notifyName(), "live_weight", live, "quorum", q.Quorum, "hysteresis", q.Hysteresis)
	s.record(Event{Kind: kind, Service: key.String(), Message: fmt.Sprintf("live weight %d, quorum %d±%d", live, q.Quorum, q.Hysteresis)})
	e.notifyQuorum(s.ctx, s.spec.FIFOs, vs, next, fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, q.Quorum, q.Hysteresis, threshold, live))
	return next
}

// notifyQuorum runs quorum_up or quorum_down and reports the change (reportQuorum),
// keepalived's do_vs_notifies.
func (e *Engine) notifyQuorum(ctx context.Context, fifos []string, vs *VirtualService, up bool, body string) {
	script := vs.QuorumDown
	if up {
		script = vs.QuorumUp
	}
	e.runScript(ctx, script)
	e.reportQuorum(fifos, vs, up, body)
}

// reportQuorum writes the FIFO line and sends the mail (smtp_alert) of a quorum change.
func (e *Engine) reportQuorum(fifos []string, vs *VirtualService, up bool, body string) {
	what := map[bool]string{true: "UP", false: "DOWN"}[up]
	line := "VS " + vs.notifyName() + " " + what + "\n"
	for _, p := range fifos {
		if err := notify.WriteFIFO(p, line); err != nil {
			e.log.Warn("notify FIFO", "fifo", p, "err", err)
		}
	}
	if vs.SMTPAlert && e.alert != nil {
		e.alert(vs.notifyName(), what, body)
	}
}

// notifyStop is keepalived's shutdown of services with omega whose quorum is up: the
// quorum_down scripts, waited for at most a second, the FIFO lines and the mails.
func (e *Engine) notifyStop(s *state) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var scripts sync.WaitGroup
	for i := range s.spec.Services {
		vs := &s.spec.Services[i]
		if !vs.Omega || vs.HealthFrom != (table.ServiceKey{}) || !s.quorum[vs.Service.ServiceKey] {
			continue
		}
		if vs.QuorumDown != nil {
			scripts.Go(func() { e.scripts(ctx, *vs.QuorumDown) })
		}
		e.reportQuorum(s.spec.FIFOs, vs, false, "=> Shutting down <=")
	}
	scripts.Wait()
}

// notifyName is vs as keepalived's notifications show it.
func (vs *VirtualService) notifyName() string {
	if vs.Name != "" {
		return vs.Name
	}
	return fifoName(vs.Service.ServiceKey)
}

// fifoName is a virtual service as keepalived's FIFO lines show it: "FWM 7" or
// "[10.0.0.10]:tcp:80".
func fifoName(k table.ServiceKey) string {
	if k.FWMark != 0 {
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return notify.Endpoint(k.Addr.Addr().String(), k.Protocol.String(), k.Addr.Port())
}

func (e *Engine) runScript(ctx context.Context, s *script.Spec) {
	if s == nil {
		return
	}
	// Scripts run beside the engine so a slow one never holds up the table.
	go e.scripts(ctx, *s)
}

func (rs RealServer) dest(weight int) table.Dest {
	return table.Dest{Addr: rs.Addr, Weight: weight, Method: rs.Method, UThreshold: rs.UThreshold, LThreshold: rs.LThreshold,
		TunnelType: rs.TunnelType, TunnelPort: rs.TunnelPort, TunnelFlags: rs.TunnelFlags}
}

func (s *state) record(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	if len(s.events) == maxEvents {
		s.events = slices.Delete(s.events, 0, 1)
	}
	s.events = append(s.events, ev)
}
