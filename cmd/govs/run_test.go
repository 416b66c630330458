package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/testutil"
)

const runTestConfig = `virtual_server 127.0.0.1 %[1]d {
    delay_loop 1
    lb_algo %[4]s
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %[2]d {
        weight %[5]d
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 127.0.0.1 %[3]d {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// govsProcess is a `govs run` started by a test.
type govsProcess struct {
	cmd    *exec.Cmd
	log    *testutil.SyncBuffer
	socket string
}

func startGovs(t *testing.T, conf string) *govsProcess {
	t.Helper()
	g := &govsProcess{log: &testutil.SyncBuffer{}, socket: filepath.Join(t.TempDir(), "govs.sock")}
	g.cmd = exec.Command(testutil.GovsBinary(t), "run", "-f", conf, "--socket", g.socket, "--stop-timeout", "3s")
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			g.cmd.Process.Kill()
			g.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("govs log:\n%s", g.log.String())
		}
	})
	return g
}

func (g *govsProcess) adm(t *testing.T, args ...string) string {
	t.Helper()
	resp, err := ctl.Call(context.Background(), g.socket, ctl.Request{Argv: args})
	if err != nil {
		t.Fatalf("govs adm %v: %v", args, err)
	}
	return resp.Stdout
}

func writeRunConf(t *testing.T, path string, vport, rs1, rs2 int, sched string, w1 int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(fmt.Sprintf(runTestConfig, vport, rs1, rs2, sched, w1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunReloadUnderLoad: SIGHUP while wrk drives traffic through govs costs no request;
// a broken configuration is refused and the running one kept; SIGTERM stops cleanly.
func TestRunReloadUnderLoad(t *testing.T) {
	testutil.Integration(t)
	wrk := testutil.NeedCommand(t, "wrk")
	ng1 := checktest.StartNginx(t, `server { listen 127.0.0.1:{{.Port}}; location / { return 200 "one\n"; } }`)
	ng2 := checktest.StartNginx(t, `server { listen 127.0.0.1:{{.Port}}; location / { return 200 "two\n"; } }`)
	vport := checktest.FreePort(t)
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	writeRunConf(t, conf, vport, ng1.Port, ng2.Port, "rr", 1)
	g := startGovs(t, conf)
	vip := net.JoinHostPort("127.0.0.1", strconv.Itoa(vport))
	checktest.WaitTCP(t, vip, 10*time.Second)

	// Load for 6 s; reload with changed weights and scheduler twice meanwhile.
	load := exec.Command(wrk, "-t1", "-c20", "-d6s", "http://"+vip+"/")
	var out testutil.SyncBuffer
	load.Stdout, load.Stderr = &out, &out
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	for i, sched := range []string{"wrr", "wlc"} {
		time.Sleep(2 * time.Second)
		writeRunConf(t, conf, vport, ng1.Port, ng2.Port, sched, 3+i)
		g.cmd.Process.Signal(syscall.SIGHUP)
	}
	if err := load.Wait(); err != nil {
		t.Fatalf("wrk: %v\n%s", err, out.String())
	}
	report := out.String()
	if m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(report); m == nil || m[1] == "0" {
		t.Fatalf("no requests went through:\n%s", report)
	}
	if strings.Contains(report, "Socket errors") || strings.Contains(report, "Non-2xx") {
		t.Errorf("requests failed across the reloads:\n%s", report)
	}
	listing := g.adm(t, "-L", "-n")
	if !strings.Contains(listing, fmt.Sprintf("TCP  %s wlc", vip)) || !regexp.MustCompile(fmt.Sprintf(`127\.0\.0\.1:%d +Masq +4 `, ng1.Port)).MatchString(listing) {
		t.Errorf("reloaded table not in effect:\n%s", listing)
	}

	// A broken configuration is refused; the table stays.
	saved := g.adm(t, "-S", "-n")
	os.WriteFile(conf, []byte("virtual_server 127.0.0.1 80 {\n    lb_algo nope\n}\n"), 0o644)
	g.cmd.Process.Signal(syscall.SIGHUP)
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(g.log.String(), "reload refused") }) {
		t.Fatalf("no refusal logged after a broken reload")
	}
	if after := g.adm(t, "-S", "-n"); after != saved {
		t.Errorf("table changed after a refused reload:\n%s\nwas:\n%s", after, saved)
	}
	if !strings.Contains(g.log.String(), "keepalived.conf:2:") {
		t.Errorf("the refused reload's error does not name file:line:\n%s", g.log.String())
	}

	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("govs exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("govs did not stop within 10 s of SIGTERM")
	}
	if _, err := os.Stat(g.socket); !os.IsNotExist(err) {
		t.Errorf("control socket left behind after stop: %v", err)
	}
}

// TestRunRefusesBadConfig: govs run exits 1 with every error named by file:line.
func TestRunRefusesBadConfig(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(conf, []byte("vrrp_instance X {\n    virtual_router_id 300\n}\nvirtual_server 127.0.0.1 80 {\n    lb_kind FAST\n}\n"), 0o644)
	var out, errOut strings.Builder
	code := dispatch([]string{"run", "-f", conf, "--socket", filepath.Join(t.TempDir(), "s")}, &out, &errOut)
	if code != 1 {
		t.Fatalf("govs run = %d, want 1; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"bad.conf:2:", "bad.conf:5:", "configuration has errors"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

// TestRunUmask: govs run starts with keepalived's umask 0177; global_defs umask changes
// it; -u (keepalived's --umask) wins over the keyword, which is then ignored with
// keepalived's log line; a bad -u is refused.
func TestRunUmask(t *testing.T) {
	for _, tc := range []struct {
		name, keyword string
		flags         []string
		want          string
		log           string
	}{
		{name: "default", want: "0177"},
		{name: "keyword", keyword: "0077", want: "0077"},
		{name: "flag", flags: []string{"-u", "027"}, want: "0027"},
		{name: "flag wins", keyword: "0077", flags: []string{"--umask", "0x12"}, want: "0022", log: "ignoring config option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "keepalived.conf")
			text := ""
			if tc.keyword != "" {
				text = "global_defs {\n    umask " + tc.keyword + "\n}\n"
			}
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			log := &testutil.SyncBuffer{}
			args := append([]string{"run", "-f", conf, "--dataplane", "proxy", "--socket", filepath.Join(dir, "govs.sock")}, tc.flags...)
			cmd := exec.Command(testutil.GovsBinary(t), args...)
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}()
			re := regexp.MustCompile(`(?m)^Umask:\s*(\d+)$`)
			var got string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				// The umask is set before the daemon starts; "govs started" is logged after.
				if !strings.Contains(log.String(), "govs started") {
					continue
				}
				status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
				if err != nil {
					t.Fatal(err)
				}
				if m := re.FindSubmatch(status); m != nil {
					got = string(m[1])
				}
				break
			}
			if got != tc.want {
				t.Errorf("umask %q, want %s; log:\n%s", got, tc.want, log.String())
			}
			if tc.log != "" && !strings.Contains(log.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, log.String())
			}
		})
	}
	var out, errOut strings.Builder
	if code := dispatch([]string{"run", "-u", "0800", "-f", "/nonexistent"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `-u: invalid umask "0800"`) {
		t.Errorf("govs run -u 0800 = %d, stderr %q; want 2 and the bad value named", code, errOut.String())
	}
}

// TestRunPidFiles: keepalived's -p, -r, -c and -b files get govs's pid (mode 0644) and
// go when it stops; a second govs naming a file of the first refuses to start; a stale
// file is replaced.
func TestRunPidFiles(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	main, vrrp := filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid")
	if err := os.WriteFile(vrrp, []byte("999999999\n"), 0o644); err != nil { // stale
		t.Fatal(err)
	}
	log := &testutil.SyncBuffer{}
	cmd := exec.Command(testutil.GovsBinary(t), "run", "-f", conf, "--dataplane", "proxy", "--socket", filepath.Join(dir, "govs.sock"),
		"-p", main, "--vrrp_pid", vrrp)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	want := fmt.Sprintf("%d\n", cmd.Process.Pid)
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(log.String(), "govs started") }) {
		t.Fatalf("govs did not start:\n%s", log.String())
	}
	for _, p := range []string{main, vrrp} {
		b, err := os.ReadFile(p)
		st, _ := os.Stat(p)
		if err != nil || string(b) != want || st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %q %v (%v), want %q mode 0644", filepath.Base(p), b, err, st.Mode(), want)
		}
	}
	var out, errOut strings.Builder
	code := dispatch([]string{"run", "-f", conf, "--socket", filepath.Join(dir, "other.sock"), "-c", filepath.Join(dir, "c.pid"), "-p", main}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "already running") {
		t.Fatalf("a second govs with the same pid file: %d, %q", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "c.pid")); !os.IsNotExist(err) {
		t.Errorf("the refused govs left its pid file: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("govs did not stop")
	}
	for _, p := range []string{main, vrrp} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the stop: %v", filepath.Base(p), err)
		}
	}
}

// TestRunKeepalivedFlags: keepalived's logging and process flags that mean nothing to
// govs, and its SNMP flags, are accepted; a bad -S or -A value is not.
func TestRunKeepalivedFlags(t *testing.T) {
	var out, errOut strings.Builder
	code := dispatch([]string{"run", "-S", "local7", "-G", "-R", "-a", "-m", "--log-facility", "3", "-x", "-A", "tcp:127.0.0.1:705", "-f", "/nonexistent/keepalived.conf"}, &out, &errOut)
	if code != 1 || strings.Contains(errOut.String(), "flag") {
		t.Errorf("accepted flags: exit %d, stderr %q; want the missing file reported", code, errOut.String())
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"-S", "local9", `"local9": want 0-7, local0-local7, user or daemon`},
		{"--snmp-agent-socket", "agentx", `"agentx": want unix:PATH, an absolute PATH, tcp:HOST:PORT or udp:HOST:PORT`},
	} {
		errOut.Reset()
		if code := dispatch([]string{"run", bad.flag, bad.value}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), bad.want) {
			t.Errorf("%s %s: exit %d, stderr %q", bad.flag, bad.value, code, errOut.String())
		}
	}
}

// TestRunConfigTest: -t and --config-test=LOG_FILE check the file as keepalived -t
// does: exit 0 when nothing is reported, 5 for any problem (warnings included) but
// those keepalived passes, 6 when the file or an include it needs cannot be read;
// LOG_FILE is appended to.
func TestRunConfigTest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, conf string
		flags      []string
		code       int
		output     string // "" = nothing printed
	}{
		{"clean", "global_defs {\n router_id a\n}\n", nil, 0, ""},
		{"unknown keyword", "global_defs {\n bogus 1\n}\n", nil, 5, `ok.conf:2:2: warning: unknown keyword "bogus"`},
		{"error", "vrrp_instance A {\n virtual_router_id 300\n}\n", nil, 5, "out of range 1..255"},
		{"missing interface", "vrrp_instance A {\n interface govsnosuchif0\n virtual_router_id 1\n}\n", nil, 5, `interface "govsnosuchif0" does not exist`},
		{"keyword govs does not act on", "global_defs {\n vrrp_process_name v\n}\n", nil, 0, "vrrp_process_name is not supported by govs yet"},
		{"empty include pattern", "include " + dir + "/none.d/*.conf\n", nil, 0, "matches no files"},
		{"empty include pattern with -e", "include " + dir + "/none.d/*.conf\n", []string{"-e"}, 6, "matches no files"},
		{"include_check", "global_defs {\n include_check\n}\ninclude " + dir + "/missing.conf\n", nil, 6, "cannot read " + dir + "/missing.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := write("ok.conf", tt.conf)
			var out, errOut strings.Builder
			code := dispatch(append([]string{"run", "-t", "-f", conf}, tt.flags...), &out, &errOut)
			if code != tt.code || out.Len() != 0 || (tt.output == "") != (errOut.Len() == 0) || !strings.Contains(errOut.String(), tt.output) {
				t.Errorf("govs run -t: exit %d, stdout %q, stderr %q; want %d and %q", code, out.String(), errOut.String(), tt.code, tt.output)
			}
		})
	}

	var out, errOut strings.Builder
	if code := dispatch([]string{"run", "-t", "-f", filepath.Join(dir, "absent.conf")}, &out, &errOut); code != 6 || !strings.Contains(errOut.String(), "absent.conf") {
		t.Errorf("a missing file: exit %d, stderr %q; want 6", code, errOut.String())
	}
	logFile := filepath.Join(dir, "test.log")
	bad := write("bad.conf", "global_defs {\n bogus 1\n}\n")
	for range 2 {
		errOut.Reset()
		if code := dispatch([]string{"run", "--config-test=" + logFile, "-f", bad}, &out, &errOut); code != 5 || errOut.Len() != 0 {
			t.Fatalf("--config-test=FILE: exit %d, stderr %q", code, errOut.String())
		}
	}
	if b, _ := os.ReadFile(logFile); strings.Count(string(b), "unknown keyword") != 2 {
		t.Errorf("the log file after two runs:\n%s", b)
	}
}

// TestRunSignumAndVersion: --signum prints the signal govs handles for each of
// keepalived's functions (the numbers keepalived prints), and refuses an unknown one;
// -v prints the version.
func TestRunSignumAndVersion(t *testing.T) {
	for fn, want := range map[string]string{"STOP": "15\n", "RELOAD": "1\n", "DATA": "10\n", "STATS": "12\n", "JSON": "36\n", "STATS_CLEAR": "63\n"} {
		var out, errOut strings.Builder
		if code := dispatch([]string{"run", "--signum=" + fn}, &out, &errOut); code != 0 || out.String() != want {
			t.Errorf("--signum=%s: exit %d, %q %q; want %q", fn, code, out.String(), errOut.String(), want)
		}
	}
	for fn, want := range map[string]string{"FOO": "Unknown sigfunc FOO"} {
		var out, errOut strings.Builder
		if code := dispatch([]string{"run", "--signum=" + fn}, &out, &errOut); code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), want) {
			t.Errorf("--signum=%s: exit %d, %q %q; want 1 and %q", fn, code, out.String(), errOut.String(), want)
		}
	}
	var out, errOut strings.Builder
	if code := dispatch([]string{"run", "-v"}, &out, &errOut); code != 0 || out.String() != "govs "+version+"\n" {
		t.Errorf("-v: exit %d, %q", code, out.String())
	}
}

// TestRunLogFile: -g=FILE logs to the file as well as to stderr, appending to it; -g
// alone logs to $TMPDIR/govs.log, with the instance name before the extension as
// keepalived names its log file, and the dumps default to $TMPDIR too.
func TestRunLogFile(t *testing.T) {
	for _, tt := range []struct {
		name, conf, flag, logName string
		tmpdir                    bool
	}{
		{name: "named", conf: "global_defs {\n bogus 1\n}\n", flag: "-g=LOG", logName: "govs.log"},
		{name: "tmpdir", conf: "instance blue\nglobal_defs {\n bogus 1\n}\n", flag: "-g", logName: "govs_blue.log", tmpdir: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "keepalived.conf")
			if err := os.WriteFile(conf, []byte(tt.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(dir, tt.logName)
			if err := os.WriteFile(logFile, []byte("earlier line\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			stderr := &testutil.SyncBuffer{}
			cmd := exec.Command(testutil.GovsBinary(t), "run", "-f", conf, "--dataplane", "proxy", "--socket", filepath.Join(dir, "govs.sock"),
				strings.Replace(tt.flag, "LOG", logFile, 1), "--flush-log-file")
			cmd.Stdout, cmd.Stderr = stderr, stderr
			if tt.tmpdir {
				cmd.Env = append(os.Environ(), "TMPDIR="+dir)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "govs started") }) {
				t.Fatalf("govs did not start:\n%s", stderr.String())
			}
			if tt.tmpdir {
				cmd.Process.Signal(syscall.SIGUSR1)
				if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "wrote the state dump") }) {
					t.Fatalf("no state dump:\n%s", stderr.String())
				}
				if _, err := os.Stat(filepath.Join(dir, "govs.data")); err != nil {
					t.Errorf("the state dump is not under $TMPDIR: %v", err)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			b, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"earlier line\n", `unknown keyword "bogus"`, "govs started", "govs stopping"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("the log file lacks %q:\n%s", want, b)
				}
			}
			if !strings.Contains(stderr.String(), "govs stopping") {
				t.Errorf("stderr lacks the log:\n%s", stderr.String())
			}
		})
	}
}

// TestLogFileName: keepalived's make_file_name: relative names under $TMPDIR, the
// namespace and instance before the extension.
func TestLogFileName(t *testing.T) {
	t.Setenv("TMPDIR", "")
	for _, tt := range []struct{ name, netns, instance, want string }{
		{"govs.log", "", "", "/tmp/govs.log"},
		{"govs.log", "", "blue", "/tmp/govs_blue.log"},
		{"/var/log/ka.log", "ns1", "blue", "/var/log/ka_ns1_blue.log"},
		{"/var/log/ka.log", "ns1", "", "/var/log/ka_ns1.log"},
		{"/var/log.d/ka", "", "blue", "/var/log.d/ka_blue"},
	} {
		if got := logFileName(tt.name, tt.netns, tt.instance); got != tt.want {
			t.Errorf("%q ns %q instance %q: %s, want %s", tt.name, tt.netns, tt.instance, got, tt.want)
		}
	}
}

// TestRunProcessName: process_name names the process (its comm), a reload renames it, and
// one without it gives the name back; a name over 15 characters is cut with keepalived's
// warning.
func TestRunProcessName(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(name string) {
		t.Helper()
		c := "global_defs {\n}\n"
		if name != "" {
			c = "global_defs {\n process_name " + name + "\n}\n"
		}
		if err := os.WriteFile(conf, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lb-1")
	stderr := &testutil.SyncBuffer{}
	cmd := exec.Command(testutil.GovsBinary(t), "run", "-f", conf, "--dataplane", "proxy", "--socket", filepath.Join(dir, "govs.sock"))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	comm := func() string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		return strings.TrimSpace(string(b))
	}
	named := func(want string) {
		t.Helper()
		if !testutil.Eventually(10*time.Second, func() bool { return comm() == want }) {
			t.Fatalf("process name %q, want %q:\n%s", comm(), want, stderr.String())
		}
	}
	named("lb-1")
	write("a-rather-long-process-name")
	cmd.Process.Signal(syscall.SIGHUP)
	named("a-rather-long-p")
	if !strings.Contains(stderr.String(), "Process name a-rather-long-process-name more than 15 characters, truncating") {
		t.Errorf("no truncation warning:\n%s", stderr.String())
	}
	write("")
	cmd.Process.Signal(syscall.SIGHUP)
	started := filepath.Base(testutil.GovsBinary(t)) // the kernel's name: its first 15 bytes
	named(started[:min(15, len(started))])
}
