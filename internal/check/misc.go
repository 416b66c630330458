package check

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/govs/govs/internal/script"
)

// MiscOptions are MISC_CHECK's keywords.
type MiscOptions struct {
	// Argv is misc_path split into words (script.Split); Shell runs Argv[0] with /bin/sh.
	Argv  []string
	Shell bool
	// Timeout is misc_timeout [the checker's delay_loop].
	Timeout time.Duration
	// Dynamic is misc_dynamic: exit 1 = failure, 2..255 = success with weight status−2.
	Dynamic bool
	// User and Group (user U [G]) run the script; empty: script_user.
	User, Group string
}

// miscChecker is MISC_CHECK: a script's exit status decides. 0 is success, anything
// else failure; with misc_dynamic, 2..255 are success and set the real server's weight
// to status−2 (as an offset from its configured weight, which is how keepalived does it).
// A script killed at misc_timeout counts as a failure.
type miscChecker struct {
	spec    script.Spec
	dynamic bool
	timeout time.Duration
	logger  *slog.Logger
}

func init() {
	Register("MISC_CHECK", Kind{New: newMisc, Defaults: func(t *Timers) { t.Retry = 0 }, Portless: true})
}

func newMisc(spec Spec, e Env) (Checker, error) {
	o, ok := spec.Options.(*MiscOptions)
	if !ok || o == nil || len(o.Argv) == 0 {
		return nil, fmt.Errorf("MISC_CHECK: no misc_path")
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("MISC_CHECK: misc_timeout %v: must be positive", o.Timeout)
	}
	s, err := e.Security.Apply(script.Spec{Argv: o.Argv, Shell: o.Shell, User: o.User, Group: o.Group}, e.Logger)
	if err != nil {
		return nil, fmt.Errorf("MISC_CHECK: misc_path %q: %w", o.Argv[0], err)
	}
	return &miscChecker{spec: s, dynamic: o.Dynamic, timeout: o.Timeout, logger: e.Logger}, nil
}

// Timeout is misc_timeout, else delay_loop, plus the grace a timed-out script gets
// between SIGTERM and SIGKILL.
func (c *miscChecker) Timeout(t Target) time.Duration {
	return c.scriptTimeout(t) + script.KillGrace + time.Second
}

func (c *miscChecker) scriptTimeout(t Target) time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return t.DelayLoop
}

func (c *miscChecker) Check(ctx context.Context, t Target) Result {
	s := c.spec
	s.Timeout = c.scriptTimeout(t)
	res := script.Run(ctx, s, c.logger)
	switch {
	case res.Err != nil:
		return Result{Err: res.Err}
	case res.ExitCode == 0:
		return Up()
	case c.dynamic && res.ExitCode >= 2:
		return Result{WeightOffset: res.ExitCode - 2 - t.Weight, HasWeight: true}
	}
	return Down("%s exited with status %d", c.spec.Argv[0], res.ExitCode)
}

var (
	_ Checker          = (*miscChecker)(nil)
	_ TimeoutOverrider = (*miscChecker)(nil)
)
