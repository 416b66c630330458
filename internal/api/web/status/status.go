// Package status builds the one snapshot of a running govs that every operator view
// reads: the JSON API, the dashboard, the Prometheus metrics, `govs status` and the
// SIGUSR1/SIGUSR2 dumps. A snapshot is a plain value assembled from what the engine,
// the checkers, the VRRP node and the data plane already report, at the moment it is
// asked for, so no component keeps a second set of books for the operator.
package status

import (
	"slices"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/vrrp"
)

// Snapshot is everything an operator sees of one govs process.
type Snapshot struct {
	Node    string    `json:"node"`    // host name
	Version string    `json:"version"` // govs version
	Time    time.Time `json:"time"`    // when the snapshot was taken
	Started time.Time `json:"started"` // when the daemon started
	// Dataplane is the data plane that runs and why it was chosen; empty under -P.
	Dataplane string     `json:"dataplane,omitempty"`
	VRRP      []Instance `json:"vrrp"`
	Services  []Service  `json:"services"`
	// Events are the most recent state changes and check failures, oldest first.
	Events []Event `json:"events"`
}

// Instance is one VRRP instance.
type Instance struct {
	Name              string    `json:"name"`
	Interface         string    `json:"interface"`
	VRID              uint8     `json:"vrid"`
	Version           uint8     `json:"version"`
	State             string    `json:"state"` // INIT, BACKUP, MASTER, FAULT, STOP
	Priority          uint8     `json:"priority"`
	EffectivePriority uint8     `json:"effective_priority"`
	Master            string    `json:"master,omitempty"` // the master's address, when known
	MasterPriority    uint8     `json:"master_priority"`
	SourceAddr        string    `json:"source_addr,omitempty"`
	VIPs              []string  `json:"vips"`
	Faults            []string  `json:"faults,omitempty"`
	AdvertInterval    float64   `json:"advert_interval_seconds"`
	LastTransition    time.Time `json:"last_transition"`
	AdvertsSent       uint64    `json:"adverts_sent"`
	AdvertsReceived   uint64    `json:"adverts_received"`
	Priority0Sent     uint64    `json:"priority0_sent"`
	Priority0Received uint64    `json:"priority0_received"`
	Transitions       uint64    `json:"transitions"`
	BecameMaster      uint64    `json:"became_master"`
	// BadPackets counts dropped adverts by reason; reasons never seen are absent.
	BadPackets map[string]uint64 `json:"bad_packets,omitempty"`
}

// Counters are cumulative traffic counters, as ipvsadm --stats shows them.
type Counters struct {
	Conns    uint64 `json:"conns"`
	InPkts   uint64 `json:"in_packets"`
	OutPkts  uint64 `json:"out_packets"`
	InBytes  uint64 `json:"in_bytes"`
	OutBytes uint64 `json:"out_bytes"`
}

// Rates are per-second rates over the data plane's estimator window (ipvsadm --rate).
type Rates struct {
	CPS    uint64 `json:"cps"`
	InPPS  uint64 `json:"in_pps"`
	OutPPS uint64 `json:"out_pps"`
	InBPS  uint64 `json:"in_bps"`
	OutBPS uint64 `json:"out_bps"`
}

// Service is one virtual service.
type Service struct {
	Key       string `json:"key"` // "TCP 192.0.2.1:80", "FWM 7": what ServiceKey.String says
	Protocol  string `json:"protocol,omitempty"`
	Address   string `json:"address,omitempty"`
	FWMark    uint32 `json:"fwmark,omitempty"`
	Scheduler string `json:"scheduler"`
	// Persistence is the persistence timeout in seconds; 0 when not persistent.
	Persistence float64 `json:"persistence_seconds,omitempty"`
	Quorum      bool    `json:"quorum"` // the live weight reaches the quorum
	// Configured is false for a service added with govs adm and not in the configuration.
	Configured  bool         `json:"configured"`
	InTable     bool         `json:"in_table"`
	ActiveConns uint64       `json:"active_conns"`
	InactConns  uint64       `json:"inactive_conns"`
	Counters    Counters     `json:"counters"`
	Rates       Rates        `json:"rates"`
	RealServers []RealServer `json:"real_servers"`
}

// Health is a real server's state as the operator sees it.
type Health string

// The health states, from the checkers' verdict and the server's weight in the table.
const (
	HealthUp      Health = "up"      // checks pass, weight > 0 in the table
	HealthDrained Health = "drained" // checks pass, weight 0: no new connections
	HealthDown    Health = "down"    // checks fail
	HealthRemoved Health = "removed" // checks pass but govs adm took it out of the table
)

// RealServer is one real server of a service.
type RealServer struct {
	Address string `json:"address"`
	Health  Health `json:"health"`
	Up      bool   `json:"up"` // the checkers' verdict
	// Weight is the configured weight, TableWeight the one in the table now (-1: absent).
	Weight      int       `json:"weight"`
	TableWeight int       `json:"table_weight"`
	Method      string    `json:"method,omitempty"` // Masq, Route, Tunnel, Local
	Reason      string    `json:"reason,omitempty"` // why the health last changed
	Since       time.Time `json:"since"`            // when it last changed
	ActiveConns uint64    `json:"active_conns"`
	InactConns  uint64    `json:"inactive_conns"`
	Counters    Counters  `json:"counters"`
	Rates       Rates     `json:"rates"`
	Checkers    []Checker `json:"checkers,omitempty"`
}

// Checker is one health checker of a real server and its last result.
type Checker struct {
	Name     string `json:"name"` // e.g. "HTTP_GET#0"
	Up       bool   `json:"up"`
	Failures int    `json:"failures"` // consecutive failed probes
	Checks   uint64 `json:"checks"`   // probes run
	LastOK   bool   `json:"last_ok"`
	// LastError is the last probe's failure; empty when it passed.
	LastError   string    `json:"last_error,omitempty"`
	LastLatency float64   `json:"last_latency_seconds"`
	LastAt      time.Time `json:"last_at"`
}

// Event is one thing that happened: a state change or a failed check.
type Event struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"` // rs-up, rs-down, quorum-up, quorum-down, reload, admin, vrrp, check-failed
	Service  string    `json:"service,omitempty"`
	Server   string    `json:"server,omitempty"`
	Instance string    `json:"instance,omitempty"`
	Message  string    `json:"message"`
}

// MaxEvents bounds Snapshot.Events.
const MaxEvents = 100

// Input is what a snapshot is built from: each component's own report. Build is a
// pure function of it, so every view can be tested from values.
type Input struct {
	Node, Version string
	Time, Started time.Time
	Dataplane     string
	// Engine is the engine's status; Table the table it last applied; Stats the data
	// plane's counters. All three are zero when the engine does not run (-P).
	Engine engine.Status
	Table  table.Table
	Stats  table.Stats
	Checks []check.ServerStatus
	VRRP   []vrrp.InstanceStatus
	// Journal holds events no component keeps itself (VRRP transitions).
	Journal []Event
}

// Build assembles a snapshot.
func Build(in Input) Snapshot {
	s := Snapshot{Node: in.Node, Version: in.Version, Time: in.Time, Started: in.Started, Dataplane: in.Dataplane,
		VRRP: []Instance{}, Services: []Service{}, Events: []Event{}}
	for _, v := range in.VRRP {
		s.VRRP = append(s.VRRP, instance(v))
	}
	s.Services = services(in)
	s.Events = events(in)
	return s
}

func instance(v vrrp.InstanceStatus) Instance {
	in := Instance{
		Name: v.Name, Interface: v.Interface, VRID: v.VRID, Version: v.Version,
		State: v.State.String(), Priority: v.Priority, EffectivePriority: v.EffectivePriority,
		MasterPriority: v.MasterPriority, VIPs: []string{}, Faults: v.Faults,
		AdvertInterval: v.AdvertInterval.Seconds(), LastTransition: v.LastTransition,
		AdvertsSent: v.AdvertsSent, AdvertsReceived: v.AdvertsReceived,
		Priority0Sent: v.Priority0Sent, Priority0Received: v.Priority0Received,
		Transitions: v.Transitions, BecameMaster: v.BecameMaster,
	}
	if v.Master.IsValid() {
		in.Master = v.Master.String()
	}
	if v.SourceAddr.IsValid() {
		in.SourceAddr = v.SourceAddr.String()
	}
	for _, p := range v.VIPs {
		in.VIPs = append(in.VIPs, p.String())
	}
	if len(v.BadPackets) > 0 {
		in.BadPackets = v.BadPackets
	}
	return in
}

// services lists the configured services in configuration order, then any that only
// govs adm added, each with its table attributes, counters and checkers.
func services(in Input) []Service {
	tables := map[table.ServiceKey]table.Service{}
	for _, t := range in.Table.Services {
		tables[t.ServiceKey] = t
	}
	stats := map[table.ServiceKey]table.ServiceStats{}
	for _, st := range in.Stats.Services {
		stats[st.Key] = st
	}
	checks := check.ByServer(in.Checks)
	out := []Service{}
	seen := map[table.ServiceKey]bool{}
	for _, es := range in.Engine.Services {
		seen[es.Key] = true
		t, inTable := tables[es.Key]
		svc := service(es.Key, t, inTable, stats[es.Key])
		svc.Configured, svc.Quorum = true, es.Quorum
		for _, rs := range es.RealServers {
			svc.RealServers = append(svc.RealServers, realServer(rs, t, stats[es.Key], checks[rs.CheckedVS][rs.CheckedAddr]))
		}
		out = append(out, svc)
	}
	for _, t := range in.Table.Services {
		if seen[t.ServiceKey] {
			continue
		}
		svc := service(t.ServiceKey, t, true, stats[t.ServiceKey])
		svc.Quorum = len(t.Dests) > 0
		for _, d := range t.Dests {
			rs := engine.RealServerStatus{Addr: d.Addr, Up: true, Weight: d.Weight, Reason: "added with govs adm"}
			svc.RealServers = append(svc.RealServers, realServer(rs, t, stats[t.ServiceKey], check.ServerStatus{}))
		}
		out = append(out, svc)
	}
	return out
}

func service(key table.ServiceKey, t table.Service, inTable bool, st table.ServiceStats) Service {
	svc := Service{
		Key: key.String(), FWMark: key.FWMark, Scheduler: t.Scheduler, InTable: inTable,
		Persistence: t.Persistence.Timeout.Seconds(),
		Counters:    counters(st.Counters), Rates: rates(st.Rates), RealServers: []RealServer{},
	}
	if key.FWMark == 0 {
		svc.Protocol, svc.Address = key.Protocol.String(), key.Addr.String()
	}
	for _, d := range st.Dests {
		svc.ActiveConns += d.ActiveConn
		svc.InactConns += d.InActConn
	}
	return svc
}

func realServer(rs engine.RealServerStatus, t table.Service, st table.ServiceStats, cs check.ServerStatus) RealServer {
	r := RealServer{
		Address: rs.Addr.String(), Up: rs.Up, Weight: rs.Weight, TableWeight: rs.TableWeight,
		Reason: rs.Reason, Since: rs.Since,
	}
	if i := slices.IndexFunc(t.Dests, func(d table.Dest) bool { return d.Addr == rs.Addr }); i >= 0 {
		r.TableWeight, r.Method = t.Dests[i].Weight, t.Dests[i].Method.String()
	} else {
		r.TableWeight = -1
	}
	if i := slices.IndexFunc(st.Dests, func(d table.DestStats) bool { return d.Addr == rs.Addr }); i >= 0 {
		d := st.Dests[i]
		r.ActiveConns, r.InactConns = d.ActiveConn, d.InActConn
		r.Counters, r.Rates = counters(d.Counters), rates(d.Rates)
	}
	switch {
	case !rs.Up:
		r.Health = HealthDown
	case r.TableWeight < 0:
		r.Health = HealthRemoved
	case r.TableWeight == 0:
		r.Health = HealthDrained
	default:
		r.Health = HealthUp
	}
	for _, c := range cs.Checkers {
		r.Checkers = append(r.Checkers, Checker{
			Name: c.Name, Up: c.Up, Failures: c.Failures, Checks: c.Checks, LastOK: c.LastOK,
			LastError: c.LastError, LastLatency: c.LastLatency.Seconds(), LastAt: c.LastAt,
		})
	}
	return r
}

// events merges the engine's events, the journal, and each checker's last failure,
// oldest first, keeping the newest MaxEvents.
func events(in Input) []Event {
	out := make([]Event, 0, len(in.Engine.Events)+len(in.Journal))
	for _, e := range in.Engine.Events {
		out = append(out, Event{At: e.At, Kind: e.Kind, Service: e.Service, Server: e.RS, Message: e.Message})
	}
	out = append(out, in.Journal...)
	// The checkers keep no history of failed probes, only the last result, so the last
	// failure of each checker still failing is what the operator gets to see.
	for _, c := range in.Checks {
		for _, ch := range c.Checkers {
			if ch.LastOK || ch.LastAt.IsZero() {
				continue
			}
			out = append(out, Event{At: ch.LastAt, Kind: "check-failed", Service: c.VS.String(), Server: c.RS.String(),
				Message: ch.Name + ": " + ch.LastError})
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	if len(out) > MaxEvents {
		out = out[len(out)-MaxEvents:]
	}
	return out
}

func counters(c table.Counters) Counters {
	return Counters{Conns: c.Conns, InPkts: c.InPkts, OutPkts: c.OutPkts, InBytes: c.InBytes, OutBytes: c.OutBytes}
}

func rates(r table.Rates) Rates {
	return Rates{CPS: r.CPS, InPPS: r.InPPS, OutPPS: r.OutPPS, InBPS: r.InBPS, OutBPS: r.OutBPS}
}
