package vrrp

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestScriptResults: a vrrp_script is init until its first run ends, then good or bad
// as rise and fall move it (init_fail starts it bad).
func TestScriptResults(t *testing.T) {
	cfg := Config{Scripts: []ScriptConfig{
		{Name: "ok", Command: Command{Argv: []string{"/bin/true"}}, Interval: time.Hour, Rise: 1, Fall: 1},
		{Name: "fails", Command: Command{Argv: []string{"/bin/false"}}, Interval: time.Hour, Rise: 1, Fall: 1},
		{Name: "slow", Command: Command{Argv: []string{"/bin/sleep", "60"}}, Interval: time.Hour, Rise: 1, Fall: 1, InitFail: true},
	}}
	tr := newTracker(cfg, slog.New(slog.DiscardHandler))
	for name, got := range tr.scriptResults() {
		if got != ScriptInit {
			t.Errorf("%s before any run: %v, want init", name, got)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range cfg.Scripts {
		go tr.runScript(ctx, s, "", "")
	}
	want := map[string]ScriptResult{"ok": ScriptGood, "fails": ScriptBad, "slow": ScriptInit}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tr.scriptResults()
		if got["ok"] == want["ok"] && got["fails"] == want["fails"] && got["slow"] == want["slow"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("script results %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
