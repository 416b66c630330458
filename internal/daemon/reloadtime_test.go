package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/London's DST change, whatever the host has installed

	"github.com/govs/govs/internal/testutil"
)

// TestParseReloadTime: reload_time_file's formats as keepalived's parse_datetime
// takes them: exact lengths, an optional Z for UTC, a time alone is its next
// occurrence, a date must be ahead, a clock time a DST change skips is refused.
func TestParseReloadTime(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, london)
	at := func(y int, mo time.Month, d, h, mi, s int, loc *time.Location) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, loc)
	}
	for _, tt := range []struct {
		line  string
		now   time.Time
		want  time.Time
		dated bool
		err   string
	}{
		{line: "12:00:00", want: at(2026, 11, 24, 12, 0, 0, london)},
		{line: "09:00:00", want: at(2026, 11, 25, 9, 0, 0, london)},  // passed today: tomorrow
		{line: "10:00:00", want: at(2026, 11, 25, 10, 0, 0, london)}, // now is not ahead
		{line: "26-11-24 12:00:00", want: at(2026, 11, 24, 12, 0, 0, london), dated: true},
		{line: "2026-12-31 23:59:59", want: at(2026, 12, 31, 23, 59, 59, london), dated: true},
		{line: "2026-11-24 12:00:00Z", want: at(2026, 11, 24, 12, 0, 0, time.UTC), dated: true},
		{line: "11:00:00Z", want: at(2026, 11, 24, 11, 0, 0, time.UTC)},
		{line: "2026-11-24 09:00:00", err: "in the past"},
		{line: "2026-02-30 12:00:00", err: "invalid"},
		{line: "24:00:00", err: "invalid"},
		{line: "12:00", err: "want HH:MM:SS"},
		{line: " 12:00:00", err: "want HH:MM:SS"},
		{line: "12:00:00 ", err: "want HH:MM:SS"},
		{line: "12:00:00ZZ", err: "want HH:MM:SS"},
		{line: "2026-11-24T12:00:00", err: "invalid"},
		{line: "", err: "want HH:MM:SS"},
		// 2027-03-28 01:00 to 02:00 does not exist in London.
		{line: "2027-03-28 01:30:00", err: "does not exist"},
		{line: "01:30:00", now: at(2027, 3, 27, 12, 0, 0, london), err: "does not exist tomorrow"},
	} {
		n := now
		if !tt.now.IsZero() {
			n = tt.now
		}
		got, dated, err := parseReloadTime(tt.line, n, london)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, %v; want an error with %q", tt.line, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || dated != tt.dated {
			t.Errorf("%q: %v (dated %v), %v; want %v (dated %v)", tt.line, got, dated, err, tt.want, tt.dated)
		}
	}
}

func FuzzParseReloadTime(f *testing.F) {
	for _, s := range []string{"12:00:00", "26-11-24 12:00:00", "2026-11-24 12:00:00Z", "24:00:00", "2027-03-28 01:30:00", ""} {
		f.Add(s)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, london)
	f.Fuzz(func(t *testing.T, line string) {
		got, _, err := parseReloadTime(line, now, london)
		if err == nil && !got.After(now) {
			t.Errorf("%q: %v is not after now", line, got)
		}
	})
}

// TestReloadTimeFile: a date and time in reload_time_file reloads the daemon then
// (with the configuration as it is by then) and removes the file; a reload with
// reload_file set removes that file once the configuration is read.
func TestReloadTimeFile(t *testing.T) {
	b := startBackend(t)
	dir := t.TempDir()
	conf, timeFile, reloadFile := filepath.Join(dir, "keepalived.conf"), filepath.Join(dir, "reload-at"), filepath.Join(dir, "reloading")
	write := func(services int) {
		text := fmt.Sprintf("global_defs {\n  reload_time_file %s\n  reload_file %s\n}\n", timeFile, reloadFile)
		for range services {
			text += twoServerConfig(freePort(t), b.addr)
		}
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	log := &testutil.SyncBuffer{}
	d, err := Start(context.Background(), Options{ConfigPath: conf, Dataplane: "proxy", StopTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	services := func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.plan.Spec.Services)
	}
	when := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	if err := os.WriteFile(timeFile, []byte(when.Format("2006-01-02 15:04:05")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(2*time.Second, func() bool {
		return strings.Contains(log.String(), "Scheduling reload for "+when.Format("2006-01-02 15:04:05"))
	}) {
		t.Fatalf("no reload scheduled:\n%s", log)
	}
	write(2)
	if err := os.WriteFile(reloadFile, []byte("updater was here"), 0o644); err != nil {
		t.Fatal(err)
	}
	if time.Until(when) < 200*time.Millisecond || services() != 1 {
		t.Fatal("reloaded before its time")
	}
	if !testutil.Eventually(time.Until(when)+3*time.Second, func() bool { return services() == 2 }) {
		t.Fatalf("no reload at %v:\n%s", when, log)
	}
	if _, err := os.Stat(timeFile); !os.IsNotExist(err) {
		t.Errorf("the reload time file is still there: %v", err)
	}
	if _, err := os.Stat(reloadFile); !os.IsNotExist(err) {
		t.Errorf("the reload file is still there after the reload: %v", err)
	}
}

// TestReloadAfterStop: a reload asked for once Stop has begun (reload_time_file's runs
// apart from the signals) does nothing: no component is reconfigured after it stopped,
// and nothing is started that Stop would not wait for.
func TestReloadAfterStop(t *testing.T) {
	b := startBackend(t)
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(twoServerConfig(freePort(t), b.addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Start(context.Background(), Options{ConfigPath: conf, Dataplane: "proxy", StopTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if err := d.Reload(context.Background()); !errors.Is(err, ErrStopping) {
		t.Errorf("reload after Stop: %v, want ErrStopping", err)
	}
}
