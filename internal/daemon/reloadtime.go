package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// parseReloadTime reads reload_time_file's line as keepalived's parse_datetime does:
// exactly "HH:MM:SS", "YY-MM-DD HH:MM:SS" or "YYYY-MM-DD HH:MM:SS", each with an
// optional final 'Z' (UTC; otherwise loc, the local time). A time alone is its next
// occurrence after now; a date and time must be after now. dated says a date was
// given. A local time that does not exist (a DST gap) is refused.
func parseReloadTime(line string, now time.Time, loc *time.Location) (t time.Time, dated bool, err error) {
	s := line
	if strings.HasSuffix(s, "Z") {
		s, loc = s[:len(s)-1], time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "15:04:05"
	case 17:
		layout = "06-01-02 15:04:05"
	case 19:
		layout = "2006-01-02 15:04:05"
	default:
		return time.Time{}, false, fmt.Errorf("reload time %q: want HH:MM:SS, YY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS, with an optional Z", line)
	}
	p, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reload time %q is invalid: %w", line, err)
	}
	dated = len(s) > 8
	y, mo, d := p.Date()
	if !dated {
		y, mo, d = now.In(loc).Date()
	}
	t = time.Date(y, mo, d, p.Hour(), p.Minute(), p.Second(), 0, loc)
	if !sameClock(t, y, mo, d, p) {
		return time.Time{}, false, fmt.Errorf("reload time %q does not exist in %s", line, loc)
	}
	if t.After(now) {
		return t, dated, nil
	}
	if dated {
		return time.Time{}, false, fmt.Errorf("reload time %q is in the past", line)
	}
	y, mo, d = t.AddDate(0, 0, 1).Date() // tomorrow
	if t = time.Date(y, mo, d, p.Hour(), p.Minute(), p.Second(), 0, loc); !sameClock(t, y, mo, d, p) {
		return time.Time{}, false, fmt.Errorf("reload time %q does not exist tomorrow in %s", line, loc)
	}
	return t, false, nil
}

// sameClock reports whether t shows the date and p's clock: time.Date moves a clock
// time that a DST change skips, where keepalived's mktime check refuses it.
func sameClock(t time.Time, y int, mo time.Month, d int, p time.Time) bool {
	ty, tmo, td := t.Date()
	return ty == y && tmo == mo && td == d && t.Hour() == p.Hour() && t.Minute() == p.Minute() && t.Second() == p.Second()
}

// reloadTimePoll is how often reload_time_file is read; keepalived watches it with
// inotify, which a file that does not exist yet cannot be given.
const reloadTimePoll = 500 * time.Millisecond

// followReloadTime schedules reloads from reload_time_file until ctx ends, as
// keepalived's reload monitor does: the file's first line sets the time, a change
// moves it, removing the file (or a line that cannot be read) cancels it. When the
// time comes the file is removed, unless reload_repeat and the line has no date (the
// same time the next day), and the configuration is reloaded.
func (d *Daemon) followReloadTime(ctx context.Context, path string, repeat bool) {
	var (
		seen    = "\x00" // the line last read; no line reads as ""
		at      time.Time
		dated   bool
		timer   *time.Timer
		fire    <-chan time.Time
		poll    = time.NewTicker(reloadTimePoll)
		logTime = func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	)
	defer poll.Stop()
	cancel := func() {
		if timer != nil {
			timer.Stop()
			timer, fire = nil, nil
			d.log.Info("Cancelling reload scheduled for " + logTime(at))
		}
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		line := firstLine(path)
		if line != seen {
			seen = line
			t, isDated, err := parseReloadTime(line, time.Now(), time.Local)
			switch {
			case line == "":
				cancel()
			case err != nil:
				d.log.Warn("reload_time_file: ignoring it", "file", path, "err", err)
				cancel()
			case timer == nil:
				d.log.Info("Scheduling reload for " + logTime(t))
				at, dated, timer = t, isDated, time.NewTimer(time.Until(t))
				fire = timer.C
			case !t.Equal(at):
				d.log.Info("Reload time updated from " + logTime(at) + " to " + logTime(t))
				at, dated = t, isDated
				timer.Reset(time.Until(t))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-fire:
			timer, fire = nil, nil
			if !repeat || dated {
				if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
					d.log.Warn("reload_time_file: removing it", "file", path, "err", err)
				}
			}
			seen = "\x00" // read again after the reload: a time alone is then tomorrow's
			go func() {
				// Reload ends this follower (and starts the new configuration's), so it
				// runs apart; it logs a refused configuration itself.
				if err := d.Reload(context.Background()); err != nil && !errors.Is(err, ErrConfig) && !errors.Is(err, ErrStopping) {
					d.log.Error("scheduled reload failed", "err", err)
				}
			}()
		}
	}
}

// firstLine is the file's first line (at most 64 bytes are read: a valid one has 20),
// "" when it cannot be read.
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(io.LimitReader(f, 64)).ReadString('\n')
	return strings.TrimSuffix(line, "\n")
}

// restartReloadTime follows the plan's reload_time_file, in place of the one the
// previous configuration named. d.mu is held, or the daemon is starting.
func (d *Daemon) restartReloadTime() {
	if d.stopReloadTime != nil {
		d.stopReloadTime()
		d.stopReloadTime = nil
	}
	if d.plan.ReloadTimeFile == "" {
		return
	}
	ctx, cancel := context.WithCancel(d.runCtx)
	d.stopReloadTime = cancel
	path, repeat := d.plan.ReloadTimeFile, d.plan.ReloadRepeat
	d.goRun("reload_time_file", func() error { d.followReloadTime(ctx, path, repeat); return nil })
}

// DefaultReloadFile is reload_file's file when the keyword names none, beside the
// control socket (keepalived: /run/keepalived.reload).
const DefaultReloadFile = "/run/govs/govs.reload"

// markReload creates reload_file (empty, 0644, whatever the umask) before a reload
// reads the configuration; the returned func removes it once it has been read. A configuration updater touches it
// before it signals, and waits for it to go before it writes again.
func (d *Daemon) markReload() (done func()) {
	path := d.plan.ReloadFile
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		err = errors.Join(f.Chmod(0o644), f.Close())
	}
	if err != nil {
		d.log.Warn("Failed to create reload file", "file", path, "err", err)
	}
	return func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			d.log.Warn("removing the reload file", "file", path, "err", err)
		}
	}
}
