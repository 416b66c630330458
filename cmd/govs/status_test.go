package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/daemon"
	"github.com/govs/govs/internal/testutil"
)

// statusTestConfig is one service over one live and one dead real server.
const statusTestConfig = `virtual_server 127.0.0.1 %[1]d {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server %[2]s {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server %[3]s {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// liveAndDead returns a listening real server and an address where nothing listens.
func liveAndDead(t *testing.T) (live, dead string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(ln.Addr().String(), ":", " ", 1), fmt.Sprintf("127.0.0.1 %d", port)
}

func statusConfig(t *testing.T) (conf string, vip, live, dead string) {
	t.Helper()
	vport, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	live, dead = liveAndDead(t)
	return fmt.Sprintf(statusTestConfig, vport, live, dead), fmt.Sprintf("127.0.0.1:%d", vport),
		strings.Replace(live, " ", ":", 1), strings.Replace(dead, " ", ":", 1)
}

func TestStatusCommand(t *testing.T) {
	conf, vip, live, dead := statusConfig(t)
	socket := filepath.Join(t.TempDir(), "govs.sock")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("st4tus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), daemon.Options{
		ConfigPath: "status.conf", ConfigText: []byte(conf), Socket: socket, HTTP: "127.0.0.1:0", HTTPToken: "st4tus",
		Version: "v-test", Logger: slog.New(slog.DiscardHandler), StopTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	url := "http://" + d.HTTPAddr().String()
	// The dead server is taken out at its first probe.
	if !testutil.Eventually(5*time.Second, func() bool {
		var out, errOut strings.Builder
		dispatch([]string{"status", "--socket", socket}, &out, &errOut)
		return strings.Contains(out.String(), dead+"  DOWN")
	}) {
		t.Fatal("the dead real server never showed DOWN")
	}
	for _, tt := range []struct {
		name     string
		args     []string
		code     int
		want     []string
		wantErr  string
		wantJSON bool
	}{
		{name: "socket", args: []string{"--socket", socket}, want: []string{"govs v-test on ", "TCP " + vip + "  rr  quorum up  1/2 servers up", live + "  up ", dead + "  DOWN", "RECENT EVENTS", "rs-down"}},
		{name: "http", args: []string{"--url", url, "--token-file", tokenFile, "--events", "0"}, want: []string{"TCP " + vip, dead + "  DOWN"}},
		{name: "json", args: []string{"--socket", socket, "--json"}, wantJSON: true},
		{name: "color", args: []string{"--socket", socket, "--color", "always"}, want: []string{"\x1b[1;31mDOWN\x1b[0m"}},
		{name: "no daemon", args: []string{"--socket", filepath.Join(t.TempDir(), "none.sock")}, code: 1, wantErr: "govs daemon not reachable"},
		{name: "http without the token", args: []string{"--url", url}, code: 1, wantErr: "401 Unauthorized: this govs needs a token"},
		{name: "bad url", args: []string{"--url", "127.0.0.1:9100"}, code: 1, wantErr: "want http://HOST:PORT"},
		{name: "bad color", args: []string{"--color", "rainbow"}, code: 2, wantErr: `--color "rainbow"`},
		{name: "stray argument", args: []string{"now"}, code: 2, wantErr: `unexpected argument "now"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := dispatch(append([]string{"status"}, tt.args...), &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.name == "http" && strings.Contains(out.String(), "RECENT EVENTS") {
				t.Errorf("--events 0 still shows events:\n%s", out.String())
			}
			if tt.wantErr != "" && !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q, want %q", errOut.String(), tt.wantErr)
			}
			if tt.wantJSON {
				var s status.Snapshot
				if err := json.Unmarshal([]byte(out.String()), &s); err != nil || len(s.Services) != 1 || s.Services[0].Key != "TCP "+vip {
					t.Errorf("--json output is not the snapshot (%v):\n%s", err, out.String())
				}
			}
		})
	}
}

// TestRunSignalsAndHTTP runs the govs binary with --http and a token file, reads the
// status over HTTP with govs status, and asks for both dumps with SIGUSR1 and SIGUSR2.
func TestRunSignalsAndHTTP(t *testing.T) {
	testutil.Integration(t)
	conf, vip, _, dead := statusConfig(t)
	dir := t.TempDir()
	confFile, tokenFile := filepath.Join(dir, "keepalived.conf"), filepath.Join(dir, "token")
	dataFile, statsFile := filepath.Join(dir, "govs.data"), filepath.Join(dir, "govs.stats")
	for path, text := range map[string]string{confFile: conf, tokenFile: "sign4ls\n"} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd, logs := startGovsJSON(t, "run", "-f", confFile, "--socket", filepath.Join(dir, "govs.sock"),
		"--http", "127.0.0.1:0", "--http-token-file", tokenFile, "--data-file", dataFile, "--stats-file", statsFile,
		"--stop-timeout", "1s")
	waitLog := func(msg string) map[string]any {
		t.Helper()
		return logs.wait(t, msg, func(rec map[string]any) bool { return rec["msg"] == msg })
	}
	addr, _ := waitLog("http listener")["addr"].(string)
	down := waitLog("real server DOWN")
	if down["level"] != "INFO" || down["rs"] != dead {
		t.Errorf("the failure is logged as %v, want INFO naming %s", down, dead)
	}
	var out, errOut strings.Builder
	if code := dispatch([]string{"status", "--url", "http://" + addr, "--token-file", tokenFile}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "TCP "+vip) {
		t.Fatalf("govs status --url: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, tt := range []struct {
		sig  syscall.Signal
		msg  string
		file string
		want string
	}{
		{syscall.SIGUSR1, "wrote the state dump", dataFile, "Virtual Service = TCP " + vip},
		{syscall.SIGUSR2, "wrote the statistics dump", statsFile, "Virtual Service: TCP " + vip},
	} {
		if err := cmd.Process.Signal(tt.sig); err != nil {
			t.Fatal(err)
		}
		if rec := waitLog(tt.msg); rec["file"] != tt.file {
			t.Errorf("%s logged %v, want file %s", tt.sig, rec, tt.file)
		}
		data, err := os.ReadFile(tt.file)
		if err != nil || !strings.Contains(string(data), tt.want) {
			t.Errorf("%s: %v\n%s", tt.file, err, data)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("govs run exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("govs run did not stop within 15 s of SIGTERM")
	}
}

// TestRunDumpConf: govs run -d logs the state dump line by line once started and again
// after a reload, with what the reload changed, as keepalived -d logs its configuration.
func TestRunDumpConf(t *testing.T) {
	testutil.Integration(t)
	dir := t.TempDir()
	confFile := filepath.Join(dir, "keepalived.conf")
	vport, rs1, rs2 := checktest.FreePort(t), checktest.FreePort(t), checktest.FreePort(t)
	conf := func(servers ...int) string {
		s := fmt.Sprintf("virtual_server 127.0.0.1 %d {\n    protocol TCP\n", vport)
		for _, p := range servers {
			s += fmt.Sprintf("    real_server 127.0.0.1 %d {\n        weight 1\n    }\n", p)
		}
		return s + "}\n"
	}
	if err := os.WriteFile(confFile, []byte(conf(rs1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, logs := startGovsJSON(t, "run", "-d", "-C", "-f", confFile, "--dataplane", "proxy",
		"--socket", filepath.Join(dir, "govs.sock"), "--stop-timeout", "1s")
	waitMsg := func(want string) {
		t.Helper()
		logs.wait(t, want, func(rec map[string]any) bool { msg, _ := rec["msg"].(string); return strings.Contains(msg, want) })
	}
	vs := fmt.Sprintf("Virtual Service = TCP 127.0.0.1:%d", vport)
	waitMsg(vs)
	waitMsg(fmt.Sprintf("Real Server = 127.0.0.1:%d", rs1))
	if err := os.WriteFile(confFile, []byte(conf(rs1, rs2)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitMsg("configuration reloaded")
	waitMsg(vs)
	waitMsg(fmt.Sprintf("Real Server = 127.0.0.1:%d", rs2))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// jsonLog is the JSON log records of a govs started by startGovsJSON, in order.
type jsonLog chan map[string]any

// startGovsJSON starts the govs binary with args and --log-json, and reads its log.
func startGovsJSON(t *testing.T, args ...string) (*exec.Cmd, jsonLog) {
	t.Helper()
	cmd := exec.Command(testutil.GovsBinary(t), append(args, "--log-json")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	logs := make(jsonLog, 1000)
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			select { // never hold govs up on a full pipe once the test stops reading
			case logs <- rec:
			default:
			}
		}
	}()
	return cmd, logs
}

// wait returns the next record that match accepts, within 15 s.
func (l jsonLog) wait(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case rec, ok := <-l:
			if !ok {
				t.Fatalf("govs exited before logging %q", what)
			}
			if match(rec) {
				return rec
			}
		case <-deadline:
			t.Fatalf("no %q log record within 15 s", what)
		}
	}
}
