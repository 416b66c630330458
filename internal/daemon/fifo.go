package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/script"
	"golang.org/x/sys/unix"
)

// fifoReader is a notify FIFO and the script that reads it, if any (notify_fifo_script,
// vrrp_notify_fifo_script, lvs_notify_fifo_script).
type fifoReader struct {
	path  string
	owner config.UserGroup
	argv  []string // the script, the FIFO's path last; nil: no script
	user  string
	group string
}

func (a fifoReader) equal(b fifoReader) bool {
	return a.path == b.path && a.owner == b.owner && slices.Equal(a.argv, b.argv) && a.user == b.user && a.group == b.group
}

func fifoReaders(g config.GlobalDefs) []fifoReader {
	var out []fifoReader
	for _, p := range []struct {
		fifo *config.FIFO
		s    *config.Script
	}{{g.NotifyFIFO, g.NotifyFIFOScript}, {g.VRRPNotifyFIFO, g.VRRPNotifyFIFOScript}, {g.LVSNotifyFIFO, g.LVSNotifyFIFOScript}} {
		if p.fifo == nil {
			continue
		}
		r := fifoReader{path: p.fifo.Path, owner: p.fifo.Owner}
		if p.s != nil && len(p.s.Argv) > 0 {
			r.argv, r.user, r.group = append(slices.Clone(p.s.Argv), p.fifo.Path), p.s.User, p.s.Group
		}
		out = append(out, r)
	}
	return out
}

// fifoScripts keeps the notify FIFOs as keepalived does: each is created (owned by its
// owner) if missing and held open for writing all along, so that a reader blocks
// between lines instead of seeing end-of-file; its script, if any, is started with the
// FIFO's path as its last argument and left running. Stopping ends the scripts and
// removes the FIFOs we made.
type fifoScripts struct {
	log     *slog.Logger
	mu      sync.Mutex
	running []fifoReader
	cancel  context.CancelFunc
	done    sync.WaitGroup
	created []string
	held    []*os.File
	// security is the script policy the running scripts were started under.
	security script.Security
}

// apply runs readers in place of what runs now; unchanged ones go on. The scripts
// outlive the daemon's context: stop ends them once the last lines are written. They
// are notify scripts to keepalived: script_user runs those that name no user, and
// enable_script_security disables an unsafe one (its FIFO is still made and fed).
func (f *fifoScripts) apply(readers []fifoReader, sec script.Security) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.EqualFunc(readers, f.running, fifoReader.equal) && sec == f.security {
		return
	}
	f.security = sec
	f.stopLocked()
	if len(readers) == 0 {
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	f.running, f.cancel = readers, cancel
	for _, r := range readers {
		if err := unix.Mkfifo(r.path, 0o644); err == nil {
			f.created = append(f.created, r.path)
			if cred, err := script.Owner(r.owner.User, r.owner.Group); err == nil && cred != nil {
				if err := os.Chown(r.path, int(cred.Uid), int(cred.Gid)); err != nil {
					f.log.Warn("Failed to set uid:gid for fifo "+r.path, "err", err)
				}
			}
		} else if !errors.Is(err, syscall.EEXIST) {
			f.log.Error("Unable to create notify fifo "+r.path, "err", err)
			continue
		}
		h, err := os.OpenFile(r.path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
		if err != nil {
			f.log.Error("Unable to open notify fifo "+r.path, "err", err)
			continue
		}
		f.held = append(f.held, h)
		if r.argv == nil {
			continue
		}
		spec, err := sec.Apply(script.Spec{Argv: r.argv, User: r.user, Group: r.group}, f.log)
		if err != nil {
			f.log.Error("notify FIFO script of "+r.path+" disabled", "err", err)
			continue
		}
		f.done.Add(1)
		go func() {
			defer f.done.Done()
			script.Run(rctx, spec, f.log)
		}()
	}
}

// stopLocked ends the scripts; the FIFOs we created go first, so that a reader that
// reopens its FIFO when it closes cannot find this one again, then our hold on them,
// which gives the readers end-of-file (keepalived's order).
func (f *fifoScripts) stopLocked() {
	for _, p := range f.created {
		_ = os.Remove(p)
	}
	for _, h := range f.held {
		h.Close()
	}
	if f.cancel != nil {
		f.cancel()
		f.done.Wait()
	}
	f.running, f.cancel, f.created, f.held = nil, nil, nil, nil
}

func (f *fifoScripts) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopLocked()
}
