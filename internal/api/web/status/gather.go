package status

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/vrrp"
)

// Sources are the live components a snapshot reads. A nil component is one this
// process does not run (-P runs no engine, checkers or data plane; -C no VRRP).
type Sources struct {
	Node, Version string
	Started       time.Time
	// DataplaneChoice is which data plane runs and why.
	DataplaneChoice string
	Engine          *engine.Engine
	Dataplane       dataplane.Dataplane
	Checks          *check.Manager
	VRRP            *vrrp.Node
	Journal         *Journal
}

// Gather takes a snapshot of the running components. Only the engine can fail: it
// answers from its own goroutine, so ctx bounds the wait.
func Gather(ctx context.Context, src Sources) (Snapshot, error) {
	in := Input{Node: src.Node, Version: src.Version, Started: src.Started, Time: time.Now(), Dataplane: src.DataplaneChoice}
	if src.Engine != nil {
		var err error
		if in.Engine, err = src.Engine.Status(ctx); err != nil {
			return Snapshot{}, err
		}
		if in.Table, err = src.Engine.Table(ctx); err != nil {
			return Snapshot{}, err
		}
	}
	if src.Dataplane != nil {
		in.Stats = src.Dataplane.Stats()
	}
	if src.Checks != nil {
		in.Checks = src.Checks.Status()
	}
	if src.VRRP != nil {
		in.VRRP = src.VRRP.Status()
	}
	if src.Journal != nil {
		in.Journal = src.Journal.Events()
	}
	return Build(in), nil
}

// Journal keeps the recent events no component records itself, such as VRRP
// transitions, for the snapshot. It is safe for concurrent use.
type Journal struct {
	mu     sync.Mutex
	events []Event
}

// Record adds an event, dropping the oldest beyond MaxEvents.
func (j *Journal) Record(ev Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.events) == MaxEvents {
		copy(j.events, j.events[1:])
		j.events = j.events[:MaxEvents-1]
	}
	j.events = append(j.events, ev)
}

// RecordVRRP records a VRRP state change.
func (j *Journal) RecordVRRP(ch vrrp.StateChange) {
	j.Record(Event{At: ch.Time, Kind: "vrrp", Instance: ch.Instance,
		Message: fmt.Sprintf("%s -> %s, priority %d", ch.From, ch.To, ch.Priority)})
}

// Events returns the recorded events, oldest first.
func (j *Journal) Events() []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Event(nil), j.events...)
}
