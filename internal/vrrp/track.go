package vrrp

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govs/govs/internal/script"
)

// trackKind is what a tracked object is.
type trackKind uint8

const (
	trackInterface trackKind = iota
	trackScript
	trackFile
	trackProcess
	trackBFD
)

func (k trackKind) String() string {
	return [...]string{"interface", "script", "file", "process", "bfd_instance"}[k]
}

// trackItem is one object an instance tracks, with the weight that applies to it.
type trackItem struct {
	kind    trackKind
	name    string
	weight  int
	reverse bool
}

// trackValues is the current state of tracked objects, by name.
type trackValues struct {
	links   map[string]bool  // interface up (known interfaces only)
	scripts map[string]bool  // script OK
	files   map[string]int64 // value read from the file
	procs   map[string]bool  // vrrp_track_process in quorum
	bfds    map[string]bool  // bfd_instance Up
}

// effectivePriority is keepalived's effective priority and fault rule (reference c.5,
// read against keepalived's vrrp_track.c): a positive weight is added while the object
// is OK, a negative one while it has failed, and reverse negates what is added (+w while
// OK becomes −w while OK; −w while failed becomes +w while failed: keepalived's
// weight_multiplier), without changing when. With weight 0 a failure is FAULT, and
// reverse makes OK the fault. A file adds its value times the weight (reverse negates
// it; below −253 is FAULT). The result is clamped to 1..254; the owner's 255 never
// changes. faults names every object that holds the instance in FAULT.
func effectivePriority(base uint8, items []trackItem, v trackValues) (prio uint8, faults []string) {
	total := int(base)
	for _, it := range items {
		sign := 1
		if it.reverse {
			sign = -1
		}
		if it.kind == trackFile {
			val := v.files[it.name]
			if it.weight == 0 {
				if (val != 0) != it.reverse {
					faults = append(faults, fmt.Sprintf("file %s holds %d", it.name, val))
				}
				continue
			}
			adj := val * int64(it.weight) * int64(sign)
			if adj < -253 {
				faults = append(faults, fmt.Sprintf("file %s holds %d", it.name, val))
				continue
			}
			total += int(min(adj, 253))
			continue
		}
		var ok bool
		switch it.kind {
		case trackInterface:
			ok = v.links[it.name]
		case trackScript:
			ok = v.scripts[it.name]
		case trackProcess:
			ok = v.procs[it.name]
		case trackBFD:
			ok = v.bfds[it.name]
		}
		switch {
		case it.weight == 0 && ok == it.reverse:
			faults = append(faults, fmt.Sprintf("%s %s is %s", it.kind, it.name, trackFaultState(it.kind, ok)))
		case it.weight != 0 && (it.weight > 0) == ok:
			total += it.weight * sign
		}
	}
	if base == 255 {
		return 255, faults
	}
	return uint8(max(1, min(total, 254))), faults
}

// trackFaultState words the state of an object that holds an instance in FAULT: a
// failure, or (reverse) being OK.
func trackFaultState(k trackKind, ok bool) string {
	switch {
	case ok:
		return "up (reverse)"
	case k == trackScript:
		return "failing"
	}
	return "down"
}

// tracker holds the state of every tracked object of a node and wakes the runners when
// something changes. Its watchers run until their context ends.
type tracker struct {
	mu     sync.Mutex
	values trackValues
	// ran holds the vrrp_scripts whose first run has ended (mu).
	ran     map[string]bool
	wake    []chan struct{}
	logger  *slog.Logger
	scripts map[string]ScriptConfig

	// procCounts are the vrrp_track_processes' numbers of matching processes (mu).
	procCounts map[string]int
}

func newTracker(cfg Config, logger *slog.Logger) *tracker {
	t := &tracker{
		values:  trackValues{links: map[string]bool{}, scripts: map[string]bool{}, files: map[string]int64{}, procs: map[string]bool{}, bfds: map[string]bool{}},
		logger:  logger,
		scripts: map[string]ScriptConfig{},
		ran:     map[string]bool{},
	}
	for _, s := range cfg.Scripts {
		t.scripts[s.Name] = s
		// keepalived starts a script as OK unless init_fail; rise/fall then move it.
		t.values.scripts[s.Name] = !s.InitFail
	}
	return t
}

// subscribe returns a channel that receives a token after every change.
func (t *tracker) subscribe() chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := make(chan struct{}, 1)
	t.wake = append(t.wake, c)
	return c
}

func (t *tracker) unsubscribe(c chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, w := range t.wake {
		if w == c {
			t.wake = append(t.wake[:i], t.wake[i+1:]...)
			return
		}
	}
}

// set changes a value under the lock and wakes everyone when it differs.
func (t *tracker) set(f func(v *trackValues) bool) {
	t.mu.Lock()
	changed := f(&t.values)
	var wake []chan struct{}
	if changed {
		wake = append(wake, t.wake...)
	}
	t.mu.Unlock()
	for _, c := range wake {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// setProcess records whether a vrrp_track_process is in quorum.
func (t *tracker) setProcess(name string, up bool) {
	t.set(func(v *trackValues) bool {
		old, known := v.procs[name]
		v.procs[name] = up
		return !known || old != up
	})
}

// setBFD records whether a bfd_instance's session is Up.
func (t *tracker) setBFD(name string, up bool) {
	t.set(func(v *trackValues) bool {
		old, known := v.bfds[name]
		v.bfds[name] = up
		return !known || old != up
	})
}

func (t *tracker) setLink(name string, up bool) {
	t.set(func(v *trackValues) bool {
		old, known := v.links[name]
		v.links[name] = up
		return !known || old != up
	})
}

// priority evaluates items against the current values.
func (t *tracker) priority(base uint8, items []trackItem) (uint8, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return effectivePriority(base, items, t.values)
}

// ScriptResult is a vrrp_script's state as keepalived reports it (vrrpScriptResult).
type ScriptResult uint8

// The script results.
const (
	ScriptInit ScriptResult = iota // not run to its end yet
	ScriptBad                      // failed: fall reached, or init_fail and not risen yet
	ScriptGood                     // OK: rise reached, or assumed OK before the first failures
)

// scriptResults are the scripts' results, by name.
func (t *tracker) scriptResults() map[string]ScriptResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]ScriptResult, len(t.scripts))
	for name := range t.scripts {
		switch {
		case !t.ran[name]:
			out[name] = ScriptInit
		case t.values.scripts[name]:
			out[name] = ScriptGood
		default:
			out[name] = ScriptBad
		}
	}
	return out
}

// fileValues are the track_files' last values, by name.
func (t *tracker) fileValues() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.values.files))
	for name, v := range t.values.files {
		out[name] = v
	}
	return out
}

// runScript runs one vrrp_script every interval and applies rise/fall until ctx ends.
func (t *tracker) runScript(ctx context.Context, s ScriptConfig, user, group string) {
	spec := script.Spec{Argv: s.Command.Argv, User: s.Command.User, Group: s.Command.Group, Timeout: s.Timeout}
	if spec.User == "" {
		spec.User, spec.Group = user, group
	}
	logger := t.logger.With("script", s.Name)
	ok := !s.InitFail
	streak := 0 // consecutive results that disagree with ok
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	for {
		res := script.Run(ctx, spec, logger)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		t.ran[s.Name] = true
		t.mu.Unlock()
		if res.OK() != ok {
			streak++
			need := s.Fall
			if !ok {
				need = s.Rise
			}
			if streak >= need {
				ok, streak = !ok, 0
				logger.Info("vrrp_script state changed", "ok", ok, "exit", res.ExitCode, "timed_out", res.TimedOut)
				t.set(func(v *trackValues) bool { v.scripts[s.Name] = ok; return true })
			}
		} else {
			streak = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// trackFilePoll is how often track_file contents are re-read. keepalived uses inotify;
// polling keeps this simple and is bounded to one small read per file per period.
const trackFilePoll = 500 * time.Millisecond

// watchFile reads a track_file's integer every trackFilePoll until ctx ends. A missing
// or unparsable file counts as 0, as keepalived does, with a log line.
func (t *tracker) watchFile(ctx context.Context, f TrackFileConfig) {
	tick := time.NewTicker(trackFilePoll)
	defer tick.Stop()
	var lastErr string
	for {
		val, err := readTrackFile(f.File)
		if err != nil && err.Error() != lastErr {
			t.logger.Warn("track_file unreadable, using 0", "track_file", f.Name, "err", err)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
		t.set(func(v *trackValues) bool {
			old, known := v.files[f.Name]
			v.files[f.Name] = val
			return !known || old != val
		})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// readTrackFile parses the leading integer of a track file (keepalived reads it with
// strtol: surrounding blanks are allowed, an empty file is 0).
func readTrackFile(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	if i := strings.IndexAny(s, " \t\n"); i > 0 {
		s = s[:i]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("track file %s: %q is not an integer", path, s)
	}
	return v, nil
}

// trackItems lists what an instance tracks: its own objects, then its sync group's,
// with the weights keepalived gives them in a sync group (below).
func trackItems(in *InstanceConfig, g *SyncGroupConfig, scripts map[string]ScriptConfig, files map[string]TrackFileConfig, procs map[string]TrackProcessConfig) []trackItem {
	var items []trackItem
	if !in.DontTrackPrimary {
		items = append(items, trackItem{kind: trackInterface, name: in.Interface})
	}
	// The devices of its addresses, as keepalived tracks them (an address cannot go
	// back on a device that is down), unless no_track; those on its own interface or
	// VMAC go with the interface.
	tracked := map[string]bool{}
	for _, v := range slices.Concat(in.VIPs, in.ExcludedVIPs) {
		dev := cmp.Or(v.vmac, v.Dev, in.Interface)
		if v.NoTrack || dev == in.Interface || in.UseVMAC && dev == in.VMACName || tracked[dev] {
			continue
		}
		tracked[dev] = true
		items = append(items, trackItem{kind: trackInterface, name: dev})
	}
	// A member of a sync group without sync_group_tracking_weight ignores its own
	// weights as keepalived's vrrp_complete_instance does: interfaces count with weight 0
	// (down is FAULT), weighted scripts and BFDs are not tracked at all, a file with the
	// default weight 1 counts with 0 and one with another weight is not tracked. The
	// group's own tracked objects keep their weights, and processes always do.
	ownIgnored := g != nil && !g.TrackingWeight
	add := func(ifs []TrackInterface, ss, fs, ps []TrackRef, bfds []TrackInterface, ignored bool) {
		for _, ti := range ifs {
			w := ti.Weight
			if ignored {
				w = 0
			}
			items = append(items, trackItem{kind: trackInterface, name: ti.Name, weight: w, reverse: ti.Reverse})
		}
		for _, b := range bfds {
			if ignored && b.Weight != 0 {
				continue
			}
			items = append(items, trackItem{kind: trackBFD, name: b.Name, weight: b.Weight, reverse: b.Reverse})
		}
		for _, r := range ss {
			w, rev := scripts[r.Name].Weight, scripts[r.Name].Reverse
			if r.WeightSet {
				w, rev = r.Weight, r.Reverse
			}
			if ignored && w != 0 {
				continue
			}
			items = append(items, trackItem{kind: trackScript, name: r.Name, weight: w, reverse: rev})
		}
		for _, r := range fs {
			w, rev := files[r.Name].Weight, files[r.Name].Reverse
			if r.WeightSet {
				w, rev = r.Weight, r.Reverse
			}
			if ignored && w == 1 {
				w = 0
			}
			if ignored && w != 0 {
				continue
			}
			items = append(items, trackItem{kind: trackFile, name: r.Name, weight: w, reverse: rev})
		}
		for _, r := range ps {
			w, rev := procs[r.Name].Weight, procs[r.Name].Reverse
			if r.WeightSet {
				w, rev = r.Weight, r.Reverse
			}
			items = append(items, trackItem{kind: trackProcess, name: r.Name, weight: w, reverse: rev})
		}
	}
	add(in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.TrackProcesses, in.TrackBFDs, ownIgnored)
	if g != nil {
		add(g.TrackInterfaces, g.TrackScripts, g.TrackFiles, g.TrackProcesses, g.TrackBFDs, false)
	}
	return items
}
