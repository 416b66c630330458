package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/script"
)

// Alerter sends keepalived's smtp_alert mails for state changes of an instance, or of
// a sync group (group set). The daemon passes one built on internal/notify's mailer
// through WithAlerter; without one smtp_alert only logs.
type Alerter interface {
	Alert(group bool, name string, state State, priority int)
}

// notifyJob is one state change to announce.
type notifyJob struct {
	group    bool // a sync group ("GROUP") rather than an instance ("INSTANCE")
	name     string
	state    State
	priority uint8
	cmds     NotifyConfig
	smtp     bool
	// priorityChange makes the job a notify_fifo line only, for a change of the
	// effective priority in state (notify_priority_changes).
	priorityChange bool
	// rxLowerPri: a master heard a lower priority master (MASTER_RX_LOWER_PRI): the
	// FIFO line and notify_master_rx_lower_pri, nothing else.
	rxLowerPri bool
	// fifoOnly writes the state line and runs nothing
	// (fifo_write_vrrp_states_on_reload).
	fifoOnly bool
}

// notifier runs notify scripts, writes notify_fifo lines and sends alerts in the order
// the state changes happened, off the runners' goroutines so a slow script never delays
// an advert.
type notifier struct {
	jobs    chan notifyJob
	fifo    string
	user    string
	group   string
	alerter Alerter
	logger  *slog.Logger
	scripts sync.WaitGroup
}

// stopNotifyGrace is how long notify_stop scripts get before the node returns
// (keepalived gives them one second before killing them).
const stopNotifyGrace = time.Second

func newNotifier(cfg Config, alerter Alerter, logger *slog.Logger) *notifier {
	return &notifier{
		jobs: make(chan notifyJob, 256), fifo: cfg.NotifyFIFO,
		user: cfg.ScriptUser, group: cfg.ScriptGroup, alerter: alerter, logger: logger,
	}
}

// enqueue never blocks the caller; a full queue drops the job with a log line.
func (n *notifier) enqueue(j notifyJob) {
	select {
	case n.jobs <- j:
	default:
		n.logger.Error("notify queue full, dropping a notification", "name", j.name, "state", j.state)
	}
}

// run handles jobs until ctx ends and the queue is drained, then waits (bounded) for
// the scripts it started.
func (n *notifier) run(ctx context.Context) {
	scriptCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case j := <-n.jobs:
			n.handle(scriptCtx, j)
			continue
		case <-ctx.Done():
		}
		// Drain what the runners queued while stopping (STOP notifies).
		for {
			select {
			case j := <-n.jobs:
				n.handle(scriptCtx, j)
				continue
			default:
			}
			break
		}
		done := make(chan struct{})
		go func() { n.scripts.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopNotifyGrace):
			cancel()
			<-done
		}
		return
	}
}

// FIFOLine is keepalived's notify_fifo line for a state change.
func FIFOLine(group bool, name string, state State, priority uint8) string {
	kind := "INSTANCE"
	if group {
		kind = "GROUP"
		priority = 0
	}
	return fmt.Sprintf("%s %s %s %d\n", kind, strconv.Quote(name), state, priority)
}

// notifyArgs appends keepalived's four arguments to the generic notify command.
func notifyArgs(argv []string, group bool, name string, state State, priority uint8) []string {
	kind := "INSTANCE"
	if group {
		kind, priority = "GROUP", 0
	}
	out := append(append([]string(nil), argv...), kind, name, state.String(), strconv.Itoa(int(priority)))
	return out
}

// PriorityFIFOLine is keepalived's notify_fifo line for a change of an instance's
// effective priority (notify_priority_changes): MASTER_PRIORITY while master,
// BACKUP_PRIORITY in any other state, with the new priority.
func PriorityFIFOLine(name string, master bool, priority uint8) string {
	event := "BACKUP_PRIORITY"
	if master {
		event = "MASTER_PRIORITY"
	}
	return fmt.Sprintf("INSTANCE %s %s %d\n", strconv.Quote(name), event, priority)
}

func (n *notifier) handle(ctx context.Context, j notifyJob) {
	if j.rxLowerPri {
		// keepalived's send_event_notify.
		if n.fifo != "" {
			line := fmt.Sprintf("INSTANCE %s MASTER_RX_LOWER_PRI %d\n", strconv.Quote(j.name), j.priority)
			if err := notify.WriteFIFO(n.fifo, line); err != nil {
				n.logger.Warn("notify_fifo", "err", err)
			}
		}
		if c := j.cmds.MasterRxLowerPri; c != nil {
			n.start(ctx, c.Argv, *c)
		}
		return
	}
	if j.priorityChange {
		// keepalived's send_instance_priority_notifies writes the FIFO and runs nothing.
		if n.fifo != "" {
			if err := notify.WriteFIFO(n.fifo, PriorityFIFOLine(j.name, j.state == StateMaster, j.priority)); err != nil {
				n.logger.Warn("notify_fifo", "err", err)
			}
		}
		return
	}
	if n.fifo != "" {
		if err := notify.WriteFIFO(n.fifo, FIFOLine(j.group, j.name, j.state, j.priority)); err != nil {
			n.logger.Warn("notify_fifo", "err", err)
		}
	}
	if j.fifoOnly {
		return
	}
	var specific *Command
	switch j.state {
	case StateMaster:
		specific = j.cmds.Master
	case StateBackup:
		specific = j.cmds.Backup
	case StateFault:
		specific = j.cmds.Fault
	case StateStop:
		specific = j.cmds.Stop
	case StateDeleted:
		specific = j.cmds.Deleted
	}
	if specific != nil {
		n.start(ctx, specific.Argv, *specific)
	}
	if g := j.cmds.Generic; g != nil {
		n.start(ctx, notifyArgs(g.Argv, j.group, j.name, j.state, j.priority), *g)
	}
	if j.smtp {
		if n.alerter != nil {
			n.alerter.Alert(j.group, j.name, j.state, int(j.priority))
		} else {
			n.logger.Info("smtp_alert without a mailer", "name", j.name, "state", j.state.String())
		}
	}
}

func (n *notifier) start(ctx context.Context, argv []string, c Command) {
	spec := script.Spec{Argv: argv, User: c.User, Group: c.Group}
	if spec.User == "" {
		spec.User, spec.Group = n.user, n.group
	}
	n.scripts.Add(1)
	go func() {
		defer n.scripts.Done()
		script.Run(ctx, spec, n.logger)
	}()
}
