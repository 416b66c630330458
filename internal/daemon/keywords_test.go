package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/vrrp"
)

// TestVRRPConfigInstanceFlags: promote_secondaries, a bare notify_deleted and the resolved
// notify_priority_changes reach the instance's VRRP configuration; an instance without
// them (or that turns the global default off) gets neither.
func TestVRRPConfigInstanceFlags(t *testing.T) {
	for _, tc := range []struct {
		keyword       string
		global, first string // the global_defs line and VI_1's
		second        string // VI_2's line
		flag          func(vrrp.InstanceConfig) bool
	}{
		{"promote_secondaries", "", "promote_secondaries", "", func(in vrrp.InstanceConfig) bool { return in.PromoteSecondaries }},
		{"notify_priority_changes", "vrrp_notify_priority_changes", "", "notify_priority_changes false",
			func(in vrrp.InstanceConfig) bool { return in.NotifyPriorityChanges }},
		// Alone, notify_deleted runs nothing: a removed instance is still announced DELETED.
		{"notify_deleted", "", "notify_deleted", "notify_master /bin/true",
			func(in vrrp.InstanceConfig) bool { return in.Notify.AnnounceDeleted && in.Notify.Deleted == nil }},
	} {
		t.Run(tc.keyword, func(t *testing.T) {
			cfg := parse(t, fmt.Sprintf(`
global_defs {
  %s
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  %s
  virtual_ipaddress {
    192.0.2.1/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  %s
  virtual_ipaddress {
    192.0.2.2/24
  }
}
`, tc.global, tc.first, tc.second))
			out, err := vrrpConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, in := range out.Instances {
				got[in.Name] = tc.flag(in)
			}
			if !got["VI_1"] || got["VI_2"] {
				t.Errorf("%s = %v, want VI_1 only", tc.keyword, got)
			}
		})
	}
}

// TestUmaskAppliesToFiles: global_defs umask is the process umask from start, so the
// files govs creates (here the SIGUSR1 data file) get it, and a reload applies a
// changed umask, as keepalived's umask handler runs on every read of the file.
func TestUmaskAppliesToFiles(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	b := startBackend(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(umask string) {
		text := "global_defs {\n  umask " + umask + "\n}\n" + twoServerConfig(freePort(t), b.addr)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0077")
	d, err := Start(context.Background(), Options{
		ConfigPath: conf, Dataplane: "proxy", DataFile: filepath.Join(dir, "govs.data"),
		StopTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	for _, tc := range []struct {
		umask      string
		mask, want os.FileMode
	}{
		{"0077", 0o077, 0o600},
		{"IWGRP|IWOTH|IROTH", 0o026, 0o640},
	} {
		if tc.umask != "0077" {
			write(tc.umask)
			if err := d.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		path, err := d.DumpData(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("umask %s: %s has mode %04o, want %04o", tc.umask, path, got, tc.want)
		}
		if um, err := currentUmask(); err != nil || um != tc.mask {
			t.Errorf("umask %s: process umask %04o (%v), want %04o", tc.umask, um, err, tc.mask)
		}
	}
}

// startConf starts the daemon on the proxy plane from configuration text.
func startConf(t *testing.T, text string) (*Daemon, time.Duration) {
	t.Helper()
	began := time.Now()
	d, err := Start(context.Background(), Options{
		ConfigPath: "keywords_test.conf", ConfigText: []byte(text), Dataplane: "proxy",
		DataFile: filepath.Join(t.TempDir(), "govs.data"), StatsFile: filepath.Join(t.TempDir(), "govs.stats"),
		StopTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	t.Cleanup(func() { d.Stop() })
	return d, took
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/bash\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStartupShutdownScripts: startup_script runs before the data plane listens and
// shutdown_script after it has stopped, as keepalived's parent runs them around its
// children.
func TestStartupShutdownScripts(t *testing.T) {
	testutil.NeedCommand(t, "bash")
	b := startBackend(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	vport := freePort(t)
	// probe.sh WHEN: appends "WHEN listening|closed" for the virtual service's port.
	probe := writeScript(t, dir, "probe.sh", fmt.Sprintf(`if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then s=listening; else s=closed; fi
echo "$1 $s" >> %s
`, vport, out))
	conf := fmt.Sprintf("global_defs {\n  startup_script \"%s startup\"\n  shutdown_script \"%s shutdown\"\n}\n", probe, probe) +
		twoServerConfig(vport, b.addr)
	d, _ := startConf(t, conf)
	if got := readLines(t, out); len(got) != 1 || got[0] != "startup closed" {
		t.Fatalf("after start: %q, want the startup script to have run once before the service listened", got)
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", vport), 2*time.Second)
	if err != nil {
		t.Fatalf("the service does not listen after start: %v", err)
	}
	c.Close()
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	d.Stop() // a second Stop runs nothing again
	if got := readLines(t, out); len(got) != 2 || got[1] != "shutdown closed" {
		t.Fatalf("after stop: %q, want the startup line (not again on reload), then the shutdown script after the service stopped", got)
	}
}

// TestStartupScriptTimeout: a startup script over startup_script_timeout is killed
// (its process group gets SIGTERM) and govs starts anyway, as keepalived does.
func TestStartupScriptTimeout(t *testing.T) {
	testutil.NeedCommand(t, "bash")
	testutil.NeedCommand(t, "sleep")
	b := startBackend(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	slow := writeScript(t, dir, "slow.sh", "sleep 30 &\necho $$ $! > "+pidFile+"\nwait\n")
	conf := fmt.Sprintf("global_defs {\n  startup_script %s\n  startup_script_timeout 1\n}\n", slow) + twoServerConfig(freePort(t), b.addr)
	_, took := startConf(t, conf)
	if took < time.Second || took > 1*time.Second+2*time.Second+time.Second {
		t.Errorf("start took %v with a 1 s startup_script_timeout", took)
	}
	for _, f := range strings.Fields(strings.Join(readLines(t, pidFile), " ")) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		alive := func() bool { return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) && !zombie(pid) }
		if !testutil.Eventually(3*time.Second, func() bool { return !alive() }) {
			t.Errorf("process %d of the timed-out startup script is still running", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// zombie reports whether pid has exited but is not reaped yet (the sleep's parent was
// killed, so init reaps it).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestPlanRSInitNotifies: rs_init_notifies reaches every real server's checks.
func TestPlanRSInitNotifies(t *testing.T) {
	for _, flag := range []string{"", "rs_init_notifies", "rs_init_notifies false"} {
		cfg := parse(t, "global_defs {\n  "+flag+"\n}\n"+twoServerConfig(8080, "127.0.0.1:9001", "127.0.0.1:9002"))
		p, err := NewPlan(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := flag == "rs_init_notifies"
		if len(p.Checks) != 2 || p.Checks[0].InitNotify != want || p.Checks[1].InitNotify != want {
			t.Errorf("%q: checks %+v, want InitNotify %v on both", flag, p.Checks, want)
		}
	}
}

// TestReloadCheckConfig: with reload_check_config in the running configuration, each
// reload writes the new configuration's diagnostics to its file, emptied first, and
// says there when the new one is refused; the running configuration's setting counts,
// as in keepalived.
func TestReloadCheckConfig(t *testing.T) {
	b := startBackend(t)
	logFile := filepath.Join(t.TempDir(), "check.log")
	service := twoServerConfig(freePort(t), b.addr)
	withCheck := "global_defs {\n  reload_check_config " + logFile + "\n}\n" + service
	d, _ := startConf(t, withCheck)
	if _, err := os.Stat(logFile); !os.IsNotExist(err) {
		t.Fatalf("the check log exists before any reload: %v", err)
	}
	reload := func(text string) error {
		d.opts.ConfigText = []byte(text)
		return d.Reload(context.Background())
	}
	read := func() string {
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := reload(withCheck + "vrrp_no_such_thing\n"); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.Contains(got, "keywords_test.conf:17:1: warning: unknown keyword") {
		t.Fatalf("after a reload with a warning the log holds %q", got)
	}
	bad := strings.Replace(withCheck, "lb_algo rr", "lb_algo wrrr", 1)
	if err := reload(bad); err == nil {
		t.Fatal("a configuration with an error was loaded")
	}
	got := read()
	if !strings.Contains(got, "keywords_test.conf:6:11: error") || !strings.Contains(got, "1 errors") || strings.Contains(got, "warning") {
		t.Fatalf("after a refused reload the log holds %q", got)
	}
	// The running configuration still asks for the log; the new one does not.
	if err := reload(service); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "" {
		t.Fatalf("after a clean reload the log holds %q", got)
	}
	if err := os.WriteFile(logFile, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reload(bad); err == nil || read() != "kept" {
		t.Fatalf("without reload_check_config running: reload %v, log %q", err, read())
	}
}
