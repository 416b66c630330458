package ctl

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/govs/govs/internal/adm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer serves a fresh model on a socket in a temporary directory.
func startServer(t *testing.T) (string, *adm.Model) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "govs.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	model := adm.NewModel(adm.ModelOptions{})
	srv := &Server{Handler: model, Resolver: &adm.Names{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, model
}

func call(t *testing.T, path string, stdin string, argv ...string) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := Call(ctx, path, Request{Argv: argv, Stdin: []byte(stdin)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRoundTrip(t *testing.T) {
	path, model := startServer(t)
	tests := []struct {
		name  string
		argv  []string
		stdin string
		want  Response
	}{
		{"add service", []string{"-A", "-t", "10.1.1.1:80", "-s", "rr"}, "", Response{}},
		{"add server", []string{"-a", "-t", "10.1.1.1:80", "-r", "10.0.0.1", "-m", "-w", "3"}, "", Response{}},
		{"kernel error", []string{"-A", "-t", "10.1.1.1:80"}, "", Response{Stderr: "Service already exists\n", Code: 255}},
		{"usage error", []string{"-A"}, "", Response{Stderr: "You need to supply the 'service-address' option for the 'add-service' command\n", Code: 2}},
		{"restore", []string{"-R"}, "-A -u 10.1.1.1:53 -s sh\n-a -u 10.1.1.1:53 -r 10.0.0.2 -m\n", Response{}},
		{"try help names govs adm", []string{"--bogus"}, "", Response{Stderr: "Try `govs adm -h' or 'govs adm --help' for more information.\n", Code: 255}},
		{"save", []string{"-S", "-n"}, "", Response{Stdout: "" +
			"-A -t 10.1.1.1:80 -s rr\n" +
			"-a -t 10.1.1.1:80 -r 10.0.0.1:80 -m -w 3\n" +
			"-A -u 10.1.1.1:53 -s sh\n" +
			"-a -u 10.1.1.1:53 -r 10.0.0.2:53 -m -w 1\n"}},
		{"list one", []string{"-L", "-n", "-t", "10.1.1.1:80"}, "", Response{Stdout: "" +
			"Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
			"TCP  10.1.1.1:80 rr\n" +
			"  -> 10.0.0.1:80                  Masq    3      0          0         \n"}},
		{"version", []string{"-v"}, "", Response{Stdout: Version + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, path, tt.stdin, tt.argv...); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if n := len(model.Table().Services); n != 2 {
		t.Errorf("the model holds %d services, want 2", n)
	}
}

func TestSocketMode(t *testing.T) {
	path, _ := startServer(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the socket directory holds %d entries, want only the socket", len(entries))
	}
}

// TestListenDirectoriesUnderStrictUmask: under keepalived's umask 0177 (govs run's
// default) the directories Listen creates still get 0755, so the daemon can reach its
// socket without root's override.
func TestListenDirectoriesUnderStrictUmask(t *testing.T) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	base := t.TempDir()
	path := filepath.Join(base, "run", "govs", "govs.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, dir := range []string{filepath.Join(base, "run"), filepath.Dir(path)} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %04o, want 0755", dir, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v, %v; want mode 0600", fi, err)
	}
	if _, err := Listen(filepath.Join(path, "below-a-socket.sock")); err == nil {
		t.Error("Listen below a socket succeeded, want an error")
	}
}

func TestListenRefusesLiveSocketAndReplacesStaleOne(t *testing.T) {
	path, _ := startServer(t)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("Listen on a live socket: %v", err)
	}

	stale := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	ln, err := Listen(stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("Close left the socket behind: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := Listen(file); err == nil {
		t.Error("Listen replaced a regular file")
	}
}

func TestUnreachable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock")
	_, err := Call(context.Background(), path, Request{Argv: []string{"-L"}})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), path) {
		t.Errorf("Call to nobody: %v, want ErrUnreachable naming %s", err, path)
	}
}

func TestBadRequest(t *testing.T) {
	path, _ := startServer(t)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("{not json"))
	conn.(*net.UnixConn).CloseWrite()
	resp, err := readMessage[Response](conn)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != 2 || !strings.Contains(resp.Stderr, "bad request") {
		t.Errorf("got %+v", resp)
	}
}

func TestConcurrentCallsSerialize(t *testing.T) {
	path, model := startServer(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := Call(context.Background(), path, Request{Argv: []string{"-A", "-t", "10.2.0.1:" + strconv.Itoa(1000+i)}})
			if err != nil || resp.Code != 0 {
				t.Errorf("call %d: %v %+v", i, err, resp)
			}
		}()
	}
	wg.Wait()
	if n := len(model.Table().Services); n != 20 {
		t.Errorf("%d services after 20 concurrent adds", n)
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv(SocketEnv, "")
	if got := SocketPath("", ""); got != DefaultSocket {
		t.Errorf("default: %s", got)
	}
	if got := SocketPath("", "blue"); got != "/run/govs/blue/govs.sock" {
		t.Errorf("in namespace blue: %s", got)
	}
	t.Setenv(SocketEnv, "/tmp/x.sock")
	if got := SocketPath("", "blue"); got != "/tmp/x.sock" {
		t.Errorf("env: %s", got)
	}
	if got := SocketPath("/flag.sock", "blue"); got != "/flag.sock" {
		t.Errorf("flag: %s", got)
	}
}
