package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestRunInNetNamespace starts `govs run` in the host's namespace with a configuration
// naming another (net_namespace, or -s on the command line): everything it makes, VIP,
// listener and control socket, is in that namespace; `ip netns exec NS govs adm` finds
// the daemon there; a reload naming another namespace is refused; a namespace that does
// not exist stops govs at once.
func TestRunInNetNamespace(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	h := lan.AddHost("dir", "10.79.0.1/24")
	// An interface name the test's own namespace does not have: a govs that failed to
	// move would stop there instead of touching this host's eth0.
	for _, args := range [][]string{{"down"}, {"name", "gvns0"}, {"up"}} {
		dev := "eth0"
		if args[0] == "up" {
			dev = "gvns0"
		}
		if out, err := h.Exec("ip", append([]string{"link", "set", dev}, args...)...); err != nil {
			t.Fatalf("renaming eth0: %v %s", err, out)
		}
	}
	dir := t.TempDir()
	conf := func(netns string) string {
		s := ""
		if netns != "" {
			s = "net_namespace " + netns + "\n"
		}
		return s + `vrrp_instance VI_1 {
    state MASTER
    interface gvns0
    virtual_router_id 79
    priority 150
    advert_int 0.1
    version 3
    virtual_ipaddress {
        10.79.0.100/24
    }
}
virtual_server 10.79.0.100 8079 {
    lb_algo rr
    protocol TCP
    real_server 10.79.0.1 9079 {
        weight 1
    }
}
`
	}
	write := func(text string) string {
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	socketDir := filepath.Join("/run/govs", h.Name)
	t.Cleanup(func() { os.RemoveAll(socketDir) })
	hasVIP := func() bool {
		out, _ := h.Exec("ip", "-4", "-o", "addr", "show", "dev", "gvns0")
		return strings.Contains(out, " 10.79.0.100/24")
	}
	for _, how := range []string{"net_namespace", "-s"} {
		t.Run(how, func(t *testing.T) {
			args := []string{"run", "--dataplane", "proxy", "-f"}
			if how == "-s" {
				args = append(args, write(conf("")), "-s", h.Name)
			} else {
				args = append(args, write(conf(h.Name)))
			}
			// Started in the test's own namespace: govs moves itself before it makes
			// anything.
			cmd := exec.Command(testutil.GovsBinary(t), args...)
			var logs testutil.SyncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("govs:\n%s", logs.String())
				}
			})
			if !testutil.Eventually(10*time.Second, hasVIP) {
				t.Fatal("no VIP in the namespace")
			}
			var out string
			if !testutil.Eventually(5*time.Second, func() bool {
				out, _ = h.Exec(testutil.GovsBinary(t), "adm", "-L", "-n")
				return strings.Contains(out, "TCP  10.79.0.100:8079 rr")
			}) {
				t.Fatalf("govs adm in the namespace:\n%s", out)
			}
			if ss, _ := h.Exec("ss", "-Hltn", "sport = :8079"); !strings.Contains(ss, "10.79.0.100:8079") {
				t.Fatalf("no listener in the namespace: %q", ss)
			}
			if _, err := os.Stat(filepath.Join(socketDir, "govs.sock")); err != nil {
				t.Fatalf("control socket: %v", err)
			}
			if how == "net_namespace" {
				write(conf("elsewhere"))
				cmd.Process.Signal(syscall.SIGHUP)
				if !testutil.Eventually(5*time.Second, func() bool {
					return strings.Contains(logs.String(), `net_namespace "elsewhere", but govs runs in "`+h.Name+`"; a restart is needed`)
				}) {
					t.Fatal("a reload to another namespace was not refused")
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
				exited <- nil // for the cleanup
			case <-time.After(10 * time.Second):
				t.Fatal("govs did not stop on SIGTERM")
			}
			if hasVIP() {
				t.Fatal("the VIP stayed after the stop")
			}
		})
	}
	t.Run("missing namespace", func(t *testing.T) {
		missing := h.Name + "-none"
		out, err := exec.Command(testutil.GovsBinary(t), "run", "-f", write(conf(missing))).CombinedOutput()
		want := fmt.Sprintf("govs run: network namespace %s does not exist (ip netns add %s)", missing, missing)
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("govs run with a missing namespace: %v\n%s", err, out)
		}
	})
}
