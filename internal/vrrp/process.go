package vrrp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ParamMatch is how vrrp_track_process compares a process's parameters with the
// configured ones (keepalived's param_match).
type ParamMatch uint8

const (
	// ParamMatchNone ignores the parameters (no param_match, no parameters given).
	ParamMatchNone ParamMatch = iota
	// ParamMatchExact wants exactly the configured parameters.
	ParamMatchExact
	// ParamMatchPartial wants the configured parameters first, others may follow.
	ParamMatchPartial
	// ParamMatchInitial is partial, and the last configured parameter need only be
	// the start of the process's parameter in its place.
	ParamMatchInitial
)

// TrackProcessConfig is one vrrp_track_process block: it is up while the number of
// running processes that match lies in Quorum..QuorumMax.
type TrackProcessConfig struct {
	Name string
	// Process is compared with the kernel's process name (/proc/PID/stat, at most 15
	// characters, so a longer Process never matches, as in keepalived 2.2.7) or,
	// with FullCommand, with the first word of the command line; Params are the
	// words that follow it.
	Process     string
	Params      []string
	ParamMatch  ParamMatch
	FullCommand bool
	// Weight -254..254 [0] and Reverse: as TrackInterface's, up meaning in quorum.
	Weight  int
	Reverse bool
	// Quorum is the fewest matching processes for up [1]; QuorumMax the most, when
	// QuorumMaxSet (else no maximum).
	Quorum       int
	QuorumMax    int
	QuorumMaxSet bool
	// TerminateDelay holds a loss of quorum for this long: it takes effect only if
	// still lost then. ForkDelay does the same for a gain that a fork brought.
	TerminateDelay, ForkDelay time.Duration
}

// procInfo is what matching needs of one process: its name from /proc/PID/stat and
// its raw command line (NUL-separated words).
type procInfo struct {
	comm    string
	cmdline []byte
}

// matches reports whether a process counts for the block, with keepalived's rules:
// the name is compared exactly, parameters as param_match says.
func (c *TrackProcessConfig) matches(p procInfo) bool {
	if !c.FullCommand {
		return p.comm == c.Process
	}
	argv0, rest, _ := bytes.Cut(p.cmdline, []byte{0})
	if string(argv0) != c.Process {
		return false
	}
	if c.ParamMatch == ParamMatchNone {
		return true
	}
	return paramsMatch(c.ParamMatch, c.Params, rest)
}

// paramsMatch compares the command line after its first word (raw, NUL-separated)
// with the configured parameters, byte for byte as keepalived's check_params does: a
// parameter is a word with its NUL, so partial matching never splits a word, except
// the last configured one with initial.
func paramsMatch(mode ParamMatch, want []string, got []byte) bool {
	var w []byte
	for _, p := range want {
		w = append(append(w, p...), 0)
	}
	switch {
	case mode == ParamMatchExact:
		return bytes.Equal(got, w)
	case len(got) < len(w):
		return false
	case len(want) == 0:
		return true
	case mode == ParamMatchPartial:
		return bytes.HasPrefix(got, w)
	default: // ParamMatchInitial
		return bytes.HasPrefix(got, w[:len(w)-1])
	}
}

// parseStat returns the process name and state letter of a /proc/PID/stat line:
// "PID (NAME) S …". The name may itself hold parentheses, so the last ')' ends it.
func parseStat(b []byte) (comm string, state byte, ok bool) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return "", 0, false
	}
	return string(b[open+1 : end]), b[end+2], true
}

// readProc reads what matching needs of one process under root (normally /proc).
// ok is false for a process that is gone, unreadable or a zombie.
func readProc(root string, pid int, needCmdline bool) (p procInfo, ok bool) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return p, false
	}
	comm, state, ok := parseStat(stat)
	if !ok || state == 'Z' {
		return p, false
	}
	p.comm = comm
	if needCmdline {
		// A kernel thread has an empty command line; a process that exits between the
		// two reads is caught by its exit.
		p.cmdline, _ = os.ReadFile(filepath.Join(dir, "cmdline"))
	}
	return p, true
}

// listPIDs returns the processes under root: its numeric entries.
func listPIDs(root string) ([]int, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 && e.IsDir() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// procBlock is the live state of one vrrp_track_process.
type procBlock struct {
	cfg  TrackProcessConfig
	pids map[int]bool // matching processes
	up   bool         // the state the instances see
	// pendingAt, when set, is when the opposite of up takes effect if it still holds.
	pendingAt time.Time
}

// inQuorum reports whether n matching processes make the block up.
func (b *procBlock) inQuorum(n int) bool {
	return n >= b.cfg.Quorum && (!b.cfg.QuorumMaxSet || n <= b.cfg.QuorumMax)
}

// procWatch counts the processes of every vrrp_track_process and publishes whether
// each block is up. Process events (procEvents) keep the counts current; without
// them a full scan every pollInterval does.
type procWatch struct {
	root         string
	blocks       []*procBlock
	needCmdline  bool
	logger       *slog.Logger
	publish      func(name string, up bool)
	pollInterval time.Duration

	// count, when set, is told a block's number of matching processes whenever it
	// may have changed (SNMP's vrrpProcessCurProc).
	count func(name string, n int)
}

// procPollInterval is how often /proc is scanned where process events cannot be had.
const procPollInterval = time.Second

func newProcWatch(root string, cfgs []TrackProcessConfig, logger *slog.Logger, publish func(string, bool)) *procWatch {
	w := &procWatch{root: root, logger: logger, publish: publish, pollInterval: procPollInterval}
	for _, c := range cfgs {
		w.blocks = append(w.blocks, &procBlock{cfg: c, pids: map[int]bool{}})
		w.needCmdline = w.needCmdline || c.FullCommand
	}
	return w
}

// scan recounts every block from a full read of /proc. initial sets the states at
// once (start and reload, as keepalived does); later scans go through the delays.
func (w *procWatch) scan(now time.Time, initial bool) {
	pids, err := listPIDs(w.root)
	if err != nil {
		w.logger.Warn("track_process: cannot list processes", "err", err)
		return
	}
	for _, b := range w.blocks {
		clear(b.pids)
	}
	for _, pid := range pids {
		p, ok := readProc(w.root, pid, w.needCmdline)
		if !ok {
			continue
		}
		for _, b := range w.blocks {
			if b.cfg.matches(p) {
				b.pids[pid] = true
			}
		}
	}
	for _, b := range w.blocks {
		if initial {
			w.counted(b)
			b.up, b.pendingAt = b.inQuorum(len(b.pids)), time.Time{}
			w.logger.Info("tracked process", "track_process", b.cfg.Name, "processes", len(b.pids), "quorum", b.up)
			w.publish(b.cfg.Name, b.up)
			continue
		}
		w.evaluate(b, now, false)
	}
}

// evaluate moves a block towards what its count says: at once, or after
// terminate_delay (quorum lost) or fork_delay (gained by a fork); a count that comes
// back in time cancels the pending change.
func (w *procWatch) evaluate(b *procBlock, now time.Time, byFork bool) {
	w.counted(b)
	want := b.inQuorum(len(b.pids))
	if want == b.up {
		b.pendingAt = time.Time{}
		return
	}
	if !b.pendingAt.IsZero() {
		return
	}
	var delay time.Duration
	switch {
	case !want:
		delay = b.cfg.TerminateDelay
	case byFork:
		delay = b.cfg.ForkDelay
	}
	if delay <= 0 {
		w.apply(b)
		return
	}
	b.pendingAt = now.Add(delay)
}

// counted reports b's count: every change of the counts is followed by evaluate, or
// by the initial scan.
func (w *procWatch) counted(b *procBlock) {
	if w.count != nil {
		w.count(b.cfg.Name, len(b.pids))
	}
}

func (w *procWatch) apply(b *procBlock) {
	b.up, b.pendingAt = !b.up, time.Time{}
	word := "lost"
	if b.up {
		word = "gained"
	}
	// keepalived logs "Quorum gained/lost for tracked process NAME".
	w.logger.Info("quorum "+word+" for tracked process", "track_process", b.cfg.Name, "processes", len(b.pids))
	w.publish(b.cfg.Name, b.up)
}

// expire applies the pending changes that are due and returns the next deadline
// (zero if none).
func (w *procWatch) expire(now time.Time) time.Time {
	var next time.Time
	for _, b := range w.blocks {
		if b.pendingAt.IsZero() {
			continue
		}
		if !now.Before(b.pendingAt) {
			if b.inQuorum(len(b.pids)) != b.up {
				w.apply(b)
			} else {
				b.pendingAt = time.Time{}
			}
			continue
		}
		if next.IsZero() || b.pendingAt.Before(next) {
			next = b.pendingAt
		}
	}
	return next
}

// handle applies one process event to the counts.
func (w *procWatch) handle(ev procEvent, now time.Time) {
	switch ev.what {
	case procEventFork:
		// A new thread is not a new process; a forked child runs its parent's program
		// and counts wherever the parent does.
		if ev.childPID != ev.childTGID {
			return
		}
		for _, b := range w.blocks {
			if b.pids[ev.parentTGID] && !b.pids[ev.childTGID] {
				b.pids[ev.childTGID] = true
				w.evaluate(b, now, true)
			}
		}
	case procEventExec, procEventComm:
		if ev.pid != ev.tgid {
			return
		}
		p, ok := readProc(w.root, ev.tgid, w.needCmdline)
		if ev.what == procEventComm {
			p.comm = ev.comm
		}
		for _, b := range w.blocks {
			// A name change does not touch the command line.
			if ev.what == procEventComm && b.cfg.FullCommand {
				continue
			}
			match := ok && b.cfg.matches(p)
			if match != b.pids[ev.tgid] {
				if match {
					b.pids[ev.tgid] = true
				} else {
					delete(b.pids, ev.tgid)
				}
				w.evaluate(b, now, false)
			}
		}
	case procEventExit:
		if ev.pid != ev.tgid {
			return
		}
		for _, b := range w.blocks {
			if b.pids[ev.tgid] {
				delete(b.pids, ev.tgid)
				w.evaluate(b, now, false)
			}
		}
	}
}

// procSource delivers process events; procConn (the kernel's proc connector) is
// the one there is. read waits at most timeout; errMissedEvents means some were lost.
type procSource interface {
	read(timeout time.Duration) ([]procEvent, error)
	close()
}

// errMissedEvents reports that the socket overflowed: the counts need a full scan.
var errMissedEvents = errors.New("process events were lost")

// run keeps the counts current until ctx ends: from src when it is not nil, else by
// scanning every pollInterval.
func (w *procWatch) run(ctx context.Context, src procSource) {
	if len(w.blocks) == 0 {
		return
	}
	if src != nil {
		defer func() {
			if src != nil {
				src.close()
			}
		}()
		// Processes that started between the initial scan and the subscription.
		w.scan(time.Now(), false)
	}
	nextPoll := time.Now().Add(w.pollInterval)
	for ctx.Err() == nil {
		now := time.Now()
		deadline := w.expire(now)
		wait := 100 * time.Millisecond
		if src == nil {
			wait = time.Until(nextPoll)
		}
		if !deadline.IsZero() && deadline.Sub(now) < wait {
			wait = deadline.Sub(now)
		}
		if src == nil {
			t := time.NewTimer(max(wait, 0))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if now = time.Now(); !now.Before(nextPoll) {
				w.scan(now, false)
				nextPoll = now.Add(w.pollInterval)
			}
			continue
		}
		evs, err := src.read(max(wait, time.Millisecond))
		now = time.Now()
		switch {
		case errors.Is(err, errMissedEvents):
			w.logger.Warn("track_process: rescanning", "err", err)
			w.scan(now, false)
		case err != nil:
			w.logger.Warn("track_process: process events failed; polling instead", "err", err)
			src.close()
			src = nil
		}
		for _, ev := range evs {
			w.handle(ev, now)
		}
	}
}

// normalize checks a vrrp_track_process and fills Quorum's default.
func (c *TrackProcessConfig) normalize() error {
	switch {
	case c.Name == "":
		return errors.New("no name")
	case c.Process == "":
		return errors.New("no process")
	case c.Weight < -254 || c.Weight > 254:
		return fmt.Errorf("weight %d outside -254..254", c.Weight)
	case c.Quorum < 0 || c.QuorumMax < 0:
		return fmt.Errorf("quorum %d or quorum_max %d is negative", c.Quorum, c.QuorumMax)
	case c.TerminateDelay < 0 || c.ForkDelay < 0:
		return errors.New("negative delay")
	case len(c.Params) > 0 && !c.FullCommand:
		return errors.New("parameters need full_command: they are only on the command line")
	}
	if c.Quorum == 0 && !(c.QuorumMaxSet && c.QuorumMax == 0) {
		c.Quorum = 1
	}
	if c.QuorumMaxSet && c.QuorumMax < c.Quorum {
		return fmt.Errorf("quorum_max %d is less than quorum %d", c.QuorumMax, c.Quorum)
	}
	return nil
}
