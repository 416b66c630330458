package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		spec     Spec
		wantCode int
		wantOut  string
		wantErr  bool
	}{
		{"success", Spec{Argv: []string{"/bin/true"}}, 0, "", false},
		{"failure", Spec{Argv: []string{"/bin/false"}}, 1, "", false},
		{"path lookup and args", Spec{Argv: []string{"echo", "a b", "c"}}, 0, "a b c\n", false},
		{"exit code passes through", Spec{Argv: []string{writeScript(t, dir, "e42", "exit 42")}}, 42, "", false},
		{"stderr is captured", Spec{Argv: []string{writeScript(t, dir, "err", "echo oops >&2; exit 3")}}, 3, "oops\n", false},
		{"no shell: metacharacters are plain words", Spec{Argv: []string{"echo", "$HOME", ">", "x"}}, 0, "$HOME > x\n", false},
		{"shell when asked", Spec{Argv: []string{`echo "$1-$2"; exit 7`, "p", "q"}, Shell: true}, 7, "p-q\n", false},
		{"env is minimal plus Env", Spec{Argv: []string{"/bin/sh", "-c", `echo "$FOO:$HOME"`}, Env: []string{"FOO=bar"}}, 0, "bar:\n", false},
		{"empty argv", Spec{}, -1, "", true},
		{"missing program", Spec{Argv: []string{"no-such-program-govs"}}, -1, "", true},
		{"unknown user", Spec{Argv: []string{"/bin/true"}, User: "no-such-user-govs"}, -1, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Run(context.Background(), tt.spec, nil)
			if (res.Err != nil) != tt.wantErr {
				t.Fatalf("Err = %v, want error %v", res.Err, tt.wantErr)
			}
			if res.ExitCode != tt.wantCode {
				t.Errorf("ExitCode = %d, want %d", res.ExitCode, tt.wantCode)
			}
			if string(res.Output) != tt.wantOut {
				t.Errorf("Output = %q, want %q", res.Output, tt.wantOut)
			}
			if res.OK() != (tt.wantCode == 0 && !tt.wantErr) {
				t.Errorf("OK() = %v", res.OK())
			}
		})
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "survived")
	tests := []struct {
		name    string
		body    string
		maxWait time.Duration
	}{
		// A plain sleeper dies at SIGTERM.
		{"sleeper", "sleep 30", time.Second},
		// One that ignores SIGTERM gets SIGKILL KillGrace later.
		{"ignores TERM", "trap '' TERM; sleep 30; sleep 30", KillGrace + time.Second},
		// A background grandchild in the same group dies too and does not hold Wait.
		{"grandchild", "(sleep 3; touch " + marker + ") & sleep 30", KillGrace + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res := Run(context.Background(), Spec{Argv: []string{writeScript(t, dir, "hang", tt.body)}, Timeout: 200 * time.Millisecond}, nil)
			took := time.Since(start)
			if !res.TimedOut || !errors.Is(res.Err, ErrTimeout) || res.ExitCode != -1 {
				t.Fatalf("res = %+v, want a timeout", res)
			}
			if took > 200*time.Millisecond+tt.maxWait {
				t.Errorf("took %v to stop a hung script", took)
			}
		})
	}
	time.Sleep(3500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a grandchild of a timed-out script survived")
	}
}

func TestRunContextCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := Run(ctx, Spec{Argv: []string{"sleep", "30"}}, nil)
	if res.TimedOut || res.Err == nil || res.ExitCode != -1 {
		t.Fatalf("res = %+v, want stopped by ctx, not a timeout", res)
	}
}

func TestRunOutputIsBounded(t *testing.T) {
	res := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "head -c 200000 /dev/zero"}}, nil)
	if len(res.Output) > MaxOutput+100 || !strings.Contains(string(res.Output), "dropped") {
		t.Fatalf("kept %d bytes, want at most %d and a note", len(res.Output), MaxOutput)
	}
}

func TestRunAsUser(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedRoot(t)
	res := Run(context.Background(), Spec{Argv: []string{"id", "-u"}, User: "nobody"}, nil)
	if !res.OK() || strings.TrimSpace(string(res.Output)) != "65534" {
		t.Fatalf("res = %+v, output %q; want uid 65534", res, res.Output)
	}
	res = Run(context.Background(), Spec{Argv: []string{"id", "-G"}, User: "nobody", Group: "0"}, nil)
	if !res.OK() || strings.TrimSpace(string(res.Output)) != "0" {
		t.Fatalf("groups %q, want only 0 (supplementary groups cleared)", res.Output)
	}
}
