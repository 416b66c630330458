package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestVRRPConfigPromoteSecondaries: promote_secondaries reaches the instance's VRRP
// configuration; an instance without it leaves the interface alone.
func TestVRRPConfigPromoteSecondaries(t *testing.T) {
	cfg := parse(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  promote_secondaries
  virtual_ipaddress {
    192.0.2.1/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2/24
  }
}
`)
	out, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, in := range out.Instances {
		got[in.Name] = in.PromoteSecondaries
	}
	if !got["VI_1"] || got["VI_2"] {
		t.Errorf("PromoteSecondaries = %v, want VI_1 only", got)
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
