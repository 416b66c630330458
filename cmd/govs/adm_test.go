package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/api/ctl"
)

func TestAdmEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "govs.sock")
	ln, err := ctl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ctl.Server{Handler: adm.NewModel(adm.ModelOptions{}), Resolver: &adm.Names{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	admStdin = strings.NewReader("-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.0.0.1 -m\n")
	t.Cleanup(func() { admStdin = os.Stdin })
	tests := []struct {
		name             string
		args             []string
		env              string
		wantOut, wantErr string
		wantCode         int
	}{
		{name: "restore via flag", args: []string{"--socket", path, "-R"}},
		{name: "list via env", args: []string{"-L", "-n"}, env: path, wantOut: adm.Banner +
			"Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
			"TCP  10.9.0.1:80 rr\n" +
			"  -> 10.0.0.1:80                  Masq    1      0          0         \n"},
		{name: "flag after the ipvsadm options", args: []string{"-S", "-n", "--socket=" + path},
			wantOut: "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.0.0.1:80 -m -w 1\n"},
		{name: "kernel error passes through", args: []string{"--socket", path, "-D", "-t", "10.9.0.2:80"},
			wantErr: "No such service\n", wantCode: 255},
		{name: "usage error needs no daemon", args: []string{"--socket", "/nonexistent", "-A"},
			wantErr: "You need to supply the 'service-address' option for the 'add-service' command\n", wantCode: 2},
		{name: "version needs no daemon", args: []string{"--socket", "/nonexistent", "-v"}, wantOut: ctl.Version + "\n"},
		{name: "socket without a path", args: []string{"-L", "--socket"}, wantErr: "govs adm: --socket needs a path\n", wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ctl.SocketEnv, tt.env)
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"adm"}, tt.args...), &out, &errb)
			if out.String() != tt.wantOut || errb.String() != tt.wantErr || code != tt.wantCode {
				t.Errorf("got %d\n%s\n%s\nwant %d\n%s\n%s", code, out.String(), errb.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestAdmNoDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.sock")
	var out, errb bytes.Buffer
	code := dispatch([]string{"adm", "--socket", path, "-L", "-n"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), path) || !strings.Contains(errb.String(), "cannot reach") {
		t.Errorf("exit %d, stderr %q: want a non-zero exit naming %s", code, errb.String(), path)
	}
}

func TestAdmHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"adm", "-h"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{ctl.Version + "\n", "  govs adm -A|E virtual-service", "--socket path"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h output lacks %q", want)
		}
	}
}
